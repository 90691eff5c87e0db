"""The CLI as a user runs it: a real process, real index on disk, exit codes and one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlstutor.config import Settings


def run(
    settings: Settings, *args: str, corpus: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "mlstutor.cli",
        "--corpus",
        str(corpus or settings.corpus_dir),
        "--index-dir",
        str(settings.index_dir),
        *args,
    ]
    env = {**os.environ, "MLSTUTOR_DATA_DIR": str(settings.data_dir)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, input=stdin, env=env)


def test_index_then_search_json(settings: Settings, retriever) -> None:
    out = run(settings, "index")
    assert out.returncode == 0 and "up to date" in out.stdout
    out = run(settings, "search", "What is the biggest record a Kinesis data stream accepts?", "--k", "3", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["query"].startswith("What is the biggest")
    assert len(data["results"]) == 3
    first = data["results"][0]
    assert set(first) >= {"rank", "score", "chunk_id", "source", "heading_path", "text"}
    assert "Traceback" not in out.stderr


def test_plain_search_prints_sources(settings: Settings, retriever) -> None:
    out = run(settings, "search", "SMOTE oversampling", "--mode", "bm25", "--k", "2")
    assert out.returncode == 0
    assert out.stdout.startswith("[1] ") and " § " in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", ""), "the question is empty"),
        (("search", "   "), "the question is empty"),
        (("search", "x" * 100_000), "limit is 2,000"),
        (("search", "kinesis", "--mode", "magic"), "unknown retrieval mode"),
    ],
)
def test_bad_input_is_one_line_error(settings: Settings, args: tuple[str, ...], message: str) -> None:
    out = run(settings, *args)
    assert out.returncode == 1
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_missing_corpus_and_binary_note(settings: Settings, tmp_path: Path) -> None:
    out = run(settings, "search", "kinesis", corpus=tmp_path / "nowhere")
    assert out.returncode == 1 and "notes folder not found" in out.stderr
    bad = tmp_path / "notes"
    bad.mkdir()
    (bad / "a.md").write_text("# A\n\n## B\n\n* fact\n")
    (bad / "b.md").write_bytes(bytes(range(256)))
    own = settings.with_(index_dir=tmp_path / "idx")
    out = run(own, "index", corpus=bad)
    assert out.returncode == 1 and "b.md: not a text file" in out.stderr
    assert (bad / "b.md").exists()


def test_corrupt_index_from_cli(tmp_path: Path, corpus_dir: Path) -> None:
    own = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "idx")
    assert run(own, "index").returncode == 0
    live = own.index_dir / (own.index_dir / "CURRENT").read_text().strip()
    (live / "chunks.jsonl").write_text("{broken\n")
    out = run(own, "search", "kinesis")
    assert out.returncode == 1 and "corrupt" in out.stderr and "--rebuild" in out.stderr
    assert "Traceback" not in out.stderr
    assert run(own, "status").returncode == 1
    assert run(own, "index", "--rebuild").returncode == 0
    assert run(own, "search", "kinesis", "--k", "1").returncode == 0


def test_practice_from_the_cli(settings: Settings, retriever, tmp_path: Path) -> None:
    """What the before-stop check asks: one question on a topic, at once, with key, rationale and citation; then
    an interactive round recorded to progress, a mock exam and a flashcard deck."""
    out = run(settings, "quiz", "--topic", "Kinesis Data Firehose", "-n", "1", "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert "Q1." in out.stdout and "answer:" in out.stdout and ".md §" in out.stdout and "line" in out.stdout
    quiz = json.loads(run(settings, "quiz", "--topic", "AWS Glue", "-n", "2", "--seed", "4", "--json").stdout)
    keys = ["".join(q["answer"]) for q in quiz["questions"]]
    out = run(
        settings,
        "quiz",
        "--topic",
        "AWS Glue",
        "-n",
        "2",
        "--seed",
        "4",
        "--interactive",
        stdin="h\nZ\n" + "\n".join(keys) + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert "hint:" in out.stdout and "not an option" in out.stdout and "Score: 2/2" in out.stdout
    from mlstutor.progress import Progress

    assert Progress.for_data_dir(settings.data_dir).total() == (2, 2)  # the CLI records progress too
    exam = json.loads(run(settings, "quiz", "--exam", "--json", "--seed", "2").stdout)
    assert len(exam["questions"]) == 65
    deck = tmp_path / "cards.apkg"
    out = run(settings, "cards", "--topic", "Kinesis", "--anki", str(deck))
    assert out.returncode == 0 and deck.stat().st_size > 1000
