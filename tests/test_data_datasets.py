"""torch Datasets, skorch's SliceDataset, train_transform and memory use of arrays."""

import os
import tracemalloc

import numpy as np
import pytest
import torch
from _steps import first_network
from PIL import Image
from sklearn.model_selection import GridSearchCV
from skorch.dataset import ValidSplit
from skorch.helper import SliceDataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from imbtorch import BalancedImageClassifier, ImageEmbedder
from imbtorch.data import DatasetSource

FAST = dict(max_epochs=2, random_state=0, module__width=8)


class CountingDataset(torch.utils.data.Dataset):
    """MNIST images as ``kind`` items ('pil', 'tensor', 'array'), counting item reads."""

    def __init__(self, images, labels, kind="pil", with_targets=True):
        self.images, self.labels, self.kind = images, labels, kind
        if with_targets:
            self.targets = list(labels)
        self.reads = 0

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        self.reads += 1
        pixels = self.images[i]
        image = {
            "pil": lambda: Image.fromarray(pixels),
            "tensor": lambda: torch.from_numpy(pixels)[None].float() / 255,
            "array": lambda: np.repeat(pixels[:, :, None], 3, axis=2),  # (H, W, 3) uint8
        }[self.kind]()
        return image, int(self.labels[i])


def test_image_folder_fits_with_y_none_and_predicts_its_labels(png_folder):
    root, paths, _ = png_folder
    folder = ImageFolder(root)
    clf = BalancedImageClassifier(**FAST).fit(folder, None)
    np.testing.assert_array_equal(clf.classes_, np.arange(len(folder.classes)))
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(folder.targets))
    assert clf.image_shape_ == (3, 28, 28)  # ImageFolder opens files as RGB
    assert set(clf.predict(folder)) <= set(range(5))
    assert clf.predict(paths[:4]).shape == (4,)  # files are converted to the fitted RGB


@pytest.mark.parametrize(
    "kind, shape", [("pil", (1, 28, 28)), ("tensor", (1, 28, 28)), ("array", (3, 28, 28))]
)
def test_own_datasets_of_pil_images_tensors_or_arrays(mnist_lt, kind, shape):
    X_train, X_test, y_train, y_test = mnist_lt
    train = CountingDataset(X_train, y_train, kind)
    clf = BalancedImageClassifier(**FAST).fit(train, None)
    assert clf.image_shape_ == shape
    assert clf.predict(CountingDataset(X_test, y_test, kind)).shape == (len(X_test),)


def test_targets_are_read_without_decoding_images(mnist_lt):
    X_train, _, y_train, _ = mnist_lt
    dataset = CountingDataset(X_train, y_train)
    source = DatasetSource(dataset, channels=None)
    reads = dataset.reads  # the first image, for the shape
    np.testing.assert_array_equal(source.targets(), y_train)
    assert dataset.reads == reads == 1
    subset = torch.utils.data.Subset(dataset, [3, 1, 2])
    np.testing.assert_array_equal(
        DatasetSource(subset, channels=None).targets(), y_train[[3, 1, 2]]
    )
    # without a targets attribute they come from the items
    bare = CountingDataset(X_train, y_train, with_targets=False)
    np.testing.assert_array_equal(DatasetSource(bare, channels=None).targets(), y_train)


def test_slice_dataset_is_not_decoded_up_front_and_works_in_grid_search(mnist_lt):
    X_train, _, y_train, _ = mnist_lt
    dataset = CountingDataset(X_train, y_train)
    sliced = SliceDataset(dataset)
    first_network(sliced, y_train, random_state=0)  # what fit reads before its epochs
    # the shape probe and the statistics sample; no float array of all images
    assert dataset.reads <= 1 + len(X_train)
    grid = GridSearchCV(
        BalancedImageClassifier(**FAST), {"sampler": [None, "class_balanced"]}, cv=2
    )
    grid.fit(sliced, y_train)
    assert grid.predict(SliceDataset(dataset)[:5]).shape == (5,)
    clf = BalancedImageClassifier(**FAST).fit(SliceDataset(dataset), None)  # targets of its dataset
    np.testing.assert_array_equal(clf.classes_, np.unique(y_train))


class Recorder:
    """A train_transform that adds noise and records which process called it, how often."""

    def __init__(self, folder):
        self.folder = folder

    def __call__(self, image):
        assert (
            image.dtype == torch.float32 and 0.0 <= float(image.min()) and float(image.max()) <= 1.0
        )
        with open(os.path.join(self.folder, f"{os.getpid()}.log"), "a") as log:
            log.write("x")
        return image + 0.01 * torch.randn_like(image)

    def calls(self):
        return {
            int(name.split(".")[0]): len(open(os.path.join(self.folder, name)).read())
            for name in os.listdir(self.folder)
        }


