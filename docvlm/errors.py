"""One exception tree for the whole library; stages raise these, the pipeline turns them into error records."""

from __future__ import annotations


class DocvlmError(Exception):
    """Base of every error docvlm raises on purpose."""


class IngestError(DocvlmError):
    """A file could not be opened or read as a document (corrupt, encrypted, empty, too large...)."""


class EinvoiceError(IngestError):
    """An e-invoice's XML could not be read: malformed, unsafe (DTD, entities), too large or not an invoice."""


class OcrError(DocvlmError):
    """The OCR backend failed or is not installed."""


class EngineError(DocvlmError):
    """An extraction engine failed (model load, server error, timeout...)."""


class DecodeError(DocvlmError):
    """Model text could not be turned into JSON that fits the schema."""

    def __init__(self, message: str, attempts: list | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts or []


class ValidationFailed(DocvlmError):
    """Extracted data failed schema validation."""


class MissingDependency(DocvlmError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed; install it with: pip install 'docvlm[{extra}]'")
        self.package = package
        self.extra = extra
