"""One exception tree for the whole library; stages raise these, the pipeline turns them into error records."""

from __future__ import annotations


class DocvlmError(Exception):
    """Base of every error docvlm raises on purpose."""


class IngestError(DocvlmError):
    """A file could not be opened or read as a document (corrupt, encrypted, empty, too large...).

    ``sha256`` is the file's hash when it was read before the failure, so the error record keeps it.
    """

    def __init__(self, message: str, sha256: str | None = None) -> None:
        super().__init__(message)
        self.sha256 = sha256


class UnsupportedType(IngestError):
    """A file of a type docvlm does not read (GIF, SVG, Office documents...)."""


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


class ResourceLimit(DocvlmError):
    """A document went over a per-document limit and its worker was stopped.

    ``limit`` is ``"time"`` or ``"memory"``; the message says how far the document got.
    """

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class WorkerDied(DocvlmError):
    """The worker process reading a document died (killed by a signal, crashed) twice on it."""

    def __init__(self, message: str, signal: str | None = None) -> None:
        super().__init__(message)
        self.signal = signal


class OutputError(DocvlmError, ValueError):
    """The output path cannot be used (missing folder, a directory, wrong extension, not writable, locked)."""


class ValueNotRepresentable(DocvlmError, ValueError):
    """A record value that its typed table column (Parquet) cannot hold without changing it."""


class OutputLocked(OutputError):
    """Another run holds the lock on this output."""


class Interrupted(DocvlmError):
    """The batch was stopped by a signal (SIGTERM, SIGINT) after the finished records were written."""

    def __init__(self, signum: int) -> None:
        import signal as _signal

        super().__init__(f"stopped by {_signal.Signals(signum).name}")
        self.signum = signum
