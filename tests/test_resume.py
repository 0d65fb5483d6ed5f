"""Resumable fits: a fit killed mid-training and resumed ends where an uninterrupted one ends."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _interrupt import Interrupt
from conftest import write_image_folder
from imblearn.under_sampling import RandomUnderSampler
from PIL import Image
from skorch.dataset import ValidSplit
from torchvision.transforms import v2

from imbtorch import BalancedImageClassifier
from imbtorch.strategies import AUTO_EMA_EPOCHS, Extension
from imbtorch.training import loop

SCRIPT = Path(__file__).with_name("_resumable_fit.py")
FAST = {"max_epochs": 4, "batch_size": 16, "module__width": 8, "random_state": 0}


def test_a_killed_fit_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    """DRW, DRS with a weighted sampler, random flips, minority augmentation, dropout, a
    learning-rate schedule, early stopping on a validation split, the weight average it
    scores, and the temperature fitted there for proba_prior: all continue exactly after
    SIGKILL, on PNG files decoded by 2 loader workers. (Arrays and every other sampler
    and schedule: the in-process test below.)"""
    env = {**os.environ, "IMAGE_DIR": str(tmp_path / "images")}

    def _run(*args):
        command = [sys.executable, str(SCRIPT), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, env=env)

    whole = _run(tmp_path / "whole", tmp_path / "whole.pt")
    assert whole.returncode == 0, whole.stderr
    killed = _run(tmp_path / "cut", tmp_path / "cut.pt", 4)  # SIGKILL inside epoch 4
    assert killed.returncode == -9, killed.stderr
    assert json.loads((tmp_path / "cut" / "last.json").read_text())["epochs"] == 3
    assert not (tmp_path / "cut.pt").exists()
    resumed = _run(tmp_path / "cut", tmp_path / "cut.pt")
    assert resumed.returncode == 0, resumed.stderr

    expected = torch.load(tmp_path / "whole.pt", weights_only=False)
    got = torch.load(tmp_path / "cut.pt", weights_only=False)
    # none lost or repeated, the history whole though the best epoch is the 6th of 7
    assert got["epochs"] == expected["epochs"] == [1, 2, 3, 4, 5, 6, 7]
    assert int(np.argmax(expected["valid_f1"])) == 5
    assert got["valid_f1"] == expected["valid_f1"]
    for name, tensor in expected["params"].items():
        assert torch.equal(got["params"][name], tensor), name
    np.testing.assert_array_equal(got["proba"], expected["proba"])
    assert got["temperature"] == expected["temperature"] != 1.0
    assert got["workers"] == 2


def whole_and_interrupted(tmp_path, X, y, params, epoch):
    """An uninterrupted fit, and a classifier set to resume one stopped in ``epoch``."""
    whole = BalancedImageClassifier(checkpoint_dir=tmp_path / "whole", **params).fit(X, y)
    cut = BalancedImageClassifier(
        checkpoint_dir=tmp_path / "cut", callbacks=[("stop", Interrupt(epoch))], **params
    )
    with pytest.raises(RuntimeError, match="interrupted"):
        cut.fit(X, y)
    assert json.loads((tmp_path / "cut" / "last.json").read_text())["epochs"] == epoch - 1
    resumed = BalancedImageClassifier(checkpoint_dir=tmp_path / "cut", resume=True, **params)
    return whole, resumed


def assert_same_network(resumed, whole, X):
    """Equal weights and buffers, and equal probabilities on ``X``."""
    for name, tensor in whole.module_.state_dict().items():
        assert torch.equal(resumed.module_.state_dict()[name], tensor), name
    np.testing.assert_array_equal(resumed.predict_proba(X), whole.predict_proba(X))


@pytest.fixture(scope="module")
def png_images(tmp_path_factory):
    """88 grey PNG files in 3 classes (60 / 20 / 8): (paths, labels)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [60, 20, 8])
    pixels = rng.integers(0, 80, size=(len(y), 8, 8)).astype(np.uint8)
    pixels[y == 0] += 150
    pixels[y == 2, :, ::2] += 120
    paths = write_image_folder(tmp_path_factory.mktemp("resume_png"), pixels, y)
    return paths, y


