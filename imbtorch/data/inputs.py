"""ImageInputMixin: what an estimator taking images needs to read any ``X``.

``X`` may be a numeric array (``(N, H, W)``, ``(N, H, W, C)``,
``(N, C, H, W)`` or flat rows), a 1-D sequence of image file paths, a
map-style torch Dataset of ``(image, target)`` pairs, or skorch's
``SliceDataset``. The mixin turns it into an
:class:`~imbtorch.data.dataset.ImageDataset` and standardises batches on the
device; the estimator knows nothing of layouts or files.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions  # private; pinned in pyproject.toml
from sklearn.utils.validation import check_array, validate_data

from .arrays import DATA_FORMATS
from .dataset import ImageDataset
from .files import COLOR_MODES
from .loader import decoding_workers
from .normalize import channel_stats, network_batch
from .sources import ImageSource, make_source
from .targets import check_multilabel_targets, is_multilabel_input

COLOR_CHANNELS = {"auto": None, "grey": 1, "rgb": 3}

#: scikit-learn parameter constraints of the settings :class:`ImageInputMixin` reads.
INPUT_CONSTRAINTS: dict = {
    "image_size": [tuple, list, None],
    "color_mode": [StrOptions(set(COLOR_MODES))],
    "image_shape": [tuple, list, None],
    "data_format": [StrOptions(set(DATA_FORMATS))],
    "normalize": ["boolean"],
}


class ImageInputMixin:
    """Read ``X`` into an :class:`~imbtorch.data.dataset.ImageDataset`; standardise batches.

    Uses the estimator's parameters ``image_shape``, ``data_format``,
    ``image_size``, ``color_mode`` and ``normalize``. With
    ``reset=True`` it sets ``image_shape_``, ``channel_mean_`` and
    ``channel_std_`` (zeros and ones with ``normalize=False``), and
    ``n_features_in_`` for arrays as scikit-learn does; otherwise it reads
    images as they were fitted (same channels) and checks their shape.
    """

    def _image_source(self, X, *, reset: bool) -> ImageSource:
        if reset:
            for name in ("n_features_in_", "feature_names_in_"):
                vars(self).pop(name, None)  # set again by validate_data for arrays
            channels = COLOR_CHANNELS[self.color_mode]
        else:
            channels = self.image_shape_[0]
        workers = self._decoding_workers(training=reset)
        source = make_source(
            X,
            validate_array=lambda X: validate_data(self, X, reset=reset, allow_nd=True),
            image_shape=self.image_shape,
            data_format=self.data_format,
            channels=channels,
            image_size=self.image_size,
            num_workers=workers,
        )
        if reset:
            self.image_shape_ = source.image_shape
        elif source.image_shape != self.image_shape_:
            raise ValueError(
                f"X holds images of shape (C, H, W)={source.image_shape}, but "
                f"{type(self).__name__} was fitted on images of shape {self.image_shape_}; "
                "pass images of that size, or set image_size to resize every image."
            )
        return source

    def _decoding_workers(self, *, training: bool) -> int:
        """Processes that scan and sample images outside the loaders: as many as the loaders'."""
        get_params_for = getattr(self, "get_params_for", None)  # skorch's iterator_*__ params
        prefix = "iterator_train" if training else "iterator_valid"
        return decoding_workers(get_params_for(prefix) if get_params_for else None)

    def _targets(self, source: ImageSource, y) -> np.ndarray:
        """``y`` checked against the images, or a Dataset's own targets when ``y`` is None.

        A 2-D ``y`` with several columns (array, sparse matrix, DataFrame) is a
        multi-label indicator matrix, returned dense.
        """
        if y is None:
            y = source.targets()
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the target y is None "
                    "and X carries no labels. Pass y, one label per image; a torch Dataset "
                    "gives its own when its items are (image, target) pairs or it has a "
                    "targets attribute."
                )
        if is_multilabel_input(y):
            y = check_multilabel_targets(y, unlabeled=True)  # rows of -1 kept
        else:
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            y = column_or_1d(y, warn=True)
        if len(y) != len(source):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: [{len(source)}, {len(y)}]: "
                f"X holds {len(source)} images and y {len(y)} labels. Pass one label per "
                "image (for a torch Dataset, y=None reads its targets)."
            )
        return y

    def _fit_normalization(self, source: ImageSource) -> None:
        """Set ``channel_mean_`` / ``channel_std_``: pretrained weights' own, else the images'."""
        n_channels = self.image_shape_[0]
        pretrained = self._pretrained_statistics() if self.normalize else None
        if pretrained is not None:
            if n_channels not in (1, len(pretrained[0])):
                raise ValueError(
                    f"The pretrained weights expect {len(pretrained[0])}-channel images, but "
                    f"the images have {n_channels} channels; set color_mode='rgb'."
                )
            self.channel_mean_, self.channel_std_ = (
                np.asarray(stat, dtype=np.float32) for stat in pretrained
            )
        elif self.normalize:
            workers = self._decoding_workers(training=True) if source.decodes else 0
            self.channel_mean_, self.channel_std_ = channel_stats(source, num_workers=workers)
        else:
            self.channel_mean_ = np.zeros(n_channels, dtype=np.float32)
            self.channel_std_ = np.ones(n_channels, dtype=np.float32)

    def _pretrained_statistics(self) -> tuple | None:
        """Input mean and std the network's pretrained weights expect; None to use the data's."""
        return None

    def _prediction_dataset(self, X) -> ImageDataset:
        """``X`` read as fitted, for prediction and embedding (no labels, no transform)."""
        return ImageDataset(self._image_source(X, reset=False))

    def _network_input(self, images: torch.Tensor, device) -> torch.Tensor:
        """A batch as the network takes it: on ``device``, float32, standardised.

        Grey images are repeated to the three channels of RGB statistics; with
        ``channels_last`` the batch is laid out so.
        """
        channels_last = getattr(self, "channels_last", False)
        return network_batch(images, self.channel_mean_, self.channel_std_, device, channels_last)
