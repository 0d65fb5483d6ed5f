"""Decoupled training (cRT): re-train the classifier alone on re-balanced features.

Measured on long-tailed digits (rho=50), 30 epochs of plain cross-entropy,
seeds 0-2 (torch 2.13 CPU), balanced accuracy / recall of the 3 rarest digits:

    single-stage CE                          0.820 / 0.433
    head_resampler='class_balanced' (30 ep)  0.903 / 0.700
    head_resampler=SMOTE()                   0.904 / 0.704
    head_resampler=RandomOverSampler()       0.903 / 0.702
"""

import copy
import warnings

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from scipy.stats import norm
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from imbtorch import BalancedImageClassifier
from imbtorch.data.dataset import dataset_codes
from imbtorch.samplers.resampling import SmallClassWarning
from imbtorch.training.decoupled import retrain_classifier

FAST = {"max_epochs": 6, "batch_size": 16, "random_state": 0, "module__width": 8}
TAIL = [7, 8, 9]


class SnapshotAtTrainEnd(Callback):
    """The network as skorch's loop (stage one) leaves it."""

    def on_train_end(self, net, **kwargs):
        self.state = copy.deepcopy(net.module_.state_dict())


def test_stage_two_trains_the_classifier_only(small_images):
    X, y = small_images
    keep = np.r_[0:20, 20:30, 40:45]
    snapshot = SnapshotAtTrainEnd()
    clf = BalancedImageClassifier(
        head_resampler="class_balanced",
        head_epochs=5,
        callbacks=[snapshot],
        precise_bn=False,  # a step of its own (test_strategy_auto)
        **FAST,
    ).fit(X[keep], y[keep])
    state = clf.module_.state_dict()
    changed = {k for k in state if not torch.equal(state[k], snapshot.state[k])}
    assert changed == {"classifier.weight", "classifier.bias"}
    assert len(clf.head_history_) == 5
    assert clf.head_history_[-1] < clf.head_history_[0]


@pytest.mark.parametrize("head_resampler", ["class_balanced", None])  # None: 'auto''s stage
def test_the_classifier_stage_leaves_the_validation_split_out(
    small_images, monkeypatch, head_resampler
):
    """The stage, and 'auto''s score of its joint classifier, read the images the epochs
    trained on: the validation split stays held out for what is fitted on it afterwards (the
    temperature of proba_prior)."""
    X, y = small_images
    keep = np.r_[0:20, 20:30, 40:45]  # 20 / 10 / 5
    read = []
    embed = BalancedImageClassifier.embed

    def spied(net, dataset):
        read.append(np.bincount(dataset_codes(dataset), minlength=3))
        return embed(net, dataset)

    monkeypatch.setattr(BalancedImageClassifier, "embed", spied)
    clf = BalancedImageClassifier(
        head_resampler=head_resampler,
        head_epochs=2,
        train_split=ValidSplit(5, stratified=True),
        proba_prior="train",
        **FAST,
    ).fit(X[keep], y[keep])
    held_out = np.bincount(dataset_codes(dict(clf.callbacks_)["held_out"].dataset_))
    np.testing.assert_array_equal(held_out, [4, 2, 1])
    np.testing.assert_array_equal(read[-1], [16, 8, 4])  # the 35 images less those 7
    assert clf.strategy_.endswith("sqrt_head") == (head_resampler is None)
    assert clf.proba_temperature_ != 1.0


def test_retrain_classifier_balances_a_biased_layer():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    codes = np.repeat([0, 1], [200, 10])
    features = (rng.normal(size=(210, 2)) + 3.0 * codes[:, None]).astype(np.float32)
    layer = torch.nn.Linear(2, 2)
    settings = dict(resampler="class_balanced", epochs=30, batch_size=32, lr=0.05)
    losses = retrain_classifier(layer, features, codes, seed=0, **settings)
    assert losses[-1] < losses[0]
    with torch.no_grad():
        pred = layer(torch.from_numpy(features)).argmax(1).numpy()
    assert (pred[codes == 1] == 1).mean() > 0.9
    # the seed fixes every draw, not torch's global RNG: the same seed, the same layer
    torch.manual_seed(123)
    again = copy.deepcopy(layer)
    assert retrain_classifier(again, features, codes, seed=0, **settings) == losses
    assert torch.equal(again.weight, layer.weight)


