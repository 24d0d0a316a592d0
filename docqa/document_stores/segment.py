"""A segment: an immutable run of a store's rows with everything searched about them.

A store is a sequence of segments (oldest first; a row's place in it is its insertion order). A write adds a
segment built in memory; a save writes the in-memory ones to disk as one segment and reopens it memory-mapped
(:mod:`docqa.document_stores.segment_files`); merges rewrite runs of adjacent segments into one. Deletes never
touch a segment: the store keeps which of its rows are live.

Each segment holds its documents (a list in memory, a JSON-lines file read lazily on disk), its document ids
(:class:`~docqa.document_stores.string_table.StringTable`), its BM25 postings
(:class:`~docqa.document_stores.postings.Postings`), the terms first seen in it (global term id = ``term_base`` +
position), its embeddings (a matrix, memory-mapped on disk) and its metadata columns for filters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from docqa.document_stores.filters import ColumnSource, DocumentColumns
from docqa.document_stores.postings import Postings, RowCounter
from docqa.document_stores.string_table import StringTable
from docqa.errors import DocumentStoreError
from docqa.schema import Document
from docqa.text.analyzer import Analyzer

_TOKENIZE_BATCH = 4096  # documents tokenized at a time: bounds the token lists alive at once
_REMEMBERED_TERMS = 1 << 16  # query terms whose ids a vocabulary remembers


class MemoryDocuments:
    """A segment's documents as stored copies."""

    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents

    def get(self, row: int) -> Document:
        stored = self.documents[row]
        return Document(stored.content, dict(stored.meta), stored.id)

    def stored(self, rows: Iterable[int]) -> list[Document]:
        """The stored documents themselves (not copies), for building other segments."""
        return [self.documents[int(row)] for row in rows]

    def lines(self, rows: Iterable[int]) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Each row's JSON line and its meta."""
        for document in self.stored(rows):
            yield document_line(document), document.meta


class DiskDocuments:
    """A segment's documents in ``documents.jsonl``, one JSON object per line, found by ``documents_offsets.npy``."""

    def __init__(self, blob: Any, offsets: np.ndarray, label: str) -> None:
        self.blob, self.offsets, self.label = blob, offsets, label

    def line(self, row: int) -> bytes:
        return bytes(self.blob[int(self.offsets[row]) : int(self.offsets[row + 1])])

    def get(self, row: int) -> Document:
        return self._parse(row, self.line(row))

    def stored(self, rows: Iterable[int]) -> list[Document]:
        return [self.get(int(row)) for row in rows]

    def lines(self, rows: Iterable[int]) -> Iterator[tuple[bytes, dict[str, Any]]]:
        for row in rows:
            line = self.line(int(row))
            yield line, self._parse(int(row), line).meta

    def _parse(self, row: int, line: bytes) -> Document:
        try:
            record = json.loads(line)
            valid = isinstance(record["content"], str) and isinstance(record["meta"], dict)
            valid = valid and isinstance(record["id"], str) and bool(record["id"])
        except (ValueError, KeyError, TypeError) as error:
            raise DocumentStoreError(f"{self.label}/documents.jsonl line {row + 1} is corrupt ({error})") from None
        if not valid:
            raise DocumentStoreError(f"{self.label}/documents.jsonl line {row + 1} is invalid")
        return Document(record["content"], record["meta"], record["id"])


