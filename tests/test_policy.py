"""The default's policy and plan, without training: what plan_training decides from the
parameters and the data, and how a plan takes and records its two decisions."""

import numpy as np
import pytest
from skorch.history import History

from imbtorch import BalancedImageClassifier
from imbtorch.strategies import Extension, TrainingFacts, plan_training
from imbtorch.strategies.constants import AUTO_JOINT_MIN_SCORE, deferred_epoch

TAIL = np.array([300, 50, 5])


def _plan(facts=None, criterion=None, **params):
    settings = BalancedImageClassifier(**params).get_params(deep=False)
    return plan_training(settings, criterion or {}, facts or TrainingFacts(TAIL))


@pytest.mark.parametrize(
    "params, facts, name, trained",
    [
        ({}, None, "logit_adjusted+mixup+sqrt_head", ("logit_adjusted", "mixup", 20, 3.0, "sqrt")),
        (
            {"mixup_epochs": 0},
            None,
            "logit_adjusted+sqrt_head",
            ("logit_adjusted", None, 0, None, "sqrt"),
        ),
        (
            {"mixup": "cutmix"},
            None,
            "logit_adjusted+sqrt_head",
            ("logit_adjusted", "cutmix", None, None, "sqrt"),
        ),
        (
            {},
            TrainingFacts(np.array([9, 9, 9])),
            "logit_adjusted",
            ("logit_adjusted", None, None, None, None),
        ),
        (
            {},
            TrainingFacts(TAIL, sample_weighted=True),
            "logit_adjusted",
            ("logit_adjusted", None, None, None, None),
        ),
        (
            {},
            TrainingFacts(TAIL, incremental=True),
            "logit_adjusted",
            ("logit_adjusted", None, None, None, None),
        ),
        ({}, TrainingFacts(np.array([4, 0, 2])), "as_set", ("ce", None, None, None, None)),
        (
            {},
            TrainingFacts(np.array([4, 1, 2]), multilabel=True),
            "distribution_balanced+label_aware",
            ("distribution_balanced", None, None, None, None),
        ),
        ({"class_weight": "balanced"}, None, "as_set", ("ce", None, None, None, None)),
        ({"strategy": None}, None, "as_set", ("ce", None, None, None, None)),
    ],
)
def test_what_the_policy_trains(params, facts, name, trained):
    plan = _plan(facts, **params)
    assert plan.strategy_name == name
    assert (
        tuple(map(plan.trained, ("loss", "mixup", "mixup_epochs", "ema_epochs", "head_resampler")))
        == trained
    )


def test_criterion_weight_is_a_rebalancing_setting():
    plan = _plan(criterion={"weight": [1.0, 2.0, 3.0]})
    assert plan.strategy_name == "as_set" and plan.reason.startswith(
        "criterion__weight re-balances"
    )


@pytest.mark.parametrize(
    "params, extra, note",
    [
        ({}, 20, None),
        ({"max_epochs": 9}, 0, "9 epochs, fewer than 10: no extension"),
        ({"extra_epochs": 0}, 0, "extra_epochs=0: no extension"),
        ({"extra_epochs": 4, "max_epochs": 6}, 4, None),
        ({"lr_schedule": "cosine"}, 0, "no extension: the fit has lr_schedule='cosine'"),
        ({"head_resampler": "sqrt"}, 0, "no extension: the fit sets head_resampler"),
    ],
)
def test_the_extension_rule_and_why_there_is_none(params, extra, note):
    plan = _plan(**params)
    assert plan.extra_epochs == extra
    about = [line for line in plan.notes if "extension" in line]
    assert about == [] if note is None else about[0].startswith(note)


def test_extra_epochs_that_cannot_apply_is_refused_while_planning():
    with pytest.raises(ValueError, match=r"extra_epochs=3 .* sample_weight or partial_fit"):
        _plan(TrainingFacts(TAIL, sample_weighted=True), extra_epochs=3)


def _history(epochs):
    history = History()
    for _ in range(epochs):
        history.new_epoch()
    return history


def test_the_decisions_are_taken_once_on_their_evidence_and_recorded():
    plan = _plan()
    history = _history(30)
    assert plan.mixes(20) and not plan.mixes(21) and plan.mixing_end == 20
    extension = plan.decide_extension(history, 30, 0.95)
    assert extension == Extension(30, 20, 0.95) and history[-1, "joint_train_score"] == 0.95
    assert plan.mixes(31) and plan.mixes(30 + deferred_epoch(20)) and not plan.mixes(44)
    assert plan.decide_stage(0.97) and plan.trained("head_resampler") == "sqrt"
    assert plan.strategy_name == "logit_adjusted+mixup+sqrt_head"
    # a resumed fit reads the decision back from the history, not scoring anew
    saved = _history(30)
    saved.record("joint_train_score", 0.95)
    for _ in range(5):
        saved.new_epoch()
    assert _plan().resume_extension(saved, 30) == Extension(30, 20, 0.95)
    assert _plan().resume_extension(_history(30), 30) is None  # not past the end: undecided
    kept = _plan()
    assert kept.decide_extension(_history(30), 30, AUTO_JOINT_MIN_SCORE) is None
    assert not kept.decide_stage(AUTO_JOINT_MIN_SCORE)
    assert kept.trained("head_resampler") is None and kept.trained("predict_logit_adjust") is None
    assert kept.strategy_name == "logit_adjusted+mixup"
