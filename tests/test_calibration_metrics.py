"""Shot groups, expected calibration error, the reliability diagram and their scorers."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from imbtorch import compare_strategies
from imbtorch.evaluation import (
    CALIBRATION_SCORING,
    ReliabilityDisplay,
    expected_calibration_error,
    imbalance_scores,
    reliability_curve,
    shot_groups,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def test_shot_groups_follow_the_papers_bounds():
    groups = shot_groups([500, 101, 100, 20, 19, 1])
    assert groups.tolist() == ["many", "many", "medium", "medium", "few", "few"]
    assert shot_groups([50, 10], thresholds=(40, 11)).tolist() == ["many", "few"]
    with pytest.raises(ValueError, match="few <= many"):
        shot_groups([5], thresholds=(10, 20))


def test_shot_scores_average_the_recall_of_each_group_and_nan_an_empty_one():
    # a: 200 training images (many), b: 50 and c: 30 (medium), d: 5 (few)
    y_true = np.array(list("aaaa" + "bbbb" + "cc" + "dddd"))
    y_pred = np.array(list("aaab" + "bbaa" + "cc" + "daaa"))
    counts = {"a": 200, "b": 50, "c": 30, "d": 5}
    scores = imbalance_scores(y_true, y_pred, class_counts=counts)
    assert scores["many_shot"] == pytest.approx(3 / 4)
    assert scores["medium_shot"] == pytest.approx((2 / 4 + 2 / 2) / 2)
    assert scores["few_shot"] == pytest.approx(1 / 4)
    # counts in label order; no class over 300: the many-shot group is empty
    scores = imbalance_scores(
        y_true, y_pred, class_counts=[200, 50, 30, 5], shot_thresholds=(300, 20)
    )
    assert np.isnan(scores["many_shot"])
    assert scores["medium_shot"] == pytest.approx((3 / 4 + 2 / 4 + 1) / 3)
    with pytest.raises(ValueError, match="4 classes"):
        imbalance_scores(y_true, y_pred, class_counts=[200, 50])


def test_top_label_ece_against_a_hand_computation():
    y_true = np.array([0, 0, 1, 1])
    y_proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2]])
    # two bins: [0.5, 1.0) holds all four top probabilities at n_bins=2
    # confidences 0.9, 0.6, 0.7, 0.8 (mean 0.75); hits 1, 1, 1, 0 (mean 0.75): ECE 0
    assert expected_calibration_error(y_true, y_proba, n_bins=2) == pytest.approx(0.0)
    # ten bins: 0.9 -> bin 9 (hit), 0.6 -> 6 (hit), 0.7 -> 7 (hit), 0.8 -> 8 (miss)
    expected = (0.1 + 0.4 + 0.3 + 0.8) / 4
    assert expected_calibration_error(y_true, y_proba, n_bins=10) == pytest.approx(expected)
    accuracy, confidence, counts = reliability_curve(y_true, y_proba, n_bins=10)
    assert counts.tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert accuracy[8] == 0.0 and confidence[8] == pytest.approx(0.8)


def test_classwise_ece_sees_a_rare_class_the_top_label_hides():
    # class 2 is never the top label but gets 0.3 where it never occurs
    y_true = np.array([0, 1] * 50)
    y_proba = np.tile([[0.7, 0.0, 0.3], [0.0, 0.7, 0.3]], (50, 1))
    assert expected_calibration_error(y_true, y_proba, labels=[0, 1, 2]) == pytest.approx(0.3)
    classwise = expected_calibration_error(y_true, y_proba, labels=[0, 1, 2], kind="classwise")
    # class 0: bins 0.0 (half the samples, right) and 0.7 (half, 1.0 true): 0.15; same for 1;
    # class 2: every sample at 0.3, never true: 0.3
    assert classwise == pytest.approx((0.15 + 0.15 + 0.3) / 3)
    with pytest.raises(ValueError, match="labels=estimator.classes_"):
        expected_calibration_error(y_true, y_proba)  # y_true lacks class 2
    with pytest.raises(ValueError, match="kind must be"):
        expected_calibration_error(y_true, y_proba, labels=[0, 1, 2], kind="top")


def flatten(X):
    return X.reshape(len(X), -1)


def test_calibration_scorers_use_the_estimators_classes(small_images):
    X, y = small_images
    model = make_pipeline(FunctionTransformer(flatten), LogisticRegression(max_iter=200))
    results = cross_validate(model, X, y, cv=3, scoring=CALIBRATION_SCORING)
    assert np.all(results["test_neg_ece"] <= 0) and np.all(results["test_neg_brier_score"] <= 0)
    model.fit(X, y)
    proba = model.predict_proba(X)
    expected = np.mean(np.sum((proba - np.eye(3)[y]) ** 2, axis=1))
    assert CALIBRATION_SCORING["neg_brier_score"](model, X, y) == pytest.approx(-expected)


def test_reliability_display_draws_bins_and_names_the_ece(small_images):
    X, y = small_images
    model = make_pipeline(FunctionTransformer(flatten), LogisticRegression(max_iter=200))
    model.fit(X, y)
    display = ReliabilityDisplay.from_estimator(model, X, y, n_bins=5)
    assert display.ece == pytest.approx(
        expected_calibration_error(y, model.predict_proba(X), n_bins=5)
    )
    labels = display.ax_.get_legend_handles_labels()[1]
    assert any(f"ECE {display.ece:.3f}" in label and "Pipeline" in label for label in labels)
    assert display.counts.sum() == len(y)


def test_compare_strategies_adds_shot_and_calibration_columns(small_images):
    X, y = small_images
    keep = np.concatenate([np.arange(20), np.arange(20, 32), np.arange(40, 46)])  # 20, 12, 6
    X, y = X[keep], y[keep]
    model = make_pipeline(FunctionTransformer(flatten), LogisticRegression(max_iter=200))
    table = compare_strategies(
        X,
        y,
        {"logistic": model},
        cv=2,
        extra_scores=("shots", "calibration"),
        shot_thresholds=(8, 4),  # training folds hold 10, 6 and 3 images per class
    )
    row = table.loc["logistic"]
    for score in ("many_shot", "medium_shot", "few_shot", "neg_ece", "neg_brier_score"):
        assert f"{score}_mean" in table and f"{score}_std" in table
    assert row["neg_ece_mean"] <= 0
    raw = table.attrs["cv_results"]["logistic"]
    assert not np.isnan(row["few_shot_mean"])  # from the folds' counts: class 2 has 3 images
    assert row["few_shot_mean"] == pytest.approx(raw["test_few_shot"].mean())
    with pytest.raises(ValueError, match="'shots' and 'calibration'"):
        compare_strategies(X, y, {"logistic": model}, cv=2, extra_scores="shots")


def test_sample_weights_count_as_repeated_samples():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, size=40)
    y_proba = rng.dirichlet(np.ones(3), size=40)
    weight = rng.integers(1, 4, size=40)
    repeated = np.repeat(np.arange(40), weight)
    for kind in ("top_label", "classwise"):
        weighted = expected_calibration_error(
            y_true, y_proba, labels=[0, 1, 2], kind=kind, sample_weight=weight
        )
        expected = expected_calibration_error(
            y_true[repeated], y_proba[repeated], labels=[0, 1, 2], kind=kind
        )
        assert weighted == pytest.approx(expected)
