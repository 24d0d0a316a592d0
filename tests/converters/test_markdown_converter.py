from __future__ import annotations

from pathlib import Path

import pytest

from docqa.converters import MarkdownConverter, convert_markdown_file, markdown_to_text
from docqa.errors import ConversionError

NOTES = """---
title: front matter is metadata
tags: [a, b]
---
# Rivers of *Europe*

The **Rhine** flows through [Basel](https://en.wikipedia.org/wiki/Basel) and Cologne;
see ![a map of the Rhine](map.png) and `rhine.py`. Fish &amp; chips.

## Cities

- Basel
- Cologne, with a <span>cathedral</span>
  1. nested item

> A quoted line.

```python
def flow(river):
    return river  # keep code as is
```

| City | Country |
|------|---------|
| Basel | Switzerland |

Hard break here\\
next line, and a <br> tag.
"""


def test_markdown_syntax_is_removed_and_blocks_become_paragraphs() -> None:
    text, title = markdown_to_text(NOTES)
    assert title == "Rivers of Europe"
    assert text.split("\n\n") == [
        "Rivers of Europe",
        "The Rhine flows through Basel and Cologne; see a map of the Rhine and rhine.py. Fish & chips.",
        "Cities",
        "Basel",
        "Cologne, with a cathedral",
        "nested item",
        "A quoted line.",
        "def flow(river):\n    return river  # keep code as is",
        "City | Country\nBasel | Switzerland",
        "Hard break here\nnext line, and a\ntag.",
    ]


@pytest.mark.parametrize("syntax", ["**", "](", "https://", "```", "---", "front matter", "<span>", "|---", "&amp;"])
def test_no_markup_survives(syntax: str) -> None:
    text, _ = markdown_to_text(NOTES)
    assert syntax not in text


def test_html_block_inside_markdown_is_reduced_to_text() -> None:
    text, title = markdown_to_text("Intro.\n\n<div>\n<p>Inside <b>html</b></p>\n</div>\n")
    assert text == "Intro.\n\nInside html"
    assert title is None


def test_converter_meta_has_title_and_file(tmp_path: Path) -> None:
    path = tmp_path / "rivers.md"
    path.write_text(NOTES, encoding="utf-8")
    [doc] = MarkdownConverter().run(sources=[path])["documents"]
    assert doc.meta == {"file_path": str(path), "file_name": "rivers.md", "title": "Rivers of Europe"}


def test_markdown_with_only_markup_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rule.md"
    path.write_text("---\n\n***\n", encoding="utf-8")
    with pytest.raises(ConversionError, match=r"rule\.md: text \(after removing Markdown syntax\) is empty"):
        convert_markdown_file(path)
