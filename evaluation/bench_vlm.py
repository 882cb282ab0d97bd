"""Benchmark of the transformers engine: token counts, constraint cost and pipeline overhead.

In: a model folder or id (default: a tiny random-weight Qwen2.5-VL built offline into a temp dir)
and pages (default: generated invoice pages; or ``--pdf`` files). Out: a printed report with

- prompt tokens and image tokens per page;
- constraint overhead per generated token: constrained vs unconstrained ``generate`` forced to
  produce the same number of tokens;
- pipeline overhead: ``engine.extract`` wall time minus a bare ``model.generate`` call on the same
  inputs with the same constraint and token count (target: <= 10% of engine time).

Run: ``python -m evaluation.bench_vlm [--model DIR] [--family qwen2_5_vl] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``fn`` over ``repeats`` runs (after one warm-up) and its last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _pages(pdfs: list[Path]) -> list[Any]:
    if not pdfs:
        from tests.helpers.pages import make_raster_page

        return [make_raster_page(1)]
    from docvlm.ingest import open_document

    pages: list[Any] = []
    for pdf in pdfs:
        pages.extend(open_document(pdf).pages())
    return pages


def run(
    model: str, pages: list[Any], repeats: int, max_new_tokens: int, max_prompt_words: int
) -> dict[str, float]:
    """Measure one model on ``pages``; returns the numbers it prints."""
    import torch
    from transformers import LogitsProcessorList

    from docvlm.engines import TransformersOptions, create_engine
    from docvlm.engines.transformers.constrain import make_logits_processor
    from schemas.invoice import Invoice

    options = TransformersOptions(
        model=model, max_new_tokens=max_new_tokens, max_prompt_words=max_prompt_words, batch_size=8
    )
    engine: Any = create_engine(options)
    results: dict[str, float] = {}
    print(f"model: {model} ({engine.config.model_type}, {type(engine.family).__name__}) on {engine.device}")

    def encode(jobs: list[Any]) -> Any:
        """The engine's own batch encoding of ``jobs`` (one model call per job, left-padded)."""
        texts = [engine.family.build_text(j.prompt, len(j.images)) for j in jobs]
        return engine.processor(
            **engine.family.processor_inputs(texts, [j.images for j in jobs]),
            padding=True,
            return_tensors="pt",
        )

    # 1. tokens per page (a page is one call, or one call per tile for one-image families)
    for page in pages:
        jobs = engine._jobs([[page]], Invoice)
        for job in jobs:
            ids = encode([job])["input_ids"][0].tolist()
            image_tokens = sum(1 for t in ids if t in engine._image_token_ids)
            size = job.images[0].size
            print(
                f"page {page.number}: {len(job.images)} image(s) {size[0]}x{size[1]}, prompt tokens {len(ids)}, "
                f"image tokens {image_tokens}, text tokens {len(ids) - image_tokens}"
            )
    page = pages[0]
    jobs = engine._jobs([[page]], Invoice)
    prompt = jobs[0].prompt
    inputs = encode(jobs).to(engine.device)
    n_in = inputs["input_ids"].shape[1]

    def generate(constrained: bool, n_tokens: int | None = None, force: bool = True) -> Any:
        procs = LogitsProcessorList()
        if constrained:
            procs.append(
                make_logits_processor(
                    prompt.json_schema or {},
                    engine.tokenizer,
                    engine.vocab_size,
                    engine.stop_token_ids,
                    max_new_tokens=max_new_tokens,
                )
            )
        extra: dict[str, Any] = {"max_new_tokens": n_tokens or max_new_tokens}
        if n_tokens is not None and force:
            extra["min_new_tokens"] = n_tokens  # the same token count with and without the grammar
        with torch.inference_mode():
            return engine.model.generate(
                **inputs,
                logits_processor=procs,
                eos_token_id=engine.stop_token_ids,
                pad_token_id=engine.pad_token_id,
                do_sample=False,
                **extra,
            )

    # 2. constraint overhead per token, same number of tokens
    out = generate(True)
    n_gen = int(out.shape[1] - n_in)
    t_con, _ = _timed(lambda: generate(True, n_gen), repeats)
    t_free, _ = _timed(lambda: generate(False, n_gen), repeats)
    rows = int(inputs["input_ids"].shape[0])
    # per generated token of one sequence: the grammar fills one mask per row and step
    per_token_ms = (t_con - t_free) / max(1, n_gen * rows) * 1000
    print(
        f"generate {n_gen} tokens x {rows} row(s): constrained {t_con:.3f} s, unconstrained {t_free:.3f} s; "
        f"constraint overhead {per_token_ms:.3f} ms/token ({(t_con - t_free) / t_free * 100:+.1f}%)"
    )
    results.update(
        tokens=n_gen, constrained_s=t_con, unconstrained_s=t_free, constraint_ms_per_token=per_token_ms
    )

    # 3. pipeline overhead: the whole engine call vs the bare generate inside it
    t_engine, output = _timed(lambda: engine.extract([page], Invoice), repeats)
    failed = [a for a in output.attempts if a.error]
    if output.fallback or failed:
        print(f"note: {len(failed)} rejected attempt(s), fallback={output.fallback}: not comparable")
    engine_tokens = int(output.usage.get("completion_tokens", n_gen))
    # same inputs, same grammar, greedy: the bare call stops at the same token as the engine's
    t_bare, _ = _timed(lambda: generate(True, max(1, engine_tokens), force=False), repeats)
    overhead = t_engine - t_bare
    print(
        f"engine.extract {t_engine:.3f} s vs bare model.generate {t_bare:.3f} s ({engine_tokens} tokens in all rows): "
        f"pipeline overhead {overhead:.3f} s = {overhead / t_engine * 100:.1f}% of engine time (target <= 10%)"
    )
    results.update(engine_s=t_engine, bare_generate_s=t_bare, pipeline_overhead_pct=overhead / t_engine * 100)
    engine.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="model folder or id (default: a tiny random-weight model)")
    parser.add_argument("--family", default="qwen2_5_vl", help="tiny model family when --model is not given")
    parser.add_argument("--pdf", type=Path, action="append", default=[], help="PDF(s) to take pages from")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--max-prompt-words", type=int, default=600)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (tiny models: 1 is fastest)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    pages = _pages(args.pdf)
    if args.model:
        run(args.model, pages, args.repeats, args.max_new_tokens, args.max_prompt_words)
        return 0
    from tests.vlm.tiny_models import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_model(args.family, Path(tmp) / args.family)
        run(str(folder), pages, args.repeats, args.max_new_tokens, args.max_prompt_words)
    return 0


if __name__ == "__main__":
    sys.exit(main())
