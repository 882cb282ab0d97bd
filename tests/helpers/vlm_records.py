"""Records of the VLM engines on real folders, without weights or a server: for before/after checks.

The transformers engine runs a tiny random-weight model (``tests/vlm/tiny_models.py``); the openai
engine talks to ``FakeOpenAIServer`` answering with ``scripted_reply``, a pure function of the
request: values are copied from the page words in the prompt (so some ground and some do not), a
digest of the images goes into ``purchase_order`` (so a changed image changes the record), and
the text's hash picks a failure for some pages (no JSON, a cut-off reply, a schema error on the
first attempt, or no usable reply at all, which falls back to the layout engine).

    python -m tests.helpers.vlm_records --engine openai samples/ -o openai.jsonl
    python -m tests.helpers.vlm_records --engine transformers --model DIR samples/ -o tf.jsonl
    python -m tests.helpers.vlm_records --engine hybrid --model DIR samples/ -o hy.jsonl
    python -m tests.helpers.vlm_records --build-tiny qwen2_5_vl --model DIR   # build the tiny model once

Run the same command on two commits and compare with ``evaluation/compare_records.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from tests.helpers.fake_openai_server import FakeOpenAIServer, Reply, chat_reply

_WORD_LINE = re.compile(r"^(.+) \[\d+,\d+,\d+,\d+\]$")
_AMOUNT = re.compile(r"^[-(]?[$€£]?(\d{1,3}(?:[,.]\d{3})*|\d+)[.,](\d{2})\)?$")
_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _prompt_parts(body: dict[str, Any]) -> tuple[str, str, int]:
    """(first user text, digest of its images, attempt number) of a chat request."""
    messages = body.get("messages") or []
    user = messages[1]["content"] if len(messages) > 1 else ""
    texts: list[str] = []
    urls: list[str] = []
    if isinstance(user, str):
        texts.append(user)
    else:
        for part in user:
            if part.get("type") == "text":
                texts.append(part.get("text", ""))
            elif part.get("type") == "image_url":
                urls.append(part["image_url"]["url"])
    digest = hashlib.sha256("".join(urls).encode()).hexdigest()[:10]
    return "".join(texts), digest, (len(messages) - 2) // 2 + 1


def _page_words(text: str) -> list[str]:
    inside = text.split("<words>", 1)[-1].split("</words>", 1)[0]
    return [m.group(1) for line in inside.splitlines() if (m := _WORD_LINE.match(line.strip()))]


def _amount(words: list[str], rng: random.Random) -> str:
    found = []
    for w in words:
        m = _AMOUNT.match(w.replace(" ", ""))
        if m:
            found.append(f"{m.group(1).replace(',', '').replace('.', '')}.{m.group(2)}")
    return rng.choice(found) if found and rng.random() < 0.8 else f"{rng.randint(1, 999)}.00"


def _date(words: list[str], rng: random.Random) -> str:
    found = []
    for w in words:
        m = _DATE.match(w)
        if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(1)) <= 28:
            found.append(f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}")
        elif _ISO_DATE.match(w):
            found.append(w)
    return rng.choice(found) if found and rng.random() < 0.8 else "2024-01-15"


def _text(words: list[str], rng: random.Random, max_len: int) -> str:
    if not words or rng.random() < 0.2:
        return "Unprinted Value Ltd"[:max_len]
    i = rng.randrange(len(words))
    return " ".join(words[i : i + rng.randint(1, 3)])[:max_len].strip() or "x"


def _instance(
    schema: dict[str, Any], words: list[str], rng: random.Random, digest: str, key: str = ""
) -> Any:
    """A value of ``schema`` (a bounded JSON schema) drawn from the page words."""
    if "anyOf" in schema:
        options = schema["anyOf"]
        if any(o.get("type") == "null" for o in options) and rng.random() < 0.3:
            return None
        return _instance(next(o for o in options if o.get("type") != "null"), words, rng, digest, key)
    kind = schema.get("type")
    if kind == "object":
        return {k: _instance(v, words, rng, digest, k) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        n = min(rng.randint(0, 3), schema.get("maxItems", 3))
        return [_instance(schema["items"], words, rng, digest, key) for _ in range(n)]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if kind == "boolean":
        return rng.random() < 0.5
    pattern = schema.get("pattern", "")
    if key == "purchase_order":
        return f"PO-{digest}"
    if key == "currency" or pattern == r"^[A-Z]{3}$":
        return rng.choice(["EUR", "USD", "MYR", "GBP", "XQZ"])  # XQZ is not ISO 4217: a schema error
    if "[0-9]{4}-" in pattern:
        return _date(words, rng)
    if pattern.startswith("^-?[0-9]"):
        return _amount(words, rng)
    return _text(words, rng, int(schema.get("maxLength", 60)))


def scripted_reply(body: dict[str, Any]) -> Reply:
    """The fake server's reply to one chat request: deterministic in the prompt text and images."""
    text, digest, attempt = _prompt_parts(body)
    seed = hashlib.sha256(f"{text}|{attempt}".encode()).digest()
    rng = random.Random(seed)
    mode = hashlib.sha256(text.encode()).digest()[0] % 10
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or {"type": "object", "properties": {}}
    if mode == 0:
        return chat_reply("I cannot read this document.")  # never JSON: the page falls back
    if mode == 1 and attempt == 1:
        return chat_reply('{"invoice_number": "A-1", "total": ', finish_reason="length")
    value = _instance(schema, _page_words(text), rng, digest)
    content = json.dumps(value)
    if mode == 2 and attempt == 1:
        content = f"Here is the data:\n```json\n{content[:-1]},}}\n```"  # a trailing comma to repair
    if mode == 3 and attempt == 1 and isinstance(value, dict):
        value = {**value, "unexpected_key": 1}  # a schema error: the reply is re-asked
        content = json.dumps(value)
    return chat_reply(content, prompt_tokens=len(text) // 4, completion_tokens=len(content) // 4)


def _engine_options(args: argparse.Namespace, base_url: str | None) -> Any:
    from docvlm.engines import HybridOptions, OpenAIOptions, TransformersOptions

    vlm: Any
    if base_url is not None:
        vlm = OpenAIOptions(model="fake", base_url=base_url, max_concurrency=2, backoff_s=0.01)
    else:
        vlm = TransformersOptions(model=str(args.model), max_new_tokens=args.max_new_tokens, batch_size=2)
    return HybridOptions(vlm=vlm) if args.engine.startswith("hybrid") else vlm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*")
    ap.add_argument(
        "--engine", choices=["openai", "transformers", "hybrid", "hybrid-openai"], default="openai"
    )
    ap.add_argument("--model", type=Path, help="tiny model folder (transformers and hybrid)")
    ap.add_argument(
        "--build-tiny", metavar="FAMILY", help="build the tiny model FAMILY into --model and exit"
    )
    ap.add_argument("--max-new-tokens", type=int, default=1024)
    ap.add_argument("-o", "--output", type=Path, required=False)
    args = ap.parse_args(argv)
    if args.build_tiny:
        from tests.vlm.tiny_models import build_tiny_model

        build_tiny_model(args.build_tiny, args.model)
        return 0
    import torch

    from docvlm.pipeline import Pipeline, PipelineOptions
    from docvlm.runner import LimitOptions

    torch.manual_seed(0)
    torch.set_num_threads(1)
    uses_server = args.engine in ("openai", "hybrid-openai")
    with FakeOpenAIServer(default=scripted_reply) as server:
        # in this process, without time or memory limits: a loaded machine must not change a record
        options = PipelineOptions(
            engine=_engine_options(args, server.base_url if uses_server else None),
            limits=LimitOptions(doc_timeout_s=0, max_worker_mb=0),
        )
        pipe = Pipeline(options)
        n = 0
        with open(args.output, "w", encoding="utf-8") as fh:
            try:
                for ex in pipe.run(args.inputs):
                    fh.write(json.dumps(ex.to_record(), ensure_ascii=False) + "\n")
                    n += 1
            finally:
                pipe.close()
    print(f"{n} records -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
