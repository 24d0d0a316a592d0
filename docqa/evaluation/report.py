"""Plots of an evaluation run: metrics against the no-answer threshold, and how no-answer scores separate.

Needs matplotlib (the optional extra ``docqa[report]``); it is imported only when a report is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from docqa.errors import DocqaError
from docqa.evaluation.squad_eval import UNANSWERABLE_SCORE, EvalResult
from docqa.files import atomic_path

SWEEP_PNG = "threshold_sweep.png"
HISTOGRAM_PNG = "no_answer_scores.png"


def _matplotlib() -> tuple[Any, Any]:
    """``(Figure, FigureCanvasAgg)``: figures drawn on the Agg canvas explicitly, never via pyplot's global
    state or the user's display backend."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DocqaError("writing a report needs matplotlib: pip install 'docqa[report]'") from None
    return Figure, FigureCanvasAgg


def write_report(directory: str | Path, result: EvalResult) -> list[Path]:
    """Write ``threshold_sweep.png`` and ``no_answer_scores.png`` for ``result`` into ``directory``.

    Both are in the reader's units, those of ``no_answer_threshold`` (``--no-answer-threshold``): a question is
    answered when its best span - null score is at least the threshold. The sweep plots exact match and F1
    (using each question's best span) against that threshold, with the reader's threshold and the best F1
    threshold marked; the histogram compares the best span - null scores of answerable and unanswerable
    questions.

    Example::

        result = evaluate_reader(reader, "dev-v2.0.json", limit=500)
        write_report("report/", result)
    """
    figure_class, canvas_class = _matplotlib()
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise DocqaError(f"the report folder {out} is a file: give a directory")
    out.mkdir(parents=True, exist_ok=True)
    sweep_path, histogram_path = out / SWEEP_PNG, out / HISTOGRAM_PNG
    _save(_sweep_figure(figure_class, result), canvas_class, sweep_path)
    _save(_histogram_figure(figure_class, result), canvas_class, histogram_path)
    return [sweep_path, histogram_path]


def _save(figure: Any, canvas_class: Any, path: Path) -> None:
    canvas_class(figure)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)


def _sweep_figure(figure_class: Any, result: EvalResult) -> Any:
    sweep = result.sweep()
    finite = sweep.thresholds < UNANSWERABLE_SCORE
    # na_prob thresholds v, ascending, become reader thresholds -v, ascending; the value at -v holds down to the
    # next threshold to its left (exclusive), hence the step drawn "pre".
    thresholds = (0.0 - sweep.thresholds[finite])[::-1]
    exact, f1 = sweep.exact[finite][::-1], sweep.f1[finite][::-1]
    figure = figure_class(figsize=(7.5, 4.5))
    axes = figure.add_subplot()
    axes.step(thresholds, exact, where="pre", label="exact match")
    axes.step(thresholds, f1, where="pre", label="F1")
    chosen = result.no_answer_threshold
    chosen_exact, chosen_f1 = sweep.at(0.0 - chosen)
    label = f"reader threshold {chosen!r} (EM {chosen_exact:.1f}, F1 {chosen_f1:.1f})"
    axes.axvline(chosen, color="tab:gray", linestyle="--", label=label)
    best_f1, best_threshold = result.best_threshold("f1")
    label = f"best F1 threshold {best_threshold!r} (F1 {best_f1:.1f})"
    axes.axvline(best_threshold, color="tab:red", linestyle=":", label=label)
    axes.set_xlabel("--no-answer-threshold (answer when best span - null score >= it)")
    axes.set_ylabel("score (%)")
    axes.set_title(f"SQuAD 2.0: metrics vs no-answer threshold ({result.num_questions} questions)")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    return figure


def _histogram_figure(figure_class: Any, result: EvalResult) -> Any:
    margins: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for qid, margin in result.margins.items():  # questions with nothing to read have no margin
        margins["answerable" if result.gold.get(qid) else "unanswerable"].append(margin)
    every = np.array(margins["answerable"] + margins["unanswerable"])
    figure = figure_class(figsize=(7.5, 4.5))
    axes = figure.add_subplot()
    bins = np.histogram_bin_edges(every, bins=40) if len(every) else 10
    for label, values in margins.items():
        if values:
            axes.hist(values, bins=bins, alpha=0.55, label=f"{label} ({len(values)})")
    axes.axvline(result.no_answer_threshold, color="tab:gray", linestyle="--", label="reader threshold")
    axes.set_xlabel("best span - null score (answered at or above --no-answer-threshold)")
    axes.set_ylabel("questions")
    axes.set_title("Best span - null score of answerable vs unanswerable questions")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure
