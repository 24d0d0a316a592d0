from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml

from docqa.core.component import init_parameters
from docqa.core.pipeline import Pipeline
from docqa.errors import PipelineError

ALLOW = {"docqa_test_toys"}

QA_YAML = """\
document_stores:
  store:
    type: docqa_test_toys.ToyDocumentStore
    init_parameters: {texts: [paris is big, rome is old, oslo is cold]}
components:
  retriever:
    type: docqa_test_toys.ToyRetriever
    init_parameters: {document_store: store, top_k: 2}
  reader:
    type: docqa_test_toys.ToyReader
    init_parameters: {prefix: "> "}
connections:
  - {sender: retriever.documents, receiver: reader.documents}
"""


def load_error(text: str, tmp_path: Path | None = None, **kwargs: object) -> str:
    with pytest.raises(PipelineError) as error:
        if tmp_path is None:
            Pipeline.loads(text, allowed_modules=ALLOW, **kwargs)  # type: ignore[arg-type]
        else:
            path = tmp_path / "pipe.yaml"
            path.write_text(text)
            Pipeline.load(path, allowed_modules=ALLOW, **kwargs)  # type: ignore[arg-type]
    return str(error.value)


def test_load_builds_and_runs(toys: ModuleType) -> None:
    pipeline = Pipeline.loads(QA_YAML, allowed_modules=ALLOW)
    retriever = pipeline.get_component("retriever")
    assert retriever.document_store is pipeline.document_stores["store"]
    assert pipeline.run({"query": "rome old"}) == {"reader": {"answers": ["> rome", "> paris"]}}


def test_round_trip_is_exact(toys: ModuleType) -> None:
    pipeline = Pipeline.loads(QA_YAML, allowed_modules=ALLOW)
    text = pipeline.dumps()
    again = Pipeline.loads(text, allowed_modules=ALLOW)
    assert again.dumps() == text
    for name, component in pipeline.components.items():
        original = {k: v for k, v in init_parameters(component).items() if k != "document_store"}
        copied = {k: v for k, v in init_parameters(again.get_component(name)).items() if k != "document_store"}
        assert copied == original
    assert init_parameters(again.document_stores["store"]) == init_parameters(pipeline.document_stores["store"])
    assert again.connections == pipeline.connections
    assert again.run({"query": "oslo"}) == pipeline.run({"query": "oslo"})


def test_dumps_is_plain_yaml_and_names_stores(toys: ModuleType) -> None:
    store = toys.ToyDocumentStore(["a b"])
    pipeline = Pipeline()
    pipeline.add_component("r1", toys.ToyRetriever(store))
    pipeline.add_component("r2", toys.ToyRetriever(store, top_k=5))
    data = yaml.safe_load(pipeline.dumps())
    assert data["document_stores"] == {
        "document_store": {
            "type": "docqa_test_toys.ToyDocumentStore",
            "init_parameters": {"texts": ["a b"], "path": None},
        }
    }
    assert data["components"]["r1"]["init_parameters"] == {"document_store": "document_store", "top_k": 2}
    again = Pipeline.loads(pipeline.dumps(), allowed_modules=ALLOW)
    assert again.get_component("r1").document_store is again.get_component("r2").document_store


def test_dump_converts_tuples_paths_enums_and_numpy(toys: ModuleType, tmp_path: Path) -> None:
    pipeline = Pipeline()
    pipeline.add_component(
        "conf",
        toys.Configurable(
            sizes=(3, np.int64(4)),
            mode=toys.Mode.EXACT,
            folder=Path("/data/x"),
            ratio=np.float32(0.25),
            options={"k": (1, 2)},
        ),
    )
    text = pipeline.dumps()
    assert "!!" not in text
    params = yaml.safe_load(text)["components"]["conf"]["init_parameters"]
    assert params == {
        "sizes": [3, 4],
        "mode": "exact",
        "folder": "/data/x",
        "ratio": 0.25,
        "options": {"k": [1, 2]},
    }
    assert [type(v) for v in params["sizes"]] == [int, int]
    pipeline.dump(tmp_path / "p.yaml")
    assert (tmp_path / "p.yaml").read_text() == text
    assert not list(tmp_path.glob(".*.tmp"))


