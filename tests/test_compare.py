"""compare_strategies, the strategy catalog and tail_labels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from imbtorch import BalancedImageClassifier, compare_strategies
from imbtorch.evaluation.metrics import tail_labels
from imbtorch.strategies import DEFAULT_STRATEGIES, STRATEGY_NAMES, strategy_params


def test_balancing_strategies_outrank_plain_ce_on_a_long_tail(lt_digits):
    X, _, y, _ = lt_digits
    table = compare_strategies(
        X,
        y,
        ["ce", "balanced_weights", "ldam_drw"],
        estimator=BalancedImageClassifier(max_epochs=20, random_state=0),
        cv=2,
    )
    assert list(table.index)[-1] == "ce"
    assert table["balanced_accuracy_mean"].is_monotonic_decreasing
    scores = ["balanced_accuracy", "f1_macro", "g_mean", "tail_recall", "fit_time"]
    assert list(table.columns) == [f"{s}_{m}" for s in scores for m in ("mean", "std")]
    bacc = table["balanced_accuracy_mean"]
    assert bacc["balanced_weights"] > bacc["ce"] + 0.1
    tail = table["tail_recall_mean"]
    assert tail["ldam_drw"] > tail["ce"] + 0.2
    raw = table.attrs["cv_results"]["ce"]
    assert table.loc["ce", "f1_macro_mean"] == pytest.approx(raw["test_f1_macro"].mean())


class ReadsTheLabel(DummyClassifier):
    """Right on every image: the label is written in its first pixel."""

    def predict(self, X):
        return np.asarray(X)[:, 0, 0].astype(int)


def test_tail_recall_averages_the_folds_that_hold_a_tail_class(small_images):
    X, y = small_images
    keep = np.r_[0:20, 20:40, 40]  # one image of class 2
    X, y = X[keep].copy(), y[keep]
    X[:, 0, 0] = y
    table = compare_strategies(
        X, y, {"right": ReadsTheLabel()}, cv=2, tail_fraction=0.3, extra_scores=["shots"]
    )
    folds = table.attrs["cv_results"]["right"]["test_tail_recall"]
    assert np.isnan(folds).sum() == 1  # the fold without the one image: no tail recall
    assert table.loc["right", "tail_recall_mean"] == 1.0  # not 0.5, as if the tail were missed
    assert table.loc["right", "few_shot_mean"] == 1.0
    assert table.loc["right", "balanced_accuracy_mean"] == 1.0


class RecordFolds(DummyClassifier):
    """A dummy that remembers the training rows it saw."""

    seen: list = []

    def fit(self, X, y, sample_weight=None):
        RecordFolds.seen.append(tuple(np.asarray(X)[:, 0, 0]))
        return super().fit(X, y, sample_weight)


def test_every_strategy_sees_the_same_folds_even_from_a_shuffling_splitter(small_images):
    X, y = small_images
    X = X.copy()
    X[:, 0, 0] = np.arange(len(X))  # a row id in a pixel
    RecordFolds.seen = []
    table = compare_strategies(
        X,
        y,
        {"a": RecordFolds(), "b": RecordFolds(strategy="stratified")},
        cv=KFold(3, shuffle=True),  # no random_state: each split() call would differ
    )
    assert len(table) == 2
    assert RecordFolds.seen[:3] == RecordFolds.seen[3:]


def test_strategies_may_be_parameter_dicts_names_or_pipelines_and_plot(small_images):
    X, y = small_images
    flat_lr = make_pipeline(
        FunctionTransformer(lambda a: a.reshape(len(a), -1)), LogisticRegression(max_iter=500)
    )
    _, ax = plt.subplots()
    table = compare_strategies(
        X,
        y,
        {
            "cb": "class_balanced_sampler",
            "focal g=1": {"loss": "focal", "focal_gamma": 1.0},
            "pixels + LR": flat_lr,
        },
        estimator=BalancedImageClassifier(max_epochs=3, random_state=0),
        cv=3,
        ax=ax,
    )
    assert set(table.index) == {"cb", "focal g=1", "pixels + LR"}
    assert table.attrs["ax"] is ax
    assert {t.get_text() for t in ax.get_yticklabels()} == set(table.index)
    assert len(ax.patches) == 3
    plt.close("all")


def test_compare_strategies_explains_bad_strategies(small_images):
    X, y = small_images
    with pytest.raises(ValueError, match="Unknown strategy 'smote'. Use one of"):
        compare_strategies(X, y, ["smote"])
    with pytest.raises(TypeError, match="strategy name, a dict"):
        compare_strategies(X, y, {"x": 3})
    with pytest.raises(TypeError, match="list of strategy names"):
        compare_strategies(X, y, "ce")
    with pytest.raises(ValueError, match="pass a BalancedImageClassifier as estimator"):
        compare_strategies(X, y, ["focal"], estimator=LogisticRegression())
    with pytest.raises(ValueError, match="empty"):
        compare_strategies(X, y, [])


def test_plot_names_the_scores_it_has(small_images):
    from imbtorch.evaluation.compare import plot_strategy_comparison

    X, y = small_images
    table = compare_strategies(X, y, {"dummy": DummyClassifier()}, cv=2)
    with pytest.raises(ValueError, match="no score 'auc'.*balanced_accuracy"):
        plot_strategy_comparison(table, metric="auc")


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_every_catalog_strategy_trains(name, small_images):
    X, y = small_images
    clf = BalancedImageClassifier(max_epochs=3, random_state=0, head_epochs=2)
    clf.set_params(**strategy_params(name, 3)).fit(X, y)
    assert clf.predict(X).shape == y.shape


def test_deferred_strategies_switch_at_two_thirds():
    assert strategy_params("ldam_drw", 30)["drw_epoch"] == 20
    assert strategy_params("drs", 3)["drs_epoch"] == 2
    assert strategy_params("drs", 1)["drs_epoch"] == 0
    assert set(DEFAULT_STRATEGIES) <= set(STRATEGY_NAMES)
    params = strategy_params("ce", 5)
    params["loss"] = "focal"  # a copy: the catalog is not changed
    assert strategy_params("ce", 5) == {"strategy": None}
    assert strategy_params("auto", 5) == {"strategy": "auto"}


def test_tail_labels_are_the_rarest_classes():
    y = np.array(["a"] * 9 + ["b"] * 2 + ["c"] * 5 + ["d"] * 1)
    assert tail_labels(y).tolist() == ["d"]
    assert tail_labels(y, fraction=0.5).tolist() == ["d", "b"]
    assert tail_labels([0, 0, 1]).tolist() == [1]
    with pytest.raises(ValueError, match="fraction"):
        tail_labels(y, fraction=0)
