"""ONNX Runtime forward pass for ExtractiveReader: the model is exported once, cached on disk, run in fp32 on CPU.

Only the forward pass changes: windows, span decoding and answer ranking stay the reader's own. The export
uses the TorchScript exporter with eager attention, the graph shape that onnxruntime's BERT fuser turns into
fused ``Attention`` / ``EmbedLayerNormalization`` / ``SkipLayerNormalization`` / ``BiasGelu`` kernels (the
dynamo exporter's graph keeps attention unfused: measurably slower). The fuser matches patterns, so every
graph is checked against the PyTorch model on padded probe windows before it is cached; a fused graph that
fails the check is replaced by the plain export, and a plain one that fails is an error.

The cache lives in ``$DOCQA_CACHE/onnx`` (else ``$XDG_CACHE_HOME/docqa/onnx``, else ``~/.cache/docqa/onnx``),
one directory per model keyed by a hash of the weights, the config and the library versions, so editing a
model directory in place never serves a stale graph. Directories are built under a temporary name and renamed
into place: an interrupted export leaves nothing a later run would load.

Example (normally reached through ``ExtractiveReader(backend="onnx")``)::

    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    path = "/models/minilm-uncased-squad2"
    qa_model = AutoModelForQuestionAnswering.from_pretrained(path).eval()
    inputs = AutoTokenizer.from_pretrained(path)("Who?", "Rollo led them.", return_tensors="np")
    onnx_model = load_onnx_model(path, qa_model, ["input_ids", "attention_mask", "token_type_ids"])
    start_logits, end_logits = onnx_model(inputs)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from docqa.errors import ModelLoadError

logger = logging.getLogger(__name__)

#: Part of the cache key: bump it whenever the export recipe changes, so older cached graphs are not reused.
_RECIPE_VERSION = "2"
_OUTPUTS = ("start_logits", "end_logits")
_MODEL_FILE = "model.onnx"
_PLAIN_FILE = "plain.onnx"
_MANIFEST_FILE = "export.json"
#: The probe check tolerates this much absolute logit difference per unit of logit scale; fp32 reorderings
#: stay around 1e-6, a wrong fusion is off by orders of magnitude more.
_PROBE_TOLERANCE = 1e-3
#: Part of the int8 graph's file name: bump it whenever the quantization recipe changes.
_INT8_RECIPE_VERSION = "1"


def _kept_in_fp32(node_name: str) -> bool:
    """Nodes kept in fp32 by the int8 recipe: the span head, whose logits are the scores themselves."""
    return "qa_outputs" in node_name


class OnnxQAModel:
    """Start and end logits of a question-answering model, computed by ONNX Runtime sessions.

    ``session`` runs one batch on all the cores (its intra-op threads); ``parallel`` (when given, with
    ``workers`` > 1) is a session of one intra-op thread that :meth:`run_many` calls from ``workers`` threads at
    once, one batch per core: on these small, short-input models that is faster than splitting every operator
    across the cores (no synchronisation between the many small operators), for one more copy of the weights.
    ``fused``: whether the graph uses onnxruntime's fused transformer kernels; ``int8``: whether it is the
    dynamically quantized graph; ``exported``: whether this instance exported or quantized the graph it runs
    (``False`` when everything came from the cache).
    """

    def __init__(
        self,
        session: Any,
        input_names: Sequence[str],
        path: Path,
        fused: bool,
        exported: bool,
        int8: bool = False,
        parallel: Any = None,
        workers: int = 1,
    ) -> None:
        self._session = session
        self._parallel = parallel
        self.workers = workers if parallel is not None else 1
        self._pool: ThreadPoolExecutor | None = None
        self.input_names = list(input_names)
        self.path = path
        self.fused = fused
        self.exported = exported
        self.int8 = int8

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(start_logits, end_logits)``, float32 ``(batch, sequence)``, from padded int64 input arrays."""
        return self._run(self._session, arrays)

    def run_many(self, batches: Sequence[Mapping[str, np.ndarray]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The logits of each batch, in order; several batches run at once, one per worker thread."""
        if self.workers == 1 or len(batches) < 2:
            return (self(arrays) for arrays in batches)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="docqa-onnx")
        return self._pool.map(partial(self._run, self._parallel), batches)

    def _run(self, session: Any, arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        feed = {name: np.ascontiguousarray(arrays[name], dtype=np.int64) for name in self.input_names}
        start, end = session.run(list(_OUTPUTS), feed)
        return start, end


def default_cache_dir() -> Path:
    """Where exported graphs are kept: ``$DOCQA_CACHE/onnx``, else the XDG cache, else ``~/.cache``."""
    root = os.environ.get("DOCQA_CACHE")
    if root:
        return Path(root).expanduser() / "onnx"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "docqa" / "onnx"


def load_onnx_model(
    model: str,
    qa_model: Any,
    input_names: Sequence[str],
    threads: int | None = None,
    optimize: bool = True,
    quantize: bool = False,
) -> OnnxQAModel:
    """The ONNX Runtime twin of the loaded PyTorch ``qa_model`` (named ``model`` in errors), exported on first
    use and read from the cache afterwards; ``input_names`` are the inputs the reader feeds (in order).

    ``optimize``: run the fused-kernel graph when the fuser produced an exact one (else the plain export);
    ``quantize``: run the int8 version of that graph (see :func:`quantized_graph`), built once and cached next
    to it; ``threads``: ONNX Runtime's intra-op threads for one batch, and the number of batches
    :meth:`OnnxQAModel.run_many` runs at once (default: PyTorch's thread count, one per physical core).

    Raises :class:`ModelLoadError` (one line) when onnxruntime is missing or the model cannot be exported.
    """
    ort = _import_onnxruntime(model)
    threads = torch.get_num_threads() if threads is None else threads
    target = default_cache_dir() / _cache_key(qa_model, input_names, ort.__version__)
    exported = not (target / _MODEL_FILE).is_file()
    if exported:
        _build_cache_entry(model, qa_model, input_names, target, ort)
    manifest = json.loads((target / _MANIFEST_FILE).read_text(encoding="utf-8"))
    fused = bool(manifest["fused"]) and optimize
    path = target / (_MODEL_FILE if fused else _PLAIN_FILE)
    if quantize:
        path, built = quantized_graph(model, path)
        exported = exported or built
    session = _session(ort, path, threads)
    parallel = _session(ort, path, 1) if threads > 1 else None
    return OnnxQAModel(session, input_names, path, fused, exported, int8=quantize, parallel=parallel, workers=threads)


def quantized_graph(model: str, fp32_path: Path) -> tuple[Path, bool]:
    """The int8 version of the fp32 graph at ``fp32_path``, quantized once and cached beside it (so it is
    rebuilt whenever the fp32 graph's cache entry changes); returns ``(path, built_now)``.

    Dynamic quantization: weights int8 per output channel, activations uint8 with a scale computed per batch.
    ``_kept_in_fp32`` names the layers kept in fp32 because quantizing them costs the most accuracy on real
    weights (see the README's table).
    """
    target = fp32_path.with_name(f"{fp32_path.stem}-int8-v{_INT8_RECIPE_VERSION}.onnx")
    if target.is_file():
        return target, False
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32_path))
    excluded = [node.name for node in graph.graph.node if _kept_in_fp32(node.name)]
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(
                str(fp32_path),
                str(staging),
                per_channel=True,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused ops have no inferred types
            )
        os.replace(staging, target)
    except Exception as error:  # the quantizer raises many types on graphs it cannot handle
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        raise ModelLoadError(f"could not quantize the ONNX graph of model {model!r} to int8 ({reason})") from error
    finally:
        staging.unlink(missing_ok=True)
    return target, True


def _import_onnxruntime(model: str) -> Any:
    try:
        import onnx  # noqa: F401  # the exporter and the graph fuser need it: fail here, with the hint
        import onnxruntime
    except ImportError as error:
        raise ModelLoadError(
            f"backend='onnx' for model {model!r} needs onnxruntime and onnx ({error}): pip install \"docqa[onnx]\""
        ) from error
    return onnxruntime


def _cache_key(qa_model: Any, input_names: Sequence[str], ort_version: str) -> str:
    """Hash of what the exported graph depends on. Hashing the weights themselves (~0.2 s for MiniLM) rather
    than a file's mtime also covers hub ids and models edited in memory."""
    import transformers

    config = {key: value for key, value in qa_model.config.to_dict().items() if not key.startswith("_")}
    digest = hashlib.blake2b(digest_size=16)
    header = {
        "recipe": _RECIPE_VERSION,
        "inputs": list(input_names),
        "versions": [torch.__version__, transformers.__version__, ort_version],
        "class": type(qa_model).__name__,
        "config": config,
    }
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for name, tensor in qa_model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _build_cache_entry(model: str, qa_model: Any, input_names: Sequence[str], target: Path, ort: Any) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        plain = staging / _PLAIN_FILE
        try:
            _export(qa_model, input_names, plain)
        except Exception as error:  # the exporter raises many types for untraceable models
            reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
            raise ModelLoadError(f"could not export model {model!r} to ONNX ({reason}); use backend='torch'") from error
        mismatch = _probe_error(qa_model, input_names, plain, ort)
        if mismatch is not None:
            raise ModelLoadError(
                f"the ONNX export of model {model!r} does not reproduce its logits ({mismatch}); use backend='torch'"
            )
        fused = _fused_if_exact(qa_model, input_names, plain, staging / _MODEL_FILE, ort)
        if not fused:
            shutil.copyfile(plain, staging / _MODEL_FILE)
        manifest = {"model": model, "fused": fused, "inputs": list(input_names)}
        (staging / _MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:
            if not (target / _MODEL_FILE).is_file():  # not a concurrent export of the same model: a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _LogitsOnly(torch.nn.Module):
    """Positional inputs in ``input_names`` order, the two logit tensors out: what the exporter traces."""

    def __init__(self, qa_model: Any, input_names: Sequence[str]) -> None:
        super().__init__()
        self.qa_model = qa_model
        self.input_names = list(input_names)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.qa_model(**dict(zip(self.input_names, inputs, strict=True)))
        return output.start_logits, output.end_logits


def _export(qa_model: Any, input_names: Sequence[str], path: Path) -> None:
    sample = _probe_inputs(input_names, qa_model.config, rows=(16, 11))
    previous = getattr(qa_model.config, "_attn_implementation", None)
    switch = previous not in (None, "eager") and hasattr(qa_model, "set_attn_implementation")
    axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, *_OUTPUTS]}
    try:
        if switch:
            qa_model.set_attn_implementation("eager")
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter is deprecated in favour of dynamo, whose graph the fuser cannot fuse;
            # its tracer warnings concern shape-dependent branches that the probe check covers.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _LogitsOnly(qa_model, input_names).eval(),
                tuple(torch.from_numpy(sample[name]) for name in input_names),
                str(path),
                input_names=list(input_names),
                output_names=list(_OUTPUTS),
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
    finally:
        if switch:
            qa_model.set_attn_implementation(previous)


def _fused_if_exact(qa_model: Any, input_names: Sequence[str], plain: Path, fused_path: Path, ort: Any) -> bool:
    """Write onnxruntime's BERT-fused version of ``plain`` to ``fused_path`` when it reproduces the logits."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        config = qa_model.config
        optimized = optimize_model(
            str(plain),
            model_type="bert",
            num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
            hidden_size=int(getattr(config, "hidden_size", 0) or 0),
            opt_level=0,  # fusions only; the session applies ORT_ENABLE_ALL itself
            use_gpu=False,
        )
        optimized.save_model_to_file(str(fused_path))
    except Exception as error:  # the fuser is best effort: the plain graph is still exact
        logger.info("onnxruntime graph fusion failed (%s); using the plain export", error)
        return False
    mismatch = _probe_error(qa_model, input_names, fused_path, ort)
    if mismatch is None:
        return True
    logger.info("fused ONNX graph rejected (%s); using the plain export", mismatch)
    fused_path.unlink(missing_ok=True)
    return False


def _probe_inputs(input_names: Sequence[str], config: Any, rows: Sequence[int]) -> dict[str, np.ndarray]:
    """Right-padded random windows of the given lengths, as the reader batches them."""
    rng = np.random.default_rng(0)
    length = max(rows)
    vocab = int(getattr(config, "vocab_size", 1000))
    pad_id = getattr(config, "pad_token_id", None)
    arrays = {
        "input_ids": np.full((len(rows), length), 0 if pad_id is None else int(pad_id), dtype=np.int64),
        "attention_mask": np.zeros((len(rows), length), dtype=np.int64),
        "token_type_ids": np.zeros((len(rows), length), dtype=np.int64),
    }
    for row, size in enumerate(rows):
        arrays["input_ids"][row, :size] = rng.integers(min(5, vocab - 1), vocab, size)
        arrays["attention_mask"][row, :size] = 1
        arrays["token_type_ids"][row, size // 3 : size] = 1
    return {name: arrays[name] for name in input_names}


def _probe_error(qa_model: Any, input_names: Sequence[str], path: Path, ort: Any) -> str | None:
    """``None`` when the graph at ``path`` gives ``qa_model``'s logits on padded probes, else what differs."""
    probe = _probe_inputs(input_names, qa_model.config, rows=(37, 23, 5))
    with torch.inference_mode():
        output = qa_model(**{name: torch.from_numpy(array) for name, array in probe.items()})
    session = _session(ort, path, threads=1)
    got = session.run(list(_OUTPUTS), probe)
    valid = probe["attention_mask"].astype(bool)  # padding logits are never decoded
    for name, actual in zip(_OUTPUTS, got, strict=True):
        expected = getattr(output, name).float().numpy()
        difference = float(np.abs(actual - expected)[valid].max())
        if not difference <= _PROBE_TOLERANCE * max(1.0, float(np.abs(expected[valid]).max())):
            return f"{name} differ by up to {difference:.3g}"
    return None


def _session(ort: Any, path: Path, threads: int) -> Any:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: ORT's warnings about unused initializers are noise here
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
