"""Loading sentence-transformers models (bi-encoders and cross-encoders) with one-line, actionable errors."""

from __future__ import annotations

from typing import Any

from docqa.errors import ComponentError, ModelLoadError

_HOW_TO_FIX = (
    "pass a local model directory as model=..., or pre-download it and set HF_HUB_OFFLINE=1 "
    "to load it from the Hugging Face cache"
)


def resolve_device(device: str) -> str | None:
    """``"auto"`` lets sentence-transformers pick (CUDA if available, else CPU); anything else is passed on."""
    if not isinstance(device, str) or not device:
        raise ComponentError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', not {device!r}")
    return None if device == "auto" else device


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_sentence_transformer(model: str, device: str) -> Any:
    """A ``SentenceTransformer`` for ``model`` (hub id or local directory), or :class:`ModelLoadError`."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelLoadError(
            f"cannot load embedding model {model!r}: sentence-transformers is not installed "
            "(pip install 'docqa[dense]')"
        ) from exc
    try:
        return SentenceTransformer(model, device=resolve_device(device))
    except ComponentError:
        raise
    except Exception as exc:  # hub, file system, config and torch errors all mean "could not load"
        raise ModelLoadError(
            f"cannot load embedding model {model!r} ({_first_line(exc)}); {_HOW_TO_FIX}"
        ) from exc


def load_cross_encoder(model: str, device: str) -> Any:
    """A ``CrossEncoder`` for ``model`` (hub id or local directory), or :class:`ModelLoadError`."""
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as exc:
        raise ModelLoadError(
            f"cannot load ranker model {model!r}: sentence-transformers is not installed "
            "(pip install 'docqa[dense]')"
        ) from exc
    try:
        return CrossEncoder(model, device=resolve_device(device))
    except ComponentError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"cannot load ranker model {model!r} ({_first_line(exc)}); {_HOW_TO_FIX}") from exc


def text_to_embed(content: str, meta: dict[str, Any], meta_fields: list[str] | None, separator: str) -> str:
    """The text a model sees for one document: the chosen meta values (those present) and then the content."""
    parts = [str(meta[name]) for name in meta_fields or [] if meta.get(name) is not None]
    parts.append(content)
    return separator.join(parts)
