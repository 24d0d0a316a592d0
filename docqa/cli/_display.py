"""How the CLI shows answers: JSON (:mod:`docqa.answers`) or one panel per answer (``docqa ask``, ``docqa run``)."""

from __future__ import annotations

from rich.markup import escape
from rich.panel import Panel

from docqa.cli._common import console, print_json
from docqa.schema import Answer, AnswerSource, Span

#: How many further places of an answer its panel names (the JSON lists them all).
_PLACES_SHOWN = 3


def show_answers(question: str, answers: list[Answer], json_output: bool) -> None:
    """The answers as ``docqa ask`` prints them: JSON (:func:`docqa.answers.answers_json`) or panels."""
    if json_output:
        from docqa.answers import answers_json

        print_json(answers_json(question, answers))
    else:
        print_answers(question, answers)


def print_answers(question: str, answers: list[Answer], context_chars: int = 160) -> None:
    """One panel per answer, numbered: the text, its probability and score, where it was found, and the answer
    highlighted in its passage; the no-answer entry, unnumbered, where the reader ranks it."""
    console.print(f"[bold]Q:[/] {escape(question)}")
    rank = 0
    for answer in answers:
        numbers = f"probability {answer.probability:.3f} · score {answer.score:.2f}"
        if answer.is_no_answer:
            margin = answer.meta.get("no_answer_margin")
            detail = f" · best answer - null = {margin:.2f}" if margin is not None else ""
            verdict = "no answer: the reader's choice" if answer is answers[0] else "no answer"
            console.print(Panel(f"[dim]{numbers}{detail}[/]", title=verdict, title_align="left"))
            continue
        rank += 1
        body = f"{_highlighted_context(answer, context_chars)}\n[dim]{numbers} · {escape(_places(answer))}[/]"
        console.print(Panel(body, title=f"{rank}. {escape(_squashed(answer.text or ''))}", title_align="left"))


def _highlighted_context(answer: Answer, context_chars: int) -> str:
    assert answer.document is not None and answer.passage_span is not None
    content = answer.document.content
    start, end = answer.passage_span.start, answer.passage_span.end
    left = _squashed(content[max(0, start - context_chars) : start])
    right = _squashed(content[end : end + context_chars])
    prefix = "…" if start > context_chars else ""
    suffix = "…" if end + context_chars < len(content) else ""
    answer_text = escape(_squashed(content[start:end]))
    return f"{prefix}{escape(left)}[bold black on yellow]{answer_text}[/]{escape(right)}{suffix}"


def _squashed(text: str) -> str:
    """Runs of whitespace (newlines included) as one space, keeping whether the text starts/ends with one."""
    words = " ".join(text.split())
    if not words:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + words + (" " if text[-1].isspace() else "")


def _places(answer: Answer) -> str:
    """``Warsaw.txt, chars 4667-4674`` and, for an answer found in several places, how many and the next few."""
    assert answer.document is not None and answer.source_span is not None
    here = f"{_name(answer.document.meta, answer.document.source_id)}, chars {_chars(answer.source_span)}"
    places = list(dict.fromkeys((s.source_id, _chars(s.span), _source_name(s)) for s in answer.sources))
    passages = len(answer.sources)
    if len(places) <= 1:
        return here if passages <= 1 else f"{here} (in {passages} overlapping passages)"
    others = [f"{name} {chars}" for _, chars, name in places[1 : 1 + _PLACES_SHOWN]]
    more = " …" if len(places) > 1 + _PLACES_SHOWN else ""
    return f"{here}; found in {len(places)} places, also {', '.join(others)}{more}"


def _source_name(source: AnswerSource) -> str:
    return _name(source.document.meta, source.source_id)


def _name(meta: dict[str, object], source_id: str) -> str:
    return str(meta.get("file_name") or meta.get("title") or source_id[:12])


def _chars(span: Span) -> str:
    return f"{span.start}-{span.end}"
