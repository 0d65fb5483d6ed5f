"""strategy='auto' (the default) and precise BatchNorm statistics."""

import numpy as np
import pytest
import torch
from _steps import first_network
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from imbtorch import BalancedImageClassifier
from imbtorch.evaluation import training_summary
from imbtorch.losses import CrossEntropyLoss, FocalLoss, LogitAdjustedLoss
from imbtorch.strategies import AUTO_EMA_EPOCHS, AUTO_JOINT_MIN_SCORE, Extension, strategy_params
from imbtorch.strategies import AUTO_MIXED_NAME as AUTO_MIXED
from imbtorch.strategies import AUTO_NAME as AUTO
from imbtorch.training import loop, steps

FAST = dict(max_epochs=3, random_state=0, module__width=8)


@pytest.mark.parametrize(
    "params, loss, criterion, strategy",
    [
        ({}, "logit_adjusted", LogitAdjustedLoss, AUTO_MIXED),
        ({"strategy": None}, "ce", CrossEntropyLoss, "as_set"),
        ({"class_weight": "balanced"}, "ce", CrossEntropyLoss, "as_set"),
        ({"sampler": "class_balanced"}, "ce", CrossEntropyLoss, "as_set"),
        ({"criterion__weight": [1.0, 2.0, 3.0]}, "ce", CrossEntropyLoss, "as_set"),
        ({"predict_logit_adjust": 1.0}, "ce", CrossEntropyLoss, "as_set"),
        ({"drw_epoch": 2, "class_weight": "effective"}, "ce", CrossEntropyLoss, "as_set"),
        ({"loss": "focal"}, "focal", FocalLoss, "as_set"),
        # options that do not re-balance the classes combine with it
        ({"mixup": "cutmix"}, "logit_adjusted", LogitAdjustedLoss, AUTO),
        ({"ohem_ratio": 0.5}, "logit_adjusted", LogitAdjustedLoss, AUTO_MIXED),
        ({"max_norm": 1.0}, "logit_adjusted", LogitAdjustedLoss, AUTO_MIXED),
    ],
)
def test_auto_trains_logit_adjustment_unless_the_classes_are_rebalanced_otherwise(
    long_tailed_images, params, loss, criterion, strategy
):
    X, y = long_tailed_images
    clf = BalancedImageClassifier(**FAST, **params).fit(X, y)
    assert (clf.loss_, clf.strategy_) == (loss, strategy)
    assert type(clf.criterion_) is criterion
    assert clf.loss == params.get("loss", "ce")  # the parameters are left as given
    assert clf.head_resampler is None and clf.predict_logit_adjust == params.get(
        "predict_logit_adjust"
    )
    if strategy in (AUTO, AUTO_MIXED):  # the square-root stage, deciding with half the prior
        assert (clf.head_resampler_, clf.predict_logit_adjust_) == ("sqrt", 0.5)
        assert len(clf.head_history_) == clf.head_epochs
        assert clf.joint_train_score_ < AUTO_JOINT_MIN_SCORE  # 3 epochs: training errors left
    else:
        assert clf.head_resampler_ is None and not hasattr(clf, "head_history_")
        assert not hasattr(clf, "joint_train_score_")
    # auto mixes the first two thirds of the epochs; a mixup you set stands as set
    mixing = ("mixup", 2) if strategy == AUTO_MIXED else (params.get("mixup"), None)
    assert (clf.mixup_, clf.mixup_epochs_) == mixing and clf.mixup == params.get("mixup")
    if loss == "logit_adjusted":  # the prior of the training counts, tau=1
        prior = np.array([20, 8, 3]) / 31
        expected = torch.log(torch.tensor(prior)).float()
        torch.testing.assert_close(clf.criterion_.log_prior, expected)
        assert clf.criterion_.tau == 1.0


