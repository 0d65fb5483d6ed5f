"""
SMOTE on CNN embeddings, searched with GridSearchCV
===================================================

SMOTE interpolates between neighbours, which makes sense between CNN
features, not between raw pixels. :class:`imbtorch.ImageEmbedder` turns
images into the features a CNN feeds its classifier, so that
imbalanced-learn's resamplers and a scikit-learn head follow it in one
imbalanced-learn ``Pipeline``. With ``memory=``, the search trains the CNN
once per fold, not once per candidate.
"""

# %%
import tempfile

import matplotlib.pyplot as plt
import pandas as pd
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from imbtorch import BalancedImageClassifier, ImageEmbedder
from imbtorch.datasets import load_long_tailed_digits
from imbtorch.samplers.resampling import CappedNeighbors

X_train, X_test, y_train, y_test = load_long_tailed_digits(imbalance_ratio=20)

# %%
# The pipeline, cached
# --------------------
# ``CappedNeighbors`` lowers SMOTE's ``k_neighbors`` where a class in a fold
# has too few images for it, and says so with a warning.
pipe = Pipeline(
    [
        ("embed", ImageEmbedder(BalancedImageClassifier(max_epochs=10, random_state=0))),
        ("scale", StandardScaler()),
        ("resample", "passthrough"),
        ("head", LogisticRegression(max_iter=2000)),
    ],
    memory=Memory(tempfile.mkdtemp(), verbose=0),
)
grid = GridSearchCV(
    pipe,
    {
        "resample": [
            "passthrough",
            RandomOverSampler(random_state=0),
            CappedNeighbors(SMOTE(random_state=0)),
        ],
        "head__C": [0.1, 1.0],
    },
    scoring="balanced_accuracy",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
).fit(X_train, y_train)
print("best:", grid.best_params_)
print("balanced accuracy on the balanced test set:", round(grid.score(X_test, y_test), 3))

# %%
# Every candidate's score
# -----------------------
results = pd.DataFrame(grid.cv_results_)
results["resampler"] = results["param_resample"].map(
    lambda r: r if isinstance(r, str) else type(getattr(r, "sampler", r)).__name__
)
table = results.pivot(index="resampler", columns="param_head__C", values="mean_test_score")
table.plot.barh(figsize=(6, 3), xlim=(0.8, 1.0), title="cross-validated balanced accuracy")
plt.xlabel("balanced accuracy")
plt.tight_layout()
