"""Fine-tuning extractive readers on SQuAD v1.1 / v2.0 files: ``docqa train`` and its Python API.

Example::

    from docqa.training import TrainingConfig, train_reader

    result = train_reader(TrainingConfig(base="bert-base-uncased", train="train.json", out="reader", dev="dev.json"))
    print(result.epochs[-1]["metrics"]["f1"], result.advised_no_answer_threshold)
"""

from docqa.training.config import TrainingConfig
from docqa.training.labels import LabelledWindow, label_window, training_windows
from docqa.training.squad_training_data import SquadTrainingSet, TrainingQuestion, ValidationReport
from docqa.training.trainer import TrainingResult, evaluate_checkpoint, train_reader

__all__ = [
    "LabelledWindow",
    "SquadTrainingSet",
    "TrainingConfig",
    "TrainingQuestion",
    "TrainingResult",
    "ValidationReport",
    "evaluate_checkpoint",
    "label_window",
    "train_reader",
    "training_windows",
]
