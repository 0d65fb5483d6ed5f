"""
Choosing a strategy with ``compare_strategies``
===============================================

:func:`imbtorch.compare_strategies` cross-validates named strategies on your
own data, with the same folds and seeds for each, and ranks them by balanced
accuracy, beside the recall of the rarest classes and the time of a fit.
"""

# %%
from imbtorch import BalancedImageClassifier, compare_strategies
from imbtorch.datasets import load_long_tailed_digits

X_train, _, y_train, _ = load_long_tailed_digits(imbalance_ratio=20)

# %%
# A few strategies, each a named set of parameters
# ------------------------------------------------
# ``estimator`` carries the settings every strategy shares.
table = compare_strategies(
    X_train,
    y_train,
    ["auto", "ce", "balanced_weights", "class_balanced_sampler", "crt"],
    estimator=BalancedImageClassifier(max_epochs=10, random_state=0),
    cv=3,
    plot=True,
)
table.round(3)