def test_unserializable_parameter_names_the_component(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("conf", toys.Configurable(options={"f": object()}))
    with pytest.raises(PipelineError, match=r"component 'conf' init parameter 'options' holds a object"):
        pipeline.dumps()


def test_local_classes_cannot_be_dumped() -> None:
    from docqa.core.component import component

    @component
    class Local:
        def __init__(self) -> None:
            pass

        @component.output_types(x=int)
        def run(self, x: int) -> dict[str, int]:
            return {"x": x}

    pipeline = Pipeline()
    pipeline.add_component("local", Local())
    with pytest.raises(PipelineError, match=r"component 'local'.*cannot be written to a pipeline file"):
        pipeline.dumps()


def test_relative_paths_resolve_against_the_yaml_folder(toys: ModuleType, tmp_path: Path) -> None:
    text = QA_YAML.replace("top_k: 2}", "top_k: 2}").replace(
        "init_parameters: {texts: [paris is big, rome is old, oslo is cold]}",
        "init_parameters: {texts: [a], path: ./stores/main}",
    )
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "pipe.yaml"
    path.write_text(text)
    store = Pipeline.load(path, allowed_modules=ALLOW).document_stores["store"]
    assert store.path == str(tmp_path / "sub" / "stores" / "main")
    assert Pipeline.loads(text, allowed_modules=ALLOW).document_stores["store"].path == "./stores/main"
    based = Pipeline.loads(text, allowed_modules=ALLOW, base_dir=tmp_path)
    assert based.document_stores["store"].path == str(tmp_path / "stores" / "main")


def test_overrides_replace_init_parameters(toys: ModuleType) -> None:
    pipeline = Pipeline.loads(QA_YAML, allowed_modules=ALLOW, overrides={"reader": {"prefix": "* "}})
    assert pipeline.get_component("reader").prefix == "* "
    with pytest.raises(PipelineError, match=r"overrides name unknown component"):
        Pipeline.loads(QA_YAML, allowed_modules=ALLOW, overrides={"ghost": {}})
    with pytest.raises(PipelineError, match=r"unknown parameter 'prefx'"):
        Pipeline.loads(QA_YAML, allowed_modules=ALLOW, overrides={"reader": {"prefx": ""}})


# ------------------------------------------------------------------------------------------- errors
def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    message = load_error("components:\n  a: {type: X\n  b: [\n", tmp_path)
    assert message.startswith(f"{tmp_path / 'pipe.yaml'}:")
    assert "invalid YAML" in message


def test_python_tags_are_refused_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"components: !!python/object/apply:os.system ['touch {marker}']\n"
    message = load_error(text, tmp_path)
    assert "invalid YAML" in message and ":1" in message
    assert not marker.exists()


def test_duplicate_keys_are_errors_not_silent_overwrites(tmp_path: Path) -> None:
    text = QA_YAML.replace("  reader:\n", "  retriever:\n", 1)
    message = load_error(text, tmp_path)
    assert "pipe.yaml:9: duplicate key 'retriever' (first defined at line 6)" in message


def test_unknown_type_lists_known_types_and_line(tmp_path: Path) -> None:
    text = "components:\n  x:\n    type: Retriever\n"
    message = load_error(text, tmp_path)
    assert "pipe.yaml:3:" in message and "component 'x'" in message
    assert (
        "unknown component type 'Retriever'" in message and "BM25Retriever" in message and "ExtractiveReader" in message
    )


def test_unknown_parameter_lists_valid_ones() -> None:
    message = load_error(QA_YAML.replace("{prefix:", "{prefx:"))
    assert message.startswith("line 11: component 'reader': unknown parameter 'prefx' for ToyReader")
    assert "valid parameters: prefix" in message


def test_missing_required_parameter(tmp_path: Path) -> None:
    text = "components:\n  need:\n    type: docqa_test_toys.NeedsArgument\n"
    message = load_error(text, tmp_path)
    assert "pipe.yaml:2: component 'need': missing required parameter 'size' of NeedsArgument" in message


def test_wrong_store_reference(tmp_path: Path) -> None:
    message = load_error(QA_YAML.replace("document_store: store", "document_store: stor"), tmp_path)
    assert "pipe.yaml:8: component 'retriever': parameter 'document_store' names document store 'stor'" in message
    assert "the stores are: store" in message


def test_connection_to_missing_socket_and_type_mismatch(tmp_path: Path) -> None:
    message = load_error(QA_YAML.replace("receiver: reader.documents", "receiver: reader.docs"), tmp_path)
    assert "pipe.yaml:13: connection retriever.documents -> reader.docs" in message
    assert "has no input 'docs'" in message
    message = load_error(QA_YAML.replace("receiver: reader.documents", "receiver: reader.query"), tmp_path)
    assert "pipe.yaml:13:" in message and "incompatible types" in message


def test_cycle_in_file(tmp_path: Path) -> None:
    text = """\
components:
  a: {type: docqa_test_toys.Shout}
  b: {type: docqa_test_toys.Shout}
connections:
  - {sender: a.text, receiver: b.text}
  - {sender: b.text, receiver: a.text}
"""
    message = load_error(text, tmp_path)
    assert "pipe.yaml:6:" in message and "cycle: a -> b -> a" in message


def test_input_never_provided_names_file_and_component(tmp_path: Path) -> None:
    path = tmp_path / "pipe.yaml"
    path.write_text(QA_YAML)
    pipeline = Pipeline.load(path, allowed_modules=ALLOW)
    with pytest.raises(PipelineError, match=r"pipe.yaml:6: component 'retriever' is missing input retriever.query"):
        pipeline.run({})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]\n", "must be a mapping"),
        ("component: {}\n", "unknown top-level key 'component'"),
        ("components: {a: {type: docqa_test_toys.Shout, params: {}}}\n", "unknown key 'params'"),
        ("components: {a: {init_parameters: {}}}\n", "missing 'type'"),
        ("components: {a.b: {type: docqa_test_toys.Shout}}\n", "invalid component name 'a.b'"),
        (
            "components: {a: {type: docqa_test_toys.Shout}}\nconnections: {a: b}\n",
            "connections must be a list",
        ),
        (
            "components: {a: {type: docqa_test_toys.Shout}}\nconnections: [{sender: a.text}]\n",
            "exactly sender",
        ),
        ("components: {a: {type: docqa_test_toys.NOT_A_COMPONENT}}\n", "is not a class"),
        ("components: {a: {type: docqa_test_toys.PlainClass}}\n", "not a docqa component"),
        ("components: {a: {type: docqa_test_toys.Missing}}\n", "has no attribute 'Missing'"),
        ("components: {a: {type: docqa_test_toys.Shout, init_parameters: 3}}\n", "must be a mapping"),
    ],
)
def test_structural_errors(text: str, expected: str) -> None:
    assert expected in load_error(text)


def test_constructor_failure_names_component(toys: ModuleType) -> None:
    message = load_error("components:\n  c: {type: docqa_test_toys.Configurable, init_parameters: {ratio: 2}}\n")
    assert message == "line 2: component 'c' (Configurable) could not be created: ratio must be in [0, 1], not 2"
    message = load_error(
        "components:\n  r: {type: docqa_test_toys.ToyRetriever, init_parameters: {document_store: 3}}\n"
    )
    assert message.startswith("line 2: component 'r': parameter 'document_store' must name a document store, not 3")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"cannot read pipeline file"):
        Pipeline.load(tmp_path / "missing.yaml")


def test_strings_with_newlines_are_written_escaped(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("g", toys.Greeter(greeting="line one\nline two", punctuation="\t"))
    text = pipeline.dumps()
    assert 'greeting: "line one\\nline two"' in text
    copy = Pipeline.loads(text, allowed_modules=ALLOW).get_component("g")
    assert (copy.greeting, copy.punctuation) == ("line one\nline two", "\t")
