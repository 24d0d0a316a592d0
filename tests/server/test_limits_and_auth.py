"""Every limit (413 for the body, 422 naming the limit otherwise), API keys (401) and CORS, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Server, start_server, store_copy

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
LIMITS = ["--max-body-bytes", "4000", "--max-items", "2", "--max-query-chars", "50", "--max-context-chars", "300",
          "--max-top-k", "5", "--max-documents", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def limited(qa_store: Path, tiny_bert_qa_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limited")
    store = str(store_copy(qa_store, folder / "store"))
    server = start_server(
        folder, "--store", store, "--model", str(tiny_bert_qa_dir), *LIMITS, env={"DOCQA_API_KEY": KEY}
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(limited: Server) -> httpx.Client:
    return limited.client()


def _limit_error(response: httpx.Response, limit: str, loc: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert limit in body["detail"] and body["detail"].startswith(loc) and "\n" not in body["detail"]
    assert body["errors"][0]["loc"] == loc


def test_body_size_limit_is_413(client: httpx.Client) -> None:
    response = client.post("/query", json={"query": "x" * 5000})
    assert response.status_code == 413 and "4000 bytes" in response.json()["detail"]


def test_body_size_limit_without_content_length(limited: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = httpx.post(limited.url + "/query", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_items_and_length_limits_are_422_naming_the_limit(client: httpx.Client) -> None:
    _limit_error(client.post("/query", json={"queries": ["a", "b", "c"]}), "limit of 2 (--max-items)", "queries")
    _limit_error(client.post("/query", json={"query": "q" * 51}), "limit of 50 (--max-query-chars)", "query")
    _limit_error(client.post("/query", json={"queries": ["ok", "q" * 51]}), "--max-query-chars", "queries[1]")
    _limit_error(client.post("/query", json={"query": "ok", "top_k": 6}), "limit of 5 (--max-top-k)", "top_k")
    pairs = {"inputs": {"question": ["a", "b", "c"], "context": ["x", "y", "z"]}}
    _limit_error(client.post("/score", json=pairs), "--max-items", "inputs")
    long_context = {"inputs": {"question": "Who?", "context": "word " * 70}}
    _limit_error(client.post("/score", json=long_context), "limit of 300 (--max-context-chars)", "context[0]")
    long_question = {"inputs": {"question": "why " * 13, "context": "short"}}
    _limit_error(client.post("/score", json=long_question), "--max-query-chars", "question[0]")
    many = {"documents": [{"content": f"doc {i}"} for i in range(4)]}
    _limit_error(client.post("/documents", json=many, headers=AUTH), "limit of 3 (--max-documents)", "documents")
    long_doc = {"documents": [{"content": "y" * 301}]}
    _limit_error(client.post("/documents", json=long_doc, headers=AUTH), "--max-context-chars", "documents[0].content")
    _limit_error(client.post("/documents/search", json={"top_k": 4}), "--max-documents", "top_k")
    _limit_error(client.post("/documents/search", json={"limit": 4}), "--max-documents", "top_k")  # its old name


def test_limits_are_refused_before_anything_is_written(client: httpx.Client) -> None:
    before = client.get("/documents/count").json()["count"]
    client.post("/documents", json={"documents": [{"content": "ok"}, {"content": "z" * 301}]}, headers=AUTH)
    assert client.get("/documents/count").json()["count"] == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/documents", {"documents": [{"content": "needs a key"}]}),
        ("DELETE", "/documents", {"ids": ["x"]}),
    ],
)
def test_writes_need_the_key(client: httpx.Client, method: str, path: str, body: dict) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json() == {"detail": "missing or invalid API key"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.request(method, path, json=body, headers=AUTH).status_code == 200


def test_reads_are_open_without_api_key_for_reads(client: httpx.Client) -> None:
    assert client.get("/documents/count").status_code == 200
    assert client.post("/query", json={"query": "Where does John live?"}).status_code == 200
    info = client.get("/info").json()
    assert info["api_key_required_for_writes"] is True and info["api_key_required_for_reads"] is False
    assert info["max_upload_bytes"] == 4000


def test_api_key_for_reads_cors_and_read_only(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    store = str(store_copy(qa_store, tmp_path / "store"))
    server = serve("--store", store, "--model", str(tiny_bert_qa_dir), "--api-key", KEY, "--api-key-for-reads",
                   "--cors-origin", "http://app.example", "--read-only")  # fmt: skip
    client = server.client()
    for method, path in (("GET", "/documents/count"), ("POST", "/query"), ("POST", "/score"), ("GET", "/metrics")):
        response = client.request(method, path, json={"query": "x"} if method == "POST" else None)
        assert response.status_code == 401, (path, response.text)
    assert client.get("/documents/count", headers=AUTH).status_code == 200
    assert client.get("/health").status_code == 200 and client.get("/info").json()["api_key_required_for_reads"]
    allowed = client.options(
        "/query", headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://app.example"
    other = client.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    assert client.get("/info").json()["writes_allowed"] is False
    refused = client.post("/documents", json={"documents": [{"content": "no"}]}, headers=AUTH)
    assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
    assert client.post("/documents", json={"documents": [{"content": "no"}]}).status_code == 401  # key first


def test_cors_is_off_by_default(client: httpx.Client) -> None:
    response = client.get("/health", headers={"Origin": "http://app.example"})
    assert "access-control-allow-origin" not in response.headers
