"""Fixtures of the Haystack integration tests: the shared real reader, and Haystack stores on fresh tables of the
session's throwaway PostgreSQL (``pg_dsn``, tests/conftest.py; the store contract suite uses the same server)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from shared_assets import SHARED_DIR

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # before haystack is imported: no telemetry thread

SHARED_READER = SHARED_DIR / "models" / "minilm-l6-squad2-half12"
_tables = itertools.count()


@pytest.fixture(scope="session")
def shared_reader() -> str:
    """The small real SQuAD 2.0 reader of ../shared (answers the model card's John / Hyderabad sample)."""
    if not (SHARED_READER / "config.json").is_file():
        raise RuntimeError(f"the shared reader is missing: expected it at {SHARED_READER}")
    return str(SHARED_READER)


@pytest.fixture
def make_haystack_pg_store(pg_dsn: str) -> Iterator[Callable[..., Any]]:
    """Build Haystack PostgresDocumentStores on fresh tables of the session's server (closed after the test)."""
    from docqa.integrations.haystack import PostgresDocumentStore

    opened: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("dsn", pg_dsn)
        options.setdefault("table", f"haystack_{next(_tables)}")
        store = PostgresDocumentStore(**options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
