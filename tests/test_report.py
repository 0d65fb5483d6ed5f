"""imbtorch.report: per-class table, headline scores, text, HTML and the saved figure."""

import html

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from imbtorch import BalancedImageClassifier, report
from imbtorch.evaluation import expected_calibration_error, imbalance_scores, training_summary
from imbtorch.training import Extension
from imbtorch.training.monitors import EarlyStoppingAfter

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("pandas")


def flatten(X):
    return X.reshape(len(X), -1)


@pytest.fixture(scope="module")
def fitted(lt_digits):
    X_train, X_test, y_train, y_test = lt_digits
    clf = BalancedImageClassifier(max_epochs=8, random_state=0).fit(X_train, y_train)
    return clf, X_test, y_test


def test_report_of_a_balanced_image_classifier(fitted, tmp_path):
    clf, X_test, y_test = fitted
    rep = report(clf, X_test, y_test)
    table = rep.per_class
    assert list(table.columns) == ["train_count", "shot", "support", "recall", "precision", "f1"]
    assert table["train_count"].is_monotonic_decreasing  # most frequent first
    np.testing.assert_array_equal(table.loc[clf.classes_, "train_count"], clf.class_counts_)
    y_pred = clf.predict(X_test)
    expected = imbalance_scores(y_test, y_pred, class_counts=clf.class_counts_, labels=clf.classes_)
    for name, value in expected.items():
        assert rep.scores[name] == pytest.approx(value, nan_ok=True)
    proba = clf.predict_proba(X_test)
    assert rep.scores["ece"] == pytest.approx(expected_calibration_error(y_test, proba))
    assert set(table["shot"]) <= {"many", "medium", "few"}
    text = str(rep)
    assert "balanced_accuracy" in text and "few_shot" in text and "train_count" in text
    # how it was trained, under the title: what 'auto' chose, from the fitted attributes
    assert rep.training.startswith(f"Trained: strategy_={clf.strategy_!r}; 8 epochs; ")
    assert text.splitlines()[1] == rep.training
    page = rep._repr_html_()
    assert "<table" in page and 'src="data:image/png;base64,' in page
    assert f"<p>{html.escape(rep.training)}</p>" in page
    rep.savefig(tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(rep.figure_.axes) >= 3  # confusion, recall by frequency (+ count axis), reliability


def test_report_of_any_classifier_with_the_training_counts_given(small_images):
    X, y = small_images
    labels = np.array(["bright", "dark", "striped"])[y]
    model = make_pipeline(FunctionTransformer(flatten), LogisticRegression(max_iter=200))
    model.fit(X, labels)
    with pytest.raises(ValueError, match="pass class_counts="):
        report(model, X, labels)
    with pytest.raises(ValueError, match=r"labels \['purple'\] that Pipeline was not trained"):
        report(model, X[:2], ["bright", "purple"], class_counts=[1, 1, 1])
    rep = report(model, X, labels, class_counts={"bright": 300, "dark": 50, "striped": 5})
    assert rep.training is None and "Trained" not in str(rep)  # nothing of an imbtorch fit
    assert rep.per_class.index.tolist() == ["bright", "dark", "striped"]
    assert rep.per_class["shot"].tolist() == ["many", "medium", "few"]
    # without predict_proba: no calibration scores, two panels
    svc = make_pipeline(FunctionTransformer(flatten), LinearSVC()).fit(X, labels)
    rep = report(svc, X, labels, class_counts=[20, 20, 20])
    assert "ece" not in rep.scores and np.isnan(rep.scores["many_shot"])
    assert len(rep.plot().figure_.axes) == 3  # confusion, recall (+ its count axis)


def _stopped(**fitted):
    """Early stopping as a fit with a validation split leaves it."""
    stopping = EarlyStoppingAfter(monitor="valid_f1", lower_is_better=False, load_best=True)
    vars(stopping).update(fitted)
    return stopping


@pytest.mark.parametrize(
    "fit, expected",
    [
        (
            {"strategy_": "logit_adjusted+mixup", "joint_train_score_": 0.998},
            "Trained: strategy_='logit_adjusted+mixup'; 30 epochs; the classifier trained with the "
            "network kept: it scored 0.998 balanced accuracy on its training images, 0.99 or more.",
        ),
        (
            {
                "strategy_": "logit_adjusted+mixup+sqrt_head",
                "extension_": Extension(30, 20, 0.9412),
                "ema_epochs_": 3.0,
                "joint_train_score_": 0.97,
                "head_resampler_": "sqrt",
                "predict_logit_adjust_": 0.5,
            },
            "Trained: strategy_='logit_adjusted+mixup+sqrt_head'; 50 epochs (30 + 20 added: the "
            "classifier trained with the network scored 0.941 balanced accuracy on its training "
            "images, under 0.99); weights averaged along training (time constant 3 epochs); "
            "classifier re-trained on 'sqrt'-resampled features; predicts with the logits less "
            "0.5 x log prior.",
        ),
        (
            {
                "strategy_": "logit_adjusted+mixup",
                "extension_": Extension(30, 20, 0.9412),
                "callbacks_": [("early_stopping", _stopped(best_epoch_=27))],
                "joint_train_score_": 0.995,
                "proba_temperature_": 0.61234,
            },
            "Trained: strategy_='logit_adjusted+mixup'; 50 epochs (30 + 20 added: the "
            "classifier trained with the network scored 0.941 balanced accuracy on its training "
            "images, under 0.99); early stopping kept the weights of epoch 27 (best valid_f1); "
            "the classifier trained with the network kept: it scored 0.995 balanced accuracy on "
            "its training images, 0.99 or more; probabilities at temperature 0.612, fitted on "
            "the validation split.",
        ),
        (  # early stopping kept the last epoch's weights: nothing to say
            {"strategy_": "as_set", "callbacks_": [("early_stopping", _stopped(best_epoch_=30))]},
            "Trained: strategy_='as_set'; 30 epochs.",
        ),
        (
            {"strategy_": "as_set", "head_resampler_": SMOTE()},
            "Trained: strategy_='as_set'; 30 epochs; classifier re-trained on SMOTE-resampled "
            "features.",
        ),
    ],
)
def test_training_summary_says_what_the_fit_chose_and_why(fit, expected):
    clf = BalancedImageClassifier()
    clf.history = [{}] * (50 if "extension_" in fit else 30)
    vars(clf).update({"extension_": None, "head_resampler_": None, **fit})
    assert training_summary(clf) == expected
    assert training_summary(make_pipeline(FunctionTransformer(flatten), clf)) == expected
    assert training_summary(LogisticRegression()) is None
