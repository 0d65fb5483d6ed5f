"""Self-training on unlabelled images (the default's way with ``y == -1``): the teacher, its
class-rebalanced pseudo-labels, the plan, refusals and resume."""

import json

import numpy as np
import pytest
import torch
from _interrupt import Interrupt
from skorch.dataset import ValidSplit
from test_resume import assert_same_network

from imbtorch import BalancedImageClassifier
from imbtorch.training.self_training import (
    TEACHER_FOLDER,
    rebalanced_shares,
    select_pseudo_labels,
)

FAST = {"max_epochs": 3, "batch_size": 16, "module__width": 8, "random_state": 0}


def _with_unlabeled(X, y, every=3):
    marked = np.asarray(y).copy()
    marked[::every] = -1
    return X, marked


def test_the_rarest_class_keeps_every_confident_image_the_most_frequent_the_fewest():
    counts = np.array([10, 100, 1, 50])  # ranks: 100, 50, 10, 1
    shares = rebalanced_shares(counts, 1.0)
    # reversed ranks: the most frequent takes the rarest's count over the largest, and so on
    np.testing.assert_allclose(shares, [50 / 100, 1 / 100, 1.0, 10 / 100])
    np.testing.assert_allclose(rebalanced_shares(counts, 2.0), shares**2)
    np.testing.assert_allclose(rebalanced_shares(counts, 0.0), 1.0)


def _confident_pool(counts_per_class, seed=0):
    """Probabilities of a teacher that predicts ``counts_per_class`` images of each class, all
    above 0.6."""
    rng = np.random.default_rng(seed)
    predicted = np.repeat(np.arange(len(counts_per_class)), counts_per_class)
    proba = np.full((len(predicted), len(counts_per_class)), 0.0)
    confidence = rng.uniform(0.6, 1.0, size=len(predicted))
    proba[np.arange(len(predicted)), predicted] = confidence
    proba[np.arange(len(predicted)), (predicted + 1) % len(counts_per_class)] = 1 - confidence
    return proba


def test_pseudo_labels_follow_the_rebalanced_distribution():
    """A teacher that predicts a balanced pool confidently: the kept pseudo-labels follow
    the shares, not the pool's equal classes, and the least confident are the ones dropped."""
    proba = _confident_pool([200, 200, 200])
    confidence = proba.max(axis=1)
    confidence[:10] = proba[:10, 0] = 0.55  # below the threshold: never kept
    proba[:10, 1] = 0.45
    positions = np.arange(1000, 1600)
    counts = np.array([100, 10, 1])
    chosen = select_pseudo_labels(
        proba, positions, counts, np.array(["head", "middle", "tail"]), threshold=0.6, alpha=1.0
    )
    np.testing.assert_array_equal(chosen.confident_counts, [190, 200, 200])
    # shares 1/100, 10/100, 1 of the confident images of each class, rounded up
    np.testing.assert_array_equal(chosen.kept_counts, [2, 20, 200])
    assert len(chosen.positions) == len(chosen.labels) == 222
    kept_b = chosen.positions[chosen.labels == "middle"] - 1000
    dropped_b = np.setdiff1d(np.arange(200, 400), kept_b)
    assert confidence[kept_b].min() > confidence[dropped_b].max()
    assert set(chosen.positions) <= set(positions) and chosen.n_unlabeled == 600
    y = np.array(["tail", "-1"] + ["-1"] * 1598)  # string labels, NumPy's "-1" (<U4)
    labeled = chosen.label(y)
    assert labeled[1000 + kept_b[0]] == "middle"  # not cut to the width of y's strings
    assert labeled[1] == "-1" and labeled[0] == "tail"


@pytest.mark.parametrize("pool", [[50, 50, 50], [400, 300, 100]])
def test_the_budget_takes_the_smallest_exponent_that_fits(pool):
    """No exponent given: every confident pseudo-label where they fit twice the labelled
    images, else the smallest exponent that brings them within, the head's dropped first."""
    counts = np.array([100, 10, 1])  # 111 labelled: a budget of 222
    proba = _confident_pool(pool)
    chosen = select_pseudo_labels(
        proba, np.arange(len(proba)), counts, np.arange(3), threshold=0.5, alpha=None, budget=2
    )
    assert chosen.budget == 222 and chosen.share == 1.0
    if sum(pool) <= 222:
        assert chosen.alpha == 0.0 and len(chosen.positions) == sum(pool)
        return
    assert len(chosen.positions) <= 222
    np.testing.assert_array_equal(chosen.kept_counts[2], pool[2])  # the rarest keeps all
    assert chosen.kept_counts[0] < chosen.kept_counts[1] < pool[1]
    # a slightly smaller exponent would keep more than the budget
    looser = select_pseudo_labels(
        proba,
        np.arange(len(proba)),
        counts,
        np.arange(3),
        threshold=0.5,
        alpha=chosen.alpha * 0.999,
    )
    assert len(looser.positions) > 222
    fixed = select_pseudo_labels(
        proba, np.arange(len(proba)), counts, np.arange(3), threshold=0.5, alpha=chosen.alpha
    )
    np.testing.assert_array_equal(fixed.positions, chosen.positions)


