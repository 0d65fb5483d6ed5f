"""imbtorch.priors: the prior a strategy's scores assume, Bayes' rule, the held-out fit."""

import numpy as np
import pytest
from scipy.special import softmax

from imbtorch import BalancedImageClassifier
from imbtorch.priors import (
    fit_bias_temperature,
    probabilities_under,
    strategy_prior,
    target_prior,
    unknown_prior_reason,
)

COUNTS = np.array([80, 16, 4])
CODES = np.repeat(np.arange(3), COUNTS)
PI = COUNTS / COUNTS.sum()


def prior_of(sample_weight=None, loss_weights=(1.0, 1.0, 1.0), **params):
    settings = {**BalancedImageClassifier().get_params(deep=False), **params}
    assert unknown_prior_reason(settings, {}) is None
    return strategy_prior(
        settings,
        {},
        class_counts=COUNTS,
        class_weight=np.asarray(loss_weights),
        codes=CODES,
        sample_weight=sample_weight,
    )


def normalized(mass):
    mass = np.asarray(mass, dtype=float)
    return mass / mass.sum()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, PI),  # plain cross-entropy learns the data's prior
        ({"class_weight": "balanced", "class_weight_vector": 1 / COUNTS}, np.ones(3) / 3),
        ({"sampler": "weighted"}, np.ones(3) / 3),
        ({"sampler": "class_balanced"}, np.ones(3) / 3),
        ({"sampler": "sqrt"}, normalized(np.sqrt(COUNTS))),
        ({"loss": "logit_adjusted"}, np.ones(3) / 3),
        ({"loss": "logit_adjusted", "logit_adjust_tau": 0.5}, normalized(np.sqrt(COUNTS))),
        ({"loss": "balanced_softmax"}, np.ones(3) / 3),
        ({"predict_logit_adjust": 1.0}, np.ones(3) / 3),
        ({"head_resampler": "class_balanced", "sampler": "sqrt"}, np.ones(3) / 3),  # cRT
        # cRT balances the classifier, then post-hoc adjustment divides by the prior again
        ({"head_resampler": "class_balanced", "predict_logit_adjust": 1.0}, normalized(1 / PI)),
    ],
)
def test_strategy_prior_is_the_class_mass_training_sees(params, expected):
    loss_weights = params.pop("class_weight_vector", np.ones(3))
    np.testing.assert_allclose(prior_of(loss_weights=loss_weights, **params), expected)


def test_sample_weights_and_class_weights_multiply_the_mass():
    sample_weight = np.where(CODES == 2, 5.0, 1.0)  # the rare class counts five times
    expected = normalized([80 * 1.0, 16 * 2.0, 4 * 5.0])
    np.testing.assert_allclose(
        prior_of(sample_weight=sample_weight, loss_weights=[1.0, 2.0, 1.0]), expected
    )
    # a balancing sampler draws classes equally: only the weights remain
    expected = normalized([1.0, 2.0, 5.0])
    np.testing.assert_allclose(
        prior_of(sample_weight=sample_weight, loss_weights=[1.0, 2.0, 1.0], sampler="weighted"),
        expected,
    )


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"loss": "focal"}, "loss='focal'"),
        ({"ohem_ratio": 0.5}, "ohem_ratio=0.5"),
        ({"tau_normalize": 1.0}, "tau_normalize=1.0"),
        ({"sampler": "progressive"}, "sampler='progressive'"),
        ({"mixup": "mixup", "remix": True}, "remix=True"),
        ({"head_resampler": "class_balanced", "head_smoothing": (0.3, 0.0)}, "head_smoothing"),
        ({"loss": "ldam", "head_resampler": "class_balanced"}, "loss='ldam'"),
    ],
)
def test_settings_without_a_known_prior_are_named(params, reason):
    settings = {**BalancedImageClassifier().get_params(deep=False), **params}
    assert reason in unknown_prior_reason(settings, {})


