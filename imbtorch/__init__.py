"""imbtorch: scikit-learn compatible CNN image classifiers for imbalanced data."""

from .embeddings import ImageEmbedder
from .estimator import BalancedImageClassifier
from .evaluation import compare_strategies, report
from .evaluation.thresholds import TunedLabelThresholdsCV

__all__ = [
    "BalancedImageClassifier",
    "ImageEmbedder",
    "TunedLabelThresholdsCV",
    "__version__",
    "compare_strategies",
    "report",
]
__version__ = "0.2.0.dev0"
