from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from docqa.converters import (
    SUPPORTED_EXTENSIONS,
    ConversionResult,
    FileConverter,
    SkippedFile,
    convert_file,
    convert_paths,
)
from docqa.core.component import init_parameters
from docqa.errors import ConversionError


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    # Created in reverse order so that a walk in creation (inode/directory) order would not look sorted.
    for relative, payload in reversed(list(files.items())):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    return root


@pytest.fixture
def corpus(tmp_path: Path, pdf_bytes: Callable[[list[list[str]]], bytes]) -> Path:
    root = _tree(
        tmp_path / "corpus",
        {
            "a.txt": b"alpha text",
            "b.md": b"# Beta\n\nbeta *markdown*",
            "c.html": b"<title>Gamma</title><p>gamma html</p>",
            "d.jsonl": b'{"content": "delta one"}\n{"content": "delta two"}\n',
            "e.json": json.dumps(
                {"data": [{"title": "E", "paragraphs": [{"context": "epsilon", "qas": []}]}]}
            ).encode(),
            "f.pdf": pdf_bytes([["foxtrot pdf"]]),
            "sub/g.TXT": b"golf in a subfolder",
            "sub/deeper/h.htm": b"<p>hotel</p>",
            "z_bad_utf8.txt": b"caf\xe9",
            "z_empty.md": b"",
            "z_spaces.txt": b"  \n\t\n",
            "z_unknown.docx": b"binary?",
            "z_bad_line.jsonl": b'{"content": "ok"}\n{oops}\n',
            ".hidden.txt": b"must not be read",
            ".git/config.txt": b"must not be read either",
        },
    )
    os.symlink(root / "nowhere.txt", root / "y_dangling.txt")
    os.mkfifo(root / "y_fifo.txt")  # reading a FIFO would block forever: must be refused, not read
    return root


def test_folder_converts_good_files_in_sorted_order_and_reports_bad_ones(corpus: Path) -> None:
    result = convert_paths([corpus])
    assert isinstance(result, ConversionResult)
    assert [d.content for d in result.documents] == [
        "alpha text",
        "Beta\n\nbeta markdown",
        "gamma html",
        "delta one",
        "delta two",
        "epsilon",
        "foxtrot pdf",
        "hotel",
        "golf in a subfolder",
    ]
    assert result.files == 8
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert set(reasons) == {
        "y_dangling.txt",
        "y_fifo.txt",
        "z_bad_utf8.txt",
        "z_empty.md",
        "z_spaces.txt",
        "z_unknown.docx",
        "z_bad_line.jsonl",
    }
    assert reasons["y_dangling.txt"] == "no such file"
    assert reasons["y_fifo.txt"] == "not a regular file"
    assert reasons["z_bad_utf8.txt"] == "not valid UTF-8 (byte 0xe9 at offset 3); re-encode the file as UTF-8"
    assert reasons["z_empty.md"] == "file is empty"
    assert reasons["z_spaces.txt"] == "file contains only whitespace"
    assert reasons["z_unknown.docx"].startswith("unknown extension '.docx' (supported: .txt, .md")
    assert reasons["z_bad_line.jsonl"].startswith("line 2: invalid JSON")
    assert all("\n" not in s.reason for s in result.skipped)
    assert not any("must not be read" in d.content for d in result.documents)


def test_meta_of_converted_files_names_each_file(corpus: Path) -> None:
    result = convert_paths([corpus], meta={"collection": "demo"})
    golf = next(d for d in result.documents if d.content.startswith("golf"))
    assert golf.meta == {
        "collection": "demo",
        "file_path": str(corpus / "sub" / "g.TXT"),
        "file_name": "g.TXT",
    }
    assert all(d.meta["collection"] == "demo" for d in result.documents)


def test_non_recursive_walk_ignores_subfolders(corpus: Path) -> None:
    result = convert_paths([corpus], recursive=False)
    assert "golf in a subfolder" not in [d.content for d in result.documents]
    assert "hotel" not in [d.content for d in result.documents]
    assert result.files == 6


def test_two_runs_give_identical_documents(corpus: Path) -> None:
    first, second = convert_paths([corpus]), convert_paths([corpus])
    assert [d.id for d in first.documents] == [d.id for d in second.documents]
    assert first.skipped == second.skipped


