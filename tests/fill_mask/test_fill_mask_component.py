"""FillMask against transformers' own fill-mask pipeline (an independent implementation) on tiny models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docqa.core.pipeline import Pipeline
from docqa.errors import ComponentError
from docqa.fill_mask import FillMask, FillMaskPrediction

FAMILIES = ["bert", "distilbert", "roberta"]
TEXTS = [
    "Paris is the [MASK] of France.",
    "The [MASK] sat on the [MASK] all day, and the dog barked at it.",
    "[MASK] is good.",
    "A much longer sentence, so that the batch is padded: the [MASK] went to the market to buy some bread.",
]


@pytest.fixture(scope="module")
def pipelines(masked_lm_dirs: dict[str, Path]) -> dict[str, Any]:
    from transformers import pipeline

    return {name: pipeline("fill-mask", model=str(path), tokenizer=str(path)) for name, path in masked_lm_dirs.items()}


def masked_squad_sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` SQuAD 2.0 dev sentences of 6-40 words, one word of each replaced by ``[MASK]`` (seeded)."""
    import json
    import random
    import re

    from shared_assets import SQUAD_DEV_HALF

    data = json.loads(SQUAD_DEV_HALF.read_text(encoding="utf-8"))["data"]
    paragraphs = [paragraph["context"] for article in data for paragraph in article["paragraphs"]]
    found = [s for text in paragraphs for s in re.split(r"(?<=[.!?])\s+", text) if 6 <= len(s.split()) <= 40]
    rng = random.Random(seed)
    masked = []
    for sentence in rng.sample(found, count):
        words = sentence.split()
        words[rng.randrange(len(words))] = "[MASK]"
        masked.append(" ".join(words))
    return masked


def as_model_mask(text: str, mask_token: str) -> str:
    return text.replace("[MASK]", mask_token)


def assert_same(reference: list[dict[str, Any]], ours: list[FillMaskPrediction]) -> None:
    assert len(reference) == len(ours)
    for expected, found in zip(reference, ours, strict=True):
        assert (found.token, found.token_str, found.sequence) == (
            expected["token"],
            expected["token_str"],
            expected["sequence"],
        )
        assert found.score == pytest.approx(expected["score"], abs=1e-5)


def assert_text_same(reference: Any, ours: Any) -> None:
    """One text's results: a list of candidates (one mask) or a list of such lists (several)."""
    if reference and isinstance(reference[0], list):
        assert len(reference) == len(ours)
        for expected, found in zip(reference, ours, strict=True):
            assert_same(expected, found)
    else:
        assert_same(reference, ours)


@pytest.mark.parametrize("family", FAMILIES)
def test_equals_the_transformers_pipeline_single_and_several_masks(
    family: str, masked_lm_dirs: dict[str, Path], pipelines: dict[str, Any]
) -> None:
    fill_mask = FillMask(model=str(masked_lm_dirs[family]), top_k=4, batch_size=3)
    texts = [as_model_mask(text, fill_mask.mask_token) for text in TEXTS]
    ours = fill_mask.run(texts=texts)["predictions"]
    for text, found in zip(texts, ours, strict=True):
        assert_text_same(pipelines[family](text, top_k=4), found)
    assert isinstance(ours[0][0], FillMaskPrediction)  # one mask: a flat list
    assert len(ours[1]) == 2 and isinstance(ours[1][0], list)  # two masks: one list per mask


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_targets_equal_the_pipeline(family: str, masked_lm_dirs: dict[str, Path], pipelines: dict[str, Any]) -> None:
    targets = ["capital", "city", " town", "heart", "bread"]  # " town": not a vocabulary entry of BERT, split
    fill_mask = FillMask(model=str(masked_lm_dirs[family]), top_k=3, targets=targets)
    text = as_model_mask(TEXTS[0], fill_mask.mask_token)
    (found,) = fill_mask.run(texts=[text])["predictions"]
    assert_text_same(pipelines[family](text, top_k=3, targets=targets), found)
    more = fill_mask.run(texts=[text], top_k=50)["predictions"][0]
    assert len(more) == len({p.token for p in more}) <= len(targets)  # capped at the targets, as the pipeline does


@pytest.mark.parametrize("family", ["bert-cased", "roberta"])
def test_cased_models_keep_case(family: str, masked_lm_dirs: dict[str, Path], pipelines: dict[str, Any]) -> None:
    targets = ["Capital", "capital"] if family == "bert-cased" else ["ĠCapital", "Ġcapital"]
    fill_mask = FillMask(model=str(masked_lm_dirs[family]), top_k=2, targets=targets)
    text = as_model_mask("Paris is the [MASK] of France.", fill_mask.mask_token)
    (found,) = fill_mask.run(texts=[text])["predictions"]
    assert {p.token_str.strip() for p in found} == {"Capital", "capital"}
    assert any("Paris" in p.sequence for p in found)  # the text keeps its case
    assert_text_same(pipelines[family](text, top_k=2, targets=targets), found)


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_the_other_familys_mask_token_is_accepted(family: str, masked_lm_dirs: dict[str, Path]) -> None:
    fill_mask = FillMask(model=str(masked_lm_dirs[family]), top_k=3)
    other = "<mask>" if fill_mask.mask_token == "[MASK]" else "[MASK]"
    native = fill_mask.run(texts=[f"Paris is the {fill_mask.mask_token} of France."])["predictions"]
    mapped = fill_mask.run(texts=[f"Paris is the {other} of France."])["predictions"]
    assert mapped == native


