"""Image files as X: real PNG and JPEG files written from MNIST into temporary folders."""

import os
import signal
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_image_folder
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from imbtorch import BalancedImageClassifier, ImageEmbedder
from imbtorch.data import ImageReadError, files, normalize
from imbtorch.datasets import load_image_folder

FAST = dict(max_epochs=2, random_state=0, module__width=8)


@contextmanager
def deadline(seconds):
    """Fail instead of hanging (a worker error must reach the main process)."""

    def fail(*_):
        raise TimeoutError(f"no answer within {seconds} s: the loader hangs")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_load_image_folder_lists_files_and_labels_like_image_folder(png_folder):
    root, paths, labels = png_folder
    found, found_labels = load_image_folder(root)
    assert found.dtype == object and len(found) == len(paths)
    np.testing.assert_array_equal(found, np.sort(paths))  # sorted by class, then name
    np.testing.assert_array_equal(
        found_labels, [os.path.basename(os.path.dirname(p)) for p in found]
    )
    assert set(found_labels) == set(labels)


def test_load_image_folder_warns_about_files_it_skips_and_refuses_empty_classes(tmp_path):
    write_image_folder(tmp_path, np.zeros((2, 4, 4), np.uint8), ["a", "b"])
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "a" / ".hidden").write_text("ignored")
    with pytest.warns(UserWarning, match=r"skipped 1 file.*notes\.txt"):
        paths, labels = load_image_folder(tmp_path)
    assert labels.tolist() == ["a", "b"]
    (tmp_path / "c").mkdir()
    with pytest.raises(FileNotFoundError, match=r"class folder '.*/c' holds no image"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_image_folder(tmp_path / "missing")


def test_fit_on_png_files_equals_fit_on_the_same_uint8_array(mnist_lt, png_folder):
    X_train, X_test, _, _ = mnist_lt
    _, paths, labels = png_folder
    params = dict(normalize=False, **FAST)
    on_files = BalancedImageClassifier(**params).fit(paths, labels)
    on_array = BalancedImageClassifier(**params).fit(X_train, labels)
    assert on_files.image_shape_ == on_array.image_shape_ == (1, 28, 28)
    assert not hasattr(on_files, "n_features_in_")
    np.testing.assert_allclose(
        on_files.predict_proba(X_test), on_array.predict_proba(X_test), rtol=1e-4, atol=1e-6
    )
    np.testing.assert_array_equal(on_files.predict(paths), on_array.predict(X_train))


def test_the_number_of_loader_workers_does_not_change_the_fit(png_folder):
    """Workers take their seeds from the loader's own generator, not from the RNG that
    dropout draws from: a fit in a Dask worker (no loader workers) equals one here."""
    _, paths, labels = png_folder
    params = dict(module__dropout=0.5, **FAST)
    fits = [
        BalancedImageClassifier(iterator_train__num_workers=n, **params).fit(paths, labels)
        for n in (0, 2)
    ]
    np.testing.assert_array_equal(fits[0].predict_proba(paths), fits[1].predict_proba(paths))


def test_files_as_list_series_and_pathlike(png_folder):
    from pathlib import Path

    _, paths, labels = png_folder
    clf = BalancedImageClassifier(**FAST).fit(pd.Series(paths), labels)
    expected = clf.predict(paths)
    np.testing.assert_array_equal(clf.predict(list(paths)), expected)
    np.testing.assert_array_equal(clf.predict([Path(p) for p in paths]), expected)
    assert set(expected) <= set(labels)


def test_grid_search_on_an_image_folder(png_folder):
    root, _, _ = png_folder
    paths, labels = load_image_folder(root)
    grid = GridSearchCV(
        BalancedImageClassifier(**FAST),
        {"class_weight": [None, "balanced"]},
        scoring="balanced_accuracy",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(paths, labels)
    assert grid.cv_results_["mean_test_score"].shape == (2,)
    assert set(grid.predict(paths[:10])) <= set(labels)
    scores = cross_val_score(BalancedImageClassifier(**FAST), paths, labels, cv=2)
    assert np.all(np.isfinite(scores))


def test_every_strategy_runs_on_files(png_folder):
    from imbtorch.strategies import STRATEGY_NAMES, strategy_params

    _, paths, labels = png_folder
    for name in STRATEGY_NAMES:
        params = {**FAST, **strategy_params(name, 2)}  # FAST: 2 epochs, a deferred switch at 1
        clf = BalancedImageClassifier(**params).fit(paths, labels)
        assert clf.predict(paths[:4]).shape == (4,), name


def test_score_partial_fit_and_difficulty_on_files(png_folder, mnist_lt):
    _, paths, labels = png_folder
    pixels = mnist_lt[0]  # the images the PNG files hold, in their order
    clf = BalancedImageClassifier(difficulty_head=1.0, **FAST)
    clf.partial_fit(paths, labels).partial_fit(paths, labels)
    assert len(clf.history_) == 4
    assert clf.score(paths, labels) == accuracy_score(labels, clf.predict(paths))
    # files decode to the pixels they were written from: the same predictions as the arrays
    np.testing.assert_allclose(clf.predict_difficulty(paths), clf.predict_difficulty(pixels))
    np.testing.assert_allclose(clf.predict_proba(paths), clf.predict_proba(pixels))


def test_mixed_sizes_need_image_size_and_rgb_jpegs_convert(mnist_lt, tmp_path):
    X_train, _, y_train, _ = mnist_lt
    paths = write_image_folder(
        tmp_path, X_train, y_train, suffix=".jpg", rgb=True, sizes=[(28, 28), (36, 30)]
    )
    with pytest.raises(
        ImageReadError,
        match=r"differ in size.*00000\.jpg.*\(28, 28\).*00001\.jpg.*\(30, 36\).*image_size",
    ):
        BalancedImageClassifier(**FAST).fit(paths, y_train)
    clf = BalancedImageClassifier(image_size=(24, 24), **FAST).fit(paths, y_train)
    assert clf.image_shape_ == (3, 24, 24)
    grey = BalancedImageClassifier(image_size=(24, 24), color_mode="grey", **FAST)
    assert grey.fit(paths, y_train).image_shape_ == (1, 24, 24)
    assert grey.predict(paths[:3]).shape == (3,)


def test_header_scan_in_workers_names_files_as_the_serial_scan_does(
    png_folder, tmp_path, monkeypatch
):
    _, paths, labels = png_folder
    monkeypatch.setattr(files, "PARALLEL_SCAN_MIN_FILES", 1)
    workers_used = []
    real_loader = files.DataLoader

    def recording_loader(*args, num_workers=0, **kwargs):
        workers_used.append(num_workers)
        return real_loader(*args, num_workers=num_workers, **kwargs)

    monkeypatch.setattr(files, "DataLoader", recording_loader)
    monkeypatch.setattr(normalize, "DataLoader", recording_loader)  # the statistics' sample
    odd = write_image_folder(tmp_path, np.zeros((1, 20, 20), np.uint8), [0])
    mixed = np.concatenate([paths[:100], odd, paths[100:]])
    with pytest.raises(ImageReadError, match=r"00000\.png' \(X\[0\]\).*\(X\[100\]\) is \(20, 20\)"):
        BalancedImageClassifier(**FAST).fit(mixed, np.append(labels, labels[0]))
    gone = paths.copy()
    gone[90] = gone[90].replace(".png", "-gone.png")
    with pytest.raises(ImageReadError, match=r"^The image file .*-gone\.png' \(X\[90\]\) does"):
        BalancedImageClassifier(**FAST, iterator_train__num_workers=1).fit(gone, labels)
    assert workers_used and all(n > 0 for n in workers_used)
    workers_used.clear()  # num_workers=0 keeps every pass in this process
    no_workers = dict(iterator_train__num_workers=0, iterator_valid__num_workers=0)
    BalancedImageClassifier(**FAST, **no_workers).fit(paths, labels).predict(paths)
    assert not any(workers_used)


def test_prediction_reads_files_as_fitted_and_checks_their_size(mnist_lt, png_folder, tmp_path):
    X_train, _, y_train, _ = mnist_lt
    _, paths, labels = png_folder
    clf = BalancedImageClassifier(**FAST).fit(paths, labels)
    rgb = write_image_folder(tmp_path / "rgb", X_train[:5], y_train[:5], rgb=True)
    assert clf.predict(rgb).shape == (5,)  # converted to the grey images fitted
    larger = write_image_folder(tmp_path / "big", X_train[:5], y_train[:5], sizes=[(32, 32)])
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 28, 28\).*image_size"):
        clf.predict(larger)


def test_missing_file_is_named_before_training(png_folder):
    _, paths, labels = png_folder
    bad = paths.copy()
    bad[7] = bad[7].replace(".png", "-gone.png")
    for params in ({}, {"image_size": (28, 28)}):
        with pytest.raises(ImageReadError, match=r"-gone\.png' \(X\[7\]\) does not exist"):
            BalancedImageClassifier(**FAST, **params).fit(bad, labels)


def test_corrupt_file_is_named_from_a_worker_without_a_hang(png_folder, tmp_path):
    _, paths, labels = png_folder
    data = open(paths[5], "rb").read()
    broken = tmp_path / "broken.png"
    broken.write_bytes(data[: len(data) // 2])  # the header is intact, the pixels are cut
    bad = paths.copy()
    bad[5] = str(broken)
    clf = BalancedImageClassifier(iterator_train__num_workers=2, **FAST)
    with deadline(120), pytest.raises(ImageReadError, match=r"broken\.png' \(X\[5\]\).*corrupt"):
        clf.fit(bad, labels)
    not_an_image = tmp_path / "text.png"
    not_an_image.write_text("hello")
    bad[5] = str(not_an_image)
    with pytest.raises(ImageReadError, match=r"Cannot read the image file .*text\.png"):
        BalancedImageClassifier(**FAST).fit(bad, labels)


@pytest.mark.parametrize(
    "X, match",
    [
        ([], "X holds no images"),
        (["a.png", 3], r"X\[1\] is 3 of type int"),
    ],
)
def test_bad_path_lists(X, match):
    with pytest.raises(ValueError, match=match):
        BalancedImageClassifier(**FAST).fit(X, [0, 1][: len(X)])


def test_image_shape_is_refused_with_paths(png_folder):
    _, paths, labels = png_folder
    with pytest.raises(ValueError, match=r"image_shape=\(28, 28\) unflattens .*file paths"):
        BalancedImageClassifier(image_shape=(28, 28), **FAST).fit(paths, labels)


def test_sixteen_bit_images_are_refused_not_clipped(tmp_path):
    from PIL import Image

    path = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 1000, dtype=np.uint16)).save(path)
    with pytest.raises(ImageReadError, match=r"deep\.png.*16-bit.*convert"):
        BalancedImageClassifier(**FAST).fit([str(path)] * 4, [0, 1, 0, 1])


def test_embedder_on_files_matches_the_arrays(mnist_lt, png_folder):
    X_train, X_test, _, _ = mnist_lt
    _, paths, labels = png_folder
    clf = BalancedImageClassifier(normalize=False, **FAST).fit(paths, labels)
    embedder = ImageEmbedder(clf, prefit=True).fit(paths)
    features = embedder.transform(paths)
    assert features.shape == (len(paths), embedder.embedding_dim_)
    np.testing.assert_allclose(features, embedder.transform(X_train), rtol=1e-4, atol=1e-5)
    trained = ImageEmbedder(BalancedImageClassifier(**FAST)).fit(paths, labels)
    assert trained.transform(paths[:5]).shape == (5, trained.embedding_dim_)


def test_embedder_backbone_reads_files(png_folder, tmp_path):
    from imbtorch.networks.backbones import SimpleCNN

    _, paths, labels = png_folder
    weights = tmp_path / "cnn.pt"
    torch.save(SimpleCNN(in_channels=1, num_classes=5).state_dict(), weights)
    embedder = ImageEmbedder(SimpleCNN, weights=weights, image_size=(20, 20)).fit(paths)
    assert embedder.image_shape_ == (1, 20, 20)
    assert embedder.transform(paths[:7]).shape == (7, 64)


def test_a_torchvision_resnet_trains_on_grey_files_resized(png_folder):
    _, paths, labels = png_folder
    clf = BalancedImageClassifier(
        backbone="resnet18", image_size=(32, 32), sampler="class_balanced", max_epochs=1
    )
    clf.fit(paths, labels)
    assert type(clf.module_[1]).__name__ == "ResNet"  # grey images repeated to 3 channels
    assert clf.predict_proba(paths[:6]).shape == (6, 5)