def test_auto_keeps_the_classifier_trained_with_the_network_where_it_makes_no_training_error(
    long_tailed_images, small_images
):
    """After 15 epochs the network's own classifier classifies every training image right:
    'auto' keeps it as trained (no stage, no shift), the fit that sets no stage at all."""
    X, y = long_tailed_images
    settings = dict(FAST, max_epochs=15)
    clf = BalancedImageClassifier(**settings).fit(X, y)
    assert clf.joint_train_score_ == 1.0 and clf.strategy_ == "logit_adjusted+mixup"
    assert clf.extension_ is None and len(clf.history) == 15  # nor trains longer
    assert clf.history[-1, "joint_train_score"] == 1.0
    assert clf.head_resampler_ is None and clf.predict_logit_adjust_ is None
    assert not hasattr(clf, "head_history_") and clf.mixup_epochs_ == 10
    assert clf.ema_epochs_ == AUTO_EMA_EPOCHS
    np.testing.assert_allclose(clf.decision_prior_, np.ones(3) / 3)  # the adjusted loss's
    joint = BalancedImageClassifier(
        strategy=None,
        loss="logit_adjusted",
        mixup="mixup",
        mixup_epochs=10,
        ema_epochs=AUTO_EMA_EPOCHS,
        **settings,
    ).fit(X, y)
    X_all = small_images[0]
    np.testing.assert_array_equal(clf.predict_proba(X_all), joint.predict_proba(X_all))
    # a head_resampler you set is trained whatever the score
    own = BalancedImageClassifier(head_resampler="sqrt", **settings).fit(X, y)
    assert own.strategy_ == AUTO_MIXED and len(own.head_history_) == own.head_epochs
    assert own.predict_logit_adjust_ == 0.5 and not hasattr(own, "joint_train_score_")
    # a refit that errs again runs the stage again
    clf.set_params(max_epochs=3).fit(X, y)
    assert clf.strategy_ == AUTO_MIXED and clf.joint_train_score_ < AUTO_JOINT_MIN_SCORE
    assert len(clf.head_history_) == clf.head_epochs


def test_auto_with_crt_retrains_the_head_of_a_logit_adjusted_trunk(long_tailed_images):
    X, y = long_tailed_images
    clf = BalancedImageClassifier(head_resampler="class_balanced", head_epochs=2, **FAST)
    clf.fit(X, y)
    assert clf.loss_ == "logit_adjusted" and len(clf.head_history_) == 2
    # your classifier stage replaces auto's, and decides as it trained (balanced)
    assert (clf.strategy_, clf.head_resampler_) == ("logit_adjusted", "class_balanced")
    assert clf.predict_logit_adjust_ is None
    np.testing.assert_allclose(clf.decision_prior_, np.ones(3) / 3)


def test_auto_predicts_with_half_the_log_prior_after_its_square_root_stage(
    long_tailed_images, small_images
):
    X, y = long_tailed_images
    clf = BalancedImageClassifier(**FAST).fit(X, y)
    prior = np.array([20, 8, 3]) / 31
    # the stage trains toward sqrt(prior); half the log prior off makes it balanced
    np.testing.assert_allclose(clf.decision_prior_, np.ones(3) / 3)
    X_all = small_images[0]
    auto = clf.predict_proba(X_all)
    raw = clf.set_params(predict_logit_adjust=0.0).predict_proba(X_all)  # replaces auto's 0.5
    expected = raw * prior**-0.5
    np.testing.assert_allclose(auto, expected / expected.sum(1, keepdims=True), rtol=1e-4)
    assert (auto.argmax(1) == 2).sum() >= (raw.argmax(1) == 2).sum()
    # set as a parameter under strategy=None, the same stage decides on its own prior
    own = BalancedImageClassifier(strategy=None, head_resampler="sqrt", **FAST).fit(X, y)
    assert own.strategy_ == "as_set" and own.predict_logit_adjust_ is None
    np.testing.assert_allclose(own.decision_prior_, np.sqrt(prior) / np.sqrt(prior).sum())


def test_auto_leaves_its_classifier_stage_out_where_it_does_not_apply(
    long_tailed_images, small_images
):
    X, y = long_tailed_images

    def without_stage(clf):
        assert (clf.strategy_, clf.loss_) == ("logit_adjusted", "logit_adjusted")
        assert clf.head_resampler_ is None and clf.predict_logit_adjust_ is None
        assert not hasattr(clf, "head_history_") and clf.mixup_ is None  # nor its mixing

    # the stage draws by class, not by weight
    without_stage(BalancedImageClassifier(**FAST).fit(X, y, sample_weight=np.ones(len(y))))
    # a classifier re-trained on one call's data would forget the others'
    without_stage(BalancedImageClassifier(**FAST).partial_fit(X, y))
    without_stage(BalancedImageClassifier(**FAST).fit(*small_images))  # equal classes


