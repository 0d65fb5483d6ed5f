from types import SimpleNamespace

import numpy as np
import pytest
import torch
from _images import three_class_images
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar
from skorch.dataset import ValidSplit
from skorch.history import History
from torch.utils.data import Subset

from imbtorch import BalancedImageClassifier
from imbtorch.evaluation.multilabel import map_macro
from imbtorch.training.monitors import EarlyStoppingAfter

FAST = {"max_epochs": 6, "batch_size": 16, "random_state": 0, "module__width": 8}


def _names(clf):
    return [name for name, _ in clf.callbacks_]


def _fixed_split(valid_idx):
    def split(dataset, y=None):
        train_idx = np.setdiff1d(np.arange(len(dataset)), valid_idx)
        return Subset(dataset, train_idx), Subset(dataset, valid_idx)

    return split


def test_validation_scores_are_balanced_accuracy_and_macro_f1_of_the_split(small_images):
    X, y = small_images
    labels = np.array(["a", "b", "c"])[y]
    valid_idx = np.r_[0:5, 20:25, 40:45]
    clf = BalancedImageClassifier(
        train_split=_fixed_split(valid_idx), callbacks__early_stopping=None, **FAST
    ).fit(X, labels)
    pred = clf.predict(X[valid_idx])
    assert clf.history[-1, "valid_f1"] == pytest.approx(
        f1_score(labels[valid_idx], pred, average="macro")
    )
    assert clf.history[-1, "valid_bacc"] == pytest.approx(
        balanced_accuracy_score(labels[valid_idx], pred)
    )
    assert "early_stopping" not in _names(clf)


def test_a_split_without_a_class_is_named_once_and_scored_over_the_classes_it_holds(
    small_images, recwarn
):
    X, y = small_images
    labels = np.array(["a", "b", "c"])[y]
    valid_idx = np.r_[0:5, 20:25]  # no "c"
    record = RecordPredictions(X[valid_idx])
    clf = BalancedImageClassifier(
        train_split=_fixed_split(valid_idx),
        callbacks__early_stopping=None,
        callbacks=[("record", record)],
        **FAST,
    ).fit(X, labels)
    messages = [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)]
    assert messages == [
        "The validation split holds no sample of class(es) ['c'] (1 of 3), so valid_bacc, "
        "valid_f1 and early stopping score the others only. The rarest classes of "
        "long-tailed data are often too few to split: train on all the data "
        "(train_split=None) or pass a split that holds each of them."
    ]  # once, and not sklearn's "y_pred contains classes not in y_true" at every epoch
    y_valid, cliffs = labels[valid_idx], 0
    for epoch, pred in enumerate(record.predictions_):
        for name, score in [("valid_f1", f1_score), ("valid_bacc", recall_score)]:
            expected = score(y_valid, pred, labels=["a", "b"], average="macro")
            assert clf.history[epoch, name] == pytest.approx(expected)
        # where some images are predicted "c", sklearn's macro-F1 adds a class scored 0
        cliffs += f1_score(y_valid, pred, average="macro") < clf.history[epoch, "valid_f1"]
    assert cliffs  # an epoch where the fix changed the score


class RecordPredictions(Callback):
    """The predictions of ``X`` after each epoch."""

    def __init__(self, X):
        self.X = X

    def on_train_begin(self, net, **kwargs):
        self.predictions_ = []

    def on_epoch_end(self, net, **kwargs):
        self.predictions_.append(net.predict(self.X))


@pytest.mark.parametrize("multilabel", [False, True])
def test_no_warning_where_the_split_holds_every_class(small_images, recwarn, multilabel):
    X, y = small_images
    target = np.eye(3, dtype=int)[y] if multilabel else y
    split = ValidSplit(0.25, stratified=not multilabel, random_state=0)
    BalancedImageClassifier(train_split=split, **FAST).fit(X, target)
    assert not [w for w in recwarn if "validation split" in str(w.message)]


def test_a_multilabel_split_without_a_label_names_it(small_images):
    X, y = small_images
    Y = np.eye(3, dtype=int)[y]
    valid_idx = np.r_[0:5, 20:25]  # no positive of label 2
    with pytest.warns(UserWarning, match=r"no positive of label\(s\) \[2\] \(1 of 3\)"):
        clf = BalancedImageClassifier(train_split=_fixed_split(valid_idx), **FAST).fit(X, Y)
    assert clf.history[-1, "valid_map"] == pytest.approx(
        map_macro(Y[valid_idx], clf.predict_proba(X[valid_idx]))
    )


