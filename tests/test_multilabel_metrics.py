"""Per-label scores, mean average precision and the multi-label strategy comparison."""

import numpy as np
import pytest
from _images import multilabel_images
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import average_precision_score, f1_score, make_scorer

from imbtorch import BalancedImageClassifier, compare_strategies
from imbtorch.evaluation import (
    RecallFrequencyDisplay,
    label_scores,
    multilabel_scores,
    multilabel_shot_scorers,
    tail_label_columns,
)
from imbtorch.evaluation.multilabel import MULTILABEL_SCORING, labels_f1_macro, map_macro

Y_TRUE = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
Y_SCORE = np.array(
    [[0.9, 0.2, 0.1], [0.6, 0.4, 0.3], [0.2, 0.7, 0.2], [0.4, 0.1, 0.05], [0.3, 0.8, 0.6]]
)


def test_mean_average_precision_by_hand():
    scores = multilabel_scores(Y_TRUE, Y_SCORE, tail_labels=[2], label_counts=[300, 40, 5])
    # label 0: positives ranked 1, 2, 3 -> AP 1; label 1: positives ranked 1 and 3 -> (1 + 2/3) / 2
    # label 2: its positive ranked 3rd (0.2 after 0.6 and 0.3) -> 1/3
    ap = np.array([1.0, (1 + 2 / 3) / 2, 1 / 3])
    assert scores["map_macro"] == pytest.approx(ap.mean())
    assert scores["map_micro"] == pytest.approx(
        average_precision_score(Y_TRUE.ravel(), Y_SCORE.ravel())
    )
    assert scores["tail_map"] == pytest.approx(1 / 3)
    assert scores["many_shot_map"] == pytest.approx(1.0)
    assert scores["medium_shot_map"] == pytest.approx(ap[1])
    assert scores["few_shot_map"] == pytest.approx(1 / 3)
    # at 0.5: label 0 finds 2 of 3, no false positive -> F1 0.8; label 1: 1 of 2 and
    # one false positive -> 0.5; label 2: none found, one false positive -> 0
    assert scores["f1_macro"] == pytest.approx((0.8 + 0.5 + 0.0) / 3)


class _Scores(ClassifierMixin, BaseEstimator):
    """A fitted multi-label classifier whose probabilities are its input."""

    def __init__(self, y_score):
        self.y_score = y_score
        self.classes_ = np.arange(y_score.shape[1])

    def predict_proba(self, X):
        return X


def test_macro_scores_leave_out_a_label_no_sample_carries():
    """A validation split or fold may hold no positive of a rare label: it has no AP and
    no recall, where scikit-learn's macro averages count it as 0."""
    y_true, y_score = Y_TRUE[[0, 1, 3, 4]], Y_SCORE[[0, 1, 3, 4]]  # label 2 carried by none
    y_pred = (y_score >= 0.5).astype(int)
    ap = [1.0, 1.0]  # label 0: positives ranked 1-3 of 4; label 1: 2 positives ranked 1-2
    assert map_macro(y_true, y_score) == pytest.approx(np.mean(ap))
    with pytest.warns(UserWarning, match="No positive class found"):
        assert average_precision_score(y_true, y_score) == pytest.approx(np.mean([*ap, 0.0]))
    f1 = f1_score(y_true, y_pred, average=None, zero_division=0.0)
    assert labels_f1_macro(y_true, y_pred) == pytest.approx(f1[:2].mean()) != f1.mean()
    scores = multilabel_scores(y_true, y_score)
    assert (scores["map_macro"], scores["f1_macro"]) == (
        map_macro(y_true, y_score),
        labels_f1_macro(y_true, y_pred),
    )
    scorer = MULTILABEL_SCORING["map_macro"]
    assert scorer(_Scores(y_score), y_score, y_true) == map_macro(y_true, y_score)
    # two labels: every column scored, where make_scorer would pass on one
    two_true, two_score = Y_TRUE[:, :2], Y_SCORE[:, :2]
    two = _Scores(two_score)
    assert scorer(two, two_score, two_true) == map_macro(two_true, two_score)
    shots = multilabel_shot_scorers([300, 5])
    assert shots["few_shot_map"](two, two_score, two_true) == pytest.approx(
        average_precision_score(two_true[:, 1], two_score[:, 1])
    )
    with pytest.raises(IndexError):  # what the fix avoids
        make_scorer(map_macro, response_method="predict_proba")(two, two_score, two_true)


