"""
Probabilities under the deployment prior
========================================

Re-balancing makes a classifier decide as if every class were equally
common, which is what balanced accuracy rewards. Its scores then overstate
the rare classes wherever the classes keep their natural frequencies.
``proba_prior`` gives ``predict_proba`` under the prior you deploy at, by
Bayes' rule from the prior the training assumed, while ``predict`` stays the
balanced decision.
"""

# %%
# A test set at the training frequencies
# --------------------------------------
# Hold out a stratified part of a long-tailed set: its classes keep the
# training frequencies, as in deployment.
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import load_long_tailed_digits
from imbtorch.evaluation import ReliabilityDisplay, expected_calibration_error

X, _, y, _ = load_long_tailed_digits(imbalance_ratio=20)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)
clf = BalancedImageClassifier(max_epochs=20, random_state=0).fit(X_train, y_train)

# %%
# The same fit, two priors
# ------------------------
# ``proba_prior`` may change after the fit; ``predict`` does not move.
fig, ax = plt.subplots(figsize=(5, 5))
for prior in (None, "train"):
    clf.set_params(proba_prior=prior)
    proba = clf.predict_proba(X_test)
    ece = expected_calibration_error(y_test, proba, labels=clf.classes_)
    name = f"proba_prior={prior!r}: ECE {ece:.3f}"
    ReliabilityDisplay.from_predictions(
        y_test, proba, labels=clf.classes_, n_bins=10, name=name, ax=ax
    )
    print(name, "| balanced accuracy", round(clf.score(X_test, y_test), 3))
ax.set_title("Top-label reliability on images at the training frequencies")
