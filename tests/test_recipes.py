"""Recent long-tail recipes, each by its paper's definition: the VS loss, MaxNorm, learning-rate
warm-up and cosine decay, mixup, CutMix, UniMix and Remix."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _steps import first_network, one_step_settings
from skorch.callbacks import Callback

from imbtorch import BalancedImageClassifier
from imbtorch.losses import CrossEntropyLoss, LogitAdjustedLoss, VSLoss
from imbtorch.training.mixing import mix_batch, remix_share, unimix_pairs
from imbtorch.training.schedule import default_warmup

COUNTS = torch.tensor([400.0, 100.0, 25.0, 5.0])
FAST = {"max_epochs": 4, "batch_size": 16, "module__width": 8, "random_state": 0}


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 4, generator=g), torch.randint(0, 4, (32,), generator=g)


def test_vs_loss_scales_then_shifts_the_logits(batch):
    """Kini et al. 2021: CE of (n_c / n_max) ** gamma * z_c + tau * log(prior_c)."""
    logits, target = batch
    gamma, tau = 0.3, 0.7
    scale = (COUNTS / COUNTS.max()) ** gamma
    shift = tau * torch.log(COUNTS / COUNTS.sum())
    expected = F.cross_entropy(logits * scale + shift, target)
    torch.testing.assert_close(VSLoss(COUNTS, gamma=gamma, tau=tau)(logits, target), expected)
    # gamma=0 is the logit-adjusted loss; the rare classes' logits shrink when gamma > 0
    torch.testing.assert_close(
        VSLoss(COUNTS, gamma=0.0, tau=tau)(logits, target),
        LogitAdjustedLoss(COUNTS, tau=tau)(logits, target),
    )
    assert torch.all(VSLoss(COUNTS, gamma=0.5).logit_scale.diff() < 0)
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        VSLoss(COUNTS, gamma=-0.1)


def test_vs_loss_trains_with_class_and_sample_weights(small_images):
    X, y = small_images
    keep = np.r_[0:20, 20:28, 40:44]  # 20 / 8 / 4
    clf = BalancedImageClassifier(
        loss="vs", vs_gamma=0.3, logit_adjust_tau=0.5, class_weight="balanced", **FAST
    )
    clf.fit(X[keep], y[keep], sample_weight=np.linspace(0.5, 1.5, len(keep)))
    assert isinstance(clf.criterion_, VSLoss)
    assert (clf.criterion_.gamma, clf.criterion_.tau) == (0.3, 0.5)
    torch.testing.assert_close(clf.criterion_.weight, torch.tensor(clf.class_weight_).float())
    assert clf.history[-1, "train_loss"] < clf.history[0, "train_loss"]
    # criterion__* wins over the named parameters, as for every loss
    clf.set_params(criterion__gamma=0.1, criterion__tau=2.0)
    assert (clf.criterion_.gamma, clf.criterion_.tau) == (0.1, 2.0)


class RecordNorms(Callback):
    """The classifier's per-class weight norms after every training step."""

    def initialize(self):
        self.norms_ = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            weight = net.module_.classifier.weight
            self.norms_.append(weight.detach().norm(dim=1).cpu().numpy())


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"logit_scale": True, "precision": "bf16-mixed"},
        {"compile": True, "compile__backend": "eager", "freeze": 1},
    ],
    ids=["plain", "logit_scale_bf16", "compiled_frozen"],
)
def test_max_norm_caps_every_class_norm_after_every_step(small_images, settings):
    X, y = small_images
    params = {**FAST, "max_epochs": 8, "lr": 0.05, "optimizer__weight_decay": 0.0, **settings}
    free = RecordNorms()
    BalancedImageClassifier(callbacks=[("norms", free)], **params).fit(X, y)
    assert np.max(free.norms_) > 1.0  # without the constraint the norms grow past it
    capped = RecordNorms()
    clf = BalancedImageClassifier(max_norm=1.0, callbacks=[("norms", capped)], **params)
    clf.fit(X, y)
    assert len(capped.norms_) == len(free.norms_) > 0
    assert np.max(capped.norms_) <= 1.0 + 1e-6
    assert (clf.predict(X) == y).mean() > 0.9  # it still learns


def test_max_norm_refuses_a_cosine_classifier(small_images):
    X, y = small_images
    with pytest.raises(
        ValueError,
        match="max_norm rescales the class weight norms.*cosine classifier.*drop max_norm",
    ):
        BalancedImageClassifier(loss="ldam", max_norm=1.0, **FAST).fit(X, y)


