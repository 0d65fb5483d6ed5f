"""Weight averaging (``ema_epochs``): the exponential moving average by hand, with the options
that touch the optimizer step, and where ``strategy='auto'`` turns it on."""

import math
import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from imbtorch import BalancedImageClassifier
from imbtorch.strategies import AUTO_EMA_EPOCHS
from imbtorch.training.averaging import ema_decay

FAST = {"max_epochs": 4, "batch_size": 16, "module__width": 8, "random_state": 0}


class RecordWeights(Callback):
    """The network's floating-point weights and buffers after every training step (it runs
    after the estimator's own callbacks: after max_norm's projection and the average's update)."""

    def initialize(self):
        self.states_ = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.states_.append({k: v.float() for k, v in _floats(net.module_).items()})


def by_hand(states: list[dict], decay: float) -> dict:
    """avg_1 = w_1, avg_t = decay * avg_(t-1) + (1 - decay) * w_t."""
    average = dict(states[0])
    for state in states[1:]:
        average = {k: decay * average[k] + (1 - decay) * state[k] for k in average}
    return average


def test_decay_has_the_time_constant_in_epochs():
    assert ema_decay(3.0, 5) == pytest.approx(1 - 1 / 15)
    assert ema_decay(0.1, 5) == 0.0  # under one step: the last weights, never a negative decay
    # a step's weight falls to exp(-1) after ema_epochs epochs of steps
    assert ema_decay(2.0, 50) ** 100 == pytest.approx(math.exp(-1), rel=0.01)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"max_norm": 1.0, "precision": "bf16-mixed"},
        {"sam_rho": 0.05, "compile": True, "compile__backend": "eager", "freeze": 1},
    ],
    ids=["plain", "maxnorm_bf16", "sam_compiled_frozen"],
)
def test_the_network_ends_with_the_moving_average_of_its_step_weights(small_images, settings):
    X, y = small_images
    record = RecordWeights()
    clf = BalancedImageClassifier(
        strategy=None, ema_epochs=2, precise_bn=False, callbacks=[("record", record)], **FAST
    )
    clf.set_params(max_epochs=8, **settings).fit(X, y)
    steps = math.ceil(len(X) / FAST["batch_size"])
    assert len(record.states_) == 8 * steps
    expected = by_hand(record.states_, 1 - 1 / (2 * steps))
    final = clf.module_.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(final[key].float(), value, rtol=1e-5, atol=1e-6)
    last = record.states_[-1]["classifier.weight"]
    assert not torch.allclose(final["classifier.weight"], last)  # not the last step's weights
    if "max_norm" in settings:  # an average of projected weights stays in the ball
        assert final["classifier.weight"].norm(dim=1).max() <= 1.0 + 1e-6
    assert (clf.predict(X) == y).mean() > 0.9


def test_partial_fit_averages_on_over_its_calls_and_a_pickle(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(strategy=None, ema_epochs=1, **FAST).partial_fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))  # the average travels with the net
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    copy.partial_fit(X, y)
    average = dict(copy.callbacks_)["weight_averaging"].average_
    assert int(average.n_averaged) == 2 * FAST["max_epochs"] * math.ceil(len(X) / 16)


@pytest.mark.parametrize(
    "params, epochs",
    [
        ({}, AUTO_EMA_EPOCHS),  # the default: 'auto' trains its own schedule
        ({"ema_epochs": 0}, None),
        ({"ema_epochs": 1.5}, 1.5),
        ({"strategy": None}, None),
        ({"strategy": None, "ema_epochs": 2}, 2.0),
        ({"class_weight": "balanced"}, None),  # trained as set
        ({"train_split": ValidSplit(4, stratified=True)}, AUTO_EMA_EPOCHS),  # scored there
    ],
)
def test_who_averages_the_weights(long_tailed_images, params, epochs):
    X, y = long_tailed_images  # 'auto' trains its own schedule
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 3}, **params).fit(X, y)
    averaging = dict(clf.callbacks_).get("weight_averaging")
    assert (averaging.epochs if averaging is not None else None) == epochs
    assert (clf.ema_epochs_ or None) == epochs


class RecordValidation(Callback):
    """The network's floating-point weights and buffers while each epoch's validation ran,
    and when the epoch ended (after early stopping's and the checkpoints' copies)."""

    def initialize(self):
        self.scored_, self.ended_ = [], []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.scored_.append(None)

    def on_batch_end(self, net, training=False, **kwargs):
        if not training and self.scored_[-1] is None:
            self.scored_[-1] = _floats(net.module_)

    def on_epoch_end(self, net, **kwargs):
        self.ended_.append(_floats(net.module_))


def _floats(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


@pytest.mark.parametrize(
    "settings",
    [{}, {"compile": True, "compile__backend": "eager", "precision": "bf16-mixed"}],
    ids=["plain", "compiled_bf16"],
)
def test_with_a_validation_split_the_monitors_score_the_average(small_images, settings):
    """The validation passes, early stopping and the final network see the average; the
    optimizer steps on from the trained weights, exactly as without averaging."""
    X, y = small_images
    split = ValidSplit(4, stratified=True)
    runs = {}
    for ema in (2, 0):
        steps, scored = RecordWeights(), RecordValidation()
        clf = BalancedImageClassifier(
            strategy=None,
            ema_epochs=ema,
            train_split=split,
            precise_bn=False,
            callbacks=[("steps", steps), ("scored", scored)],
            **{**FAST, "max_epochs": 6, "lr": 3e-2, **settings},
        ).fit(X, y)
        runs[ema] = clf, steps.states_, scored
    clf, steps, scored = runs[2]
    # the trained weights never saw the average: every step as in the fit without it
    assert len(steps) == len(runs[0][1])
    for ours, plain in zip(steps, runs[0][1], strict=True):
        assert all(torch.equal(ours[k], plain[k]) for k in plain)
    # each epoch's validation scored the average of the steps so far, and ended with it
    per_epoch = len(steps) // 6
    assert per_epoch == math.ceil(len(X) * 3 / 4 / 16)  # the 45 images trained on, not all 60
    decay = 1 - 1 / (2 * per_epoch)  # a time constant of 2 epochs of those
    for epoch in range(6):
        expected = by_hand(steps[: (epoch + 1) * per_epoch], decay)
        for key, value in expected.items():
            torch.testing.assert_close(scored.scored_[epoch][key], value, rtol=1e-5, atol=1e-6)
            assert torch.equal(scored.ended_[epoch][key], scored.scored_[epoch][key])
    assert not torch.equal(scored.scored_[-1]["classifier.weight"], steps[-1]["classifier.weight"])
    assert clf.history[:, "valid_loss"] != runs[0][0].history[:, "valid_loss"]
    # the network ends with the average of the best-scored epoch
    best = max(i for i, row in enumerate(clf.history) if row["valid_f1_best"])
    assert best < 5  # early stopping restored its copy, not the last average
    final = _floats(clf.module_)
    assert all(torch.equal(final[k], v) for k, v in scored.ended_[best].items())
    assert dict(clf.callbacks_)["weight_averaging"].trained_ is None


def test_without_averaging_the_network_keeps_its_last_step_weights(small_images):
    """The control of the test above: ema_epochs=0 leaves the last step's weights."""
    X, y = small_images
    record = RecordWeights()
    clf = BalancedImageClassifier(
        strategy=None, ema_epochs=0, precise_bn=False, callbacks=[("record", record)], **FAST
    ).fit(X, y)
    last = record.states_[-1]
    final = clf.module_.state_dict()
    assert all(torch.equal(final[k].float(), v) for k, v in last.items())
    assert np.isfinite(clf.predict_proba(X)).all()
