"""``docqa index / search / ask --store`` with a PostgreSQL DSN: the same passages as a store directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from docqa.cli import app
from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.schema import Document

ARTICLES = Path(__file__).resolve().parents[3] / "data" / "articles"
runner = CliRunner()


@pytest.fixture
def env_dsn(pg_dsn: str, monkeypatch: Any) -> str:
    monkeypatch.setenv("DOCQA_PG_DSN", pg_dsn)
    return "env:DOCQA_PG_DSN"


def test_index_into_postgres_equals_the_directory_store(env_dsn: str, tmp_path: Path) -> None:
    files = [str(ARTICLES / "Normans.txt"), str(ARTICLES / "1973_oil_crisis.txt")]
    result = runner.invoke(app, ["index", *files, "--store", env_dsn, "--recreate", "--json"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["index", *files, "--store", str(tmp_path / "s")]).exit_code == 0
    expected = InMemoryDocumentStore.load(tmp_path / "s").filter_documents()
    assert json.loads(result.stdout)["documents_in_store"] == len(expected)
    again = runner.invoke(app, ["index", *files, "--store", env_dsn, "--json"])
    assert json.loads(again.stdout)["new_passages"] == 0  # SKIP: nothing twice

    found = runner.invoke(app, ["search", "Who ruled the duchy of Normandy?", "--store", env_dsn, "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)
    assert hits and {hit["id"] for hit in hits} <= {doc.id for doc in expected}
    assert hits[0]["meta"]["file_name"] == "Normans.txt"
    dense = runner.invoke(app, ["search", "x", "--store", env_dsn, "--mode", "dense"])
    assert dense.exit_code == 1 and "embedding" in dense.output  # indexed without --embed: one line, no traceback


def test_bad_dsn_is_one_line(monkeypatch: Any) -> None:
    monkeypatch.delenv("DOCQA_PG_DSN", raising=False)
    result = runner.invoke(app, ["search", "anything", "--store", "env:DOCQA_PG_DSN"])
    assert result.exit_code == 1
    assert "DOCQA_PG_DSN" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["search", "x", "--store", "postgresql://u:secret@/db?host=/nonexistent"])
    assert result.exit_code == 1 and "secret" not in result.output


def test_batch_retrieves_from_postgres_as_from_the_directory_store(
    env_dsn: str, tmp_path: Path, tiny_bert_qa_dir: Path
) -> None:
    """``docqa batch --store DSN``: questions without a context are answered from passages of the PostgreSQL store,
    pointing into the source file as answers from a store directory do."""
    files = [str(ARTICLES / "Normans.txt")]
    assert runner.invoke(app, ["index", *files, "--store", env_dsn, "--recreate"]).exit_code == 0
    assert runner.invoke(app, ["index", *files, "--store", str(tmp_path / "s")]).exit_code == 0
    questions = tmp_path / "q.jsonl"
    records = [{"id": "a", "question": "Who ruled the duchy of Normandy?"}, {"id": "b", "question": "Norse origin"}]
    questions.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    lines = {}
    for name, store in (("pg", env_dsn), ("dir", str(tmp_path / "s"))):
        out = tmp_path / f"{name}.jsonl"
        command = ["batch", str(questions), "--out", str(out), "--store", store, "--model", str(tiny_bert_qa_dir)]
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        lines[name] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines["pg"]] == ["a", "b"]
    assert all("error" not in line and line["document_id"] for line in lines["pg"]), lines["pg"]
    # the answers point into the same source file (its document id, offsets into its text) from either store
    assert [line["document_id"] for line in lines["pg"]] == [line["document_id"] for line in lines["dir"]]
    source = (ARTICLES / "Normans.txt").read_text(encoding="utf-8")
    assert all(source[line["start"] : line["end"]] == line["answer"] for line in lines["pg"])


def test_search_by_dsn_ranks_like_the_directory_store(env_dsn: str, tmp_path: Path) -> None:
    files = [str(ARTICLES / "Normans.txt"), str(ARTICLES / "Warsaw.txt")]
    assert runner.invoke(app, ["index", *files, "--store", env_dsn, "--recreate"]).exit_code == 0
    assert runner.invoke(app, ["index", *files, "--store", str(tmp_path / "s")]).exit_code == 0
    question = ["search", "Which river flows through Warsaw?", "-k", "8", "--json", "--store"]
    from_pg = json.loads(runner.invoke(app, [*question, env_dsn]).stdout)
    from_directory = json.loads(runner.invoke(app, [*question, str(tmp_path / "s")]).stdout)
    assert [hit["id"] for hit in from_pg] == [hit["id"] for hit in from_directory]  # BM25 in both, same scores
    assert [hit["score"] for hit in from_pg] == pytest.approx([hit["score"] for hit in from_directory], rel=1e-12)


def test_compact_upgrade_adds_bm25_postings_to_a_table_of_an_older_docqa(pg_dsn: str, env_dsn: str) -> None:
    import psycopg

    from docqa.document_stores.postgres import PostgresDocumentStore
    from docqa.errors import DocumentStoreError

    documents = [
        Document(f"passage {i} about {'rivers' if i % 3 else 'mountains'} and lakes", id=f"p{i}") for i in range(50)
    ]
    with PostgresDocumentStore(pg_dsn, table="from_v1") as store:
        store.write_documents(documents)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # the table as docqa before BM25 left it
        conn.execute("DROP TABLE from_v1_bm25, from_v1_bm25_terms, from_v1_bm25_stats")
        conn.execute("ALTER TABLE from_v1 DROP COLUMN bm25_len, DROP COLUMN bm25_terms")
        conn.execute(
            "UPDATE docqa_schema_versions SET schema_version = 1, analyzer = NULL WHERE table_name = 'from_v1'"
        )
    with pytest.raises(DocumentStoreError, match=r"schema version 1.*docqa compact --upgrade"):
        PostgresDocumentStore(pg_dsn, table="from_v1")
    result = runner.invoke(app, ["compact", "--upgrade", env_dsn, "--table", "from_v1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["documents indexed for BM25"] == 50
    memory = InMemoryDocumentStore()
    memory.write_documents(documents)
    with PostgresDocumentStore(pg_dsn, table="from_v1") as store:
        store.delete_documents(["p4"])  # and the statistics are kept from there on
        memory.delete_documents(["p4"])
        found = store.bm25_retrieval("mountains lakes passage 7", top_k=10)
        expected = memory.bm25_retrieval("mountains lakes passage 7", top_k=10)
        assert [d.id for d in found] == [d.id for d in expected]
        assert [d.score for d in found] == pytest.approx([d.score for d in expected], rel=1e-12)
    again = runner.invoke(app, ["compact", "--upgrade", env_dsn, "--table", "from_v1", "--json"])
    assert json.loads(again.stdout)["documents indexed for BM25"] == 0  # already current
