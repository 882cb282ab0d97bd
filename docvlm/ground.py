"""Ground stage: the validated model in, evidence (page, box, printed text, score) and confidence out.

In: the ``Validated`` record (its typed model: Decimal money, dates), the engine's output (the
evidence and confidence it already has, and which paths a generative model produced) and the
pages. Out: a ``Grounding`` with evidence and a confidence for every emitted value.

Values an engine located itself keep their evidence. Values a generative model produced, and values
without evidence, are searched for in the page words (``docvlm.evidence``: amounts and dates by
value, text by fuzzy match). A generated value that is not found is flagged ``ungrounded`` and gets a
low confidence; this is also the defence against hallucinations and instructions planted in a
document. Rule failures lower the confidence of the fields they name. Values that come from
elsewhere than the page (an e-invoice's XML: ``EngineOutput.source``) keep their confidence, their
evidence says where they came from, and each path the output expects on the page
(``EngineOutput.expect_on_page``) that is not found gets the warning it names.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from docvlm.datamodel import EngineOutput, Grounding, Page, RecordWarning, Validated
from docvlm.evidence import FOUND_PRIOR, UNGROUNDED_CONFIDENCE, PageIndex, find_evidence
from docvlm.paths import get_path, iter_leaves
from schemas.kinds import kind_of

_log = logging.getLogger(__name__)

#: factor on the confidence of a field named by a failing business rule
RULE_PENALTY = 0.6
#: most confidence a searched value can reach (times its match score)
FOUND_CAP = 0.95


def ground(
    validated: Validated, output: EngineOutput, pages: Sequence[Page], index: PageIndex | None = None
) -> Grounding:
    """Evidence and confidence for every non-null leaf of ``validated.model``.

    ``index``: the pages' ``PageIndex`` when an earlier stage built one (the e-invoice cross-check).
    """
    result = Grounding()
    schema = type(validated.model)
    for path, value in iter_leaves(validated.model):
        ev = output.evidence.get(path)
        if ev is not None and path not in output.generated:
            result.evidence[path] = ev
            result.confidence[path] = output.confidence.get(path, ev.score)
            continue
        if index is None:
            index = PageIndex(pages)
        found = find_evidence(value, kind_of(schema, path), index, exact_ids=output.source is not None)
        if output.source is not None:  # values from elsewhere (XML): the page locates them, nothing more
            result.confidence[path] = output.confidence.get(path, 1.0)
            if found is not None:
                result.evidence[path] = replace(found, source=output.source)
            elif path in output.expect_on_page:
                shown = get_path(validated.data, path)
                result.warnings.append(
                    RecordWarning(
                        output.expect_on_page[path],
                        f"{path}={shown!s} ({output.source}) is not printed on the page",
                        path,
                    )
                )
        elif found is not None:
            result.evidence[path] = found
            result.confidence[path] = min(output.confidence.get(path, FOUND_PRIOR), FOUND_CAP) * found.score
        else:
            result.confidence[path] = UNGROUNDED_CONFIDENCE
            if path in output.generated:
                shown = get_path(validated.data, path)  # the value as the record writes it
                result.warnings.append(
                    RecordWarning(
                        "ungrounded", f"{path}={shown!r} is not supported by any text on the page", path
                    )
                )
    for w in validated.warnings:
        if w.field and w.field in result.confidence:
            result.confidence[w.field] *= RULE_PENALTY
    result.confidence = {k: max(0.0, min(1.0, v)) for k, v in result.confidence.items()}
    return result


__all__ = ["ground"]
