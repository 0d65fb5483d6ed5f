"""Helpers shared by the benchmarks: runs in fresh processes, interleaved in rotated order."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def rotated(names: list[str], repeat: int) -> list[str]:
    """``names`` rotated by ``repeat``, so that no runner always goes first."""
    shift = repeat % len(names)
    return names[shift:] + names[:shift]


def run_fresh(script: str, args: list[str], env: dict | None = None) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process; its last output line as JSON."""
    out = subprocess.run(
        [sys.executable, script, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if out.returncode:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_image_folder(images, labels, root, *, suffix: str = ".png", **save_kwargs) -> None:
    """Write ``images`` (uint8 arrays) as files ``root/<label>/<i><suffix>``, with Pillow."""
    from pathlib import Path

    from PIL import Image

    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = Path(root) / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:06d}{suffix}", **save_kwargs)
