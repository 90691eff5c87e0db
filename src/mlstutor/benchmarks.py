"""Speed numbers for this machine: index build, cold start, warm query latency per mode.

Targets belong in numbers a person reads (the README table), not in timed tests that flake on a busy machine.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.evidence import EvidenceFinder
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
    finder = EvidenceFinder.of(retriever)
    queries = eval_questions()
    latency: dict[str, dict[str, float]] = {}
    for mode in MODES:
        finder.search(queries[0], mode=mode)  # warm-up (BM25 index, torch kernels)
        times = []
        for _ in range(repeats):
            for q in queries:
                retriever.query_vector.cache_clear()  # a repeat is timed as a new question, encoder included
                t0 = time.perf_counter()
                finder.search(q, mode=mode)
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


def _is_name(q) -> bool:
    return q.kind in ("which", "term")


def _share(rows: list[dict], part: str, whole: str) -> float | None:
    total = sum(r[whole] or 0 for r in rows)
    return round(sum(r[part] or 0 for r in rows) / total, 3) if total else None


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
# what a learner types into the topic box (the session-27 pass, written before looking at the bank): a quiz of 10 on
# each, counted — how many give none, and how many questions in all
TYPED_TOPICS = (
    "model evaluation", "metrics", "overfitting", "regularization", "data ingestion", "S3", "Kinesis", "SageMaker",
    "deep learning", "neural networks", "NLP", "computer vision", "time series", "recommendation systems",
    "anomaly detection", "hyperparameters", "deployment", "model monitoring", "security", "encryption",
    "feature engineering", "missing data", "data visualization", "QuickSight", "Athena", "EMR", "clustering",
    "classification", "regression", "A/B testing", "spot instances", "cost optimization", "AI services",
    "Rekognition", "Transcribe", "Amazon Polly", "Amazon Lex", "Amazon Translate", "Personalize", "Glue", "DynamoDB",
    "streaming", "data lakes", "ETL", "activation functions", "gradient descent", "learning rate", "PCA", "K-Means",
    "Linear Learner", "DeepAR", "BlazingText", "Random Cut Forest", "IAM", "VPC",
)  # fmt: skip


def run_quiz_bench(
    settings: Settings,
    topics: tuple[str, ...] = QUIZ_TOPICS,
    n: int = 5,
    progress: Callable[[int, int, str], None] | None = None,
    tutor_check: bool = True,
    scenarios: int = 0,
) -> dict:
    """Practice questions as a learner meets them: per topic, how many of ``n`` the bank delivers, how long a quiz
    takes to start, what the acceptability checks say of each (on topic, fragment key, two true options, …), the
    share of scenario items, rationale coverage, and the tutor's own accuracy on them (it reads the notes).

    The bank is built in an empty data folder, so scenario wordings a learner's own sessions cached never count;
    ``scenarios`` > 0 first lets the model write up to that many (what the web UI does in the background)."""
    with tempfile.TemporaryDirectory(prefix="mlstutor-quizbench-") as tmp:
        return _quiz_bench(settings.with_(data_dir=Path(tmp)), topics, n, progress, tutor_check, scenarios)


def _quiz_bench(
    settings: Settings,
    topics: tuple[str, ...],
    n: int,
    progress: Callable[[int, int, str], None] | None,
    tutor_check: bool,
    scenarios: int,
) -> dict:
    from mlstutor.quiz import (
        QuestionBank,
        QuizMaster,
        acceptability,
        bank_cache_path,
        fill_scenarios,
        keyed_on,
        load_phrasings,
    )

    t0 = time.perf_counter()
    retriever = Retriever.open(settings)
    bank = QuestionBank.of(retriever)
    bank_s = time.perf_counter() - t0
    t = time.perf_counter()  # what the next process pays: the bank stored beside the index, read back
    stored = QuestionBank._load(bank_cache_path(retriever.index.path, settings.profile))
    read_s = time.perf_counter() - t if stored is not None else None
    written = {}
    if scenarios:
        from mlstutor.llm import get_llm

        t = time.perf_counter()
        tried = []
        added = fill_scenarios(
            bank, get_llm(settings), settings.data_dir, settings.profile, scenarios, lambda d, total: tried.append(d)
        )
        cached = load_phrasings(settings.data_dir)
        written = {
            "asked": len(tried),
            "kept": added,
            "seconds": round(time.perf_counter() - t, 1),
            "stems": [q.stem for q in bank.items if q.scenario and cached.get(q.fact_id) == q.stem],
        }
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
        named = None if topic.lower() in bank.lex.synonyms else bank.lex.lookup(topic)
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
                # items whose key is the quiz's own subject ("which service …? → Firehose" in a Firehose quiz: the
                # topic tells), of the items whose key is a name (XGBoost's "eta" is a name, not the subject)
                "key_is_topic": sum(keyed_on(q, named) for q in qs) if named else None,
                "name_items": sum(map(_is_name, qs)) if named else None,
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
    typed = {}
    for topic in TYPED_TOPICS:
        try:
            typed[topic] = len(QuizMaster(retriever, settings, seed=1).generate(topic, n=10).questions)
        except MlstutorError:
            typed[topic] = 0
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
        "key_is_topic_share": _share(rows, "key_is_topic", "name_items"),
        "scenario_share": round(sum(r["scenario"] for r in rows) / delivered, 3) if delivered else None,
        "rationale_coverage": round(rationale_ok / delivered, 3) if delivered else None,
        "tutor_accuracy": round(sum(r["tutor_right"] for r in rows) / delivered, 3) if tutor and delivered else None,
        "quiz_start_p50_s": round(statistics.median(start_times), 3),
        "fresh_topic_first_question_s": max(f["seconds"] for f in fresh),
        "model_scenarios": written,
        "sample": [q.to_dict() for q in sample_questions(settings)],  # the same bank, in the same empty data folder
        "fresh_topics": fresh,
        "typed_topics": {
            "topics": len(typed),
            "with_none": sorted(t for t, k in typed.items() if not k),
            "questions_of_10_each": sum(typed.values()),
            "delivered": typed,
        },
        "bank": {
            "build_seconds": round(bank_s, 2),
            "bank_only_seconds": round(bank.stats.seconds, 2),
            "stored_read_seconds": round(read_s, 2) if read_s is not None else None,
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


# ---------------------------------------------------------------- load: a study group on one server

LOAD_TOPICS = ("Kinesis Data Firehose", "AWS Glue", "XGBoost", "precision and recall", "Amazon Comprehend")


@dataclass
class _Request:
    """One learner's request as the client saw it: when it was sent, when the server started on it, when the
    first output arrived, when it finished, the highest queue position the client was shown, how it ended."""

    kind: str
    user: str
    sent: float = 0.0
    started: float | None = None
    first: float | None = None
    done: float | None = None
    position: int | None = None
    error: str = ""
    ok: bool = False


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drive(job, req: _Request, check: Callable[[tuple], bool], first: Callable[[tuple], bool]) -> None:
    """Follow one gradio_client job to its end, recording queue positions and timings; ``first`` tells which
    streamed output counts as the first useful one (for a chat question: :func:`_drive_chat`)."""
    from gradio_client.utils import Status

    while True:
        st = job.status()
        now = time.perf_counter()
        if st.code == Status.IN_QUEUE and st.rank is not None:
            req.position = max(req.position or 0, int(st.rank) + 1)
        if st.code in (Status.PROCESSING, Status.ITERATING, Status.PROGRESS) and req.started is None:
            req.started = now
        if req.first is None and any(first(o) for o in job.outputs()):
            req.first = now
            req.started = req.started or now
        if job.done():
            break
        time.sleep(0.05)
    req.done = time.perf_counter()
    req.started = req.started or req.done
    req.first = req.first or req.done
    try:
        result = job.result(timeout=5)
        req.ok = check(result)
        if not req.ok:
            req.error = "wrong output: " + str(result)[:160].replace("\n", " ")
    except Exception as exc:
        req.error = f"{type(exc).__name__}: {exc}"[:200]


def run_load_bench(
    settings: Settings,
    learners: int = 20,
    practicing: int = 5,
    startup_timeout: float = 600.0,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Start the web UI (``mlstutor ui`` in a subprocess on 127.0.0.1, one login per learner) and drive it with
    ``gradio_client``: ``learners`` chat questions and ``practicing`` practice quizzes sent at the same moment.
    A chat question is sent as the browser sends it: ``/chat_evidence`` (no model), then ``/chat`` (the model's
    one-at-a-time queue) with the chat the first returned. Every request is followed to its end: the highest
    queue position the client is shown, the wait until the server starts on it (chat: the model's turn), the
    first output (chat: the evidence event done, its cards shown), the end (chat: the checked answer). Nothing
    may be lost or fail; the table reports p50/p95 per kind."""
    import concurrent.futures
    import functools
    import os
    import urllib.request

    from gradio_client import Client

    say = log or (lambda _m: None)
    ensure_index(settings)
    questions = (eval_questions() * 10)[: max(1, learners)]
    users = [f"chat{i + 1}" for i in range(learners)] + [f"quiz{i + 1}" for i in range(practicing)]
    auth = ",".join(f"{u}:pw-{u}" for u in users)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="mlstutor-load-") as tmp:
        env = {
            **os.environ,
            "MLSTUTOR_CORPUS_DIR": str(Path(settings.corpus_dir).resolve()),
            "MLSTUTOR_INDEX_DIR": str(Path(settings.index_dir).resolve()),
            "MLSTUTOR_DATA_DIR": tmp,  # the learners' progress files, thrown away afterwards
            "MLSTUTOR_CACHE_DIR": str(settings.cache_dir),
            "MLSTUTOR_MODEL": settings.model,
            "MLSTUTOR_BACKEND": settings.backend,
            "MLSTUTOR_BANK_SCENARIOS": "0",  # no background model work: the learners get all of it
            "GRADIO_ANALYTICS_ENABLED": "False",
        }
        if settings.openai_base_url:
            env["MLSTUTOR_OPENAI_BASE_URL"] = settings.openai_base_url
        if settings.openai_model:
            env["MLSTUTOR_OPENAI_MODEL"] = settings.openai_model
        with open(Path(tmp) / "server.log", "w") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "mlstutor.cli", "ui", "--port", str(port), "--auth", auth],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}/"
        try:
            t0 = time.perf_counter()
            deadline = time.time() + startup_timeout
            while True:
                if server.poll() is not None:
                    raise MlstutorError("the UI server exited: " + (Path(tmp) / "server.log").read_text()[-800:])
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise MlstutorError(f"the UI server did not answer within {startup_timeout:.0f} s") from None
                    time.sleep(0.5)
            served_s = time.perf_counter() - t0
            say(f"server up after {served_s:.1f} s; logging in {len(users)} learners")
            clients = {u: Client(url, auth=(u, f"pw-{u}"), verbose=False) for u in users}
            status = ""
            while "ready" not in status and "hosted" not in status:  # measure serving, not model loading
                status = clients[users[0]].predict(api_name="/status_md")
                if "unavailable" in status or "⚠️ index" in status:
                    raise MlstutorError(status)
                if time.time() > deadline:
                    raise MlstutorError(f"the model was not ready within {startup_timeout:.0f} s: {status}")
                time.sleep(1)
            ready_s = time.perf_counter() - t0
            say(f"model ready after {ready_s:.1f} s; sending {learners} questions and {practicing} quizzes at once")

            reqs: list[_Request] = []
            tasks: list[Callable[[], None]] = []
            start = time.perf_counter()
            for i, u in enumerate(users):
                if u.startswith("chat"):
                    req = _Request("chat", u, sent=time.perf_counter())
                    job = clients[u].submit(questions[i], [], 5, settings.mode, api_name="/chat_evidence")
                    task = functools.partial(_drive_chat, clients[u], job, req, questions[i], settings)
                else:
                    req = _Request("practice", u, sent=time.perf_counter())
                    topic = LOAD_TOPICS[(i - learners) % len(LOAD_TOPICS)]
                    job = clients[u].submit("", topic, 5, "medium", None, api_name="/practice_start")
                    task = functools.partial(_drive, job, req, _practice_ok, _practice_ok)
                reqs.append(req)
                tasks.append(task)
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(tasks)) as pool:
                list(pool.map(lambda t: t(), tasks))
            wall = time.perf_counter() - start
            isolated = _isolation_check(clients, users)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        log_text = (Path(tmp) / "server.log").read_text(errors="replace")
    return _load_summary(reqs, settings, wall, served_s, ready_s, isolated, "Traceback" in log_text)


