"""The due date from the payment terms, when no due date is printed: the invoice date plus the days
the terms give ("Zahlbar innerhalb 30 Tagen netto", "Net 30", "30 jours net"), or the invoice date
itself when payment is due on receipt ("Zahlbar sofort", "Due upon receipt", "A réception").

In: the document's lines and the rules' ``HeaderResult`` (its invoice date). Out: a ``due_date``
candidate in it, with the terms' words as evidence. EN 16931 sets the due date (BT-9) so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from docvlm import parsers
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import Candidate, HeaderResult
from docvlm.engines.layout.text import PageLines

_CLAUSE = re.compile(r"[^,;.!?]+(?:[.,](?=\d)[^,;.!?]*)*")  # a sentence's clauses, keeping "3.5" whole
_MAX_DAYS = 180
_SCORE = 0.6  # below a printed due date's label (1.0) and its reading of the date


def due_from_terms(pls: Sequence[PageLines], res: HeaderResult) -> None:
    """Put a ``due_date`` from the payment terms when the rules found an invoice date and no due date."""
    if "due_date" in res.values or "invoice_date" not in res.values:
        return
    try:
        issued = dt.date.fromisoformat(res.values["invoice_date"])
    except ValueError:
        return
    best: tuple[int, Candidate] | None = None
    for pl in pls:
        for tl in pl.lines:
            if lx.PAYMENT_WORDS.search(tl.text) is None:
                continue
            m = lx.TERMS_AT_ONCE.search(tl.text)
            if m is not None and best is None:
                best = (0, Candidate("due_date", issued.isoformat(), tl.evidence(m.start(), m.end()), _SCORE))
            for clause in _CLAUSE.finditer(tl.text):
                text = clause.group(0)
                if lx.TERMS_NOT_DUE.search(text) or lx.PAYMENT_WORDS.search(text) is None:
                    continue
                for d in lx.TERMS_DAYS.finditer(text):
                    days = int(d.group("days") or d.group("net"))
                    # the longest term of the page is the net one ("8 Tage 2 % Skonto, 30 Tage netto")
                    if 0 < days <= _MAX_DAYS and (best is None or days > best[0]):
                        a, b = clause.start() + d.start(), clause.start() + d.end()
                        due = (issued + dt.timedelta(days=days)).isoformat()
                        # the date the clause prints ("30 Tage netto bis 04.07.2013") over the sum
                        printed = parsers.find_dates(text[d.end() :], dayfirst=res.dayfirst)
                        if printed and printed[0][0] >= issued:
                            day, raw = printed[0]
                            a = clause.start() + d.end() + text[d.end() :].find(raw)
                            due, b = day.isoformat(), a + len(raw)
                        best = (days, Candidate("due_date", due, tl.evidence(a, b), _SCORE))
    if best is not None:
        res.put(best[1])
