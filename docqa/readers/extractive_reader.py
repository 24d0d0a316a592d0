"""ExtractiveReader: SQuAD 2.0 answer extraction with any Hugging Face question-answering model."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from docqa.core.component import component, copy_component
from docqa.core.validation import check_int, check_optional_int
from docqa.errors import ComponentError, DocqaError
from docqa.hub import check_dtype, resolve_device, resolve_dtype
from docqa.readers.answer_ranking import QuestionCandidates, check_group_by, rank_answers
from docqa.readers.inference import (
    DevicePlan,
    ModelRunner,
    Reading,
    collect_chunk,
    prepared_chunks,
    questions_candidates,
)
from docqa.readers.model_loading import load_qa_model
from docqa.readers.settings import ReaderSettings
from docqa.readers.windows import PairTokenizer, QuestionTokens
from docqa.schema import Answer, Document

_BACKENDS = ("torch", "onnx")
#: Whether ``dtype="auto"`` may choose bfloat16 on a CPU with native bfloat16 units (see
#: :func:`docqa.hub.resolve_dtype`): ``bench/reader_gpu.py`` showed the answers hold there (on an AVX512-BF16
#: EPYC, 1,629 held-out questions: 99.6% the same top answer as float32, F1 51.03 against 51.07, 2.8x as fast).
HALF_PRECISION_ON_CPU = True
DEFAULT_READER_MODEL = "deepset/minilm-uncased-squad2"


@component
class ExtractiveReader:
    """Extracts answer spans from documents with a SQuAD 2.0 question-answering model.

    Decoding is the standard SQuAD 2.0 one: each document is split into windows of ``max_seq_len`` tokens
    overlapping by ``doc_stride``; a span is valid when it lies in the document part of a window, ends at or
    after its start and has at most ``max_answer_length`` tokens; its score is ``start_logit + end_logit``.
    The null score is start + end logit of the first token (``[CLS]`` / ``<s>``), the minimum over all
    windows of the question (all documents). The reader says "no answer" when ``best_span_score - null_score
    < no_answer_threshold``.

    Answers never cut a word: with ``align_to_words=True`` (the default, as in transformers' question-answering
    pipeline) each span is widened to whole words of the document, from the start of the word of its first
    token to the end of the word of its last token, the words being the tokenizer's pre-tokenized words
    (WordPiece: split at whitespace and punctuation; byte-level BPE: its pre-tokenizer's words). The widening
    happens before duplicates are merged and probabilities computed, so one widened span found twice counts
    once. ``align_to_words=False`` keeps the raw token offsets.

    Returned answers (``Answer``): ``top_k`` answers, best first, and (with ``no_answer=True``) exactly one
    no-answer entry (``text=None``, ``document=None``, ``meta["no_answer_margin"] = best answer's score -
    null_score``) where it ranks: first when it wins, after the ``top_k`` answers when it ranks below them, so
    callers can always read the margin. ``probability`` is a softmax over every distinct candidate span of the
    question (the ``n_best_per_window`` best of each window, all documents) plus, when ``no_answer=True``, the
    null score: probabilities are comparable across documents. One answer is one place in a source document:
    the same characters of a source found in several passages (overlapping passages of one file) or windows are
    one answer, its probability the sum of their shares and its ``score`` the log of their summed exponentiated
    scores (the raw start + end logit for a span found once); ``answer.sources`` lists the places. With
    ``group_by="text"`` answers whose SQuAD-normalized text is equal are one answer too, wherever they were
    found. Answers overlapping a better answer in the same source are dropped from the list (they keep their
    share of the mass). ``retriever_weight`` ``w`` > 0 fuses the retriever's scores in (BERTserini): every span
    of a document scores ``w * (document.score - best document.score)`` more (so less), before the softmax.
    With no usable document the no-answer is the only answer (probability 1.0, score 0.0, margin None).

    Batching: the windows of all questions and documents of a call are made in bulk (each distinct document
    tokenized once), sorted by length and run in batches of at most ``batch_size`` windows and
    ``max_batch_tokens`` padded tokens. ``None`` (the defaults): on the CPU, where small batches run faster,
    32 windows and 512 tokens; on an accelerator, no window count and 65,536 tokens (see
    :class:`~docqa.readers.inference.DevicePlan`). Spans are decoded on the model's device and only the
    ``n_best_per_window`` best of each window leave it; on a GPU the windows of the next chunk of the call are
    prepared on a worker thread while the model runs (see :mod:`docqa.readers.inference`). Answers do not
    depend on the batching.

    Precision: ``dtype="auto"`` (the default) loads the model in bfloat16 on a CUDA GPU that runs it natively
    (Ampere and later) and on a CPU with native bfloat16 units (AMX or AVX512-BF16; with ``backend="torch"``
    and ``quantize=False``), in float32 elsewhere; ``DOCQA_DTYPE=float32`` in the environment makes "auto" mean
    float32 everywhere. ``"float32"``, ``"bfloat16"`` and ``"float16"`` ask for one; a precision the device
    cannot run natively is an error (float16 on a CPU without AVX512-FP16 or AMX-FP16, half precision with
    ``backend="onnx"`` or ``quantize=True``). The model is loaded in that precision by transformers itself
    (fused attention follows); spans are scored in float32 from its logits. The README's "Reader speed on real
    weights" gives what bfloat16 costs in answers on a real model.

    Models: any ``AutoModelForQuestionAnswering`` with a fast tokenizer, by hub id or local directory:
    BERT-like (with token type ids), DistilBERT and RoBERTa-like (without). SQuAD 1.1 models were never
    trained to put "no answer" on the first token: their null score is meaningless, so pass
    ``no_answer=False`` with them.

    ``backend="onnx"`` runs the forward pass with ONNX Runtime on the CPU (``pip install "docqa[onnx]"``):
    same decoding, logits equal to PyTorch's up to float rounding, faster on CPU. The model is exported on
    first use and cached (see :mod:`docqa.readers.onnx_runtime`); ``device`` must then be ``"auto"`` or
    ``"cpu"``. ``onnx_optimize=True`` (the default) runs onnxruntime's fused-attention graph when it
    reproduces the model's logits; ``False`` runs the plain export (only meaningful with ``backend="onnx"``).

    ``quantize=True`` runs int8 dynamic quantization (CPU only): with ``backend="torch"`` PyTorch's, of every
    linear layer; with ``backend="onnx"`` ONNX Runtime's, of the graph above (weights per channel, the span
    head kept in fp32), quantized once and cached next to it. Faster, but different scores: the README's
    "Reader speed on real weights" table gives what each costs in F1 on a real model.

    Example (with a model in a local directory)::

        reader = ExtractiveReader(model="/models/minilm-uncased-squad2", top_k=3)
        reader.warm_up()
        documents = [Document("Hamlet was written by Shakespeare.")]
        answers = reader.run(query="Who wrote Hamlet?", documents=documents)["answers"]
        print(answers[0].text, answers[0].probability)
    """

    def __init__(
        self,
        model: str = DEFAULT_READER_MODEL,
        top_k: int = 5,
        max_seq_len: int = 384,
        doc_stride: int = 128,
        max_query_length: int = 64,
        max_answer_length: int = 30,
        no_answer: bool = True,
        no_answer_threshold: float = 0.0,
        batch_size: int | None = None,
        max_batch_tokens: int | None = None,
        device: str = "auto",
        n_best_per_window: int = 20,
        quantize: bool = False,
        backend: str = "torch",
        align_to_words: bool = True,
        onnx_optimize: bool = True,
        dtype: str = "auto",
        group_by: str = "span",
        retriever_weight: float = 0.0,
    ) -> None:
        for name, value in (
            ("top_k", top_k),
            ("max_seq_len", max_seq_len),
            ("max_query_length", max_query_length),
            ("max_answer_length", max_answer_length),
            ("n_best_per_window", n_best_per_window),
        ):
            check_int("ExtractiveReader", name, value)
        check_optional_int("ExtractiveReader", "batch_size", batch_size)
        check_optional_int("ExtractiveReader", "max_batch_tokens", max_batch_tokens)
        check_int("ExtractiveReader", "doc_stride", doc_stride, minimum=0)
        check_dtype("ExtractiveReader", dtype)
        _check_backend(backend, device, quantize, onnx_optimize, dtype)
        self.group_by = check_group_by("ExtractiveReader", group_by)
        self.retriever_weight = _check_weight(retriever_weight)
        self.model = model
        self.top_k = top_k
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        self.max_answer_length = max_answer_length
        self.no_answer = no_answer
        self.no_answer_threshold = no_answer_threshold
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.device = device
        self.n_best_per_window = n_best_per_window
        self.quantize = quantize
        self.backend = backend
        self.align_to_words = align_to_words
        self.onnx_optimize = onnx_optimize
        self.dtype = dtype
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch_device: Any = None
        self._torch_dtype: Any = None
        self._pairs: PairTokenizer | None = None
        self._plan = DevicePlan.of("cpu")
        self._warned_truncation = False

    def warm_up(self) -> None:
        """Load the model and tokenizer (once; later calls do nothing)."""
        if self._model is not None:
            return
        # the ONNX export traces the model on the CPU, where ONNX Runtime then runs it
        self._torch_device = _torch_device("cpu" if self.backend == "onnx" else self.device)
        half_on_cpu = HALF_PRECISION_ON_CPU and self.backend == "torch" and not self.quantize  # those run fp32
        self._torch_dtype = resolve_dtype(
            "ExtractiveReader", self.dtype, str(self._torch_device), half_on_cpu=half_on_cpu
        )
        self._plan = DevicePlan.of(self._torch_device.type)
        qa_model, tokenizer = load_qa_model(self.model, dtype=self._torch_dtype)
        self._check_window_geometry(tokenizer, qa_model)
        qa_model.eval()
        try:
            qa_model.to(self._torch_device)
        except (RuntimeError, AssertionError) as error:  # e.g. device="cuda" on a machine without CUDA
            raise ComponentError(f"ExtractiveReader: cannot use device {self.device!r}: {error}") from error
        if self.quantize and self.backend == "torch":
            qa_model = _quantized(qa_model, self._torch_device)
        forward_params = inspect.signature(qa_model.forward).parameters
        uses_token_types = "token_type_ids" in forward_params and "token_type_ids" in tokenizer.model_input_names
        if self.backend == "onnx":
            from docqa.readers.onnx_runtime import load_onnx_model

            names = ["input_ids", "attention_mask", *(["token_type_ids"] if uses_token_types else [])]
            qa_model = load_onnx_model(self.model, qa_model, names, optimize=self.onnx_optimize, quantize=self.quantize)
        self._pairs = _pair_tokenizer(self.model, tokenizer, uses_token_types, self.max_seq_len, self.doc_stride)
        self._tokenizer = tokenizer
        self._model = qa_model

    @property
    def torch_dtype(self) -> Any:
        """The ``torch.dtype`` the model runs in (``dtype`` resolved for the device; loads the model)."""
        self.warm_up()
        return self._torch_dtype

    def with_settings(self, settings: ReaderSettings) -> ExtractiveReader:
        """This reader with ``settings`` (a request's window geometry, answer length, word alignment, no-answer
        scoring): itself when they are its own, else a copy sharing its loaded model (loaded now if it was not).
        Raises :class:`ComponentError` when the model cannot read windows of these settings."""
        if settings == ReaderSettings.of(self):
            return self
        self.warm_up()
        configured = copy_component(self, **settings.as_dict())
        configured._check_window_geometry(self._tokenizer, self._model)
        return configured

    def _check_window_geometry(self, tokenizer: Any, qa_model: Any) -> None:
        room = self.max_seq_len - self.max_query_length - tokenizer.num_special_tokens_to_add(pair=True)
        if room <= self.doc_stride:
            raise ComponentError(
                f"ExtractiveReader: doc_stride={self.doc_stride} must be smaller than the room left for "
                f"the document in a window ({room} tokens with max_seq_len={self.max_seq_len}, "
                f"max_query_length={self.max_query_length}): lower doc_stride or max_query_length"
            )
        positions = getattr(qa_model.config, "max_position_embeddings", None)
        if positions is not None and self.max_seq_len > positions:
            raise ComponentError(
                f"ExtractiveReader: max_seq_len={self.max_seq_len} exceeds model {self.model!r}'s {positions} positions"
            )

    @component.output_types(answers=list[Answer])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
        group_by: str | None = None,
    ) -> dict[str, list[Answer]]:
        """Answer ``query`` from ``documents``: the ``top_k`` best answers, best first (see the class doc);
        ``top_k``, ``no_answer_threshold`` and ``group_by`` override the reader's own for this call."""
        answers = self.run_batch([query], [documents], top_k, no_answer_threshold, group_by)["answers"]
        return {"answers": answers[0]}

    def run_batch(
        self,
        query: list[str],
        documents: list[list[Document]],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
        group_by: str | None = None,
    ) -> dict[str, list[list[Answer]]]:
        """Answer several questions at once (``documents[i]`` for ``query[i]``); windows of all questions and
        documents are batched together. Returns ``{"answers": [answers of query[0], ...]}``."""
        if len(query) != len(documents):
            raise ComponentError(
                f"ExtractiveReader.run_batch: got {len(query)} queries but {len(documents)} document lists"
            )
        top_k = self.top_k if top_k is None else check_int("ExtractiveReader", "top_k", top_k)
        threshold = self.no_answer_threshold if no_answer_threshold is None else no_answer_threshold
        grouping = self.group_by if group_by is None else check_group_by("ExtractiveReader", group_by)
        questions = [self._checked_question(q) for q in query]
        if not questions:
            return {"answers": []}
        self.warm_up()
        candidates = self._collect_candidates(questions, documents)
        answers = [
            rank_answers(
                original,
                docs,
                found,
                top_k,
                self.no_answer,
                threshold,
                group_by=grouping,
                retriever_weight=self.retriever_weight,
            )
            for original, docs, found in zip(query, documents, candidates, strict=True)
        ]
        return {"answers": answers}

    @staticmethod
    def _checked_question(question: Any) -> str:
        if not isinstance(question, str) or not question.strip():
            raise ComponentError(f"ExtractiveReader: the query must be a non-empty string, got {question!r}")
        return question

    def _question_tokens(self, questions: Sequence[str]) -> QuestionTokens:
        assert self._pairs is not None  # set by warm_up
        tokens = self._pairs.questions(questions, self.max_query_length)
        if tokens.truncated.any() and not self._warned_truncation:
            self._warned_truncation = True
            message = (
                f"ExtractiveReader: a question longer than max_query_length={self.max_query_length} tokens "
                "was truncated (warned once per reader)"
            )
            warnings.warn(message, UserWarning, stacklevel=4)  # the CLI shows it as one "warning:" line
        return tokens

    def _collect_candidates(
        self, questions: Sequence[str], documents: Sequence[Sequence[Document]]
    ) -> list[QuestionCandidates]:
        assert self._pairs is not None  # set by warm_up
        reading, plan = self._reading(), self._plan
        runner = ModelRunner(self._model, self._torch_device, self.backend, plan.decode_tokens)
        found = []
        tokens = self._question_tokens(questions)  # may warn: outside, so that -W error keeps the warning's type
        with _one_line_errors():
            for chunk in prepared_chunks(self._pairs, tokens, documents, reading, plan):
                found.append(collect_chunk(chunk, runner.chunk_spans(chunk, reading), reading.align_to_words))
        return questions_candidates(len(questions), found)

    def _reading(self) -> Reading:
        """The settings of this call: the attributes now (a configured copy may have changed them)."""
        plan = self._plan
        return Reading(
            max_seq_len=self.max_seq_len,
            doc_stride=self.doc_stride,
            max_answer_length=self.max_answer_length,
            n_best=self.n_best_per_window,
            batch_size=self.batch_size if self.batch_size is not None else plan.batch_size,
            max_tokens=self.max_batch_tokens if self.max_batch_tokens is not None else plan.batch_tokens,
            align_to_words=self.align_to_words,
        )


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Errors of the tokenizer, the model or the worker thread, as the reader's one-line error."""
    try:
        yield
    except DocqaError:
        raise
    except Exception as error:
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        raise ComponentError(f"ExtractiveReader: reading failed ({reason})") from error


