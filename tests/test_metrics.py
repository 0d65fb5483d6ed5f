import warnings

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, cross_validate

from imbtorch import BalancedImageClassifier
from imbtorch.evaluation.displays import RecallFrequencyDisplay, plot_confusion_matrix
from imbtorch.evaluation.metrics import (
    IMBALANCE_SCORING,
    balanced_accuracy,
    classification_report_imbalanced,
    f1_macro,
    g_mean,
    imbalance_scores,
    per_class_recall,
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


def test_an_error_toward_a_class_the_set_lacks_costs_what_any_error_costs():
    """A validation split or fold of long-tailed data often lacks the rarest class;
    scikit-learn's macro-F1 and imblearn's G-mean then punish one prediction of it
    as if a whole class were lost."""
    y_true = np.repeat(["a", "b", "c"], 5)
    toward_present, toward_absent = y_true.copy(), y_true.copy()
    toward_present[0], toward_absent[0] = "b", "rare"
    # the library scores: a cliff of 21 points, and a G-mean of 0
    assert f1_score(y_true, toward_present, average="macro") == pytest.approx(0.933, abs=1e-3)
    assert f1_score(y_true, toward_absent, average="macro") == pytest.approx(0.722, abs=1e-3)
    assert geometric_mean_score(y_true, toward_absent) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor sklearn's "y_pred contains classes not in y_true"
        assert g_mean(y_true, toward_absent) == g_mean(y_true, toward_present) > 0.9
        assert balanced_accuracy(y_true, toward_absent) == pytest.approx(14 / 15)
        assert balanced_accuracy(y_true, toward_present) == pytest.approx(14 / 15)
        # no precision lost to a class scored 0: the error costs a's recall only
        assert f1_macro(y_true, toward_absent) == pytest.approx((2 * 4 / 9 + 2) / 3)
    # where y_true holds every predicted class, the library's values
    assert f1_macro(y_true, toward_present) == f1_score(y_true, toward_present, average="macro")
    assert g_mean(y_true, toward_present) == geometric_mean_score(y_true, toward_present)
    assert balanced_accuracy(Y_TRUE, Y_PRED) == balanced_accuracy_score(Y_TRUE, Y_PRED)


def test_cross_validated_scores_of_folds_without_the_rarest_classes(lt_digits):
    """Five folds of long-tailed digits (the rarest classes have 2 and 3 images): where a
    fold lacks a class the model predicts, the library's scores fall and these do not."""
    X_train, _, y_train, _ = lt_digits
    library = {"f1_library": "f1_macro", "g_mean_library": make_scorer(geometric_mean_score)}
    model = LogisticRegression(max_iter=200, class_weight="balanced")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # StratifiedKFold: too few of a class
        scores = cross_validate(
            model,
            X_train.reshape(len(X_train), -1),
            y_train,
            cv=5,
            scoring={**IMBALANCE_SCORING, **library},
        )
    for ours, theirs in [("f1_macro", "f1_library"), ("g_mean", "g_mean_library")]:
        ours, theirs = scores[f"test_{ours}"], scores[f"test_{theirs}"]
        assert np.all(ours >= theirs - 1e-12) and np.any(ours > theirs + 0.05)


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
