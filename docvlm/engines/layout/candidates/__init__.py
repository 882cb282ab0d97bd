"""Candidates: the rules that propose header-field values from page geometry, one module per job.

- ``values``: typed value readers (ids, dates, tax ids, IBANs, e-mail, phone) and amount spans;
- ``labels``: where a label's value sits; ``keyed``: labelled ids, dates and references;
- ``dates``: the date order; ``amounts``: labelled amounts and the currency;
- ``parties``/``vendor``/``ids``: party blocks, the seller, party identifiers;
- ``header``: every rule over one document (``extract_header``), the rules' own choice per field;
- ``pool``: every plausible value per field with its features' raw material, for the ranker.
"""

from __future__ import annotations

import logging

_log = logging.getLogger(__name__)
