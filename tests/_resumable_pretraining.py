"""Seeded BYOL pretraining that ``tests/test_self_supervised.py`` runs in subprocesses.

Usage: ``python _resumable_pretraining.py CHECKPOINT_DIR OUT_FILE [KILL_AT_EPOCH]``. With
KILL_AT_EPOCH the process kills itself (SIGKILL) after the second step of that epoch
(1-based), as a preempted job dies. The views are made by 2 loader workers.
"""

import os
import signal
import sys

import torch
from _images import three_class_images

from imbtorch import BalancedImageClassifier, ImageEmbedder
from imbtorch.training.self_supervised import SelfSupervisedModel

EPOCHS = 3

if __name__ == "__main__":
    torch.set_num_threads(1)
    checkpoint_dir, out = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        kill_epoch, after_step = int(sys.argv[3]), SelfSupervisedModel.after_step

        def after_step_then_die(self, step, steps):
            after_step(self, step, steps)
            if step == (kill_epoch - 1) * (steps // EPOCHS) + 2:
                os.kill(os.getpid(), signal.SIGKILL)

        SelfSupervisedModel.after_step = after_step_then_die
    X, _ = three_class_images([40, 16, 8])
    embedder = ImageEmbedder(
        BalancedImageClassifier(module__width=8, module__dropout=0.2),  # dropout: torch's RNG
        self_supervised="byol",
        max_epochs=EPOCHS,
        batch_size=16,
        random_state=0,
        checkpoint_dir=checkpoint_dir,
        resume=True,
    ).fit(X)
    torch.save(
        {"losses": embedder.self_supervised_loss_, "trunk": embedder.backbone_state_dict()}, out
    )