class MixedEpochs(Callback):
    """The epochs (1 is the first) in which ``mix_batch`` mixed a batch."""

    def __init__(self, monkeypatch):
        self.mixed, self.epochs = False, []
        original = steps.mix_batch

        def spied(*args, **kwargs):
            self.mixed = True
            return original(*args, **kwargs)

        monkeypatch.setattr(steps, "mix_batch", spied)

    def on_epoch_end(self, net, **kwargs):
        if self.mixed:
            self.epochs.append(len(net.history))
        self.mixed = False


@pytest.mark.parametrize(
    "params, mixed, strategy",
    [
        ({}, [1, 2, 3, 4], AUTO_MIXED),  # two thirds of 6 epochs
        ({"mixup_epochs": 1}, [1], AUTO_MIXED),
        ({"mixup_epochs": 0}, [], AUTO),
        ({"mixup": "cutmix", "mixup_epochs": 5}, [1, 2, 3, 4, 5], AUTO),
        ({"mixup": "mixup", "strategy": None}, [1, 2, 3, 4, 5, 6], "as_set"),
        ({"difficulty_head": 1.0}, [], AUTO),  # a difficulty head learns one label an image
    ],
)
def test_auto_mixes_the_first_two_thirds_of_the_epochs(
    long_tailed_images, monkeypatch, params, mixed, strategy
):
    X, y = long_tailed_images
    spy = MixedEpochs(monkeypatch)
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 6}, callbacks=[spy], **params)
    clf.fit(X, y)
    assert spy.epochs == mixed and clf.strategy_ == strategy


@pytest.fixture(scope="module")
def long_tailed_noise(long_tailed_images):
    """Noise in place of the long-tailed images: the network errs on it after 10 epochs."""
    X, y = long_tailed_images
    return np.random.default_rng(0).integers(0, 256, size=X.shape, dtype=np.uint8), y


@pytest.mark.parametrize(
    "params",
    [{}, {"compile": True, "compile__backend": "eager", "precision": "bf16-mixed"}],
    ids=["plain", "compiled_bf16"],
)
def test_auto_trains_longer_where_its_network_still_errs_on_the_training_images(
    long_tailed_noise, monkeypatch, params
):
    """After 10 epochs the network's own classifier still errs on its training images: 'auto'
    trains 6 more (two thirds of 10), mixing the first 4 of them, then runs its stage (also
    with the forward passes compiled and under bf16 autocast)."""
    X, y = long_tailed_noise
    spy = MixedEpochs(monkeypatch)
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 10}, callbacks=[spy], **params)
    clf.fit(X, y)
    score = clf.history[9, "joint_train_score"]  # recorded where it decided
    assert clf.extension_ == Extension(start=10, epochs=6, train_score=score)
    assert score < AUTO_JOINT_MIN_SCORE and len(clf.history) == 16 == clf.schedule_.end_epoch
    assert spy.epochs == [1, 2, 3, 4, 5, 6, 11, 12, 13, 14]  # two thirds of each span
    assert clf.strategy_ == AUTO_MIXED and len(clf.head_history_) == clf.head_epochs
    assert clf.joint_train_score_ < AUTO_JOINT_MIN_SCORE  # scored again after the 16 epochs
    assert clf.max_epochs == 10  # the parameter is left as given
    summary = training_summary(clf)  # the report shows the plan and its evidence
    assert summary.startswith(f"Trained 16 epochs. strategy='auto' trained {AUTO_MIXED!r}: ")
    assert (
        f"\n- trained longer: training balanced accuracy {score:.3f} < 0.99 after 10 epochs: "
        "trained 6 more (mixing the first 4)\n- classifier re-trained on 'sqrt'-resampled "
        f"features: training balanced accuracy {clf.joint_train_score_:.3f} < 0.99\n"
    ) in summary


