"""imbtorch: scikit-learn compatible CNN image classifiers for imbalanced data."""

from .compare import compare_strategies
from .embeddings import ImageEmbedder
from .estimator import BalancedImageClassifier

__all__ = ["BalancedImageClassifier", "ImageEmbedder", "__version__", "compare_strategies"]
__version__ = "0.1.0.dev0"