@pytest.mark.parametrize(
    "schedule, warmup, expected",
    [
        (
            "cosine",
            2,
            [
                1 / 3,
                2 / 3,
                1.0,
                0.5 * (1 + np.cos(np.pi / 4)),
                0.5,
                0.5 * (1 + np.cos(3 * np.pi / 4)),
            ],
        ),
        ("cosine", 0, [0.5 * (1 + np.cos(np.pi * e / 6)) for e in range(6)]),
        (None, 3, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]),
    ],
)
def test_warmup_and_cosine_set_the_learning_rate_of_every_epoch(
    small_images, schedule, warmup, expected
):
    X, y = small_images
    clf = BalancedImageClassifier(
        lr_schedule=schedule, warmup_epochs=warmup, **{**FAST, "max_epochs": 6, "lr": 0.01}
    ).fit(X, y)
    np.testing.assert_allclose(clf.history[:, "event_lr"], 0.01 * np.asarray(expected))
    # after the last epoch the cosine has reached 0 at max_epochs
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0 if schedule else 0.01)


def test_default_warmup_is_a_tenth_of_the_epochs_from_scratch(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 10}).fit(X, y)
    # one epoch of warm-up at half the default rate, then the rate itself
    np.testing.assert_allclose(clf.history[:, "event_lr"], 4e-3 * np.r_[0.5, np.ones(9)])
    assert [default_warmup(e, pretrained=False) for e in (9, 10, 30, 55)] == [0, 1, 3, 5]
    assert default_warmup(30, pretrained=True) == 0
    assert default_warmup("30", pretrained=False) == 0  # the fit's validation rejects it


