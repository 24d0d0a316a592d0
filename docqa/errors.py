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


class ModelLoadError(DocqaError):
    """A model could not be loaded; the message names the model and how to pass a local path."""


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
