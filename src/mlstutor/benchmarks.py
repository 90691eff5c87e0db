"""Speed numbers for this machine: index build, cold start, warm query latency per mode.

Targets belong in numbers a person reads (the README table), not in timed tests that flake on a busy machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlstutor.config import Settings
from mlstutor.index import build_index, ensure_index
from mlstutor.retrieval import MODES, Retriever

SAMPLE_QUERIES = (
    "What is the maximum size of a record in Kinesis Data Streams?",
    "Which service converts streaming data to Parquet before it lands in S3?",
    "How do I handle class imbalance in a fraud data set?",
    "Which SageMaker algorithm detects anomalies in time series?",
    "What does L1 regularization do to feature weights?",
    "How can I query data in S3 with SQL without loading it into a database?",
    "When should I use RecordIO protobuf format?",
    "How do I pick the number of topics for LDA?",
    "What metric should I use when false negatives are expensive?",
    "How do I deploy a model to an endpoint that scales automatically?",
)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


def eval_questions(path: Path = Path("eval/facts.jsonl"), limit: int = 60) -> list[str]:
    """Questions for latency runs: the known-facts set when present, else a built-in sample."""
    if path.exists():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r["question"] for r in rows][:limit]
    return list(SAMPLE_QUERIES)


def run_retrieval_bench(settings: Settings, repeats: int = 3) -> dict:
    """Build into a scratch folder, time a cold CLI search, then warm searches per mode."""
    ensure_index(settings)  # the live index must exist for the cold-start run
    with tempfile.TemporaryDirectory(prefix="mlstutor-bench-") as tmp:
        t0 = time.perf_counter()
        build_index(settings.with_(index_dir=Path(tmp)))
        build_s = time.perf_counter() - t0

    cold: list[float] = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mlstutor.cli",
                "--corpus",
                str(settings.corpus_dir),
                "--index-dir",
                str(settings.index_dir),
                "search",
                SAMPLE_QUERIES[0],
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        cold.append(time.perf_counter() - t0)

    retriever = Retriever.open(settings)
    queries = eval_questions()
    latency: dict[str, dict[str, float]] = {}
    for mode in MODES:
        retriever.search(queries[0], mode=mode)  # warm-up (BM25 index, torch kernels)
        times = []
        for _ in range(repeats):
            for q in queries:
                t0 = time.perf_counter()
                retriever.search(q, mode=mode)
                times.append((time.perf_counter() - t0) * 1000)
        latency[mode] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 0.95), 1)}

    n_chunks = retriever.index.manifest["n_chunks"]
    rows = [
        "| measure | value |",
        "| --- | --- |",
        f"| index build ({n_chunks} chunks, model load included) | {build_s:.1f} s |",
        f"| cold start: `mlstutor search` process, index built (median of {len(cold)}) | "
        f"{statistics.median(cold):.1f} s |",
    ]
    for mode, lat in latency.items():
        rows.append(
            f"| warm query `{mode}` p50 / p95 ({len(queries)} queries × {repeats}) | "
            f"{lat['p50_ms']} / {lat['p95_ms']} ms |"
        )
    return {
        "build_seconds": round(build_s, 2),
        "cold_start_seconds": round(statistics.median(cold), 2),
        "latency": latency,
        "n_chunks": n_chunks,
        "table": "\n".join(rows),
    }
