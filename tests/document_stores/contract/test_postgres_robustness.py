"""PostgreSQL-only guarantees: concurrent writers, inert injection attempts, connection loss, schema checks, DSNs."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import psycopg
import pytest

from docqa.core.pipeline import Pipeline
from docqa.document_stores.base import DuplicatePolicy
from docqa.document_stores.postgres import PostgresDocumentStore, redact_dsn
from docqa.errors import DocumentStoreError
from docqa.retrievers.bm25_retriever import BM25Retriever
from docqa.schema import Document


def test_two_skip_writers_on_the_same_ids(make_pg_store: Any) -> None:
    first, second = make_pg_store(), make_pg_store()
    docs = [Document(f"passage {i}", id=f"p{i}") for i in range(400)]
    written: list[int] = []
    errors: list[BaseException] = []

    def write(store: PostgresDocumentStore, batch: list[Document]) -> None:
        try:
            written.append(store.write_documents(batch, policy=DuplicatePolicy.SKIP))
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    threads = [
        threading.Thread(target=write, args=(first, docs)),
        threading.Thread(target=write, args=(second, docs[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(written) == [0, 400]
    assert first.count_documents() == 400


@pytest.mark.parametrize(
    "value",
    ["x'; DROP TABLE {t}; --", 'x") OR 1=1 --', ["a'); DELETE FROM {t}; --"], {"k": "'; TRUNCATE {t}; --"}],
)
def test_injection_through_values_is_inert(make_pg_store: Any, value: Any) -> None:
    store = make_pg_store()
    store.write_documents([Document("safe", meta={"k": "v"})])
    value = _with_table(value, store.table)
    operator = "in" if isinstance(value, list) else "=="
    assert store.filter_documents({"field": "meta.k", "operator": operator, "value": value}) == []
    assert store.keyword_retrieval(f"safe'; DROP TABLE {store.table}; --")[0].content == "safe"
    assert store.count_documents() == 1


@pytest.mark.parametrize("field", ["meta.k'; DROP TABLE {t}; --", "meta.k}') OR TRUE --", 'meta."k"'])
def test_injection_through_field_names_is_inert(make_pg_store: Any, field: str) -> None:
    store = make_pg_store()
    store.write_documents([Document("safe", meta={"k": "v"})])
    field = field.replace("{t}", store.table)
    assert store.filter_documents({"field": field, "operator": "==", "value": "v"}) == []
    assert len(store.filter_documents({"field": field, "operator": "==", "value": None})) == 1  # missing = None
    assert store.count_documents() == 1


def _with_table(value: Any, table: str) -> Any:
    if isinstance(value, str):
        return value.replace("{t}", table)
    if isinstance(value, list):
        return [_with_table(item, table) for item in value]
    return {key: _with_table(item, table) for key, item in value.items()}


def _slow_inserts(dsn: str, table: str) -> None:
    """A statement trigger that sleeps, so a write is reliably in progress when its connection is killed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE FUNCTION docqa_test_sleep() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$")  # fmt: skip
        conn.execute(
            f"CREATE TRIGGER slow BEFORE INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION docqa_test_sleep()"
        )


def _kill_writer_once(dsn: str, killed_pids: list[int]) -> threading.Thread:
    def kill() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for _ in range(200):
                killed = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO%%' "
                    "AND state = 'active' AND pid <> pg_backend_pid()"
                ).fetchall()
                if killed:
                    killed_pids.extend(row[0] for row in killed)
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


@pytest.mark.parametrize("retries", [0, 1])
def test_connection_lost_mid_write_is_never_half_written(pg_dsn: str, make_pg_store: Any, retries: int) -> None:
    store = make_pg_store(write_retries=retries)
    _slow_inserts(pg_dsn, store.table)
    docs = [Document(f"passage {i}", embedding=[1.0, float(i)]) for i in range(500)]
    killed: list[int] = []
    killer = _kill_writer_once(pg_dsn, killed)
    if retries == 0:
        with pytest.raises(DocumentStoreError, match="connection lost"):
            store.write_documents(docs)
        expected = 0
    else:
        assert store.write_documents(docs) == 500  # retried on a fresh connection, whole
        expected = 500
    killer.join()
    assert killed  # the write really lost its connection
    assert store.count_documents() == expected
    assert store.write_documents(docs[:1], policy=DuplicatePolicy.SKIP) == 1 - (expected > 0)  # the pool recovered


