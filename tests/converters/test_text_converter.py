from __future__ import annotations

from pathlib import Path

import pytest

from docqa.converters import TextFileConverter, convert_text_file
from docqa.core.component import init_parameters, input_sockets, output_sockets
from docqa.errors import ConversionError
from docqa.schema import Document


def test_text_file_becomes_one_document_with_file_meta(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Zürich liegt am See.\n東京\tは大きい 🙂\n", encoding="utf-8")
    [doc] = TextFileConverter().run(sources=[str(path)], meta={"lang": "de"})["documents"]
    assert doc.content == "Zürich liegt am See.\n東京\tは大きい 🙂\n"
    assert doc.meta == {"lang": "de", "file_path": str(path), "file_name": "notes.txt"}


def test_bom_is_dropped_and_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\rthree\n")
    [doc] = convert_text_file(path)
    assert doc.content == "one\r\ntwo\rthree\n"
    # The decoded text without the BOM: what a user's editor (or Python with newline="") reads.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        assert doc.content == handle.read()


def test_several_sources_keep_their_order_and_the_caller_meta_is_not_mutated(tmp_path: Path) -> None:
    paths = []
    for name in ("b.txt", "a.txt"):
        paths.append(tmp_path / name)
        paths[-1].write_text(f"content of {name}", encoding="utf-8")
    meta = {"batch": 1}
    docs = TextFileConverter().run(sources=paths, meta=meta)["documents"]
    assert [d.content for d in docs] == ["content of b.txt", "content of a.txt"]
    assert meta == {"batch": 1}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", r"empty\.txt: file is empty"),
        (b" \n\t \n", r"empty\.txt: file contains only whitespace"),
        (b"caf\xe9 au lait", r"empty\.txt: not valid UTF-8 \(byte 0xe9 at offset 3\)"),
    ],
)
def test_bad_content_raises_naming_the_file(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(payload)
    with pytest.raises(ConversionError, match=message):
        convert_text_file(path)


def test_missing_file_and_directory_raise_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match=r"nope\.txt: no such file"):
        convert_text_file(tmp_path / "nope.txt")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(ConversionError, match=r"folder\.txt: is a directory"):
        convert_text_file(folder)


def test_permission_error_becomes_a_conversion_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, where chmod 000 does not block reading: simulate the OS refusing instead.
    path = tmp_path / "secret.txt"
    path.write_text("classified", encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConversionError, match=r"secret\.txt: permission denied"):
        convert_text_file(path)


def test_a_single_path_instead_of_a_list_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="must be a list of paths"):
        TextFileConverter().run(sources=str(tmp_path / "a.txt"))  # type: ignore[arg-type]


def test_component_contract() -> None:
    converter = TextFileConverter()
    assert init_parameters(converter) == {}
    assert set(input_sockets(converter)) == {"sources", "meta"}
    assert not input_sockets(converter)["meta"].is_mandatory
    assert output_sockets(converter)["documents"].type == list[Document]
