"""The page served at ``GET /`` by ``docqa serve``, tested in a real headless Chromium against a real server.

Chromium is Debian's (``apt-get install -y chromium``, at /usr/bin/chromium or ``$DOCQA_TEST_CHROMIUM``), driven
by Playwright for Python. Each test saves screenshots of the states it reaches under its ``tmp_path``.

What the page shows is checked against what it was sent (the ``/query`` response it received) and against the
files the test wrote: every highlighted ``<mark>`` must equal ``source_file_text[start:end]``, with the text before
it equal to the passage up to ``passage_start`` (offsets count code points, so a non-BMP character before an
answer catches UTF-16 slicing).
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from docqa.document_stores.in_memory import store_lock

CHROMIUM = Path(os.environ.get("DOCQA_TEST_CHROMIUM", "/usr/bin/chromium"))
REAL_READER = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "minilm-l6-squad2-half12"
WAIT_MS = 120_000  #: a generous bound for model loads and answers on a busy CI machine, never a measured time
expect.set_options(timeout=30_000)

JOHN = "My name is John and I live in Hyderabad. \U0001f642 John likes green tea with \U0001d11e music.\n"
LIGHTHOUSE = (
    " ".join(
        f"The coast road passes field number {n} where sheep graze beside low stone walls and gorse."
        for n in range(1, 16)
    )
    + " The keeper of the Skerry Point lighthouse was Margaret Okafor, who lit the lamp every night"
    " from 1901 to 1934.\n"
)
CORPUS = {"john-likes.txt": JOHN, "lighthouse.txt": LIGHTHOUSE}  #: names unlike those of the conftest's store
NOT_IN_CORPUS = "Qzxv wjkq plmbrt?"
NO_ANSWER_TEXT = "No answer in these documents"


# ---- browser -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        raise RuntimeError(f"headless Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test (its own session storage); JavaScript errors fail the test."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


class Shots:
    """Screenshots of each state, saved as test artifacts under tmp_path/screens."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    return Shots(tmp_path / "screens")


# ---- servers -----------------------------------------------------------------------------------------


def upload_corpus(client: httpx.Client, corpus: dict[str, str], headers: dict[str, str] | None = None) -> None:
    files = [("files", (name, text.encode("utf-8"), "text/plain")) for name, text in corpus.items()]
    response = client.post("/documents", files=files, headers=headers or {})
    response.raise_for_status()
    assert response.json()["skipped"] == [], response.text


@pytest.fixture(scope="module")
def qa_server(live_server: Any) -> Any:
    """The real server with the real small reader, and this module's corpus added through the API."""
    with live_server.client() as client:
        upload_corpus(client, CORPUS)
    return live_server


# ---- reading the page --------------------------------------------------------------------------------

RENDERED_ANSWERS = """() => Array.from(document.querySelectorAll('#answers > li')).map((li) => {
  const mark = li.querySelector('mark');
  return {
    no_answer: li.dataset.noAnswer === 'true',
    heading: li.querySelector('.answer-text').textContent,
    probability: li.querySelector('.probability').textContent.replace('probability ', ''),
    source: li.querySelector('.source').textContent,
    mark: mark ? mark.textContent : null,
    before: mark && mark.previousSibling ? mark.previousSibling.textContent : null,
    passage: li.querySelector('blockquote') ? li.querySelector('blockquote').textContent : null,
  };
})"""


def percent(probability: float) -> str:
    value = probability * 100
    return "<0.1%" if 0 < value < 0.1 else f"{value:.1f}%"


def ask(page: Page, question: str) -> dict[str, Any]:
    """Type ``question``, press Enter, and return the /query response the page received."""
    field = page.get_by_label("Ask a question about the documents")
    field.fill(question)
    with page.expect_response(lambda r: r.url.endswith("/query"), timeout=WAIT_MS) as response:
        field.press("Enter")
    return wait_rendered(page, response.value)


def wait_rendered(page: Page, response: Any) -> dict[str, Any]:
    assert response.status == 200, response.text()
    body: dict[str, Any] = response.json()
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#results")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#answers > li")).to_have_count(len(body["answers"]))
    return body


def check_answers_match(page: Page, body: dict[str, Any]) -> None:
    """Each rendered answer, in the API's order: its text, probability, source and the <mark> at its offsets."""
    rendered = page.evaluate(RENDERED_ANSWERS)
    assert len(rendered) == len(body["answers"])
    for shown, answer in zip(rendered, body["answers"], strict=True):
        assert shown["probability"] == percent(answer["probability"])
        assert shown["no_answer"] == answer["no_answer"]
        if answer["no_answer"]:
            assert shown["heading"] == NO_ANSWER_TEXT and shown["mark"] is None
            continue
        passage = answer["passage"]
        assert shown["mark"] == source_slice(passage, answer) == answer["text"] == shown["heading"]
        assert shown["before"] == passage["content"][: answer["passage_start"]]
        assert shown["passage"] == passage["content"]
        assert shown["source"] == f"{passage['meta']['file_name']} · characters {answer['start']}–{answer['end']}"


