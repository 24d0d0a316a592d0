"""Converters: files (text, Markdown, HTML, JSON Lines, JSON: SQuAD or an array of documents, PDF) into
documents."""

from __future__ import annotations

from docqa.converters.file_converter import (
    CONVERTERS,
    SUPPORTED_EXTENSIONS,
    ConversionResult,
    FileConverter,
    SkippedFile,
    convert_file,
    convert_paths,
    converter_for,
)
from docqa.converters.html_converter import HTMLConverter, convert_html_file, convert_html_files, html_to_text
from docqa.converters.json_converter import JSONConverter, convert_json_file, convert_json_files
from docqa.converters.jsonl_converter import JSONLConverter, convert_jsonl_file, convert_jsonl_files
from docqa.converters.markdown_converter import (
    MarkdownConverter,
    convert_markdown_file,
    convert_markdown_files,
    markdown_to_text,
)
from docqa.converters.pdf_converter import PDFConverter, convert_pdf_file, convert_pdf_files
from docqa.converters.squad_converter import SQuADConverter, convert_squad_file, convert_squad_files
from docqa.converters.text_converter import TextFileConverter, convert_text_file, convert_text_files

__all__ = [
    "CONVERTERS",
    "SUPPORTED_EXTENSIONS",
    "ConversionResult",
    "FileConverter",
    "HTMLConverter",
    "JSONConverter",
    "JSONLConverter",
    "MarkdownConverter",
    "PDFConverter",
    "SQuADConverter",
    "SkippedFile",
    "TextFileConverter",
    "convert_file",
    "convert_html_file",
    "convert_html_files",
    "convert_json_file",
    "convert_json_files",
    "convert_jsonl_file",
    "convert_jsonl_files",
    "convert_markdown_file",
    "convert_markdown_files",
    "convert_paths",
    "convert_pdf_file",
    "convert_pdf_files",
    "convert_squad_file",
    "convert_squad_files",
    "convert_text_file",
    "convert_text_files",
    "converter_for",
    "html_to_text",
    "markdown_to_text",
]
