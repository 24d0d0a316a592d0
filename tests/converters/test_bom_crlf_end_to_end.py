"""A UTF-8 file with a BOM and CRLF line ends: indexed, searched and answered, spans point into the file's text."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from docqa.cli import app
from docqa.converters import convert_paths
from docqa.document_stores import InMemoryDocumentStore
from docqa.preprocessors import DocumentSplitter
from docqa.readers import ExtractiveReader
from docqa.retrievers import BM25Retriever
from tests.shared_assets import SHARED_DIR

QA_MODEL = SHARED_DIR / "models" / "minilm-l6-squad2-half12"

LINES = [
    "Zürich notes — first line.",
    "",
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.",
    "They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.",
    "",
    "Paris is the capital of France and its largest city.",
]


def _write_dos_file(path: Path) -> str:
    """Write LINES with a BOM and CRLF; return the file's text as a user reads it (decoded, without the BOM)."""
    text = "\r\n".join(LINES) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    with open(path, encoding="utf-8-sig", newline="") as handle:
        assert handle.read() == text
    return text


def test_answers_and_passages_map_back_to_the_file_text(tmp_path: Path) -> None:
    file_text = _write_dos_file(tmp_path / "normans.txt")
    [source] = convert_paths([tmp_path]).documents
    assert source.content == file_text
    passages = DocumentSplitter(split_length=12, split_overlap=3).run(documents=[source])["documents"]
    assert len(passages) > 3
    for passage in passages:
        start, end = passage.meta["source_start"], passage.meta["source_end"]
        assert file_text[start:end] == passage.content
    store = InMemoryDocumentStore()
    store.write_documents(passages)
    retrieved = BM25Retriever(store, top_k=3).run(query="Where did the Normans come from?")["documents"]
    assert retrieved
    reader = ExtractiveReader(str(QA_MODEL), no_answer=False, top_k=3)
    reader.warm_up()
    answers = reader.run(query="Where were the Normans descended from?", documents=retrieved)["answers"]
    spans = [answer for answer in answers if answer.text is not None]
    assert spans
    for answer in spans:
        assert answer.span is not None
        assert file_text[answer.span.start : answer.span.end] == answer.text
    assert "\r" not in spans[0].text
    assert file_text.index(spans[0].text) > file_text.index("\r\n")  # beyond a CRLF: the offsets counted it


def test_cli_index_and_search_keep_file_offsets(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    file_text = _write_dos_file(tmp_path / "docs" / "normans.txt")
    runner = CliRunner()
    store = tmp_path / "store"
    result = runner.invoke(
        app, ["index", str(tmp_path / "docs"), "--store", str(store), "--split-length", "12", "--split-overlap", "3"]
    )
    assert result.exit_code == 0, result.output
    stored = InMemoryDocumentStore.load(store).filter_documents()
    assert len(stored) > 3
    for passage in stored:
        assert file_text[passage.meta["source_start"] : passage.meta["source_end"]] == passage.content


def test_a_broken_pdf_gives_only_docqa_s_skip_line(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ngarbage")
    (tmp_path / "docs" / "ok.txt").write_text("A fine text file.", encoding="utf-8")
    result = CliRunner().invoke(app, ["index", str(tmp_path / "docs"), "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warning: skipped") and "broken.pdf" in lines[0]
    assert "EOF marker" not in result.stderr
