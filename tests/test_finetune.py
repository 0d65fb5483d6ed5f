"""Pretrained weights (files, torchvision names from torch's cache), freezing, backbone_lr."""

import urllib.error

import numpy as np
import pytest
import torch
from _steps import first_network

from imbtorch import BalancedImageClassifier
from imbtorch.networks.backbones import SimpleCNN
from imbtorch.networks.pretrained import IMAGENET_MEAN, IMAGENET_STD
from imbtorch.networks.stages import backbone_stages
from imbtorch.training import decoupled

FAST = dict(max_epochs=2, random_state=0, module__width=8, batch_size=32)
RESNET = dict(max_epochs=1, random_state=0, batch_size=32)


@pytest.fixture(scope="module")
def cnn_file(tmp_path_factory):
    """A SimpleCNN (width 8, 10 classes) saved as a checkpoint dict: (path, state_dict)."""
    torch.manual_seed(1)
    state = SimpleCNN(in_channels=1, num_classes=10, width=8).state_dict()
    path = tmp_path_factory.mktemp("weights") / "cnn.pt"
    torch.save({"epoch": 3, "state_dict": state}, path)
    return path, state


def _same(module: torch.nn.Module, state: dict, prefix: str) -> bool:
    own = module.state_dict()
    keys = [k for k in state if k.startswith(prefix)]
    return bool(keys) and all(torch.equal(own[k], state[k]) for k in keys)


def test_weights_file_loads_everything_but_the_head(mnist_lt, cnn_file):
    X_train, _, y_train, _ = mnist_lt
    path, state = cnn_file
    clf = first_network(X_train, y_train, backbone_weights=str(path), **FAST)
    assert _same(clf.module_, state, "features.")
    assert clf.module_.classifier.weight.shape == (5, 16)  # rebuilt: one output per class
    # no pretrained statistics are known for the built-in CNN: the data's are used
    assert clf.channel_mean_.shape == (1,) and 0.05 < clf.channel_mean_[0] < 0.3


def test_weights_that_do_not_fit_are_listed(mnist_lt, cnn_file, tmp_path):
    X_train, _, y_train, _ = mnist_lt
    path, _ = cnn_file
    with pytest.raises(ValueError, match=r"of another shape: features\.0\.0\.weight.*module__"):
        BalancedImageClassifier(backbone_weights=path, max_epochs=1).fit(X_train, y_train)
    wrong = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ValueError, match=r"missing: features\.0\.0\.weight.*1 unexpected: conv1"):
        BalancedImageClassifier(backbone_weights=wrong, **FAST).fit(X_train, y_train)
    with pytest.raises(FileNotFoundError, match=r"gone\.pt' is not a file"):
        BalancedImageClassifier(backbone_weights=tmp_path / "gone.pt", **FAST).fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"exist for torchvision and timm backbones only"):
        BalancedImageClassifier(backbone_weights="DEFAULT", **FAST).fit(X_train, y_train)


def _resnet18_cache(torch_home):
    """A ResNet-18 state_dict placed where torchvision's IMAGENET1K_V1 weights are cached."""
    torchvision = pytest.importorskip("torchvision")
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    torch.manual_seed(2)
    state = torchvision.models.resnet18().state_dict()
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(state, folder / weights.url.rsplit("/", 1)[-1])
    return state


def test_torchvision_weights_name_loads_from_cache_with_imagenet_statistics(
    mnist_lt, tmp_path, monkeypatch
):
    X_train, X_test, y_train, _ = mnist_lt
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    state = _resnet18_cache(tmp_path)
    clf = BalancedImageClassifier(
        "resnet18", backbone_weights="IMAGENET1K_V1", freeze="backbone", **RESNET
    ).fit(X_train, y_train)
    np.testing.assert_allclose(clf.channel_mean_, IMAGENET_MEAN, rtol=1e-6)
    np.testing.assert_allclose(clf.channel_std_, IMAGENET_STD, rtol=1e-6)
    assert clf.module_.conv1.in_channels == 3  # grey images repeated, no adapter
    assert _same(clf.module_, state, "layer4.")  # frozen: still the cached weights
    # frozen BatchNorm layers kept their running statistics
    assert _same(clf.module_, state, "bn1.running_mean")
    assert clf.module_.fc.out_features == 5
    assert clf.predict(X_test).shape == X_test.shape[:1]
    with pytest.raises(ValueError, match=r"Unknown backbone 'resnet_nope'.*list_models"):
        BalancedImageClassifier("resnet_nope", backbone_weights="DEFAULT").fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"'IMAGENET1K_V9' is not .*'DEFAULT', 'IMAGENET1K_V1'"):
        BalancedImageClassifier("resnet18", backbone_weights="IMAGENET1K_V9").fit(X_train, y_train)


def test_offline_error_names_the_file_to_place_in_the_cache(mnist_lt, tmp_path, monkeypatch):
    pytest.importorskip("torchvision")
    X_train, _, y_train, _ = mnist_lt
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    cached = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(OSError, match=rf"put that file at {cached}.*backbone_weights"):
        BalancedImageClassifier("resnet18", backbone_weights="DEFAULT", **RESNET).fit(
            X_train, y_train
        )


