"""A fit over the processes of ``torchrun`` that ``tests/test_distributed.py`` launches.

Usage: ``torchrun --nproc_per_node N _distributed_fit.py OUT_DIR CASE [CASE ...]``, each CASE
a fit, ``SAMPLER,SEED[,FLAG...]`` (one process group and one import of torch for all of them).
SEED is an int or ``none`` (then every process seeds torch differently and relies on the
seed that process 0 draws). The flags: ``crt`` re-trains the classifier after the epochs
(``head_resampler='class_balanced'``), ``compile`` runs the forward passes through
``torch.compile`` (eager backend), ``max_norm`` caps the classifier's class norms at
0.5, ``imbsam`` trains with ImbSAM (``sam_rho=0.1``, the rarest
class's loss perturbed), ``sgd`` with SGD and momentum,
``las`` smooths cRT's labels (``head_smoothing=(0.3, 0.0)``), ``prior``
predicts under the training prior (``proba_prior='train'``), ``resnet`` trains the CIFAR
ResNet (``backbone='resnet32'``, ``module__depth=8``: one block a stage), ``warmup``
warms the rate up for 2 epochs and decays it on a cosine (skorch's ``LRScheduler``), ``multilabel``
trains on overlapping labels (bright, not dark, striped) as an indicator matrix, ``mixup``
mixes the batches of the first 2 of the 4 epochs (``mixup_epochs=2``), ``unimix`` every
batch with UniMix (``mixup='unimix'``), ``auto``
leaves the classes unweighted, so that ``strategy='auto'`` chooses, and ``longer`` does
so over 10 epochs at a rate too low to learn (``lr=1e-5``), so that it trains 6 more, early
stopping keeping its best through them; ``ema`` averages the weights without a validation split and
``ema_valid`` with one (``ema_epochs=2``); ``semi`` marks every fourth image
unlabelled (-1), trained on by FixMatch (``pseudo_label_threshold=0.4``), and ``self``
so, trained on by self-training (a teacher fitted over the processes first); ``resume``
fits with ``checkpoint_dir`` (dropout on; each process records its own losses): once
whole, once stopped with an error in epoch 3, then resumed (``resume=True``). Every
process writes ``OUT_DIR/case<i>_rank<r>.pt`` for the i-th case (from 0): the sample
indices of its training batches per epoch (each image carries its index in pixel [0, 0, 0]), its
class counts, its history, weights and gathered predictions, and (rank 0) the
predictions of the model pickled and loaded in one process.
"""

import pickle
import sys
from pathlib import Path

import numpy as np
import torch
from _images import three_class_images
from _interrupt import Interrupt
from accelerate import Accelerator
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from imbtorch import BalancedImageClassifier


class RecordBatches(Callback):
    def initialize(self):
        self.epochs_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_.append([])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.epochs_[-1].extend(int(i) for i in batch[0][:, 0, 0, 0].tolist())


FLAGS = {
    "crt": dict(head_resampler="class_balanced", head_epochs=5),
    "compile": dict(compile=True, compile__backend="eager"),
    "max_norm": dict(max_norm=0.5),
    "imbsam": dict(sam_rho=0.1, sam_classes="minority"),
    "sgd": dict(optimizer="sgd", weight_decay=1e-3),
    "las": dict(head_smoothing=(0.3, 0.0)),
    "prior": dict(proba_prior="train"),
    "resnet": dict(backbone="resnet32", module__depth=8),
    "mixup": dict(mixup="mixup", mixup_epochs=2),
    "unimix": dict(mixup="unimix"),
    "warmup": dict(warmup_epochs=2, lr_schedule="cosine"),
    "multilabel": {},
    "auto": dict(class_weight=None),  # strategy='auto' chooses: no re-balancing set
    "longer": dict(class_weight=None, max_epochs=10, lr=1e-5),
    # each process averages its own BatchNorm statistics; no precise pass evens them out
    "ema": dict(ema_epochs=2, train_split=None, precise_bn=False),
    "ema_valid": dict(ema_epochs=2),  # the monitors score the average on each process's shard
    "semi": dict(
        unlabeled="fixmatch", pseudo_label_threshold=0.4
    ),  # a quarter of the images unlabelled: FixMatch
    "self": dict(unlabeled="self_training"),  # the same, self-training
    "resume": dict(module__dropout=0.3),
}