def _chat_ok(result: tuple) -> bool:
    chat = result[0] or []
    last = chat[-1]["content"] if chat else ""
    last = last if isinstance(last, str) else str(last)
    return "⏱" in last and "⚠️ Something went wrong" not in last


def _evidence_ok(result: tuple) -> bool:
    """The evidence event's result: the cards (or "no lines match"), and no error in the chat."""
    chat = result[0] or []
    last = str(chat[-1]["content"]) if chat else ""
    cards = str(result[1])
    return ("passage-card" in cards or "No lines of your notes" in cards) and "⚠️" not in last


def _drive_chat(client, job, req: _Request, question: str, settings: Settings) -> None:
    """A chat question as the browser sends it: ``job`` is its ``/chat_evidence`` call (no model; its end is the
    first output, the evidence cards shown); then ``/chat`` with the chat that returned, followed to its end
    (the model's turn: its queue position, the wait until it starts, the checked answer)."""
    shown = _Request("evidence", req.user, sent=req.sent)
    _drive(job, shown, _evidence_ok, lambda _o: False)
    req.first, req.position = shown.done, shown.position
    if not shown.ok:
        req.started, req.done, req.error = shown.started, shown.done, f"evidence: {shown.error}"
        return
    chat = job.result(timeout=5)[0]
    answer = client.submit(
        question,
        chat,
        settings.backend,
        settings.model,
        settings.openai_base_url,
        settings.openai_model,
        "",
        5,
        settings.mode,
        api_name="/chat",
    )
    _drive(answer, req, _chat_ok, lambda _o: False)


