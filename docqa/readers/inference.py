"""The work around the reader's model: windows prepared in chunks, batches run, spans decoded on the device.

One call of :meth:`ExtractiveReader.run_batch` goes through three stages:

1. **Prepare** (:func:`prepared_chunks`): the (question, document) pairs are cut into chunks of bounded size; each
   chunk's windows are made in bulk (:class:`~docqa.readers.windows.PairTokenizer`), sorted by length and cut
   into batches of at most ``batch_size`` windows and ``max_batch_tokens`` padded tokens; the padded inputs of
   the whole chunk are made once (in page-locked memory when the model is on a GPU).
2. **Run** (:class:`ModelRunner`): each batch goes through the model, its spans are decoded on the device
   (:func:`~docqa.readers.span_decoding.top_spans`) and only the ``n_best`` spans per window travel back, one
   small non-blocking copy per batch, read once the next batch has been queued.
3. **Collect** (:func:`collect_chunk`): token spans become character spans of their documents, for all windows
   of a chunk at once, and :func:`~docqa.readers.answer_ranking.candidates_of_questions` groups them by question.

On an accelerator, stage 1 runs on a worker thread one chunk ahead (:func:`docqa.core.prefetch.prefetched`), so
tokenization overlaps the forward passes, and stages 2 and 3 overlap through the device's own queue.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from docqa.core.batching import length_batches
from docqa.core.prefetch import one_behind, prefetched
from docqa.readers.answer_ranking import QuestionCandidates, candidates_of_questions
from docqa.readers.span_decoding import BatchSpans, top_spans, unpack_spans
from docqa.readers.windows import PairTokenizer, QuestionTokens, Windows
from docqa.schema import Document

#: A chunk holds about this many characters of distinct documents (what the tokenizer reads), this many
#: characters of (question, document) pairs (what the windows hold: a document read for ten questions counts ten
#: times) and at most ``DevicePlan.chunk_pairs`` pairs, so memory stays bounded however many (or however long)
#: the documents are, while windows of many questions and documents are still sorted and batched together.
CHARS_PER_CHUNK = 200_000
PAIR_CHARS_PER_CHUNK = 2_000_000


@dataclass(frozen=True)
class DevicePlan:
    """How a device reads unless told otherwise: ``batch_size`` windows (``None``: no count) and
    ``batch_tokens`` padded tokens per batch at most; chunks of at most ``chunk_pairs`` (question, document)
    pairs; spans decoded ``decode_tokens`` padded tokens at a time (0: each batch alone); ``prefetch`` chunks
    prepared ahead on a worker thread (0: none); inputs in page-locked memory (``pin_memory``) for non-blocking
    copies.

    On the CPU: batches of at most 32 windows and 512 tokens (measured on 2 cores with a 6-layer MiniLM reader:
    about 25% faster with ONNX Runtime, 10% with PyTorch, than 32 SQuAD-paragraph windows, whose activations
    no longer fit the caches); decoding 16,384 tokens at a time (a 2 MB score band: per-call overheads vanish);
    no worker thread (it would compete with the forward pass for the same cores); chunks of 2,048 pairs. On an
    accelerator: batches of 65,536 padded tokens (about 256 SQuAD-paragraph windows, a few hundred MB of
    activations for a MiniLM or BERT-base reader in 16 bits), each decoded on the device as it comes; chunks of
    512 pairs (two or three batches), the next one prepared while the device runs the current one.
    """

    batch_size: int | None
    batch_tokens: int
    chunk_pairs: int
    decode_tokens: int
    prefetch: int
    pin_memory: bool

    @classmethod
    def of(cls, device_type: str) -> DevicePlan:
        if device_type == "cpu":
            return cls(32, batch_tokens=512, chunk_pairs=2048, decode_tokens=16_384, prefetch=0, pin_memory=False)
        cuda = device_type == "cuda"
        return cls(None, batch_tokens=65_536, chunk_pairs=512, decode_tokens=0, prefetch=2, pin_memory=cuda)


@dataclass(frozen=True)
class Reading:
    """The settings one call reads with (the reader's, at call time)."""

    max_seq_len: int
    doc_stride: int
    max_answer_length: int
    n_best: int
    batch_size: int | None
    max_tokens: int | None
    align_to_words: bool


@dataclass(frozen=True)
class Chunk:
    """The prepared windows of some pairs: ``question[p]`` / ``doc[p]`` of pair ``p``; ``order``: the windows
    longest first; batch ``i`` is ``order[bounds[i]:bounds[i + 1]]``, whose padded inputs are rows
    ``bounds[i]:bounds[i + 1]`` of ``inputs`` cut to ``widths[i]`` columns."""

    question: np.ndarray
    doc: np.ndarray
    windows: Windows
    order: np.ndarray
    bounds: np.ndarray
    widths: np.ndarray
    inputs: dict[str, Any]
    context: Any

    def batches(self) -> list[tuple[int, int, int]]:
        """``(first row, end row, width)`` of each batch."""
        return list(zip(self.bounds[:-1].tolist(), self.bounds[1:].tolist(), self.widths.tolist(), strict=True))


def chunked_pairs(documents: Sequence[Sequence[Document]], most: int) -> Iterator[list[tuple[int, int]]]:
    """``(question index, document index)`` pairs of all non-blank documents, in chunks of at most ``most`` pairs
    and about ``CHARS_PER_CHUNK`` characters of distinct documents and ``PAIR_CHARS_PER_CHUNK`` of pairs."""
    chunk: list[tuple[int, int]] = []
    seen: set[str] = set()
    distinct = total = 0
    for item, docs in enumerate(documents):
        for index, document in enumerate(docs):
            if not document.content.strip():
                continue  # nothing to extract from; tokenizing it would only add a window of special tokens
            chunk.append((item, index))
            total += len(document.content)
            if document.content not in seen:
                seen.add(document.content)
                distinct += len(document.content)
            if distinct >= CHARS_PER_CHUNK or total >= PAIR_CHARS_PER_CHUNK or len(chunk) >= most:
                yield chunk
                chunk, seen, distinct, total = [], set(), 0, 0
    if chunk:
        yield chunk


def prepared_chunks(
    pairs: PairTokenizer,
    questions: QuestionTokens,
    documents: Sequence[Sequence[Document]],
    reading: Reading,
    plan: DevicePlan,
) -> Iterator[Chunk]:
    """The chunks of a call, prepared (see the module doc) as ``plan`` says: chunk size, page-locked memory, and
    made ``plan.prefetch`` chunks ahead on a worker thread when there are several."""
    chunks = list(chunked_pairs(documents, plan.chunk_pairs))
    made = _prepared(pairs, questions, documents, reading, plan.pin_memory, chunks)
    return prefetched(made, plan.prefetch if len(chunks) > 1 else 0)  # one chunk: nothing to overlap


def _prepared(
    pairs: PairTokenizer,
    questions: QuestionTokens,
    documents: Sequence[Sequence[Document]],
    reading: Reading,
    pin_memory: bool,
    chunks: list[list[tuple[int, int]]],
) -> Iterator[Chunk]:
    for chunk in chunks:
        question = np.array([item for item, _ in chunk], dtype=np.int64)
        doc = np.array([index for _, index in chunk], dtype=np.int64)
        contexts = [documents[item][index].content for item, index in chunk]
        windows = pairs.windows(questions, question, contexts, reading.max_seq_len, reading.doc_stride)
        yield _sorted_into_batches(question, doc, windows, reading, pin_memory)


def _sorted_into_batches(
    question: np.ndarray, doc: np.ndarray, windows: Windows, reading: Reading, pin_memory: bool
) -> Chunk:
    import torch

    batches = list(length_batches(windows.lengths.tolist(), reading.batch_size, reading.max_tokens))
    order = np.fromiter((position for batch in batches for position in batch), dtype=np.int64, count=len(windows))
    bounds = np.cumsum([0, *map(len, batches)])
    lengths = windows.lengths[order]
    arrays = {
        "input_ids": windows.input_ids[order],
        "attention_mask": (np.arange(windows.input_ids.shape[1]) < lengths[:, None]).astype(np.int64),
    }
    if windows.token_type_ids is not None:
        arrays["token_type_ids"] = windows.token_type_ids[order]
    context = np.stack([windows.context_begin[order], windows.context_count[order]])
    tensors = {name: torch.from_numpy(array) for name, array in arrays.items()}
    context_tensor = torch.from_numpy(context)
    if pin_memory:
        tensors = {name: tensor.pin_memory() for name, tensor in tensors.items()}
        context_tensor = context_tensor.pin_memory()
    return Chunk(question, doc, windows, order, bounds, lengths[bounds[:-1]], tensors, context_tensor)


class ModelRunner:
    """Forward passes and on-device span decoding of a loaded model: PyTorch on its device, or an ONNX Runtime
    model (:class:`~docqa.readers.onnx_runtime.OnnxQAModel`) on the CPU.

    ``decode_tokens``: consecutive batches are decoded together until they hold this many padded tokens (0: each
    batch alone; see :class:`DevicePlan`). Each decoded group's small result is copied to the host without waiting (into
    page-locked memory on CUDA) and read only once the next group has been queued (:func:`one_behind`).
    """

    def __init__(self, model: Any, device: Any, backend: str, decode_tokens: int) -> None:
        self.model = model
        self.device = device
        self.backend = backend
        self.decode_tokens = decode_tokens

    def chunk_spans(self, chunk: Chunk, reading: Reading) -> BatchSpans:
        """The candidate spans of every window of ``chunk``; ``rows`` index the chunk's ``order``."""
        parts = []
        for first, packed in one_behind(self._packed(chunk, reading), self._copy_to_host, _host_array):
            spans = unpack_spans(packed, reading.max_answer_length)
            parts.append((first, spans))
        return BatchSpans(
            rows=np.concatenate([first + spans.rows for first, spans in parts]),
            starts=np.concatenate([spans.starts for _, spans in parts]),
            ends=np.concatenate([spans.ends for _, spans in parts]),
            scores=np.concatenate([spans.scores for _, spans in parts]),
            nulls=np.concatenate([spans.nulls for _, spans in parts]),
        )

    def _packed(self, chunk: Chunk, reading: Reading) -> Iterator[tuple[int, Any]]:
        """``(first row, packed spans on the device)`` of each group of batches, in order (see
        :func:`top_spans`)."""
        import torch

        context = chunk.context.to(self.device, non_blocking=True)
        logits = self._onnx_logits(chunk) if self.backend == "onnx" else self._torch_logits(chunk)
        shape = (len(chunk.order), int(chunk.widths[0]))
        for first, stop, start, end in _grouped(logits, self.decode_tokens, shape):
            with torch.inference_mode():
                yield (
                    first,
                    top_spans(
                        start,
                        end,
                        context[0, first:stop],
                        context[1, first:stop],
                        reading.max_answer_length,
                        reading.n_best,
                    ),
                )

    def _copy_to_host(self, item: tuple[int, Any]) -> tuple[int, Any, Any]:
        """Start the copy of a group's packed spans to the host: ``(first row, host tensor, done event)``."""
        first, packed = item
        if self.device.type != "cuda":
            return first, packed.cpu(), None
        import torch

        copy = packed.to("cpu", non_blocking=True)  # lands in page-locked memory
        done = torch.cuda.Event()
        done.record()
        return first, copy, done

    def _torch_logits(self, chunk: Chunk) -> Iterator[tuple[int, int, Any, Any]]:
        """``(first row, end row, start logits, end logits)`` of each batch, on the model's device."""
        import torch

        inputs = {name: tensor.to(self.device, non_blocking=True) for name, tensor in chunk.inputs.items()}
        for first, stop, width in chunk.batches():
            with torch.inference_mode():
                output = self.model(
                    **{name: tensor[first:stop, :width].contiguous() for name, tensor in inputs.items()}
                )
            yield first, stop, output.start_logits, output.end_logits

    def _onnx_logits(self, chunk: Chunk) -> Iterator[tuple[int, int, Any, Any]]:
        """As :meth:`_torch_logits`, ONNX Runtime running several batches at once (one per core)."""
        import torch

        batches = chunk.batches()
        arrays = [
            {name: tensor[a:b, :width].numpy() for name, tensor in chunk.inputs.items()} for a, b, width in batches
        ]
        for (first, stop, _), (start, end) in zip(batches, self.model.run_many(arrays), strict=True):
            yield first, stop, torch.from_numpy(start), torch.from_numpy(end)


def _grouped(
    logits: Iterator[tuple[int, int, Any, Any]], tokens: int, shape: tuple[int, int]
) -> Iterator[tuple[int, int, Any, Any]]:
    """Consecutive batches' logits joined until a group holds ``tokens`` padded tokens (0: every batch alone),
    written into one float32 buffer of the chunk's ``shape`` (rows, widest): a group is a view of it, as wide as
    its first (widest) batch."""
    import torch

    if tokens <= 0:
        yield from logits
        return
    buffer: Any = None
    group: tuple[int, int] | None = None  # (first row, width) of the group being filled
    size = 0
    for first, stop, start, end in logits:
        if buffer is None:
            buffer = torch.zeros((2, *shape), dtype=torch.float32, device=start.device)
        group = group or (first, start.shape[1])
        buffer[0, first:stop, : start.shape[1]] = start
        buffer[1, first:stop, : start.shape[1]] = end
        size += start.numel()
        if size >= tokens:
            yield group[0], stop, buffer[0, group[0] : stop, : group[1]], buffer[1, group[0] : stop, : group[1]]
            group, size = None, 0
    if group is not None:
        yield group[0], stop, buffer[0, group[0] : stop, : group[1]], buffer[1, group[0] : stop, : group[1]]


def _host_array(copy: tuple[int, Any, Any]) -> tuple[int, np.ndarray]:
    """A started copy, once it has arrived: ``(first row, packed spans)``."""
    first, tensor, done = copy
    if done is not None:
        done.synchronize()
    return first, tensor.numpy()


@dataclass
class ChunkCandidates:
    """Spans of one chunk as character spans of documents: ``question`` / ``doc`` / ``start`` / ``end`` /
    ``score`` per span; ``null_question`` / ``null`` per window."""

    question: np.ndarray
    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    null_question: np.ndarray
    null: np.ndarray


def collect_chunk(chunk: Chunk, spans: BatchSpans, align_to_words: bool) -> ChunkCandidates:
    """Map the chunk's token spans to characters of their documents (widened to whole words with
    ``align_to_words``), all windows at once."""
    windows = chunk.windows
    window = chunk.order[spans.rows]
    shift = windows.first_token[window] - windows.context_begin[window]
    chars = windows.word_chars if align_to_words else windows.token_chars
    pair = windows.pair[window]
    window_pair = windows.pair[chunk.order]
    return ChunkCandidates(
        question=chunk.question[pair],
        doc=chunk.doc[pair],
        start=chars[spans.starts + shift, 0],
        end=chars[spans.ends + shift, 1],
        score=spans.scores,
        null_question=chunk.question[window_pair],
        null=spans.nulls,
    )


def questions_candidates(count: int, chunks: Sequence[ChunkCandidates]) -> list[QuestionCandidates]:
    """The candidates of questions ``0..count-1`` from all chunks of a call."""
    fields = ("question", "doc", "start", "end", "score", "null_question", "null")
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return candidates_of_questions(count, empty, empty, empty, empty, np.zeros(0), empty, np.zeros(0))
    arrays = [np.concatenate([getattr(chunk, name) for chunk in chunks]) for name in fields]
    return candidates_of_questions(count, *arrays)