def source_slice(passage: dict[str, Any], answer: dict[str, Any]) -> str:
    """The characters at the answer's offsets into its source: the file this test wrote, or, for a passage of
    another file (the conftest's store, other tests' uploads), the passage placed at its ``source_start``."""
    name = passage["meta"]["file_name"]
    if name in CORPUS:
        return CORPUS[name][answer["start"] : answer["end"]]
    offset = passage["meta"].get("source_start", 0)
    return str(passage["content"][answer["start"] - offset : answer["end"] - offset])


def check_passages_match(page: Page, body: dict[str, Any]) -> None:
    items = page.locator("#passages > li details")
    expect(items).to_have_count(len(body["documents"]))
    for i, doc in enumerate(body["documents"]):
        summary = items.nth(i).locator("summary")
        expect(summary).to_contain_text(doc["meta"]["file_name"])
        expect(items.nth(i).locator(".passage-text")).to_be_hidden()  # collapsed until opened
    if body["documents"]:
        items.first.locator("summary").click()
        expect(items.first.locator(".passage-text")).to_have_text(body["documents"][0]["content"])


def question_in_url(page: Page) -> str | None:
    values = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query).get("q")
    return values[0] if values else None


# ---- tests: the real reader --------------------------------------------------------------------------


def test_answers_are_ranked_and_highlighted_at_their_offsets(qa_server: Any, page: Page, shots: Shots) -> None:
    page.goto(qa_server.url + "/")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)

    first = ask(page, "What does John like?")
    check_answers_match(page, first)
    top = first["answers"][0]
    top_text = NO_ANSWER_TEXT.lower() if top["no_answer"] else top["text"]
    expect(page.locator("#results-summary")).to_contain_text(f"{top_text} ({percent(top['probability'])})")
    check_passages_match(page, first)
    spans = [a for a in first["answers"] if not a["no_answer"]]
    after_astral = [  # answers whose offset differs in UTF-16 code units: a non-BMP character precedes them
        a
        for a in spans
        if a["passage"]["meta"]["file_name"] == "john-likes.txt"
        and len(JOHN[: a["start"]].encode("utf-16-le")) // 2 != a["start"]
    ]
    assert after_astral, f"no answer after the non-BMP characters of john-likes.txt: {spans}"
    assert question_in_url(page) == "What does John like?"
    shots.take(page, "answers")

    second = ask(page, "Who was the keeper of the Skerry Point lighthouse?")
    check_answers_match(page, second)
    assert any(a["start"] != a["passage_start"] for a in second["answers"] if not a["no_answer"]), (
        "no answer came from a later passage of lighthouse.txt: the offsets into the source are not exercised"
    )
    assert question_in_url(page) == "Who was the keeper of the Skerry Point lighthouse?"
    shots.take(page, "answers-later-passage")

    with page.expect_response(lambda r: r.url.endswith("/query"), timeout=WAIT_MS) as back:
        page.go_back()
    check_answers_match(page, wait_rendered(page, back.value))
    expect(page.get_by_label("Ask a question about the documents")).to_have_value("What does John like?")


def test_no_answer_state(qa_server: Any, page: Page, shots: Shots) -> None:
    page.goto(qa_server.url + "/")
    body = ask(page, NOT_IN_CORPUS)
    assert [a["no_answer"] for a in body["answers"]] == [True], body
    check_answers_match(page, body)
    expect(page.locator("#answers > li .answer-text")).to_have_text([NO_ANSWER_TEXT])
    expect(page.locator("#answers > li .probability")).to_have_text("probability 100.0%")
    assert body["documents"] == []
    expect(page.locator("#no-passages")).to_be_visible()
    shots.take(page, "no-answer")


def test_q_link_runs_the_question_on_open(qa_server: Any, page: Page, shots: Shots) -> None:
    question = "Where does John live?"
    with page.expect_response(lambda r: r.url.endswith("/query"), timeout=WAIT_MS) as response:
        page.goto(qa_server.url + "/?" + urllib.parse.urlencode({"q": question}))
    body = wait_rendered(page, response.value)
    assert body["query"] == question
    expect(page.get_by_label("Ask a question about the documents")).to_have_value(question)
    check_answers_match(page, body)
    shots.take(page, "q-link")


