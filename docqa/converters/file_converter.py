"""Convert files and folders of mixed types, choosing the converter by extension; bad files are reported."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from docqa.converters._common import Source
from docqa.converters.html_converter import convert_html_file
from docqa.converters.json_converter import convert_json_file
from docqa.converters.jsonl_converter import convert_jsonl_file
from docqa.converters.markdown_converter import convert_markdown_file
from docqa.converters.pdf_converter import convert_pdf_file
from docqa.converters.text_converter import convert_text_file
from docqa.core.component import component
from docqa.errors import ConversionError
from docqa.schema import Document

logger = logging.getLogger(__name__)

ConvertFn = Callable[[Source, dict[str, Any] | None], list[Document]]

#: Which function converts which extension (lower-case, with the dot). ``.json``: a SQuAD file or an array of
#: document records.
CONVERTERS: dict[str, ConvertFn] = {
    ".txt": convert_text_file,
    ".md": convert_markdown_file,
    ".markdown": convert_markdown_file,
    ".html": convert_html_file,
    ".htm": convert_html_file,
    ".jsonl": convert_jsonl_file,
    ".json": convert_json_file,
    ".pdf": convert_pdf_file,
}

SUPPORTED_EXTENSIONS = tuple(CONVERTERS)


@dataclass(frozen=True)
class SkippedFile:
    """A file that was not converted, and why (one line)."""

    path: str
    reason: str


@dataclass
class ConversionResult:
    """What :func:`convert_paths` produced: the documents, the files it skipped, and how many it converted."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    files: int = 0


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(folder: Path, recursive: bool, skipped: list[SkippedFile]) -> Iterator[Path]:
    """Non-hidden files under ``folder`` in sorted order; symlinked folders are not followed (no cycles)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        skipped.append(SkippedFile(str(folder), f"cannot list folder ({error.strerror or error})"))
        return
    for entry in entries:
        if _is_hidden(entry.name):
            continue
        path = folder / entry.name
        if entry.is_dir(follow_symlinks=False):
            if recursive:
                yield from _walk(path, recursive, skipped)
        elif entry.is_dir():
            continue  # a symlink to a folder: following it could loop
        else:
            yield path


def expand_paths(paths: Iterable[Source], recursive: bool, skipped: list[SkippedFile]) -> list[Path]:
    """Every file to convert, in the order given (folders expanded in place), each at most once; what cannot be
    walked or does not exist is appended to ``skipped``."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates: Iterable[Path] = _walk(path, recursive, skipped)
        elif os.path.lexists(path):
            candidates = [path]
        else:
            skipped.append(SkippedFile(str(given), "no such file or directory"))
            continue
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    return files


def converter_for(path: Source) -> ConvertFn:
    """The conversion function for ``path``'s extension; :class:`ConversionError` if none handles it."""
    suffix = Path(path).suffix.lower()
    try:
        return CONVERTERS[suffix]
    except KeyError:
        what = f"unknown extension {suffix!r}" if suffix else "no file extension"
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        raise ConversionError(f"{path}: {what} (supported: {supported})") from None


def convert_file(path: Source, meta: dict[str, Any] | None = None) -> list[Document]:
    """Convert one file with the converter for its extension; raises :class:`ConversionError` on bad input."""
    file_path = Path(path)
    if file_path.is_dir():
        raise ConversionError(f"{path}: is a directory, not a file")
    if file_path.exists() and not file_path.is_file():
        # A FIFO or device would block or never end when read.
        raise ConversionError(f"{path}: not a regular file")
    return converter_for(path)(path, meta)


def _reason(error: ConversionError, path: Path) -> str:
    """The error message without the leading path (SkippedFile already carries it)."""
    message = str(error)
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def convert_paths(
    paths: Iterable[Source],
    *,
    recursive: bool = True,
    meta: dict[str, Any] | None = None,
    progress: bool = False,
) -> ConversionResult:
    """Convert files and folders (walked in sorted order, hidden entries skipped) into documents.

    A file that cannot be converted (missing, unreadable, not UTF-8, empty, unknown extension, malformed) is
    recorded in ``result.skipped`` with a one-line reason and the others are still converted.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("Cats purr.")
    >>> _ = (folder / "b.txt").write_bytes(b"")
    >>> result = convert_paths([folder])
    >>> [d.content for d in result.documents], [s.reason for s in result.skipped], result.files
    (['Cats purr.'], ['file is empty'], 1)
    """
    result = ConversionResult()
    files = expand_paths(paths, recursive, result.skipped)
    for path in tqdm(files, desc="Converting", unit="file", disable=not progress):
        try:
            documents = convert_file(path, meta)
        except ConversionError as error:
            result.skipped.append(SkippedFile(str(path), _reason(error, path)))
            continue
        result.documents.extend(documents)
        result.files += 1
    return result


@component
class FileConverter:
    """Convert files and folders of any supported type (see ``SUPPORTED_EXTENSIONS``) into documents.

    With ``skip_bad_files=True`` (default) files that cannot be converted are logged as warnings and left out;
    with ``False`` the first one raises :class:`~docqa.errors.ConversionError`.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.md").write_text("# Cats\\n\\nCats *purr*.")
    >>> _ = (folder / "b.txt").write_text("Dogs bark.")
    >>> [d.content for d in FileConverter().run(sources=[folder])["documents"]]
    ['Cats\\n\\nCats purr.', 'Dogs bark.']
    """

    def __init__(self, recursive: bool = True, skip_bad_files: bool = True) -> None:
        self.recursive = recursive
        self.skip_bad_files = skip_bad_files

    @component.output_types(documents=list[Document])
    def run(self, sources: list[Source], meta: dict | None = None) -> dict[str, list[Document]]:
        result = convert_paths(sources, recursive=self.recursive, meta=meta)
        for skipped in result.skipped:
            if not self.skip_bad_files:
                raise ConversionError(f"{skipped.path}: {skipped.reason}")
            logger.warning("skipped %s: %s", skipped.path, skipped.reason)
        return {"documents": result.documents}
