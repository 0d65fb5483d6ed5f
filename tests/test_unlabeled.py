"""Unlabelled images (``y == -1``): the marker, the refusals, FixMatch and its pool prior
(self-training, the default's way with them: ``test_self_training.py``)."""

import warnings

import numpy as np
import pytest
import torch
from conftest import write_image_folder
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from imbtorch import BalancedImageClassifier
from imbtorch.data.unlabeled import unlabeled_mask
from imbtorch.training.semi_supervised import (
    CONFIDENT_KEY,
    normalized_prior,
    pool_posterior,
    predicted_counts,
)

FAST = {"max_epochs": 3, "batch_size": 16, "module__width": 8, "random_state": 0}
FIXMATCH = {**FAST, "unlabeled": "fixmatch"}


def _with_unlabeled(X, y, every=3):
    """``y`` with every ``every``-th image marked -1 (as an int array)."""
    marked = np.asarray(y).copy()
    marked[::every] = -1
    return X, marked


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (np.array([0, -1, 2, -1]), [False, True, False, True]),
        (np.array([0.0, -1.0, 1.0]), [False, True, False]),
        (np.array(["cat", -1, "dog"], dtype=object), [False, True, False]),
        (np.array(["cat", -1, "dog"]), [False, True, False]),  # NumPy makes "-1" of it
        (np.array([[0, 1], [-1, -1], [1, 1]]), [False, True, False]),
        (np.array([True, False]), [False, False]),
    ],
)
def test_the_marker_is_scikit_learns_minus_one_for_any_label_type(y, expected):
    assert unlabeled_mask(y).tolist() == expected


def test_a_multilabel_row_partly_marked_is_refused_by_row():
    with pytest.raises(ValueError, match="Row 1 of the multi-label y marks some labels -1"):
        unlabeled_mask(np.array([[0, 1], [-1, 1]]))


@pytest.mark.parametrize("kind", ["int", "object"])
def test_classes_and_predictions_never_hold_the_marker(small_images, kind):
    X, y = _with_unlabeled(*small_images)
    if kind == "object":
        y = np.array([["bright", "dark", "striped"][c] if c >= 0 else -1 for c in y], dtype=object)
    clf = BalancedImageClassifier(**FIXMATCH).fit(X, y)
    labels = [label for label in y.tolist() if label != -1]
    assert clf.classes_.tolist() == sorted(set(labels))
    assert set(clf.predict(X).tolist()) <= set(labels)
    assert clf.n_samples_fit_ == len(labels)
    assert clf.plan_.unlabeled.n_unlabeled == len(y) - len(labels)
    assert len(clf.history[:, CONFIDENT_KEY]) == FAST["max_epochs"]  # trained on them
    assert "unlabelled images trained on by FixMatch" in str(clf.plan_)


def test_the_default_trains_on_them_by_self_training_without_a_warning(small_images):
    X, y = _with_unlabeled(*small_images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = BalancedImageClassifier(**FAST).fit(X, y)
    assert clf.plan_.unlabeled.method == "self_training"
    assert "pseudo_labeling" not in dict(clf.callbacks_)  # FixMatch's is not there
    assert clf.n_samples_fit_ == 40 + len(clf.plan_.unlabeled.pseudo_labels.positions)


def test_an_unlabelled_only_fit_is_refused_with_the_fix(small_images):
    X, y = small_images
    with pytest.raises(ValueError, match="marks all 60 images unlabelled.*Label some images"):
        BalancedImageClassifier(**FAST).fit(X, np.full(len(y), -1))


def test_labels_minus_one_and_one_are_classes_with_unlabeled_none(small_images):
    X, y = small_images
    binary = np.where(y == 0, -1, 1)
    with pytest.raises(ValueError, match="one class only \\(np.int64\\(1\\)\\).*unlabeled=None"):
        BalancedImageClassifier(**FAST).fit(X, binary)
    clf = BalancedImageClassifier(**FAST, unlabeled=None).fit(X, binary)
    assert clf.classes_.tolist() == [-1, 1]
    assert clf.plan_.unlabeled is None and clf.n_samples_fit_ == 60


def test_ignore_leaves_them_out_and_says_so(small_images):
    X, y = _with_unlabeled(*small_images)
    clf = BalancedImageClassifier(unlabeled="ignore", **FAST).fit(X, y)
    assert "pseudo_labeling" not in dict(clf.callbacks_)
    assert CONFIDENT_KEY not in clf.history[-1]
    assert "20 unlabelled images (y == -1) left out: unlabeled='ignore'" in str(clf.plan_)


def test_fixmatch_on_a_multilabel_y_is_refused_and_auto_leaves_them_out_with_a_warning(
    small_images,
):
    X, y = small_images
    Y = np.column_stack([y == 0, y != 1]).astype(int)
    Y[::4] = -1
    with pytest.raises(ValueError, match="takes one label per image.*unlabeled='ignore'"):
        BalancedImageClassifier(unlabeled="fixmatch", **FAST).fit(X, Y)
    with pytest.warns(UserWarning, match="15 images marked -1 .* are left out"):
        clf = BalancedImageClassifier(**FAST).fit(X, Y)

    assert clf.n_samples_fit_ == 45 and clf.predict(X).shape == (60, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BalancedImageClassifier(unlabeled="ignore", **FAST).fit(X, Y)


def test_partial_fit_leaves_them_out_with_a_warning_or_refuses(small_images):
    X, y = _with_unlabeled(*small_images)
    clf = BalancedImageClassifier(**FAST)
    with pytest.warns(UserWarning, match="20 images marked -1 .* are left out"):
        clf.partial_fit(X, y)
    with pytest.warns(UserWarning, match="20 images marked -1 .* are left out"):
        clf.partial_fit(X, y)  # a later call as well
    with pytest.raises(ValueError, match="unlabeled='fixmatch' cannot train on the 20 images"):
        BalancedImageClassifier(**FIXMATCH).partial_fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pseudo_label_prior": [0.5, 0.5]}, "one non-negative share per class of classes_"),
        ({"pseudo_label_prior": "pool"}, "pseudo_label_prior"),
        ({"pseudo_label_threshold": 0.0}, "pseudo_label_threshold"),
        ({"unlabeled_ratio": 0}, "unlabeled_ratio"),
        ({"unlabeled": "yes"}, "unlabeled"),
    ],
)
def test_bad_settings_are_refused_before_training(small_images, params, message):
    X, y = _with_unlabeled(*small_images)
    with pytest.raises(ValueError, match=message):
        BalancedImageClassifier(**{**FAST, **params}).fit(X, y)


