"""
The default against plain cross-entropy on long-tailed images
=============================================================

scikit-learn's 8x8 digits, cut to a long tail: 124 zeros down to a single
nine (``imbalance_ratio=100``), with a balanced test set. Plain cross-entropy
learns the head and loses the tail; the default (``strategy='auto'``) decides
what to train from the class counts and from how well the network learns its
training images, and :func:`imbtorch.report` shows how every class is served.
"""

# %%
# The data: a long tail
# ---------------------
import numpy as np

from imbtorch import BalancedImageClassifier, report
from imbtorch.datasets import load_long_tailed_digits

X_train, X_test, y_train, y_test = load_long_tailed_digits(imbalance_ratio=100)
print("training images per digit:", np.bincount(y_train))
print("test images per digit:", np.bincount(y_test))

# %%
# Two fits: plain cross-entropy and the default
# ---------------------------------------------
# ``strategy=None`` trains the parameters exactly as set: plain
# cross-entropy. The default needs no setting.
plain = BalancedImageClassifier(strategy=None, max_epochs=20, random_state=0)
default = BalancedImageClassifier(max_epochs=20, random_state=0)
for clf in (plain, default):
    clf.fit(X_train, y_train)
    print(f"{clf.strategy_:>32}: balanced accuracy {clf.score(X_test, y_test):.3f}")

# %%
# What the default decided, and why
# ---------------------------------
print(default.plan_)

# %%
# The report: every class, beside the plan
# ----------------------------------------
# The figure shows the normalised confusion matrix, the recall of each class
# against its training count, and the reliability of the probabilities.
result = report(default, X_test, y_test)
print(result.per_class.round(2).to_string())
result.plot()
