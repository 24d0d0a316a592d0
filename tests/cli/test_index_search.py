from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docqa.cli import app
from docqa.document_stores.in_memory import InMemoryDocumentStore

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTICLES = REPO_ROOT / "data" / "articles"

runner = CliRunner()


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("cli") / "store"
    result = runner.invoke(app, ["index", str(ARTICLES), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return store


def test_index_reports_files_and_passages(sample_store: Path) -> None:
    store = InMemoryDocumentStore.load(sample_store)
    passages = store.filter_documents()
    assert {p.meta["file_name"] for p in passages} == {path.name for path in ARTICLES.glob("*.txt")}
    assert store.count_documents() == len(passages) > 16


def test_passages_point_back_into_their_files(sample_store: Path) -> None:
    passages = InMemoryDocumentStore.load(sample_store).filter_documents()
    for passage in passages[:50]:
        source = (ARTICLES / passage.meta["file_name"]).read_text(encoding="utf-8")
        assert source[passage.meta["source_start"] : passage.meta["source_end"]] == passage.content


def test_indexing_the_same_files_again_adds_nothing(sample_store: Path, tmp_path: Path) -> None:
    before = InMemoryDocumentStore.load(sample_store).count_documents()
    result = runner.invoke(app, ["index", str(ARTICLES / "Normans.txt"), "--store", str(sample_store)])
    assert result.exit_code == 0, result.output
    assert "0 new" in result.output
    assert InMemoryDocumentStore.load(sample_store).count_documents() == before


def test_search_finds_the_article_the_question_is_about(sample_store: Path) -> None:
    result = runner.invoke(app, ["search", "Kublai Khan Yuan dynasty", "--store", str(sample_store), "--json"])
    assert result.exit_code == 0, result.output
    documents = json.loads(result.stdout)
    assert len(documents) == 5
    assert documents[0]["meta"]["file_name"] == "Yuan_dynasty.txt"
    scores = [d["score"] for d in documents]
    assert scores == sorted(scores, reverse=True)


def test_search_table_output(sample_store: Path) -> None:
    result = runner.invoke(app, ["search", "Normandy", "--store", str(sample_store), "-k", "2"])
    assert result.exit_code == 0, result.output
    assert "Normans.txt" in result.output


def test_search_with_filters(sample_store: Path) -> None:
    # "Kublai Khan" is in Yuan_dynasty.txt, "Newton" in Force.txt: the filter must keep only Force.txt's passages.
    query = ["search", "Kublai Khan Newton", "--store", str(sample_store), "--json"]
    unfiltered = runner.invoke(app, query)
    assert unfiltered.exit_code == 0, unfiltered.output
    assert "Yuan_dynasty.txt" in {d["meta"]["file_name"] for d in json.loads(unfiltered.stdout)}
    only_force = json.dumps({"field": "meta.file_name", "operator": "==", "value": "Force.txt"})
    result = runner.invoke(app, [*query, "--filters", only_force])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found and {d["meta"]["file_name"] for d in found} == {"Force.txt"}
    assert all("newton" in d["content"].lower() for d in found)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"field": "meta.year", "operator": "~=", "value": 1}', "~="),
    ],
)
def test_bad_filters_give_one_line(sample_store: Path, filters: str, expected: str) -> None:
    result = runner.invoke(app, ["search", "x", "--store", str(sample_store), "--filters", filters])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_empty_query_is_an_error(sample_store: Path) -> None:
    result = runner.invoke(app, ["search", "   ", "--store", str(sample_store)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output + result.stderr


def test_missing_store_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", "x", "--store", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "docqa index" in result.stderr


def test_corrupt_store_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "garbage").write_text("x")
    result = runner.invoke(app, ["search", "x", "--store", str(tmp_path / "store")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output + result.stderr


def test_one_bad_file_does_not_stop_the_rest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("The Loire flows through Orléans.", encoding="utf-8")
    (corpus / "latin1.txt").write_bytes("Orl\xe9ans".encode("latin-1"))
    (corpus / "empty.md").write_text("", encoding="utf-8")
    store = tmp_path / "store"
    result = runner.invoke(app, ["index", str(corpus), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "latin1.txt" in result.stderr and "empty.md" in result.stderr
    assert [d.content for d in InMemoryDocumentStore.load(store).filter_documents()] == [
        "The Loire flows through Orléans."
    ]


def test_nothing_indexable_writes_no_store(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    store = tmp_path / "store"
    result = runner.invoke(app, ["index", str(tmp_path / "bad.txt"), "--store", str(store)])
    assert result.exit_code == 1
    assert not store.exists()


@pytest.fixture(scope="module")
def embedded_store(tmp_path_factory: pytest.TempPathFactory, minilm_model: str) -> tuple[Path, str]:
    model = minilm_model
    corpus = tmp_path_factory.mktemp("embedded-corpus")
    (corpus / "rivers.txt").write_text("The Loire is the longest river in France.", encoding="utf-8")
    (corpus / "peaks.txt").write_text("Mount Everest is the highest mountain on Earth.", encoding="utf-8")
    (corpus / "food.txt").write_text("Croissants are a buttery pastry eaten at breakfast.", encoding="utf-8")
    store = corpus.parent / "embedded-store"
    result = runner.invoke(app, ["index", str(corpus), "--store", str(store), "--embed", "--embedding-model", model])
    assert result.exit_code == 0, result.output
    return store, model


@pytest.mark.heavy
@pytest.mark.parametrize(
    ("mode", "query"),
    [
        ("dense", "tallest summit in the world"),  # a paraphrase: no content word in common
        ("hybrid", "Everest summit"),  # both retrievers agree: fusion must keep it first
    ],
)
def test_dense_and_hybrid_search(embedded_store: tuple[Path, str], mode: str, query: str) -> None:
    store, model = embedded_store
    args = ["search", query, "--store", str(store), "--mode", mode]
    result = runner.invoke(app, [*args, "--embedding-model", model, "--json", "-k", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["meta"]["file_name"] == "peaks.txt"


@pytest.mark.heavy
def test_dense_search_without_embeddings_says_why(sample_store: Path, embedded_store: tuple[Path, str]) -> None:
    _, model = embedded_store
    args = ["search", "Normandy", "--store", str(sample_store), "--mode", "dense", "--embedding-model", model]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "embedding" in result.stderr and "Traceback" not in result.output + result.stderr


def test_unknown_mode_is_an_error(sample_store: Path) -> None:
    result = runner.invoke(app, ["search", "x", "--store", str(sample_store), "--mode", "fuzzy"])
    assert result.exit_code == 1
    assert "bm25, dense, hybrid" in result.stderr


@pytest.mark.heavy
def test_search_defaults_to_the_model_the_store_was_embedded_with(embedded_store: tuple[Path, str]) -> None:
    store, model = embedded_store
    assert InMemoryDocumentStore.load(store).embedding_model == model
    result = runner.invoke(
        app, ["search", "tallest summit in the world", "--store", str(store), "--mode", "dense", "--json", "-k", "1"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["meta"]["file_name"] == "peaks.txt"


def test_search_refuses_another_embedding_model(embedded_store: tuple[Path, str]) -> None:
    store, model = embedded_store
    args = ["search", "x", "--store", str(store), "--mode", "dense", "--embedding-model", "other/model"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert model in result.stderr and "other/model" in result.stderr


def test_index_refuses_to_mix_embedding_models(embedded_store: tuple[Path, str], tmp_path: Path) -> None:
    store, model = embedded_store
    before = (store / "manifest.json").read_bytes()
    (tmp_path / "more.txt").write_text("The Seine flows through Paris.", encoding="utf-8")
    args = ["index", str(tmp_path / "more.txt"), "--store", str(store), "--embed", "--embedding-model", "other/model"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert model in result.stderr
    assert (store / "manifest.json").read_bytes() == before
