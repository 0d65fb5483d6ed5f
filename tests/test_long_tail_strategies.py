"""Each long-tail strategy does what its paper says, reachable as a parameter."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch.callbacks import Callback

from imbtorch import BalancedImageClassifier
from imbtorch.losses import BalancedSoftmaxLoss, LDAMLoss, LogitAdjustedLoss
from imbtorch.networks.layers import NormedLinear
from imbtorch.samplers import DeferredBatchSampler, ProgressiveSampler, make_batch_sampler

FAST = dict(max_epochs=6, lr=1e-2, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def long_tailed(small_images):
    X, y = small_images
    keep = np.r_[0:20, 20:28, 40:43]  # 20 / 8 / 3
    return X[keep], y[keep]


class RecordWeights(Callback):
    def initialize(self):
        self.weights = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.weights.append(net.criterion_.weight.detach().cpu().clone())


def test_drw_switches_to_class_weights_at_the_set_epoch(long_tailed):
    X, y = long_tailed
    recorder = RecordWeights()
    clf = BalancedImageClassifier(
        class_weight="balanced", drw_epoch=3, callbacks=[recorder], **FAST
    ).fit(X, y)
    for epoch, weight in enumerate(recorder.weights):
        expected = np.ones(3) if epoch < 3 else clf.class_weight_
        np.testing.assert_allclose(weight.numpy(), expected, rtol=1e-6, err_msg=str(epoch))


def test_drw_keeps_focal_alpha_before_and_after_the_switch(long_tailed):
    X, y = long_tailed
    recorder = RecordWeights()
    clf = BalancedImageClassifier(
        loss="focal",
        focal_alpha=[1.0, 2.0, 3.0],
        class_weight="balanced",
        drw_epoch=2,
        callbacks=[recorder],
        **FAST,
    ).fit(X, y)
    np.testing.assert_allclose(recorder.weights[0].numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        recorder.weights[-1].numpy(), np.array([1.0, 2.0, 3.0]) * clf.class_weight_, rtol=1e-6
    )


def test_drs_uses_the_sampler_only_from_the_set_epoch():
    y = np.array([0] * 90 + [1] * 10)
    bs = make_batch_sampler("class_balanced", y, batch_size=10, seed=0, start_epoch=2)
    assert isinstance(bs, DeferredBatchSampler)
    tail_share = [np.mean(y[np.concatenate(list(bs))] == 1) for _ in range(4)]
    assert tail_share[0] == tail_share[1] == 0.1  # plain shuffles
    assert tail_share[2] == tail_share[3] == 0.5  # class-balanced batches


def test_progressive_sampling_moves_from_instance_to_class_balance():
    y = np.array([0] * 90 + [1] * 10)
    sampler = ProgressiveSampler(y, n_epochs=5, seed=0)
    tail_mass = [sampler.weights(t)[y == 1].sum() for t in range(5)]
    np.testing.assert_allclose(tail_mass, [0.1, 0.2, 0.3, 0.4, 0.5])
    draws = [np.mean(y[list(sampler)] == 1) for _ in range(5)]
    assert draws[-1] > draws[0] + 0.2


@pytest.mark.parametrize(
    "loss, loss_type",
    [
        ("ldam", LDAMLoss),
        ("logit_adjusted", LogitAdjustedLoss),
        ("balanced_softmax", BalancedSoftmaxLoss),
    ],
)
def test_long_tail_losses_get_the_class_counts(long_tailed, loss, loss_type):
    X, y = long_tailed
    clf = BalancedImageClassifier(loss=loss, **FAST).fit(X, y)
    assert type(clf.criterion_) is loss_type
    if loss == "ldam":
        assert isinstance(clf.module_.classifier, NormedLinear)  # the paper's cosine head
        assert torch.all(clf.criterion_.margins[1:] > clf.criterion_.margins[:-1])
    else:
        prior = clf.class_counts_ / clf.class_counts_.sum()
        np.testing.assert_allclose(clf.criterion_.log_prior.numpy(), np.log(prior), rtol=1e-5)


def test_ldam_head_can_be_set_explicitly(long_tailed):
    X, y = long_tailed
    clf = BalancedImageClassifier(loss="ldam", module__cosine_classifier=False, **FAST)
    assert isinstance(clf.fit(X, y).module_.classifier, torch.nn.Linear)


def test_ohem_ratio_reaches_the_loss(long_tailed):
    X, y = long_tailed
    clf = BalancedImageClassifier(loss="focal", ohem_ratio=0.25, **FAST).fit(X, y)
    assert clf.criterion_.ohem_ratio == 0.25


def test_post_hoc_logit_adjustment_shifts_predictions_toward_the_tail(long_tailed, small_images):
    X, y = long_tailed
    X_all, _ = small_images
    clf = BalancedImageClassifier(**FAST).fit(X, y)
    plain = clf.predict_proba(X_all)
    clf.set_params(predict_logit_adjust=2.0)
    adjusted = clf.predict_proba(X_all)
    prior = clf.class_counts_ / clf.class_counts_.sum()
    # it replaces the shift the default decided by (half the log prior after its stage, none
    # where it kept the joint classifier)
    expected = plain * prior ** -(2.0 - (clf.predict_logit_adjust_ or 0.0))
    np.testing.assert_allclose(adjusted, expected / expected.sum(1, keepdims=True), rtol=1e-4)
    tail = 2
    assert (adjusted.argmax(1) == tail).sum() >= (plain.argmax(1) == tail).sum()
    assert adjusted[:, tail].mean() > plain[:, tail].mean()


def test_every_strategy_is_searchable(long_tailed):
    X, y = long_tailed
    grid = GridSearchCV(
        BalancedImageClassifier(**{**FAST, "max_epochs": 2}),
        [
            {"loss": ["ldam"], "drw_epoch": [1], "class_weight": ["effective"]},
            {"loss": ["logit_adjusted"], "logit_adjust_tau": [0.5, 1.0]},
            {"loss": ["balanced_softmax"], "ohem_ratio": [None, 0.5]},
            {"sampler": ["progressive"], "drs_epoch": [None, 1]},
            {"predict_logit_adjust": [None, 1.0]},
            {"tau_normalize": [1.0], "logit_scale": [True]},
            {"difficulty_head": [0.5], "minority_augment": [0.125]},
        ],
        scoring="balanced_accuracy",
        cv=StratifiedKFold(3),
    ).fit(X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert len(grid.cv_results_["params"]) == 11


def test_tuned_threshold_classifier_on_a_binary_task(small_images):
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import TunedThresholdClassifierCV

    X, y = small_images
    keep = np.r_[0:20, 20:24]  # 20 bright vs 4 dark
    labels = np.array(["common", "rare"])[y[keep]]
    # the threshold is tuned on held-out samples of the model that then predicts (refit=False):
    # with 12-sample folds, a threshold tuned on other fold models does not transfer reliably
    tuned = TunedThresholdClassifierCV(
        BalancedImageClassifier(**{**FAST, "max_epochs": 20}),  # 12 samples: 1 step per epoch
        scoring="balanced_accuracy",
        cv=0.5,
        refit=False,
        random_state=0,
    ).fit(X[keep], labels)
    assert 0.0 < tuned.best_threshold_ < 1.0
    assert set(tuned.predict(X[keep])) <= {"common", "rare"}
    assert balanced_accuracy_score(labels, tuned.predict(X[keep])) > 0.9


def test_deferred_progressive_schedule_starts_where_it_takes_over():
    y = np.array([0] * 90 + [1] * 10)
    settings = dict(batch_size=10, seed=0, n_epochs=5, start_epoch=3)
    bs = make_batch_sampler("progressive", y, **settings)
    epochs = [list(bs) for _ in range(4)]
    assert bs.after.sampler.epoch == 4  # the progressive schedule drew its epoch 3
    # a schedule continued at epoch 3 (a resumed fit) draws the same batches
    assert list(make_batch_sampler("progressive", y, **settings, first_epoch=3)) == epochs[3]