def _practice_ok(result: tuple) -> bool:
    return "Question 1 of" in str(result[0])


def _isolation_check(clients: dict, users: list[str]) -> bool:
    """After the load: one practising learner answers their first question; it shows in their progress and in
    no other learner's."""
    quizzers = [u for u in users if u.startswith("quiz")]
    others = [u for u in users if u not in quizzers[:1]][:3]
    if not quizzers:
        return all("No answers yet" in clients[u].predict(api_name="/progress")[0] for u in others)
    me = clients[quizzers[0]]
    _, single, multi, *_ = me.predict("", LOAD_TOPICS[0], 1, "medium", None, api_name="/practice_start")
    picked = (single["choices"][0][0], []) if single.get("visible") else (None, [c[0] for c in multi["choices"][:2]])
    me.predict(*picked, api_name="/practice_submit")
    mine = me.predict(api_name="/progress")[0]
    return "correct overall" in mine and all(
        "No answers yet" in clients[u].predict(api_name="/progress")[0] for u in others
    )


def _load_summary(
    reqs: list[_Request], settings: Settings, wall: float, served_s: float, ready_s: float, isolated: bool, tb: bool
) -> dict:
    model = settings.model if settings.backend == "llamacpp" else f"{settings.openai_model} @ hosted"
    rows = [
        "| kind | sent | answered | errors | lost | queued (highest position shown) | wait in queue p50 / p95 "
        "| first output p50 / p95 | answered p50 / p95 |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    kinds: dict[str, dict] = {}
    for kind in ("chat", "practice"):
        rs = [r for r in reqs if r.kind == kind]
        if not rs:
            continue
        wait = [r.started - r.sent for r in rs]
        first = [r.first - r.sent for r in rs]
        total = [r.done - r.sent for r in rs]
        queued = [r.position for r in rs if r.position]
        errors = [r.error for r in rs if r.error]
        lost = sum(r.done is None for r in rs)
        info = {
            "sent": len(rs),
            "answered": sum(r.ok for r in rs),
            "errors": errors,
            "lost": lost,
            "queued": len(queued),
            "max_position": max(queued) if queued else 0,
            "wait_p50": _percentile(wait, 0.5),
            "wait_p95": _percentile(wait, 0.95),
            "first_p50": _percentile(first, 0.5),
            "first_p95": _percentile(first, 0.95),
            "total_p50": _percentile(total, 0.5),
            "total_p95": _percentile(total, 0.95),
        }
        kinds[kind] = info
        q = f"{info['queued']} of {len(rs)} (up to #{info['max_position']})" if queued else "none"
        rows.append(
            f"| {kind} | {len(rs)} | {info['answered']} | {len(errors)} | {lost} | {q} "
            f"| {info['wait_p50']:.1f} / {info['wait_p95']:.1f} s "
            f"| {info['first_p50']:.1f} / {info['first_p95']:.1f} s "
            f"| {info['total_p50']:.1f} / {info['total_p95']:.1f} s |"
        )
    head = (
        f"model `{model}`, {sum(r.kind == 'chat' for r in reqs)} learners asking and "
        f"{sum(r.kind == 'practice' for r in reqs)} starting a quiz at the same moment, each with their own login; "
        f"all answered after {wall:.1f} s (server up {served_s:.1f} s, model ready {ready_s:.1f} s after start)"
    )
    return {
        "model": model,
        "kinds": kinds,
        "wall_s": round(wall, 1),
        "server_up_s": round(served_s, 1),
        "model_ready_s": round(ready_s, 1),
        "progress_isolated": isolated,
        "server_traceback": tb,
        "table": head
        + "\n\n"
        + "\n".join(rows)
        + "\n\nAfterwards one learner answered a practice question: it showed "
        + ("in that login's progress only." if isolated else "**elsewhere too (progress NOT isolated)**.")
        + (" The server logged a traceback." if tb else ""),
    }


# ---------------------------------------------------------------- scale: a large real library of the same field

SCALE_FIRST_SERVICES = (  # the exam's services first, then every other service botocore ships, by name
    "sagemaker", "sagemaker-runtime", "kinesis", "firehose", "kinesisanalyticsv2", "glue", "athena", "comprehend",
    "rekognition", "textract", "transcribe", "translate", "polly", "personalize", "forecast", "lexv2-models",
    "s3", "emr", "redshift", "lambda", "kms", "iam", "cloudwatch", "stepfunctions", "databrew", "lakeformation",
    "quicksight", "dynamodb", "ec2", "ecr",
)  # fmt: skip
SCALE_NOTE_CHARS = 20_000  # one service's docs are cut into notes of about this size (the real notes: ~21k each)
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|ul|ol|note|important|div|br)\b[^>]*>", re.I)
_ITEM = re.compile(r"<li\b[^>]*>", re.I)


