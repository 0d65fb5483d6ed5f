import sys
import types

import pytest
import torch
from torch import nn

from imbtorch.networks.backbones import (
    CifarResNet,
    SimpleCNN,
    build_backbone,
    check_backbone_output,
)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 1, 5), (1, 1, 1)])
def test_simple_cnn_handles_small_and_odd_images(shape):
    model = build_backbone("simple_cnn", in_channels=shape[0], num_classes=7)
    assert isinstance(model, SimpleCNN)
    model.eval()
    assert model(torch.zeros(3, *shape)).shape == (3, 7)


def test_simple_cnn_exposes_features_and_classifier():
    model = SimpleCNN(in_channels=1, num_classes=4, width=8)
    assert model.features(torch.zeros(2, 1, 8, 8)).shape == (2, 16)
    assert model.classifier.out_features == 4


def test_resnet32_is_the_papers_network():
    """He et al. 2016, section 4.2: 6n + 2 layers, 16/32/64 channels, 0.46M parameters
    for ResNet-32 on CIFAR-10; parameter-free shortcuts."""
    model = build_backbone("resnet32", in_channels=3, num_classes=10)
    assert isinstance(model, CifarResNet)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(0.46e6, rel=0.01)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 1 == 32  # 31 convolutions and the classifier
    assert [stage.__len__() for stage in model.features[1:4]] == [5, 5, 5]
    model.eval()
    assert model.features(torch.zeros(2, 3, 32, 32)).shape == (2, 64)
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 10)
    assert model(torch.zeros(2, 3, 8, 8)).shape == (2, 10)  # 8 -> 4 -> 2 pixels
    resnet20 = build_backbone("resnet32", in_channels=1, num_classes=4, depth=20, width=8)
    assert [len(stage) for stage in resnet20.features[1:4]] == [3, 3, 3]
    assert resnet20.classifier.in_features == 32
    with pytest.raises(ValueError, match=r"6n \+ 2.*depth=30"):
        CifarResNet(depth=30)


def test_resnet32_shortcut_subsamples_and_zero_pads():
    block = CifarResNet(in_channels=1, num_classes=2, depth=8).features[2][0]  # 16 -> 32, /2
    x = torch.randn(1, 16, 6, 6)
    shortcut = block.shortcut(x)
    assert shortcut.shape == (1, 32, 3, 3)
    torch.testing.assert_close(shortcut[:, 8:24], x[:, :, ::2, ::2])
    assert not shortcut[:, :8].any() and not shortcut[:, 24:].any()
    assert not any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in block.modules())


def test_module_kwargs_reach_the_builtin():
    model = build_backbone("simple_cnn", in_channels=1, num_classes=3, width=4)
    assert model.classifier.in_features == 8


class TakesClasses(nn.Module):
    def __init__(self, num_classes, hidden=5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.LazyLinear(hidden), nn.Linear(hidden, num_classes)
        )

    def forward(self, x):
        return self.net(x)


def test_module_class_gets_num_classes_filled_in():
    model = build_backbone(TakesClasses, in_channels=1, num_classes=6, hidden=3)
    assert model.net[2].out_features == 6 and model.net[2].in_features == 3


def test_module_instance_is_copied_not_shared():
    instance = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    built = build_backbone(instance, in_channels=1, num_classes=2)
    assert built is not instance
    torch.testing.assert_close(built[1].weight, instance[1].weight)


def test_module_kwargs_on_an_instance_are_refused():
    with pytest.raises(TypeError, match="pass the module class"):
        build_backbone(nn.Linear(2, 2), in_channels=1, num_classes=2, width=3)


def test_factory_must_return_a_module():
    with pytest.raises(TypeError, match="not a torch.nn.Module"):
        build_backbone(lambda **kw: "nope", in_channels=1, num_classes=2)


def test_bad_backbone_type_is_refused():
    with pytest.raises(TypeError, match="backbone must be"):
        build_backbone(42, in_channels=1, num_classes=2)


def test_unknown_name_without_torchvision_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails
    with pytest.raises(ValueError, match=r"Unknown backbone 'resnet9000'.*imbtorch\[vision\]"):
        build_backbone("resnet9000", in_channels=1, num_classes=2)


@pytest.fixture
def fake_torchvision(monkeypatch):
    """A stand-in for torchvision.models with one tiny model, recording its calls."""
    calls = []

    def get_model(name, **kwargs):
        calls.append((name, kwargs))
        return nn.Sequential(
            nn.Conv2d(3, 4, 3),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, kwargs["num_classes"]),
        )

    models = types.ModuleType("torchvision.models")
    models.list_models = lambda: ["tinynet"]
    models.get_model = get_model
    package = types.ModuleType("torchvision")
    package.models = models
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    return calls


def test_torchvision_name_builds_untrained_model_with_grey_adapter(fake_torchvision):
    model = build_backbone("tinynet", in_channels=1, num_classes=5)
    assert fake_torchvision == [("tinynet", {"weights": None, "num_classes": 5})]
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 5)
    rgb = build_backbone("tinynet", in_channels=3, num_classes=5)
    assert rgb(torch.zeros(2, 3, 8, 8)).shape == (2, 5)
    four = build_backbone("tinynet", in_channels=4, num_classes=5)
    assert four(torch.zeros(2, 4, 8, 8)).shape == (2, 5)


def test_unknown_torchvision_name_lists_alternatives(fake_torchvision):
    with pytest.raises(ValueError, match=r"Unknown backbone 'resnet9000'.*tinynet"):
        build_backbone("resnet9000", in_channels=1, num_classes=2)


def test_output_check_catches_wrong_number_of_logits():
    with pytest.raises(ValueError, match=r"returns output of shape \(2, 3\).*y has 5 classes"):
        check_backbone_output(nn.Sequential(nn.Flatten(), nn.Linear(4, 3)), (1, 2, 2), 5)


def test_output_check_reports_a_failing_forward():
    with pytest.raises(ValueError, match=r"failed on a batch of shape \(2, 1, 3, 3\)"):
        check_backbone_output(nn.Linear(4, 3), (1, 3, 3), 3)


def test_output_check_keeps_training_mode():
    model = SimpleCNN(num_classes=2)
    model.train()
    check_backbone_output(model, (1, 8, 8), 2)
    assert model.training


def test_estimator_trains_resnet32_with_the_ldam_head_and_frozen_stages(small_images):
    from imbtorch import BalancedImageClassifier
    from imbtorch.networks.layers import NormedLinear
    from imbtorch.networks.stages import backbone_stages

    X, y = small_images
    clf = BalancedImageClassifier(
        "resnet32", module__depth=8, max_epochs=8, lr=1e-2, random_state=0
    ).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert len(backbone_stages(clf.module_, 3)) == 4  # stem, then the three stages
    ldam = BalancedImageClassifier(
        "resnet32", module__depth=8, loss="ldam", freeze=1, max_epochs=1, random_state=0
    ).fit(X, y)
    assert isinstance(ldam.module_.classifier, NormedLinear)
    stem = ldam.module_.features[0][0].weight
    assert not stem.requires_grad and ldam.module_.features[1][0].conv1.weight.requires_grad
