"""Scale-out: the same extraction job as a Ray Data job, on a laptop or a cluster.

In: paths, folders, globs or URIs (``s3://``, ``gs://``, ``abfs://``, any fsspec scheme), or a
Ray dataset of file bytes. Out: a ``ray.data.Dataset`` with one row per input document, each the
output record of the local pipeline (``record``: the JSONL line) flattened as the Parquet sink
flattens it. ``docvlm.scale.vlm`` runs generative engines through ``ray.data.llm`` processors
(vLLM on GPUs, or any OpenAI-compatible endpoint).

Needs the ``ray`` extra: ``pip install 'docvlm[ray]'``.
"""

from __future__ import annotations

from docvlm.scale.dataset import RayOptions, connect, extract_dataset, read_sources
from docvlm.scale.job import ParquetFolder, records, run_job, write_dataset

__all__ = [
    "ParquetFolder",
    "RayOptions",
    "connect",
    "extract_dataset",
    "read_sources",
    "records",
    "run_job",
    "write_dataset",
]
