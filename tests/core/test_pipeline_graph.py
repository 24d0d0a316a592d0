from __future__ import annotations

from types import ModuleType

import pytest

from docqa.core.pipeline import Connection, Pipeline
from docqa.errors import DocqaError, PipelineError


def qa_pipeline(toys: ModuleType) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("retriever", toys.ToyRetriever(toys.ToyDocumentStore(["paris is big", "rome is old"])))
    pipeline.add_component("reader", toys.ToyReader())
    return pipeline


@pytest.mark.parametrize("name", ["", "a.b", "1abc", "a b", None, 3])
def test_invalid_names_are_rejected(toys: ModuleType, name: object) -> None:
    with pytest.raises(PipelineError, match=r"invalid component name"):
        Pipeline().add_component(name, toys.Shout())  # type: ignore[arg-type]


def test_duplicates_classes_and_non_components_are_rejected(toys: ModuleType) -> None:
    pipeline = Pipeline()
    shout = toys.Shout()
    pipeline.add_component("shout", shout)
    with pytest.raises(PipelineError, match=r"'shout' \(Shout\) is already"):
        pipeline.add_component("shout", toys.Shout())
    with pytest.raises(PipelineError, match=r"already in the pipeline as 'shout'"):
        pipeline.add_component("again", shout)
    with pytest.raises(PipelineError, match=r"not the class Shout"):
        pipeline.add_component("cls", toys.Shout)
    with pytest.raises(PipelineError, match=r"PlainClass is not a docqa component"):
        pipeline.add_component("plain", toys.PlainClass())
    assert issubclass(PipelineError, DocqaError)


def test_explicit_connection(toys: ModuleType) -> None:
    pipeline = qa_pipeline(toys)
    pipeline.connect("retriever.documents", "reader.documents")
    assert pipeline.connections == (Connection("retriever", "documents", "reader", "documents"),)


def test_unknown_socket_lists_the_available_ones(toys: ModuleType) -> None:
    pipeline = qa_pipeline(toys)
    with pytest.raises(PipelineError) as error:
        pipeline.connect("retriever.docs", "reader.documents")
    assert "has no output 'docs'" in str(error.value)
    assert "documents (list[Document])" in str(error.value)
    with pytest.raises(PipelineError) as error:
        pipeline.connect("retriever.documents", "reader.passages")
    message = str(error.value)
    assert "has no input 'passages'" in message
    assert "query (str)" in message and "documents (list[Document])" in message and "top_k (int | None)" in message
    with pytest.raises(PipelineError, match=r"no component named 'ghost'"):
        pipeline.connect("ghost.documents", "reader.documents")


def test_type_mismatch_is_rejected_at_connect_time(toys: ModuleType) -> None:
    pipeline = qa_pipeline(toys)
    with pytest.raises(PipelineError, match=r"retriever.documents \(list\[Document\]\) to reader.query \(str\)"):
        pipeline.connect("retriever.documents", "reader.query")


def test_non_variadic_input_accepts_one_connection(toys: ModuleType) -> None:
    pipeline = qa_pipeline(toys)
    pipeline.add_component("other", toys.ToyRetriever(toys.ToyDocumentStore()))
    pipeline.connect("retriever.documents", "reader.documents")
    with pytest.raises(PipelineError, match=r"already receives retriever.documents"):
        pipeline.connect("other.documents", "reader.documents")
    with pytest.raises(PipelineError, match=r"already connected"):
        pipeline.connect("retriever.documents", "reader.documents")


def test_variadic_input_accepts_many_connections(toys: ModuleType) -> None:
    pipeline = Pipeline()
    store = toys.ToyDocumentStore()
    pipeline.add_component("a", toys.ToyRetriever(store))
    pipeline.add_component("b", toys.ToyRetriever(store))
    pipeline.add_component("join", toys.Joiner())
    pipeline.connect("a.documents", "join.documents")
    pipeline.connect("b", "join")
    assert len(pipeline.connections) == 2
    with pytest.raises(PipelineError, match=r"already connected"):
        pipeline.connect("a.documents", "join.documents")


def test_bare_names_connect_the_unique_compatible_pair(toys: ModuleType) -> None:
    pipeline = qa_pipeline(toys)
    pipeline.connect("retriever", "reader")
    assert pipeline.connections == (Connection("retriever", "documents", "reader", "documents"),)


def test_bare_names_without_a_compatible_pair_fail(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("count", toys.Counter())
    pipeline.add_component("greet", toys.Greeter())
    with pytest.raises(PipelineError, match=r"no compatible free sockets"):
        pipeline.connect("count", "greet")


def test_ambiguous_bare_connection_lists_candidates(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("count", toys.Counter())
    pipeline.add_component("add", toys.Adder())
    with pytest.raises(PipelineError, match=r"ambiguous.*count.count -> add.a, count.count -> add.b"):
        pipeline.connect("count", "add")
    pipeline.connect("count", "add.b")
    assert pipeline.connections == (Connection("count", "count", "add", "b"),)


def test_same_name_wins_when_several_pairs_fit(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("greet", toys.Greeter())
    pipeline.add_component("shout", toys.Shout())
    pipeline.connect("greet", "shout")
    assert pipeline.connections == (Connection("greet", "text", "shout", "text"),)


def test_cycles_are_rejected_with_their_components(toys: ModuleType) -> None:
    pipeline = Pipeline()
    for name in ("a", "b", "c"):
        pipeline.add_component(name, toys.Shout())
    pipeline.connect("a.text", "b.text")
    pipeline.connect("b.text", "c.text")
    with pytest.raises(PipelineError, match=r"cycle: a -> b -> c -> a"):
        pipeline.connect("c.text", "a.text")
    with pytest.raises(PipelineError, match=r"cycle: a -> a"):
        Pipeline_with_one = Pipeline()
        Pipeline_with_one.add_component("a", toys.Shout())
        Pipeline_with_one.connect("a.text", "a.text")


def test_inputs_and_outputs_describe_the_free_sockets(toys: ModuleType) -> None:
    pipeline = qa_pipeline(toys)
    pipeline.connect("retriever", "reader")
    inputs = {name: sorted(sockets) for name, sockets in pipeline.inputs().items()}
    assert inputs == {"retriever": ["query", "top_k"], "reader": ["query", "top_k"]}
    assert {name: list(s) for name, s in pipeline.outputs().items()} == {"reader": ["answers"]}
    assert pipeline.topological_order() == ["retriever", "reader"]