def test_monitors_only_with_a_validation_split_and_progress_bar_only_when_verbose(small_images):
    X, y = small_images
    plain = BalancedImageClassifier(**FAST).fit(X, y)
    assert not {"valid_bacc", "valid_f1", "early_stopping", "progress_bar"} & set(_names(plain))
    split = BalancedImageClassifier(train_split=ValidSplit(4, stratified=True), verbose=1, **FAST)
    split.fit(X, y)
    callbacks = dict(split.callbacks_)
    assert isinstance(callbacks["early_stopping"], EarlyStopping)
    assert callbacks["early_stopping"].monitor == "valid_f1"
    assert callbacks["early_stopping"].load_best
    assert isinstance(callbacks["progress_bar"], ProgressBar)
    assert "checkpoint" not in callbacks


def test_early_stopping_restores_the_weights_of_best_macro_f1(small_images):
    X, y = small_images
    valid_idx = np.r_[0:4, 20:24, 40:44]
    clf = BalancedImageClassifier(
        train_split=_fixed_split(valid_idx),
        callbacks__early_stopping__patience=2,
        **{**FAST, "max_epochs": 40, "lr": 3e-2},
    ).fit(X, y)
    assert len(clf.history) < 40  # perfect scores cannot improve: it stops
    best = max(clf.history[:, "valid_f1"])
    assert f1_score(y[valid_idx], clf.predict(X[valid_idx]), average="macro") == best


def _run(callback, scores, net=None):
    """Feed ``scores`` to ``callback`` epoch by epoch, as one run of training of ``net`` (a
    fresh one by default); return the epochs in its history when it ends or stops."""
    if net is None:
        net = SimpleNamespace(history=History(), verbose=0, module_=torch.nn.Linear(1, 1))
        callback.initialize()
    callback.on_train_begin(net)
    for score in scores:
        net.history.new_epoch()
        net.history.record("epoch", len(net.history))
        net.history.record("valid_f1", score)
        try:
            callback.on_epoch_end(net)
        except KeyboardInterrupt:
            break
    return len(net.history)


def test_early_stopping_after_does_not_count_epochs_before_its_start():
    flat = [0.5] * 10
    kwargs = {"monitor": "valid_f1", "lower_is_better": False, "patience": 2}
    assert _run(EarlyStoppingAfter(**kwargs), flat) == 3
    assert _run(EarlyStopping(**kwargs), flat) == 3
    assert _run(EarlyStoppingAfter(start_epoch=5, **kwargs), flat) == 8  # 6th: 1st candidate
    assert _run(EarlyStoppingAfter(start_epoch=5, track_from_start=False, **kwargs), flat) == 7
    # with track_from_start=False the best before start_epoch is the best to beat afterwards
    early = EarlyStoppingAfter(start_epoch=3, track_from_start=False, **kwargs)
    assert _run(early, [0.1, 0.9, 0.2, 0.3, 0.4, 0.5]) == 5


def test_early_stopping_takes_its_best_from_the_start_on():
    kwargs = {"monitor": "valid_f1", "lower_is_better": False, "patience": 2, "start_epoch": 3}
    scores = [0.1, 0.9, 0.2, 0.3, 0.4, 0.5, 0.45, 0.42, 0.41]
    before = EarlyStoppingAfter(track_from_start=False, **kwargs)
    assert _run(before, scores) == 5 and before.best_epoch_ == 2  # epoch 2 is the one to beat
    after = EarlyStoppingAfter(**kwargs)  # the default
    assert _run(after, scores) == 8 and after.best_epoch_ == 6  # epochs 1-3 are no candidates


@pytest.mark.parametrize("track_from_start, best", [(True, 3), (False, 5)])
def test_early_stopping_keeps_its_best_into_an_extension_and_waits_through_its_mixing(
    track_from_start, best
):
    """'auto''s added epochs: the best of the first run stands, the mixing epochs 5-6 wait
    (with track_from_start, not even as the best), and misses count again from epoch 7."""
    net = SimpleNamespace(history=History(), verbose=0, module_=torch.nn.Linear(1, 1))
    stopping = EarlyStoppingAfter(
        monitor="valid_f1",
        lower_is_better=False,
        patience=2,
        start_epoch=2,
        track_from_start=track_from_start,
    ).initialize()
    assert _run(stopping, [0.1, 0.2, 0.6, 0.5], net) == 4  # best 0.6 at 3, a miss at 4
    stopping.extend(4, 6)
    assert _run(stopping, [0.9, 0.1, 0.55, 0.58, 0.7], net) == 8  # misses at 7 and 8: stop
    assert stopping.best_epoch_ == best and stopping.waits_ == (4, 6)
    assert _run(stopping, [0.3], net) == 9  # a new fit forgets all of it
    assert stopping.best_epoch_ == 9 and stopping.waits_ is None


