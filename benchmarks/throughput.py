"""Training speed: torchvision's ResNet-18 through imbtorch and through timm's recipe by hand.

The same data (MNIST-5k upscaled to 64x64 RGB JPEG files, see
``data_loading.py``; resized to 224x224 with ``--device cuda``), model,
optimiser, batch size, loader workers and epochs, per precision:

- ``torch loop``: the recipe of timm's ``train.py``: ``ImageFolder`` +
  ``DataLoader(num_workers, pin_memory)``, the model and batches in
  ``channels_last``, ``torch.autocast`` and, for float16, a ``GradScaler``;
- ``imbtorch``: ``BalancedImageClassifier('resnet18', precision=...,
  channels_last=True)`` on ``load_image_folder`` paths.

Each run is a fresh process; runners are interleaved in rotated order after
a discarded warm-up round. The table gives median images/s, the median
per-repeat ratio to the loop and the peak GPU memory of training.

    python benchmarks/throughput.py                       # CPU: '32' and 'bf16-mixed'
    python benchmarks/throughput.py --device cuda --files 5000 --epochs 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parent))
from _runs import rotated, run_fresh  # noqa: E402
from data_loading import BATCH_SIZE, LR, OPTIMIZER, jpeg_folder  # noqa: E402

from imbtorch import BalancedImageClassifier  # noqa: E402
from imbtorch.data.loader import available_cpus  # noqa: E402
from imbtorch.datasets import load_image_folder  # noqa: E402
from imbtorch.device import resolve_device  # noqa: E402
from imbtorch.training.precision import autocast, grad_scaler  # noqa: E402

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def hand_loop(root, *, precision, size, epochs, workers, seed, device) -> int:
    """timm's train.py recipe, written out."""
    import torchvision
    from torchvision.transforms import v2

    torch.manual_seed(seed)
    resize = [v2.Resize((size, size))] if size != 64 else []  # on the PIL image, as imbtorch
    data = torchvision.datasets.ImageFolder(root, transform=v2.Compose([*resize, v2.PILToTensor()]))
    cuda = torch.device(device).type == "cuda"
    loader = DataLoader(
        data,
        batch_size=BATCH_SIZE,
        shuffle=True,
        num_workers=workers,
        pin_memory=cuda,
        persistent_workers=workers > 0,
    )
    model = torchvision.models.resnet18(num_classes=len(data.classes))
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = OPTIMIZER(model.parameters(), lr=LR)
    scaler = grad_scaler(precision, device)
    criterion = torch.nn.CrossEntropyLoss()
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    model.train()
    for _ in range(epochs):
        for images, y in loader:
            images = images.to(device, non_blocking=True).float().div_(255.0)
            images = ((images - mean) / std).contiguous(memory_format=torch.channels_last)
            y = y.to(device, non_blocking=True)
            with autocast(precision, device):
                loss = criterion(model(images), y)
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
    return len(data) * epochs


def imbtorch_fit(root, *, precision, size, epochs, workers, seed, device) -> int:
    paths, labels = load_image_folder(root)
    BalancedImageClassifier(
        "resnet18",
        precision=precision,
        channels_last=True,
        image_size=None if size == 64 else (size, size),
        max_epochs=epochs,
        random_state=seed,
        device=device,
        iterator_train__num_workers=workers,
    ).fit(paths, labels)
    return len(paths) * epochs


RUNNERS = {"torch loop": hand_loop, "imbtorch": imbtorch_fit}


def run_child(args) -> None:
    """In a fresh process: one run; print images/s and peak GPU memory as JSON."""
    import json

    device = resolve_device(args.device)
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    root = jpeg_folder(args.files, args.data_dir)
    name, precision, seed = args.run_child
    start = time.perf_counter()
    images = RUNNERS[name](
        root,
        precision=precision,
        size=args.size or (224 if cuda else 64),
        epochs=args.epochs,
        workers=args.workers,
        seed=int(seed),
        device=device,
    )
    if cuda:
        torch.cuda.synchronize()
    rate = images / (time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    print(json.dumps(dict(rate=rate, peak_mib=peak)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=None, help="64 on the CPU, 224 on CUDA")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=min(8, available_cpus()))
    parser.add_argument("--precisions", nargs="*", default=None)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/imbtorch-bench"))
    parser.add_argument("--run-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_child:
        run_child(args)
        return
    device = resolve_device(args.device)
    cuda = torch.device(device).type == "cuda"
    precisions = args.precisions or (
        ["32", "bf16-mixed", "16-mixed"] if cuda else ["32", "bf16-mixed"]
    )
    gpu = torch.cuda.get_device_name() if cuda else f"CPU ({available_cpus()} cores)"
    size = args.size or (224 if cuda else 64)
    print(
        f"{gpu}, torch {torch.__version__}; ResNet-18 at {size}x{size}, {args.files} images, "
        f"{args.epochs} epoch(s), batch {BATCH_SIZE}, {args.workers} workers"
    )
    jpeg_folder(args.files, args.data_dir)
    common = ["--files", str(args.files), "--data-dir", str(args.data_dir), "--device", device]
    common += ["--epochs", str(args.epochs), "--workers", str(args.workers)]
    common += ["--size", str(size)]
    lines = [
        f"| precision | runner | images/s (median of {args.repeats}) | ratio to torch loop "
        "| peak GPU memory MiB |",
        "|---|---|---:|---:|---:|",
    ]
    for precision in precisions:
        results = {name: [] for name in RUNNERS}
        for repeat in range(args.repeats + 1):  # round 0 warms up and is discarded
            for name in rotated(list(RUNNERS), repeat):
                result = run_fresh(__file__, ["--run-child", name, precision, str(repeat), *common])
                print(f"  {precision} repeat {repeat} {name:>10}: {result['rate']:7.1f} images/s")
                if repeat:
                    results[name].append(result)
        hand = np.asarray([r["rate"] for r in results["torch loop"]])
        for name, runs in results.items():
            rates = np.asarray([r["rate"] for r in runs])
            peak = runs[-1]["peak_mib"]
            lines.append(
                f"| {precision} | {name} | {np.median(rates):.1f} | "
                f"{np.median(rates / hand):.3f} | {'-' if peak is None else f'{peak:.0f}'} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