def _pair_tokenizer(model: str, tokenizer: Any, with_token_types: bool, max_seq_len: int, stride: int) -> PairTokenizer:
    """The bulk window maker for ``tokenizer``, checked against the tokenizer's own pair call."""
    try:
        pairs = PairTokenizer(tokenizer, with_token_types)
        pairs.check(max_seq_len, stride)
    except ValueError as error:
        raise ComponentError(
            f"ExtractiveReader: the tokenizer of {model!r} cannot be windowed in bulk ({error})"
        ) from error
    return pairs


def _check_backend(backend: Any, device: Any, quantize: bool, onnx_optimize: bool, dtype: str) -> None:
    if backend not in _BACKENDS:
        raise ComponentError(f"ExtractiveReader: backend must be one of {list(_BACKENDS)}, got {backend!r}")
    if backend == "onnx" and device not in ("auto", "cpu"):
        raise ComponentError(
            f"ExtractiveReader: backend='onnx' runs on the CPU: device must be 'auto' or 'cpu', got {device!r}"
        )
    if quantize and device not in ("auto", "cpu"):
        raise ComponentError(
            f"ExtractiveReader: quantize=True is int8 on the CPU: device must be 'auto' or 'cpu', got {device!r}"
        )
    if backend == "torch" and not onnx_optimize:
        raise ComponentError("ExtractiveReader: onnx_optimize=False only applies to backend='onnx'")
    if dtype not in ("auto", "float32") and (backend == "onnx" or quantize):
        what = "quantize=True runs int8" if quantize else "backend='onnx' runs float32"
        raise ComponentError(f"ExtractiveReader: {what}: dtype must be 'auto' or 'float32', got {dtype!r}")


def _check_weight(weight: Any) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not np.isfinite(weight) or weight < 0:
        raise ComponentError(f"ExtractiveReader: retriever_weight must be a number >= 0, got {weight!r}")
    return float(weight)


def _torch_device(device: str) -> Any:
    import torch

    try:
        return torch.device(resolve_device(device))
    except ComponentError as error:
        raise ComponentError(f"ExtractiveReader: {error}") from error


def _quantized(qa_model: Any, device: Any) -> Any:
    import torch

    if device.type != "cpu":
        raise ComponentError(f"ExtractiveReader: quantize=True needs device='cpu', got {device}")
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the eager quantization API is deprecated in favour of torchao, still works
        return quantize_dynamic(qa_model, {torch.nn.Linear}, dtype=torch.qint8)