def fit_case(
    accelerator: Accelerator, sampler: str, seed: str, flags: list[str], folder: Path
) -> dict:
    """One fit on every process (three with ``resume``, in ``folder``); what the test compares,
    as a dict."""
    extra = {}
    for flag in flags:
        extra.update(FLAGS[flag])
    X, y = three_class_images([90, 27, 9], name_pixels=True)
    multilabel = "multilabel" in flags
    if "semi" in flags or "self" in flags:
        y = np.where(np.arange(len(y)) % 4 == 0, -1, y)
    if multilabel:  # overlapping labels: the weighted sampler draws by the rarest
        y = np.column_stack([y == 0, y != 1, y == 2]).astype(int)
    settings = dict(
        module__width=8,
        max_epochs=4,
        batch_size=16,
        lr=3e-3,
        class_weight="balanced",
        sampler=None if sampler == "none" else sampler,
        normalize=False,
        train_split=ValidSplit(5, stratified=not multilabel),
        callbacks=[("record", RecordBatches())],
        accelerator=accelerator,
        random_state=None if seed == "none" else int(seed),
    )
    if "resume" in flags:
        return resumed_case(accelerator, X, y, {**settings, **extra}, folder)
    clf = BalancedImageClassifier(**{**settings, **extra})
    torch.manual_seed(accelerator.process_index)  # processes without random_state differ
    clf.fit(X, y)
    record = {
        "epochs": dict(clf.callbacks_)["record"].epochs_,
        "class_counts": clf.class_counts_,
        "class_weight": clf.class_weight_,
        "train_loss": list(clf.history[:, "train_loss"]),
        "valid_f1": list(clf.history[:, "valid_f1"]) if clf.train_split else None,
        "proba": clf.predict_proba(X),
        "params": clf.module_.state_dict(),
        "largest_class_norm": float(clf.module_.classifier.weight.norm(dim=1).max()),
        "world_size": accelerator.num_processes,
        "decision_prior": clf.decision_prior_,
        "temperature": clf.proba_temperature_,
        "event_lr": list(clf.history[:, "event_lr"]) if "warmup" in flags else None,
        "strategy": clf.strategy_,
        "joint_train_score": getattr(clf, "joint_train_score_", None),
        "extension": clf.extension_,
        "epochs_trained": len(clf.history),
        "best_epoch": getattr(dict(clf.callbacks_).get("early_stopping"), "best_epoch_", None),
        "pseudo_labeled": clf.history[:, "pseudo_labeled"] if "semi" in flags else None,
        "pool_prior": clf.plan_.unlabeled.pool_prior if "semi" in flags else None,
        "pseudo_positions": (
            clf.plan_.unlabeled.pseudo_labels.positions if "self" in flags else None
        ),
    }
    if accelerator.is_main_process:  # the pickled model predicts in one process
        record["proba_one_process"] = pickle.loads(pickle.dumps(clf)).predict_proba(X)
    return record


def resumed_case(accelerator: Accelerator, X, y, settings: dict, folder: Path) -> dict:
    """A fit with checkpoint_dir whole, and one stopped in epoch 3 then resumed."""
    fits = {}
    for name, callbacks in (("whole", []), ("cut", [("stop", Interrupt(3))])):
        clf = BalancedImageClassifier(
            **{**settings, "callbacks": callbacks, "checkpoint_dir": folder / name}
        )
        torch.manual_seed(accelerator.process_index)  # processes without random_state differ
        try:
            fits[name] = clf.fit(X, y)
        except RuntimeError as error:
            assert str(error) == "interrupted", error
    resumed = BalancedImageClassifier(**{**settings, "checkpoint_dir": folder / "cut"})
    resumed.set_params(resume=True, callbacks=[])
    resumed.fit(X, y)
    return {
        name: {
            "params": clf.module_.state_dict(),
            "train_loss": list(clf.history[:, "train_loss"]),
            "valid_f1": list(clf.history[:, "valid_f1"]),
            "proba": clf.predict_proba(X),
        }
        for name, clf in (("whole", fits["whole"]), ("resumed", resumed))
    }


if __name__ == "__main__":
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    accelerator = Accelerator(cpu=True)
    for index, case in enumerate(sys.argv[2:]):
        sampler, seed, *flags = case.split(",")
        record = fit_case(accelerator, sampler, seed, flags, out / f"case{index}")
        torch.save(record, out / f"case{index}_rank{accelerator.process_index}.pt")
        accelerator.wait_for_everyone()
    accelerator.end_training()  # destroys the process group before the interpreter exits