def test_fine_tuning_and_an_explicit_zero_have_no_warmup():
    callbacks = dict(BalancedImageClassifier(backbone_weights="w.pt").get_default_callbacks())
    assert "lr_schedule" not in callbacks
    callbacks = dict(BalancedImageClassifier(warmup_epochs=0).get_default_callbacks())
    assert "lr_schedule" not in callbacks
    factor = dict(BalancedImageClassifier().get_default_callbacks())["lr_schedule"].lr_lambda
    assert [factor(e) for e in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_no_schedule_keeps_the_learning_rate(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(**FAST).fit(X, y)
    assert "lr_schedule" not in dict(clf.callbacks_)
    assert clf.optimizer_.param_groups[0]["lr"] == clf.learning_rate() == 4e-3


# -- mixup, CutMix, Remix ----------------------------------------------------------------
def test_mixup_averages_each_image_with_its_partner():
    torch.manual_seed(0)
    images = torch.randn(8, 1, 4, 4)
    codes = torch.arange(8) % 2
    mixed = mix_batch(images, codes, mode="mixup", alpha=0.4)
    lam = float(mixed.share[0])
    assert torch.all(mixed.share == lam) and 0.0 < lam < 1.0
    torch.testing.assert_close(mixed.images, lam * images + (1 - lam) * images[mixed.partner])
    assert sorted(mixed.partner.tolist()) == list(range(8))


def test_cutmix_pastes_a_box_and_the_share_is_the_pixels_left():
    torch.manual_seed(3)
    images = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 1, 16, 16).clone()
    mixed = mix_batch(images, torch.zeros(8, dtype=torch.long), mode="cutmix", alpha=1.0)
    own = (mixed.images == images).float().mean(dim=(1, 2, 3))  # pixels of the image itself
    for i, j in enumerate(mixed.partner.tolist()):
        if i != j:
            assert float(own[i]) == pytest.approx(float(mixed.share[i]))
            pasted = mixed.images[i] == images[j]
            assert torch.all(pasted | (mixed.images[i] == images[i]))


def test_unimix_draws_partners_in_proportion_to_their_class_count_to_the_minus_half():
    """Xu et al. 2021: sample ``k`` is every sample's partner with probability
    ``n(y_k) ** -0.5 / sum_l n(y_l) ** -0.5``; here 3 images of a class of 100, one of 1."""
    torch.manual_seed(0)
    counts_own = torch.tensor([100.0, 100.0, 100.0, 1.0])
    drawn = torch.cat([unimix_pairs(counts_own, 0.8)[0] for _ in range(3000)])
    share_of_the_one = (drawn == 3).float().mean()
    assert float(share_of_the_one) == pytest.approx(1.0 / 1.3, abs=0.01)  # 1 / (3 * 0.1 + 1)


def test_unimix_centres_each_share_on_the_partners_part_of_both_counts(monkeypatch):
    """Own share ``(n_partner / (n_own + n_partner) + s) mod 1``, ``s ~ Beta(alpha, alpha)``,
    by hand for a class of 9 and a class of 1 with the draws ``s`` fixed."""
    spread = torch.tensor([0.0, 0.3, 0.75, 0.5, 0.2, 0.95])
    monkeypatch.setattr(torch.distributions.Beta, "sample", lambda self, shape: spread)
    images = torch.randn(6, 1, 3, 3, generator=torch.Generator().manual_seed(0))
    codes = torch.tensor([0, 0, 0, 1, 1, 0])
    counts = torch.tensor([9, 1])
    torch.manual_seed(0)
    mixed = mix_batch(images, codes, mode="unimix", alpha=0.8, class_counts=counts)
    pairs = [(int(codes[i]), int(codes[j])) for i, j in enumerate(mixed.partner.tolist())]
    centre = {(0, 0): 0.5, (0, 1): 0.1, (1, 0): 0.9, (1, 1): 0.5}  # (own, partner) classes
    expected = [(centre[pair] + float(s)) % 1.0 for pair, s in zip(pairs, spread, strict=True)]
    np.testing.assert_allclose(mixed.share, expected, atol=1e-6)
    own = mixed.share.view(-1, 1, 1, 1)
    torch.testing.assert_close(mixed.images, own * images + (1 - own) * images[mixed.partner])
    # Remix's labels on the shares drawn per sample (the same draws): a class 9 times rarer
    # takes the whole label where its share is over one half
    torch.manual_seed(0)
    remixed = mix_batch(images, codes, mode="unimix", alpha=0.8, class_counts=counts, remix=True)
    assert torch.equal(remixed.partner, mixed.partner)
    by_remix = [
        0.0 if pair == (0, 1) and lam < 0.5 else 1.0 if pair == (1, 0) and lam > 0.5 else lam
        for pair, lam in zip(pairs, expected, strict=True)
    ]
    np.testing.assert_allclose(remixed.share, by_remix, atol=1e-6)
    assert by_remix != expected  # the draws put at least one pair under Remix's rule


class RecordTrainingInputs(Callback):
    """The network's training inputs of the first epoch, one per forward pass."""

    def __init__(self):
        self.seen = []

    def on_train_begin(self, net, **kwargs):
        def record(module, args):
            if module.training:
                self.seen.append(args[0].detach().clone())

        self.hook_ = net.module_.register_forward_pre_hook(record)

    def on_epoch_end(self, net, **kwargs):
        self.hook_.remove()


@pytest.mark.parametrize("mode", ["mixup", "unimix"])
def test_both_passes_of_a_sam_step_see_the_same_mixed_batch(small_images, mode):
    X, y = small_images
    record = RecordTrainingInputs()
    BalancedImageClassifier(
        sam_rho=0.05, mixup=mode, callbacks=[record], **{**FAST, "max_epochs": 1}
    ).fit(X, y)
    first, second = record.seen[0::2], record.seen[1::2]
    assert len(first) == len(second) >= 3
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(first[0], first[1])  # each step mixes anew


def test_remix_gives_the_label_to_the_rarer_partner():
    """Chou et al. 2020 with kappa=3, tau=0.5: own / partner class sizes 10, 1/10, 2."""
    own, partner = torch.tensor([100.0, 10.0, 20.0]), torch.tensor([10.0, 100.0, 10.0])
    np.testing.assert_allclose(remix_share(0.3, own, partner), [0.0, 0.3, 0.3])
    np.testing.assert_allclose(remix_share(0.7, own, partner), [0.7, 1.0, 0.7])


def test_a_mixed_loss_weighs_both_labels_with_their_class_and_sample_weights(batch):
    logits, target = batch
    weight = torch.tensor([0.5, 1.0, 2.0, 4.0])
    loss = CrossEntropyLoss(weight=weight)
    partner = target.roll(1)
    share = torch.linspace(0, 1, len(target))
    sample_weight = torch.linspace(1, 2, len(target))
    got = loss(logits, target, sample_weight, mixed_with=(partner, share, sample_weight.roll(1)))
    ce = F.cross_entropy(logits, target, reduction="none")
    ce_b = F.cross_entropy(logits, partner, reduction="none")
    w_a = weight[target] * sample_weight * share
    w_b = weight[partner] * sample_weight.roll(1) * (1 - share)
    torch.testing.assert_close(got, (w_a * ce + w_b * ce_b).sum() / (w_a + w_b).sum())
    # a share of 1 is the unmixed loss
    ones = torch.ones(len(target))
    torch.testing.assert_close(
        loss(logits, target, mixed_with=(partner, ones, None)), loss(logits, target)
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"mixup": "mixup", "class_weight": "balanced"},
        {"mixup": "cutmix", "remix": True, "sampler": "weighted", "loss": "ldam"},
        {"mixup": "mixup", "remix": True, "loss": "focal", "ohem_ratio": 0.5},
        {"mixup": "unimix", "remix": True, "sampler": "sqrt"},
        {
            "mixup": "unimix",
            "sampler": "sqrt",
            "precision": "bf16-mixed",
            "compile": True,
            "compile__backend": "eager",
        },
    ],
    ids=[
        "mixup_weights",
        "cutmix_remix_ldam",
        "remix_focal_ohem",
        "unimix_remix_sampled",
        "unimix_bf16_compiled",
    ],
)
def test_mixed_training_learns_with_every_loss_and_sampler(small_images, settings):
    X, y = small_images
    keep = np.r_[0:20, 20:30, 40:45]  # 20 / 10 / 5
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 10, "lr": 3e-3}, **settings)
    clf.fit(X[keep], y[keep], sample_weight=np.linspace(0.5, 1.5, len(keep)))
    assert clf.history[-1, "train_loss"] < clf.history[0, "train_loss"]
    assert (clf.predict(X[keep]) == y[keep]).mean() > 0.8


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"remix": True}, "remix=True re-balances the labels of mixed images"),
        ({"mixup": "mixup", "difficulty_head": 1.0}, "gives every training image two"),
    ],
)
def test_mixing_settings_that_cannot_work_are_refused(small_images, settings, message):
    X, y = small_images
    with pytest.raises(ValueError, match=message):
        BalancedImageClassifier(**FAST, **settings).fit(X, y)


