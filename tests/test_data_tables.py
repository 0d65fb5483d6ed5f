"""load_image_table: paths and a label-indicator matrix from a CSV table of files."""

import numpy as np
import pytest

from imbtorch.datasets import load_image_table


@pytest.fixture
def files(tmp_path):
    """Three empty PNG-named files in tmp_path/images."""
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (folder / name).write_bytes(b"")
    return tmp_path


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_one_column_per_label(files):
    table = write(
        files / "t.csv", "path,cat,dog\nimages/a.png,1,0\nimages/b.png,1,1\nimages/c.png,0,0\n"
    )
    paths, Y, names = load_image_table(table)
    assert paths.tolist() == [str(files / "images" / n) for n in ("a.png", "b.png", "c.png")]
    np.testing.assert_array_equal(Y, [[1, 0], [1, 1], [0, 0]])
    assert Y.dtype == np.uint8 and names.tolist() == ["cat", "dog"]
    _, Y, names = load_image_table(table, label_columns=["dog"])
    np.testing.assert_array_equal(Y, [[0], [1], [0]])


def test_one_column_of_joined_labels_as_chestxray14_ships_them(files):
    table = write(
        files / "t.csv",
        "\ufeffImage Index,Finding Labels\na.png,Effusion|Mass\nb.png,\nc.png, Mass \n",
    )
    paths, Y, names = load_image_table(
        table, files / "images", path_column="Image Index", labels_column="Finding Labels"
    )
    assert names.tolist() == ["Effusion", "Mass"]  # sorted, found in the table
    np.testing.assert_array_equal(Y, [[1, 1], [0, 0], [0, 1]])
    _, Y, names = load_image_table(
        table,
        files / "images",
        path_column="Image Index",
        labels_column="Finding Labels",
        labels=["Mass", "Effusion", "Hernia"],
    )
    assert names.tolist() == ["Mass", "Effusion", "Hernia"]
    np.testing.assert_array_equal(Y, [[1, 1, 0], [0, 0, 0], [1, 0, 0]])


def test_bad_rows_are_named(files):
    table = write(files / "t.csv", "path,labels\nimages/a.png,cat\nimages/zz.png,dog\n")
    with pytest.raises(FileNotFoundError, match=r"row 2 \(line 3\).*zz.png"):
        load_image_table(table, labels_column="labels")
    _, Y, _ = load_image_table(table, labels_column="labels", check_files=False)
    assert Y.shape == (2, 2)
    with pytest.raises(ValueError, match=r"row 2 \(line 3\): labels \['dog'\].*not among"):
        load_image_table(table, labels_column="labels", labels=["cat"], check_files=False)
    table = write(files / "u.csv", "path,cat\nimages/a.png,1\nimages/b.png,yes\n")
    with pytest.raises(ValueError, match=r"row 2 \(line 3\): label column 'cat' holds 'yes'"):
        load_image_table(table)
    with pytest.raises(ValueError, match=r"no column 'file'.*path_column="):
        load_image_table(table, path_column="file")
    with pytest.raises(ValueError, match="give one of them"):
        load_image_table(table, label_columns=["cat"], labels_column="cat")
    with pytest.raises(ValueError, match="no data rows"):
        load_image_table(write(files / "v.csv", "path,cat\n"))


def test_no_finding_is_a_row_without_labels(files):
    table = write(
        files / "t.csv",
        "path,labels\nimages/a.png,No Finding\nimages/b.png,Mass\nimages/c.png,No Finding|Mass\n",
    )
    settings = {"labels_column": "labels", "labels": ["Mass"], "no_label": "No Finding"}
    with pytest.raises(ValueError, match=r"row 3 \(line 4\).*'No Finding' \(no label\) beside"):
        load_image_table(table, **settings)
    write(table, "path,labels\nimages/a.png,No Finding\nimages/b.png,Mass\n")
    _, Y, names = load_image_table(table, **settings)
    np.testing.assert_array_equal(Y, [[0], [1]])
    assert names.tolist() == ["Mass"]
    with pytest.raises(ValueError, match="no_label='No Finding' is a value of a joined"):
        load_image_table(table, no_label="No Finding")
