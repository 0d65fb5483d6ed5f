"""proba_prior: probabilities under a stated prior; scikit-learn's calibration around the model."""

import copy

import numpy as np
import pytest
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss
from skorch.dataset import ValidSplit
from torch.utils.data import Subset

from imbtorch import BalancedImageClassifier
from imbtorch.evaluation.calibration import expected_calibration_error


@pytest.fixture(scope="module")
def natural_split(lt_digits):
    """The balanced test set of ``lt_digits`` cut in two halves drawn at the training prior.

    (X_cal, y_cal, X_eval, y_eval): images as a deployment on the training
    distribution sees them, for calibrating and for scoring.
    """
    _, X_test, y_train, y_test = lt_digits
    counts = np.bincount(y_train)
    rng = np.random.default_rng(0)
    halves = ([], [])
    for label, count in enumerate(counts):
        rows = rng.permutation(np.flatnonzero(y_test == label))
        n = max(1, round(25 * count / counts.max()))
        halves[0].append(rows[:n])
        halves[1].append(rows[25 : 25 + n])
    cal, evaluation = (np.concatenate(half) for half in halves)
    return X_test[cal], y_test[cal], X_test[evaluation], y_test[evaluation]


@pytest.fixture(scope="module")
def balanced_weights_model(lt_digits):
    X_train, _, y_train, _ = lt_digits
    return BalancedImageClassifier(  # at lr 1e-3, the rate the halving was measured at
        class_weight="balanced", max_epochs=15, lr=1e-3, random_state=0
    ).fit(X_train, y_train)


def test_training_prior_halves_the_calibration_error_of_a_reweighted_model(
    balanced_weights_model, natural_split
):
    _, _, X_eval, y_eval = natural_split
    clf = copy.deepcopy(balanced_weights_model)
    assert clf.decision_prior_source_ == "strategy"
    np.testing.assert_allclose(clf.decision_prior_, np.full(10, 0.1))
    balanced = clf.predict_proba(X_eval)
    np.testing.assert_array_equal(clf.classes_[balanced.argmax(axis=1)], clf.predict(X_eval))
    decisions = clf.predict(X_eval)
    natural = clf.set_params(proba_prior="train").predict_proba(X_eval)
    np.testing.assert_allclose(natural.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_eval), decisions)  # predict stays balanced
    before = expected_calibration_error(y_eval, balanced)
    after = expected_calibration_error(y_eval, natural)
    assert after <= before / 2, (before, after)
    assert log_loss(y_eval, natural, labels=clf.classes_) < log_loss(
        y_eval, balanced, labels=clf.classes_
    )
    # a deployment prior as a dict of labels: Bayes' rule from the balanced scores
    prior = {label: 2.0 if label == 9 else 1.0 for label in clf.classes_}
    shifted = clf.set_params(proba_prior=prior).predict_proba(X_eval)
    expected = balanced * np.where(clf.classes_ == 9, 2.0, 1.0)
    np.testing.assert_allclose(shifted, expected / expected.sum(axis=1, keepdims=True))
    clf.set_params(proba_prior="balanced")
    np.testing.assert_allclose(clf.predict_proba(X_eval), balanced)


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_a_decision_shift_set_after_fit_moves_decisions_not_probabilities(
    balanced_weights_model, natural_split, temperature
):
    """``predict_logit_adjust`` set after fit shifts the scores ``predict`` decides by; the
    prior those scores assume moves with them, so ``predict_proba`` under a stated prior does
    not change (with a fitted temperature, as with none)."""
    _, _, X_eval, _ = natural_split
    clf = copy.deepcopy(balanced_weights_model).set_params(proba_prior="train")
    clf.proba_temperature_ = temperature  # as fit sets it on a validation split
    natural, decisions = clf.predict_proba(X_eval), clf.predict(X_eval)
    clf.set_params(predict_logit_adjust=-1.0)  # towards the head: the training prior's decisions
    np.testing.assert_allclose(clf.predict_proba(X_eval), natural, atol=1e-10)
    moved = clf.predict(X_eval)
    assert (moved != decisions).sum() >= 3
    head = clf.classes_[np.argmax(clf.class_counts_)]
    assert (moved == head).sum() > (decisions == head).sum()
    if temperature == 1.0:  # logits + log p_train: the Bayes decision under p_train
        np.testing.assert_array_equal(moved, clf.classes_[natural.argmax(axis=1)])


