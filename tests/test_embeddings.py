import warnings

import numpy as np
import pytest
import torch
from imblearn.combine import SMOTETomek
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline, make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from joblib import Memory
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch.callbacks import Callback

from imbtorch import BalancedImageClassifier, ImageEmbedder
from imbtorch.networks.backbones import SimpleCNN
from imbtorch.samplers.resampling import CappedNeighbors, SmallClassWarning, cap_neighbors

CNN = {"max_epochs": 10, "random_state": 0}
FITS = []


class CountFits(Callback):
    """Counts CNN trainings across clones (GridSearchCV clones the callback)."""

    def on_train_begin(self, net, **kwargs):
        FITS.append(1)


def test_embedder_trains_its_classifier_and_returns_its_features(lt_digits):
    X_train, X_test, y_train, _ = lt_digits
    embedder = ImageEmbedder(BalancedImageClassifier(**CNN)).fit(X_train, y_train)
    features = embedder.transform(X_test)
    assert features.shape == (len(X_test), 64) and features.dtype == np.float32
    assert embedder.embedding_dim_ == 64
    assert embedder.get_feature_names_out()[0] == "imageembedder0"
    # the features are what the classifier reads: its own layer maps them to its logits,
    # which predict decides by less the default's shift by the log prior (none where it
    # kept the classifier trained with the network)
    clf = embedder.estimator_
    logits = clf.module_.classifier(torch.from_numpy(features)).detach().numpy()
    tau = clf.predict_logit_adjust_ or 0.0
    shift = tau * np.log(clf.class_counts_ / clf.class_counts_.sum())
    assert (clf.extension_ is None) == (len(clf.history) == 10)
    np.testing.assert_array_equal(clf.classes_[(logits - shift).argmax(1)], clf.predict(X_test))


def test_embedder_with_a_prefit_classifier_reuses_its_trunk(lt_digits):
    X_train, X_test, y_train, _ = lt_digits
    clf = BalancedImageClassifier(**CNN).fit(X_train, y_train)
    weights = clf.module_.classifier.weight.detach().clone()
    embedder = ImageEmbedder(clf, prefit=True).fit(X_train)
    assert embedder.estimator_ is clf
    trained = ImageEmbedder(BalancedImageClassifier(**CNN)).fit(X_train, y_train)
    np.testing.assert_allclose(embedder.transform(X_test), trained.transform(X_test), atol=1e-5)
    assert torch.equal(clf.module_.classifier.weight, weights)  # the classifier is left whole
    with pytest.raises(Exception, match="not fitted"):
        ImageEmbedder(BalancedImageClassifier(), prefit=True).fit(X_train)


def test_embedder_loads_a_backbone_from_a_local_weights_file(lt_digits, tmp_path):
    X_train, X_test, y_train, _ = lt_digits
    clf = BalancedImageClassifier(**CNN).fit(X_train, y_train)
    path = tmp_path / "cnn.pt"
    torch.save(clf.module_.state_dict(), path)
    from_file = ImageEmbedder(SimpleCNN, weights=path).fit(X_train)
    from_clf = ImageEmbedder(clf, prefit=True).fit(X_train)
    np.testing.assert_allclose(from_file.transform(X_test), from_clf.transform(X_test), atol=1e-5)
    with pytest.raises(ValueError, match="random weights"):
        ImageEmbedder("simple_cnn").fit(X_train)
    with pytest.raises(ValueError, match="needs y"):
        ImageEmbedder().fit(X_train)
    with pytest.raises(ValueError, match="images of shape"):
        from_file.transform(np.zeros((2, 8, 9), dtype=np.float32))


@pytest.mark.parametrize(
    "resampler",
    [
        SMOTE(k_neighbors=1, random_state=0),
        # ADASYN is left out: a CNN's features of its own training images separate the
        # classes, and ADASYN then refuses ("Not any neighbours belong to the majority class")
        RandomOverSampler(shrinkage=0.5, random_state=0),
        RandomUnderSampler(random_state=0),
        SMOTETomek(smote=SMOTE(k_neighbors=1, random_state=0), random_state=0),
    ],
    ids=["SMOTE", "smoothed bootstrap", "RandomUnderSampler", "SMOTETomek"],
)
def test_imblearn_pipeline_resamples_embeddings(lt_digits, resampler):
    X_train, X_test, y_train, y_test = lt_digits
    pipe = make_pipeline(
        ImageEmbedder(BalancedImageClassifier(**CNN)),
        resampler,
        LogisticRegression(max_iter=2000),
    ).fit(X_train, y_train)
    pred = pipe.predict(X_test)
    assert set(pred) <= set(y_train)
    assert balanced_accuracy_score(y_test, pred) > 0.6