SCHEDULES = {
    "arrays": {"arrays": True},
    "progressive": {"sampler": "progressive"},
    "drs_weighted": {"sampler": "weighted", "drs_epoch": 2},
    "drw": {"class_weight": "balanced", "drw_epoch": 3, "loss": "ldam"},
    "over": {"sampler": "over"},
    "under": {"sampler": "under"},
    "imblearn": {"sampler": RandomUnderSampler(sampling_strategy={0: 30})},
    "class_balanced": {"sampler": "class_balanced"},
    "crt": {"head_resampler": "class_balanced"},
    "sam_minority": {"sam_rho": 0.1, "sam_classes": "minority", "minority_augment": 0.25},
    "cutmix_remix": {"mixup": "cutmix", "remix": True, "class_weight": "balanced"},
    "unimix_sam_sampled": {"mixup": "unimix", "sam_rho": 0.05, "sampler": "sqrt"},
    "warmup_cosine": {"lr_schedule": "cosine", "warmup_epochs": 2, "max_norm": 1.0},
    "default_lr_and_warmup": {"arrays": True, "max_epochs": 10},  # 1 epoch of warm-up at 4e-3
    "sgd_weight_balancing": {
        "optimizer": "sgd",
        "lr": 0.05,
        "weight_decay": 1e-3,
        "head_resampler": "class_balanced",
        "head_smoothing": (0.3, 0.0),
        "max_norm": 1.0,
    },
    "compiled_bf16_warmup": {
        "compile": True,
        "compile__backend": "eager",
        "precision": "bf16-mixed",
        "warmup_epochs": 2,
    },
    "resnet_sam_bf16": {
        "backbone": "resnet32",
        "module__depth": 8,
        "sam_rho": 0.05,
        "max_norm": 1.0,
        "precision": "bf16-mixed",
    },
    "semi_supervised": {  # FixMatch on a third of the images, its pool prior estimated
        "mark_unlabeled": True,
        "unlabeled": "fixmatch",
        "pseudo_label_threshold": 0.4,
    },
    "multilabel": {
        "multilabel": True,
        "loss": "distribution_balanced",
        "sampler": "class_balanced",
        "mixup": "mixup",
        "class_weight": "balanced",
        "drw_epoch": 3,
    },
}


@pytest.mark.parametrize("settings", SCHEDULES.values(), ids=SCHEDULES.keys())
def test_an_interrupted_fit_resumes_exactly_with_every_sampler_and_schedule(
    png_images, settings, tmp_path
):
    """On PNG files decoded by 2 loader workers with a random flip in them (and once on the
    same images as an array); the fit stops with an error in epoch 3 of 5 (the SIGKILL test
    above kills the process)."""
    X, y = png_images
    settings = dict(settings)
    workers = 2
    if settings.pop("arrays", False):
        X = np.stack([np.asarray(Image.open(path)) for path in X])
        workers = 0
    if settings.pop("mark_unlabeled", False):
        y = np.where(np.arange(len(y)) % 3 == 0, -1, y)
    if settings.pop("multilabel", False):  # overlapping labels; label-aware sampling
        y = np.column_stack([y == 0, y != 1, y == 2]).astype(int)
    params = {
        **FAST,
        "max_epochs": 5,
        "module__dropout": 0.2,
        "train_transform": v2.RandomHorizontalFlip(),
        "iterator_train__num_workers": workers,
        "iterator_valid__num_workers": 0,
        **settings,
    }
    if params.get("backbone") == "resnet32":  # BatchNorm in every block, no dropout
        del params["module__dropout"]
    whole, resumed = whole_and_interrupted(tmp_path, X, y, params, 3)
    resumed.fit(X, y)
    epochs = len(whole.history)  # max_epochs, and more where 'auto' trains longer
    assert [row["epoch"] for row in resumed.history] == list(range(1, epochs + 1))
    assert resumed.history[:, "train_loss"] == whole.history[:, "train_loss"]
    if "lr_schedule" in dict(whole.callbacks_):  # the warm-up and cosine continue exactly
        assert resumed.history[:, "event_lr"] == whole.history[:, "event_lr"]
    assert_same_network(resumed, whole, X)
    pseudo = dict(whole.callbacks_).get("pseudo_labeling")
    if pseudo is not None:  # the pool's prior and the pseudo-labels went on exactly
        assert resumed.history[:, "pseudo_labeled"] == whole.history[:, "pseudo_labeled"]
        assert max(whole.history[:, "pseudo_labeled"]) > 0
        np.testing.assert_array_equal(
            dict(resumed.callbacks_)["pseudo_labeling"].prior_, pseudo.prior_
        )


