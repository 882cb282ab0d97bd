"""Question answering with a generative model: pages + question in, an ``Answer`` placed on the page out.

The QA prompt (``prompts.build_qa_prompt``) asks for ``{"answer": ...}`` (``prompts.QAReply``: one
model gives the reply's JSON schema and checks the reply). The reply goes through the re-ask
loop; the answer is then looked up in the page words (``docvlm.evidence``): found, it carries the
page, the box and a confidence of ``FOUND_PRIOR`` times the match score; not found, it is kept with
``UNGROUNDED_CONFIDENCE`` and no page, the same policy the ground stage applies to generated
values. When the model gives no usable reply, the layout engine answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from docvlm.datamodel import Page
from docvlm.engines.generative.fallback import LazyEngine
from docvlm.engines.generative.prompts import Prompt, QAReply, build_qa_prompt
from docvlm.engines.generative.reask import run_with_reask
from docvlm.errors import DecodeError
from docvlm.evidence import FOUND_PRIOR, UNGROUNDED_CONFIDENCE, find_evidence
from schemas.docvqa import Answer
from schemas.kinds import FieldKind

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

Generate = Callable[[Prompt, float, str | None], tuple[str, dict[str, int]]]


class GenerativeOptions(Protocol):
    """The options every generative engine has (``TransformersOptions``, ``OpenAIOptions``)."""

    max_attempts: int
    temperature: float
    temperature_step: float
    max_prompt_words: int


def grounded_answer(text: str, pages: Sequence[Page]) -> Answer:
    """``text`` as an answer, with the page and box of the words it was copied from when they are found."""
    text = " ".join(text.split())
    if not text:
        return Answer()
    ev = find_evidence(text, FieldKind.TEXT, pages)
    if ev is None:
        return Answer(answer=text, confidence=UNGROUNDED_CONFIDENCE)
    return Answer(answer=text, page=ev.page, bbox=list(ev.bbox), confidence=round(FOUND_PRIOR * ev.score, 4))


def generate_answer(
    generate: Generate,
    pages: Sequence[Page],
    question: str,
    images: list[Image.Image],
    options: GenerativeOptions,
    fallback: LazyEngine,
) -> Answer:
    """Ask the model ``question`` about ``pages`` (with ``images``), re-asking until the reply fits ``QAReply``."""
    prompt = build_qa_prompt(pages, question, max_words=options.max_prompt_words, images=images)
    try:
        out = run_with_reask(
            generate,
            prompt,
            QAReply,
            max_attempts=options.max_attempts,
            temperature=options.temperature,
            temperature_step=options.temperature_step,
            fallback=None,
        )
    except DecodeError as exc:
        _log.warning("no usable answer for %r (%s); asking the layout engine", question[:80], exc)
        return fallback.get().answer(pages, question)
    _log.debug("answer usage: %s", out.usage)
    answer: Any = out.data.get("answer")
    return grounded_answer(str(answer or ""), pages)


__all__ = ["GenerativeOptions", "generate_answer", "grounded_answer"]
