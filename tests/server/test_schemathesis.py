"""A bounded schemathesis run against /openapi.json of a real server: no input makes it answer 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import store_copy


def test_no_server_errors_on_generated_requests(serve, qa_store: Path, tiny_bert_qa_dir: Path, tmp_path: Path) -> None:
    store = store_copy(qa_store, tmp_path / "store")
    server = serve("--store", str(store), "--model", str(tiny_bert_qa_dir), "--retriever-top-k", "2")
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
        "--checks", "not_a_server_error", "--max-examples", "15", "--seed", "1", "--workers", "1",
        "--request-timeout", "60", "--phases", "examples,coverage,fuzzing",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None and int(passed.group(1)) > 0, result.stdout[-2000:]  # requests were really sent
