"""Image collections listed in a CSV table: file paths and their labels.

Single-label collections ship as a table of file names with a column of
class names (HAM10000's ``dx``, most Kaggle ``train.csv``); multi-label ones
with either one 0/1 column per label, or one column of labels joined by
``'|'`` (ChestX-ray14's ``Finding Labels``). :func:`load_image_table` reads
the first into file paths and a label per file, the others into file paths
and scikit-learn's label-indicator matrix.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["load_image_table"]


def _read_rows(csv_path) -> tuple[list[str], list[dict]]:
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    if not rows:
        raise ValueError(f"{str(csv_path)!r} holds no data rows under its header {columns!r}.")
    return columns, rows


def _indicator_columns(rows, columns: list[str], csv_path) -> np.ndarray:
    """The 0/1 label columns as an indicator matrix; other values name their row."""
    Y = np.zeros((len(rows), len(columns)), dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            value = (row[column] or "").strip()
            if value not in ("0", "1"):
                raise ValueError(
                    f"{str(csv_path)!r}, row {i + 1} (line {i + 2}): label column {column!r} "
                    f"holds {value!r}; label columns hold 0 or 1. A column of class names, "
                    "one per image, is read with label_column=."
                )
            Y[i, j] = value == "1"
    return Y


def _check_known(per_row, names: list[str], column: str, csv_path) -> None:
    """Refuse the first row with a label that ``names`` (the ``labels=`` given) does not list."""
    known = set(names)
    for i, found in enumerate(per_row):
        unknown = [name for name in found if name not in known]
        if unknown:
            raise ValueError(
                f"{str(csv_path)!r}, row {i + 1} (line {i + 2}): labels {unknown!r} in "
                f"column {column!r} are not among labels={names!r}; add them to labels "
                "or correct the row."
            )


def _class_names(rows, column: str, labels, csv_path) -> tuple[np.ndarray, list[str]]:
    """The class of each row from one column of class names, and the label names."""
    y = [(row[column] or "").strip() for row in rows]
    for i, value in enumerate(y):
        if not value:
            raise ValueError(
                f"{str(csv_path)!r}, row {i + 1} (line {i + 2}): column {column!r} is empty; "
                "every row names its image's class. Remove the row, or read images with "
                "several or no labels with labels_column=."
            )
    names = sorted(set(y)) if labels is None else [str(name) for name in labels]
    if labels is not None:
        _check_known([[value] for value in y], names, column, csv_path)
    return np.array(y, dtype=object), names


def _joined_labels(rows, column: str, separator: str, labels, no_label, csv_path):
    """The labels of one joined column as an indicator matrix and the label names."""
    per_row = [
        [name.strip() for name in (row[column] or "").split(separator) if name.strip()]
        for row in rows
    ]
    if no_label is not None:
        for i, found in enumerate(per_row):
            if no_label in found and len(found) > 1:
                raise ValueError(
                    f"{str(csv_path)!r}, row {i + 1} (line {i + 2}): column {column!r} holds "
                    f"{no_label!r} (no label) beside labels {found!r}; correct the row."
                )
        per_row = [[] if found == [no_label] else found for found in per_row]
    if labels is None:
        names = sorted({name for found in per_row for name in found})
    else:
        names = [str(name) for name in labels]
        _check_known(per_row, names, column, csv_path)
    index = {name: j for j, name in enumerate(names)}
    Y = np.zeros((len(rows), len(names)), dtype=np.uint8)
    for i, found in enumerate(per_row):
        Y[i, [index[name] for name in found]] = 1
    return Y, names


def load_image_table(
    csv_path,
    root=None,
    *,
    path_column: str = "path",
    path_suffix: str = "",
    label_column: str | None = None,
    label_columns: Sequence[str] | None = None,
    labels_column: str | None = None,
    separator: str = "|",
    labels: Sequence[str] | None = None,
    no_label: str | None = None,
    check_files: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """File paths, their labels and the label names, from a CSV table.

    Three layouts are read:

    - one column of class names, one per image (``label_column``, as
      HAM10000's ``dx``): a single-label ``y`` of shape (N,);
    - one 0/1 column per label (``label_columns``; by default every column
      but ``path_column``): a label-indicator matrix;
    - one column of labels joined by ``separator`` (``labels_column``), as
      ChestX-ray14's ``Finding Labels``; an empty cell is a row without
      labels: a label-indicator matrix.

    Parameters
    ----------
    csv_path : str or path
        A CSV file with a header row (UTF-8, a byte-order mark is accepted).
    root : str or path, default=None
        Folder that relative paths in ``path_column`` are relative to; the
        CSV's own folder by default.
    path_column : str, default='path'
    path_suffix : str, default=''
        Appended to every path, for tables that name files without their
        extension (HAM10000's ``image_id``, APTOS's ``id_code``): ``'.jpg'``.
    label_column : str, default=None
        The column naming each image's class; an empty cell is an error
        naming its row. Excludes ``label_columns`` and ``labels_column``.
    label_columns : sequence of str, default=None
        The 0/1 columns, in this order.
    labels_column : str, default=None
        The column of joined labels; excludes ``label_columns``.
    separator : str, default='|'
    labels : sequence of str, default=None
        With ``labels_column`` or ``label_column``: the labels expected, in
        the order of ``label_names`` (and of the indicator's columns); a row
        with any other label is an error. By default the labels found, sorted
        (the order of a classifier's ``classes_`` whatever this one is).
    no_label : str, default=None
        With ``labels_column``: the value of a row without labels, such as
        ChestX-ray14's ``'No Finding'``; it becomes a row of zeros (an image
        that carries none of the labels), not a label.
    check_files : bool, default=True
        Check that every file exists; a missing one is an error naming its row.

    Returns
    -------
    paths : ndarray of str (object dtype), shape (N,)
    Y : ndarray of uint8, shape (N, n_labels), or of str (object dtype), shape (N,)
        ``Y[i, j] = 1`` when image ``i`` carries label ``j``; with
        ``label_column``, ``Y[i]`` is image ``i``'s class.
    label_names : ndarray of str, shape (n_labels,)
    """
    columns, rows = _read_rows(csv_path)
    if path_column not in columns:
        raise ValueError(
            f"{str(csv_path)!r} has no column {path_column!r}; its columns are {columns!r}. "
            "Name the column of file paths with path_column=."
        )
    layouts = {
        "label_column": label_column,
        "label_columns": label_columns,
        "labels_column": labels_column,
    }
    given = [name for name, value in layouts.items() if value is not None]
    if len(given) > 1:
        raise ValueError(
            f"{' and '.join(given)} describe different layouts (label_column: one class "
            "name per image; label_columns: one 0/1 column per label; labels_column: one "
            "column of joined labels); give one of them."
        )
    if labels is not None and label_column is None and labels_column is None:
        raise ValueError(
            "labels= lists the labels of a label_column or a joined labels_column; with "
            "0/1 label columns, choose them with label_columns=."
        )
    if no_label is not None and labels_column is None:
        raise ValueError(
            f"no_label={no_label!r} is a value of a joined labels_column; with 0/1 label "
            "columns a row of zeros has no label."
        )
    for column in (label_column, labels_column):
        if column is not None and column not in columns:
            raise ValueError(f"{str(csv_path)!r} has no column {column!r}: {columns!r}.")
    if label_column is not None:
        Y, names = _class_names(rows, label_column, labels, csv_path)
    elif labels_column is not None:
        Y, names = _joined_labels(rows, labels_column, separator, labels, no_label, csv_path)
    else:
        names = (
            [c for c in columns if c != path_column]
            if label_columns is None
            else list(label_columns)
        )
        missing = [c for c in names if c not in columns]
        if missing or not names:
            raise ValueError(
                f"{str(csv_path)!r} has no label columns {missing or names!r}; its columns "
                f"are {columns!r}. Name them with label_columns= or use labels_column=."
            )
        Y = _indicator_columns(rows, names, csv_path)
    base = Path(csv_path).parent if root is None else Path(root)
    paths = [os.path.join(base, (row[path_column] or "").strip() + path_suffix) for row in rows]
    if check_files:
        for i, path in enumerate(paths):
            if not os.path.isfile(path):
                hint = "" if Path(path).suffix else " (path_suffix= adds an extension such as .jpg)"
                raise FileNotFoundError(
                    f"{str(csv_path)!r}, row {i + 1} (line {i + 2}): the file {path!r} does "
                    f"not exist; correct the row or root={hint}, or remove the row."
                )
    return np.array(paths, dtype=object), Y, np.array(names)
