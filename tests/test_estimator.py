import numpy as np
import pytest
import torch
from imblearn.under_sampling import RandomUnderSampler
from sklearn.metrics import accuracy_score, f1_score
from skorch.callbacks import EpochScoring
from torch.utils.data import Subset

from imbtorch import BalancedImageClassifier
from imbtorch.losses import CrossEntropyLoss, FocalLoss

FAST = dict(max_epochs=8, lr=1e-2, batch_size=16, random_state=0)


def test_fits_and_predicts_string_labels(small_images):
    X, y = small_images
    labels = np.array(["bright", "dark", "striped"])[y]
    clf = BalancedImageClassifier(**FAST).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["bright", "dark", "striped"])
    pred = clf.predict(X)
    assert pred.dtype.kind == "U" and (pred == labels).mean() > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], pred)


def test_predict_proba_columns_follow_classes_(small_images):
    X, y = small_images
    shifted = np.array([30, 10, 20])[y]  # sorted classes_ differ from first-seen order
    clf = BalancedImageClassifier(**FAST).fit(X, shifted)
    np.testing.assert_array_equal(clf.classes_, [10, 20, 30])
    proba = clf.predict_proba(X)
    # the bright images (label 30) must put their mass in the last column
    assert proba[y == 0, 2].mean() > 0.8


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X,  # (N, H, W)
        lambda X: X.reshape(len(X), -1),  # (N, H*W), square
        lambda X: X[..., None],  # (N, H, W, 1)
        lambda X: X[:, None],  # (N, 1, H, W)
        lambda X: np.repeat(X[..., None], 3, axis=-1),  # (N, H, W, 3)
        lambda X: np.clip(X * 40 + 128, 0, 255).astype(np.uint8),  # uint8
    ],
    ids=["NHW", "flat", "NHW1", "N1HW", "NHW3", "uint8"],
)
def test_accepts_common_image_layouts(small_images, convert):
    X, y = small_images
    Xc = convert(X)
    clf = BalancedImageClassifier(**FAST).fit(Xc, y)
    assert (clf.predict(Xc) == y).mean() > 0.9


def test_image_shape_unflattens_rectangular_rows(small_images):
    X, y = small_images
    flat = X[:, :4, :].reshape(60, 32)  # 4x8 images, 32 is not a square
    clf = BalancedImageClassifier(image_shape=(4, 8), **FAST).fit(flat, y)
    assert clf.image_shape_ == (1, 4, 8)
    assert (clf.predict(flat) == y).mean() > 0.9