def test_freeze_stages_and_unfreeze_epoch(mnist_lt, cnn_file):
    X_train, _, y_train, _ = mnist_lt
    path, state = cnn_file
    net = SimpleCNN(width=8, num_classes=5)
    stages = backbone_stages(net, 5)
    assert [s[0] for s in stages] == [f"features.{i}.0.weight" for i in (0, 1, 3, 4)]
    params = dict(backbone_weights=path, **FAST)
    two = BalancedImageClassifier(freeze=2, **params).fit(X_train, y_train)
    assert _same(two.module_, state, "features.0.") and _same(two.module_, state, "features.1.")
    assert not _same(two.module_, state, "features.3.")
    frozen = BalancedImageClassifier(freeze="backbone", **params).fit(X_train, y_train)
    assert _same(frozen.module_, state, "features.")
    later = BalancedImageClassifier(freeze="backbone", unfreeze_epoch=1, **params)
    later.fit(X_train, y_train)
    assert not _same(later.module_, state, "features.0.")
    assert all(p.requires_grad for p in later.module_.parameters())
    with pytest.raises(ValueError, match=r"freeze=9 stages, but the backbone has 4"):
        BalancedImageClassifier(freeze=9, **params).fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"needs? freeze|but freeze=None"):
        BalancedImageClassifier(unfreeze_epoch=1, **FAST).fit(X_train, y_train)


def test_backbone_lr_is_its_own_parameter_group(mnist_lt, cnn_file):
    X_train, _, y_train, _ = mnist_lt
    path, state = cnn_file
    clf = BalancedImageClassifier(backbone_weights=path, backbone_lr=0.0, lr=0.01, **FAST)
    clf.fit(X_train, y_train)
    lrs = sorted(group["lr"] for group in clf.optimizer_.param_groups)
    assert lrs == [0.0, 0.01]
    assert _same(clf.module_, state, "features.0.0.weight")  # lr 0: not moved
    assert not torch.equal(clf.module_.classifier.weight, state["classifier.weight"][:5])


def test_fine_tuning_keeps_the_smaller_default_learning_rate(mnist_lt, cnn_file, monkeypatch):
    """lr=None: 1e-3 for pretrained weights (4e-3 from scratch), the head's re-training too."""
    X_train, _, y_train, _ = mnist_lt
    head_lrs, retrain = [], decoupled.retrain_classifier
    monkeypatch.setattr(
        decoupled,
        "retrain_classifier",
        lambda *args, **kwargs: head_lrs.append(kwargs["lr"]) or retrain(*args, **kwargs),
    )
    params = {**FAST, "max_epochs": 1, "head_resampler": "class_balanced", "head_epochs": 1}
    tuned = BalancedImageClassifier(backbone_weights=cnn_file[0], **params).fit(X_train, y_train)
    scratch = BalancedImageClassifier(**params).fit(X_train, y_train)
    assert tuned.lr is None and tuned.learning_rate() == 1e-3
    assert {group["lr"] for group in tuned.optimizer_.param_groups} == {1e-3}
    assert scratch.learning_rate() == 4e-3
    assert head_lrs == [1e-3, 4e-3]
    with_backbone_lr = BalancedImageClassifier(
        backbone_weights=cnn_file[0], backbone_lr=1e-4, **params
    ).fit(X_train, y_train)
    assert sorted(g["lr"] for g in with_backbone_lr.optimizer_.param_groups) == [1e-4, 1e-3]


