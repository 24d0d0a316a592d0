from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from docqa.core import registry
from docqa.core.component import init_parameters
from docqa.core.pipeline import Pipeline
from docqa.errors import PipelineError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sentinel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module that leaves a marker file when imported: proof of whether an import happened."""
    marker = tmp_path / "imported"
    (tmp_path / "docqa_sentinel_mod.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('yes')\n\nclass Anything:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("docqa_sentinel_mod", None)


@pytest.mark.parametrize(
    "dotted",
    [
        "os.system",
        "subprocess.Popen",
        "builtins.eval",
        "importlib.import_module",
        "docqa_sentinel_mod.Anything",
    ],
)
def test_dotted_paths_outside_the_allowlist_are_never_imported(sentinel: Path, dotted: str) -> None:
    text = f"components:\n  evil:\n    type: {dotted}\n    init_parameters: {{command: touch /tmp/x}}\n"
    with pytest.raises(PipelineError) as error:
        Pipeline.loads(text, allowed_modules={"docqa_test_toys"})
    message = str(error.value)
    assert message.startswith("line 3: component 'evil':")
    assert f"module '{dotted.rpartition('.')[0]}' is not in allowed_modules" in message
    assert "docqa_sentinel_mod" not in sys.modules
    assert not sentinel.exists()


def test_allowlist_matches_modules_exactly(sentinel: Path) -> None:
    for allowed in ({"docqa_sentinel"}, {"docqa_sentinel_mod.sub"}, {"docqa"}):
        with pytest.raises(PipelineError, match=r"not in allowed_modules"):
            registry.resolve_type("docqa_sentinel_mod.Anything", allowed_modules=allowed)
    assert not sentinel.exists()
    with pytest.raises(PipelineError, match=r"must be a collection of module names"):
        registry.resolve_type("docqa_sentinel_mod.Anything", allowed_modules="docqa_sentinel_mod")


def test_allowlisted_non_components_are_refused_and_never_called(sentinel: Path, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"'docqa_sentinel_mod.Anything' is not a docqa component"):
        registry.resolve_type("docqa_sentinel_mod.Anything", allowed_modules={"docqa_sentinel_mod"})
    assert sentinel.exists()  # explicitly allowed, so imported: the allowlist is the caller's trust decision
    marker = tmp_path / "ran"
    text = f"components:\n  x:\n    type: os.system\n    init_parameters: {{command: touch {marker}}}\n"
    with pytest.raises(PipelineError, match=r"'os.system' is not a class"):
        Pipeline.loads(text, allowed_modules={"os"})
    assert not marker.exists()


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real dist-info with an entry_points.txt that provides component 'Whisper'."""
    (tmp_path / "docqa_plugin_demo.py").write_text(
        textwrap.dedent(
            """
            from docqa.core.component import component

            @component
            class Whisper:
                def __init__(self, suffix: str = "...") -> None:
                    self.suffix = suffix

                @component.output_types(text=str)
                def run(self, text: str) -> dict[str, str]:
                    return {"text": text.lower() + self.suffix}
            """
        )
    )
    info = tmp_path / "docqa_plugin_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: docqa-plugin-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[docqa.components]\nWhisper = docqa_plugin_demo:Whisper\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "docqa_plugin_demo"
    sys.modules.pop("docqa_plugin_demo", None)


def test_plugins_load_by_entry_point_name_only_when_named(plugin: str) -> None:
    assert "Whisper" in registry.known_types()
    assert plugin not in sys.modules  # listing names loads nothing
    with pytest.raises(PipelineError, match=r"known types: .*Whisper"):
        Pipeline.loads("components:\n  a: {type: Whisp}\n")
    assert plugin not in sys.modules
    pipeline = Pipeline.loads("components:\n  w: {type: Whisper, init_parameters: {suffix: '!'}}\n")
    assert pipeline.run({"text": "HEY"}) == {"w": {"text": "hey!"}}
    text = pipeline.dumps()
    assert "type: Whisper" in text
    assert Pipeline.loads(text).run({"text": "A"}) == {"w": {"text": "a!"}}


def test_builtin_names_win_over_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "docqa_shadow-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: docqa-shadow\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[docqa.components]\nDocumentSplitter = os:system\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "DocumentSplitter" in {ep.name for ep in registry.plugin_entry_points().values()}
    assert registry.resolve_type("DocumentSplitter").__module__ == "docqa.preprocessors.document_splitter"


def test_unknown_names_list_the_builtins() -> None:
    with pytest.raises(PipelineError) as error:
        registry.resolve_type("Nope")
    for name in registry.BUILTIN_COMPONENTS:
        assert name in str(error.value)
    with pytest.raises(PipelineError, match=r"known types: InMemoryDocumentStore"):
        registry.resolve_type("Nope", kind="document store")


def test_loading_a_bm25_pipeline_does_not_import_torch(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from docqa.core.pipeline import Pipeline
        p = Pipeline.loads('''
        document_stores:
          store: {type: InMemoryDocumentStore}
        components:
          retriever: {type: BM25Retriever, init_parameters: {document_store: store}}
        ''')
        p.dumps()
        print(sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _build(cls: type, store: object) -> object:
    """``cls`` with its defaults plus a store for each store parameter; other required ones fail."""
    from docqa.core.serialization import _store_parameters

    store_params = _store_parameters(cls)
    arguments = {}
    for name, parameter in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if name in store_params:
            arguments[name] = store
        elif parameter.default is inspect.Parameter.empty:
            pytest.fail(f"{cls.__name__}.{name} has no default: the round-trip test cannot build it")
    return cls(**arguments)


def test_every_builtin_round_trips_exactly() -> None:
    store_cls = registry.resolve_type("InMemoryDocumentStore", kind="document store")
    store = store_cls()
    pipeline = Pipeline()
    pipeline.add_document_store("store", store)
    for name in registry.BUILTIN_COMPONENTS:
        pipeline.add_component(name.lower(), _build(registry.resolve_type(name), store))
    text = pipeline.dumps()
    again = Pipeline.loads(text)
    assert again.dumps() == text
    assert init_parameters(again.document_stores["store"]) == init_parameters(store)
    for name, component in pipeline.components.items():
        copy = again.get_component(name)
        assert type(copy) is type(component)
        expected = {k: ("store" if v is store else v) for k, v in init_parameters(component).items()}
        actual = {k: ("store" if v is again.document_stores["store"] else v) for k, v in init_parameters(copy).items()}
        assert actual == expected, name
