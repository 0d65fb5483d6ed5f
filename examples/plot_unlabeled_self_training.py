"""
Unlabelled images marked ``-1``: the default self-trains on them
================================================================

Labelling costs, so the rare classes are rare in the labelled set while
the unlabelled images hold many more of them. As for scikit-learn's
semi-supervised estimators, mark each unlabelled image ``-1`` in ``y`` and
pass everything to ``fit``. The default fits a teacher on the labelled
images, keeps its confident pseudo-labels (at most twice as many as the
labelled images), and trains again on both. ``plan_`` says what it kept
and what it cost.
"""

# %%
# Long-tailed labels, the rest unlabelled
# ---------------------------------------
# The 8x8 digits: a balanced test set of 50 per digit; of the rest, a
# long-tailed labelled set (rho = 100: 65 images of the digit 0 down to one
# of the digit 9), and every other image unlabelled, marked ``-1``.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import recall_score

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import make_long_tailed

digits = load_digits()
images, labels = digits.images.astype(np.float32), digits.target
rng = np.random.default_rng(0)
test = np.concatenate(
    [rng.choice(np.flatnonzero(labels == c), 50, replace=False) for c in range(10)]
)
rest = np.setdiff1d(np.arange(len(labels)), test)
labeled, _ = make_long_tailed(rest, labels[rest], 100, n_max=65, random_state=0)
y = np.where(np.isin(rest, labeled), labels[rest], -1)  # -1: unlabelled
X, X_test, y_test = images[rest], images[test], labels[test]
print("labelled per digit:", np.bincount(y[y != -1]), "unlabelled:", (y == -1).sum())

# %%
# The labelled images alone, then all of them
# -------------------------------------------
# ``unlabeled='ignore'`` leaves the ``-1`` images out; the default
# (``unlabeled='auto'``) trains on them. The same seed for both.
alone = BalancedImageClassifier(max_epochs=30, random_state=0, unlabeled="ignore").fit(X, y)
both = BalancedImageClassifier(max_epochs=30, random_state=0).fit(X, y)
for name, clf in (("labelled images alone", alone), ("with the unlabelled ones", both)):
    print(f"{name}: balanced accuracy {clf.score(X_test, y_test):.3f}")

# %%
# What the default did with them
# ------------------------------
# The plan's lines on the unlabelled images: what the teacher labelled
# confidently, what was kept per class, and the cost against a
# labelled-only fit. ``plan_.unlabeled.pseudo_labels`` holds the kept
# images' positions in ``X`` and their labels.
print("\n".join(both.plan_.unlabeled.lines()))
record = both.plan_.unlabeled.pseudo_labels
right = np.mean(record.labels == labels[rest][record.positions])
print(f"{len(record.positions)} pseudo-labels, {right:.1%} of them right")

# %%
# Recall per digit
# ----------------
# The rare digits gain most: the pool holds many more of their images than
# the labelled set does.
recalls = {
    name: recall_score(y_test, clf.predict(X_test), average=None)
    for name, clf in (("labelled only", alone), ("the default, with -1 images", both))
}
fig, ax = plt.subplots(figsize=(7, 3))
for offset, (name, recall) in zip((-0.2, 0.2), recalls.items(), strict=True):
    ax.bar(np.arange(10) + offset, recall, width=0.4, label=name)
ax.set(xlabel="digit (labelled images: most for 0, one for 9)", ylabel="recall", xticks=range(10))
ax.legend(loc="lower left")
fig.tight_layout()
