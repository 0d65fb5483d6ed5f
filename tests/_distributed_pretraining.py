"""Self-supervised pretraining over the processes of ``torchrun``, for ``test_self_supervised.py``.

Usage: ``torchrun --nproc_per_node N _distributed_pretraining.py OUT_DIR CASE [CASE ...]``,
each CASE ``METHOD,SEED[,resume]`` (SEED an int, or ``none``: every process seeds torch
apart and relies on process 0's draws). Every process writes ``OUT_DIR/case<i>_rank<r>.pt``:
its epochs' losses and its trunk's weights. With ``resume``, three epochs with
``checkpoint_dir``, and besides them a run of two epochs in another folder resumed to three
(``resumed``: its losses and weights).
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
        method, seed, *flags = case.split(",")
        if seed == "none":
            torch.manual_seed(accelerator.process_index)  # the processes draw apart
        settings = dict(
            self_supervised=method,
            max_epochs=2,
            batch_size=16,
            random_state=None if seed == "none" else int(seed),
            accelerator=accelerator,
        )
        if flags:  # resume: the whole run over three epochs, saving its state
            settings.update(max_epochs=3, checkpoint_dir=out / f"case{index}" / "whole")
        embedder = ImageEmbedder("simple_cnn", **settings).fit(X)
        record = {"losses": embedder.self_supervised_loss_, "trunk": embedder.backbone_state_dict()}
        if flags:  # two epochs, then resumed to three
            cut = {**settings, "checkpoint_dir": out / f"case{index}" / "cut"}
            ImageEmbedder("simple_cnn", **{**cut, "max_epochs": 2}).fit(X)
            resumed = ImageEmbedder("simple_cnn", **cut, resume=True).fit(X)
            record["resumed"] = {
                "losses": resumed.self_supervised_loss_,
                "trunk": resumed.backbone_state_dict(),
            }
        torch.save(record, out / f"case{index}_rank{accelerator.process_index}.pt")
        accelerator.wait_for_everyone()
    accelerator.end_training()