def test_crt_replaces_the_first_stage_focal_loss():
    settings = {
        **BalancedImageClassifier().get_params(deep=False),
        "loss": "focal",
        "head_resampler": "class_balanced",
    }
    assert unknown_prior_reason(settings, {}) is None
    assert "label_smoothing=0.1" in unknown_prior_reason(
        {**settings, "head_resampler": None, "loss": "ce"}, {"label_smoothing": 0.1}
    )


def test_probabilities_under_apply_bayes_rule():
    rng = np.random.default_rng(0)
    log_likelihood = rng.normal(size=(50, 3))
    rho, q = np.array([0.2, 0.3, 0.5]), np.array([0.7, 0.2, 0.1])
    scores = log_likelihood + np.log(rho) + 4.0  # any constant per row
    expected = softmax(log_likelihood + np.log(q), axis=1)
    np.testing.assert_allclose(probabilities_under(scores, rho, q), expected, atol=1e-12)
    np.testing.assert_allclose(
        probabilities_under(2 * scores, rho, q, temperature=2.0), expected, atol=1e-12
    )


def test_target_prior_reads_names_arrays_and_dicts_and_names_bad_ones():
    classes = np.array(["a", "b", "c"])
    np.testing.assert_allclose(target_prior("train", classes, COUNTS), PI)
    np.testing.assert_allclose(target_prior("balanced", classes, COUNTS), np.ones(3) / 3)
    np.testing.assert_allclose(target_prior([2, 1, 1], classes, COUNTS), [0.5, 0.25, 0.25])
    np.testing.assert_allclose(
        target_prior({"c": 1, "a": 3, "b": 0.5}, classes, COUNTS), normalized([3, 0.5, 1])
    )
    with pytest.raises(ValueError, match=r"missing \['c'\], unknown \['z'\]"):
        target_prior({"a": 1, "b": 1, "z": 1}, classes, COUNTS)
    with pytest.raises(ValueError, match="3 positive finite frequencies"):
        target_prior([1, 0, 1], classes, COUNTS)
    with pytest.raises(ValueError, match="3 positive finite frequencies"):
        target_prior([1, 1], classes, COUNTS)


def draw_held_out(rng, n, rho, temperature, val_prior):
    """Held-out scores whose decision prior is ``rho`` at ``temperature``; labels ~ val_prior."""
    means = np.eye(3) * 3.0
    y = rng.choice(3, size=n, p=val_prior)
    features = means[y] + rng.normal(size=(n, 3))
    log_likelihood = features @ means.T - 0.5 * (means**2).sum(axis=1)  # Gaussian classes
    return temperature * (log_likelihood + np.log(rho)), y


def test_fit_bias_temperature_recovers_the_decision_prior_and_the_temperature():
    rng = np.random.default_rng(0)
    rho, val_prior = np.array([0.1, 0.3, 0.6]), np.array([0.5, 0.3, 0.2])
    scores, y = draw_held_out(rng, 20000, rho, temperature=2.5, val_prior=val_prior)
    prior, temperature = fit_bias_temperature(scores, y, 3)
    assert temperature == pytest.approx(2.5, rel=0.05)
    np.testing.assert_allclose(prior, rho, atol=0.03)
    # with the prior known, only the temperature is fitted
    prior, temperature = fit_bias_temperature(scores, y, 3, decision_prior=rho)
    np.testing.assert_allclose(prior, rho)
    assert temperature == pytest.approx(2.5, rel=0.05)


def test_fit_bias_temperature_needs_every_class_held_out_for_its_bias_only():
    scores = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"no sample of class codes \[2\].*stratified"):
        fit_bias_temperature(scores, np.array([0, 1, 0, 1]), 3)
    # with the prior known only the temperature is fitted: a class the split lacks leaves it
    rng = np.random.default_rng(0)
    rho = np.array([0.2, 0.3, 0.5])
    scores, y = draw_held_out(rng, 20000, rho, temperature=2.5, val_prior=np.array([0.5, 0.5, 0.0]))
    assert not np.any(y == 2)
    prior, temperature = fit_bias_temperature(scores, y, 3, decision_prior=rho)
    np.testing.assert_allclose(prior, rho)
    assert temperature == pytest.approx(2.5, rel=0.05)
