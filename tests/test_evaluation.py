import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlstutor.corpus import load_corpus
from mlstutor.errors import MlstutorError
from mlstutor.evaluation import (
    DEFAULT_SET,
    DOMAINS,
    KINDS,
    QueryRun,
    best_mode,
    key_in_answer,
    load_eval_set,
    query_metrics,
    run_retrieval,
    summarize,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
FACTS = ROOT / DEFAULT_SET


def test_facts_file_is_valid(corpus_dir: Path) -> None:
    items = load_eval_set(FACTS)
    texts = {d.name: d.text.lower() for d in load_corpus(corpus_dir)}
    assert len(items) >= 150
    assert {i.domain for i in items} == set(DOMAINS)
    assert {i.kind for i in items} <= set(KINDS)
    assert sum(1 for i in items if not i.answerable) >= 10
    assert sum(1 for i in items if i.kind == "scenario") >= 40
    for it in items:
        for key in it.answers:
            assert any(key.lower() in texts[s] for s in it.sources), f"{it.id}: {key!r} in no listed source"
        for src in it.sources:
            assert src in texts, f"{it.id}: unknown source {src}"
            assert any(k.lower() in texts[src] for k in it.answers), f"{it.id}: {src} holds no key"


def test_every_builtin_algorithm_is_covered() -> None:
    text = " ".join(i.question.lower() for i in load_eval_set(FACTS))
    for algo in [
        "linear learner",
        "xgboost",
        "seq2seq",
        "deepar",
        "blazingtext",
        "object2vec",
        "object detection",
        "image classification",
        "semantic segmentation",
        "random cut forest",
        "neural topic model",
        "lda",
        "knn",
        "k-means",
        "pca",
        "ip insights",
        "reinforcement learning",
        "click",
    ]:
        assert algo in text, algo


def test_the_lenient_key_match_reads_a_number_with_its_unit() -> None:
    """Recorded answers: "after 90 days of inactivity" had matched the key "30 days" (the short "30" was dropped),
    and "between 60 seconds and 900 seconds" missed "60s - 900s"."""
    assert not key_in_answer("It moves after 90 days of inactivity.", ["30 days"], lenient=True)
    assert key_in_answer("Objects not accessed for 30 days move.", ["objects not accessed for 30 days"], lenient=True)
    assert key_in_answer("It is between 60 seconds and 900 seconds.", ["60s - 900s"], lenient=True)
    assert key_in_answer("Records are kept 24 hours by default.", ["24h default retention"], lenient=True)
    assert not key_in_answer("Records are kept 24 hours by default.", ["24h default retention"])  # literal


def test_bad_eval_sets_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q", "answers": ["x"], "sources": []}\n')
    with pytest.raises(MlstutorError, match="both be empty"):
        load_eval_set(bad)
    bad.write_text("{oops\n")
    with pytest.raises(MlstutorError, match=r"bad\.jsonl:1"):
        load_eval_set(bad)
    with pytest.raises(MlstutorError, match="not found"):
        load_eval_set(tmp_path / "none.jsonl")


@pytest.fixture(scope="module")
def runs(retriever):
    items = load_eval_set(FACTS)[::5]  # a slice keeps the test quick; the full set runs in `mlstutor eval`
    return run_retrieval({"hybrid": retriever, "bm25": retriever}, items, k=10)


def test_metrics_match_ranx(runs: list[QueryRun], retriever) -> None:
    from ranx import Qrels, Run, evaluate

    for mode in ("hybrid", "bm25"):
        mine = [r for r in runs if r.mode == mode and r.item.answerable]
        qrels = {
            r.item.id: {
                c.id: 1
                for c in retriever.chunks
                if c.source in r.item.sources and any(a.lower() in c.text.lower() for a in r.item.answers)
            }
            for r in mine
        }
        run = {r.item.id: {cid: 100.0 - i for i, cid in enumerate(r.chunk_ids)} for r in mine}
        theirs = evaluate(Qrels(qrels), Run(run), ["hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"])
        ours = {
            name: sum(query_metrics(r, 10)[name] for r in mine) / len(mine)
            for name in ("hit@1", "hit@5", "mrr@10", "ndcg@10")
        }
        assert ours["hit@1"] == pytest.approx(theirs["hit_rate@1"], abs=1e-9)
        assert ours["hit@5"] == pytest.approx(theirs["hit_rate@5"], abs=1e-9)
        assert ours["mrr@10"] == pytest.approx(theirs["mrr@10"], abs=1e-9)
        assert ours["ndcg@10"] == pytest.approx(theirs["ndcg@10"], abs=1e-6)


def test_summary_and_report(runs: list[QueryRun], tmp_path: Path) -> None:
    summary = summarize(runs, 10, "facts.jsonl")
    assert set(summary["modes"]) == {"hybrid", "bm25"}
    hy = summary["modes"]["hybrid"]
    assert 0 <= hy["hit@1"] <= hy["hit@5"] <= hy["hit@10"] <= 1
    assert hy["hit@5"] > 0.7  # retrieval works at all on the real notes
    assert set(hy["by_domain"]) <= set(DOMAINS) and hy["by_kind"]
    assert len(hy["hit_curve"]) == 10
    assert best_mode(summary) in ("hybrid", "bm25")
    md = write_report(tmp_path / "rep", summary, runs).read_text()
    assert "| mode | hit@1" in md and "## Misses" in md
    png = (tmp_path / "rep" / "hit_at_k.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert json.loads((tmp_path / "rep" / "metrics.json").read_text())["modes"]["hybrid"]["hit@1"] == hy["hit@1"]


def test_eval_cli_json_with_own_set(settings, retriever, tmp_path: Path) -> None:
    own = tmp_path / "mine.jsonl"
    own.write_text(
        json.dumps(
            {
                "id": "k1",
                "question": "How big may a Kinesis record be?",
                "answers": ["1MB"],
                "sources": ["aws-ml-specialty-quick-notes.md"],
                "kind": "fact",
                "domain": "data-engineering",
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "u1",
                "question": "What is the capital of France?",
                "answers": [],
                "sources": [],
                "kind": "unanswerable",
                "domain": "operations",
            }
        )
        + "\n"
    )
    more = tmp_path / "more.jsonl"  # a second --set joins the first (it used to be left out without a word)
    more.write_text(
        json.dumps(
            {
                "id": "k2",
                "question": "What does HDFS stand for?",
                "answers": ["Hadoop Distributed File System"],
                "sources": ["aws-ml-specialty-2025-notes.md"],
                "kind": "fact",
                "domain": "data-engineering",
            }
        )
        + "\n"
    )
    cmd = [
        sys.executable,
        "-m",
        "mlstutor.cli",
        "--corpus",
        str(settings.corpus_dir),
        "--index-dir",
        str(settings.index_dir),
        "eval",
        "--set",
        str(own),
        "--set",
        str(more),
        "--mode",
        "hybrid",
        "--k",
        "5",
        "--json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["set"] == "mine.jsonl + more.jsonl" and data["n"] == 3 and data["n_answerable"] == 2
    assert data["modes"]["hybrid"]["hit@5"] == 1.0
    assert data["modes"]["hybrid"]["unanswerable"]["n"] == 1


def test_key_strings_match_however_the_note_spaces_them() -> None:
    """Notes write one limit as "1MB/s", "1 MB/s" and "`1 MB / s`": all are hits for the key "1 MB/s"."""
    from mlstutor.text import contains_key

    for note in ("* `1 MB / s` or `1 000 messages / s` at write PER SHARD", "Producer: 1MB/s per shard"):
        assert contains_key(note, ["1 MB/s"])
    assert contains_key("`1 000 messages / s`", ["1000 messages/s"])
    assert not contains_key("Consumer: 2 MB/s per shard", ["1 MB/s"])
