"""A fit over the processes of ``torchrun`` that ``tests/test_distributed.py`` launches.

Usage: ``torchrun --nproc_per_node N _distributed_fit.py OUT_DIR SAMPLER SEED [crt]
[compile]``, SEED an int or ``none`` (then every process seeds torch differently and relies on the
seed that process 0 draws); ``crt`` re-trains the classifier after the epochs
(``head_resampler='class_balanced'``), ``compile`` runs the forward passes through
``torch.compile`` (eager backend), ``max_norm`` caps the classifier's class norms at
0.5, ``imbsam`` trains with ImbSAM (``sam_rho=0.1``, the rarest
class's loss perturbed), ``sgd`` with SGD and momentum,
``las`` smooths cRT's labels (``head_smoothing=(0.3, 0.0)``), ``prior``
predicts under the training prior (``proba_prior='train'``), ``resnet`` trains the CIFAR
ResNet (``backbone='resnet32'``, ``module__depth=8``: one block a stage), ``warmup``
warms the rate up for 2 epochs and decays it on a cosine (skorch's ``LRScheduler``), ``multilabel``
trains on overlapping labels (bright, not dark, striped) as an indicator matrix, ``mixup``
mixes the batches of the first 2 of the 4 epochs (``mixup_epochs=2``). Every
process writes ``OUT_DIR/rank<r>.pt``: the sample indices of its training
batches per epoch (each image carries its index in pixel [0, 0, 0]), its
class counts, its history, weights and gathered predictions, and (rank 0) the
predictions of the model pickled and loaded in one process.
"""

import pickle
import sys
from pathlib import Path

import numpy as np
import torch
from _images import three_class_images
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


if __name__ == "__main__":
    torch.set_num_threads(1)
    out, sampler, seed = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    extra = {}
    if "crt" in sys.argv[4:]:
        extra.update(head_resampler="class_balanced", head_epochs=5)
    if "compile" in sys.argv[4:]:
        extra.update(compile=True, compile__backend="eager")
    if "max_norm" in sys.argv[4:]:
        extra.update(max_norm=0.5)
    if "imbsam" in sys.argv[4:]:
        extra.update(sam_rho=0.1, sam_classes="minority")
    if "sgd" in sys.argv[4:]:
        extra.update(optimizer="sgd", weight_decay=1e-3)
    if "las" in sys.argv[4:]:
        extra.update(head_smoothing=(0.3, 0.0))
    if "prior" in sys.argv[4:]:
        extra.update(proba_prior="train")
    if "resnet" in sys.argv[4:]:
        extra.update(backbone="resnet32", module__depth=8)
    if "mixup" in sys.argv[4:]:
        extra.update(mixup="mixup", mixup_epochs=2)
    if "warmup" in sys.argv[4:]:
        extra.update(warmup_epochs=2, lr_schedule="cosine")
    accelerator = Accelerator(cpu=True)
    X, y = three_class_images([90, 27, 9], name_pixels=True)
    multilabel = "multilabel" in sys.argv[4:]
    if multilabel:  # overlapping labels: the weighted sampler draws by the rarest
        y = np.column_stack([y == 0, y != 1, y == 2]).astype(int)
    clf = BalancedImageClassifier(
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
        **extra,
    )
    torch.manual_seed(accelerator.process_index)  # processes without random_state differ
    clf.fit(X, y)
    record = {
        "epochs": dict(clf.callbacks_)["record"].epochs_,
        "class_counts": clf.class_counts_,
        "class_weight": clf.class_weight_,
        "train_loss": list(clf.history[:, "train_loss"]),
        "valid_f1": list(clf.history[:, "valid_f1"]),
        "proba": clf.predict_proba(X),
        "params": clf.module_.state_dict(),
        "largest_class_norm": float(clf.module_.classifier.weight.norm(dim=1).max()),
        "world_size": accelerator.num_processes,
        "decision_prior": clf.decision_prior_,
        "temperature": clf.proba_temperature_,
        "event_lr": list(clf.history[:, "event_lr"]) if "warmup" in sys.argv[4:] else None,
    }
    if accelerator.is_main_process:  # the pickled model predicts in one process
        record["proba_one_process"] = pickle.loads(pickle.dumps(clf)).predict_proba(X)
    torch.save(record, out / f"rank{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    accelerator.end_training()  # destroys the process group before the interpreter exits