def test_settings_without_a_known_prior_need_a_validation_split(lt_digits, natural_split):
    X_train, _, y_train, _ = lt_digits
    focal = BalancedImageClassifier(loss="focal", proba_prior="train", max_epochs=12)
    with pytest.raises(ValueError, match=r"loss='focal' leaves unknown.*train_split=ValidSplit"):
        focal.fit(X_train, y_train)
    split = ValidSplit(4, stratified=True)
    focal.set_params(train_split=split, random_state=0, proba_prior=None)
    focal.fit(X_train, y_train)  # a split: the prior is fitted there, proba_prior set or not
    assert focal.decision_prior_source_ == "held_out"
    assert focal.decision_prior_.shape == (10,) and focal.proba_temperature_ > 0
    _, _, X_eval, y_eval = natural_split
    natural = focal.set_params(proba_prior="train").predict_proba(X_eval)
    np.testing.assert_allclose(natural.sum(axis=1), 1.0)
    scores = focal.set_params(proba_prior=None).predict_proba(X_eval)
    assert expected_calibration_error(y_eval, natural) < expected_calibration_error(y_eval, scores)
    with pytest.raises(ValueError, match="predict_nonlinearity=.* replaces that softmax"):
        focal.set_params(proba_prior="train", predict_nonlinearity=None).predict_proba(X_eval)
    focal.set_params(proba_prior=None, predict_nonlinearity="auto")
    # refitted without the split, the unknown prior is refused at prediction too
    plain = focal.set_params(train_split=None, max_epochs=1).fit(X_train, y_train)
    with pytest.raises(ValueError, match="loss='focal' leaves unknown"):
        plain.set_params(proba_prior="train").predict_proba(X_eval)


def test_a_validation_split_fits_the_temperature_that_predict_proba_applies(
    lt_digits, natural_split
):
    """With a split and proba_prior=None, predict_proba is the softmax of the scores predict
    decides by, divided by the temperature fitted on the split; predict does not move, and
    a multi-label fit keeps temperature 1 (no class prior, no softmax)."""
    X_train, _, y_train, _ = lt_digits
    split = ValidSplit(4, stratified=True)
    clf = BalancedImageClassifier(train_split=split, max_epochs=12, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.proba_prior is None and clf.proba_temperature_ not in (0.0, 1.0)
    X_eval = natural_split[2]
    untempered = copy.deepcopy(clf)
    untempered.proba_temperature_ = 1.0
    proba, raw = clf.predict_proba(X_eval), untempered.predict_proba(X_eval)
    expected = np.exp(np.log(raw) / clf.proba_temperature_)
    np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X_eval), untempered.predict(X_eval))
    np.testing.assert_array_equal(clf.predict(X_eval), clf.classes_[proba.argmax(axis=1)])
    labels = np.column_stack([y_train % 2, y_train < 5, y_train % 3 == 0]).astype(int)
    multilabel = BalancedImageClassifier(
        train_split=ValidSplit(4, stratified=False), max_epochs=2, random_state=0
    ).fit(X_train, labels)
    assert multilabel.proba_temperature_ == 1.0


def test_a_split_without_a_class_fits_a_known_priors_temperature_only(small_images):
    """The default's prior is known: its temperature is fitted on a split that lacks class 2.
    Focal's is not, and no bias can be fitted for class 2: with proba_prior=None the fit
    fits nothing (nothing asked for it); asked for, it says why it cannot."""
    X, y = small_images
    valid = np.r_[0:5, 20:25]  # no image of class 2

    def split(dataset, y=None):
        train = np.setdiff1d(np.arange(len(dataset)), valid)
        return Subset(dataset, train), Subset(dataset, valid)

    params = {"train_split": split, "max_epochs": 4, "module__width": 8, "random_state": 0}
    default = BalancedImageClassifier(**params).fit(X, y)
    assert default.proba_temperature_ not in (0.0, 1.0) and np.isfinite(default.proba_temperature_)
    focal = BalancedImageClassifier(loss="focal", **params).fit(X, y)
    assert focal.proba_temperature_ == 1.0 and focal.decision_prior_ is None
    with pytest.raises(ValueError, match=r"no sample of class codes \[2\]"):
        focal.set_params(proba_prior="train").fit(X, y)


TEMPERATURE = pytest.param(
    "temperature",
    marks=pytest.mark.skipif(
        tuple(int(part) for part in sklearn.__version__.split(".")[:2]) < (1, 8),
        reason="CalibratedClassifierCV(method='temperature') needs scikit-learn 1.8",
    ),
)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", TEMPERATURE])
def test_calibrated_classifier_cv_around_a_fitted_model(
    balanced_weights_model, natural_split, method
):
    X_cal, y_cal, X_eval, _ = natural_split
    calibrated = CalibratedClassifierCV(FrozenEstimator(balanced_weights_model), method=method)
    calibrated.fit(X_cal, y_cal)
    np.testing.assert_array_equal(calibrated.classes_, balanced_weights_model.classes_)
    proba = calibrated.predict_proba(X_eval)
    assert proba.shape == (len(X_eval), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    if method == "temperature":  # one parameter fitted by likelihood: never worse in-sample
        raw = balanced_weights_model.predict_proba(X_cal)
        fitted = calibrated.predict_proba(X_cal)
        assert log_loss(y_cal, fitted, labels=np.arange(10)) <= log_loss(
            y_cal, raw, labels=np.arange(10)
        )


def test_calibrated_classifier_cv_fits_clones_on_folds(small_images):
    X, y = small_images
    base = BalancedImageClassifier(max_epochs=2, batch_size=16, random_state=0)
    calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=2).fit(X, y)
    assert len(calibrated.calibrated_classifiers_) == 2
    np.testing.assert_allclose(calibrated.predict_proba(X).sum(axis=1), 1.0)
