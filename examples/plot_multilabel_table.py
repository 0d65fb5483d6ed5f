"""
Multi-label images from a CSV table, with a threshold per label
===============================================================

ChestX-ray14 lists its images in a CSV file, one row per image, with the
findings joined by ``|`` and ``No Finding`` for none.
:func:`imbtorch.datasets.load_image_table` reads that layout. Here the
images are 2x2 mosaics of digits, labelled by the digits they show, with a
long tail of label frequencies, written as PNG files with such a table.
:class:`imbtorch.TunedLabelThresholdsCV` then tunes a threshold per label
on images drawn as the ones it will predict on.
"""

# %%
# Image files and a ChestX-ray14-style table
# ------------------------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.metrics import average_precision_score, f1_score

from imbtorch import BalancedImageClassifier, TunedLabelThresholdsCV
from imbtorch.datasets import load_image_table, load_long_tailed_mosaics

X_train, X_test, Y_train, Y_test = load_long_tailed_mosaics(
    imbalance_ratio=100, source="digits", n_train=1200, n_test=600
)
names = [f"digit_{d}" for d in range(Y_train.shape[1])]
folder = Path(tempfile.mkdtemp())


def write_table(images, indicator, table):
    """PNG files of ``images`` and a CSV table of their findings."""
    rows = ["Image Index,Finding Labels"]
    for i, (image, labels) in enumerate(zip(images, indicator, strict=True)):
        pixels = np.uint8(255 * (image - image.min()) / (np.ptp(image) or 1))
        Image.fromarray(pixels).save(folder / f"{table}_{i:05d}.png")
        found = [name for name, on in zip(names, labels, strict=True) if on]
        rows.append(f"{table}_{i:05d}.png,{'|'.join(found) or 'No Finding'}")
    (folder / f"{table}.csv").write_text("\n".join(rows))
    return folder / f"{table}.csv"


train_csv, test_csv = write_table(X_train, Y_train, "train"), write_table(X_test, Y_test, "test")
print(train_csv.read_text().splitlines()[:4])

table = dict(
    path_column="Image Index", labels_column="Finding Labels", labels=names, no_label="No Finding"
)
paths, Y, label_names = load_image_table(train_csv, folder, **table)
test_paths, Y_test, _ = load_image_table(test_csv, folder, **table)
print(
    "images carrying each label:",
    dict(zip(label_names.tolist(), Y.sum(axis=0).tolist(), strict=True)),
)

# %%
# Fit from the files
# ------------------
clf = BalancedImageClassifier(max_epochs=10, random_state=0).fit(paths, Y)
print(clf.plan_.strategy_name)

# %%
# A threshold per label, tuned where you will predict
# ---------------------------------------------------
# The best threshold for F1 depends on how often a label occurs. The test
# mosaics carry every label about equally often, unlike the training ones,
# so the thresholds are tuned (``cv="prefit"``) on half of the test images
# and scored on the other half.
tune, score = np.arange(len(test_paths)) % 2 == 0, np.arange(len(test_paths)) % 2 == 1
tuned = TunedLabelThresholdsCV(clf, cv="prefit").fit(test_paths[tune], Y_test[tune])
proba = clf.predict_proba(test_paths[score])
print("macro average precision:", round(average_precision_score(Y_test[score], proba), 3))
print("macro F1 at 0.5:", round(f1_score(Y_test[score], proba >= 0.5, average="macro"), 3))
tuned_f1 = f1_score(Y_test[score], tuned.predict(test_paths[score]), average="macro")
print("macro F1 at the tuned thresholds:", round(tuned_f1, 3))

# %%
# Each label's training frequency, and its threshold
# --------------------------------------------------
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(label_names, Y.mean(axis=0), label="training frequency")
ax.plot(label_names, tuned.best_thresholds_, "o-", color="C3", label="tuned threshold")
ax.set_ylim(0, 1)
ax.tick_params(axis="x", rotation=45)
ax.legend()
fig.tight_layout()