def document_line(document: Document) -> bytes:
    """The JSON line a document is saved as."""
    try:
        line = json.dumps({"id": document.id, "content": document.content, "meta": document.meta}, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise DocumentStoreError(
            f"cannot save document {document.id}: its meta is not JSON-serializable ({error})"
        ) from None
    return line.encode("utf-8") + b"\n"


class Segment:
    """An immutable run of rows; build one with :func:`build_segment` or open one with
    :func:`docqa.document_stores.segment_files.open_segment`."""

    def __init__(
        self,
        *,
        postings: Postings,
        ids: StringTable,
        terms: StringTable,
        term_base: int,
        documents: MemoryDocuments | DiskDocuments,
        columns: ColumnSource,
        embeddings: np.ndarray | None,
        has_embedding: np.ndarray,
        name: str | None = None,
    ) -> None:
        self.postings, self.ids, self.terms, self.term_base = postings, ids, terms, term_base
        self.documents, self.columns = documents, columns
        self.embeddings, self.has_embedding = embeddings, has_embedding
        #: The segment's folder name once it is on disk (None: in memory only).
        self.name = name
        self._norms: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"Segment({self.name or 'in memory'}, rows={self.n_rows})"

    @property
    def n_rows(self) -> int:
        return self.postings.n_rows

    @property
    def vocabulary(self) -> int:
        """Term ids below this one may have postings here."""
        return self.postings.vocabulary

    @property
    def embedding_dim(self) -> int | None:
        return None if self.embeddings is None else int(self.embeddings.shape[1])

    def document(self, row: int) -> Document:
        return self.documents.get(row)

    def norms(self) -> np.ndarray:
        """Each row's embedding norm (float64), computed once: the segment never changes."""
        if self._norms is None:
            assert self.embeddings is not None
            norms = np.empty(self.n_rows, dtype=np.float64)
            for start in range(0, self.n_rows, 8192):  # float64 in chunks: no full-size temporary copy
                chunk = np.asarray(self.embeddings[start : start + 8192], dtype=np.float64)
                norms[start : start + len(chunk)] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
            self._norms = norms
        return self._norms


class Vocabulary:
    """The store's terms: global id = a segment's ``term_base`` + the term's position among the terms it introduced."""

    def __init__(self, tables: Sequence[tuple[int, StringTable]] = ()) -> None:
        self.tables = tuple(tables)
        self.size = max((base + len(table) for base, table in self.tables), default=0)
        self._asked: dict[str, int] = {}  # query terms looked up already (the tables never change)

    def query_ids(self, tokens: Sequence[str]) -> np.ndarray:
        """:meth:`lookup` for query terms, which come back query after query: the answers are remembered (up
        to :data:`_REMEMBERED_TERMS`)."""
        asked = self._asked
        new = [token for token in tokens if token not in asked]
        found = dict(zip(new, self.lookup(new).tolist(), strict=True)) if new else {}
        if len(asked) + len(found) <= _REMEMBERED_TERMS:
            asked.update(found)
        ids = (found[token] if token in found else asked[token] for token in tokens)
        return np.fromiter(ids, dtype=np.int64, count=len(tokens))

    def lookup(self, tokens: Sequence[str]) -> np.ndarray:
        """The global id of each token (int64; -1 for a term no segment has)."""
        found = np.full(len(tokens), -1, dtype=np.int64)
        for base, table in reversed(self.tables):  # new segments are small: most tokens are found in old ones
            missing = np.flatnonzero(found < 0)
            if not len(missing) or not len(table):
                continue
            positions = table.find([tokens[i] for i in missing.tolist()])
            hit = positions >= 0
            found[missing[hit]] = base + positions[hit]
        return found

    def term(self, term_id: int) -> str:
        for base, table in self.tables:
            if base <= term_id < base + len(table):
                return table[term_id - base]
        raise IndexError(term_id)

    def encoded(self, term_ids: Sequence[int]) -> Iterator[bytes]:
        for term_id in term_ids:
            yield self.term(int(term_id)).encode("utf-8")


def build_segment(
    documents: list[Document],
    analyzer: Analyzer,
    vocabulary: Vocabulary,
    vectors: np.ndarray | None,
    has_vector: np.ndarray,
) -> Segment:
    """A segment of ``documents`` (stored as shallow copies), tokenized with ``analyzer``; terms the store's
    ``vocabulary`` lacks get the next global ids."""
    known: dict[str, int] = {}
    new_terms: list[str] = []
    counter = RowCounter()
    for start in range(0, len(documents), _TOKENIZE_BATCH):
        token_lists = [analyzer(document.content) for document in documents[start : start + _TOKENIZE_BATCH]]
        unseen = list({token: None for tokens in token_lists for token in tokens if token not in known})
        for token, term_id in zip(unseen, vocabulary.lookup(unseen).tolist(), strict=True):
            if term_id < 0:
                term_id = vocabulary.size + len(new_terms)
                new_terms.append(token)
            known[token] = term_id
        counter.add([[known[token] for token in tokens] for tokens in token_lists])
    stored = [Document(document.content, dict(document.meta), document.id) for document in documents]
    return Segment(
        postings=counter.postings(vocabulary.size + len(new_terms)),
        ids=StringTable.from_strings([document.id for document in stored]),
        terms=StringTable.from_strings(new_terms),
        term_base=vocabulary.size,
        documents=MemoryDocuments(stored),
        columns=DocumentColumns(stored),
        embeddings=vectors,
        has_embedding=has_vector,
    )
