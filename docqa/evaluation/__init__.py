"""SQuAD evaluation of readers: the official metrics, evaluation runs and their reports.

``write_report`` lives in :mod:`docqa.evaluation.report` (it needs the optional matplotlib).
"""

from docqa.evaluation.squad_dataset import SquadDataset, SquadParagraph, SquadQuestion
from docqa.evaluation.squad_eval import EvalResult, evaluate_reader
from docqa.evaluation.squad_metrics import (
    SquadV1Metrics,
    SquadV2Metrics,
    ThresholdSweep,
    compute_exact,
    compute_f1,
    normalize_answer,
    squad_v1_metrics,
    squad_v2_metrics,
    threshold_sweep,
)

__all__ = [
    "EvalResult",
    "SquadDataset",
    "SquadParagraph",
    "SquadQuestion",
    "SquadV1Metrics",
    "SquadV2Metrics",
    "ThresholdSweep",
    "compute_exact",
    "compute_f1",
    "evaluate_reader",
    "normalize_answer",
    "squad_v1_metrics",
    "squad_v2_metrics",
    "threshold_sweep",
]
