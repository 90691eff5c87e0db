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
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
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


QUIZ_TOPICS = (  # the ten topics the practice issue was judged on
    "Kinesis Data Firehose",
    "AWS Glue",
    "XGBoost",
    "imbalanced data",
    "feature engineering",
    "precision and recall",
    "hyperparameter tuning",
    "SageMaker endpoints and deployment",
    "security and encryption",
    "Amazon Comprehend",
)
FRESH_TOPICS = ("streaming ETL", "topic modeling", "anomaly detection")  # free text, not in the topic list


def run_quiz_bench(
    settings: Settings,
    topics: tuple[str, ...] = QUIZ_TOPICS,
    n: int = 5,
    progress: Callable[[int, int, str], None] | None = None,
    tutor_check: bool = True,
) -> dict:
    """Practice questions as a learner meets them: per topic, how many of ``n`` the bank delivers, how long a quiz
    takes to start, what the acceptability checks say of each (on topic, fragment key, two true options, …), the
    share of scenario items, rationale coverage, and the tutor's own accuracy on them (it reads the notes)."""
    from mlstutor.quiz import QuestionBank, QuizMaster, acceptability

    t0 = time.perf_counter()
    retriever = Retriever.open(settings)
    bank = QuestionBank.of(retriever)
    bank_s = time.perf_counter() - t0
    tutor = None
    if tutor_check:
        from mlstutor.tutor import Tutor

        tutor = Tutor(retriever, settings)
    rows, questions = [], []
    start_times = []
    for i, topic in enumerate(topics, start=1):
        master = QuizMaster(retriever, settings, seed=i)
        t = time.perf_counter()
        try:
            quiz = master.generate(topic, n=n, difficulty="medium")
            qs = quiz.questions
        except MlstutorError:
            qs = []
        start_times.append(time.perf_counter() - t)
        problems = [acceptability(q, topic, bank.notes) for q in qs]
        right = 0
        if tutor is not None:
            for q in qs:
                right += tutor.answer_mcq(q.stem, q.options, len(q.answer)) == sorted(q.answer)
        rows.append(
            {
                "topic": topic,
                "delivered": len(qs),
                "accepted_by_checks": sum(not p for p in problems),
                "off_topic": sum(any(x.startswith("off topic") for x in p) for p in problems),
                "fragment_key": sum(any(x.startswith("fragment") for x in p) for p in problems),
                "two_true": sum(any(x.startswith("two true") for x in p) for p in problems),
                "scenario": sum(q.scenario for q in qs),
                "types": dict(Counter(q.kind for q in qs)),
                "tutor_right": right,
                "start_seconds": round(start_times[-1], 3),
            }
        )
        questions += [q.to_dict() for q in qs]
        if progress:
            progress(i, len(topics), topic)
    fresh = []
    for topic in FRESH_TOPICS:
        t = time.perf_counter()
        try:
            got = QuizMaster(retriever, settings, seed=0).generate(topic, n=1).questions
        except MlstutorError:
            got = []
        fresh.append({"topic": topic, "seconds": round(time.perf_counter() - t, 3), "delivered": len(got)})
    delivered = sum(r["delivered"] for r in rows)
    rationale_ok = sum(
        all(q["rationales"].get(k, {}).get("why") and q["rationales"][k].get("citation") for k in q["options"])
        for q in questions
    )
    return {
        "model": settings.model if tutor_check else None,
        "topics": len(topics),
        "asked": n * len(topics),
        "delivered": delivered,
        "on_topic_rate": round(1 - sum(r["off_topic"] for r in rows) / delivered, 3) if delivered else None,
        "fragment_keys": sum(r["fragment_key"] for r in rows),
        "two_true_options": sum(r["two_true"] for r in rows),
        "scenario_share": round(sum(r["scenario"] for r in rows) / delivered, 3) if delivered else None,
        "rationale_coverage": round(rationale_ok / delivered, 3) if delivered else None,
        "tutor_accuracy": round(sum(r["tutor_right"] for r in rows) / delivered, 3) if tutor and delivered else None,
        "quiz_start_p50_s": round(statistics.median(start_times), 3),
        "fresh_topic_first_question_s": max(f["seconds"] for f in fresh),
        "fresh_topics": fresh,
        "bank": {
            "build_seconds": round(bank_s, 2),
            "bank_only_seconds": round(bank.stats.seconds, 2),
            "facts": bank.stats.facts,
            "drafted": bank.stats.drafted,
            "kept": len(bank.items),
            "rejected": bank.stats.rejected,
            "types": dict(Counter("scenario" if q.scenario else q.kind for q in bank.items)),
            "domains": dict(Counter(q.domain for q in bank.items)),
        },
        "rows": rows,
        "questions": questions,
    }


def sample_questions(settings: Settings, k: int = 10, seed: int = 2026) -> list:
    """``k`` bank questions chosen by a fixed seed, at most one per subject, every item type: what the README
    prints verbatim (not chosen by hand)."""
    import random

    from mlstutor.quiz import QuestionBank

    bank = QuestionBank.of(Retriever.open(settings))
    rng = random.Random(seed)
    items = rng.sample(bank.items, len(bank.items))
    out, subjects = [], set()
    for kind in ("scenario", "which", "value", "two", "term", "list"):
        for q in items:
            if ("scenario" if q.scenario else q.kind) == kind and q.subject not in subjects:
                out.append(q)
                subjects.add(q.subject)
                break
    for q in items:
        if len(out) >= k:
            break
        if q.subject not in subjects:
            out.append(q)
            subjects.add(q.subject)
    return out[:k]
