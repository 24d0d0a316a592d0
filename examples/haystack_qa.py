"""Haystack pipelines with docqa's store, BM25 retriever and reader (``pip install "docqa[haystack]"``).

    python examples/haystack_qa.py                                   # index data/articles, then ask
    python examples/haystack_qa.py "On what river does Warsaw stand?" --model /path/to/local/squad2-model
    python examples/haystack_qa.py --yaml examples/haystack_qa.yaml  # the query pipeline from Haystack YAML
    python examples/haystack_qa.py --dump query.yaml                 # write the query pipeline as Haystack YAML

Indexing is a Haystack pipeline (TextFileToDocument -> DocumentSplitter -> DocumentWriter into docqa's in-memory
store), saved to ``--store``; the query pipeline (docqa's BM25Retriever -> docqa's ExtractiveReader) reads it there.
The default reader model is downloaded from the Hugging Face hub on first use.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from haystack import ExtractedAnswer, Pipeline
from haystack.components.converters import TextFileToDocument
from haystack.components.preprocessors import DocumentSplitter
from haystack.components.writers import DocumentWriter
from haystack.core.serialization import DeserializationCallbacks
from haystack.document_stores.types import DuplicatePolicy

from docqa.integrations.haystack import (
    ALLOWED_MODULE,
    BM25Retriever,
    ExtractiveReader,
    InMemoryDocumentStore,
)
from docqa.readers import DEFAULT_READER_MODEL

ARTICLES = Path(__file__).resolve().parents[1] / "data" / "articles"


def index(folder: Path, store_path: Path) -> InMemoryDocumentStore:
    """Convert the ``.txt`` files of ``folder``, split them into passages of 200 words, store and save them."""
    store = InMemoryDocumentStore(path=str(store_path), create=True)
    indexing = Pipeline()
    indexing.add_component("converter", TextFileToDocument())
    indexing.add_component("splitter", DocumentSplitter(split_by="word", split_length=200, split_overlap=20))
    indexing.add_component("writer", DocumentWriter(store, policy=DuplicatePolicy.OVERWRITE))
    indexing.connect("converter.documents", "splitter.documents")
    indexing.connect("splitter.documents", "writer.documents")
    indexing.run({"converter": {"sources": sorted(folder.glob("*.txt"))}})
    store.save()
    return store


def query_pipeline(store_path: Path, model: str) -> Pipeline:
    """The query pipeline built in Python: what ``examples/haystack_qa.yaml`` describes."""
    store = InMemoryDocumentStore(path=str(store_path))
    pipeline = Pipeline()
    pipeline.add_component("retriever", BM25Retriever(document_store=store, top_k=10))
    pipeline.add_component("reader", ExtractiveReader(model=model, top_k=3))
    pipeline.connect("retriever.documents", "reader.documents")
    return pipeline


def load_query_pipeline(yaml_file: Path, model: str | None) -> Pipeline:
    """The query pipeline from Haystack YAML; ``model`` replaces the reader's (Haystack's pre-init callback)."""

    def use_model(name: str, component_class: type, init_parameters: dict[str, Any]) -> None:
        if name == "reader" and model is not None:
            init_parameters["model"] = model

    callbacks = DeserializationCallbacks(component_pre_init=use_model)
    return Pipeline.loads(yaml_file.read_text(encoding="utf-8"), callbacks=callbacks, allowed_modules=[ALLOWED_MODULE])


def ask(pipeline: Pipeline, question: str) -> list[ExtractedAnswer]:
    answers: list[ExtractedAnswer] = pipeline.run({"retriever": {"query": question}, "reader": {"query": question}})[
        "reader"
    ]["answers"]
    return answers


def main(argv: list[str] | None = None) -> list[ExtractedAnswer]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default="Who started the Yuan dynasty?")
    parser.add_argument("--data", type=Path, default=ARTICLES, help="folder of .txt files to index")
    parser.add_argument("--store", type=Path, default=Path(".store/haystack"), help="where the store is saved")
    parser.add_argument(
        "--model", default=None, help=f"reader model: hub id or local directory ({DEFAULT_READER_MODEL})"
    )
    parser.add_argument("--yaml", type=Path, help="load the query pipeline from this Haystack YAML file")
    parser.add_argument("--dump", type=Path, help="write the query pipeline to this Haystack YAML file")
    args = parser.parse_args(argv)

    store = index(args.data, args.store)
    print(f"indexed {store.count_documents()} passages from {args.data} into {args.store}")
    if args.yaml is not None:
        pipeline = load_query_pipeline(args.yaml, args.model)
    else:
        pipeline = query_pipeline(args.store, args.model or DEFAULT_READER_MODEL)
    if args.dump is not None:
        args.dump.write_text(pipeline.dumps(), encoding="utf-8")
    answers = ask(pipeline, args.question)
    print(f"Q: {args.question}")
    for answer in answers:
        source = Path(answer.document.meta.get("file_path", "")).name if answer.document is not None else ""
        page = f" p.{answer.meta['answer_page_number']}" if "answer_page_number" in answer.meta else ""
        print(f"  {answer.score:.3f}  {answer.data if answer.data is not None else '(no answer)'}  {source}{page}")
    return answers


if __name__ == "__main__":
    main()
