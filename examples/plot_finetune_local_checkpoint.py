"""
Fine-tuning from a local checkpoint
===================================

Most users start from pretrained weights. ``backbone_weights`` takes a
torchvision weights name or a ``state_dict`` file on disk; the classifier
layer is rebuilt for your classes. Here a network is first trained on the
digits 5 to 9 and saved; it is then fine-tuned on a long tail of the digits
0 to 4, which it never saw, against the same network trained from scratch.
Whether a checkpoint helps depends on how close its classes are to yours and
on how long you train: measure it, as here, before settling.
"""

# %%
# Pretraining on other classes, saved as a state_dict
# ---------------------------------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import long_tailed_split

digits = load_digits()
upper = digits.target >= 5
source = BalancedImageClassifier(max_epochs=15, random_state=0)
source.fit(digits.images[upper], digits.target[upper])
checkpoint = Path(tempfile.mkdtemp()) / "digits_5_9.pt"
torch.save(source.module_.state_dict(), checkpoint)

# %%
# Fine-tuning on a long tail of new classes
# -----------------------------------------
X_train, X_test, y_train, y_test = long_tailed_split(
    digits.images[~upper], digits.target[~upper], 50, n_test_per_class=60, random_state=0
)
print("training images per digit:", np.bincount(y_train))
fig, ax = plt.subplots(figsize=(5, 3))
for name, weights in [("from scratch", None), ("fine-tuned", str(checkpoint))]:
    clf = BalancedImageClassifier(backbone_weights=weights, max_epochs=15, random_state=0)
    clf.fit(X_train, y_train)
    score = clf.score(X_test, y_test)
    print(f"{name}: balanced accuracy {score:.3f} at learning rate {clf.learning_rate()}")
    ax.plot(
        clf.history[:, "epoch"], clf.history[:, "train_loss"], "o-", label=f"{name}: {score:.3f}"
    )
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend(title="balanced accuracy on the test set")
fig.tight_layout()

# %%
# On another split (``random_state`` of ``long_tailed_split``) the two can
# trade places: with a handful of test images per rare class, one split is
# no evidence; cross-validate (:func:`imbtorch.compare_strategies` with
# ``estimator=``) before settling.
#
# ``lr=None`` takes 1e-3 when fine-tuning ``backbone_weights`` and 4e-3 from
# scratch; ``backbone_lr`` gives the pretrained layers a rate of their own,
# and ``freeze='backbone'`` with ``unfreeze_epoch`` trains the new classifier
# alone first.
