import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from imbtorch import BalancedImageClassifier
from imbtorch.evaluation.metrics import (
    IMBALANCE_SCORING,
    RecallFrequencyDisplay,
    classification_report_imbalanced,
    imbalance_scores,
    per_class_recall,
    plot_confusion_matrix,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

# 8 head samples all right; 2 tail samples, one right: a model that looks good on accuracy.
Y_TRUE = np.array(["head"] * 8 + ["tail"] * 2)
Y_PRED = np.array(["head"] * 8 + ["tail", "head"])


def test_per_class_recall_orders_by_labels():
    assert per_class_recall(Y_TRUE, Y_PRED).tolist() == [1.0, 0.5]
    assert per_class_recall(Y_TRUE, Y_PRED, labels=["tail", "head"]).tolist() == [0.5, 1.0]


def test_imbalance_scores_see_the_tail_that_accuracy_hides():
    scores = imbalance_scores(Y_TRUE, Y_PRED, tail_labels=["tail"])
    assert scores["balanced_accuracy"] == pytest.approx(0.75)
    assert scores["g_mean"] == pytest.approx(np.sqrt(0.5))
    # F1: head 2*8/(2*8+1) , tail 2*1/(2*1+1)
    assert scores["f1_macro"] == pytest.approx((16 / 17 + 2 / 3) / 2)
    assert scores["tail_recall"] == pytest.approx(0.5)
    assert set(imbalance_scores(Y_TRUE, Y_PRED)) == {"balanced_accuracy", "f1_macro", "g_mean"}


def test_imbalance_scores_reject_tail_labels_absent_from_y_true():
    with pytest.raises(ValueError, match=r"tail_labels \['rare'\] do not occur"):
        imbalance_scores(Y_TRUE, Y_PRED, tail_labels=["rare"])


def test_scoring_dict_works_in_grid_search(lt_digits):
    X_train, _, y_train, _ = lt_digits
    search = GridSearchCV(
        LogisticRegression(max_iter=200),
        {"class_weight": [None, "balanced"]},
        scoring=IMBALANCE_SCORING,
        refit="g_mean",
        cv=2,
    ).fit(X_train.reshape(len(X_train), -1), y_train)
    for name in IMBALANCE_SCORING:
        assert f"mean_test_{name}" in search.cv_results_
    best = search.best_index_
    assert (
        search.cv_results_["mean_test_g_mean"][best] == search.cv_results_["mean_test_g_mean"].max()
    )


def test_classification_report_imbalanced_is_imblearns():
    report = classification_report_imbalanced(Y_TRUE, Y_PRED)
    assert "geo" in report and "tail" in report


def test_confusion_matrix_rows_are_normalised():
    display = plot_confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(display.confusion_matrix, [[1.0, 0.0], [0.5, 0.5]])
    counts = plot_confusion_matrix(Y_TRUE, Y_PRED, normalize=None)
    np.testing.assert_array_equal(counts.confusion_matrix, [[8, 0], [1, 1]])


def test_recall_frequency_display_orders_bars_by_training_count():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 0, 0, 0])
    display = RecallFrequencyDisplay.from_predictions(
        y_true, y_pred, class_counts={0: 5, 1: 50, 2: 500}
    )
    heights = [bar.get_height() for bar in display.ax_.patches]
    assert heights == [0.0, 0.5, 1.0]  # class 2 (500 samples) first, class 0 last
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["2", "1", "0"]
    assert display.count_ax_.get_yscale() == "log"
    with pytest.raises(ValueError, match="one count per class"):
        RecallFrequencyDisplay.from_predictions(y_true, y_pred, class_counts=[5, 50])
    with pytest.raises(ValueError, match=r"no count for labels \[2\]"):
        RecallFrequencyDisplay.from_predictions(y_true, y_pred, class_counts={0: 5, 1: 50})


def test_recall_frequency_display_from_estimator(small_images):
    X, y = small_images
    labels = np.array(["a", "b", "c"])[y]
    keep = np.r_[0:20, 20:30, 40:44]  # 20 / 10 / 4 samples
    clf = BalancedImageClassifier(max_epochs=3, random_state=0).fit(X[keep], labels[keep])
    display = RecallFrequencyDisplay.from_estimator(clf, X, labels)
    np.testing.assert_array_equal(display.class_counts, [20, 10, 4])
    np.testing.assert_array_equal(display.labels, ["a", "b", "c"])
    np.testing.assert_allclose(display.recall, per_class_recall(labels, clf.predict(X)))
    matplotlib.pyplot.close("all")
