"""imbtorch: scikit-learn compatible CNN image classifiers for imbalanced data."""

from .embeddings import ImageEmbedder
from .estimator import BalancedImageClassifier
from .evaluation.compare import compare_strategies

__all__ = ["BalancedImageClassifier", "ImageEmbedder", "__version__", "compare_strategies"]
__version__ = "0.1.0.dev0"
