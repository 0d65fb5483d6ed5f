import numpy as np
import pytest

from imbtorch.datasets import load_long_tailed_digits


@pytest.fixture(scope="session")
def lt_digits():
    """Long-tailed digits, rho=50: (X_train, X_test, y_train, y_test)."""
    return load_long_tailed_digits(imbalance_ratio=50, random_state=0)


@pytest.fixture(scope="session")
def small_images():
    """60 random 8x8 grey images in 3 separable classes (bright, dark, striped)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(0.0, 0.3, size=(60, 8, 8))
    X[y == 0] += 2.0
    X[y == 1] -= 2.0
    X[y == 2, :, ::2] += 2.0
    return X.astype(np.float32), y
