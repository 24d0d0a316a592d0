from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docqa.core.component import init_parameters
from docqa.errors import ComponentError
from docqa.preprocessors import SPLIT_INDEX, DocumentSplitter
from docqa.schema import SOURCE_END, SOURCE_ID, SOURCE_START, Document

REPO_ROOT = Path(__file__).resolve().parents[2]

# Letters from several scripts, combining accents, emoji (incl. a skin-tone modifier and ZWJ sequence),
# sentence punctuation and many kinds of whitespace, including runs of tabs/newlines and exotic spaces.
ALPHABET = (
    "abcXYZ019"
    "éàüñçÅ"
    "e\u0301"
    "東京大阪漢字は。！？、"
    "🙂👍🏽👩\u200d💻"
    ".!?…\"')(,;:-"
    " \t\n\n\n\r\u00a0\u3000\u2028\u2029\x0b\x0c"
)
texts = st.one_of(st.text(alphabet=ALPHABET, max_size=300), st.text(max_size=200))
words = st.text(alphabet=ALPHABET.split(" ")[0], min_size=1, max_size=8)
separators = st.sampled_from([" ", "  ", "\t", "\n", "\n\n", " \n \n ", "\t\t\n", "\u3000", ". ", "! ", "。"])
structured_texts = st.lists(st.tuples(words, separators), max_size=60).map(
    lambda pairs: "".join(word + sep for word, sep in pairs)
)


@st.composite
def configurations(draw: st.DrawFn) -> tuple[str, int, int]:
    split_by = draw(st.sampled_from(["word", "sentence", "passage"]))
    length = draw(st.integers(min_value=1, max_value=6))
    overlap = draw(st.integers(min_value=0, max_value=length - 1))
    return split_by, length, overlap