def test_resume_without_a_saved_state_is_a_plain_fit(small_images, tmp_path):
    X, y = small_images
    plain = BalancedImageClassifier(**FAST).fit(X, y)
    first = BalancedImageClassifier(checkpoint_dir=tmp_path, resume=True, **FAST).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), plain.predict_proba(X))
    # a finished fit resumed trains no further and ends with the same network
    again = BalancedImageClassifier(checkpoint_dir=tmp_path, resume=True, **FAST).fit(X, y)
    assert len(again.history) == FAST["max_epochs"]
    np.testing.assert_array_equal(again.predict_proba(X), plain.predict_proba(X))
    # more epochs continue the finished schedule
    longer = {**FAST, "max_epochs": 6}
    more = BalancedImageClassifier(checkpoint_dir=tmp_path, resume=True, **longer).fit(X, y)
    assert [row["epoch"] for row in more.history] == [1, 2, 3, 4, 5, 6]


def test_only_the_newest_complete_state_is_kept_and_read(small_images, tmp_path):
    X, y = small_images
    BalancedImageClassifier(checkpoint_dir=tmp_path, **FAST).fit(X, y)
    assert [p.name[:11] for p in tmp_path.glob("epoch-*")] == ["epoch-00004"]
    # a folder half-written by a fit killed while saving is never pointed to
    (tmp_path / "epoch-00005-killed").mkdir()
    (tmp_path / "epoch-00005-killed" / "params.pt").write_bytes(b"truncated")
    resumed = BalancedImageClassifier(
        checkpoint_dir=tmp_path, resume=True, **{**FAST, "max_epochs": 5}
    ).fit(X, y)
    assert len(resumed.history) == 5
    [folder] = tmp_path.glob("epoch-*")
    assert folder.name.startswith("epoch-00005-") and folder.name != "epoch-00005-killed"
    assert (folder / "params.pt").stat().st_size > 100


def test_the_saved_state_holds_no_training_data(small_images, tmp_path):
    """The validation split's parts are the data a resumed fit is given again, not training
    state: saving them would write the whole dataset after every epoch."""
    X, y = small_images
    X = np.kron(X, np.ones((1, 8, 8), dtype=X.dtype))  # 64x64: 1 MB of images
    split = ValidSplit(4, stratified=True)
    BalancedImageClassifier(checkpoint_dir=tmp_path, train_split=split, **FAST).fit(X, y)
    [folder] = tmp_path.glob("epoch-*")
    state = torch.load(folder / "training.pt", weights_only=False)
    saved = [value for callback in state["callbacks"].values() for _, value in callback.values()]
    assert saved and not any(isinstance(value, torch.utils.data.Dataset) for value in saved)
    assert (folder / "training.pt").stat().st_size < X.nbytes / 10


