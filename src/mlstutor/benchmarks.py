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
from collections.abc import Callable
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


QUIZ_TOPICS = (
    "Kinesis",
    "Glue",
    "S3 encryption",
    "Athena",
    "Handling missing data",
    "Imbalanced data",
    "QuickSight",
    "XGBoost hyperparameters",
    "DeepAR",
    "Regularization",
    "SageMaker Neo",
    "SageMaker security",
)


def run_quiz_bench(
    settings: Settings,
    topics: tuple[str, ...] = QUIZ_TOPICS[:10],
    n: int = 5,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Practice-question quality and speed with the configured model: share of drafts that pass the checks,
    seconds per delivered question, the mix of model-written and extractive questions, and the tutor's own
    accuracy on the delivered questions when it reads the notes (a self-consistency check)."""
    from mlstutor.quiz import QuizMaster, validate
    from mlstutor.tutor import Tutor

    retriever = Retriever.open(settings)
    master = QuizMaster(retriever, settings, seed=0)
    tutor = Tutor(retriever, settings)
    rows, examples = [], []
    for i, topic in enumerate(topics, start=1):
        quiz = master.generate(topic, n=n)
        consistent = 0
        for q in quiz.questions:
            assert validate(q, q.citations[0]["text"]) is None  # delivered questions pass every check
            consistent += tutor.answer_mcq(q.stem, q.options, len(q.answer)) == sorted(q.answer)
        llm_made = sum(q.kind == "llm" for q in quiz.questions)
        rows.append(
            {
                "topic": topic,
                "delivered": len(quiz.questions),
                "drafts": quiz.stats.generated,
                "rejected": quiz.stats.rejected,
                "llm_written": llm_made,
                "seconds": quiz.stats.seconds,
                "self_consistent": consistent,
                "reasons": quiz.stats.reasons,
            }
        )
        examples += [q.to_dict() for q in quiz.questions if q.kind == "llm"][:1]
        if progress:
            progress(i, len(topics), topic)
    delivered = sum(r["delivered"] for r in rows)
    drafts = sum(r["drafts"] for r in rows)
    llm_drafts = sum(r["drafts"] - max(0, r["delivered"] - r["llm_written"]) for r in rows)
    return {
        "model": settings.model,
        "topics": len(topics),
        "delivered": delivered,
        "delivered_pass_checks": 1.0 if delivered else None,
        "draft_pass_rate": round(delivered / drafts, 3) if drafts else None,
        "llm_draft_pass_rate": round(sum(r["llm_written"] for r in rows) / llm_drafts, 3) if llm_drafts else None,
        "llm_written_share": round(sum(r["llm_written"] for r in rows) / delivered, 3) if delivered else None,
        "seconds_per_delivered": round(sum(r["seconds"] for r in rows) / delivered, 1) if delivered else None,
        "self_consistency": round(sum(r["self_consistent"] for r in rows) / delivered, 3) if delivered else None,
        "rows": rows,
        "examples": examples,
    }
