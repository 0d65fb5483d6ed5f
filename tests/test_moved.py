"""Modules that moved keep their old names for one release, with a FutureWarning."""

import importlib

import pytest

MOVED = [  # (old module, a name it held, where that name lives now)
    ("imbtorch.backbones", "SimpleCNN", "imbtorch.networks.backbones"),
    ("imbtorch.backbones", "NormedLinear", "imbtorch.networks.layers"),
    ("imbtorch.heads", "ImbalanceNetwork", "imbtorch.networks.heads"),
    ("imbtorch.heads", "find_classifier", "imbtorch.networks.layers"),
    ("imbtorch.pretrained", "load_weights_file", "imbtorch.networks.pretrained"),
    ("imbtorch.pretrained", "weights_statistics", "imbtorch.networks.backbones"),
    ("imbtorch.network", "build_network", "imbtorch.networks.build"),
    ("imbtorch.multilabel_losses", "AsymmetricLoss", "imbtorch.losses.multilabel"),
    ("imbtorch.class_weights", "compute_imbalance_weights", "imbtorch.losses.class_weights"),
    ("imbtorch.criteria", "make_criterion", "imbtorch.losses.factory"),
    ("imbtorch.resampling", "CappedNeighbors", "imbtorch.samplers.resampling"),
    ("imbtorch.augment", "random_shift", "imbtorch.training.augment"),
    ("imbtorch.mixing", "mix_batch", "imbtorch.training.mixing"),
    ("imbtorch.thresholds", "TunedLabelThresholdsCV", "imbtorch.evaluation.thresholds"),
    ("imbtorch.metrics", "imbalance_scores", "imbtorch.evaluation.metrics"),
    ("imbtorch.metrics", "RecallFrequencyDisplay", "imbtorch.evaluation.displays"),
    ("imbtorch.compare", "compare_strategies", "imbtorch.evaluation.compare"),
    ("imbtorch.training.longer", "Extension", "imbtorch.strategies.plan"),
    ("imbtorch.training", "Extension", "imbtorch.strategies.plan"),
]


@pytest.mark.parametrize("old, name, new", MOVED)
def test_an_old_import_path_warns_and_gives_the_same_object(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(FutureWarning, match=rf"{old} moved to {new} .* import {name} from {new}"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)


def test_a_name_an_old_module_never_held_is_an_attribute_error():
    module = importlib.import_module("imbtorch.heads")
    with pytest.raises(AttributeError, match="module 'imbtorch.heads' has no attribute 'nope'"):
        module.nope  # noqa: B018
    with pytest.raises(AttributeError):
        importlib.import_module("imbtorch.training").DeferredReweightingTypo  # noqa: B018


def test_the_public_packages_keep_their_names_without_a_warning(recwarn):
    from imbtorch.datasets import load_image_folder, load_long_tailed_digits  # noqa: F401
    from imbtorch.losses import FocalLoss, LogitAdjustedLoss  # noqa: F401
    from imbtorch.strategies import STRATEGY_NAMES, strategy_params  # noqa: F401

    assert not [w for w in recwarn if issubclass(w.category, FutureWarning)]
