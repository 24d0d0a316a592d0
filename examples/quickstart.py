"""Quickstart: index the sample articles in memory with BM25, then ask a question.

    python examples/quickstart.py
    python examples/quickstart.py "On what river does Warsaw stand?" --model /path/to/local/squad2-model

The default reader model is downloaded from the Hugging Face hub on first use.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from docqa import Answer, InMemoryDocumentStore
from docqa.converters import FileConverter
from docqa.pipelines import DEFAULT_READER_MODEL, ExtractiveQAPipeline
from docqa.preprocessors import DocumentSplitter

ARTICLES = Path(__file__).resolve().parents[1] / "data" / "articles"


def index(folder: Path) -> InMemoryDocumentStore:
    """Convert every file under ``folder``, split it into passages of ~200 words, and store them."""
    documents = FileConverter().run(sources=[folder])["documents"]
    splitter = DocumentSplitter(split_by="word", split_length=200, split_overlap=20)
    store = InMemoryDocumentStore()
    store.write_documents(splitter.run(documents=documents)["documents"])
    return store


def main(argv: list[str] | None = None) -> list[Answer]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default="Who started the Yuan dynasty?")
    parser.add_argument("--data", type=Path, default=ARTICLES, help="folder of documents to index")
    parser.add_argument("--model", default=DEFAULT_READER_MODEL, help="reader model: hub id or local directory")
    args = parser.parse_args(argv)

    store = index(args.data)
    print(f"indexed {store.count_documents()} passages from {args.data}")
    qa = ExtractiveQAPipeline.bm25(store, model=args.model, retriever_top_k=10, reader_top_k=3)
    answers: list[Answer] = qa.run(args.question)["answers"]
    print(f"Q: {args.question}")
    for answer in answers:
        text = answer.text if answer.text is not None else "(no answer)"
        source = answer.document.meta.get("file_name", "") if answer.document is not None else ""
        print(f"  {answer.probability:.3f}  {text}  {source}")
    return answers


if __name__ == "__main__":
    main()