@pytest.mark.parametrize(
    "params",
    [
        {"lr_schedule": "cosine"},  # the learning rate has decayed to 0
        {"head_resampler": "sqrt"},  # your stage runs whatever the score
        {"mixup_epochs": 0},  # no mixing: not the schedule it was measured on
        {"strategy": None, "loss": "logit_adjusted", "mixup": "mixup", "head_resampler": "sqrt"},
        {"max_epochs": 9},  # a quick look: fewer than 10 epochs
        {"extra_epochs": 0},  # max_epochs exactly, as asked
    ],
)
def test_auto_trains_no_longer_outside_its_own_schedule(long_tailed_noise, params):
    X, y = long_tailed_noise
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 10, **params}).fit(X, y)
    assert clf.extension_ is None and len(clf.history) == clf.max_epochs
    assert len(clf.head_history_) == clf.head_epochs  # a stage ran: the network errs


class ValidationParts(Callback):
    """The validation indices of every epoch."""

    def initialize(self):
        self.indices = []
        return self

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        self.indices.append(tuple(dataset_valid.indices))


def test_auto_trains_longer_with_a_validation_split_where_its_training_part_errs(
    long_tailed_noise, monkeypatch
):
    """The decision scores the training part only; the added epochs train and score on the
    parts the first 10 did (the split has no seed); early stopping keeps its best from those
    10, waits through the added epochs that mix (11-14) and may not take them."""
    X, y = long_tailed_noise
    scored, original = [], loop.joint_balanced_accuracy

    def spied(net, features, codes):
        scored.append(len(codes))
        return original(net, features, codes)

    monkeypatch.setattr(loop, "joint_balanced_accuracy", spied)
    spy = MixedEpochs(monkeypatch)
    parts = ValidationParts()
    split = ValidSplit(0.25, stratified=True)
    clf = BalancedImageClassifier(
        **{**FAST, "max_epochs": 10}, train_split=split, callbacks=[spy, parts]
    ).fit(X, y)
    assert len(parts.indices) == 16 and len(set(parts.indices)) == 1
    train_part, valid_part = dict(clf.callbacks_)["held_out"].parts(clf, None)
    # scored on the training part: for the extension, then for the stage after it
    assert scored == [len(train_part)] * 2 and len(train_part) + len(valid_part) == len(y)
    assert clf.extension_ == Extension(10, 6, clf.history[9, "joint_train_score"])
    assert len(clf.history) == 16 and spy.epochs == [1, 2, 3, 4, 5, 6, 11, 12, 13, 14]
    stopping, candidates = dict(clf.callbacks_)["early_stopping"], [7, 8, 9, 10, 15, 16]
    assert stopping.waits_ == (10, 14) and stopping.best_epoch_ in candidates
    scores = [clf.history[e - 1, "valid_f1"] for e in candidates]
    assert clf.history[stopping.best_epoch_ - 1, "valid_f1"] == pytest.approx(max(scores))
    kept = f"early stopping kept the weights of epoch {stopping.best_epoch_} (best valid_f1)"
    assert (kept in training_summary(clf)) == (stopping.best_epoch_ != 16)
    # what the fit kept of the split is no parameter: a clone fits (GridSearchCV, cross_validate)
    again = clone(clf.set_params(callbacks=[])).set_params(max_epochs=1)  # the spies do not clone
    assert again.fit(X, y).extension_ is None