def test_explicit_paths_keep_their_order_missing_ones_are_reported_duplicates_read_once(
    tmp_path: Path,
) -> None:
    _tree(tmp_path, {"one.txt": b"one", "two.txt": b"two"})
    result = convert_paths([tmp_path / "two.txt", str(tmp_path / "missing.md"), tmp_path / "one.txt", tmp_path])
    assert [d.content for d in result.documents] == ["two", "one"]
    assert result.skipped == [SkippedFile(str(tmp_path / "missing.md"), "no such file or directory")]
    assert result.files == 2


def test_a_single_path_is_accepted(tmp_path: Path) -> None:
    _tree(tmp_path, {"one.txt": b"one"})
    assert [d.content for d in convert_paths(tmp_path / "one.txt").documents] == ["one"]  # type: ignore[arg-type]


def test_file_without_extension_is_skipped(tmp_path: Path) -> None:
    _tree(tmp_path, {"LICENSE": b"text"})
    result = convert_paths([tmp_path])
    assert result.documents == []
    assert result.skipped[0].reason.startswith("no file extension")


def test_progress_bar_goes_to_stderr(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    convert_paths([corpus], progress=True)
    captured = capsys.readouterr()
    assert "Converting" in captured.err
    assert captured.out == ""


def test_convert_file_raises_for_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match=r"is a directory"):
        convert_file(tmp_path)
    (tmp_path / "x.rtf").write_text("{\\rtf1}", encoding="utf-8")
    with pytest.raises(ConversionError, match=r"x\.rtf: unknown extension '\.rtf'"):
        convert_file(tmp_path / "x.rtf")


def test_every_supported_extension_has_a_converter(
    tmp_path: Path, pdf_bytes: Callable[[list[list[str]]], bytes]
) -> None:
    squad = {"data": [{"title": "T", "paragraphs": [{"context": "sample of json", "qas": []}]}]}
    samples = {
        ".txt": b"sample of txt",
        ".md": b"# Title\n\nsample of *md*",
        ".markdown": b"sample of **markdown**",
        ".html": b"<html><body><p>sample of html</p></body></html>",
        ".htm": b"<p>sample of htm</p>",
        ".jsonl": b'{"content": "sample of jsonl"}\n',
        ".json": json.dumps(squad).encode(),
        ".pdf": pdf_bytes([["sample of pdf"]]),
    }
    assert set(SUPPORTED_EXTENSIONS) == set(samples)
    for extension, payload in samples.items():
        path = tmp_path / f"sample{extension.upper() if extension == '.txt' else extension}"
        path.write_bytes(payload)
        documents = convert_file(path)
        assert len(documents) == 1, extension
        assert f"sample of {extension[1:]}" in documents[0].content, extension
        assert documents[0].meta["file_name"] == path.name


def test_component_skips_and_logs_bad_files(corpus: Path, caplog: pytest.LogCaptureFixture) -> None:
    converter = FileConverter()
    assert init_parameters(converter) == {"recursive": True, "skip_bad_files": True}
    with caplog.at_level(logging.WARNING, logger="docqa.converters.file_converter"):
        documents = converter.run(sources=[corpus])["documents"]
    assert len(documents) == 9
    assert any("z_bad_utf8.txt" in record.getMessage() for record in caplog.records)


def test_component_can_fail_on_the_first_bad_file(tmp_path: Path) -> None:
    _tree(tmp_path, {"good.txt": b"good", "bad.txt": b"\xff"})
    with pytest.raises(ConversionError, match=r"bad\.txt: not valid UTF-8 \(byte 0xff at offset 0\)"):
        FileConverter(skip_bad_files=False).run(sources=[tmp_path])


def test_unlistable_subfolder_is_reported_and_the_rest_converted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root, chmod cannot make a folder unlistable: make the OS call refuse for that one folder instead.
    _tree(tmp_path, {"a.txt": b"alpha", "locked/b.txt": b"beta", "z.txt": b"zulu"})
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]):  # type: ignore[no-untyped-def]
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = convert_paths([tmp_path])
    assert [d.content for d in result.documents] == ["alpha", "zulu"]
    assert result.skipped == [SkippedFile(str(tmp_path / "locked"), "cannot list folder (Permission denied)")]
