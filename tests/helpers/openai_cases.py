"""Shared cases of the ``openai`` engine tests: a one-page invoice, the model's right reply for it,
the fault replies of the fake server, and the engine options pointed at a fake server.

Used by the local engine's tests (``tests/unit/test_openai_engine.py``) and by the Ray VLM stage's
(``tests/scale/test_ray_vlm.py``), which must end every fault as the local engine does.
"""

from __future__ import annotations

from collections.abc import Callable

from docvlm.engines import OpenAIOptions
from tests.helpers.fake_openai_server import FakeOpenAIServer, Reply, chat_reply, json_reply

#: the words of a one-page invoice, as (x, y, text) for ``tests.helpers.pages.make_pdf``
INVOICE: list[tuple[float, float, str]] = [
    (50, 60, "Nordlicht Werkzeuge GmbH"),
    (50, 74, "Hafenstrasse 12, 20457 Hamburg"),
    (350, 120, "Invoice No: RE-2024-0042"),
    (350, 134, "Date: 05.03.2024"),
    (50, 200, "Description"),
    (480, 200, "Amount"),
    (50, 220, "Wrench set"),
    (480, 220, "100,00"),
    (380, 300, "Subtotal"),
    (480, 300, "100,00"),
    (380, 314, "VAT 19%"),
    (480, 314, "19,00"),
    (380, 328, "Total EUR"),
    (480, 328, "119,00"),
]
#: the reply a model should give for ``INVOICE``
GOOD = {
    "invoice_number": "RE-2024-0042",
    "invoice_date": "2024-03-05",
    "currency": "EUR",
    "vendor": {"name": "Nordlicht Werkzeuge GmbH"},
    "subtotal": "100.00",
    "tax_total": "19.00",
    "total": "119.00",
    "line_items": [{"description": "Wrench set", "amount": "100.00"}],
}

#: one fault per name: attempt number -> the fake server's reply
FAULTS: dict[str, Callable[[int], Reply]] = {
    "RATE": lambda n: (
        Reply(429, {"error": "slow"}, headers={"Retry-After": "0"}) if n == 0 else json_reply(GOOD)
    ),
    "DOWN": lambda n: Reply(500, {"error": "down"}),
    "HANG": lambda n: Reply(delay=2.0, body={}),
    "PROSE": lambda n: chat_reply("I am sorry, I cannot help with that."),
    "CUT": lambda n: chat_reply('{"invoice_number": "RE-2024-0042", "total": "11'),
    "SCHEMA": lambda n: json_reply({"total": "a lot", "currency": "Euro"}),
    "EMPTY": lambda n: Reply(body={"id": "x", "choices": []}),
}


def options(srv: FakeOpenAIServer, **kw: object) -> OpenAIOptions:
    """Engine options pointed at ``srv``, with short timeouts and back-offs; ``kw`` overrides."""
    base: dict[str, object] = {
        "model": "fake-vlm",
        "base_url": srv.base_url,
        "api_key_env": "DOCVLM_TEST_KEY",
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_s": 0.01,
        "max_attempts": 3,
        "max_concurrency": 2,
        "max_pixels": 200_000,
    }
    base.update(kw)
    return OpenAIOptions(**base)  # type: ignore[arg-type]
