"""How much of the gap between plain cross-entropy and balanced data each method closes.

Reads the per-run CSV files of ``longtail.py`` (``benchmarks/results/``) and
prints, for every long-tailed set at rho = 100, the mean balanced accuracy of
plain cross-entropy, the default and ``over_augment``, the ceilings (the same
network trained with plain cross-entropy, and with the default, on a balanced
training set of the head's size, ``--rho 1``), and the share of the gap from
plain cross-entropy to the higher ceiling that each method closes::

    python benchmarks/gap_to_ceiling.py

The files come from the commands in ``docs/benchmarks/longtail.md``. Only
runs of the same seeds are compared; a set whose balanced version the data
cannot fill (one digit against the rest) has no ceiling.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).with_name("results")

#: set name -> (the dataset's name in the CSV files, the files of its rho = 100 rows)
SETS = {
    "digits-LT": ("digits", ["aug1_digits"]),
    "digits-LT, random ranking": ("digits", ["aug2_digits_random", "gap_digits_random"]),
    "one digit against the rest": ("digits-ovr", ["aug2_digits_ovr", "gap_digits_ovr"]),
    "MNIST-LT": ("mnist", ["aug1_mnist"]),
    "MNIST-LT, random ranking": ("mnist", ["aug2_mnist_random", "gap_mnist_random"]),
    "textures": ("textures", ["aug1_textures", "gap_textures"]),
    "textures, random ranking": ("textures", ["aug2_textures_random", "gap_textures_random"]),
    "photographs": ("photos", ["aug2_photos", "gap_photos"]),
    "sample images": ("samples", ["aug2_samples", "gap_samples"]),
}
#: Methods in the table: the name of each in the files, and its column.
METHODS = {
    "ce": "plain CE",
    "auto": "the default",
    "over_augment": "over_augment",
    "over_augment, 50 epochs": "over_augment, 50 epochs",
}
#: The files beside a tag's (``<tag><suffix>_longtail.csv``), and what their runs are named.
SUFFIXES = {"": None, "_over": None, "_over50": "over_augment, 50 epochs"}
#: The ceilings, trained on balanced sets (``--rho 1``): column -> (file tag, method). The
#: gap is measured to the higher of the two where both ran.
CEILINGS = {
    "ceiling, plain CE": ("ceiling_1207", "ce"),
    "ceiling, the default": ("ceiling_auto_1207", "auto"),
}


def _runs(results: Path, tags, dataset: str, rho: float) -> pd.DataFrame:
    frames = []
    for tag in tags:
        for suffix, renamed in SUFFIXES.items():
            path = results / f"{tag}{suffix}_longtail.csv"
            if path.exists():
                frame = pd.read_csv(path)
                if renamed:
                    frame["method"] = renamed
                frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["dataset", "rho", "method", "seed", "balanced_accuracy"])
    runs = pd.concat(frames, ignore_index=True)
    runs = runs[(runs["dataset"] == dataset) & (runs["rho"] == rho)]
    return runs.drop_duplicates(["method", "seed"])


def table(results: Path = RESULTS) -> pd.DataFrame:
    """One row per set: the methods' mean balanced accuracy, the ceiling, the gap closed."""
    ceilings = {
        column: pd.read_csv(path).query("method == @method")
        for column, (tag, method) in CEILINGS.items()
        if (path := results / f"{tag}_longtail.csv").exists()
    }
    rows = []
    for name, (dataset, tags) in SETS.items():
        runs = _runs(results, tags, dataset, 100.0)
        if runs.empty:
            continue
        means = runs.groupby("method")["balanced_accuracy"].mean()
        row = {"set": name, "seeds": runs["seed"].nunique()}
        row.update({column: means.get(method) for method, column in METHODS.items()})
        for column, runs_of_ceiling in ceilings.items():
            scores = runs_of_ceiling.query("dataset == @dataset")["balanced_accuracy"]
            row[column] = scores.mean() if len(scores) else None
        tops = [row[column] for column in ceilings if row.get(column) is not None]
        for method, column in METHODS.items():
            if method != "ce" and tops and row[column] is not None:
                gap = max(tops) - row["plain CE"]
                row[f"{column}: gap closed"] = (row[column] - row["plain CE"]) / gap
        rows.append(row)
    return pd.DataFrame(rows).set_index("set").dropna(axis=1, how="all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="the CSV files' folder")
    result = table(parser.parse_args().results)
    shares = [column for column in result.columns if column.endswith("gap closed")]
    formatted = result.copy()
    for column in result.columns:
        if column in shares:
            formatted[column] = result[column].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
        elif column != "seeds":
            formatted[column] = result[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    print(formatted.to_markdown(disable_numparse=True))


if __name__ == "__main__":
    main()
