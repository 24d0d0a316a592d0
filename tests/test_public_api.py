from __future__ import annotations

import subprocess
import sys

import docqa


def test_every_public_name_resolves() -> None:
    lazy = set(docqa._LAZY_EXPORTS)
    assert lazy <= set(docqa.__all__)
    for name in docqa.__all__:
        assert getattr(docqa, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        docqa.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_docqa_and_bm25_search_does_not_import_torch() -> None:
    code = (
        "import sys, docqa, docqa.cli\n"
        "store = docqa.InMemoryDocumentStore()\n"
        "store.write_documents([docqa.Document('a b c')])\n"
        "docqa.BM25Retriever(store).run(query='a')\n"
        "print('torch' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"