def test_resume_on_other_data_is_refused(small_images, tmp_path):
    X, y = small_images
    BalancedImageClassifier(checkpoint_dir=tmp_path, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="saved by a fit on other data.*resume=False"):
        BalancedImageClassifier(checkpoint_dir=tmp_path, resume=True, **FAST).fit(X[:50], y[:50])


@pytest.mark.parametrize(
    "settings, message",
    [
        ({}, "checkpoint_dir=None; set checkpoint_dir="),
        (
            {"checkpoint_dir": "unused", "train_split": ValidSplit(0.2, stratified=True)},
            "draws a new random split each time; give it a seed",
        ),
    ],
)
def test_resume_that_cannot_be_exact_is_refused(small_images, settings, message):
    X, y = small_images
    with pytest.raises(ValueError, match=message):
        BalancedImageClassifier(resume=True, **settings, **FAST).fit(X, y)


@pytest.mark.parametrize(
    "split, epoch",
    [(None, 12), (ValidSplit(4, stratified=True), 14)],
    ids=["mixing", "split_early_stopping"],
)
def test_a_fit_interrupted_while_training_longer_resumes_exactly(
    png_images, tmp_path, monkeypatch, split, epoch
):
    """'auto' trains ``extra_epochs=4`` more after 10 where its network still errs on the
    training images (noise), mixing in epochs 11-12; stopped in ``epoch``, the resumed fit
    finds that decision in the history (not scoring the network anew) and ends as the
    uninterrupted fit does. With a split, early stopping's best and misses go on too."""
    y = png_images[1]
    X = np.random.default_rng(0).integers(0, 256, size=(len(y), 8, 8), dtype=np.uint8)  # noise
    params = {**FAST, "max_epochs": 10, "extra_epochs": 4, "train_split": split}
    whole, resumed = whole_and_interrupted(tmp_path, X, y, params, epoch)
    score = whole.history[9, "joint_train_score"]
    assert whole.extension_ == Extension(start=10, epochs=4, train_score=score) and score < 0.99
    assert whole.ema_epochs_ == AUTO_EMA_EPOCHS  # the extension trains on from the average

    scored, original = [], loop.joint_balanced_accuracy

    def spied(net, *args):
        scored.append(len(net.history))
        return original(net, *args)

    monkeypatch.setattr(loop, "joint_balanced_accuracy", spied)
    resumed.fit(X, y)
    assert scored == [14]  # only for the stage after the extension: the decision is read back
    assert resumed.extension_ == whole.extension_ and len(resumed.history) == 14
    assert resumed.history[:, "train_loss"] == whole.history[:, "train_loss"]
    # 1 warm-up epoch at half the rate, then the rate, past max_epochs too
    assert whole.history[:, "event_lr"] == pytest.approx([2e-3] + [4e-3] * 13)
    assert resumed.history[:, "event_lr"] == whole.history[:, "event_lr"]
    if split is not None:
        stopped = [dict(f.callbacks_)["early_stopping"] for f in (resumed, whole)]
        assert [(s.best_epoch_, s.misses_, s.waits_) for s in stopped] == [
            (stopped[1].best_epoch_, stopped[1].misses_, (10, 12))
        ] * 2
        assert resumed.history[:, "valid_f1"] == whole.history[:, "valid_f1"]
    assert_same_network(resumed, whole, X)


def test_a_state_saved_by_more_processes_is_refused(small_images, tmp_path):
    X, y = small_images
    BalancedImageClassifier(checkpoint_dir=tmp_path, **FAST).fit(X, y)
    [folder] = tmp_path.glob("epoch-*")
    state = torch.load(folder / "training.pt", weights_only=False)
    state["ranks"] = [{"rng": state["rng"], "callbacks": state["callbacks"]}] * 2
    torch.save(state, folder / "training.pt")
    with pytest.raises(
        ValueError, match="over 2 process\\(es\\), and this one runs over 1.*with 2"
    ):
        BalancedImageClassifier(checkpoint_dir=tmp_path, resume=True, **FAST).fit(X, y)
