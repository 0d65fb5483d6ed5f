"""Hugging Face ``datasets``: a local imagefolder and a multi-label Dataset of PNG files."""

import shutil
import sys
import types

import datasets
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from imbtorch import BalancedImageClassifier, ImageEmbedder, report
from imbtorch.data.huggingface import HFImageDataset, is_hf_dataset
from imbtorch.evaluation import compare_strategies

FAST = dict(max_epochs=2, random_state=0, module__width=8, batch_size=16)
NAMES = ["zero", "even", "small"]  # multi-label columns, deliberately not sorted


def _folder_dataset(root, cache):
    return datasets.load_dataset("imagefolder", data_dir=str(root), split="train", cache_dir=cache)


@pytest.fixture(scope="module")
def folder_ds(png_folder, tmp_path_factory):
    """``png_folder`` (MNIST digits 0-4, long-tailed, grey PNGs in digit<d>/) as imagefolder."""
    root, _, labels = png_folder
    return _folder_dataset(root, str(tmp_path_factory.mktemp("hf_cache"))), labels


def _multilabel(paths, digits):
    labels = [
        [j for j, on in enumerate((d == 0, d % 2 == 0, d < 2)) if on] for d in digits.tolist()
    ]
    features = datasets.Features(
        {"image": datasets.Image(), "tags": datasets.Sequence(datasets.ClassLabel(names=NAMES))}
    )
    return datasets.Dataset.from_dict({"image": list(paths), "tags": labels}, features=features)


@pytest.fixture(scope="module")
def multilabel_ds(png_folder):
    _, paths, labels = png_folder
    digits = np.array([int(name[-1]) for name in labels])
    return _multilabel(paths, digits), digits


def test_fit_on_an_imagefolder_predicts_its_class_label_names(folder_ds):
    ds, labels = folder_ds
    clf = BalancedImageClassifier(**FAST).fit(ds)
    assert clf.classes_.tolist() == ds.features["label"].names == sorted(set(labels))
    names = np.asarray(ds.features["label"].names)
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(ds["label"]))
    predicted = clf.predict(ds)
    assert set(predicted) <= set(names) and predicted.shape == (len(ds),)
    assert clf.image_shape_ == (1, 28, 28)  # grey PNGs stay grey
    assert clf.score(ds, names[np.asarray(ds["label"])]) > 0.4


def test_views_index_without_decoding_an_image(multilabel_ds, png_folder, tmp_path):
    """Targets, splits and views read the label column only: with every file gone they still
    work, and only reading an item fails."""
    _, paths, _ = png_folder
    moved = [str(tmp_path / f"{i}.png") for i in range(len(paths))]
    for source, copy in zip(paths, moved, strict=True):
        shutil.copy(source, copy)
    _, digits = multilabel_ds
    images = HFImageDataset(_multilabel(moved, digits))
    for copy in moved:
        (tmp_path / copy).unlink()
    view = images[np.array([3, 1, 4, 1, 5])]
    assert isinstance(view, HFImageDataset) and len(view) == 5 and view.shape == (5,)
    np.testing.assert_array_equal(view.targets, images.targets[[3, 1, 4, 1, 5]])
    assert len(images[:10]) == 10 and len(images[images.targets[:, 0] == 1]) == (digits == 0).sum()
    with pytest.raises(FileNotFoundError):
        view[0]


def test_multilabel_sequence_of_class_labels_is_an_indicator_in_the_features_order(multilabel_ds):
    ds, digits = multilabel_ds
    images = HFImageDataset(ds)
    assert images.multilabel and images.classes == NAMES
    expected = np.column_stack([digits == 0, digits % 2 == 0, digits < 2]).astype(np.uint8)
    np.testing.assert_array_equal(images.targets, expected)
    clf = BalancedImageClassifier(**FAST).fit(ds)
    assert clf.multilabel_
    np.testing.assert_array_equal(clf.class_counts_, expected.sum(axis=0))
    assert clf.predict(ds).shape == (len(ds), len(NAMES))
    assert set(report(clf, ds, None).per_class.index) == set(NAMES)  # the feature's names


def test_a_multilabel_dataset_is_searched_and_compared_on_folds(multilabel_ds):
    ds, _ = multilabel_ds
    images = HFImageDataset(ds)
    search = GridSearchCV(BalancedImageClassifier(**FAST), {"lr": [0.01, 0.03]}, cv=2)
    assert search.fit(images, images.targets).predict(images[:5]).shape == (5, len(NAMES))
    table = compare_strategies(
        ds, None, ["ce", "asl"], estimator=BalancedImageClassifier(**FAST), cv=2
    )
    assert set(table.index) == {"ce", "asl"} and table["map_macro_mean"].notna().all()


