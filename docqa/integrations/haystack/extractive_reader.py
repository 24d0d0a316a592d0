"""docqa's SQuAD 2.0 reader as a Haystack component."""

from __future__ import annotations

from typing import Any

from haystack import Document, ExtractedAnswer, component

from docqa.core.validation import check_optional_int
from docqa.integrations.haystack.answers import extracted_answer
from docqa.integrations.haystack.documents import to_reader_document
from docqa.integrations.haystack.serialization import Configured, init_signature, keyword
from docqa.readers.extractive_reader import ExtractiveReader as DocqaExtractiveReader

CONTEXT_WINDOW_SIZE = keyword("context_window_size", 150, "int | None")


@component
@init_signature(DocqaExtractiveReader, own=[CONTEXT_WINDOW_SIZE])
class ExtractiveReader(Configured):
    """Extracts answers to a query from documents with docqa's reader (:class:`docqa.readers.ExtractiveReader`).

    It takes every setting of docqa's reader, with its defaults (``model``, ``top_k``, ``max_seq_len``,
    ``doc_stride``, ``no_answer``, ``no_answer_threshold``, ``backend``, ``quantize``, ``align_to_words``,
    ``device``...; new ones appear here as docqa adds them), plus ``context_window_size``: how many characters of
    the document each answer's ``context`` holds (``None``: the whole document).

    The answers are docqa's, in its order, as Haystack ``ExtractedAnswer``s (see
    :mod:`docqa.integrations.haystack.answers`): ``score`` is the probability (a softmax over every candidate span
    of all the documents and the SQuAD 2.0 no-answer, so scores compare across documents); ``document`` is the
    document given, ``document_offset`` and ``context_offset`` are exact; with ``no_answer=True`` one answer has
    ``data=None`` (the no-answer, with ``meta["no_answer_margin"]``), where docqa's reader places it (``top_k``
    counts as there). :meth:`run_batch` answers many queries at once (docqa batches the
    windows of all of them: faster than one :meth:`run` per query).

    Example (with a model in a local directory)::

        from haystack import Document
        reader = ExtractiveReader(model="/models/minilm-uncased-squad2", top_k=2)
        reader.warm_up()
        answers = reader.run("Where does John live?", [Document(content="My name is John and I live in Hyderabad.")])
        print(answers["answers"][0].data, answers["answers"][0].score)  # Hyderabad 0.9...
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = self._bind(args, kwargs)
        window = settings.pop(CONTEXT_WINDOW_SIZE.name)
        self.context_window_size = check_optional_int("ExtractiveReader", CONTEXT_WINDOW_SIZE.name, window, minimum=0)
        self.reader = DocqaExtractiveReader(**settings)

    def warm_up(self) -> None:
        """Load the model (once; :meth:`run` loads it too when needed)."""
        self.reader.warm_up()

    @component.output_types(answers=list[ExtractedAnswer])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
    ) -> dict[str, list[ExtractedAnswer]]:
        """The best answers to ``query`` in ``documents``, best first; ``top_k`` and ``no_answer_threshold`` (the
        margin of the best span over the null score below which the no-answer ranks first) for this run."""
        return {"answers": self.run_batch([query], [documents], top_k, no_answer_threshold)["answers"][0]}

    def run_batch(
        self,
        queries: list[str],
        documents: list[list[Document]],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
    ) -> dict[str, list[list[ExtractedAnswer]]]:
        """Answer several queries at once, ``documents[i]`` for ``queries[i]``:
        ``{"answers": [answers to queries[0], ...]}``, each list as :meth:`run` gives it."""
        converted = [[to_reader_document(document) for document in group] for group in documents]
        originals = {
            id(mine): theirs
            for group, given in zip(converted, documents, strict=True)
            for mine, theirs in zip(group, given, strict=True)
        }
        found = self.reader.run_batch(queries, converted, top_k, no_answer_threshold)["answers"]
        return {
            "answers": [
                [extracted_answer(answer, originals, self.context_window_size) for answer in answers]
                for answers in found
            ]
        }
