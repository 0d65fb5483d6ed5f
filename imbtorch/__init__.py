"""imbtorch: scikit-learn compatible CNN image classifiers for imbalanced data."""

from .estimator import BalancedImageClassifier

__all__ = ["BalancedImageClassifier", "__version__"]
__version__ = "0.1.0.dev0"
