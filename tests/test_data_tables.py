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


def test_one_column_of_class_names_gives_a_single_label_y(files):
    """HAM10000's layout: a class name per image among other columns; y fits as it is."""
    table = write(
        files / "t.csv",
        "lesion,image,dx,age\n1,images/a.png,nv,40\n2,images/b.png, mel ,55\n3,images/c.png,nv,\n",
    )
    paths, y, names = load_image_table(table, path_column="image", label_column="dx")
    assert paths.tolist() == [str(files / "images" / n) for n in ("a.png", "b.png", "c.png")]
    assert y.shape == (3,) and y.tolist() == ["nv", "mel", "nv"]
    assert names.tolist() == ["mel", "nv"]  # sorted, as a classifier's classes_
    _, _, names = load_image_table(
        table, path_column="image", label_column="dx", labels=["nv", "mel", "bcc"]
    )
    assert names.tolist() == ["nv", "mel", "bcc"]
    with pytest.raises(ValueError, match=r"row 2 \(line 3\): labels \['mel'\].*not among"):
        load_image_table(table, path_column="image", label_column="dx", labels=["nv"])
    write(table, "image,dx\nimages/a.png,nv\nimages/b.png,\n")
    with pytest.raises(ValueError, match=r"row 2 \(line 3\): column 'dx' is empty.*labels_column"):
        load_image_table(table, path_column="image", label_column="dx")
    with pytest.raises(ValueError, match="label_column and labels_column describe different"):
        load_image_table(table, path_column="image", label_column="dx", labels_column="dx")
    with pytest.raises(ValueError, match=r"no column 'class'"):
        load_image_table(table, path_column="image", label_column="class")
    # file names without their extension, as HAM10000's image_id
    write(table, "image,dx\nimages/a,nv\nimages/b,mel\n")
    with pytest.raises(FileNotFoundError, match=r"row 1 \(line 2\).*path_suffix= adds"):
        load_image_table(table, path_column="image", label_column="dx")
    paths, _, _ = load_image_table(
        table, path_column="image", path_suffix=".png", label_column="dx"
    )
    assert paths.tolist() == [str(files / "images" / n) for n in ("a.png", "b.png")]
    # read as 0/1 columns by default, a column of class names says how to read it
    write(table, "image,dx\nimages/a.png,nv\n")
    with pytest.raises(ValueError, match="holds 'nv'; label columns hold 0 or 1.*label_column="):
        load_image_table(table, path_column="image")


def test_a_single_label_table_trains_a_classifier_from_its_files(tmp_path):
    """The paths and classes of a table of real PNG files fit and predict as they are."""
    from PIL import Image

    from imbtorch import BalancedImageClassifier

    rng = np.random.default_rng(0)
    lines = ["file,label"]
    for i, label in enumerate(["cat"] * 6 + ["dog"] * 3):
        pixels = rng.integers(0, 256, size=(8, 8), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{i}.png")
        lines.append(f"{i}.png,{label}")
    table = write(tmp_path / "train.csv", "\n".join(lines) + "\n")
    paths, y, names = load_image_table(table, path_column="file", label_column="label")
    clf = BalancedImageClassifier(max_epochs=1, random_state=0, module__width=4).fit(paths, y)
    assert clf.classes_.tolist() == names.tolist() == ["cat", "dog"] and not clf.multilabel_
    assert set(clf.predict(paths)) <= {"cat", "dog"}
