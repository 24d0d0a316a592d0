"""One small evaluation run with the tiny random-weights reader, shared by the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_assets import SQUAD_DEV_HALF as SQUAD
from squad_eval_helpers import LIMIT, make_reader

from docqa.evaluation.squad_eval import EvalResult, evaluate_reader


@pytest.fixture(scope="session")
def tiny_eval_run(tiny_bert_qa_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalResult, Path]:
    """The first LIMIT questions of the dev-half set, reader-only, with the files written to the folder."""
    out = tmp_path_factory.mktemp("eval-out")
    reader = make_reader(tiny_bert_qa_dir)
    result = evaluate_reader(reader, SQUAD, limit=LIMIT, progress=False, output_dir=out)
    return result, out