def test_filtered_hnsw_search_keeps_scanning_until_top_k(make_pg_store: Any) -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(3000, 8)).astype(np.float32)
    docs = [Document(f"d{i}", meta={"rare": i % 100 == 0}, embedding=vectors[i]) for i in range(3000)]
    store = make_pg_store(exact_search_below=0, ef_search=10)  # always HNSW: the index alone finds ~10 candidates
    store.write_documents(docs)
    hits = store.embedding_retrieval(rng.normal(size=8), top_k=10, filters={"field": "meta.rare", "operator": "==",
                                                                             "value": True})  # fmt: skip
    assert len(hits) == 10 and all(doc.meta["rare"] for doc in hits)  # pgvector #671/#721: not fewer rows


def test_schema_version_mismatch_is_one_clear_error(pg_dsn: str, make_pg_store: Any) -> None:
    store = make_pg_store()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE docqa_schema_versions SET schema_version = 99 WHERE table_name = %s", [store.table])
    with pytest.raises(DocumentStoreError, match="schema version 99"):
        make_pg_store()


def test_settings_mismatch_is_refused(make_pg_store: Any) -> None:
    make_pg_store(language="english")
    with pytest.raises(DocumentStoreError, match="language"):
        make_pg_store(language="german")
    with pytest.raises(DocumentStoreError, match="table"):
        make_pg_store(table="Robert'); DROP TABLE x; --")


def test_dsn_from_env_and_never_dumped_in_clear(pg_dsn: str, make_pg_store: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("DOCQA_PG_DSN", pg_dsn)
    store = PostgresDocumentStore("env:DOCQA_PG_DSN", table="envdsn")
    try:
        pipeline = Pipeline()
        pipeline.add_component("retriever", BM25Retriever(store))
        dumped = pipeline.dumps()
        assert "env:DOCQA_PG_DSN" in dumped and pg_dsn not in dumped
        assert Pipeline.loads(dumped).get_component("retriever").document_store.count_documents() == 0
    finally:
        store.close()
    assert redact_dsn("postgresql://bob:hunter2@db:5432/docs?sslmode=require") == (
        "postgresql://bob@db:5432/docs?sslmode=require"
    )
    assert "hunter2" not in redact_dsn("host=db user=bob password=hunter2 dbname=docs")
    monkeypatch.delenv("DOCQA_PG_DSN")
    with pytest.raises(DocumentStoreError, match="DOCQA_PG_DSN"):
        PostgresDocumentStore("env:DOCQA_PG_DSN")


def test_unreachable_server_is_one_line(tmp_path: Any) -> None:
    with pytest.raises(DocumentStoreError, match="PostgreSQL at postgresql://nobody@/x") as caught:
        PostgresDocumentStore(f"postgresql://nobody:pw@/x?host={tmp_path}")
    assert "pw" not in str(caught.value).replace("postgresql", "")


def _hnsw_index_oid(dsn: str, table: str) -> int | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)::oid", [f"{table}_hnsw_idx"]).fetchone()
    return None if row is None else row[0]


def test_bulk_writes_rebuild_the_hnsw_index_small_ones_update_it(pg_dsn: str, make_pg_store: Any) -> None:
    rng = np.random.default_rng(9)
    vectors = rng.normal(size=(400, 8)).astype(np.float32)
    docs = [Document(f"d{i}", embedding=vectors[i]) for i in range(400)]
    store = make_pg_store(bulk_rows=50, embedding_dim=8)
    created = _hnsw_index_oid(pg_dsn, store.table)
    store.write_documents(docs[:100])  # a bulk load into an empty table: dropped, built after the insert
    bulk = _hnsw_index_oid(pg_dsn, store.table)
    store.write_documents(docs[100:140])  # below bulk_rows: the index is updated in place
    small = _hnsw_index_oid(pg_dsn, store.table)
    store.write_documents(docs[140:200])  # 60 >= bulk_rows but fewer than the 140 stored: updated in place
    store.write_documents(docs[200:400])  # 200 >= the 200 stored: rebuilt
    rebuilt = _hnsw_index_oid(pg_dsn, store.table)
    assert None not in (created, bulk, small, rebuilt) and created != bulk == small != rebuilt
    for query in rng.normal(size=(5, 8)):
        approx = store.embedding_retrieval(query, top_k=5, exact=False)
        exact = store.embedding_retrieval(query, top_k=5, exact=True)
        assert [d.id for d in approx] == [d.id for d in exact]
