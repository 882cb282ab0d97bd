"""What a batch will do, told before it starts, and a progress bar while it runs.

In: the inputs of a batch (files, folders, globs) and the sources an earlier run already recorded
(``--resume``). Out: an ``InputSurvey``: the documents to read, in input order, how many are
already done, the inputs that do not exist, and the files of types docvlm does not read (each
still gets an ``UnsupportedType`` record). Counting is cheap: a folder walk and, on a resume, a
sha256 per done file. ``ProgressBar`` shows the total, the percentage, the ETA, the counts by
status and the file being read; it is a no-op when turned off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from docvlm.sources import SUPPORTED_SUFFIXES, iter_sources

_log = logging.getLogger(__name__)

#: how many unsupported files the notice names before it says "and N more"
LISTED_MAX = 20


@dataclass
class InputSurvey:
    """The documents of a batch, counted before any is read."""

    todo: list[str] = field(default_factory=list)  # sources to read, in input order
    done: int = 0  # sources an earlier run recorded (skipped)
    missing: list[str] = field(default_factory=list)  # inputs that do not exist (each gets an error record)
    unsupported: list[str] = field(default_factory=list)  # files of types docvlm does not read

    def notices(self) -> list[str]:
        """The lines to print on stderr before the batch starts."""
        lines = [f"error: input not found: {m} (its record is an error)" for m in self.missing]
        if self.unsupported:
            shown = ", ".join(self.unsupported[:LISTED_MAX])
            more = len(self.unsupported) - LISTED_MAX
            lines.append(
                f"note: {len(self.unsupported)} file{'s' * (len(self.unsupported) != 1)} of a type docvlm "
                f"does not read (each gets an error record): {shown}"
                + (f" and {more} more" if more > 0 else "")
            )
        return lines


def survey_inputs(inputs: Iterable[str | Path], done: Collection[str] = ()) -> InputSurvey:
    """Expand ``inputs`` as the batch will (``sources.iter_sources``) and sort the sources out."""
    survey = InputSurvey()
    for path in iter_sources(inputs):
        src = str(path)
        is_uri = "://" in src and not src.startswith("file://")
        if not is_uri and not os.path.lexists(src):
            survey.missing.append(src)
        elif not is_uri and path.suffix.lower() not in SUPPORTED_SUFFIXES:
            survey.unsupported.append(src)
        if done and src in done:
            survey.done += 1
        else:
            survey.todo.append(src)
    return survey


class ProgressBar:
    """A tqdm bar over the documents of a batch (``enabled=False``: does nothing)."""

    def __init__(self, total: int, enabled: bool = True, file: IO[str] | None = None) -> None:
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="doc", file=file)
        self._current = ""
        self._counts: dict[str, int] = {}

    def reading(self, source: str) -> None:
        """The document a worker takes next (shown as the bar's last field)."""
        self._current = Path(source).name
        if self._bar is not None:
            self._bar.set_postfix({**self._counts, "file": self._current})

    def on_source(self) -> Callable[[str], None] | None:
        return self.reading if self._bar is not None else None

    def finished(self, counts: dict[str, int], file_done: bool) -> None:
        """A record was written; ``file_done``: it was its file's last (a file of several invoices gives several)."""
        if self._bar is None:
            return
        self._counts = dict(counts)
        self._bar.set_postfix({**self._counts, "file": self._current}, refresh=not file_done)
        if file_done:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
