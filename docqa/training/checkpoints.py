"""The output folder of a training run and its checkpoints, written so that a killed run never leaves a
half-written one.

Layout of ``out``::

    out/config.json, model.safetensors, tokenizer files   the best (or final) model, Hugging Face format
    out/docqa_training.json                               how it was made (written last)
    out/checkpoints/state.json                            {"last": "checkpoint-N", "best": "checkpoint-M"}
    out/checkpoints/checkpoint-N/                         model + tokenizer + trainer_state.pt (optimizer, ...)

A checkpoint is filled in a temporary folder and renamed into place; ``state.json`` is replaced atomically after
that, and superseded checkpoints are deleted only then. Whenever the process dies, ``state.json`` names complete
checkpoints, each loadable by ``ExtractiveReader(model=...)``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from docqa.errors import ComponentError
from docqa.files import atomic_write_text

TRAINING_FILE = "docqa_training.json"
TRAINER_STATE = "trainer_state.pt"
_STATE = "state.json"
_TEMP_PREFIX = ".tmp-"


def checkpoints_dir(out: Path) -> Path:
    return out / "checkpoints"


def prepare_out_dir(out: Path, resume: bool, overwrite: bool) -> Path | None:
    """Make ``out`` ready; return the checkpoint to resume from (``resume``), else ``None``.

    Refuses (one-line :class:`ComponentError`) a file, a non-empty folder unless ``overwrite`` (which deletes
    it), and ``resume`` without a checkpoint in ``out``.
    """
    if out.exists() and not out.is_dir():
        raise ComponentError(f"--out {out} is a file, not a folder")
    if resume:
        last = last_checkpoint(out)
        if last is None:
            raise ComponentError(f"--resume: {out} holds no checkpoint of docqa train to continue from")
        _remove_partial(out)
        return last
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ComponentError(
                f"--out {out} already holds files; pass --overwrite to replace them, or --resume to continue "
                "the training run saved there"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return None


def last_checkpoint(out: Path) -> Path | None:
    pointers = read_pointers(out)
    return checkpoints_dir(out) / pointers["last"] if "last" in pointers else None


def read_pointers(out: Path) -> dict[str, str]:
    path = checkpoints_dir(out) / _STATE
    if not path.is_file():
        return {}
    try:
        pointers = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ComponentError(f"{path}: unreadable checkpoint state ({error})") from None
    if not isinstance(pointers, dict) or not all(isinstance(v, str) for v in pointers.values()):
        raise ComponentError(f"{path}: unreadable checkpoint state (expected names of checkpoints)")
    return pointers


def write_checkpoint(out: Path, name: str, fill: Callable[[Path], None], best: Callable[[], bool]) -> Path:
    """Fill a temporary folder with ``fill``, rename it to ``checkpoints/name``, point ``state.json``'s "last"
    (and "best" when ``best()``, asked after ``fill``) at it, then delete checkpoints no longer named."""
    folder = checkpoints_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=folder, prefix=_TEMP_PREFIX))
    try:
        fill(temporary)
        final = folder / name
        if final.exists():
            shutil.rmtree(final)
        os.rename(temporary, final)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    pointers = read_pointers(out)
    pointers["last"] = name
    if best() or "best" not in pointers:
        pointers["best"] = name
    atomic_write_text(folder / _STATE, json.dumps(pointers, indent=1))
    for stale in folder.glob("checkpoint-*"):
        if stale.name not in pointers.values():
            shutil.rmtree(stale, ignore_errors=True)
    return final


def publish(out: Path, checkpoint: Path, training_json: str) -> None:
    """Copy ``checkpoint``'s model and tokenizer into ``out`` (each file replaced atomically), then write
    ``docqa_training.json``: the file that says the folder is complete comes last."""
    for source in sorted(checkpoint.iterdir()):
        if source.name in (TRAINER_STATE, TRAINING_FILE) or not source.is_file():
            continue
        temporary = out / f"{_TEMP_PREFIX}{source.name}"
        shutil.copyfile(source, temporary)
        os.replace(temporary, out / source.name)
    atomic_write_text(out / TRAINING_FILE, training_json)


def _remove_partial(out: Path) -> None:
    """Temporary folders and files left by a killed run."""
    for folder in (out, checkpoints_dir(out)):
        for leftover in folder.glob(f"{_TEMP_PREFIX}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
