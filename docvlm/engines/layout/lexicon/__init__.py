"""All the vocabulary of the layout engine and the QA route, as data, in one place.

- ``labels``: header-field and party labels, and the label classes with their languages (features);
- ``amounts``: amount labels (subtotal, tax, total, amount due) and the words that exclude one;
- ``names``: title words, company legal forms, street words, postcodes, legal footers;
- ``forms``: checkbox glyphs, blanks and form-label words in five languages (key-value reader);
- ``receipts``: till-receipt words; ``questions``: the phrases a question names a field by.

The modules hold regular-expression fragments and word lists, nothing that looks at a page; the
rules import them as ``from docvlm.engines.layout import lexicon as lx`` and read ``lx.NAME``.
"""

from __future__ import annotations

from docvlm.engines.layout.lexicon.amounts import *  # noqa: F403
from docvlm.engines.layout.lexicon.forms import *  # noqa: F403
from docvlm.engines.layout.lexicon.labels import *  # noqa: F403
from docvlm.engines.layout.lexicon.names import *  # noqa: F403
from docvlm.engines.layout.lexicon.receipts import *  # noqa: F403