# DOCQA_HYPOTHESIS_EXAMPLES=5000 for a deeper local search; the default keeps the suite fast.
FAST = settings(
    max_examples=int(os.environ.get("DOCQA_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _split(text: str, split_by: str, length: int, overlap: int, meta: dict | None = None) -> list[Document]:
    splitter = DocumentSplitter(split_by=split_by, split_length=length, split_overlap=overlap)
    return splitter.run(documents=[Document(text, meta=meta or {})])["documents"]


@FAST
@given(text=st.one_of(texts, structured_texts), config=configurations())
def test_every_passage_is_the_exact_slice_its_offsets_name(text: str, config: tuple[str, int, int]) -> None:
    source = Document(text, meta={"title": "t"})
    passages = DocumentSplitter(*config).run(documents=[source])["documents"]
    for index, passage in enumerate(passages):
        start, end = passage.meta[SOURCE_START], passage.meta[SOURCE_END]
        assert source.content[start:end] == passage.content
        assert passage.content and passage.content == passage.content.strip()
        assert passage.meta[SOURCE_ID] == source.id == passage.source_id
        assert passage.meta[SPLIT_INDEX] == index
        assert passage.meta["title"] == "t"
        assert passage.source_span.slice(source.content) == passage.content
    starts = [p.meta[SOURCE_START] for p in passages]
    assert starts == sorted(set(starts))
    covered = set()
    for passage in passages:
        covered.update(range(passage.meta[SOURCE_START], passage.meta[SOURCE_END]))
    # Nothing but whitespace is left out of the passages.
    assert all(char.isspace() for i, char in enumerate(text) if i not in covered)
    assert bool(passages) == bool(text.strip())


@FAST
@given(text=st.one_of(texts, structured_texts), length=st.integers(1, 7), data=st.data())
def test_word_passages_partition_the_words_with_the_requested_overlap(
    text: str, length: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(0, length - 1))
    passages = _split(text, "word", length, overlap)
    chunks = [p.content.split() for p in passages]  # str.split is an independent word oracle
    assert all(len(chunk) == length for chunk in chunks[:-1])
    assert all(1 <= len(chunk) <= length for chunk in chunks)
    rebuilt = list(chunks[0]) if chunks else []
    for previous, chunk in itertools.pairwise(chunks):
        if overlap:
            assert previous[-overlap:] == chunk[:overlap]
        rebuilt.extend(chunk[overlap:])
    assert rebuilt == text.split()


@FAST
@given(text=structured_texts, outer=configurations(), inner=configurations())
def test_splitting_a_passage_again_still_points_into_the_original(
    text: str, outer: tuple[str, int, int], inner: tuple[str, int, int]
) -> None:
    source = Document("  preamble\n\n" + text)
    passages = DocumentSplitter(*outer).run(documents=[source])["documents"]
    again = DocumentSplitter(*inner).run(documents=passages)["documents"]
    for passage in again:
        assert passage.meta[SOURCE_ID] == source.id
        assert source.content[passage.meta[SOURCE_START] : passage.meta[SOURCE_END]] == passage.content


def test_word_split_with_overlap_example() -> None:
    text = "one two\tthree\n\nfour  five six seven"
    passages = _split(text, "word", 3, 1)
    assert [p.content for p in passages] == ["one two\tthree", "three\n\nfour  five", "five six seven"]
    assert [(p.meta[SOURCE_START], p.meta[SOURCE_END]) for p in passages] == [(0, 13), (8, 25), (21, 35)]


def test_sentence_mode_groups_sentences() -> None:
    text = "Dr. Smith lives in St. Louis. He earns 3.5 million a year! Does he?  Yes.\n\nNew paragraph without stop"
    passages = _split(text, "sentence", 2, 0)
    assert [p.content for p in passages] == [
        "Dr. Smith lives in St. Louis. He earns 3.5 million a year!",
        "Does he?  Yes.",
        "New paragraph without stop",
    ]


def test_sentence_mode_with_overlap_repeats_the_last_sentence() -> None:
    text = "A is first. B is second. C is third. D is fourth."
    passages = _split(text, "sentence", 2, 1)
    assert [p.content for p in passages] == [
        "A is first. B is second.",
        "B is second. C is third.",
        "C is third. D is fourth.",
    ]


def test_passage_mode_splits_on_blank_lines() -> None:
    text = "First paragraph\nstill first.\n   \n\nSecond one.\n\n\nThird."
    passages = _split(text, "passage", 1, 0)
    assert [p.content for p in passages] == ["First paragraph\nstill first.", "Second one.", "Third."]
    assert [p.content for p in _split(text, "passage", 2, 0)] == [
        "First paragraph\nstill first.\n   \n\nSecond one.",
        "Third.",
    ]


def test_split_threshold_merges_a_short_tail_into_the_previous_passage() -> None:
    text = " ".join(f"w{i}" for i in range(10))
    splitter = DocumentSplitter(split_by="word", split_length=4, split_threshold=3)
    passages = splitter.run(documents=[Document(text)])["documents"]
    assert [p.content.split() for p in passages] == [
        ["w0", "w1", "w2", "w3"],
        ["w4", "w5", "w6", "w7", "w8", "w9"],
    ]


def test_empty_and_whitespace_documents_produce_no_passages() -> None:
    docs = [Document(""), Document(" \n\t "), Document("real text")]
    passages = DocumentSplitter(split_length=5).run(documents=docs)["documents"]
    assert [p.content for p in passages] == ["real text"]
    assert passages[0].meta[SOURCE_ID] == docs[2].id


def test_passages_do_not_inherit_score_or_embedding() -> None:
    source = Document("alpha beta gamma", meta={"lang": "en"}, score=0.5, embedding=[1.0, 2.0])
    [passage] = DocumentSplitter(split_length=10).run(documents=[source])["documents"]
    assert passage.score is None and passage.embedding is None
    assert passage.meta == {
        "lang": "en",
        SOURCE_ID: source.id,
        SOURCE_START: 0,
        SOURCE_END: 16,
        SPLIT_INDEX: 0,
    }


def test_inconsistent_source_offsets_are_rejected() -> None:
    broken = Document("abc def", meta={SOURCE_ID: "x", SOURCE_START: 10, SOURCE_END: 12})
    with pytest.raises(ComponentError, match="do not match its content length 7"):
        DocumentSplitter().run(documents=[broken])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split_length": 0}, "split_length must be >= 1, got 0"),
        ({"split_length": -3}, "split_length must be >= 1"),
        (
            {"split_length": 5, "split_overlap": 5},
            r"split_overlap must be >= 0 and < split_length \(5\), got 5",
        ),
        ({"split_overlap": -1}, "split_overlap must be >= 0"),
        ({"split_by": "character"}, "split_by must be one of"),
        ({"split_length": 2.5}, "split_length must be an int, not float"),
        ({"split_length": True}, "split_length must be an int, not bool"),
        ({"split_length": 4, "split_threshold": 5}, "split_threshold must be >= 0 and <= split_length"),
    ],
)
def test_invalid_parameters_are_component_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ComponentError, match=message):
        DocumentSplitter(**kwargs)


def test_run_rejects_non_documents() -> None:
    with pytest.raises(ComponentError, match="must be a list of Document"):
        DocumentSplitter().run(documents=["plain string"])  # type: ignore[list-item]


def test_init_parameters_are_captured() -> None:
    splitter = DocumentSplitter(split_by="sentence", split_length=3)
    assert init_parameters(splitter) == {
        "split_by": "sentence",
        "split_length": 3,
        "split_overlap": 0,
        "split_threshold": 0,
    }


_ID_SCRIPT = """
import json, sys
from docqa.preprocessors import DocumentSplitter
from docqa.schema import Document
docs = [Document("Zürich 東京 🙂 one two three four five six", meta={"b": 1, "a": [1, 2]})]
passages = DocumentSplitter(split_length=3, split_overlap=1).run(documents=docs)["documents"]
print(json.dumps([p.id for p in passages]))
"""


def test_passage_ids_are_unique_and_the_same_in_another_process() -> None:
    docs = [Document("Zürich 東京 🙂 one two three four five six", meta={"a": [1, 2], "b": 1})]
    passages = DocumentSplitter(split_length=3, split_overlap=1).run(documents=docs)["documents"]
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids) == 4
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(
        [sys.executable, "-c", _ID_SCRIPT], capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True
    )
    assert json.loads(completed.stdout) == ids
