"""Write fitted_0.1.0.dev0.pkl: classifiers fitted and pickled by imbtorch 0.1.0.dev0.

Run from a checkout of commit e7bbef7 (the last of 0.1.0.dev0's layout):
``PYTHONPATH=<that checkout> python tests/data/make_fitted_0.1.0.dev0.py out.pkl``.
``tests/test_pickles.py`` loads them with the package as it is now.
"""

import pickle
import sys

import numpy as np

from imbtorch import BalancedImageClassifier


def images():
    """The test suite's ``small_images`` (60 images, 3 classes), and the 31 of
    ``long_tailed_images`` with string labels."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(0.0, 0.3, size=(60, 8, 8))
    X[y == 0] += 2.0
    X[y == 1] -= 2.0
    X[y == 2, :, ::2] += 2.0
    X = X.astype(np.float32)
    keep = np.concatenate([np.arange(20), np.arange(20, 28), np.arange(40, 43)])
    return X, X[keep], np.array(["a", "b", "c"])[y[keep]]


if __name__ == "__main__":
    X, X_train, y_train = images()
    fast = dict(random_state=0, module__width=8)
    models = {
        # 'auto' with its square-root classifier stage (3 epochs: training errors left)
        "auto_stage": BalancedImageClassifier(max_epochs=3, **fast),
        # 'auto' that trained longer (extension_), then ran its stage
        "auto_extended": BalancedImageClassifier(max_epochs=10, extra_epochs=2, **fast),
        "as_set": BalancedImageClassifier(class_weight="balanced", max_epochs=3, **fast),
    }
    out = {}
    for name, clf in models.items():
        clf.fit(X_train, y_train)
        out[name] = {
            "model": clf,
            "proba": clf.predict_proba(X),
            "predict": clf.predict(X),
            "strategy_": clf.strategy_,
        }
    with open(sys.argv[1], "wb") as file:
        pickle.dump(out, file)