# -- sharpness-aware minimisation ----------------------------------------------------------
def test_a_sam_step_applies_the_gradient_at_the_perturbed_weights(small_images):
    """Foret et al. 2021 with plain SGD: w - lr * grad L(w + rho * g / ||g||), g = grad L(w)."""
    X, y = small_images
    rho, lr = 0.5, 0.1
    params = one_step_settings(len(y), optimizer=torch.optim.SGD, lr=lr)
    start = first_network(X, y, **params)  # the same first weights
    sam = BalancedImageClassifier(max_epochs=1, sam_rho=rho, **params).fit(X, y)

    network = copy.deepcopy(start.module_).train()
    weights = list(network.parameters())
    images, target = torch.as_tensor(X)[:, None], torch.as_tensor(y)

    def gradient():
        return torch.autograd.grad(start.criterion_(network(images), target), weights)

    g = gradient()
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in g]))
    with torch.no_grad():
        for w, t in zip(weights, g, strict=True):
            w.add_(rho * t / norm)
    g_sam = gradient()
    with torch.no_grad():
        for w, t in zip(weights, g, strict=True):
            w.sub_(rho * t / norm)
    for (name, got), w, t_sam in zip(sam.module_.named_parameters(), weights, g_sam, strict=True):
        torch.testing.assert_close(got, w - lr * t_sam, atol=1e-6, rtol=1e-5, msg=name)
    plain = [w - lr * t for w, t in zip(weights, g, strict=True)]
    assert any(
        not torch.allclose(got, p) for got, p in zip(sam.module_.parameters(), plain, strict=True)
    )


class RecordingShift:
    """A minority transform that adds fresh noise and records what it returns."""

    def __init__(self):
        self.outputs = []

    def __call__(self, image):
        out = image + torch.rand_like(image)
        self.outputs.append(out)
        return out


def test_both_sam_passes_see_the_same_augmented_batch(small_images):
    X, y = small_images
    transform = RecordingShift()
    BalancedImageClassifier(
        sam_rho=0.1,
        minority_augment=transform,
        minority_classes=[2],
        mixup="mixup",
        **{**FAST, "max_epochs": 1, "batch_size": len(y)},
    ).fit(X, y)
    first, second = transform.outputs[:20], transform.outputs[20:]
    assert len(first) == len(second) == 20
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "settings",
    [
        {"precision": "bf16-mixed", "compile": True, "compile__backend": "eager"},
        {"class_weight": "balanced", "drw_epoch": 4, "max_norm": 2.0, "freeze": 1},
    ],
    ids=["bf16_compiled", "drw_maxnorm_frozen"],
)
def test_sam_learns_with_the_other_options(small_images, settings):
    X, y = small_images
    clf = BalancedImageClassifier(sam_rho=0.05, **{**FAST, "max_epochs": 8, "lr": 3e-3}, **settings)
    clf.fit(X, y)
    assert clf.history[-1, "train_loss"] < clf.history[0, "train_loss"]
    assert (clf.predict(X) == y).mean() > 0.9


def test_sam_with_a_float16_gradient_scaler_is_refused(small_images):
    X, y = small_images
    with pytest.raises(ValueError, match="sam_rho takes two gradients a step"):
        BalancedImageClassifier(sam_rho=0.05, precision="16-mixed", **FAST).fit(X, y)