@pytest.mark.parametrize(
    "resampler, prior_ratio",
    [("class_balanced", 1.0), ("sqrt", 10.0)],  # sqrt(1000 / 10)
)
def test_retrained_boundary_is_bayes_under_the_prior_the_resampler_draws(resampler, prior_ratio):
    # two unit Gaussians at 0 and 2, as quantiles (the samples are the distribution):
    # logistic regression is well specified, and its boundary under the class prior
    # p0 / p1 = r it trains with is the Bayes one, x = 1 + log(r) / 2
    def quantiles(n):
        return norm.ppf((np.arange(n) + 0.5) / n)

    features = np.r_[quantiles(1000), 2.0 + quantiles(10)][:, None].astype(np.float32)
    codes = np.repeat([0, 1], [1000, 10])
    layer = torch.nn.Linear(1, 2)
    settings = dict(resampler=resampler, epochs=40, batch_size=64, lr=0.05)
    retrain_classifier(layer, features, codes, seed=0, **settings)
    with torch.no_grad():
        w, b = layer.weight[1] - layer.weight[0], layer.bias[1] - layer.bias[0]
    # instance-balanced (r = 100) would put it at 3.3
    assert float(-b / w) == pytest.approx(1 + np.log(prior_ratio) / 2, abs=0.3)


def test_crt_beats_single_stage_ce_on_the_tail(lt_digits, plain_ce_digits):
    X_train, X_test, y_train, y_test = lt_digits

    def recall(clf):
        return recall_score(y_test, clf.predict(X_test), labels=TAIL, average="macro")

    def tail_recall(**params):
        return np.mean(
            [
                recall(
                    BalancedImageClassifier(  # lr as plain_ce_digits
                        max_epochs=30, lr=1e-3, random_state=seed, **params
                    ).fit(X_train, y_train)
                )
                for seed in (0, 1, 2)
            ]
        )

    plain = np.mean([recall(clf) for clf in plain_ce_digits])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallClassWarning)
        assert tail_recall(head_resampler="class_balanced") > plain + 0.15
        assert tail_recall(head_resampler=SMOTE()) > plain + 0.15


def test_crt_with_smote_caps_k_for_tiny_classes(small_images):
    X, y = small_images
    keep = np.r_[0:20, 20:30, 40:43]  # 3 samples of class 2: SMOTE's k=5 is capped to 2
    clf = BalancedImageClassifier(head_resampler=SMOTE(), head_epochs=2, **FAST)
    with pytest.warns(SmallClassWarning, match="Class 2 has 3 samples"):
        clf.fit(X[keep], y[keep])


def test_crt_with_ldam_keeps_the_cosine_classifier(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(loss="ldam", head_resampler="class_balanced", **FAST)
    clf.fit(X, y)
    assert type(clf.module_.classifier).__name__ == "NormedLinear"
    assert (clf.predict(X) == y).mean() > 0.9


def test_crt_refuses_sample_weight(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(head_resampler="class_balanced", **FAST)
    with pytest.raises(ValueError, match="carry no sample weights"):
        clf.fit(X, y, sample_weight=np.ones(len(y)))
    assert not clf.initialized_  # refused before the network was built
    clf.fit(X, y)
    assert hasattr(clf, "head_history_")
    assert not hasattr(clf.set_params(head_resampler=None).fit(X, y), "head_history_")


def test_head_resampler_in_grid_search(small_images):
    X, y = small_images
    grid = GridSearchCV(
        BalancedImageClassifier(head_epochs=3, **FAST),
        {"head_resampler": [None, "class_balanced", SMOTE(k_neighbors=2)]},
        scoring="balanced_accuracy",
        cv=StratifiedKFold(3),
        error_score="raise",
    ).fit(X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