def test_train_transform_sees_every_training_image_in_workers_and_never_prediction(
    png_folder, tmp_path
):
    _, paths, labels = png_folder
    recorder = Recorder(tmp_path)
    clf = BalancedImageClassifier(train_transform=recorder, **FAST).fit(paths, labels)
    calls = recorder.calls()
    assert sum(calls.values()) == FAST["max_epochs"] * len(paths)
    assert os.getpid() not in calls  # decoded and transformed in the loader's workers
    clf.predict(paths)
    clf.predict_proba(paths)
    assert recorder.calls() == calls


def test_train_transform_skips_the_validation_split_and_composes_with_minority_augment(
    mnist_lt, tmp_path
):
    X_train, _, y_train, _ = mnist_lt
    recorder = Recorder(tmp_path)
    minority = []

    def count_minority(image):
        minority.append(1)
        return image

    BalancedImageClassifier(
        train_transform=recorder,
        minority_augment=count_minority,
        train_split=ValidSplit(4, stratified=True),
        **FAST,
    ).fit(X_train, y_train)
    n_valid = len(X_train) // 4 + 1
    assert sum(recorder.calls().values()) in [
        FAST["max_epochs"] * (len(X_train) - n) for n in (n_valid - 1, n_valid)
    ]
    assert list(recorder.calls()) == [os.getpid()]  # arrays: no workers
    assert len(minority) > 0


def test_torchvision_v2_pipeline_as_train_transform(png_folder):
    _, paths, labels = png_folder
    augment = v2.Compose(
        [v2.RandomAffine(degrees=10, translate=(0.1, 0.1)), v2.ColorJitter(0.2, 0.2)]
    )
    clf = BalancedImageClassifier(train_transform=augment, sampler="class_balanced", **FAST)
    assert clf.fit(paths, labels).predict(paths[:3]).shape == (3,)


def test_a_transform_that_changes_the_shape_is_refused(mnist_lt):
    X_train, _, y_train, _ = mnist_lt
    crop = v2.RandomCrop(20)
    with pytest.raises(
        ValueError,
        match=r"turned the image X\[\d+\] of shape \(1, 28, 28\) into \(1, 20, 20\)",
    ):
        BalancedImageClassifier(train_transform=crop, **FAST).fit(X_train, y_train)


def test_training_reproducible_with_a_random_train_transform_in_workers(png_folder):
    _, paths, labels = png_folder
    augment = v2.RandomAffine(degrees=15)
    fits = [
        BalancedImageClassifier(train_transform=augment, **FAST)
        .fit(paths, labels)
        .predict_proba(paths)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0], fits[1])


def test_uint8_array_is_neither_copied_nor_converted_to_float():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(4000, 32, 32, 3), dtype=np.uint8)  # 12 MiB
    y = np.arange(len(X)) % 4
    params = dict(max_epochs=1, random_state=0, module__width=4)
    BalancedImageClassifier(**params).fit(X[:100], y[:100]).predict(X[:10])  # imports, warm-up
    tracemalloc.start()
    try:
        BalancedImageClassifier(**params).fit(X, y).predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # numpy's allocations are traced: a float32 copy alone would be 4x the array; what
    # remains is the statistics' fixed-size chunks and the predictions
    assert peak < 0.5 * X.nbytes, peak / X.nbytes


def test_loader_defaults_follow_the_source_and_are_overridable(png_folder, mnist_lt):
    from imbtorch.data.loader import MAX_DEFAULT_WORKERS, available_cpus

    _, paths, labels = png_folder
    X_train, _, y_train, _ = mnist_lt
    clf = BalancedImageClassifier(**FAST).fit(paths, labels)
    train = clf.get_iterator(clf._fit_dataset(paths, labels, None, reset=False)[0], training=True)
    assert train.num_workers == min(MAX_DEFAULT_WORKERS, available_cpus())
    assert train.persistent_workers and not train.pin_memory
    assert clf.get_iterator(clf._prediction_input(paths)).num_workers == train.num_workers
    clf.fit(X_train, y_train)
    assert clf.get_iterator(clf._prediction_input(X_train)).num_workers == 0
    own = BalancedImageClassifier(iterator_valid__num_workers=1, **FAST).fit(X_train, y_train)
    loader = own.get_iterator(own._prediction_input(X_train))
    assert loader.num_workers == 1 and loader.persistent_workers
    assert own.predict(X_train).shape == y_train.shape


def test_embedder_on_an_image_folder(png_folder):
    root, _, _ = png_folder
    folder = ImageFolder(root)
    embedder = ImageEmbedder(BalancedImageClassifier(**FAST)).fit(folder)
    assert embedder.transform(folder).shape == (len(folder), embedder.embedding_dim_)
