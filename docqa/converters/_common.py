"""Helpers shared by the converters: reading files safely, decoding UTF-8, building per-file meta."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from docqa.errors import ConversionError
from docqa.schema import Document

#: What the ``sources`` input of every converter accepts.
Source = str | Path

_NEWLINES = re.compile(r"\r\n?")


def read_bytes(path: Source) -> bytes:
    """The raw bytes of ``path``; any OS failure becomes a one-line :class:`ConversionError`."""
    file_path = Path(path)
    try:
        return file_path.read_bytes()
    except FileNotFoundError:
        raise ConversionError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConversionError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise ConversionError(f"{path}: permission denied") from None
    except OSError as error:
        raise ConversionError(f"{path}: cannot read file ({error.strerror or error})") from None


def decode_utf8(data: bytes, path: Source, *, universal_newlines: bool = False) -> str:
    """Decode ``data`` as UTF-8; a leading BOM is dropped, line endings are kept as they are.

    The result is "the file's decoded text without the BOM": what ``open(path, encoding="utf-8-sig",
    newline="")`` reads, so an offset into it is an offset into the file as an editor shows it, CRLF files
    included. ``universal_newlines=True`` turns ``\r\n`` and ``\r`` into ``\n`` (for parsers of structured
    formats, whose output text is not the file's).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        raise ConversionError(
            f"{path}: not valid UTF-8 (byte 0x{bad} at offset {error.start}); re-encode the file as UTF-8"
        ) from None
    return _NEWLINES.sub("\n", text) if universal_newlines else text


def read_text(path: Source, *, universal_newlines: bool = False) -> str:
    """Read ``path`` as UTF-8 text (see :func:`decode_utf8`), raising :class:`ConversionError` naming the file."""
    return decode_utf8(read_bytes(path), path, universal_newlines=universal_newlines)


def require_text(text: str, path: Source, what: str = "file") -> str:
    """Return ``text`` unless it is empty or whitespace-only, in which case raise naming ``path``."""
    if not text:
        raise ConversionError(f"{path}: {what} is empty")
    if not text.strip():
        raise ConversionError(f"{path}: {what} contains only whitespace")
    return text


def file_meta(path: Source, meta: dict[str, Any] | None) -> dict[str, Any]:
    """``meta`` (copied) plus ``file_path`` (as given) and ``file_name``."""
    result = dict(meta) if meta is not None else {}
    result["file_path"] = str(path)
    result["file_name"] = Path(path).name
    return result


def convert_each(
    sources: Iterable[Source],
    meta: dict[str, Any] | None,
    convert_one: Callable[[Source, dict[str, Any] | None], list[Document]],
) -> list[Document]:
    """Apply a single-file conversion function to every source, in order."""
    if isinstance(sources, (str, Path)):
        raise ConversionError(f"sources must be a list of paths, not a single path ({sources!s})")
    documents: list[Document] = []
    for source in sources:
        documents.extend(convert_one(source, meta))
    return documents
