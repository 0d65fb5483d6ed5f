"""Write fitted_0.1.0.dev0.pkl: classifiers fitted and pickled by imbtorch 0.1.0.dev0.

Run from a checkout of commit e7bbef7 (the last of 0.1.0.dev0's layout):
``PYTHONPATH=<that checkout> python tests/data/make_fitted_0.1.0.dev0.py out.pkl``.
``tests/test_pickles.py`` loads them with the package as it is now.
"""

import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))  # the tests' conftest
from conftest import separable_images  # noqa: E402

from imbtorch import BalancedImageClassifier  # noqa: E402


def images():
    """The test suite's ``small_images``, and the 31 of ``long_tailed_images`` with string
    labels."""
    X, y = separable_images()
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
