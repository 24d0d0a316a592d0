"""Fixtures of the Haystack integration tests: the shared real reader, and PostgreSQL started as the store contract
suite starts it (one throwaway server for this folder's whole session)."""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from shared_assets import SHARED_DIR

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # before haystack is imported: no telemetry thread

SHARED_READER = SHARED_DIR / "models" / "minilm-l6-squad2-half12"
_tables = itertools.count()
_CONTRACT_CONFTEST = Path(__file__).resolve().parents[2] / "document_stores" / "contract" / "conftest.py"


def _throwaway_postgres() -> Callable[[], Iterator[str]]:
    """The contract suite's ``throwaway_postgres`` (its conftest is not importable as a module by name)."""
    spec = importlib.util.spec_from_file_location("docqa_contract_conftest", _CONTRACT_CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.throwaway_postgres  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def shared_reader() -> str:
    """The small real SQuAD 2.0 reader of ../shared (answers the model card's John / Hyderabad sample)."""
    if not (SHARED_READER / "config.json").is_file():
        raise RuntimeError(f"the shared reader is missing: expected it at {SHARED_READER}")
    return str(SHARED_READER)


@pytest.fixture(scope="session")
def haystack_pg_dsn() -> Iterator[str]:
    """A throwaway PostgreSQL 18 + pgvector server for this folder's tests (stopped at the end of the session)."""
    yield from _throwaway_postgres()()


@pytest.fixture
def make_haystack_pg_store(haystack_pg_dsn: str) -> Iterator[Callable[..., Any]]:
    """Build Haystack PostgresDocumentStores on fresh tables of the session's server (closed after the test)."""
    from docqa.integrations.haystack import PostgresDocumentStore

    opened: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("dsn", haystack_pg_dsn)
        options.setdefault("table", f"haystack_{next(_tables)}")
        store = PostgresDocumentStore(**options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
