"""imbtorch.report: per-class table, headline scores, text, HTML and the saved figure."""

import html

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC
from skorch.dataset import ValidSplit
from skorch.history import History

from imbtorch import BalancedImageClassifier, report
from imbtorch.datasets import load_long_tailed_digits
from imbtorch.evaluation import expected_calibration_error, imbalance_scores, training_summary
from imbtorch.strategies import TrainingFacts, plan_training
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
    # how it was trained, under the title: what 'auto' chose, its plan
    assert rep.training.startswith(f"Trained 8 epochs. strategy='auto' trained {clf.strategy_!r}")
    lines = rep.training.splitlines()
    assert lines[1:] == [f"- {line}" for line in clf.plan_.lines()[1:]]
    assert text.splitlines()[1 : 1 + len(lines)] == lines
    page = rep._repr_html_()
    assert "<table" in page and 'src="data:image/png;base64,' in page
    assert f"<p>{'<br>'.join(map(html.escape, lines))}</p>" in page
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


def _history(epochs):
    history = History()
    for _ in range(epochs):
        history.new_epoch()
    return history


AUTO = "strategy='auto' trained {!r}: no re-balancing parameter set; classes of 300 to 5 images"
MIXED = "- loss 'logit_adjusted'\n- mixup batches in epochs 1-20 of 30\n- weights averaged along "
MIXED += "training (time constant 3 epochs)\n"


@pytest.mark.parametrize(
    "params, scores, fitted, expected",
    [
        (  # no training error after 30 epochs: no extension, the joint classifier kept
            {},
            (0.998, None),
            {},
            f"Trained 30 epochs. {AUTO.format('logit_adjusted+mixup')}\n{MIXED}"
            "- training balanced accuracy 0.998 >= 0.99: no more epochs\n"
            "- classifier trained with the network kept: training balanced accuracy 0.998 >= 0.99",
        ),
        (  # errs: 20 more epochs, then the stage
            {},
            (0.9412, 0.97),
            {},
            f"Trained 50 epochs. {AUTO.format('logit_adjusted+mixup+sqrt_head')}\n{MIXED}"
            "- trained longer: training balanced accuracy 0.941 < 0.99 after 30 epochs: trained "
            "20 more (mixing the first 13)\n- classifier re-trained on 'sqrt'-resampled "
            "features: training balanced accuracy 0.970 < 0.99\n- predicts with the logits less "
            "0.5 x log prior",
        ),
        (  # ... with a validation split: early stopping and the temperature
            {"train_split": ValidSplit(5)},
            (0.9412, 0.995),
            {
                "callbacks_": [("early_stopping", _stopped(best_epoch_=27))],
                "proba_temperature_": 0.61234,
            },
            f"Trained 50 epochs. {AUTO.format('logit_adjusted+mixup')}\n{MIXED}"
            "- early stopping waits for the end of the mixing (epoch 20)\n"
            "- trained longer: training balanced accuracy 0.941 < 0.99 after 30 epochs: trained "
            "20 more (mixing the first 13)\n- classifier trained with the network kept: "
            "training balanced accuracy 0.995 >= 0.99\n- early stopping kept the weights of "
            "epoch 27 (best valid_f1)\n- probabilities at temperature 0.612, fitted on the "
            "validation split",
        ),
        (  # early stopping kept the last epoch's weights: nothing to say
            {"class_weight": "balanced"},
            None,
            {"callbacks_": [("early_stopping", _stopped(best_epoch_=30))]},
            "Trained 30 epochs. strategy='auto' trained the parameters as set: "
            "class_weight='balanced' re-balances the classes, and the logit-adjusted loss on top "
            "would correct the prior twice\n- loss 'ce'",
        ),
        (
            {"strategy": None, "head_resampler": SMOTE()},
            None,
            {},
            "Trained 30 epochs. strategy=None: the parameters as set\n- loss 'ce'\n"
            "- classifier re-trained on SMOTE-resampled features",
        ),
    ],
)
def test_training_summary_says_what_the_fit_chose_and_why(params, scores, fitted, expected):
    clf = BalancedImageClassifier(**params)
    facts = TrainingFacts(np.array([300, 50, 5]), validation="train_split" in params)
    plan = plan_training(clf.get_params(deep=False), {}, facts)
    clf.history = _history(30)
    if scores is not None:  # the decisions, as the training loop hands them their evidence
        if plan.decide_extension(clf.history, 30, scores[0]) is not None:
            clf.history = _history(50)
        plan.decide_stage(scores[0] if scores[1] is None else scores[1])
    vars(clf).update(plan_=plan, **fitted)
    assert training_summary(clf) == expected
    assert training_summary(make_pipeline(FunctionTransformer(flatten), clf)) == expected
    assert training_summary(LogisticRegression()) is None


def test_every_panel_lists_the_classes_as_the_table_does_most_frequent_first():
    """Classes ranked at random: label order and training frequency disagree."""
    X_train, X_test, y_train, y_test = load_long_tailed_digits(20, class_order="random")
    clf = BalancedImageClassifier(max_epochs=2, random_state=0).fit(X_train, y_train)
    rep = report(clf, X_test, y_test).plot()
    confusion, recall = rep.figure_.axes[:2]
    rows = [tick.get_text() for tick in confusion.get_yticklabels()]
    columns = [tick.get_text() for tick in confusion.get_xticklabels()]
    bars = [tick.get_text() for tick in recall.get_xticklabels()]
    expected = [str(label) for label in rep.per_class.index]
    assert expected != sorted(expected)  # the ranking is not the labels' order
    assert rows == columns == bars == expected
