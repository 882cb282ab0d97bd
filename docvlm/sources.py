"""Input discovery: files, folders and glob patterns in, document paths out; what a file really is.

``iter_sources`` expands the inputs of a batch (folders walked, globs expanded, each path once);
``sniff`` tells a file's real type from its first bytes, whatever its name says; ``file_sha256``
and ``hash_file`` give the hash that identifies a document in its record and on resume. Nothing
here opens a document: that is ``docvlm.ingest``.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

_log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".xml"}
)
IMAGE_KINDS = frozenset({"png", "jpeg", "tiff", "bmp", "webp"})
# document formats docvlm does not read: a folder walk yields them so that they get an
# ``UnsupportedType`` error record (other files in a folder, such as labels, notes or code, are skipped)
UNSUPPORTED_DOCUMENT_SUFFIXES: frozenset[str] = frozenset(
    {".gif", ".svg", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".jpx", ".ico", ".psd", ".eps", ".ps",
     ".ai", ".xps", ".oxps", ".djvu", ".doc", ".docx", ".odt", ".rtf", ".pages", ".xls", ".xlsx",
     ".ods", ".numbers", ".ppt", ".pptx", ".odp", ".key", ".msg", ".eml"}
)  # fmt: skip

_HASH_CHUNK = 1 << 20


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def is_document_name(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in SUPPORTED_SUFFIXES or suffix in UNSUPPORTED_DOCUMENT_SUFFIXES


def _walk(folder: Path) -> list[Path]:
    """Non-hidden document files under ``folder`` (readable or not), recursively, sorted."""
    found = [
        p for p in folder.rglob("*") if p.is_file() and is_document_name(p) and not _is_hidden(p, folder)
    ]
    return sorted(found)


def iter_sources(inputs: Iterable[str | Path]) -> Iterator[Path]:
    """Expand inputs into document paths, each at most once.

    Files are yielded as given (even with an unsupported suffix, so the caller can record an
    error); folders are walked recursively (sorted, hidden files skipped), yielding the documents
    docvlm reads and those of types it does not (``UNSUPPORTED_DOCUMENT_SUFFIXES``, so that they
    get an error record), but no other files; glob patterns are expanded the same way. A path
    that does not exist, or a pattern that matches nothing, is yielded as is so the caller can
    record it as an error.
    """
    seen: set[str] = set()

    def emit(p: Path) -> Iterator[Path]:
        key = os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            yield p

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for p in _walk(path):
                yield from emit(p)
        elif path.exists():
            yield from emit(path)
        elif glob.has_magic(str(item)):
            matches = sorted(glob.glob(str(item), recursive=True))
            if not matches:
                _log.info("no file matches %s", item)  # it gets an error record (the CLI also says so)
                yield from emit(path)
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    for p in _walk(mp):
                        yield from emit(p)
                elif is_document_name(mp) and not mp.name.startswith("."):
                    yield from emit(mp)
        else:
            yield from emit(path)


# ---------------------------------------------------------------- identifying files


def sniff(head: bytes) -> str | None:
    """The real file type from its first bytes: pdf, png, jpeg, tiff, bmp, webp, xml, or None."""
    from docvlm.einvoice.safe_xml import looks_like_xml

    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if looks_like_xml(head):
        return "xml"
    return None


def describe(head: bytes) -> str:
    kind = sniff(head)
    if kind:
        return f"{kind.upper()} data"
    if not head.strip():
        return "blank data"
    try:
        head[:256].decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unrecognised binary data"


def hash_file(path: Path) -> tuple[str, bytes]:
    """sha256 of the file's bytes, and its first 1 KiB for type sniffing."""
    h = hashlib.sha256()
    head = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            if not head:
                head = chunk[:1024]
            h.update(chunk)
    return h.hexdigest(), head


def bytes_sha256(data: bytes) -> str:
    """sha256 of a document given as bytes: the same digest ``hash_file`` gives its file."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a readable regular file, else None."""
    try:
        p = Path(path)
        return hash_file(p)[0] if p.is_file() else None
    except OSError:
        return None


__all__ = [
    "IMAGE_KINDS",
    "SUPPORTED_SUFFIXES",
    "UNSUPPORTED_DOCUMENT_SUFFIXES",
    "bytes_sha256",
    "describe",
    "file_sha256",
    "hash_file",
    "is_document_name",
    "iter_sources",
    "sniff",
]