def test_api_error_is_one_line(qa_server: Any, page: Page, shots: Shots) -> None:
    page.goto(qa_server.url + "/")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    field = page.get_by_label("Ask a question about the documents")
    field.fill("why " * 2000)
    with page.expect_response(lambda r: r.url.endswith("/query")) as response:
        field.press("Enter")
    assert response.value.status >= 400
    detail = response.value.json()["detail"]
    error = page.get_by_role("alert")
    expect(error).to_have_text(f"Question failed ({response.value.status}): {detail}")
    assert "\n" not in error.inner_text()
    shots.take(page, "api-error")


def test_phone_width_has_no_horizontal_scroll(qa_server: Any, page: Page, shots: Shots) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    with page.expect_response(lambda r: r.url.endswith("/query"), timeout=WAIT_MS) as response:
        page.goto(qa_server.url + "/?q=" + urllib.parse.quote("Who was the keeper of the Skerry Point lighthouse?"))
    wait_rendered(page, response.value)
    page.locator("#passages details summary").first.click()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    shots.take(page, "phone")


def test_keyboard_only_question(qa_server: Any, page: Page) -> None:
    page.goto(qa_server.url + "/")
    expect(page.locator("#status")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "question"
    page.keyboard.type("What does John like?")
    with page.expect_response(lambda r: r.url.endswith("/query"), timeout=WAIT_MS) as response:
        page.keyboard.press("Enter")
    check_answers_match(page, wait_rendered(page, response.value))


# ---- tests: loading, upload (a tiny random reader: the answer text does not matter) -------------------


@pytest.fixture
def store_copy(qa_store: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(qa_store, tmp_path / "store"))


def test_loading_state_until_ready_then_the_waiting_question_runs(
    serve: Any, store_copy: Path, tiny_bert_qa_dir: Path, page: Page, shots: Shots
) -> None:
    with ExitStack() as held:
        # As if another process were saving the store: its exclusive lock makes the server's store load wait.
        held.enter_context(store_lock(store_copy, exclusive=True))
        server = serve("--store", str(store_copy), "--model", str(tiny_bert_qa_dir), wait_ready=False)
        page.goto(server.url + "/")
        status = page.locator("#status")
        expect(status).to_have_attribute("data-state", "loading")
        expect(status).to_contain_text("Loading documents")
        expect(page.get_by_role("alert")).to_be_hidden()
        field = page.get_by_label("Ask a question about the documents")
        field.fill("Where does John live?")
        field.press("Enter")
        expect(page.locator("#ask-hint")).to_contain_text("will be asked as soon as they are ready")
        assert question_in_url(page) == "Where does John live?"
        assert httpx.get(server.url + "/ready").status_code == 503  # still loading after all of the above
        shots.take(page, "loading")
        with page.expect_response(lambda r: r.url.endswith("/query"), timeout=WAIT_MS) as response:
            held.close()  # the "save" ends: the store loads, then the reader
    body = wait_rendered(page, response.value)
    expect(status).to_have_attribute("data-state", "ready")
    expect(page.locator("#ask-hint")).to_be_hidden()
    assert body["query"] == "Where does John live?"
    shots.take(page, "loaded")


DROP_FILE = """([name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, { type: 'text/plain' }));
  return transfer;
}"""

KEY_HEADER = {"Authorization": "Bearer secret"}
ZANZIBAR = "Zanzibar exports cloves. The clove plantations of Pemba island were planted in the 1820s.\n"
QUOKKA = "The quokka is a small marsupial that lives on Rottnest Island near Perth.\n"


def expect_count(page: Page, server: Any, headers: dict[str, str] | None = None) -> int:
    count = int(httpx.get(server.url + "/documents/count", headers=headers).json()["count"])
    expect(page.locator("#doc-count")).to_have_text(f"Documents in the store: {count:,}")
    return count


def test_api_key_then_upload_makes_new_files_searchable(
    serve: Any, store_copy: Path, tiny_bert_qa_dir: Path, page: Page, shots: Shots, tmp_path: Path
) -> None:
    server = serve(
        "--store",
        str(store_copy),
        "--model",
        str(tiny_bert_qa_dir),
        "--api-key-for-reads",
        env={"DOCQA_API_KEY": "secret"},
    )
    # Reads need the key too: the question of the link is refused in one line, and the key field gets the focus.
    with page.expect_response(lambda r: r.url.endswith("/query"), timeout=WAIT_MS) as refused:
        page.goto(server.url + "/?q=" + urllib.parse.quote("Where does John live?"))
    assert refused.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(f"Question failed (401): {refused.value.json()['detail']}")
    key = page.get_by_label("API key")
    expect(key).to_be_focused()
    expect(page.locator("#doc-count")).to_have_text("Documents in the store: unknown")
    expect(page.get_by_role("heading", name="Add documents")).to_be_visible()

    # A drop without the key is refused the same way.
    with page.expect_response(lambda r: r.url.endswith("/documents")) as refused:
        page.dispatch_event(
            "#drop-zone", "drop", {"dataTransfer": page.evaluate_handle(DROP_FILE, ["zanzibar.txt", ZANZIBAR])}
        )
    assert refused.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(f"Upload failed (401): {refused.value.json()['detail']}")
    shots.take(page, "key-required")

    key.fill("secret")
    key.press("Tab")  # leaving the field re-reads the count, now with the key
    before = expect_count(page, server, KEY_HEADER)
    body = ask(page, "Where does John live?")
    assert body["documents"], body
    check_passages_match(page, body)
    expect(page.get_by_role("alert")).to_be_hidden()

    with page.expect_response(lambda r: r.url.endswith("/documents")) as accepted:
        page.dispatch_event(
            "#drop-zone", "drop", {"dataTransfer": page.evaluate_handle(DROP_FILE, ["zanzibar.txt", ZANZIBAR])}
        )
    written = accepted.value.json()["written"]
    assert accepted.value.status == 200 and written >= 1
    expect(page.locator("#upload-status")).to_have_text(
        f"Added {written} passage{'s' if written > 1 else ''} from 1 of 1 file."
    )
    expect(page.get_by_role("alert")).to_be_hidden()
    assert expect_count(page, server, KEY_HEADER) == before + written

    # The file picker, with one good and one undecodable file: the good one is written, the bad one named.
    (tmp_path / "quokka.txt").write_text(QUOKKA, encoding="utf-8")
    (tmp_path / "broken.txt").write_bytes(b"caf\xe9 au lait \x80\x81\n")
    with page.expect_response(lambda r: r.url.endswith("/documents")) as picked:
        page.get_by_label("Choose files…").set_input_files([tmp_path / "quokka.txt", tmp_path / "broken.txt"])
    result = picked.value.json()
    assert [s["file"] for s in result["skipped"]] == ["broken.txt"], result
    expect(page.locator("#upload-status")).to_contain_text("from 1 of 2 files. Skipped: broken.txt (")
    shots.take(page, "uploaded")

    body = ask(page, "Which island has clove plantations?")
    assert "zanzibar.txt" in [doc["meta"].get("file_name") for doc in body["documents"]]
    expect(page.locator("#passages summary").filter(has_text="zanzibar.txt")).to_have_count(1)

    # The key lives in this tab's session storage only, and survives a reload of the page.
    assert page.evaluate("sessionStorage.getItem('docqa-api-key')") == "secret"
    assert page.evaluate("Object.keys(localStorage).length") == 0
    page.reload()
    expect(page.get_by_label("API key")).to_have_value("secret")


def test_a_model_that_fails_to_load_is_reported_in_one_line(
    serve: Any, tmp_path: Path, page: Page, shots: Shots
) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    server = serve("--model", str(empty), wait_ready=False)
    page.goto(server.url + "/")
    expect(page.locator("#status")).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    errors = httpx.get(server.url + "/ready").json()["errors"]
    message = f"The server could not load the reader model: {errors['reader']}"
    expect(page.get_by_role("alert")).to_have_text(message)
    expect(page.locator("#upload")).to_be_hidden()  # no store: nothing to write to
    page.get_by_label("Ask a question about the documents").fill("Anyone there?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("alert")).to_have_text(message)
    expect(page.locator("#ask-hint")).to_be_hidden()
    shots.take(page, "load-failed")


# ---- the API docs ------------------------------------------------------------------------------------


def test_api_docs_render_with_the_network_blocked(live_server: Any, page: Page, shots: Shots) -> None:
    """/docs (Swagger UI) served whole by docqa: with every other host blocked, the operations render."""
    blocked: list[str] = []

    def this_server_only(route: Any) -> None:
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", this_server_only)
    page.goto(live_server.url + "/docs")
    for path in ("/query", "/score", "/documents", "/documents/search", "/ready"):
        expect(page.locator(f'.opblock-summary-path[data-path="{path}"]').first).to_be_visible()
    page.locator('.opblock-summary-path[data-path="/score"]').first.click()  # the typed request body renders
    expect(page.locator(".opblock-body").first).to_contain_text("handle_impossible_answer")
    shots.take(page, "api-docs-offline")
    assert blocked == []
