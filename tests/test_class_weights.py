import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from imbtorch.losses.class_weights import (
    compute_imbalance_weights,
    effective_number_weights,
    weights_from_mapping,
)

Y = np.array(["cat"] * 90 + ["dog"] * 9 + ["eel"] * 1)
CLASSES = np.unique(Y)


def test_none_gives_ones():
    np.testing.assert_array_equal(compute_imbalance_weights(None, classes=CLASSES, y=Y), 1.0)


def test_balanced_is_sklearns():
    np.testing.assert_allclose(
        compute_imbalance_weights("balanced", classes=CLASSES, y=Y),
        compute_class_weight("balanced", classes=CLASSES, y=Y),
    )


def test_effective_number_follows_cui_et_al():
    counts = np.array([90, 9, 1])
    beta = 0.99
    raw = (1 - beta) / (1 - beta**counts)
    expected = raw / raw.sum() * 3
    np.testing.assert_allclose(effective_number_weights(counts, beta), expected)
    np.testing.assert_allclose(
        compute_imbalance_weights("effective", classes=CLASSES, y=Y, beta=beta), expected
    )


def test_effective_number_limits():
    counts = np.array([100, 10, 1])
    np.testing.assert_allclose(effective_number_weights(counts, 0.0), 1.0)
    near_one = effective_number_weights(counts, 1 - 1e-9)
    inverse = (1 / counts) / (1 / counts).sum() * 3
    np.testing.assert_allclose(near_one, inverse, rtol=1e-5)
    with pytest.raises(ValueError, match="beta"):
        effective_number_weights(counts, 1.0)


def test_dict_with_string_labels_defaults_to_one():
    weights = compute_imbalance_weights({"eel": 10.0}, classes=CLASSES, y=Y)
    np.testing.assert_array_equal(weights, [1.0, 1.0, 10.0])


def test_dict_naming_an_unknown_label_is_refused():
    with pytest.raises(ValueError, match=r"names label\(s\) \['fox'\] that are not in y"):
        compute_imbalance_weights({"fox": 2.0}, classes=CLASSES, y=Y)


def test_dict_with_numpy_integer_keys():
    classes = np.array([3, 7])
    np.testing.assert_array_equal(
        weights_from_mapping({np.int64(7): 4.0}, classes, name="w"), [1.0, 4.0]
    )


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "heavy"])
def test_dict_with_bad_weight_is_refused(bad):
    with pytest.raises(ValueError, match="finite non-negative"):
        compute_imbalance_weights({"cat": bad}, classes=CLASSES, y=Y)
