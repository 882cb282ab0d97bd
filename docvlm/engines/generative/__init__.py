"""The generative wing: what every engine that prompts a vision-language model shares.

A generative engine (``transformers``, ``openai``; the ``hybrid`` engine asks one) runs, per page:

- ``images``: the page as images within the model's pixel budget (``fit_page``);
- ``prompts``: the OCR-grounded prompt (page words with boxes, a layout rendering) and the reply
  schema (``json_schema.bounded_json_schema``; ``QAReply`` for questions);
- ``reask``: generate, ``decode`` the reply to JSON, check it against the schema, ask again with the
  error, and finally fall back to the layout engine (``fallback.LazyEngine``, built on first use);
- ``merge``: the per-page outputs joined into one document output (``merge_page_outputs``);
- ``answers``: a question answered and the answer placed on the page.

Out: candidates (``EngineOutput``) whose generated paths the pipeline's ground stage must find on
the page. Nothing here imports the stages (pipeline, validate, ground, ingest, sinks).
"""
