"""/query's ``group_by`` and its answers' ``sources``, over a real ``docqa serve`` whose ``--store`` is a PostgreSQL
DSN, against the same pipeline run in this process on the same table (the library is the oracle of the server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import READER, Server, start_server
from shared_assets import throwaway_postgres

from docqa.answers import answer_json
from docqa.document_stores.opening import open_document_store
from docqa.pipelines import ExtractiveQAPipeline
from docqa.schema import Document

DOCUMENTS = [  # the same answer in three files: one answer per place by span, one answer by text
    Document("Warsaw stands on the Vistula. It is the capital of Poland.", {"file_name": "a.txt"}),
    Document("Like Krakow, Warsaw stands on the Vistula.", {"file_name": "b.txt"}),
    Document("The old town of Warsaw stands on the Vistula.", {"file_name": "c.txt"}),
]
QUESTION = "On what river does Warsaw stand?"


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    postgres = throwaway_postgres()
    address = next(postgres)
    store = open_document_store(address)
    store.write_documents(DOCUMENTS)
    store.close()  # type: ignore[attr-defined]
    yield address
    postgres.close()  # stops the server


@pytest.fixture(scope="module")
def server(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = start_server(tmp_path_factory.mktemp("pg-served"), "--store", dsn, "--model", str(READER))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def local(dsn: str) -> Iterator[ExtractiveQAPipeline]:
    store = open_document_store(dsn)
    yield ExtractiveQAPipeline.bm25(store, model=str(READER), retriever_top_k=10)
    store.close()  # type: ignore[attr-defined]


def essentials(answer: dict[str, Any]) -> tuple[Any, ...]:
    places = [(s["document_id"], s["source_span"]["start"], s["source_span"]["end"]) for s in answer["sources"]]
    return answer["text"], answer["source_span"], places


def query(server: Server, **body: Any) -> list[dict[str, Any]]:
    response = httpx.post(server.url + "/query", json={"query": QUESTION, "top_k": 5, **body}, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json()["answers"])


@pytest.mark.parametrize("group_by", ["span", "text"])
def test_query_answers_as_the_library_does(server: Server, local: ExtractiveQAPipeline, group_by: str) -> None:
    served = query(server, group_by=group_by)
    expected = [answer_json(a) for a in local.run(QUESTION, top_k_reader=5, group_by=group_by)["answers"]]
    assert [essentials(a) for a in served] == [essentials(a) for a in expected]
    assert [a["probability"] for a in served] == pytest.approx([a["probability"] for a in expected], abs=1e-5)
    for answer in served:  # the 0.1 keys stay, equal to the spans
        span = answer["source_span"] or {"start": None, "end": None}
        assert (answer["start"], answer["end"]) == (span["start"], span["end"])


def test_text_grouping_lists_every_place_and_is_the_served_default(server: Server) -> None:
    by_span = [a["text"] for a in query(server, group_by="span") if not a["no_answer"]]
    by_text = query(server, group_by="text")
    texts = [a["text"] for a in by_text if not a["no_answer"]]
    assert len(by_span) > len(set(by_span)), by_span  # the same text found at several places...
    assert len(texts) == len(set(texts))  # ...is one answer when grouped by text
    best = next(a for a in by_text if not a["no_answer"])
    assert len({s["document_id"] for s in best["sources"]}) >= 2, best["sources"]
    assert sum(s["probability"] for s in best["sources"]) == pytest.approx(best["probability"], abs=1e-6)
    assert [essentials(a) for a in query(server)] == [essentials(a) for a in by_text]
    bad = httpx.post(server.url + "/query", json={"query": QUESTION, "group_by": "word"}, timeout=60)
    assert bad.status_code == 422 and "group_by" in bad.text


def test_writes_reach_the_postgresql_table(server: Server, dsn: str) -> None:
    written = httpx.post(
        server.url + "/documents", json={"documents": [{"content": "Gdansk lies at the mouth of the Vistula."}]}
    )
    assert written.status_code == 200, written.text
    store = open_document_store(dsn)
    try:
        assert store.count_documents() == len(DOCUMENTS) + 1
    finally:
        store.close()  # type: ignore[attr-defined]


def test_a_dsn_naming_an_unset_variable_stops_serve_at_start(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from docqa.cli import app

    result = CliRunner().invoke(app, ["serve", "--store", "env:DOCQA_SURELY_UNSET_DSN"])
    assert result.exit_code != 0 and "DOCQA_SURELY_UNSET_DSN" in result.output and "Traceback" not in result.output
