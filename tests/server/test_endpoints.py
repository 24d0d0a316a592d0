"""Every endpoint of a real `docqa serve` over HTTP, answered by the real small reader."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import JOHN, READER, Server

from docqa.fill_mask import FillMask
from docqa.formats import answer_score_request, parse_score_request
from docqa.readers import ExtractiveReader

CARD = {
    "input_data": {
        "question": ["What is my name?", "Where do I live?"],
        "context": ["My name is John and I live in Seattle.", "My name is Ravi and I live in Hyderabad."],
    }
}
ANSWER_KEYS = {
    "text", "no_answer", "score", "probability", "document_id", "source_id", "start", "end",
    "passage_start", "passage_end", "passage", "meta",
}  # fmt: skip


@pytest.fixture(scope="module")
def client(live_server: Server) -> httpx.Client:
    return live_server.client()


@pytest.fixture(scope="module")
def local_reader() -> ExtractiveReader:
    reader = ExtractiveReader(model=str(READER))
    reader.warm_up()
    return reader


def test_health_ready_info(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True and ready.json()["loading"] == []
    info = client.get("/info").json()
    assert info["writes_allowed"] is True and info["max_upload_bytes"] == 10 * 1024 * 1024
    assert info["api_key_required_for_writes"] is False and info["api_key_required_for_reads"] is False


def test_model_card_sample_in_azureml_and_hugging_face_styles(client: httpx.Client) -> None:
    azure = client.post("/score", json=CARD)
    assert azure.status_code == 200, azure.text
    assert [(r["answer"], r["start"], r["end"]) for r in azure.json()] == [("John", 11, 15), ("Hyderabad", 30, 39)]
    hugging_face = client.post("/score", json={"inputs": CARD["input_data"]})
    assert hugging_face.json() == azure.json()
    keyed = client.post("/score", json={**CARD, "params": {"response_format": "keyed"}})
    assert keyed.json() == [{"0": "John"}, {"0": "Hyderabad"}]


def test_score_equals_the_formats_module_in_process(client: httpx.Client, local_reader: ExtractiveReader) -> None:
    body = {"inputs": {"question": "Where do I live?", "context": JOHN}, "parameters": {"top_k": 3}}
    expected = answer_score_request(parse_score_request(body), reader=local_reader)
    found = client.post("/score", json=body).json()
    assert [(r["answer"], r["start"], r["end"]) for r in found] == [
        (r["answer"], r["start"], r["end"]) for r in expected
    ]
    assert [r["score"] for r in found] == pytest.approx([r["score"] for r in expected], abs=1e-5)


def test_fill_mask_score_equals_the_component(client: httpx.Client, masked_lm_dir: Path) -> None:
    body = {"inputs": ["Paris is the [MASK] of France.", "The [MASK] barked."], "parameters": {"top_k": 3}}
    expected = answer_score_request(parse_score_request(body), fill_mask=FillMask(model=str(masked_lm_dir)))
    found = client.post("/score", json=body)
    assert found.status_code == 200, found.text
    assert [[p["token_str"] for p in text] for text in found.json()] == [[p["token_str"] for p in t] for t in expected]
    assert found.json()[0][0]["score"] == pytest.approx(expected[0][0]["score"], abs=1e-5)


PRIYA = "My name is Priya and I live in Thiruvananthapuram, near the sea."


@pytest.mark.parametrize("align", [False, True])
def test_align_to_words_is_honoured(client: httpx.Client, local_reader: ExtractiveReader, align: bool) -> None:
    """Two-token answers of a word of seven WordPiece tokens: raw offsets cut it, aligned ones do not."""
    body = {"inputs": {"question": "Where do I live?", "context": PRIYA},
            "parameters": {"max_answer_len": 2, "top_k": 3, "align_to_words": align}}  # fmt: skip
    found = client.post("/score", json=body).json()
    expected = answer_score_request(parse_score_request(body), reader=local_reader)
    assert [(r["answer"], r["start"], r["end"]) for r in found] == [
        (r["answer"], r["start"], r["end"]) for r in expected
    ]
    cut = [r for r in found if PRIYA[r["start"] - 1].isalnum() or PRIYA[r["end"]].isalnum()]
    assert bool(cut) != align, found


def test_bad_score_request_is_422_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/score", json={"input_data": {"question": ["a", "b"], "context": ["c"]}})
    assert response.status_code == 422
    assert "question has 2 items but context has 1" in response.json()["detail"]
    assert response.json()["errors"]


def test_query_answers_with_offsets_into_the_source(client: httpx.Client) -> None:
    response = client.post("/query", json={"query": "Where does John live?", "top_k": 2, "include_documents": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == "Where does John live?" and body["documents"]
    spans = [a for a in body["answers"] if not a["no_answer"]]
    assert spans and all(set(a) == ANSWER_KEYS for a in body["answers"])
    best = spans[0]
    assert best["text"] == "Hyderabad" and (best["start"], best["end"]) == (30, 39)
    assert best["passage"]["content"][best["passage_start"] : best["passage_end"]] == "Hyderabad"
    assert best["passage"]["meta"]["file_name"] == "john.txt" and best["document_id"] == best["passage"]["id"]
    no_answer = [a for a in body["answers"] if a["no_answer"]]
    assert len(no_answer) == 1 and no_answer[0]["text"] is None and no_answer[0]["passage"] is None


def test_query_documents_only_when_asked(client: httpx.Client) -> None:
    assert client.post("/query", json={"query": "capital of France"}).json()["documents"] == []


def test_batched_queries_equal_single_ones(client: httpx.Client) -> None:
    queries = ["Where does John live?", "What is the capital of France?"]
    batched = client.post("/query", json={"queries": queries, "top_k": 1}).json()["results"]
    singles = [client.post("/query", json={"query": q, "top_k": 1}).json() for q in queries]
    assert [r["query"] for r in batched] == queries
    for one, alone in zip(batched, singles, strict=True):
        assert [a["text"] for a in one["answers"]] == [a["text"] for a in alone["answers"]]
        assert [a["probability"] for a in one["answers"]] == pytest.approx([a["probability"] for a in alone["answers"]])


def test_query_with_filters(client: httpx.Client) -> None:
    filters = {"field": "meta.file_name", "operator": "==", "value": "paris.txt"}
    body = client.post("/query", json={"query": "Where does John live?", "filters": filters, "include_documents": True})
    assert {d["meta"]["file_name"] for d in body.json()["documents"]} <= {"paris.txt"}
    bad = client.post("/query", json={"query": "x", "filters": {"field": "meta.a", "operator": "~~", "value": 1}})
    assert bad.status_code == 422 and "~~" in bad.json()["detail"]


def _count(client: httpx.Client) -> int:
    return int(client.get("/documents/count").json()["count"])


def test_document_write_search_delete_cycle(client: httpx.Client) -> None:
    before = _count(client)
    docs = [{"content": "Lisbon is the capital of Portugal.", "meta": {"topic": "cycle"}, "id": "cyc-1"},
            {"content": "Madrid is the capital of Spain.", "meta": {"topic": "cycle"}, "id": "cyc-2"}]  # fmt: skip
    assert client.post("/documents", json={"documents": docs}).json() == {"written": 2, "skipped": []}
    assert client.post("/documents", json={"documents": docs}).json()["written"] == 0  # skip policy
    duplicate = client.post("/documents", json={"documents": docs[:1], "policy": "fail"})
    assert duplicate.status_code == 409 and "cyc-1" in duplicate.json()["detail"]
    assert client.post("/documents", json={"documents": docs[:1], "policy": "overwrite"}).json()["written"] == 1
    assert _count(client) == before + 2
    filters = {"field": "meta.topic", "operator": "==", "value": "cycle"}
    found = client.post("/documents/search", json={"filters": filters}).json()["documents"]
    assert sorted(d["id"] for d in found) == ["cyc-1", "cyc-2"]
    assert len(client.post("/documents/search", json={"filters": filters, "top_k": 1}).json()["documents"]) == 1
    assert len(client.post("/documents/search", json={"filters": filters, "limit": 1}).json()["documents"]) == 1
    answer = client.post("/query", json={"query": "What is the capital of Portugal?", "top_k": 1}).json()
    assert answer["answers"][0]["document_id"] in {"cyc-1", None}
    assert client.request("DELETE", "/documents", json={"ids": ["cyc-1", "nope"]}).json() == {"deleted": 1}
    assert client.request("DELETE", "/documents", json={"filters": filters}).json() == {"deleted": 1}
    assert _count(client) == before


def test_upload_files_converted_and_split(client: httpx.Client) -> None:
    before = _count(client)
    files = [
        ("files", ("notes.md", b"# Notes\n\nThe Danube flows into the Black Sea.\n", "text/markdown")),
        ("files", ("bad.txt", b"\xff\xfe\x00 not utf-8 \xc3", "text/plain")),
        ("files", ("page.html", b"<html><body><p>Vienna lies on the Danube.</p></body></html>", "text/html")),
    ]
    response = client.post("/documents", files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["written"] >= 2 and [s["file"] for s in body["skipped"]] == ["bad.txt"]
    assert _count(client) == before + body["written"]
    found = client.post(
        "/documents/search", json={"filters": {"field": "meta.file_name", "operator": "==", "value": "notes.md"}}
    )
    passage = found.json()["documents"][0]
    assert "Danube" in passage["content"] and passage["meta"]["file_path"] == "notes.md"
    assert "source_start" in passage["meta"]


def test_errors_are_one_line_json(client: httpx.Client) -> None:
    missing = client.post("/query", json={"top_k": 2})
    assert missing.status_code == 422 and "exactly one of 'query' and 'queries'" in missing.json()["detail"]
    extra = client.post("/query", json={"query": "x", "topk": 2})
    assert extra.status_code == 422 and extra.json()["errors"][0] == {"loc": "body.topk", "msg": "unknown field"}
    unknown = client.get("/nowhere")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Not Found"}
    none = client.request("DELETE", "/documents", json={})
    assert none.status_code == 422 and "exactly one of 'ids', 'filters' and 'all'" in none.json()["detail"]


@pytest.mark.parametrize("path", ["/query", "/score", "/documents", "/documents/search"])
def test_truncated_json_is_400_in_one_readable_line(client: httpx.Client, path: str) -> None:
    cut = b'{"query": "Where does John live?", "top_k": 2'
    response = client.post(path, content=cut, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": f"body: not valid JSON (Expecting ',' delimiter at line 1, column {len(cut) + 1})"
    }


def test_empty_content_and_empty_filters_are_refused(client: httpx.Client) -> None:
    before = _count(client)
    documents = {"documents": [{"content": "A fine passage."}, {"content": "  "}]}
    empty = client.post("/documents", json=documents)
    assert empty.status_code == 422 and empty.json()["errors"] == [
        {"loc": "body.documents[1].content", "msg": "must be a non-empty string"}
    ]
    everything = client.request("DELETE", "/documents", json={"filters": {}})
    assert everything.status_code == 422, everything.text
    assert 'to delete them all, send {"all": true}' in everything.json()["detail"]
    assert _count(client) == before  # nothing written, nothing deleted


def test_a_64_mib_body_reads_a_413(live_server: Server) -> None:
    """The server reads a refused body to its end before answering: a client still sending gets the 413, not a
    reset connection (http.client sends the whole body before it reads the answer)."""
    address = httpx.URL(live_server.url)
    connection = http.client.HTTPConnection(address.host, address.port, timeout=120)
    try:
        connection.request(
            "POST", "/score", body=b"x" * (64 * 1024 * 1024), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["detail"].endswith("exceeds the limit of 10485760 bytes (--max-body-bytes)")
    finally:
        connection.close()


def test_metrics_in_prometheus_text(client: httpx.Client) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    client.post("/score", json=CARD)
    families = {family.name: family for family in text_string_to_metric_families(client.get("/metrics").text)}
    assert {"docqa_requests", "docqa_request_seconds", "docqa_batch_size", "docqa_queue_depth"} <= set(families)
    score_requests = [
        s.value
        for s in families["docqa_requests"].samples
        if s.labels.get("route") == "/score" and s.name.endswith("_total")
    ]
    assert score_requests and score_requests[0] >= 1


def test_metrics_name_the_routes_of_the_docs(client: httpx.Client) -> None:
    for path in ("/docs", "/openapi.json", "/static-offline-docs/swagger-ui.css", "/nowhere"):
        client.get(path)
    text = client.get("/metrics").text
    for route in ("/docs", "/openapi.json", "/static-offline-docs", "unmatched"):
        assert f'docqa_requests_total{{method="GET",route="{route}",status=' in text, route


def test_openapi_is_typed(client: httpx.Client) -> None:
    schema: dict[str, Any] = client.get("/openapi.json").json()
    assert {"/query", "/score", "/documents", "/documents/search", "/documents/count", "/ready"} <= set(schema["paths"])
    score = schema["paths"]["/score"]["post"]
    request = score["requestBody"]["content"]["application/json"]["schema"]
    assert _refs(request) == {"QARequest", "FillMaskRequest"}  # the union of the formats
    answers = score["responses"]["200"]["content"]["application/json"]["schema"]
    assert _refs(answers) == {"QAAnswer", "FillMaskPrediction"}  # the responses per format
    assert {"score", "start", "end", "answer"} == set(schema["components"]["schemas"]["QAAnswer"]["properties"])
    query = schema["paths"]["/query"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert _refs(query) == {"QueryResult", "QueryResults"}
    assert "all" in schema["components"]["schemas"]["DeleteRequest"]["properties"]
    assert "top_k" in schema["components"]["schemas"]["SearchRequest"]["properties"]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        return found.union(*(_refs(value) for value in node.values()))
    return set().union(*(_refs(item) for item in node)) if isinstance(node, list) else set()


def test_docs_page_takes_everything_from_this_server(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    linked = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert linked and all(link.startswith("/") for link in linked), linked  # no external host
    for link in linked:
        assert client.get(link).status_code == 200, link