def test_where_no_exponent_fits_every_class_gives_up_the_same_share():
    """Equal labelled counts (no class rarer than another), or the rarest class's own images
    beyond the budget: the shares fall together until the budget holds."""
    proba = _confident_pool([300, 300, 300])
    for counts, expected in (([10, 10, 10], [20, 20, 20]), ([20, 10, 5], [0, 0, 70])):
        chosen = select_pseudo_labels(
            proba,
            np.arange(900),
            np.array(counts),
            np.arange(3),
            threshold=0.5,
            alpha=None,
            budget=2,
        )
        assert chosen.budget == 2 * sum(counts) and chosen.share < 1
        assert len(chosen.positions) <= chosen.budget
        np.testing.assert_array_equal(chosen.kept_counts, expected)
    with pytest.raises(ValueError, match="needs a budget"):
        select_pseudo_labels(
            proba, np.arange(900), [1, 2, 3], np.arange(3), threshold=0.5, alpha=None
        )


def test_the_default_trains_on_the_teachers_pseudo_labels_and_records_them(long_tailed_images):
    X, y = long_tailed_images
    # four more copies of every image, unlabelled: 124 images, beyond the budget of 62
    X = np.concatenate([X] + [X + 0.01 * k for k in range(1, 5)])
    y = np.concatenate([y, np.full(4 * len(y), -1)])
    clf = BalancedImageClassifier(**FAST).fit(X, y)
    record = clf.plan_.unlabeled.pseudo_labels
    assert clf.plan_.unlabeled.method == "self_training"
    assert clf.classes_.tolist() == [0, 1, 2]
    assert set(record.positions) <= set(np.flatnonzero(y == -1))
    assert record.budget == 62 and 0 < len(record.positions) <= 62 and record.alpha > 0
    assert clf.n_samples_fit_ == 31 + len(record.positions)
    np.testing.assert_array_equal(
        clf.class_counts_, np.bincount(y[y >= 0], minlength=3) + record.kept_counts
    )
    # the teacher is the labelled-only fit: its predictions are the pseudo-labels
    teacher = BalancedImageClassifier(unlabeled="ignore", **FAST).fit(X, y)
    np.testing.assert_array_equal(record.labels, teacher.predict(X[record.positions]))
    proba = teacher.predict_proba(X[y == -1])
    expected = select_pseudo_labels(
        proba,
        np.flatnonzero(y == -1),
        [20, 8, 3],
        [0, 1, 2],
        threshold=0.5,
        alpha=None,
        budget=2.0,
    )
    np.testing.assert_array_equal(record.positions, expected.positions)
    # the rarest class keeps all its confident images, the most frequent the smallest share
    assert record.kept_counts[2] == record.confident_counts[2]
    shares = record.kept_counts / np.maximum(record.confident_counts, 1)
    assert shares[0] <= shares[1] <= shares[2]
    text = str(clf.plan_)
    assert "124 unlabelled images used by self-training (unlabeled='auto': self-training" in text
    assert f"gave {record.confident_counts.sum()} of them a pseudo-label" in text
    assert f"pseudo-labels kept: {len(record.positions)} (0: " in text
    assert f"alpha = {record.alpha:.3g}, within the budget of 62" in text
    times = (31 + len(record.positions)) / 31
    assert (
        f"{times:.1f} times the teacher's: about {1 + times:.1f} times a labelled-only fit" in text
    )


def test_a_pool_within_the_budget_is_pseudo_labelled_whole(long_tailed_images):
    X, y = long_tailed_images
    X = np.concatenate([X, X + 0.01])  # a second copy of every image, unlabelled: 31 <= 62
    y = np.concatenate([y, np.full(len(y), -1)])
    record = BalancedImageClassifier(**FAST).fit(X, y).plan_.unlabeled.pseudo_labels
    assert record.alpha == 0.0
    np.testing.assert_array_equal(record.kept_counts, record.confident_counts)


