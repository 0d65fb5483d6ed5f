"""Bad input gets a clear error that names the problem and the fix."""

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.exceptions import NotFittedError

from imbtorch import BalancedImageClassifier

FAST = dict(max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((30, 8, 8)), np.repeat(["a", "b", "c"], 10)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels(data, bad):
    X, y = data
    X = X.copy()
    X[3, 2, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        BalancedImageClassifier(**FAST).fit(X, y)


def test_non_finite_pixels_at_predict(data):
    X, y = data
    clf = BalancedImageClassifier(**FAST).fit(X, y)
    X = X.copy()
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict(X)


@pytest.mark.parametrize(
    "shape, match",
    [((30,), "Expected 2D array, got 1D array"), ((30, 2, 2, 2, 2), "got 5-D X")],
)
def test_wrong_ndim(data, shape, match):
    _, y = data
    with pytest.raises(ValueError, match=match):
        BalancedImageClassifier(**FAST).fit(np.zeros(shape), y)


def test_length_mismatch(data):
    X, y = data
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[29, 30\]"):
        BalancedImageClassifier(**FAST).fit(X[:29], y)


def test_single_class(data):
    X, _ = data
    with pytest.raises(ValueError, match="only one class .*at least two classes"):
        BalancedImageClassifier(**FAST).fit(X, np.zeros(30))


def test_continuous_target(data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type"):
        BalancedImageClassifier(**FAST).fit(X, np.linspace(0, 1, 30))


def test_class_weight_dict_naming_a_missing_label(data):
    X, y = data
    with pytest.raises(
        ValueError, match=r"class_weight names label\(s\) \['z'\] that are not in y"
    ):
        BalancedImageClassifier(class_weight={"z": 2.0}, **FAST).fit(X, y)


def test_focal_alpha_of_wrong_length(data):
    X, y = data
    with pytest.raises(ValueError, match="needs 3 finite non-negative factors"):
        BalancedImageClassifier(loss="focal", focal_alpha=[1, 2], **FAST).fit(X, y)


def test_scalar_focal_alpha_with_three_classes(data):
    X, y = data
    with pytest.raises(ValueError, match="scalar focal_alpha is defined for two classes"):
        BalancedImageClassifier(loss="focal", focal_alpha=0.25, **FAST).fit(X, y)


def test_sampler_incompatible_with_y(data):
    X, y = data
    bad = RandomUnderSampler(sampling_strategy={"a": 50})
    with pytest.raises(ValueError, match="cannot resample the training labels"):
        BalancedImageClassifier(sampler=bad, **FAST).fit(X, y)
    with pytest.raises(TypeError, match="synthesises new samples"):
        BalancedImageClassifier(sampler=SMOTE(k_neighbors=2), **FAST).fit(X, y)


def test_unknown_backbone_name(data):
    X, y = data
    with pytest.raises(ValueError, match="Unknown backbone 'resnet9000'"):
        BalancedImageClassifier(backbone="resnet9000", **FAST).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"class_weight": "inverse"}, "The 'class_weight' parameter of BalancedImageClassifier"),
        ({"sampler": "smote"}, "The 'sampler' parameter"),
        ({"loss": "ldam-typo"}, "The 'loss' parameter"),
        ({"focal_gamma": -1.0}, "The 'focal_gamma' parameter"),
        ({"beta": 1.0}, "The 'beta' parameter"),
        ({"max_epochs": -2}, "The 'max_epochs' parameter"),
        ({"data_format": "nhwc"}, "The 'data_format' parameter"),
        ({"device": "tpu-ish"}, "device must be 'auto', 'cpu'"),
    ],
)
def test_bad_hyperparameters_fail_in_fit_not_init(data, params, match):
    X, y = data
    clf = BalancedImageClassifier(**{**FAST, **params})  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_explicit_cuda_without_cuda(data, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, y = data
    with pytest.raises(ValueError, match="Use device='auto'"):
        BalancedImageClassifier(device="cuda", **FAST).fit(X, y)


def test_unknown_skorch_argument_names_the_typo(data):
    X, y = data
    with pytest.raises(ValueError, match="did you mean optimizer__momentum"):
        BalancedImageClassifier(optimizer_momentum=0.9, **FAST).fit(X, y)


def test_predict_before_fit(data):
    with pytest.raises(NotFittedError):
        BalancedImageClassifier().predict(data[0])


def test_predict_with_other_image_size(data):
    X, y = data
    clf = BalancedImageClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 7 features, but BalancedImageClassifier is"):
        clf.predict(X[:, :7, :7])
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 8, 8\)"):
        clf.predict(X[:, :, :7])