def test_sample_weight_covers_the_unlabelled_images_too(small_images):
    X, y = _with_unlabeled(*small_images)
    with pytest.raises(ValueError, match=r"expected \(60,\).*unlabelled images included"):
        BalancedImageClassifier(**FAST).fit(X, y, sample_weight=np.ones(40))
    # zero weight on every unlabelled image: their loss is zero, whatever is pseudo-labelled
    weights = np.where(y == -1, 0.0, 1.0)
    params = {**FIXMATCH, "pseudo_label_threshold": 0.01}
    zero = BalancedImageClassifier(**params).fit(X, y, sample_weight=weights)
    ones = BalancedImageClassifier(**params).fit(X, y, sample_weight=np.ones(60))
    never = BalancedImageClassifier(**{**FIXMATCH, "pseudo_label_threshold": 1.0})
    never.fit(X, y, sample_weight=weights)
    losses = zero.history[:, "train_loss"]
    assert losses != ones.history[:, "train_loss"]
    np.testing.assert_allclose(losses, never.history[:, "train_loss"], rtol=1e-5)


def test_a_pipeline_and_image_files_with_loader_workers(tmp_path, small_images):
    X, y = _with_unlabeled(*small_images)
    pixels = (np.clip(X, 0, 1) * 255).astype(np.uint8)
    paths = np.asarray(write_image_folder(tmp_path, pixels, np.where(y < 0, 9, y)))
    workers = {"iterator_train__num_workers": 2, "iterator_valid__num_workers": 0}
    pipe = make_pipeline(FunctionTransformer(), BalancedImageClassifier(**FIXMATCH, **workers))
    pipe.fit(paths, y)
    clf = pipe[-1]
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.plan_.unlabeled.confident_share is not None
    assert set(pipe.predict(paths).tolist()) <= {0, 1, 2}


def test_pseudo_labels_follow_the_estimated_pool_prior():
    """A balanced network's scores on a long-tailed pool: uncorrected, its confident
    pseudo-labels over-represent the rare classes; under the prior estimated from the
    counts of its predictions (what the callback does after every epoch) they follow the
    pool's more closely."""
    rng = np.random.default_rng(0)
    pool = np.array([0.6, 0.25, 0.1, 0.05])
    truth = rng.choice(4, size=4000, p=pool)
    logits = torch.as_tensor(np.eye(4)[truth] + rng.normal(0, 1.0, (4000, 4)))
    balanced = np.full(4, 0.25)
    estimate = normalized_prior(predicted_counts(logits).numpy() / len(logits))
    assert np.abs(estimate - pool).sum() < 0.7 * np.abs(balanced - pool).sum()

    def confident_shares(q):
        confidence, labels = pool_posterior(logits, q, balanced).max(dim=1)
        labels = labels[confidence >= 0.5].numpy()
        return np.bincount(labels, minlength=4) / len(labels)

    uncorrected, corrected = confident_shares(balanced), confident_shares(estimate)
    assert np.abs(corrected - pool).sum() < 0.5 * np.abs(uncorrected - pool).sum()
    assert corrected[3] < uncorrected[3]  # the rarest class is labelled less often


def test_the_fit_estimates_its_pool_prior_and_records_it(small_images):
    X, y = _with_unlabeled(*small_images, every=2)
    clf = BalancedImageClassifier(**{**FIXMATCH, "pseudo_label_threshold": 0.5}).fit(X, y)
    unlabeled = clf.plan_.unlabeled
    assert unlabeled.pool_prior.shape == (3,)
    assert unlabeled.pool_prior.sum() == pytest.approx(1.0)
    assert unlabeled.confident_share == clf.history[-1, CONFIDENT_KEY] > 0
    assert "class prior, estimated: 0: " in str(clf.plan_)
    fixed = BalancedImageClassifier(**{**FIXMATCH, "pseudo_label_prior": "uniform"}).fit(X, y)
    np.testing.assert_allclose(fixed.plan_.unlabeled.pool_prior, np.full(3, 1 / 3))
    # the fitted estimator keeps no unlabelled images
    assert dict(clf.callbacks_)["pseudo_labeling"].views() is None
