"""A seeded fit that ``tests/test_resume.py`` runs in subprocesses: whole, killed, resumed.

Usage: ``python _resumable_fit.py CHECKPOINT_DIR OUT_FILE [KILL_AT_EPOCH]``. With
KILL_AT_EPOCH the process kills itself (SIGKILL) at the third batch of that
epoch (1-based), as a preempted job dies. With ``IMAGE_DIR`` set in the
environment, the images are PNG files written there, read by 2 loader workers.
"""

import os
import signal
import sys

import numpy as np
import torch
from _images import three_class_images
from skorch.callbacks import Callback, LRScheduler
from skorch.dataset import ValidSplit
from torchvision.transforms import v2

from imbtorch import BalancedImageClassifier


class KillAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if len(net.history) == self.epoch and training and len(net.history[-1]["batches"]) == 2:
            os.kill(os.getpid(), signal.SIGKILL)


def classifier(checkpoint_dir, callbacks=()):
    return BalancedImageClassifier(
        module__width=8,
        module__dropout=0.2,
        max_epochs=7,
        batch_size=16,
        lr=3e-3,
        class_weight="balanced",
        drw_epoch=3,
        sampler="weighted",
        drs_epoch=2,
        train_transform=v2.RandomHorizontalFlip(),
        minority_augment=0.5,
        train_split=ValidSplit(4, stratified=True),
        proba_prior="train",  # a temperature fitted on the validation split after training
        ema_epochs=2,  # the average, scored on the validation split, stands in at each epoch's end
        callbacks=[("lr", LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=2)), *callbacks],
        checkpoint_dir=checkpoint_dir,
        resume=True,
        random_state=0,
    )


if __name__ == "__main__":
    torch.set_num_threads(1)
    checkpoint_dir, out = sys.argv[1], sys.argv[2]
    kill = [("kill", KillAt(int(sys.argv[3])))] if len(sys.argv) > 3 else []
    X, y = three_class_images([60, 20, 8])
    if os.environ.get("IMAGE_DIR"):
        from PIL import Image

        root = os.environ["IMAGE_DIR"]
        os.makedirs(root, exist_ok=True)
        paths = [os.path.join(root, f"{i}.png") for i in range(len(X))]
        pixels = (np.clip(X[:, 0] / 4 + 0.5, 0, 1) * 255).astype(np.uint8)
        for path, image in zip(paths, pixels, strict=True):
            if not os.path.exists(path):
                Image.fromarray(image).save(path)
        X = np.array(paths)
    clf = classifier(checkpoint_dir, kill)
    if os.environ.get("IMAGE_DIR"):
        clf.set_params(iterator_train__num_workers=2, iterator_valid__num_workers=2)
    clf.fit(X, y)
    torch.save(
        {
            "params": clf.module_.state_dict(),
            "epochs": [row["epoch"] for row in clf.history],
            "valid_f1": list(clf.history[:, "valid_f1"]),
            "proba": clf.predict_proba(X),
            "temperature": clf.proba_temperature_,
            "workers": clf.get_iterator(clf._prediction_input(X[:1])).num_workers,
        },
        out,
    )