def test_fitted_attributes(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(class_weight="balanced", **FAST).fit(X[:30], y[:30])
    np.testing.assert_array_equal(clf.class_counts_, [20, 10])
    np.testing.assert_allclose(clf.class_weight_, [0.75, 1.5])
    assert clf.n_features_in_ == 8 and clf.image_shape_ == (1, 8, 8)
    assert isinstance(clf.criterion_, CrossEntropyLoss)
    torch.testing.assert_close(clf.criterion_.weight, torch.tensor([0.75, 1.5]))


def test_focal_loss_combines_alpha_dict_with_class_weights(small_images):
    X, y = small_images
    labels = np.array(["a", "b", "c"])[y]
    clf = BalancedImageClassifier(
        loss="focal", focal_gamma=1.5, focal_alpha={"c": 4.0}, class_weight={"a": 0.5}, **FAST
    ).fit(X, labels)
    assert isinstance(clf.criterion_, FocalLoss) and clf.criterion_.gamma == 1.5
    torch.testing.assert_close(clf.criterion_.weight, torch.tensor([0.5, 1.0, 4.0]))


def test_scalar_focal_alpha_on_a_binary_task(small_images):
    X, y = small_images
    mask = y < 2
    clf = BalancedImageClassifier(loss="focal", focal_alpha=0.25, **FAST).fit(X[mask], y[mask])
    torch.testing.assert_close(clf.criterion_.weight, torch.tensor([0.75, 0.25]))


def test_random_state_makes_fits_reproducible_and_leaves_global_rng_alone(small_images):
    X, y = small_images
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first = BalancedImageClassifier(sampler="weighted", **FAST).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), before)
    a = first.predict_proba(X)
    b = BalancedImageClassifier(sampler="weighted", **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = BalancedImageClassifier(sampler="weighted", **{**FAST, "random_state": 1}).fit(X, y)
    assert not np.allclose(a, c.predict_proba(X))


def test_without_random_state_torch_manual_seed_applies(small_images):
    X, y = small_images
    params = {**FAST, "random_state": None}
    torch.manual_seed(5)
    a = BalancedImageClassifier(sampler="class_balanced", **params).fit(X, y).predict_proba(X)
    torch.manual_seed(5)
    b = BalancedImageClassifier(sampler="class_balanced", **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_sample_weight_is_honoured(small_images):
    X, y = small_images
    # make the striped class ambiguous with the bright one, then weight one side
    Xa = X.copy()
    Xa[y == 2] = X[y == 0][: (y == 2).sum()]
    sw = np.where(y == 2, 10.0, 1.0)
    heavy = BalancedImageClassifier(**FAST).fit(Xa, y, sample_weight=sw)
    light = BalancedImageClassifier(**FAST).fit(Xa, y, sample_weight=1.0 / sw)
    share_heavy = (heavy.predict(Xa[y == 0]) == 2).mean()
    share_light = (light.predict(Xa[y == 0]) == 2).mean()
    assert share_heavy > 0.8 > 0.2 > share_light


def test_unit_sample_weight_equals_no_sample_weight(small_images):
    X, y = small_images
    a = BalancedImageClassifier(**FAST).fit(X, y).predict_proba(X)
    b = BalancedImageClassifier(**FAST).fit(X, y, sample_weight=np.ones(60)).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "sampler", ["weighted", "sqrt", "over", "under", "class_balanced", RandomUnderSampler()]
)
def test_every_sampler_trains(small_images, sampler):
    X, y = small_images
    keep = np.r_[0:20, 20:30, 40:44]  # 20 / 10 / 4
    clf = BalancedImageClassifier(sampler=sampler, **FAST).fit(X[keep], y[keep])
    assert (clf.predict(X) == y).mean() > 0.8


def test_oversampling_lengthens_the_epoch(small_images):
    X, y = small_images
    keep = np.r_[0:20, 20:30, 40:44]
    clf = BalancedImageClassifier(sampler="over", **{**FAST, "max_epochs": 1}).fit(X[keep], y[keep])
    seen = sum(b["train_batch_size"] for b in clf.history[-1]["batches"])
    assert seen == 60  # 3 classes x 20


def test_sampler_conflicting_with_iterator_settings_is_refused(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(sampler="weighted", iterator_train__shuffle=False, **FAST)
    with pytest.raises(ValueError, match="iterator_train__shuffle=False conflicts"):
        clf.fit(X, y)
    own = torch.utils.data.SequentialSampler(range(60))
    clf = BalancedImageClassifier(sampler="over", iterator_train__sampler=own, **FAST)
    with pytest.raises(ValueError, match="keep one of them"):
        clf.fit(X, y)


class CountingSampler(torch.utils.data.Sampler):
    def __init__(self, n):
        self.n, self.epochs = n, 0

    def __len__(self):
        return self.n

    def __iter__(self):
        self.epochs += 1
        return iter(np.random.default_rng(self.epochs).permutation(self.n).tolist())


def test_own_torch_sampler_still_works_without_sampler(small_images):
    X, y = small_images
    own = CountingSampler(60)
    clf = BalancedImageClassifier(iterator_train__sampler=own, **FAST).fit(X, y)
    assert clf.get_params()["iterator_train__sampler"].epochs == FAST["max_epochs"]
    assert (clf.predict(X) == y).mean() > 0.9


def test_validation_split_with_skorch_scoring_sees_user_labels(small_images):
    """A user's EpochScoring and skorch's valid_acc score the split as the user's labels."""
    X, y = small_images
    labels = np.array(["a", "b", "c"])[y]
    valid = np.r_[0:5, 20:25, 40:45]

    def split(dataset, y=None):
        return Subset(dataset, np.setdiff1d(np.arange(len(dataset)), valid)), Subset(dataset, valid)

    clf = BalancedImageClassifier(
        train_split=split,
        callbacks=[EpochScoring("f1_weighted", name="valid_wf1", lower_is_better=False)],
        callbacks__early_stopping=None,
        **{**FAST, "max_epochs": 2},
    ).fit(X, labels)
    pred = clf.predict(X[valid])
    assert set(pred) <= {"a", "b", "c"}
    assert clf.history[-1, "valid_wf1"] == pytest.approx(
        f1_score(labels[valid], pred, average="weighted")
    )
    assert clf.history[-1, "valid_acc"] == pytest.approx(accuracy_score(labels[valid], pred))


def test_partial_fit_continues_training(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(**{**FAST, "max_epochs": 1})
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    for _ in range(6):
        clf.partial_fit(X, y)
    assert len(clf.history) == 7
    assert (clf.predict(X) == y).mean() > 0.9
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among classes_"):
        clf.partial_fit(X[:2], np.array([7, 7]))


def test_warm_start_fit_keeps_weights(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(warm_start=True, **{**FAST, "max_epochs": 2}).fit(X, y)
    weights = clf.module_.classifier.weight.detach().clone()
    clf.fit(X, y)
    assert len(clf.history) == 4
    assert not torch.equal(weights, clf.module_.classifier.weight)


def test_module_and_optimizer_params_reach_torch(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(module__width=4, optimizer__weight_decay=0.5, **FAST).fit(X, y)
    assert clf.module_.classifier.in_features == 8
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 0.5


def test_device_auto_resolves_but_get_params_keeps_the_setting():
    clf = BalancedImageClassifier()
    assert clf.get_params()["device"] == "auto"
    assert clf.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_repr_shows_changed_parameters_only():
    assert repr(BalancedImageClassifier()) == "BalancedImageClassifier()"
    assert (
        repr(BalancedImageClassifier(class_weight="balanced", module__width=8))
        == "BalancedImageClassifier(class_weight='balanced', module__width=8)"
    )


def test_loader_settings_can_be_set_on_a_fitted_net(small_images):
    from sklearn.base import clone

    X, y = small_images
    clf = BalancedImageClassifier(max_epochs=1, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    clf.set_params(iterator_valid__batch_size=7, iterator_train__num_workers=0, lr=0.01)
    assert clf.get_params()["iterator_valid__batch_size"] == 7 and clf.lr == 0.01
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-5)
    assert clone(clf).get_params()["iterator_train__num_workers"] == 0
    with pytest.raises(TypeError, match=r"nonsense"):  # reaches the DataLoader, as in skorch
        clf.set_params(iterator_valid__nonsense=1).predict(X)