def test_grid_search_and_compare_strategies_split_the_dataset(folder_ds):
    ds, _ = folder_ds
    images = HFImageDataset(ds)
    search = GridSearchCV(BalancedImageClassifier(**FAST), {"lr": [0.01, 0.03]}, cv=2)
    search.fit(images, images.targets)
    assert set(search.predict(ds)) <= set(images.classes)
    table = compare_strategies(
        ds, None, ["ce", "auto"], estimator=BalancedImageClassifier(**FAST), cv=2
    )
    assert set(table.index) == {"ce", "auto"} and table["balanced_accuracy_mean"].notna().all()


def test_loader_workers_decode_the_images_and_the_report_reads_the_labels(folder_ds):
    ds, labels = folder_ds
    clf = BalancedImageClassifier(**FAST, iterator_train__num_workers=2)
    clf.fit(ds)
    result = report(clf, ds, None)
    assert set(result.per_class.index) == set(labels)


def test_image_embedder_fits_its_classifier_on_the_dataset(folder_ds):
    ds, _ = folder_ds
    embedder = ImageEmbedder(BalancedImageClassifier(**FAST)).fit(ds)
    assert embedder.transform(ds).shape == (len(ds), embedder.embedding_dim_)


def test_a_missing_class_label_is_the_unlabelled_marker(png_folder):
    _, paths, labels = png_folder
    codes = np.array([int(name[-1]) for name in labels])
    codes[::3] = -1  # ClassLabel's missing label
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=[f"d{i}" for i in range(5)])}
    )
    ds = datasets.Dataset.from_dict({"image": list(paths), "label": codes}, features=features)
    assert (HFImageDataset(ds).targets == -1).sum() == (codes == -1).sum()
    clf = BalancedImageClassifier(**FAST).fit(ds)  # self-training: a teacher on the dataset
    assert clf.classes_.tolist() == [f"d{i}" for i in range(5)]
    pseudo_labels = clf.plan_.unlabeled.pseudo_labels
    assert set(pseudo_labels.positions) <= set(np.flatnonzero(codes == -1))
    assert set(pseudo_labels.labels) <= set(clf.classes_)
    assert clf.n_samples_fit_ == (codes != -1).sum() + len(pseudo_labels.positions)


def test_columns_are_named_when_they_cannot_be_inferred(png_folder, folder_ds):
    _, paths, labels = png_folder
    ds, _ = folder_ds
    two = ds.add_column("other", ds["label"]).cast_column("other", ds.features["label"])
    with pytest.raises(ValueError, match=r"several: \['label', 'other'\].*label_column="):
        BalancedImageClassifier(**FAST).fit(two)
    clf = BalancedImageClassifier(**FAST).fit(HFImageDataset(two, label_column="other"))
    assert clf.classes_.tolist() == ds.features["label"].names
    with pytest.raises(ValueError, match="image_column='picture' is not a column.*'image'"):
        HFImageDataset(ds, image_column="picture")
    undecoded = ds.cast_column("image", datasets.Image(decode=False))
    with pytest.raises(
        ValueError, match=r"decode=False.*cast_column\('image', datasets.Image\(\)\)"
    ):
        BalancedImageClassifier(**FAST).fit(undecoded)
    plain = datasets.Dataset.from_dict({"path": list(paths), "name": list(labels)})
    with pytest.raises(ValueError, match="one Image feature.*has none.*cast_column"):
        BalancedImageClassifier(**FAST).fit(plain)
    strings = HFImageDataset(
        plain.cast_column("path", datasets.Image()), image_column="path", label_column="name"
    )
    assert strings.targets.tolist() == list(labels)  # a plain column is read as it is


def test_streaming_datasets_and_dataset_dicts_are_refused_with_the_fix(folder_ds):
    ds, _ = folder_ds
    with pytest.raises(TypeError, match="streaming.*no random access.*without streaming=True"):
        BalancedImageClassifier(**FAST).fit(ds.to_iterable_dataset())
    with pytest.raises(TypeError, match=r"DatasetDict of the splits \['train'\].*X\['train'\]"):
        BalancedImageClassifier(**FAST).fit(datasets.DatasetDict(train=ds))


def test_an_unrelated_module_called_datasets_is_not_taken_for_hugging_faces(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", types.ModuleType("datasets"))
    assert not is_hf_dataset([np.zeros((4, 4))]) and not is_hf_dataset(np.zeros((2, 4, 4)))