def test_label_table_orders_by_training_count_and_leaves_absent_labels_undefined():
    y_true = np.column_stack([Y_TRUE, np.zeros(5, dtype=int)])
    y_score = np.column_stack([Y_SCORE, np.full(5, 0.2)])
    table = label_scores(
        y_true, y_score, label_counts=[300, 40, 5, 2], label_names=["a", "b", "c", "d"]
    )
    assert list(table.index) == ["a", "b", "c", "d"]
    assert list(table["shot"]) == ["many", "medium", "few", "few"]
    assert list(table["support"]) == [3, 2, 1, 0]
    assert np.isnan(table.loc["d", "average_precision"]) and np.isnan(table.loc["d", "recall"])
    assert table.loc["b", "recall"] == 0.5
    # the absent label stays out of the mean
    assert multilabel_scores(y_true, y_score)["map_macro"] == pytest.approx(
        multilabel_scores(Y_TRUE, Y_SCORE)["map_macro"]
    )
    with pytest.raises(ValueError, match=r"tail_labels \[3\] are carried by no sample"):
        multilabel_scores(y_true, y_score, tail_labels=[3])


def test_tail_label_columns_are_the_rarest():
    y = np.array([[1, 1, 0, 1], [1, 0, 0, 1], [1, 0, 1, 0]])
    np.testing.assert_array_equal(tail_label_columns(y, fraction=0.5), [1, 2])


def test_recall_against_label_frequency_plot():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    display = RecallFrequencyDisplay.from_predictions(
        Y_TRUE, (Y_SCORE >= 0.5).astype(int), class_counts=[300, 40, 5]
    )
    np.testing.assert_allclose(display.recall, [2 / 3, 0.5, 0.0])
    np.testing.assert_array_equal(display.labels, [0, 1, 2])


def test_compare_strategies_on_a_multilabel_y_ranks_by_mean_average_precision():
    pytest.importorskip("pandas")
    X, Y = multilabel_images(120, seed=2)
    estimator = BalancedImageClassifier(module__width=8, max_epochs=2, random_state=0)
    table = compare_strategies(
        X, Y, ["ce", "asl"], estimator=estimator, cv=2, extra_scores=["shots"]
    )
    assert list(table.columns[:2]) == ["map_macro_mean", "map_macro_std"]
    assert {"tail_map_mean", "few_shot_map_mean", "f1_macro_mean"} <= set(table.columns)
    assert np.all(table["map_macro_mean"].between(0, 1))
    with pytest.raises(ValueError, match="calibration"):
        compare_strategies(X, Y, ["ce"], estimator=estimator, extra_scores=["calibration"])


def test_report_of_a_multilabel_classifier(tmp_path):
    """Any multi-label classifier with predict_proba: here k-NN, whose probabilities are a
    list of per-label arrays."""
    pytest.importorskip("matplotlib")
    from sklearn.neighbors import KNeighborsClassifier

    from imbtorch import report

    X, Y = multilabel_images(200, seed=3)
    flat = X.reshape(len(X), -1)
    knn = KNeighborsClassifier(5).fit(flat[:150], Y[:150])
    names = ["bright", "middle", "rare"]
    rep = report(knn, flat[150:], Y[150:], class_counts=Y[:150].sum(axis=0), label_names=names)
    assert list(rep.per_class.index) == names  # most frequent first
    expected = multilabel_scores(
        Y[150:],
        np.column_stack([p[:, 1] for p in knn.predict_proba(flat[150:])]),
        y_pred=knn.predict(flat[150:]),
        label_counts=Y[:150].sum(axis=0),
    )
    assert rep.scores == pytest.approx(expected, nan_ok=True)
    assert "50 samples, 3 labels" in str(rep) and "per-label table" in rep._repr_html_()
    rep.savefig(tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="trained on 3"):
        report(knn, flat[150:], np.column_stack([Y[150:], Y[150:, :1]]), class_counts=[1] * 4)