def test_string_labels_and_image_files_with_loader_workers(tmp_path, small_images):
    from conftest import write_image_folder

    X, y = _with_unlabeled(*small_images)
    names = np.array(["bright", "dark", "striped"])
    labels = np.where(y < 0, "-1", names[np.maximum(y, 0)])  # strings, NumPy's "-1"
    pixels = (np.clip(X, 0, 1) * 255).astype(np.uint8)
    paths = np.asarray(write_image_folder(tmp_path, pixels, np.where(y < 0, 9, y)))
    workers = {"iterator_train__num_workers": 2, "iterator_valid__num_workers": 2}
    clf = BalancedImageClassifier(unlabeled="self_training", **FAST, **workers).fit(paths, labels)
    assert clf.classes_.tolist() == names.tolist()
    assert set(clf.plan_.unlabeled.pseudo_labels.labels) <= set(names)
    assert set(clf.predict(paths).tolist()) <= set(names)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"unlabeled_ratio": 7}, "unlabeled_ratio=7 sets fixmatch training.*unlabeled='fixmatch'"),
        ({"pseudo_label_prior": "uniform"}, "pseudo_label_prior='uniform' sets fixmatch"),
        (
            {"unlabeled": "fixmatch", "pseudo_label_rebalance": 1},
            "pseudo_label_rebalance=1 sets self-training.*set unlabeled='self_training'",
        ),
        ({"pseudo_label_rebalance": -1.0}, "pseudo_label_rebalance"),
    ],
)
def test_the_other_methods_settings_are_refused_before_training(small_images, params, message):
    X, y = _with_unlabeled(*small_images)
    with pytest.raises(ValueError, match=message):
        BalancedImageClassifier(**{**FAST, **params}).fit(X, y)


def test_a_multilabel_y_is_refused_by_self_training(small_images):
    X, y = small_images
    Y = np.column_stack([y == 0, y != 1]).astype(int)
    Y[::4] = -1
    with pytest.raises(ValueError, match="unlabeled='self_training' cannot train on the 15"):
        BalancedImageClassifier(unlabeled="self_training", **FAST).fit(X, Y)


class InterruptStudent(Interrupt):
    """Stop the fit after the teacher (the one that trains on pseudo-labels)."""

    def on_batch_begin(self, net, **kwargs):
        if net.plan_.unlabeled.pseudo_labels is not None:
            super().on_batch_begin(net, **kwargs)


@pytest.mark.parametrize("interrupted", ["teacher", "student"])
def test_a_fit_stopped_in_the_teacher_or_after_it_resumes_exactly(
    long_tailed_images, tmp_path, interrupted
):
    X, y = _with_unlabeled(*long_tailed_images, every=2)
    params = {**FAST, "max_epochs": 4, "module__dropout": 0.2}
    whole = BalancedImageClassifier(checkpoint_dir=tmp_path / "whole", **params).fit(X, y)
    assert (tmp_path / "whole" / TEACHER_FOLDER / "last.json").is_file()
    stop = Interrupt(3) if interrupted == "teacher" else InterruptStudent(3)
    cut = BalancedImageClassifier(
        checkpoint_dir=tmp_path / "cut", callbacks=[("stop", stop)], **params
    )
    with pytest.raises(RuntimeError, match="interrupted"):
        cut.fit(X, y)
    folder = tmp_path / "cut" / (TEACHER_FOLDER if interrupted == "teacher" else "")
    assert json.loads((folder / "last.json").read_text())["epochs"] == 2
    resumed = BalancedImageClassifier(checkpoint_dir=tmp_path / "cut", resume=True, **params)
    resumed.fit(X, y)
    np.testing.assert_array_equal(
        resumed.plan_.unlabeled.pseudo_labels.positions,
        whole.plan_.unlabeled.pseudo_labels.positions,
    )
    assert resumed.history[:, "train_loss"] == whole.history[:, "train_loss"]
    assert_same_network(resumed, whole, X)


def _validation_positions(clf) -> set:
    """Positions in X of the images of the fit's validation part."""
    part, rows = dict(clf.callbacks_)["held_out"].dataset_, None
    while isinstance(part, torch.utils.data.Subset):  # Subsets of Subsets of the dataset
        indices = np.asarray(part.indices)
        rows = indices if rows is None else indices[rows]
        part = part.dataset
    return set(part.source.indices[rows].tolist())


def test_the_validation_split_holds_labelled_images_only_as_the_teachers(long_tailed_images):
    X, y = long_tailed_images
    X = np.concatenate([X, X + 0.01])
    y = np.concatenate([y, np.full(len(y), -1)])
    split = ValidSplit(0.25, stratified=True, random_state=0)
    params = {**FAST, "train_split": split, "pseudo_label_threshold": 0.4}
    clf = BalancedImageClassifier(**params).fit(X, y)
    record = clf.plan_.unlabeled.pseudo_labels
    assert len(record.positions) > 0
    teacher = BalancedImageClassifier(unlabeled="ignore", **params).fit(X, y)
    valid = _validation_positions(clf)
    assert valid == _validation_positions(teacher)
    assert not valid & set(record.positions.tolist())
    train = dict(clf.callbacks_)["held_out"].train_dataset_
    assert len(train) + len(valid) == clf.n_samples_fit_  # every pseudo-label trains
