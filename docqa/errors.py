"""docqa's exceptions: one base class, so callers (and the CLI) can catch every user-facing error at once.

Each message is written for the person who made the mistake: it names the file, field, component or model at fault.
"""

from __future__ import annotations


class DocqaError(Exception):
    """Base class of every error docqa raises on bad input or configuration."""


class ConversionError(DocqaError):
    """A file could not be turned into documents (unreadable, not UTF-8, empty, unknown extension...)."""


class FilterError(DocqaError):
    """A metadata filter is malformed; the message names the offending node."""


class DocumentStoreError(DocqaError):
    """A document store could not do what was asked (corrupt directory, duplicate id under FAIL, ...)."""


class NoDocumentStoreError(DocumentStoreError):
    """A store was opened for reading where there is none (``no document store at PATH``)."""


class DuplicateDocumentError(DocumentStoreError):
    """A document with the same id already exists and the duplicate policy is FAIL."""


#: What to do about a model that cannot be loaded from where it was looked for; ``{how}`` says how to pass a path.
LOCAL_COPY_REMEDY = "pass a local directory ({how}) or set HF_HUB_OFFLINE=1 with a cached copy"


class ModelLoadError(DocqaError):
    """A model could not be loaded; the message names the model.

    When the remedy is to pass a local copy, ``model`` is the hub id or path at fault and the message ends with
    ``remedy``, its ``{how}`` naming the Python parameter (``model="/path"``); :meth:`naming` words it for a
    command-line option instead (``--base PATH``), so that each command names its own option.
    """

    def __init__(
        self, problem: str, *, model: str | None = None, parameter: str = "model", remedy: str = LOCAL_COPY_REMEDY
    ) -> None:
        self.problem, self.model, self.remedy = problem, model, remedy
        super().__init__(self.naming(f'{parameter}="/path"'))

    def naming(self, how: str) -> str:
        """The message, its remedy saying ``how`` to pass a local copy (e.g. ``"--embedding-model PATH"``)."""
        return self.problem if self.model is None else f"{self.problem}; {self.remedy.format(how=how)}"


class ComponentError(DocqaError):
    """A component was misconfigured or got invalid input."""


class PipelineError(DocqaError):
    """A pipeline is malformed: bad connection, cycle, missing input, unknown component type, bad YAML..."""


class RequestError(DocqaError):
    """A request body (the model cards' real-time formats, a batch record) is malformed; the message names the
    field and index (``input_data.question[1]: ...``); ``details`` lists every problem as ``{"loc", "msg"}``."""

    def __init__(self, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.details = details if details is not None else [{"loc": "", "msg": message}]
