"""The evaluation report: valid, non-trivial PNGs, and a clear error without matplotlib."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from shared_assets import SQUAD_DEV_HALF as SQUAD

from docqa.errors import DocqaError
from docqa.evaluation.report import HISTOGRAM_PNG, SWEEP_PNG, write_report
from docqa.evaluation.squad_dataset import SquadDataset
from docqa.evaluation.squad_eval import EvalResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def result(tiny_eval_run: tuple[EvalResult, Path]) -> EvalResult:
    return tiny_eval_run[0]


def test_report_writes_two_valid_pngs(result: EvalResult, tmp_path: Path) -> None:
    from matplotlib.image import imread

    paths = write_report(tmp_path / "report", result)
    assert [path.name for path in paths] == [SWEEP_PNG, HISTOGRAM_PNG]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 10_000  # axes, two curves/histograms, labels: far from an empty canvas
        pixels = imread(path)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 500
        assert pixels[..., :3].std() > 0.05  # something was drawn
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == sorted([SWEEP_PNG, HISTOGRAM_PNG])


def test_report_handles_synthetic_results_with_unreadable_questions(tmp_path: Path) -> None:
    gold = SquadDataset.load(SQUAD).head(6).gold_answers()
    qids = list(gold)
    na_probs = {qid: float(i) - 2.5 for i, qid in enumerate(qids)}
    na_probs[qids[0]] = sys.float_info.max  # nothing to read: must not break the axes
    from docqa.evaluation.squad_metrics import squad_v2_metrics

    predictions = dict.fromkeys(qids, "")
    result = EvalResult(
        metrics=squad_v2_metrics(gold, predictions, na_probs, 0.0),
        v1_metrics=None,
        always_answering=squad_v2_metrics(gold, dict.fromkeys(qids, "x")),
        predictions=predictions,
        na_probs=na_probs,
        span_predictions=dict.fromkeys(qids, "x"),
        gold=gold,
        na_prob_thresh=0.0,
        open_domain=True,
        num_passages=0,
        reader_seconds=0.0,
        total_seconds=0.0,
    )
    for path in write_report(tmp_path, result):
        assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_missing_matplotlib_is_a_clear_error(result: EvalResult, tmp_path: Path, monkeypatch) -> None:
    # None in sys.modules makes `import matplotlib...` raise ImportError, as when it is not installed.
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(DocqaError, match=r"docqa\[report\]"):
        write_report(tmp_path / "report", result)
    assert not (tmp_path / "report").exists()


def test_plots_use_the_reader_threshold_units(result: EvalResult) -> None:
    from matplotlib.figure import Figure

    from docqa.evaluation.report import _histogram_figure, _sweep_figure

    axes = _sweep_figure(Figure, result).axes[0]
    _exact_line, f1_line, chosen_line, best_line = axes.lines
    best_f1, best_threshold = result.best_threshold("f1")
    assert chosen_line.get_xdata()[0] == result.no_answer_threshold
    assert best_line.get_xdata()[0] == best_threshold and repr(best_threshold) in best_line.get_label()
    # the F1 curve at the advised threshold is the best F1, and its x values are best span - null scores
    margins = sorted(set(result.margins.values()))
    assert set(margins) <= set(f1_line.get_xdata())
    assert max(f1_line.get_ydata()) == pytest.approx(best_f1)
    histogram = _histogram_figure(Figure, result).axes[0]
    counted = sum(patch.get_height() for patch in histogram.patches)
    assert counted == len(result.margins)
    assert min(p.get_x() for p in histogram.patches) == pytest.approx(min(margins))


def test_advised_threshold_answers_exactly_the_questions_at_or_above_it(result: EvalResult) -> None:
    from docqa.evaluation.squad_metrics import squad_v2_metrics

    for metric in ("f1", "exact"):
        best, threshold = result.best_threshold(metric)
        answered = {
            qid: result.span_predictions[qid] if result.margins.get(qid, -np.inf) >= threshold else ""
            for qid in result.gold
        }
        metrics = squad_v2_metrics(result.gold, answered)
        assert getattr(metrics, metric) == pytest.approx(best, abs=1e-9)


def test_write_report_into_a_file_is_refused(result: EvalResult, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(DocqaError, match="is a file"):
        write_report(a_file, result)
