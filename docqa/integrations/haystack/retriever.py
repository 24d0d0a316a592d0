"""What docqa's Haystack retrievers share: a docqa retriever over an adapter's store, Haystack's filter policy."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, TypeVar

from haystack import default_from_dict
from haystack.core.serialization import generate_qualified_class_name
from haystack.document_stores.types import FilterPolicy
from haystack.document_stores.types.filter_policy import apply_filter_policy

from docqa.integrations.haystack.document_store import DocqaDocumentStore, translated_errors
from docqa.integrations.haystack.documents import to_haystack
from docqa.integrations.haystack.serialization import Configured, keyword

R = TypeVar("R", bound="DocqaRetriever")
_PACKAGE = __name__.rsplit(".", 1)[0]

#: The parameters every retriever here adds to its docqa retriever's: how run-time filters combine with init ones.
FILTER_POLICY = keyword("filter_policy", FilterPolicy.REPLACE, "FilterPolicy | str")
#: The store parameter, an adapter here instead of a docqa store.
DOCUMENT_STORE = inspect.Parameter(
    "document_store", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="DocqaDocumentStore"
)


class DocqaRetriever(Configured):
    """A Haystack retriever running a docqa retriever (``retriever``) on the docqa store of ``document_store``.

    ``filter_policy`` is Haystack's: ``"replace"`` (run-time filters replace the init ones) or ``"merge"`` (both
    apply, joined with AND).
    """

    def _setup(self, docqa_class: type, settings: dict[str, Any]) -> None:
        store = settings.pop("document_store")
        if not isinstance(store, DocqaDocumentStore):
            raise ValueError(
                f"{type(self).__name__}: document_store must be a docqa store from docqa.integrations.haystack "
                f"(InMemoryDocumentStore, PostgresDocumentStore), got {type(store).__name__}"
            )
        policy = settings.pop("filter_policy")
        self.filter_policy = FilterPolicy.from_str(policy) if isinstance(policy, str) else FilterPolicy(policy)
        self.document_store = store
        self.retriever = docqa_class(store.store, **settings)

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Build a retriever from ``to_dict``'s output. Its docqa store is built here, so that calling this class's
        ``from_dict`` (which trusts docqa) needs no allowlist entry for the store's module; any other store type goes
        through Haystack's deserialization and its allowlist."""
        params = dict(data.get("init_parameters", {}))
        store = params.get("document_store")
        if isinstance(store, dict) and (store_class := _docqa_store_class(store.get("type"))) is not None:
            params["document_store"] = store_class.from_dict(store)
        return default_from_dict(cls, {**data, "init_parameters": params})

    def warm_up(self) -> None:
        """Prepare the docqa retriever (e.g. precompute BM25 scores); queries do it lazily otherwise."""
        self.retriever.warm_up()

    def _retrieve(self, query: Any, filters: dict[str, Any] | None, top_k: int | None) -> dict[str, Any]:
        combined = apply_filter_policy(self.filter_policy, self.retriever.filters, filters)
        with translated_errors():
            found = self.retriever.run(query, top_k=top_k, filters=combined)["documents"]
        return {"documents": [to_haystack(document) for document in found]}


def _docqa_store_class(type_name: Any) -> type[DocqaDocumentStore] | None:
    """The store class of this package that ``type_name`` names (its module imported), else None."""
    if not isinstance(type_name, str) or not type_name.startswith(f"{_PACKAGE}."):
        return None
    try:
        importlib.import_module(type_name.rsplit(".", 1)[0])
    except ImportError:
        return None
    pending = [DocqaDocumentStore]
    while pending:
        store_class = pending.pop()
        if generate_qualified_class_name(store_class) == type_name:
            return store_class
        pending += store_class.__subclasses__()
    return None
