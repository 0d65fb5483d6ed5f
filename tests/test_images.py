import numpy as np
import pytest

from imbtorch.images import channel_stats, standardize, to_nchw


def test_grey_3d_gets_a_channel_axis():
    X = np.arange(2 * 5 * 6, dtype=float).reshape(2, 5, 6)
    out = to_nchw(X)
    assert out.shape == (2, 1, 5, 6) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0], X)


def test_channels_last_and_first_are_detected():
    rng = np.random.default_rng(0)
    nhwc = rng.random((2, 7, 9, 3))
    np.testing.assert_allclose(to_nchw(nhwc), nhwc.transpose(0, 3, 1, 2), rtol=1e-6)
    nchw = rng.random((2, 3, 7, 9))
    np.testing.assert_allclose(to_nchw(nchw), nchw, rtol=1e-6)


def test_ambiguous_channel_axis_asks_for_data_format():
    X = np.zeros((2, 3, 4, 3))
    with pytest.raises(ValueError, match="data_format='channels_first'"):
        to_nchw(X)
    assert to_nchw(X, data_format="channels_last").shape == (2, 3, 3, 4)
    assert to_nchw(X, data_format="channels_first").shape == (2, 3, 4, 3)


def test_flat_square_rows_become_square_images():
    X = np.arange(2 * 64, dtype=float).reshape(2, 64)
    out = to_nchw(X)
    assert out.shape == (2, 1, 8, 8)
    np.testing.assert_array_equal(out.reshape(2, 64), X)


def test_flat_non_square_rows_need_image_shape():
    X = np.zeros((3, 10))
    with pytest.raises(ValueError, match="image_shape"):
        to_nchw(X)
    assert to_nchw(X, image_shape=(1, -1)).shape == (3, 1, 1, 10)
    assert to_nchw(X, image_shape=(2, 5)).shape == (3, 1, 2, 5)
    with pytest.raises(ValueError, match="does not fit rows of 10 features"):
        to_nchw(X, image_shape=(3, 3))


def test_image_shape_is_refused_for_image_shaped_input():
    with pytest.raises(ValueError, match="only used to unflatten 2-D X"):
        to_nchw(np.zeros((2, 4, 4)), image_shape=(4, 4))


def test_wrong_ndim_is_refused():
    with pytest.raises(ValueError, match="got 5-D X"):
        to_nchw(np.zeros((1, 1, 2, 2, 2)))


def test_uint8_is_scaled_to_unit_range_and_input_is_not_modified():
    X = np.full((1, 2, 2), 255, dtype=np.uint8)
    out = to_nchw(X)
    np.testing.assert_allclose(out, 1.0)
    out += 1
    assert X[0, 0, 0] == 255


def test_standardize_uses_per_channel_stats():
    rng = np.random.default_rng(1)
    loc = np.array([5.0, -3.0])[None, :, None, None]
    scale = np.array([2.0, 0.5])[None, :, None, None]
    images = (loc + scale * rng.standard_normal((200, 2, 4, 4))).astype(np.float32)
    mean, std = channel_stats(images)
    out = standardize(images.copy(), mean, std)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)


def test_constant_channel_has_unit_std():
    _, std = channel_stats(np.ones((3, 1, 2, 2), dtype=np.float32))
    assert std[0] == 1.0
