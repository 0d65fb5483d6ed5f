"""Multi-label fits: indicator targets, the losses and samplers together, sklearn's tools."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _images import multilabel_images
from conftest import write_image_folder
from sklearn.base import clone
from sklearn.metrics import f1_score, recall_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.dataset import ValidSplit
from torch.utils.data import TensorDataset

from imbtorch import BalancedImageClassifier, ImageEmbedder, TunedLabelThresholdsCV, report
from imbtorch.datasets import load_image_table
from imbtorch.evaluation import MULTILABEL_SCORING
from imbtorch.losses.multilabel import DistributionBalancedLoss
from imbtorch.samplers import ClassBalancedBatchSampler as LabelAware
from imbtorch.strategies import MULTILABEL_STRATEGY_NAMES, strategy_params

FAST = {"module__width": 8, "batch_size": 32, "max_epochs": 2, "random_state": 0}
X, Y = multilabel_images(160)


@pytest.mark.parametrize("as_y", [np.asarray, sp.csr_matrix, pd.DataFrame], ids=str)
def test_an_indicator_y_in_any_container_trains_independent_sigmoids(as_y):
    clf = BalancedImageClassifier(**FAST).fit(X, as_y(Y))
    assert clf.multilabel_
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])  # MLPClassifier's convention
    np.testing.assert_array_equal(clf.class_counts_, Y.sum(axis=0))
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.all((proba >= 0) & (proba <= 1))
    assert not np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), (proba >= 0.5).astype(int))
    reference = BalancedImageClassifier(**FAST).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(proba, reference)
    weights = np.where(Y[:, 2] == 1, 3.0, 1.0)  # sample weights weigh each image's loss
    weighted = BalancedImageClassifier(**FAST).fit(X, as_y(Y), sample_weight=weights)
    assert not np.allclose(weighted.predict_proba(X), reference)
    assert 0.0 <= clf.score(X, Y) <= 1.0  # subset accuracy, as sklearn's classifiers


def test_a_dataset_of_images_and_label_vectors_gives_its_own_targets():
    dataset = TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 1}).fit(dataset, None)
    assert clf.multilabel_ and clf.predict(dataset).shape == Y.shape
    np.testing.assert_array_equal(clf.class_counts_, Y.sum(axis=0))


def test_balanced_positive_weights_raise_the_recall_of_a_rare_label():
    X_train, Y_train = multilabel_images(400, (0.6, 0.25, 0.04), signal=0.5, seed=0)
    X_test, Y_test = multilabel_images(600, (0.6, 0.25, 0.04), signal=0.5, seed=1)
    params = {**FAST, "max_epochs": 4}
    recall = {}
    for class_weight in (None, "balanced"):
        clf = BalancedImageClassifier(strategy=None, class_weight=class_weight, **params)
        rare = clf.fit(X_train, Y_train).predict(X_test)[:, 2]
        recall[class_weight] = recall_score(Y_test[:, 2], rare)
    assert recall[None] < 0.7 < 0.9 < recall["balanced"], recall


def test_grid_search_over_loss_and_sampler_on_files_listed_in_a_csv(tmp_path):
    """Real PNG files, a ChestX-ray14-style table, two loader workers, macro average precision."""
    names = np.array(["bright", "middle", "rare"])
    pixels = np.clip((X[:, 0] + 1.0) * 80, 0, 255).astype(np.uint8)
    paths = write_image_folder(tmp_path / "images", pixels, np.zeros(len(X), dtype=int))
    rows = ["|".join(names[row.astype(bool)]) for row in Y]
    table = pd.DataFrame({"path": [str(p) for p in paths], "labels": rows})
    table.to_csv(tmp_path / "table.csv", index=False)
    files, labels, label_names = load_image_table(
        tmp_path / "table.csv", labels_column="labels", labels=names
    )
    np.testing.assert_array_equal(labels, Y)
    search = GridSearchCV(
        BalancedImageClassifier(**FAST, iterator_train__num_workers=2),
        {"loss": ["ce", "distribution_balanced"], "sampler": [None, "class_balanced"]},
        scoring="average_precision",
        cv=KFold(2, shuffle=True, random_state=0),
    )
    search.fit(files, labels)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.predict(files[:4]).shape == (4, len(label_names))
    tuned = TunedLabelThresholdsCV(clone(search.estimator), cv=0.25, refit=False, random_state=0)
    assert tuned.fit(list(files), labels).predict(list(files[:3])).shape == (3, 3)
    pipeline = make_pipeline(FunctionTransformer(), clone(search.estimator))
    scores = cross_validate(pipeline, files, labels, cv=2, scoring="f1_macro")
    assert np.all(np.isfinite(scores["test_score"]))


def test_losses_samplers_and_schedules_train_together():
    """Options that share the loss, the optimizer step and the sampler, in one fit each."""
    settings = [
        {"loss": "asl", "mixup": "cutmix", "sam_rho": 0.05, "precision": "bf16-mixed"},
        {
            "loss": "distribution_balanced",
            "sampler": "class_balanced",
            "drs_epoch": 1,
            "compile": True,
            "compile__backend": "eager",
        },
        {"loss": "focal", "focal_alpha": 0.25, "class_weight": "effective", "drw_epoch": 1},
        {"class_weight": "balanced", "sampler": "sqrt", "ohem_ratio": 0.5, "max_norm": 1.0},
    ]
    for extra in settings:
        clf = BalancedImageClassifier(**{**FAST, "max_epochs": 3}, **extra).fit(X, Y)
        losses = clf.history[:, "train_loss"]
        assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], extra


def test_strategy_auto_trains_distribution_balanced_loss_with_label_aware_sampling():
    clf = BalancedImageClassifier(**FAST).fit(X, Y)
    assert clf.strategy_ == "distribution_balanced+label_aware"
    assert (clf.loss_, clf.sampler_) == ("distribution_balanced", "class_balanced")
    assert isinstance(clf.criterion_, DistributionBalancedLoss)
    dataset, _ = clf._fit_dataset(X, Y, None, reset=False)
    assert isinstance(clf.get_iterator(dataset, training=True).batch_sampler, LabelAware)
    summary = [  # the report says so
        "Trained 2 epochs. strategy='auto' trained 'distribution_balanced+label_aware': a "
        "multi-label y, no re-balancing parameter set",
        "- loss 'distribution_balanced', sampler 'class_balanced'",
    ]
    assert str(report(clf, X, Y)).splitlines()[1:3] == summary
    own = BalancedImageClassifier(**FAST, loss="logit_adjusted").fit(X, Y)
    assert (own.strategy_, own.sampler_) == ("as_set", None)
    odds = Y.mean(axis=0) / (1 - Y.mean(axis=0))  # each label's log-odds
    np.testing.assert_allclose(own.criterion_.log_odds.numpy(), np.log(odds), rtol=1e-5)


def test_every_multilabel_strategy_trains():
    for name in MULTILABEL_STRATEGY_NAMES:
        params = {**FAST, **strategy_params(name, 2), "max_epochs": 2}
        clf = BalancedImageClassifier(**params).fit(X, Y)
        assert clf.predict_proba(X[:4]).shape == (4, 3), name


def test_a_validation_split_follows_mean_average_precision():
    clf = BalancedImageClassifier(
        **{**FAST, "max_epochs": 3}, train_split=ValidSplit(4, stratified=False)
    ).fit(X, Y)
    assert {"valid_map", "valid_f1"} <= set(clf.history[-1])
    assert dict(clf.callbacks_)["early_stopping"].monitor == "valid_map"


def test_two_labels_are_scored_as_labels_not_as_a_binary_task():
    """scikit-learn's predict_proba scorers read a classes_ of two labels as a binary task
    and keep one column; the validation monitors and the search scorers score both."""
    X2, Y2 = multilabel_images(160, frequencies=(0.5, 0.2))
    clf = BalancedImageClassifier(**FAST, train_split=ValidSplit(4, stratified=False))
    clf.fit(X2, Y2)
    assert np.isfinite(clf.history[:, "valid_map"]).all()
    scores = cross_validate(
        clf.set_params(train_split=None), X2, Y2, cv=KFold(2), scoring=MULTILABEL_SCORING
    )
    for name in ("map_macro", "map_micro", "f1_macro"):
        assert np.isfinite(scores[f"test_{name}"]).all(), name


@pytest.mark.parametrize(
    "setting",
    [
        {"loss": "ldam"},
        {"loss": "balanced_softmax"},
        {"sampler": "over"},
        {"head_resampler": "class_balanced"},
        {"proba_prior": "train"},
        {"remix": True, "mixup": "mixup"},
        {"mixup": "unimix"},
        {"minority_augment": 0.25},
        {"predict_logit_adjust": 1.0},
    ],
    ids=lambda setting: next(iter(setting)),
)
def test_single_label_settings_name_themselves_and_the_multilabel_y(setting):
    name = next(iter(setting))
    with pytest.raises(ValueError, match=rf"{name}=.*multi-label indicator matrix"):
        BalancedImageClassifier(**FAST, **setting).fit(X, Y)


def test_single_label_prediction_settings_are_refused_after_a_multilabel_fit():
    clf = BalancedImageClassifier(**FAST).fit(X, Y)
    for setting in ({"proba_prior": "train"}, {"predict_logit_adjust": 1.0}):
        clf.set_params(**setting)
        with pytest.raises(ValueError, match=f"{next(iter(setting))}=.*multi-label"):
            clf.predict(X)
        clf.set_params(proba_prior=None, predict_logit_adjust=None)


def test_multilabel_losses_refuse_one_label_per_image():
    with pytest.raises(ValueError, match="loss='asl' is a multi-label loss"):
        BalancedImageClassifier(**FAST, loss="asl").fit(X, Y[:, 0])


def test_bad_indicator_matrices():
    bad = Y.copy()
    bad[5, 1] = 2
    with pytest.raises(ValueError, match=r"y\[5, 1\] is 2"):
        BalancedImageClassifier(**FAST).fit(X, bad)
    unused = np.column_stack([Y, np.zeros(len(Y), dtype=int)])
    with pytest.warns(UserWarning, match=r"Labels \[3\].*carried by no sample"):
        clf = BalancedImageClassifier(**FAST, sampler="class_balanced").fit(X, unused)
    assert clf.predict_proba(X).shape == (len(X), 4)
    with pytest.raises(ValueError, match="fitted on a multi-label indicator y of 4 columns"):
        clf.partial_fit(X, Y)
    with pytest.raises(ValueError, match="multi-label indicator matrix of shape"):
        BalancedImageClassifier(**FAST).fit(X, Y[:, 0]).partial_fit(X, Y)


def test_images_without_labels_are_a_group_of_their_own():
    """A row of zeros is an image that carries none of the labels (ChestX-ray14's 'No Finding')."""
    empty = Y.copy()
    empty[:40] = 0
    clf = BalancedImageClassifier(**FAST, sampler="class_balanced", loss="distribution_balanced")
    assert clf.fit(X, empty).predict(X).shape == Y.shape


def test_tuned_thresholds_per_label():
    X_train, Y_train = multilabel_images(300, (0.6, 0.25, 0.05), signal=0.5, seed=0)
    X_tune, Y_tune = multilabel_images(300, (0.6, 0.25, 0.05), signal=0.5, seed=1)
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 4}).fit(X_train, Y_train)
    tuned = TunedLabelThresholdsCV(clf, cv="prefit").fit(X_tune, Y_tune)
    assert tuned.estimator_ is clf and tuned.best_thresholds_.shape == (3,)
    with pytest.raises(ValueError, match=r"fit parameters \['sample_weight'\] would go unused"):
        clone(tuned).fit(X_tune, Y_tune, sample_weight=np.ones(len(Y_tune)))
    at_half = f1_score(Y_tune, clf.predict(X_tune), average=None)
    assert np.all(tuned.best_scores_ >= at_half - 1e-12)
    tuned_f1 = f1_score(Y_tune, tuned.predict(X_tune), average=None)
    np.testing.assert_allclose(tuned_f1, tuned.best_scores_)
    np.testing.assert_array_equal(tuned.classes_, clf.classes_)

    one_fit = TunedLabelThresholdsCV(
        BalancedImageClassifier(**FAST), cv=0.25, refit=False, random_state=0
    ).fit(X, Y)
    assert one_fit.estimator_.n_samples_fit_ == 120
    with pytest.raises(ValueError, match="refit=False keeps the classifier of a single split"):
        TunedLabelThresholdsCV(BalancedImageClassifier(**FAST), cv=2, refit=False).fit(X, Y)
    always = Y.copy()
    always[:, 1] = 1
    with pytest.warns(UserWarning, match=r"Labels \[1\] are all present or all absent"):
        kept = TunedLabelThresholdsCV(clf, cv="prefit", scoring="balanced_accuracy")
        kept.fit(X, always)
    assert kept.best_thresholds_[1] == 0.5 and np.isnan(kept.best_scores_[1])
    with pytest.raises(ValueError, match="reads more than predictions"):
        TunedLabelThresholdsCV(clf, cv="prefit", scoring="roc_auc").fit(X, Y)


def test_embedder_trains_its_trunk_on_a_multilabel_y():
    embedder = ImageEmbedder(BalancedImageClassifier(**FAST, loss="asl")).fit(X, Y)
    assert embedder.transform(X[:5]).shape == (5, embedder.embedding_dim_)
    assert embedder.estimator_.multilabel_