def _plain(doc: str) -> str:
    """botocore documentation HTML → markdown-ish text: paragraphs kept, list items as bullets, tags gone."""
    text = _ITEM.sub("\n* ", doc or "")
    text = _BLOCK.sub("\n\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return re.sub(r"(^|\n)\* *\n+", r"\1* ", text).strip()  # "<li><p>x" → "* x"


def _service_notes(loader, service: str) -> list[tuple[str, str]]:
    """(file name, markdown) notes for one service: operations and shapes with their documentation."""
    model = loader.load_service_model(service, "service-2")
    title = model.get("metadata", {}).get("serviceFullName", service)
    sections: list[str] = []
    for name, op in sorted(model.get("operations", {}).items()):
        if doc := _plain(op.get("documentation", "")):
            sections.append(f"## {title}: {name} operation\n\n{doc}\n")
    for name, shape in sorted(model.get("shapes", {}).items()):
        doc = _plain(shape.get("documentation", ""))
        members = [
            f"* {m}: {d}"
            for m, spec in shape.get("members", {}).items()
            if (d := _plain(spec.get("documentation", "")).replace("\n", " "))
        ]
        if doc or members:
            sections.append(f"## {title}: {name}\n\n" + "\n\n".join(p for p in (doc, "\n".join(members)) if p) + "\n")
    intro = _plain(model.get("documentation", ""))
    parts: list[list[str]] = [[intro + "\n"] if intro else []]
    size = len(intro)
    for sec in sections:
        if parts[-1] and size + len(sec) > SCALE_NOTE_CHARS:
            parts.append([])
            size = 0
        parts[-1].append(sec)
        size += len(sec)
    return [
        (f"aws-docs-{service}-{i:02d}.md", f"# {title} (part {i})\n\n" + "\n".join(part))
        for i, part in enumerate((p for p in parts if p), start=1)
    ]


def botocore_notes(total_chars: int, skip: int = 0) -> list[tuple[str, str]]:
    """Markdown notes from the service documentation inside the installed ``botocore`` package, exam services
    first, until ``total_chars`` characters (after the first ``skip`` notes, which another library holds)."""
    try:
        from botocore.loaders import Loader
    except ImportError as exc:
        raise MlstutorError('the scale benchmark needs botocore: pip install -e ".[scale]"') from exc
    loader = Loader()
    available = set(loader.list_available_services("service-2"))
    order = [s for s in SCALE_FIRST_SERVICES if s in available] + sorted(available - set(SCALE_FIRST_SERVICES))
    out: list[tuple[str, str]] = []
    seen = size = 0
    for service in order:
        for name, text in _service_notes(loader, service):
            if seen < skip:
                seen += 1
                continue
            if size >= total_chars:
                return out
            out.append((name, text))
            size += len(text)
    return out


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _scale_one(settings: Settings, factor: int, base_chars: int, facts: Path) -> dict:
    """One size, in its own process (a clean peak memory): the five real notes plus ``factor`` × their size in
    botocore notes; build, add one note, query every eval question in every mode."""
    import resource

    from mlstutor.embedding import get_embedder
    from mlstutor.evaluation import load_eval_set, run_retrieval, summarize
    from mlstutor.index import load_index

    with tempfile.TemporaryDirectory(prefix=f"mlstutor-scale-{factor}x-") as tmp:
        corpus = Path(tmp) / "notes"
        shutil.copytree(settings.corpus_dir, corpus)
        notes = botocore_notes(factor * base_chars)
        for name, text in notes:
            (corpus / name).write_text(text, encoding="utf-8")
        extra_name, extra_text = botocore_notes(1, skip=len(notes))[0]  # the next note: never in the library
        own = settings.with_(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        get_embedder(own.embedding_model).encode(["warm up"])  # model load is not part of the build time
        t0 = time.perf_counter()
        first = build_index(own).manifest or {}
        build_s = time.perf_counter() - t0
        (corpus / extra_name).write_text(extra_text, encoding="utf-8")
        t0 = time.perf_counter()
        added = build_index(own).manifest or {}
        add_s = time.perf_counter() - t0
        live = load_index(own.index_dir)
        index_bytes = _dir_bytes(live.path)
        retriever = Retriever(live, get_embedder(own.embedding_model), own)
        items = load_eval_set(facts)
        runs = run_retrieval({mode: retriever for mode in MODES}, items)
        summary = summarize(runs, 10, facts.name)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    library_chars = base_chars + sum(len(t) for _, t in notes)
    return {
        "factor": factor,
        "notes": len(notes) + 5,
        "library_chars": library_chars,
        "chunks": first.get("n_chunks"),
        "texts_embedded": first.get("n_embedded"),
        "build_s": round(build_s, 1),
        "add_note": extra_name,
        "add_note_chars": len(extra_text),
        "add_s": round(add_s, 2),
        "add_embedded": added.get("n_embedded"),
        "add_reused": added.get("n_reused"),
        "index_mb": round(index_bytes / 1e6, 1),
        "peak_rss_mb": round(peak_kb / 1024, 0),
        "modes": {
            m: {
                "p50_ms": e["latency_ms_p50"],
                "p95_ms": e["latency_ms_p95"],
                "hit@1": e["hit@1"],
                "hit@5": e["hit@5"],
                "mrr@10": e["mrr@10"],
            }
            for m, e in summary["modes"].items()
        },
    }


def run_scale_bench(
    settings: Settings,
    factors: tuple[int, ...] = (1, 10, 100),
    budget_s: float = 1200.0,
    facts: Path = Path("eval/facts.jsonl"),
    plot: Path | None = Path("eval/report/scale.png"),
    log: Callable[[str], None] = lambda m: None,
) -> dict:
    """Build, add one note, query and score at each size; a size whose build the previous one predicts (linear in
    the texts embedded) to take longer than ``budget_s`` is not run but extrapolated, and marked so."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from mlstutor.corpus import note_paths

    base_chars = sum(len(p.read_text(encoding="utf-8")) for p in note_paths(settings.corpus_dir))
    rows: list[dict] = []
    for factor in factors:
        if rows:
            prev = rows[-1]
            predicted = prev["build_s"] * (factor + 1) / (prev["factor"] + 1)
            if predicted > budget_s:
                log(f"{factor}x: build predicted at {predicted:.0f} s > {budget_s:.0f} s budget: extrapolated")
                rows.append(_extrapolate(rows, factor, base_chars))
                continue
        log(f"{factor}x: building ({factor} x {base_chars:,} characters of botocore notes + the five notes)")
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            row = pool.submit(_scale_one, settings, factor, base_chars, facts.resolve()).result()
        row["measured"] = True
        log(f"{factor}x: built in {row['build_s']} s, one note added in {row['add_s']} s")
        rows.append(row)
    result = {"base_chars": base_chars, "rows": rows, "table": scale_table(rows)}
    if plot:
        plot_scale(rows, plot)
        result["plot"] = str(plot)
    return result


def _extrapolate(rows: list[dict], factor: int, base_chars: int) -> dict:
    """A straight line (fixed cost + cost per character) through the last two measured sizes; with one measured
    size, cost proportional to the library's characters."""
    measured = [r for r in rows if r.get("measured")]
    a, b = (measured[-2], measured[-1]) if len(measured) > 1 else (None, measured[-1])
    chars = base_chars * (factor + 1)

    def fit(get: Callable[[dict], float]) -> float:
        if a is None:
            return get(b) * chars / b["library_chars"]
        slope = (get(b) - get(a)) / (b["library_chars"] - a["library_chars"])
        return max(get(b), get(b) + slope * (chars - b["library_chars"]))

    out = {
        "factor": factor,
        "measured": False,
        "library_chars": chars,
        "notes": round(b["notes"] * chars / b["library_chars"]),
        "build_s": round(fit(lambda r: r["build_s"]), 0),
        "add_s": round(fit(lambda r: r["add_s"]), 1),
        "index_mb": round(fit(lambda r: r["index_mb"]), 0),
        "peak_rss_mb": round(fit(lambda r: r["peak_rss_mb"]), 0),
        "modes": {
            m: {k: round(fit(lambda r, m=m, k=k: r["modes"][m][k]), 1) for k in ("p50_ms", "p95_ms")}
            for m in b["modes"]
        },
    }
    return out


def scale_table(rows: list[dict]) -> str:
    head = (
        "| size | notes | characters | build | add one note (texts embedded) | index on disk | peak RSS | "
        "query p50 / p95 ms: dense · bm25 · hybrid | hit@1 · hit@5 · MRR@10 (hybrid) |"
    )
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        tag = f"{r['factor']}×" + ("" if r["measured"] else " (extrapolated)")
        lat = " · ".join(f"{r['modes'][m]['p50_ms']:g} / {r['modes'][m]['p95_ms']:g}" for m in MODES)
        if not r["measured"]:
            lat = "not extrapolated"
        if r["measured"]:
            h = r["modes"]["hybrid"]
            quality = f"{h['hit@1']:.3f} · {h['hit@5']:.3f} · {h['mrr@10']:.3f}"
            add = f"{r['add_s']:g} s ({r['add_embedded']:,} of {r['add_embedded'] + r['add_reused']:,})"
        else:
            quality, add = "not measured", f"~{r['add_s']:g} s"
        lines.append(
            f"| {tag} | {r['notes']:,} | {r['library_chars']:,} | {r['build_s']:g} s | {add} | "
            f"{r['index_mb']:g} MB | {r['peak_rss_mb']:g} MB | {lat} | {quality} |"
        )
    return "\n".join(lines)


def plot_scale(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    series = [
        (axes[0], "seconds", [("full build", lambda r: r["build_s"]), ("add one note", lambda r: r["add_s"])]),
        (axes[1], "ms per query (p50)", [(m, lambda r, m=m: r["modes"][m]["p50_ms"]) for m in MODES]),
        (axes[2], "MB", [("index on disk", lambda r: r["index_mb"]), ("peak RSS", lambda r: r["peak_rss_mb"])]),
    ]
    for ax, unit, lines in series:
        shown = rows if ax is not axes[1] else [r for r in rows if r["measured"]]  # latency: measured only
        for label, get in lines:
            xs = [r["library_chars"] for r in shown]
            ax.plot(xs, [get(r) for r in shown], marker="o", label=label)
            ext = [r for r in shown if not r["measured"]]
            if ext:
                ax.scatter([r["library_chars"] for r in ext], [get(r) for r in ext], facecolors="white",
                           edgecolors="black", zorder=3, s=60)  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("library size (characters)")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("mlstutor bench --scale: cost vs library size (hollow markers: extrapolated)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