def test_early_stopping_waits_for_deferred_schedules(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(
        train_split=ValidSplit(4, stratified=True),
        class_weight="balanced",
        drw_epoch=3,
        drs_epoch=4,
        sampler="weighted",
        **FAST,
    ).fit(X, y)
    assert dict(clf.callbacks_)["early_stopping"].start_epoch == 4


@pytest.mark.parametrize("mixup_epochs, start", [(2, 2), (None, 0)])
def test_early_stopping_waits_for_the_end_of_the_mixing(small_images, mixup_epochs, start):
    # the plain epochs after mixing show the tail's images whole: a stage like DRW's
    X, y = small_images
    clf = BalancedImageClassifier(
        train_split=ValidSplit(4, stratified=True),
        strategy=None,
        mixup="mixup",
        mixup_epochs=mixup_epochs,
        **FAST,
    ).fit(X, y)
    assert dict(clf.callbacks_)["early_stopping"].start_epoch == start


def test_checkpoint_dir_saves_the_best_state_and_the_fit_ends_as_without_it(tmp_path):
    """The files of the epoch early stopping restores are saved; the fitted model, its
    history and its optimizer are those of the same fit without ``checkpoint_dir``
    (skorch's ``load_best`` would cut the history at the best epoch and roll the optimizer
    back to it)."""
    X, y = three_class_images([60, 20, 8])
    split = ValidSplit(4, stratified=True)
    # without averaging early stopping's best is the 5th of 7, though valid_f1 peaks from the
    # 3rd, before its start (the mixing's end, the 4th); averaged, the last is best here
    # (the killed-fit test in test_resume.py covers the average with checkpoint_dir)
    params = {**FAST, "max_epochs": 7, "lr": 3e-3, "train_split": split, "ema_epochs": 0}
    clf = BalancedImageClassifier(checkpoint_dir=tmp_path, **params).fit(X, y)
    plain = BalancedImageClassifier(**params).fit(X, y)

    checkpoint = dict(clf.callbacks_)["checkpoint"]
    assert isinstance(checkpoint, Checkpoint)
    assert (tmp_path / "params.pt").exists() and (tmp_path / "history.json").exists()
    saved_epochs = [row["epoch"] for row in clf.history if row["event_cp"]]
    assert saved_epochs == [dict(clf.callbacks_)["early_stopping"].best_epoch_] == [5]
    assert [row["epoch"] for row in clf.history if row["valid_f1_best"]][-1] == 3
    assert len(clf.history) == len(plain.history) == 7
    assert clf.history[:, "valid_f1"] == plain.history[:, "valid_f1"]
    for name, tensor in plain.module_.state_dict().items():
        assert torch.equal(clf.module_.state_dict()[name], tensor), name
    steps = [s["step"] for s in clf.optimizer_.state_dict()["state"].values()]
    assert steps == [s["step"] for s in plain.optimizer_.state_dict()["state"].values()]

    # the file holds the weights early stopping restored ('auto' kept its joint classifier:
    # no stage changed them afterwards)
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    assert clf.strategy_ == "logit_adjusted+mixup"
    for name, tensor in clf.module_.state_dict().items():
        assert torch.equal(saved[name], tensor), name


def test_without_early_stopping_the_checkpoint_follows_the_best_macro_f1(tmp_path):
    X, y = three_class_images([60, 20, 8])
    clf = BalancedImageClassifier(
        **{**FAST, "max_epochs": 4, "lr": 3e-3},
        train_split=ValidSplit(4, stratified=True),
        callbacks__early_stopping=None,
        checkpoint_dir=tmp_path,
    ).fit(X, y)
    assert clf.history[:, "event_cp"] == clf.history[:, "valid_f1_best"]
    assert (tmp_path / "params.pt").exists()


def test_checkpoint_dir_without_a_validation_split_keeps_the_training_state(small_images, tmp_path):
    X, y = small_images
    clf = BalancedImageClassifier(checkpoint_dir=tmp_path, **FAST).fit(X, y)
    assert "checkpoint" not in dict(clf.callbacks_)  # no validation score to pick a best by
    assert not (tmp_path / "params.pt").exists()
    assert (tmp_path / "last.json").exists()
    assert [p.name[:11] for p in tmp_path.glob("epoch-*")] == [f"epoch-{FAST['max_epochs']:05d}"]
