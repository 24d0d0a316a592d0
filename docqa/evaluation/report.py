"""Plots of an evaluation run: metrics against the no-answer threshold, and how no-answer scores separate.

Needs matplotlib (the optional extra ``docqa[report]``); it is imported only when a report is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from docqa.errors import DocqaError
from docqa.evaluation._files import atomic_path
from docqa.evaluation.squad_eval import UNANSWERABLE_SCORE, EvalResult

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

    The sweep plots exact match and F1 (using each question's best span) for every no-answer threshold, with
    the reader's threshold and the best F1 threshold marked; thresholds are in no-answer-score units
    (``-no_answer_threshold`` of the reader). The histogram compares the no-answer scores of answerable and
    unanswerable questions.

    Example::

        result = evaluate_reader(reader, "dev-v2.0.json", limit=500)
        write_report("report/", result)
    """
    figure_class, canvas_class = _matplotlib()
    out = Path(directory)
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
    thresholds = sweep.thresholds[finite]
    figure = figure_class(figsize=(7.5, 4.5))
    axes = figure.add_subplot()
    axes.step(thresholds, sweep.exact[finite], where="post", label="exact match")
    axes.step(thresholds, sweep.f1[finite], where="post", label="F1")
    chosen = result.na_prob_thresh
    chosen_exact, chosen_f1 = sweep.at(chosen)
    axes.axvline(chosen, color="tab:gray", linestyle="--",
                 label=f"reader threshold {chosen:g} (EM {chosen_exact:.1f}, F1 {chosen_f1:.1f})")
    best_f1, best_threshold = sweep.best("f1")
    axes.axvline(best_threshold, color="tab:red", linestyle=":",
                 label=f"best F1 threshold {best_threshold:.3g} (F1 {best_f1:.1f})")
    axes.set_xlabel("no-answer score threshold (predict no answer above it)")
    axes.set_ylabel("score (%)")
    axes.set_title(f"SQuAD 2.0: metrics vs no-answer threshold ({result.num_questions} questions)")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return figure


def _histogram_figure(figure_class: Any, result: EvalResult) -> Any:
    scores = {"answerable": [], "unanswerable": []}
    for qid, na_prob in result.na_probs.items():
        if na_prob < UNANSWERABLE_SCORE:  # questions with nothing to read have no real score
            scores["answerable" if result.gold.get(qid) else "unanswerable"].append(na_prob)
    every = np.array(scores["answerable"] + scores["unanswerable"])
    figure = figure_class(figsize=(7.5, 4.5))
    axes = figure.add_subplot()
    bins = np.histogram_bin_edges(every, bins=40) if len(every) else 10
    for label, values in scores.items():
        if values:
            axes.hist(values, bins=bins, alpha=0.55, label=f"{label} ({len(values)})")
    axes.axvline(result.na_prob_thresh, color="tab:gray", linestyle="--", label="reader threshold")
    axes.set_xlabel("no-answer score (null score - best span score)")
    axes.set_ylabel("questions")
    axes.set_title("No-answer scores of answerable vs unanswerable questions")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure
