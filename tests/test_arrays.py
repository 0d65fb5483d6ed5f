import numpy as np
import pytest

from imbtorch.data.arrays import array_channel_stats, as_nchw


def test_grey_3d_gets_a_channel_axis():
    X = np.arange(2 * 5 * 6, dtype=float).reshape(2, 5, 6)
    out = as_nchw(X)
    assert out.shape == (2, 1, 5, 6)
    np.testing.assert_array_equal(out[:, 0], X)


def test_channels_last_and_first_are_detected():
    rng = np.random.default_rng(0)
    nhwc = rng.random((2, 7, 9, 3))
    np.testing.assert_array_equal(as_nchw(nhwc), nhwc.transpose(0, 3, 1, 2))
    nchw = rng.random((2, 3, 7, 9))
    np.testing.assert_array_equal(as_nchw(nchw), nchw)


def test_ambiguous_channel_axis_asks_for_data_format():
    X = np.zeros((2, 3, 4, 3))
    with pytest.raises(ValueError, match="data_format='channels_first'"):
        as_nchw(X)
    assert as_nchw(X, data_format="channels_last").shape == (2, 3, 3, 4)
    assert as_nchw(X, data_format="channels_first").shape == (2, 3, 4, 3)


def test_flat_square_rows_become_square_images():
    X = np.arange(2 * 64, dtype=float).reshape(2, 64)
    out = as_nchw(X)
    assert out.shape == (2, 1, 8, 8)
    np.testing.assert_array_equal(out.reshape(2, 64), X)


def test_flat_non_square_rows_need_image_shape():
    X = np.zeros((3, 10))
    with pytest.raises(ValueError, match="image_shape"):
        as_nchw(X)
    assert as_nchw(X, image_shape=(1, -1)).shape == (3, 1, 1, 10)
    assert as_nchw(X, image_shape=(2, 5)).shape == (3, 1, 2, 5)
    with pytest.raises(ValueError, match="does not fit rows of 10 features"):
        as_nchw(X, image_shape=(3, 3))


def test_image_shape_is_refused_for_image_shaped_input():
    with pytest.raises(ValueError, match="only used to unflatten 2-D X"):
        as_nchw(np.zeros((2, 4, 4)), image_shape=(4, 4))


def test_wrong_ndim_is_refused():
    with pytest.raises(ValueError, match="got 5-D X"):
        as_nchw(np.zeros((1, 1, 2, 2, 2)))


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 8, 8, 3), (5, 3, 8, 8), (5, 64)])
def test_arrays_are_viewed_in_their_own_dtype_not_copied(shape):
    X = np.random.default_rng(0).integers(0, 256, size=shape).astype(np.uint8)
    out = as_nchw(X)
    assert out.dtype == np.uint8 and np.shares_memory(out, X)


def test_channel_stats_are_exact_across_chunks_and_scale_uint8():
    rng = np.random.default_rng(1)
    loc = np.array([5.0, -3.0])[None, :, None, None]
    scale = np.array([2.0, 0.5])[None, :, None, None]
    images = (loc + scale * rng.standard_normal((203, 2, 4, 4))).astype(np.float32)
    mean, std = array_channel_stats(images, chunk_size=16)
    np.testing.assert_allclose(mean, images.mean(axis=(0, 2, 3), dtype=np.float64), rtol=1e-6)
    np.testing.assert_allclose(std, images.std(axis=(0, 2, 3), dtype=np.float64), rtol=1e-6)
    pixels = rng.integers(0, 256, size=(50, 1, 3, 3)).astype(np.uint8)
    mean, std = array_channel_stats(pixels, chunk_size=7)
    np.testing.assert_allclose(mean, [pixels.mean() / 255], rtol=1e-6)
    np.testing.assert_allclose(std, [pixels.std() / 255], rtol=1e-6)


def test_constant_channel_has_unit_std():
    _, std = array_channel_stats(np.ones((3, 1, 2, 2), dtype=np.float32))
    assert std[0] == 1.0
