"""``Pipeline.to_mermaid()`` and the one-way dependency between pipeline.py and serialization.py."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from docqa.core.pipeline import Pipeline

CORE = Path(__file__).resolve().parents[2] / "docqa" / "core"

QA_YAML = """\
document_stores:
  store:
    type: docqa_test_toys.ToyDocumentStore
    init_parameters: {texts: [paris is big, rome is old]}
components:
  retriever: {type: docqa_test_toys.ToyRetriever, init_parameters: {document_store: store}}
  reader: {type: docqa_test_toys.ToyReader}
  end: {type: docqa_test_toys.Shout}
connections:
  - {sender: retriever.documents, receiver: reader.documents}
"""

_NODE = re.compile(r'^    (c\d+)\["([^"]*)"\]$')
_EDGE = re.compile(r'^    (\w+) (--|-\.) "([^"]*)" (-->|\.->) (\w+)$')


def _parse(text: str) -> tuple[dict[str, str], list[tuple[str, str, str, bool]]]:
    """Nodes (id -> label) and edges (sender, label, receiver, solid) of the flowchart; fail on any other line."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str, bool]] = []
    for line in lines[1:]:
        if line in ("    input((input))", "    output((output))"):
            continue
        node, edge = _NODE.match(line), _EDGE.match(line)
        assert node or edge, line
        if node:
            nodes[node.group(1)] = node.group(2)
        elif edge:
            edges.append((edge.group(1), edge.group(3), edge.group(5), edge.group(2) == "--"))
    return nodes, edges


def test_mermaid_has_every_component_connection_input_and_output() -> None:
    pipeline = Pipeline.loads(QA_YAML, allowed_modules={"docqa_test_toys"})
    nodes, edges = _parse(pipeline.to_mermaid())
    names = {label.split("<br/>")[0]: node for node, label in nodes.items()}
    assert set(names) == {"retriever", "reader", "end"}  # "end", a Mermaid keyword, is only a label
    assert nodes[names["reader"]] == "reader<br/><i>ToyReader</i>"
    wires = [(s, label, r) for s, label, r, _ in edges if s in nodes and r in nodes]
    assert wires == [(names["retriever"], "documents → documents<br/>list[Document]", names["reader"])]
    inputs = {(r, label, solid) for s, label, r, solid in edges if s == "input"}
    expected_inputs = {
        (names[name], f"{socket}: {type_text}", socket != "top_k")
        for name, sockets in pipeline.inputs().items()
        for socket, type_text in ((s, "str" if s in ("query", "text") else "int | None") for s in sockets)
    }
    assert inputs == expected_inputs
    outputs = {(s, label) for s, label, r, _ in edges if r == "output"}
    assert outputs == {
        (names["reader"], "answers: list[str]"),
        (names["end"], "text: str"),
        (names["end"], "length: int"),
    }


def test_mermaid_labels_escape_quotes_and_brackets() -> None:
    from docqa.core.component import component

    @component
    class Quoted:
        @component.output_types(out=dict)
        def run(self, text: str) -> dict[str, dict]:
            return {"out": {}}

    pipeline = Pipeline()
    pipeline.add_component("q", Quoted())
    text = pipeline.to_mermaid()
    for line in text.splitlines()[1:]:
        assert line.count('"') in (0, 2), line
    _parse(text)


def _docqa_imports(path: Path) -> set[str]:
    """Every docqa module ``path`` imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("docqa"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("docqa"))
    return found


def test_serialization_does_not_import_pipeline() -> None:
    assert "docqa.core.serialization" in _docqa_imports(CORE / "pipeline.py")  # pipeline -> serialization
    assert not {m for m in _docqa_imports(CORE / "serialization.py") if m.startswith("docqa.core.pipeline")}
    code = "import sys, docqa.core.serialization; print('docqa.core.pipeline' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
