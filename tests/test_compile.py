"""skorch's ``compile=True``: every head, freezing option, cRT, the CIFAR ResNet, the rate's
warm-up and ImageEmbedder work with it.

``module_`` stays the plain network and forward passes run through a compiled
wrapper; the backend here counts the graphs torch.compile hands it (so that
the compiled path is known to run) and runs them eagerly.
"""

import numpy as np
import pytest
import torch

from imbtorch import BalancedImageClassifier, ImageEmbedder

FAST = {"max_epochs": 3, "batch_size": 16, "module__width": 8, "random_state": 0}


class CountingBackend:
    """A torch.compile backend that counts the graphs it gets and runs them as they are."""

    def __init__(self):
        self.graphs = 0

    def __call__(self, graph_module, example_inputs):
        self.graphs += 1
        return graph_module.forward


@pytest.fixture(autouse=True)
def fresh_compiler_caches():
    """torch.compile caches code per function and stops compiling after 8 recompilations
    of one (train and eval modes, new module instances): each test starts afresh."""
    torch.compiler.reset()
    yield
    torch.compiler.reset()


def _frozen(clf):
    return [name for name, p in clf.module_.named_parameters() if not p.requires_grad]


@pytest.mark.parametrize(
    "settings",
    [
        {"logit_scale": True},
        {"difficulty_head": 0.1},
        {"tau_normalize": 1.0},
        {"head_resampler": "class_balanced", "head_epochs": 3},
        {"freeze": 1, "logit_scale": True},
        {"freeze": "backbone", "unfreeze_epoch": 2, "difficulty_head": 0.1},
        {"backbone": "resnet32", "module__depth": 8, "warmup_epochs": 1, "lr_schedule": "cosine"},
    ],
    ids=["logit_scale", "difficulty", "tau", "crt", "freeze1", "unfreeze", "resnet_warmup"],
)
def test_compiled_fits_equal_plain_ones(small_images, settings):
    X, y = small_images
    plain = BalancedImageClassifier(**FAST, **settings).fit(X, y)
    backend = CountingBackend()
    compiled = BalancedImageClassifier(
        **FAST, **settings, compile=True, compile__backend=backend
    ).fit(X, y)
    assert backend.graphs > 0  # the forward passes went through torch.compile
    assert type(compiled.module_) is type(plain.module_)
    assert _frozen(compiled) == _frozen(plain)
    if "freeze" in settings and "unfreeze_epoch" not in settings:
        assert len(_frozen(plain)) > 0
    np.testing.assert_allclose(compiled.predict_proba(X), plain.predict_proba(X), atol=1e-5)
    if "warmup_epochs" in settings:  # the scheduled rates, as in the plain fit
        assert compiled.history[:, "event_lr"] == plain.history[:, "event_lr"]
        # 1 epoch at half the default 4e-3, then half a cosine from 1 over the last 2
        np.testing.assert_allclose(plain.history[:, "event_lr"], [2e-3, 4e-3, 2e-3])
    if "difficulty_head" in settings:
        np.testing.assert_allclose(
            compiled.predict_difficulty(X), plain.predict_difficulty(X), atol=1e-5
        )
    embedded = ImageEmbedder(compiled, prefit=True).fit(X).transform(X)
    np.testing.assert_allclose(embedded, plain.embed(X), atol=1e-5)


def test_a_compiled_fit_pickles_and_predicts(small_images):
    import pickle

    X, y = small_images
    backend = CountingBackend()
    clf = BalancedImageClassifier(**FAST, compile=True, compile__backend=backend).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(copy.predict_proba(X), clf.predict_proba(X), atol=1e-6)
