"""Which classes a pipeline file may name, and how a name becomes a class, without importing anything else.

A ``type`` in a pipeline file is resolved in this order:

1. a built-in name (:data:`BUILTIN_COMPONENTS`, :data:`BUILTIN_DOCUMENT_STORES`): a static table of
   ``"module:Class"`` strings; only the module of the named type is imported, so a BM25 pipeline never
   imports torch;
2. a plugin: an entry point of group ``docqa.components`` (in a package's ``pyproject.toml``:
   ``[project.entry-points."docqa.components"] MyRanker = "my_pkg.rankers:MyRanker"``); only the entry point
   that is named is loaded. Built-in names win over plugins of the same name;
3. a dotted path ``pkg.mod.Class``, only if ``pkg.mod`` is *exactly* one of the ``allowed_modules`` the
   caller passes. Anything else (``os.system``, ``subprocess.Popen``, ``builtins.eval``) is refused before
   any import.

The class found must be a docqa component (or, for ``document_stores``, a class that is not a component).

>>> resolve_type("BM25Retriever").__name__
'BM25Retriever'
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import Literal

from docqa.core.component import is_component
from docqa.errors import PipelineError

ENTRY_POINT_GROUP = "docqa.components"

BUILTIN_COMPONENTS: Mapping[str, str] = MappingProxyType(
    {
        "BM25Retriever": "docqa.retrievers.bm25_retriever:BM25Retriever",
        "EmbeddingRetriever": "docqa.retrievers.embedding_retriever:EmbeddingRetriever",
        "DocumentSplitter": "docqa.preprocessors.document_splitter:DocumentSplitter",
        "FileConverter": "docqa.converters.file_converter:FileConverter",
        "ExtractiveReader": "docqa.readers.extractive_reader:ExtractiveReader",
        "SentenceTransformersDocumentEmbedder": (
            "docqa.embedders.sentence_transformers_document_embedder:SentenceTransformersDocumentEmbedder"
        ),
        "SentenceTransformersTextEmbedder": (
            "docqa.embedders.sentence_transformers_text_embedder:SentenceTransformersTextEmbedder"
        ),
        "DocumentJoiner": "docqa.joiners.document_joiner:DocumentJoiner",
        "CrossEncoderRanker": "docqa.rankers.cross_encoder_ranker:CrossEncoderRanker",
        "DocumentWriter": "docqa.writers.document_writer:DocumentWriter",
        "FillMask": "docqa.fill_mask.fill_mask:FillMask",
    }
)

BUILTIN_DOCUMENT_STORES: Mapping[str, str] = MappingProxyType(
    {
        "InMemoryDocumentStore": "docqa.document_stores.in_memory:InMemoryDocumentStore",
        "PostgresDocumentStore": "docqa.document_stores.postgres.store:PostgresDocumentStore",
    }
)

Kind = Literal["component", "document store"]


def _builtins(kind: Kind) -> Mapping[str, str]:
    return BUILTIN_COMPONENTS if kind == "component" else BUILTIN_DOCUMENT_STORES


def plugin_entry_points() -> dict[str, EntryPoint]:
    """Installed plugins by name (not loaded); the first of duplicate names wins."""
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    return found


def known_types(kind: Kind = "component") -> list[str]:
    """Names a pipeline file may use as ``type`` without ``allowed_modules``."""
    plugins = [name for name in plugin_entry_points() if name not in BUILTIN_COMPONENTS]
    plugins = [name for name in plugins if name not in BUILTIN_DOCUMENT_STORES]
    return [*_builtins(kind), *sorted(plugins)]


def _import(name: str, target: str) -> type:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise PipelineError(f"type '{name}' needs module {module_name}, which cannot be imported: {err}") from err
    try:
        loaded: type = getattr(module, attribute)
    except AttributeError:
        raise PipelineError(f"type '{name}': module {module_name} has no attribute '{attribute}'") from None
    return loaded


def _load_class(name: str, kind: Kind, allowed_modules: Collection[str]) -> type:
    if name in _builtins(kind):
        return _import(name, _builtins(kind)[name])
    plugins = plugin_entry_points()
    if name in plugins and name not in BUILTIN_COMPONENTS and name not in BUILTIN_DOCUMENT_STORES:
        try:
            plugin: type = plugins[name].load()
            return plugin
        except Exception as err:
            raise PipelineError(f"plugin type '{name}' ({plugins[name].value}) failed to load: {err}") from err
    module_name, dot, attribute = name.rpartition(".")
    if not dot:
        raise PipelineError(f"unknown {kind} type '{name}'; known types: {', '.join(known_types(kind))}")
    if module_name not in allowed_modules:
        raise PipelineError(
            f"{kind} type '{name}' is neither built in nor a plugin, and module '{module_name}' is not in "
            f"allowed_modules (on the command line: --allow-module {module_name}); "
            f"known types: {', '.join(known_types(kind))}"
        )
    return _import(name, f"{module_name}:{attribute}")


def resolve_type(name: object, kind: Kind = "component", allowed_modules: Collection[str] = ()) -> type:
    """The class a pipeline file's ``type`` names (resolution rules in the module documentation)."""
    if not isinstance(name, str) or not name:
        raise PipelineError(f"{kind} type must be a non-empty string, not {name!r}")
    if isinstance(allowed_modules, str):
        raise PipelineError("allowed_modules must be a collection of module names, not a string")
    cls = _load_class(name, kind, allowed_modules)
    if not isinstance(cls, type):
        raise PipelineError(f"{kind} type '{name}' is not a class")
    if kind == "component" and not is_component(cls):
        raise PipelineError(f"type '{name}' is not a docqa component (its class must be decorated with @component)")
    if kind == "document store" and is_component(cls):
        raise PipelineError(f"type '{name}' is a component, not a document store")
    return cls


def type_name(cls: type) -> str:
    """The ``type`` to write for ``cls``: its built-in or plugin name, else its dotted path."""
    target = f"{cls.__module__}:{cls.__qualname__}"
    for table in (BUILTIN_COMPONENTS, BUILTIN_DOCUMENT_STORES):
        for name, value in table.items():
            if value == target:
                return name
    for name, entry_point in plugin_entry_points().items():
        if entry_point.value.replace(" ", "") == target:
            return name
    if "<locals>" in cls.__qualname__ or "." in cls.__qualname__ or cls.__module__ == "__main__":
        raise PipelineError(
            f"{cls.__qualname__} cannot be written to a pipeline file: define it at the top level of an "
            "importable module (not in a function or __main__) or register it as a plugin"
        )
    return f"{cls.__module__}.{cls.__qualname__}"