@pytest.mark.parametrize(
    "strategy",
    [
        dict(loss="ldam"),
        dict(head_resampler="class_balanced", head_epochs=2),
        dict(tau_normalize=1.0),
        dict(difficulty_head=0.5, logit_scale=True),
    ],
)
def test_strategies_on_a_frozen_pretrained_backbone(mnist_lt, cnn_file, strategy):
    X_train, X_test, y_train, _ = mnist_lt
    path, state = cnn_file
    clf = BalancedImageClassifier(backbone_weights=path, freeze="backbone", **FAST, **strategy)
    clf.fit(X_train, y_train)
    trunk = clf.module_.trunk if hasattr(clf.module_, "trunk") else clf.module_
    assert _same(trunk, state, "features.")
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_bf16_channels_last_and_compile_on_the_cpu(mnist_lt):
    X_train, X_test, y_train, _ = mnist_lt
    clf = BalancedImageClassifier(precision="bf16-mixed", channels_last=True, **FAST)
    clf.fit(X_train, y_train)
    conv = clf.module_.features[0][0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    proba = clf.predict_proba(X_test)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    full = BalancedImageClassifier(**FAST).fit(X_train, y_train)
    assert np.mean(clf.predict(X_test) == full.predict(X_test)) > 0.8  # same seed, bf16 noise
    compiled = BalancedImageClassifier(
        precision="bf16-mixed", channels_last=True, compile=True, compile__backend="eager", **FAST
    )
    compiled.fit(X_train, y_train)
    np.testing.assert_allclose(compiled.predict_proba(X_test), proba, atol=2e-2)
    with pytest.raises(ValueError, match=r"'16-mixed'.*needs a CUDA device.*'bf16-mixed'"):
        BalancedImageClassifier(precision="16-mixed", device="cpu").fit(X_train, y_train)


def test_timm_backbones_by_name_from_a_file_and_offline(mnist_lt, tmp_path, monkeypatch):
    timm = pytest.importorskip("timm")
    X_train, X_test, y_train, _ = mnist_lt
    torch.manual_seed(3)
    state = timm.create_model("resnet18", num_classes=1000).state_dict()
    path = tmp_path / "resnet18.safetensors"
    from safetensors.torch import save_file

    save_file(state, str(path))
    clf = BalancedImageClassifier("timm/resnet18", backbone_weights=path, freeze=4, **RESNET)
    clf.fit(X_train, y_train)
    np.testing.assert_allclose(clf.channel_mean_, IMAGENET_MEAN, rtol=1e-6)
    assert _same(clf.module_, state, "layer3.") and not _same(clf.module_, state, "layer4.")
    assert clf.module_.get_classifier().out_features == 5
    assert clf.predict(X_test).shape == X_test.shape[:1]
    untrained = BalancedImageClassifier("timm/resnet18", **RESNET).fit(X_train, y_train)
    assert untrained.module_.conv1.in_channels == 1 and untrained.channel_mean_.shape == (1,)
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no retries
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(OSError, match=r"timm\.create_model\('resnet18', pretrained=True\)"):
        BalancedImageClassifier("timm/resnet18", backbone_weights="DEFAULT", **RESNET).fit(
            X_train, y_train
        )
    with pytest.raises(ValueError, match=r"timm has no model 'resnet_nope'"):
        BalancedImageClassifier("timm/resnet_nope", **RESNET).fit(X_train, y_train)


def test_embedder_reads_a_torchvision_weights_file_with_imagenet_statistics_in_bf16(
    mnist_lt, tmp_path
):
    from imbtorch import ImageEmbedder

    torchvision = pytest.importorskip("torchvision")
    X_train, X_test, _, _ = mnist_lt
    path = tmp_path / "resnet18.pth"
    torch.save({"model": torchvision.models.resnet18().state_dict()}, path)
    full = ImageEmbedder("resnet18", weights=path).fit(X_train)
    np.testing.assert_allclose(full.channel_mean_, IMAGENET_MEAN, rtol=1e-6)
    fast = ImageEmbedder("resnet18", weights=path, precision="bf16-mixed", channels_last=True)
    features = fast.fit(X_train).transform(X_test)
    assert features.shape == (len(X_test), 512) and features.dtype == np.float32
    reference = full.transform(X_test)
    assert np.corrcoef(features.ravel(), reference.ravel())[0, 1] > 0.99
    plain = ImageEmbedder("resnet18", weights=path, normalize=False).fit(X_train)  # grey adapter
    assert plain.transform(X_test[:4]).shape == (4, 512)


def test_grid_search_fine_tunes_a_resnet_from_a_weights_file_on_an_image_folder(
    png_folder, tmp_path
):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    torchvision = pytest.importorskip("torchvision")
    _, paths, labels = png_folder
    torch.manual_seed(4)
    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    clf = BalancedImageClassifier(
        "resnet18",
        backbone_weights=path,
        freeze="backbone",
        unfreeze_epoch=1,
        backbone_lr=1e-4,
        image_size=(32, 32),
        **RESNET | {"max_epochs": 2},
    )
    grid = {"sampler": [None, "sqrt"]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(clf, grid, cv=cv, scoring="balanced_accuracy").fit(paths, labels)
    assert search.cv_results_["mean_test_score"].shape == (2,)
    best = search.best_estimator_
    np.testing.assert_allclose(best.channel_mean_, IMAGENET_MEAN, rtol=1e-6)
    assert all(p.requires_grad for p in best.module_.parameters())  # unfrozen after epoch 1
    assert {group["lr"] for group in best.optimizer_.param_groups} == {1e-4, best.learning_rate()}
    assert set(best.predict(paths[:5])) <= set(labels)


def test_the_gradient_scaler_step_equals_the_closure_step(mnist_lt, monkeypatch):
    """The float16 path (scaler, no closure, unscale before on_grad_computed), run on the CPU."""
    from skorch.callbacks import GradientNormClipping

    from imbtorch.training import precision

    X_train, X_test, y_train, _ = mnist_lt
    params = dict(callbacks=[GradientNormClipping(1.0)], **FAST)
    plain = BalancedImageClassifier(**params).fit(X_train, y_train)
    monkeypatch.setattr(precision, "grad_scaler", lambda *_: torch.amp.GradScaler("cpu"))
    scaled = BalancedImageClassifier(**params).fit(X_train, y_train)
    assert isinstance(scaled.grad_scaler_, torch.amp.GradScaler) and plain.grad_scaler_ is None
    # powers of two scale and unscale exactly: the same clipped steps, the same network
    np.testing.assert_allclose(scaled.predict_proba(X_test), plain.predict_proba(X_test), atol=1e-6)