class Interrupt(Callback):
    """A user's Ctrl-C in the 8th epoch: skorch ends training there."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 8:
            raise KeyboardInterrupt


def test_a_fit_stopped_before_max_epochs_trains_no_longer(long_tailed_noise):
    X, y = long_tailed_noise
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 10}, callbacks=[Interrupt()])
    clf.fit(X, y)
    assert clf.extension_ is None and len(clf.history) == 8
    assert len(clf.head_history_) == clf.head_epochs  # the stage still runs
    assert "- stopped after 8 of 10 epochs: no extension decided\n" in str(clf.plan_)


def test_extra_epochs_sets_how_many_epochs_auto_adds_from_any_max_epochs(
    long_tailed_noise, monkeypatch
):
    """3 more after 6 (under the 10 the default asks for), mixing the first 2 of them."""
    X, y = long_tailed_noise
    spy = MixedEpochs(monkeypatch)
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 6}, extra_epochs=3, callbacks=[spy])
    clf.fit(X, y)
    assert clf.extension_ == Extension(6, 3, clf.history[5, "joint_train_score"])
    assert len(clf.history) == 9 and spy.epochs == [1, 2, 3, 4, 7, 8]


@pytest.mark.parametrize(
    "params, data, message",
    [
        ({"strategy": None}, "tail", r"strategy_='as_set', not 'auto''s mixed trunk"),
        ({"class_weight": "balanced"}, "tail", r"strategy_='as_set'"),
        ({}, "balanced", r"strategy_='logit_adjusted'.*equal classes"),
        ({"head_resampler": "class_balanced"}, "tail", r"sets head_resampler"),
        ({"lr_schedule": "cosine"}, "tail", r"this fit has lr_schedule='cosine'"),
        (
            {"lr_schedule": "cosine", "strategy": None},
            "tail",
            r"strategy_='as_set'.*; it has lr_schedule='cosine'",
        ),
    ],
)
def test_extra_epochs_where_auto_cannot_add_them_is_an_error_before_any_epoch(
    long_tailed_images, small_images, params, data, message
):
    X, y = long_tailed_images if data == "tail" else small_images
    clf = BalancedImageClassifier(extra_epochs=2, **{**FAST, **params})
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not clf.initialized_  # refused when fit planned, before the network was built


def test_extra_epochs_in_partial_fit_is_an_error_that_says_why(long_tailed_images):
    clf = BalancedImageClassifier(extra_epochs=2, **FAST)
    with pytest.raises(ValueError, match="extra_epochs=2.*partial_fit leave it out"):
        clf.partial_fit(*long_tailed_images)
    assert not clf.initialized_


def test_mixup_epochs_without_mixing_is_an_error_that_names_the_fix(long_tailed_images):
    clf = BalancedImageClassifier(strategy=None, mixup_epochs=3, **FAST)
    with pytest.raises(ValueError, match=r"mixup=None mixes none; set mixup='mixup'"):
        clf.fit(*long_tailed_images)


def test_auto_on_balanced_classes_is_cross_entropy(small_images):
    # the log prior is the same for every class: a constant shift of the logits
    X, y = small_images
    auto = BalancedImageClassifier(**FAST).fit(X, y)
    plain = BalancedImageClassifier(strategy=None, **FAST).fit(X, y)
    assert auto.loss_ == "logit_adjusted" and plain.loss_ == "ce"
    np.testing.assert_allclose(auto.predict_proba(X), plain.predict_proba(X), atol=1e-4)
    np.testing.assert_allclose(
        auto.history[:, "train_loss"], plain.history[:, "train_loss"], rtol=1e-5
    )


def test_named_strategies_train_as_named_under_the_default(long_tailed_images):
    X, y = long_tailed_images
    base = BalancedImageClassifier(**FAST)
    ce = clone(base).set_params(**strategy_params("ce", 3)).fit(X, y)
    assert ce.loss_ == "ce" and type(ce.criterion_) is CrossEntropyLoss
    auto = clone(base).set_params(strategy=None).set_params(**strategy_params("auto", 3))
    assert auto.fit(X, y).loss_ == "logit_adjusted"


def test_strategy_is_a_searchable_parameter_with_a_clear_error(long_tailed_images):
    X, y = long_tailed_images
    search = GridSearchCV(
        BalancedImageClassifier(**FAST), {"strategy": [None, "auto"]}, cv=2, error_score="raise"
    )
    search.fit(X, y)
    assert search.best_estimator_.strategy in (None, "auto")
    assert search.best_estimator_.loss_ in ("ce", "logit_adjusted")
    with pytest.raises(InvalidParameterError, match=r"'strategy' parameter.*'auto'.*None"):
        BalancedImageClassifier(strategy="best").fit(X, y)


def _first_norm_input(clf, X) -> torch.Tensor:
    norm = next(m for m in clf.module_.modules() if isinstance(m, torch.nn.BatchNorm2d))
    seen = []
    hook = norm.register_forward_hook(lambda _, inputs, __: seen.append(inputs[0]))
    try:
        clf.predict_proba(X)  # the input of the first BatchNorm is the same in either mode
    finally:
        hook.remove()
    return norm, torch.cat(seen)


def test_precise_bn_sets_the_statistics_of_the_training_set_under_the_final_weights(
    small_images,
):
    X, y = small_images  # 60 images: one batch
    clf = BalancedImageClassifier(**FAST).fit(X, y)
    norm, inputs = _first_norm_input(clf, X)
    torch.testing.assert_close(norm.running_mean, inputs.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(norm.running_var, inputs.var(dim=(0, 2, 3), unbiased=True))
    assert norm.momentum == 0.1  # the layer's own momentum is back for further training

    moving = BalancedImageClassifier(precise_bn=False, **FAST).fit(X, y)
    norm, inputs = _first_norm_input(moving, X)
    assert not torch.allclose(norm.running_mean, inputs.mean(dim=(0, 2, 3)), atol=1e-3)
    # the weights are the same: only the statistics differ
    torch.testing.assert_close(moving.module_.classifier.weight, clf.module_.classifier.weight)


def test_precise_bn_keeps_frozen_layers_in_eval_mode_and_their_statistics(small_images):
    X, y = small_images
    start = first_network(X, y, freeze=1, **FAST)
    clf = BalancedImageClassifier(freeze=1, **FAST).fit(X, y)
    norms = [m for m in clf.module_.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    frozen, after = norms[0], norms[1]
    assert not frozen.weight.requires_grad and after.weight.requires_grad
    first = next(m for m in start.module_.modules() if isinstance(m, torch.nn.BatchNorm2d))
    torch.testing.assert_close(frozen.running_mean, first.running_mean)
    seen = []
    hook = after.register_forward_hook(lambda _, inputs, __: seen.append(inputs[0]))
    try:  # in eval mode the frozen layer normalises with its statistics, as in the pass
        clf.predict_proba(X)
    finally:
        hook.remove()
    torch.testing.assert_close(after.running_mean, torch.cat(seen).mean(dim=(0, 2, 3)))


def test_the_plan_of_a_fit_says_what_it_trained_what_it_decided_and_why(long_tailed_images):
    X, y = long_tailed_images
    with pytest.raises(AttributeError, match=r"not fitted yet; call fit\(X, y\) first"):
        BalancedImageClassifier().strategy_  # noqa: B018
    clf = BalancedImageClassifier(**FAST).fit(X, y)  # 3 epochs
    text = str(clf.plan_)
    assert repr(clf.plan_) == text  # a terminal shows it as it is
    assert text.splitlines() == [
        f"strategy='auto' trained {AUTO_MIXED!r}: no re-balancing parameter set; classes of 20 "
        "to 3 images",
        "- loss 'logit_adjusted'",
        "- mixup batches in epochs 1-2 of 3",
        "- weights averaged along training (time constant 3 epochs)",
        "- 3 epochs, fewer than 10: no extension",
        "- classifier re-trained on 'sqrt'-resampled features: training balanced accuracy "
        f"{clf.joint_train_score_:.3f} < 0.99",
        "- predicts with the logits less 0.5 x log prior",
    ]
    page = clf.plan_._repr_html_()  # a notebook, as HTML
    assert page.startswith("<div><p>strategy=&#x27;auto&#x27; trained ") and page.count("<li>") == 6
    # what it leaves out of the default, and why
    weighted = BalancedImageClassifier(**FAST).fit(X, y, sample_weight=np.ones(len(y)))
    assert str(weighted.plan_).splitlines()[-1] == (
        "- sample_weight (the stage draws by class, not by weight): no classifier stage, no "
        "mixing, no weight averaging"
    )
    cut = BalancedImageClassifier(**{**FAST, "max_epochs": 2}, mixup="cutmix").fit(X, y)
    assert (
        "- cutmix batches in every epoch\n- mixup set: it mixes as set; no weight averaging, "
        "no extension (measured with 'auto''s own)\n"
    ) in str(cut.plan_)
    own = BalancedImageClassifier(**FAST, class_weight={0: 1.0, 1: 2.0, 2: 4.0}).fit(X, y)
    assert str(own.plan_).startswith(
        "strategy='auto' trained the parameters as set: class_weight={0: 1.0, 1: 2.0, 2: 4.0} "
        "re-balances the classes"
    )
