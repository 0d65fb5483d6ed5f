"""
A Hugging Face ``imagefolder`` dataset, its class names kept
============================================================

Many image collections live in a ``datasets.Dataset``: a hub dataset, or
local folders read by ``load_dataset("imagefolder", ...)``. Here the
long-tailed digits are written as PNG files, one folder per class named by
the digit in words, and read back as such a dataset. ``fit(ds)`` reads its
``Image`` and ``ClassLabel`` columns, so ``classes_`` and ``predict`` speak
the folder names; :class:`imbtorch.data.HFImageDataset` lets
``GridSearchCV`` split it without copying an image.
"""

# %%
# Folders of PNG files, read as a ``datasets.Dataset``
# ----------------------------------------------------
import tempfile
from pathlib import Path

import numpy as np
from datasets import load_dataset
from PIL import Image
from sklearn.model_selection import GridSearchCV

from imbtorch import BalancedImageClassifier, report
from imbtorch.data import HFImageDataset
from imbtorch.datasets import load_long_tailed_digits

WORDS = "zero one two three four five six seven eight nine".split()
X_train, X_test, y_train, y_test = load_long_tailed_digits(imbalance_ratio=100)
root = Path(tempfile.mkdtemp())
for split, images, labels in (("train", X_train, y_train), ("test", X_test, y_test)):
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / split / WORDS[label]
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.uint8(255 * image.reshape(8, 8) / 16)  # digits' pixels run 0..16
        Image.fromarray(pixels).save(folder / f"{i:04d}.png")

ds = load_dataset("imagefolder", data_dir=str(root), cache_dir=str(root / "cache"))
train, test = ds["train"], ds["test"]
print(train)
print(train.features["label"])

# %%
# ``fit(ds)``: the names are the classes
# --------------------------------------
clf = BalancedImageClassifier(max_epochs=20, random_state=0).fit(train)
print("classes_:", clf.classes_)
print("predicted:", clf.predict(test)[:8])
names = np.asarray(test.features["label"].names)
print(f"balanced accuracy: {clf.score(test, names[np.asarray(test['label'])]):.3f}")

# %%
# A search that splits the dataset
# --------------------------------
# A bare ``datasets.Dataset`` cannot be indexed as scikit-learn's splitters
# index ``X``; :class:`~imbtorch.data.HFImageDataset` can, and its views go
# through ``Dataset.select``, which copies no image.
images = HFImageDataset(train)
search = GridSearchCV(
    BalancedImageClassifier(max_epochs=10, random_state=0),
    {"lr": [0.003, 0.01]},
    cv=2,
    scoring="balanced_accuracy",
).fit(images, images.targets)
print(search.best_params_, f"{search.best_score_:.3f}")

# %%
# The report reads the labels from the dataset
# --------------------------------------------
result = report(clf, test, None)
print(result.per_class.round(2).to_string())
result.plot()
