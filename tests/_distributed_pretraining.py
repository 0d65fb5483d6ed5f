"""Self-supervised pretraining over the processes of ``torchrun``, for ``test_self_supervised.py``.

Usage: ``torchrun --nproc_per_node N _distributed_pretraining.py OUT_DIR CASE [CASE ...]``,
each CASE ``METHOD,SEED`` (SEED an int, or ``none``: every process seeds torch apart and
relies on process 0's draws). Every process writes ``OUT_DIR/case<i>_rank<r>.pt``: its
epochs' losses and its trunk's weights.
"""

import sys
from pathlib import Path

import torch
from _images import three_class_images
from accelerate import Accelerator

from imbtorch import ImageEmbedder

if __name__ == "__main__":
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    accelerator = Accelerator(cpu=True)
    X, _ = three_class_images([40, 16, 8])
    for index, case in enumerate(sys.argv[2:]):
        method, seed = case.split(",")
        if seed == "none":
            torch.manual_seed(accelerator.process_index)  # the processes draw apart
        embedder = ImageEmbedder(
            "simple_cnn",
            self_supervised=method,
            max_epochs=2,
            batch_size=16,
            random_state=None if seed == "none" else int(seed),
            accelerator=accelerator,
        ).fit(X)
        record = {"losses": embedder.self_supervised_loss_, "trunk": embedder.backbone_state_dict()}
        torch.save(record, out / f"case{index}_rank{accelerator.process_index}.pt")
        accelerator.wait_for_everyone()
    accelerator.end_training()