def test_negative_sample_weight(data):
    X, y = data
    with pytest.raises(ValueError, match=r"Negative values in sample_weight \(first at index 0\)"):
        BalancedImageClassifier(**FAST).fit(X, y, sample_weight=-np.ones(30))


def test_sample_weight_leaving_one_class(data):
    X, y = data
    with pytest.raises(ValueError, match="positive weight on at least two classes"):
        BalancedImageClassifier(**FAST).fit(X, y, sample_weight=(y == "a").astype(float))


def test_backbone_with_wrong_output(data):
    import torch

    X, y = data
    wrong = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 5))
    with pytest.raises(ValueError, match=r"y has 3 classes, so it must return \(2, 3\) logits"):
        BalancedImageClassifier(backbone=wrong, **FAST).fit(X, y)


def test_dataset_without_targets_needs_y(data):
    import torch

    images = torch.utils.data.TensorDataset(torch.zeros(3, 1, 8, 8))  # items: (image,)
    with pytest.raises(ValueError, match="requires y to be passed.*carries no labels"):
        BalancedImageClassifier(**FAST).fit(images, None)


def test_y_of_other_length_than_a_dataset(data):
    import torch

    _, y = data
    pairs = torch.utils.data.TensorDataset(torch.zeros(30, 1, 8, 8), torch.zeros(30))
    with pytest.raises(ValueError, match=r"X holds 30 images and y 29 labels"):
        BalancedImageClassifier(**FAST).fit(pairs, y[:29])


def test_initialize_without_data_says_to_fit():
    with pytest.raises(AttributeError, match=r"call fit\(X, y\) rather than initialize"):
        BalancedImageClassifier().initialize()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_epochs": 0}, r"'max_epochs' parameter .* must be an int in the range \[1, inf\)"),
        ({"proba_prior": [0.5, 0.5]}, r"proba_prior needs 3 positive finite frequencies"),
        ({"proba_prior": [0.5, 0.5, -1.0]}, r"proba_prior needs 3 positive"),
        ({"proba_prior": {"a": 1, "x": 2}}, r"missing \['b', 'c'\], unknown \['x'\]"),
        (
            {"class_weight": {"a": 1.0, "b": 0.0, "c": 0.0}},
            r"class_weight=\{'a': 1.0, 'b': 0.0, 'c': 0.0\} gives every class with training "
            r"images but \['a'\] a weight of 0.*give at least two classes a positive weight",
        ),
        ({"criterion__weight": [0.0, 0.0, 0.0]}, r"criterion__weight gives .* but \[\] a weight"),
    ],
)
def test_settings_that_cannot_train_fail_before_the_network_is_built(data, params, match):
    """proba_prior against classes_, max_epochs, class weights that leave one class: each
    refused when fit starts, not after the training (or silently)."""
    X, y = data
    clf = BalancedImageClassifier(**{**FAST, **params})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not clf.initialized_
    # the same classes weighed 0 leave two that count: that trains
    fine = BalancedImageClassifier(**FAST, class_weight={"a": 1.0, "b": 0.0, "c": 2.0})
    assert fine.fit(X, y).class_weight_.tolist() == [1.0, 0.0, 2.0]
