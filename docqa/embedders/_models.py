"""Loading sentence-transformers models (bi-encoders and cross-encoders) with one-line, actionable errors."""

from __future__ import annotations

from typing import Any

from docqa.errors import ComponentError, ModelLoadError
from docqa.hub import load_local_first, quiet_transformers, resolve_device, resolve_dtype

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

_HOW_TO_FIX = (
    "pass a local model directory ({how}), or pre-download it and set HF_HUB_OFFLINE=1 "
    "to load it from the Hugging Face cache"
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_sentence_transformer(model: str, device: str, dtype: str = "auto", owner: str = "embedder") -> Any:
    """A ``SentenceTransformer`` for ``model`` (hub id or local directory) on ``device`` in ``dtype`` (see
    :func:`docqa.hub.resolve_dtype`; ``owner`` names the component in its errors), or :class:`ModelLoadError`."""
    return _load("SentenceTransformer", "embedding model", model, device, (owner, dtype))


def load_cross_encoder(model: str, device: str, dtype: str = "auto", owner: str = "ranker") -> Any:
    """A ``CrossEncoder`` for ``model`` (hub id or local directory), as :func:`load_sentence_transformer`."""
    return _load("CrossEncoder", "ranker model", model, device, (owner, dtype))


def _load(class_name: str, what: str, model: str, device: str, precision: tuple[str, str]) -> Any:
    try:
        import sentence_transformers
    except ImportError as exc:
        raise ModelLoadError(
            f"cannot load {what} {model!r}: sentence-transformers is not installed (pip install 'docqa[dense]')"
        ) from exc
    model_class = getattr(sentence_transformers, class_name)
    resolved_device = resolve_device(device)
    # through transformers' own dtype=, so attention follows (sentence-transformers passes model_kwargs on)
    model_kwargs = {"dtype": resolve_dtype(*precision, resolved_device)}

    def failure(reason: str) -> ModelLoadError:
        return ModelLoadError(f"cannot load {what} {model!r} ({reason})", model=model, remedy=_HOW_TO_FIX)

    def load(name_or_path: str, local_files_only: bool) -> Any:
        with quiet_transformers():  # no "Loading weights" bar or load report on stderr
            return model_class(
                name_or_path, device=resolved_device, local_files_only=local_files_only, model_kwargs=model_kwargs
            )

    try:
        return load_local_first(model, load, failure)
    except (ComponentError, ModelLoadError):
        raise
    except Exception as exc:  # hub, file system, config and torch errors all mean "could not load"
        raise failure(_first_line(exc)) from exc


def text_to_embed(content: str, meta: dict[str, Any], meta_fields: list[str] | None, separator: str) -> str:
    """The text a model sees for one document: the chosen meta values (those present) and then the content."""
    parts = [str(meta[name]) for name in meta_fields or [] if meta.get(name) is not None]
    parts.append(content)
    return separator.join(parts)
