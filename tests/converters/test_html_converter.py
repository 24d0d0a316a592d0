from __future__ import annotations

from pathlib import Path

import pytest

from docqa.converters import HTMLConverter, convert_html_file, html_to_text
from docqa.errors import ConversionError

PAGE = """<!DOCTYPE html>
<html>
<head>
  <title>  The   Rhine &amp; its
  towns </title>
  <style>body { color: red; } .hidden { display: none }</style>
  <script>var secret = "do not index";</script>
  <meta charset="utf-8">
</head>
<body>
  <nav><a href="/">Home</a> | <a href="/about">About</a></nav>
  <header><h1>The Rhine</h1></header>
  <div class="article">
    <p>The   Rhine flows
       through <b>Basel</b>,&nbsp;Cologne &amp; Rotterdam &lt;NL&gt; &eacute;t&eacute;.</p>
    <div>Outer text <div>inner <span>nested</span> block</div> outer tail</div>
    <!-- a comment that must not appear -->
    <ul><li>First item</li><li>Second <em>item</em></li></ul>
    <table><tr><th>City</th><th>Country</th></tr><tr><td>Basel</td><td>Switzerland</td></tr></table>
    <p>Line one<br>line two</p>
    <pre>  keep   this
    indentation</pre>
    <script type="text/javascript">document.write("not text");</script>
    <noscript>Enable JavaScript</noscript>
  </div>
</body>
</html>
"""


def test_visible_text_keeps_blocks_as_paragraphs() -> None:
    text, title = html_to_text(PAGE)
    assert title == "The Rhine & its towns"
    assert text.split("\n\n") == [
        "The Rhine",
        "The Rhine flows through Basel, Cologne & Rotterdam <NL> été.",
        "Outer text",
        "inner nested block",
        "outer tail",
        "First item",
        "Second item",
        "City Country",
        "Basel Switzerland",
        "Line one\nline two",
        "  keep   this\n    indentation",
    ]


@pytest.mark.parametrize("dropped", ["do not index", "not text", "Home", "About", "comment", "color", "JavaScript"])
def test_scripts_styles_nav_comments_are_dropped(dropped: str) -> None:
    text, _ = html_to_text(PAGE)
    assert dropped not in text


def test_converter_puts_title_and_file_into_meta(tmp_path: Path) -> None:
    path = tmp_path / "rhine.htm"
    path.write_text(PAGE, encoding="utf-8")
    [doc] = HTMLConverter().run(sources=[path], meta={"source": "web"})["documents"]
    assert doc.meta == {
        "source": "web",
        "file_path": str(path),
        "file_name": "rhine.htm",
        "title": "The Rhine & its towns",
    }
    assert doc.content.startswith("The Rhine\n\nThe Rhine flows")


def test_page_without_title_has_no_title_meta(tmp_path: Path) -> None:
    path = tmp_path / "bare.html"
    path.write_text("<p>Just a paragraph.</p>", encoding="utf-8")
    [doc] = convert_html_file(path)
    assert doc.content == "Just a paragraph."
    assert "title" not in doc.meta


def test_declared_legacy_charset_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "latin.html"
    path.write_bytes(
        '<html><head><meta charset="iso-8859-1"></head><body><p>Café crème</p></body></html>'.encode("latin-1")
    )
    [doc] = convert_html_file(path)
    assert doc.content == "Café crème"


def test_undeclared_non_utf8_is_an_error_with_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.html"
    path.write_bytes(b"<p>caf\xe9</p>")
    with pytest.raises(ConversionError, match=r"bad\.html: not valid UTF-8 \(byte 0xe9 at offset 6\)"):
        convert_html_file(path)


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ("", "file is empty"),
        ("  \n ", "file contains only whitespace"),
        (
            "<html><head><title>Only a title</title></head><body><script>x()</script></body></html>",
            "visible text is empty",
        ),
    ],
)
def test_pages_without_text_are_errors(tmp_path: Path, markup: str, message: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(markup, encoding="utf-8")
    with pytest.raises(ConversionError, match=rf"page\.html: {message}"):
        convert_html_file(path)


def test_deeply_nested_markup_does_not_hit_the_recursion_limit() -> None:
    depth = 3000
    text, _ = html_to_text("<div>" * depth + "deep" + "</div>" * depth)
    assert text == "deep"
