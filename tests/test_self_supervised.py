"""Self-supervised pretraining in ImageEmbedder (lightly), and a classifier that starts from it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone

from imbtorch import BalancedImageClassifier, ImageEmbedder

SSL = dict(max_epochs=2, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def images(small_images):
    X, y = small_images
    return np.repeat(X, 2, axis=0), np.repeat(y, 2)  # 120 images: batches of 32


@pytest.mark.parametrize("method", ["simclr", "byol", "sdclr"])
def test_fit_without_labels_trains_the_trunk_reproducibly(images, method):
    X, _ = images
    first = ImageEmbedder("simple_cnn", self_supervised=method, **SSL).fit(X)
    assert len(first.self_supervised_loss_) == 2 and np.isfinite(first.self_supervised_loss_).all()
    if method == "byol":  # a negative cosine similarity
        assert all(-1 <= loss <= 1 for loss in first.self_supervised_loss_)
    features = first.transform(X)
    assert features.shape == (len(X), first.embedding_dim_) and np.isfinite(features).all()
    again = ImageEmbedder("simple_cnn", self_supervised=method, **SSL).fit(X)
    np.testing.assert_array_equal(again.transform(X), features)  # workers seeded per epoch
    untrained = ImageEmbedder("simple_cnn", self_supervised=method, **{**SSL, "max_epochs": 1})
    assert not np.allclose(untrained.fit(X).transform(X), features)


def _backbone_parameters(clf):
    return {k: v for k, v in clf.module_.state_dict().items() if not k.startswith("classifier")}


def test_the_pretrained_trunk_reaches_the_classifier(images, tmp_path):
    X, y = images
    embedder = ImageEmbedder("simple_cnn", self_supervised="simclr", **SSL).fit(X)
    trunk = embedder.backbone_state_dict()
    frozen = dict(freeze="backbone", max_epochs=1, random_state=0)
    for weights in (embedder, tmp_path / "trunk.pt"):
        embedder.save_weights(tmp_path / "trunk.pt")
        clf = BalancedImageClassifier(backbone_weights=weights, **frozen).fit(X, y)
        loaded = _backbone_parameters(clf)
        assert set(loaded) == set(trunk)
        for key, value in trunk.items():
            torch.testing.assert_close(loaded[key].cpu(), value, msg=key)
    with_embedder = BalancedImageClassifier(backbone_weights=embedder, **frozen).fit(X, y)
    np.testing.assert_allclose(with_embedder.channel_mean_, embedder.channel_mean_)
    np.testing.assert_allclose(with_embedder.channel_std_, embedder.channel_std_)


def test_a_cloned_embedder_is_refused_with_the_fix(images):
    X, y = images
    fitted = ImageEmbedder("simple_cnn", self_supervised="simclr", **SSL).fit(X)
    clf = clone(BalancedImageClassifier(backbone_weights=fitted, max_epochs=1))
    with pytest.raises(ValueError, match="ImageEmbedder that is not fitted.*save_weights"):
        clf.fit(X, y)


def test_a_classifier_model_lends_its_backbone_settings(images):
    X, _ = images
    model = BalancedImageClassifier(module__width=4)
    narrow = ImageEmbedder(model, self_supervised="byol", **SSL).fit(X)
    wide = ImageEmbedder("simple_cnn", self_supervised="byol", **SSL).fit(X)
    assert narrow.embedding_dim_ < wide.embedding_dim_
    assert not hasattr(narrow, "estimator_")  # no classifier was trained


def test_image_files_train_in_workers_under_mixed_precision(png_folder, capsys):
    _, paths, _ = png_folder
    embedder = ImageEmbedder(
        "simple_cnn", self_supervised="simclr", precision="bf16-mixed", verbose=1, **SSL
    ).fit(paths[:64])
    assert "self-supervised (simclr)" in capsys.readouterr().err  # tqdm's bar
    assert embedder.image_shape_ == (1, 28, 28)
    assert embedder.transform(paths[:3]).shape == (3, embedder.embedding_dim_)


def test_refusals_name_the_fix(images, monkeypatch):
    X, _ = images
    with pytest.raises(ValueError, match="prefit=True .* self_supervised"):
        ImageEmbedder(BalancedImageClassifier(), prefit=True, self_supervised="simclr").fit(X)
    with pytest.raises(ValueError, match="set its backbone_weights"):
        ImageEmbedder(BalancedImageClassifier(), weights="w.pt", self_supervised="simclr").fit(X)
    with pytest.raises(ValueError, match="self_supervised"):
        ImageEmbedder("simple_cnn", self_supervised="rotation").fit(X)
    monkeypatch.setitem(sys.modules, "lightly", None)  # as if lightly were not installed
    with pytest.raises(ImportError, match="pip install lightly"):
        ImageEmbedder("simple_cnn", self_supervised="simclr", **SSL).fit(X)


def test_without_workers_the_views_are_seeded_and_numpy_is_left_as_it_was(images):
    """lightly draws from numpy's global generator: in the process, pretrain_trunk seeds it
    for each epoch and restores it after."""
    from imbtorch.data.sources import make_source
    from imbtorch.networks.backbones import build_backbone
    from imbtorch.networks.layers import split_classifier
    from imbtorch.training.self_supervised import pretrain_trunk

    X, _ = images
    source = make_source(X)
    states = []
    for _ in range(2):
        torch.manual_seed(0)
        trunk = split_classifier(build_backbone("simple_cnn", in_channels=1, num_classes=2), 2)[0]
        np.random.seed(7)  # noqa: NPY002 (the global generator lightly draws from)
        pretrain_trunk(
            trunk,
            source,
            method="byol",
            embedding_dim=64,
            mean=[0.0],
            std=[1.0],
            epochs=2,
            batch_size=32,
            device="cpu",
            seed=3,
            num_workers=0,
        )
        assert np.random.randint(1000) == np.random.RandomState(7).randint(1000)  # noqa: NPY002
        states.append(trunk.state_dict())
    for key, value in states[0].items():
        torch.testing.assert_close(states[1][key], value, msg=key)


def test_a_killed_pretraining_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    """BYOL's trunk, heads, momentum copies, optimizer, dropout and views in 2 workers all
    continue exactly after SIGKILL inside the second of three epochs."""
    script = Path(__file__).with_name("_resumable_pretraining.py")

    def run(*args):
        command = [sys.executable, str(script), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True)

    whole = run(tmp_path / "whole", tmp_path / "whole.pt")
    assert whole.returncode == 0, whole.stderr
    killed = run(tmp_path / "cut", tmp_path / "cut.pt", 2)
    assert killed.returncode == -9, killed.stderr
    assert json.loads((tmp_path / "cut" / "last.json").read_text())["epochs"] == 1
    resumed = run(tmp_path / "cut", tmp_path / "cut.pt")
    assert resumed.returncode == 0, resumed.stderr
    expected = torch.load(tmp_path / "whole.pt", weights_only=False)
    got = torch.load(tmp_path / "cut.pt", weights_only=False)
    assert got["losses"] == expected["losses"] and len(got["losses"]) == 3
    for key, value in expected["trunk"].items():
        assert torch.equal(got["trunk"][key], value), key


def test_an_unseeded_run_resumes_with_its_own_seed(images, tmp_path):
    """Without random_state the run draws its seed; a resumed run takes the saved one, so
    that its batches and views go on as they would have, whatever torch's state."""
    X, _ = images
    settings = dict(SSL, random_state=None, checkpoint_dir=tmp_path / "run")
    torch.manual_seed(1)
    ImageEmbedder("simple_cnn", self_supervised="simclr", **settings).fit(X)
    shutil.copytree(tmp_path / "run", tmp_path / "copy")
    resumed = []
    for folder, seed in (("run", 2), ("copy", 3)):  # the same state, torch seeded apart
        torch.manual_seed(seed)
        again = {**settings, "checkpoint_dir": tmp_path / folder, "max_epochs": 3}
        resumed.append(ImageEmbedder("simple_cnn", self_supervised="simclr", resume=True, **again))
        resumed[-1].fit(X)
    assert resumed[0].self_supervised_loss_ == resumed[1].self_supervised_loss_
    for key, value in resumed[0].backbone_state_dict().items():
        assert torch.equal(resumed[1].backbone_state_dict()[key], value), key