def test_smote_on_embeddings_lifts_the_tail_over_the_plain_head(lt_digits):
    X_train, X_test, y_train, y_test = lt_digits
    # a plain cross-entropy trunk: the imbalance is left to SMOTE
    embed = ImageEmbedder(BalancedImageClassifier(strategy=None, **{**CNN, "max_epochs": 30}))
    plain = make_pipeline(clone(embed), LogisticRegression(max_iter=2000))
    smote = make_pipeline(
        clone(embed), SMOTE(k_neighbors=1, random_state=0), LogisticRegression(max_iter=2000)
    )
    scores = [
        balanced_accuracy_score(y_test, p.fit(X_train, y_train).predict(X_test))
        for p in (plain, smote)
    ]
    assert scores[1] > scores[0] + 0.03


def test_cap_neighbors_shrinks_k_to_the_smallest_class_and_warns():
    y = np.array([0] * 20 + [1] * 6 + [2] * 3)
    with pytest.warns(SmallClassWarning, match=r"Class 2 has 3 samples.*'k_neighbors': 2"):
        capped = cap_neighbors(SMOTE(k_neighbors=5), y)
    assert capped.k_neighbors == 2
    with pytest.warns(SmallClassWarning, match="smote__k_neighbors"):
        nested = cap_neighbors(SMOTETomek(smote=SMOTE(k_neighbors=5)), y)
    assert nested.smote.k_neighbors == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cap_neighbors(SMOTE(k_neighbors=2), y).k_neighbors == 2
        assert cap_neighbors(RandomUnderSampler(), y).get_params() == (
            RandomUnderSampler().get_params()
        )
    with pytest.raises(ValueError, match="Class 2 has 1 sample.*RandomOverSampler"):
        cap_neighbors(SMOTE(), np.array([0] * 5 + [1] * 3 + [2]))


def test_capped_smote_survives_cross_validation_of_a_long_tail(lt_digits):
    X_train, _, y_train, _ = lt_digits
    X = X_train.reshape(len(X_train), -1)
    keep = y_train < 8  # digit 7 has 5 samples: 2 or 3 per training fold, SMOTE wants 6
    pipe = make_pipeline(CappedNeighbors(SMOTE(random_state=0)), LogisticRegression(max_iter=2000))
    with pytest.warns(SmallClassWarning):
        search = GridSearchCV(
            pipe, {"logisticregression__C": [0.1, 1.0]}, cv=StratifiedKFold(2), error_score="raise"
        ).fit(X[keep], y_train[keep])
    assert np.isfinite(search.best_score_)


def test_cached_search_trains_the_cnn_once_per_fold(lt_digits, tmp_path):
    X_train, _, y_train, _ = lt_digits
    keep = y_train < 8  # SMOTE needs two samples of a class in every training fold
    cnn = BalancedImageClassifier(**{**CNN, "max_epochs": 3}, callbacks=[CountFits()])
    grid = {
        "resample": [
            CappedNeighbors(SMOTE(random_state=0)),
            RandomUnderSampler(random_state=0),
        ],
        "head__C": [0.1, 1.0],
    }

    def search(memory):
        FITS.clear()
        pipe = Pipeline(
            [
                ("embed", ImageEmbedder(cnn)),
                ("resample", "passthrough"),
                ("head", LogisticRegression(max_iter=500)),
            ],
            memory=memory,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallClassWarning)
            fitted = GridSearchCV(pipe, grid, cv=StratifiedKFold(2), error_score="raise")
            fitted.fit(X_train[keep], y_train[keep])
        return len(FITS), fitted

    naive_fits, naive = search(None)
    cached_fits, cached = search(Memory(tmp_path, verbose=0))
    assert naive_fits == 4 * 2 + 1  # every config on every fold, then the refit
    assert cached_fits == 2 + 1  # once per fold, then the refit on all data
    np.testing.assert_allclose(
        cached.cv_results_["mean_test_score"], naive.cv_results_["mean_test_score"]
    )
