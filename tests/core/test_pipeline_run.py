from __future__ import annotations

from types import ModuleType

import pytest

from docqa.core.pipeline import Pipeline
from docqa.errors import PipelineError
from docqa.schema import Document


def qa(toys: ModuleType, texts: list[str] | None = None) -> Pipeline:
    store = toys.ToyDocumentStore(texts if texts is not None else ["paris is big", "rome is old", "oslo is cold"])
    pipeline = Pipeline()
    pipeline.add_component("retriever", toys.ToyRetriever(store, top_k=2))
    pipeline.add_component("reader", toys.ToyReader())
    pipeline.connect("retriever.documents", "reader.documents")
    return pipeline


def test_flat_input_goes_to_every_component_with_that_free_input(toys: ModuleType) -> None:
    result = qa(toys).run({"query": "rome old"})
    assert result == {"reader": {"answers": ["rome", "paris"]}}


def test_nested_input_targets_one_component_and_wins_over_flat(toys: ModuleType) -> None:
    pipeline = qa(toys)
    assert pipeline.run({"query": "oslo cold", "reader": {"top_k": 1}}) == {"reader": {"answers": ["oslo"]}}
    result = pipeline.run({"query": "oslo", "retriever": {"query": "rome", "top_k": 3}})
    assert result["reader"]["answers"][0] == "rome"
    assert len(result["reader"]["answers"]) == 3


def test_flat_top_k_reaches_both_components(toys: ModuleType) -> None:
    assert qa(toys).run({"query": "oslo cold", "top_k": 1}) == {"reader": {"answers": ["oslo"]}}


def test_include_outputs_from_returns_intermediate_outputs(toys: ModuleType) -> None:
    result = qa(toys).run({"query": "rome"}, include_outputs_from={"retriever"})
    assert result["retriever"]["documents"][0].content == "rome is old"
    assert "reader" in result
    with pytest.raises(PipelineError, match=r"no component named 'ghost'"):
        qa(toys).run({"query": "rome"}, include_outputs_from={"ghost"})


def test_missing_mandatory_input_is_named(toys: ModuleType) -> None:
    with pytest.raises(PipelineError, match=r"'retriever' is missing input retriever.query \(str\)"):
        qa(toys).run({})


def test_unknown_and_connected_inputs_are_rejected(toys: ModuleType) -> None:
    with pytest.raises(PipelineError, match=r"no component has an unconnected input 'question'.*query, top_k"):
        qa(toys).run({"question": "x"})
    with pytest.raises(PipelineError, match=r"is fed by retriever.documents"):
        qa(toys).run({"query": "x", "reader": {"documents": []}})
    with pytest.raises(PipelineError, match=r"has no input 'k'"):
        qa(toys).run({"query": "x", "reader": {"k": 1}})
    with pytest.raises(PipelineError, match=r"must be a dict"):
        qa(toys).run(["query"])  # type: ignore[arg-type]


def test_runs_in_topological_order_not_insertion_order(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("shout", toys.Shout())
    pipeline.add_component("greet", toys.Greeter(greeting="hi"))
    pipeline.connect("greet.text", "shout.text")
    assert pipeline.topological_order() == ["greet", "shout"]
    assert pipeline.run({"name": "bo"}) == {"shout": {"text": "HI BO!", "length": 6}}


def test_variadic_input_gets_every_sender_value(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("a", toys.ToyRetriever(toys.ToyDocumentStore(["one x"]), top_k=1))
    pipeline.add_component("b", toys.ToyRetriever(toys.ToyDocumentStore(["two x"]), top_k=1))
    pipeline.add_component("join", toys.Joiner())
    pipeline.connect("a", "join")
    pipeline.connect("b", "join")
    result = pipeline.run({"query": "x", "join": {"documents": [[Document("zero")]]}})
    assert [d.content for d in result["join"]["documents"]] == ["zero", "one x", "two x"]


def test_warm_up_is_called_once_lazily(toys: ModuleType) -> None:
    pipeline = Pipeline()
    shout = toys.Shout()
    pipeline.add_component("shout", shout)
    assert shout.warm_ups == 0
    pipeline.run({"text": "a"})
    pipeline.run({"text": "b"})
    pipeline.run_batch([{"text": "c"}])
    assert shout.warm_ups == 1


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("not_a_dict", r"'bad' \(Misbehaving\).run returned list, not a dict"),
        ("missing", r"did not return output\(s\) \['words'\]"),
        ("extra", r"undeclared output\(s\) \['bonus'\]"),
        ("wrong_type", r"returned count=str, which is not int"),
        ("wrong_items", r"returned words=list, which is not list\[str\]"),
    ],
)
def test_bad_outputs_name_the_component(toys: ModuleType, mode: str, message: str) -> None:
    pipeline = Pipeline()
    pipeline.add_component("bad", toys.Misbehaving(mode=mode))
    with pytest.raises(PipelineError, match=message):
        pipeline.run({"text": "a b"})


def test_good_outputs_pass_the_checks(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("bad", toys.Misbehaving(mode="ok"))
    assert pipeline.run({"text": "a b"}) == {"bad": {"count": 1, "words": ["a", "b"]}}


def test_run_batch_uses_component_run_batch_and_matches_run(toys: ModuleType) -> None:
    pipeline = qa(toys)
    queries = ["rome", "oslo cold", "paris big"]
    batched = pipeline.run_batch([{"query": q} for q in queries])
    reader = pipeline.get_component("reader")
    assert reader.calls == ["run_batch"]
    assert batched == [pipeline.run({"query": q}) for q in queries]


def test_run_batch_falls_back_to_run_when_shared_values_differ(toys: ModuleType) -> None:
    pipeline = qa(toys)
    data = [{"query": "rome", "reader": {"top_k": 1}}, {"query": "oslo", "reader": {"top_k": 2}}]
    batched = pipeline.run_batch(data)
    assert pipeline.get_component("reader").calls == ["run", "run"]
    assert [len(r["reader"]["answers"]) for r in batched] == [1, 2]
    same = pipeline.run_batch([{"query": "rome", "top_k": 1}, {"query": "oslo", "top_k": 1}])
    assert pipeline.get_component("reader").calls[-1] == "run_batch"
    assert same == [{"reader": {"answers": ["rome"]}}, {"reader": {"answers": ["oslo"]}}]


def test_run_batch_of_nothing_is_empty(toys: ModuleType) -> None:
    assert qa(toys).run_batch([]) == []


def test_run_batch_validates_every_item(toys: ModuleType) -> None:
    with pytest.raises(PipelineError, match=r"missing input retriever.query"):
        qa(toys).run_batch([{"query": "a"}, {}])


def test_run_batch_results_of_the_wrong_shape_name_the_component(toys: ModuleType) -> None:
    for mode, message in [
        ("short", r"must return text as a list of 2 items"),
        ("wrong", r"returned text=int"),
    ]:
        pipeline = Pipeline()
        pipeline.add_component("b", toys.BadBatch(mode=mode))
        with pytest.raises(PipelineError, match=r"component 'b' \(BadBatch\)\.run_batch .*" + message[:12]):
            pipeline.run_batch([{"text": "x"}, {"text": "yz"}])


def test_run_batch_with_unclear_annotations_is_refused(toys: ModuleType) -> None:
    pipeline = Pipeline()
    pipeline.add_component("u", toys.UnclearBatch())
    with pytest.raises(PipelineError, match=r"UnclearBatch.run_batch parameter 'times' must be annotated list\[int\]"):
        pipeline.run_batch([{"text": "x"}])
