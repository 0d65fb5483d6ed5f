"""Evaluation on imbalanced data: scores, calibration, displays, reports, strategy comparison."""

from .calibration import (
    CALIBRATION_SCORING,
    ReliabilityDisplay,
    expected_calibration_error,
    reliability_curve,
)
from .compare import compare_strategies, plot_strategy_comparison
from .displays import RecallFrequencyDisplay, plot_confusion_matrix
from .imbalance_report import ImbalanceReport
from .metrics import (
    IMBALANCE_SCORING,
    imbalance_scores,
    per_class_recall,
    shot_groups,
    shot_scorers,
    tail_labels,
)
from .multilabel import (
    MULTILABEL_SCORING,
    label_scores,
    multilabel_scores,
    multilabel_shot_scorers,
    tail_label_columns,
)
from .multilabel_report import MultiLabelReport
from .report import report, training_summary

__all__ = [
    "CALIBRATION_SCORING",
    "IMBALANCE_SCORING",
    "MULTILABEL_SCORING",
    "MultiLabelReport",
    "ImbalanceReport",
    "RecallFrequencyDisplay",
    "ReliabilityDisplay",
    "compare_strategies",
    "expected_calibration_error",
    "imbalance_scores",
    "label_scores",
    "multilabel_scores",
    "multilabel_shot_scorers",
    "per_class_recall",
    "plot_confusion_matrix",
    "plot_strategy_comparison",
    "reliability_curve",
    "report",
    "shot_groups",
    "shot_scorers",
    "tail_label_columns",
    "tail_labels",
    "training_summary",
]