def test_batching_keeps_the_order_and_the_results(masked_lm_dirs: dict[str, Path]) -> None:
    fill_mask = FillMask(model=str(masked_lm_dirs["bert"]), top_k=2, batch_size=2)
    texts = [f"{'very ' * n}[MASK] text number {n}." for n in (5, 0, 9, 2, 7)]
    together = fill_mask.predict(texts)
    alone = [fill_mask.predict([text])[0] for text in texts]
    for a, b in zip(together, alone, strict=True):
        assert [p.token for p in a[0]] == [p.token for p in b[0]]
        assert [p.score for p in a[0]] == pytest.approx([p.score for p in b[0]], abs=1e-5)


@pytest.mark.parametrize(("family", "token"), [("bert", "[MASK]"), ("roberta", "<mask>")])
def test_a_text_without_a_mask_names_the_expected_token(
    family: str, token: str, masked_lm_dirs: dict[str, Path]
) -> None:
    fill_mask = FillMask(model=str(masked_lm_dirs[family]))
    with pytest.raises(ComponentError, match=r"texts\[1\] has no mask token: write " + token.replace("[", r"\[")):
        fill_mask.run(texts=["a [MASK] b <mask>", "no mask here"])


@pytest.mark.parametrize(("family", "limit"), [("bert", 512), ("roberta", 512)])
def test_a_too_long_text_names_the_limit(family: str, limit: int, masked_lm_dirs: dict[str, Path]) -> None:
    fill_mask = FillMask(model=str(masked_lm_dirs[family]))
    with pytest.raises(
        ComponentError, match=rf"texts\[0\] is \d+ tokens long, over the model's limit of {limit} tokens"
    ):
        fill_mask.run(texts=["[MASK] " + "word " * 600])
    fill_mask.run(texts=["[MASK] " + "word " * (limit - 10)])  # within the limit: fine


@pytest.mark.parametrize(
    "arguments", [{"top_k": 0}, {"batch_size": True}, {"targets": []}, {"targets": "capital"}, {"top_k": "3"}]
)
def test_bad_settings_are_component_errors(arguments: dict[str, Any]) -> None:
    with pytest.raises(ComponentError, match="FillMask"):
        FillMask(model="unused", **arguments)


def test_in_a_yaml_pipeline(masked_lm_dirs: dict[str, Path]) -> None:
    import docqa

    pipeline = Pipeline()
    pipeline.add_component("fill", docqa.FillMask(model=str(masked_lm_dirs["bert"]), top_k=2))
    loaded = Pipeline.loads(pipeline.dumps())
    assert "type: FillMask" in pipeline.dumps()
    result = loaded.run({"fill": {"texts": ["Paris is the [MASK] of France."]}})
    direct = pipeline.run({"fill": {"texts": ["Paris is the [MASK] of France."]}})
    assert result["fill"]["predictions"] == direct["fill"]["predictions"]
    assert len(result["fill"]["predictions"][0]) == 2


@pytest.mark.parametrize("family", FAMILIES)
def test_hundreds_of_sentences_equal_the_pipeline_when_batched(
    family: str, masked_lm_dirs: dict[str, Path], pipelines: dict[str, Any]
) -> None:
    """300 sentences in batches of up to 32 against the pipeline one text at a time (its default): every
    score within 2e-3 and the same candidates in the same order on at least 99% of the sentences. Batches
    hold texts of one length (never padded); the row count of a batch still changes the float rounding a
    little, which can swap two candidates whose scores are that close."""
    batched = FillMask(model=str(masked_lm_dirs[family]), top_k=3, batch_size=32)
    texts = [as_model_mask(text, batched.mask_token) for text in masked_squad_sentences(300)]
    identical = 0
    for expected, per_mask in zip(pipelines[family](texts, top_k=3), batched.predict(texts), strict=True):
        ours = per_mask[0]
        assert [p.score for p in ours] == pytest.approx([e["score"] for e in expected], abs=2e-3)
        identical += [p.token for p in ours] == [e["token"] for e in expected]
    assert identical >= 0.99 * len(texts)


def test_bfloat16_is_loaded_so_and_scored_in_float32(masked_lm_dirs: dict[str, Path], monkeypatch: Any) -> None:
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from docqa import hub

    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset({"avx512_bf16"}))
    path = masked_lm_dirs["bert"]
    fill_mask = FillMask(model=str(path), top_k=3, device="cpu", dtype="bfloat16")
    (found,) = fill_mask.run(texts=[TEXTS[0]])["predictions"]
    assert {p.dtype for p in fill_mask._model.parameters()} == {torch.bfloat16}
    # the oracle: the same weights loaded in bfloat16 by transformers, softmax in float32 at the mask
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForMaskedLM.from_pretrained(path, dtype=torch.bfloat16).eval()
    encoded = tokenizer(TEXTS[0], return_tensors="pt")
    with torch.no_grad():
        logits = model(**encoded).logits[0, int((encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0])]
    scores, tokens = logits.float().softmax(dim=-1).topk(3)
    assert [p.token for p in found] == tokens.tolist()
    assert [p.score for p in found] == pytest.approx(scores.tolist(), abs=1e-6)
    with pytest.raises(
        ComponentError, match=r"^FillMask: dtype must be one of 'auto', 'float32', 'bfloat16', 'float16'"
    ):
        FillMask(model=str(path), dtype="bf16")