def test_a_checkpoint_of_other_images_is_refused(images, tmp_path):
    X, _ = images
    settings = dict(SSL, max_epochs=1, checkpoint_dir=tmp_path, resume=True)
    ImageEmbedder("simple_cnn", self_supervised="simclr", **settings).fit(X)
    with pytest.raises(ValueError, match="other images or another method.*resume=False"):
        ImageEmbedder("simple_cnn", self_supervised="simclr", **settings).fit(X[:100])
    with pytest.raises(ValueError, match="checkpoint_dir=None"):
        ImageEmbedder("simple_cnn", self_supervised="simclr", resume=True).fit(X)
    with pytest.raises(ValueError, match="self_supervised=None"):
        ImageEmbedder("simple_cnn", weights="w.pt", checkpoint_dir=tmp_path).fit(X)


def test_two_processes_train_one_trunk(tmp_path):
    """Over 2 processes (gloo, CPU), each with its slice of every batch, the trunk is one
    network: equal weights on both processes (DDP's averaged gradients, process 0's
    BatchNorm statistics) and equal losses (their mean), seeded or not; with
    checkpoint_dir, a run of two epochs resumed to three ends as the run of three."""
    script = Path(__file__).with_name("_distributed_pretraining.py")
    cases = ["simclr,0", "byol,none", "simclr,0,resume"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", str(script), str(tmp_path), *cases]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for index, case in enumerate(cases):
        ranks = [torch.load(tmp_path / f"case{index}_rank{r}.pt") for r in (0, 1)]
        epochs = 3 if case.endswith("resume") else 2
        assert ranks[0]["losses"] == ranks[1]["losses"] and len(ranks[0]["losses"]) == epochs
        assert np.isfinite(ranks[0]["losses"]).all(), case
        for key, value in ranks[0]["trunk"].items():
            assert torch.equal(ranks[1]["trunk"][key], value), (case, key)
    for rank in ranks:  # the last case: process 0 saved, each process resumed its own state
        assert rank["resumed"]["losses"] == rank["losses"] and len(rank["losses"]) == 3
        for key, value in rank["trunk"].items():
            assert torch.equal(rank["resumed"]["trunk"][key], value), key


def test_an_accelerator_is_checked_before_training(images, tmp_path):
    X, _ = images
    with pytest.raises(ValueError, match="must be an accelerate.Accelerator"):
        ImageEmbedder("simple_cnn", self_supervised="simclr", accelerator="gloo").fit(X)
    with pytest.raises(
        ValueError,
        match="accelerator is a setting of the self-supervised training.*own accelerator",
    ):
        ImageEmbedder(BalancedImageClassifier(), accelerator=object()).fit(X)


def test_sdclr_prunes_each_layer_by_magnitude_every_epoch():
    from imbtorch.networks.backbones import build_backbone
    from imbtorch.networks.layers import split_classifier
    from imbtorch.training.self_supervised import SDCLR_PRUNED, SelfSupervisedModel

    torch.manual_seed(0)
    trunk = split_classifier(build_backbone("simple_cnn", in_channels=1, num_classes=2), 2)[0]
    model = SelfSupervisedModel(trunk, 64, "sdclr", [0.0], [1.0])
    model.before_epoch()
    weights = dict(trunk.named_parameters())
    assert set(model._masks) == {name for name, w in weights.items() if w.ndim > 1}
    for name, mask in model._masks.items():
        kept = weights[name].abs()[mask.bool()]
        assert mask.mean().item() == pytest.approx(1 - SDCLR_PRUNED, abs=0.02), name
        assert kept.min() >= weights[name].abs()[~mask.bool()].max(), name  # the largest kept
    with torch.no_grad():
        first = next(w for w in weights.values() if w.ndim > 1)
        first.copy_(first.flatten()[torch.randperm(first.numel())].view_as(first))  # moved
    old = {name: mask.clone() for name, mask in model._masks.items()}
    model.before_epoch()
    assert any(not torch.equal(old[name], mask) for name, mask in model._masks.items())
    views = torch.rand(8, 1, 8, 8)
    assert torch.isfinite(model(views, views.flip(-1)))
