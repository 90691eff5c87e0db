import json
import sqlite3
from datetime import UTC
from pathlib import Path

import pytest

from mlstutor.errors import MlstutorError
from mlstutor.quiz import Question, QuizMaster, support, to_anki, to_csv, topic_tree, validate

PASSAGE = (
    "#### Data Streams\n* Streams are divided into shards\n* Maximum record size is 1MB\n* 24h default retention"
)


def q(options: dict, answer: list[str], stem: str = "What is the maximum record size in Kinesis Data Streams?"):
    return Question(stem, options, answer, "why", [], "Kinesis", "medium", "llm")


GOOD = {
    "A": "Maximum record size is 1MB",
    "B": "Records are stored in DynamoDB tables",
    "C": "Only JSON payloads are accepted",
    "D": "Firehose converts to Parquet",
}


def test_good_question_passes() -> None:
    assert validate(q(GOOD, ["A"]), PASSAGE) is None


@pytest.mark.parametrize(
    ("options", "answer", "reason"),
    [
        ({**GOOD, "C": "Maximum record size is 1MB"}, ["A"], "duplicate option"),
        ({**GOOD, "D": "All of the above"}, ["A"], "all/none of the above"),
        ({**GOOD, "D": "None of the above"}, ["A"], "all/none of the above"),
        (GOOD, ["B"], "unsupported key"),  # the passage contradicts / never states the key
        (GOOD, ["A", "B"], "keys"),
        (GOOD, ["Z"], "keys"),
        ({**GOOD, "B": ""}, ["A"], "empty"),
        ({"A": "x", "B": "y"}, ["A"], "options"),
        ({**GOOD, "C": "Shards: streams are divided into shards"}, ["A"], "supported distractor"),
    ],
)
def test_bad_questions_are_rejected(options: dict, answer: list[str], reason: str) -> None:
    assert validate(q(options, answer), PASSAGE).startswith(reason)


def test_support_is_lexical_share() -> None:
    assert support("Maximum record size is 1MB", PASSAGE) == 1.0
    assert support("Stored in DynamoDB", PASSAGE) == 0.0


def test_topic_tree_has_the_exam_domains(retriever) -> None:
    tree = topic_tree(retriever.chunks)
    assert {"Data Engineering", "Modeling"} <= set(tree)
    assert any("Kinesis" in t for t in tree["Data Engineering"])


def test_extractive_questions_are_grounded_and_distinct(retriever) -> None:
    qm = QuizMaster(retriever, seed=7)
    quiz = qm.generate("Kinesis", n=4, kinds=("extractive",))
    assert len(quiz.questions) == 4
    stems_and_keys = {(x.stem, x.options[x.answer[0]]) for x in quiz.questions}
    assert len(stems_and_keys) == 4
    for x in quiz.questions:
        passage = x.citations[0]["text"]
        assert validate(x, passage) is None
        assert x.citations[0]["source"].endswith(".md")
    hard = qm.generate("Glue", n=2, difficulty="hard", kinds=("extractive",))
    assert all((len(x.options) == 5) == (len(x.answer) == 2) for x in hard.questions)
    assert any(len(x.answer) == 2 for x in hard.questions)  # hard asks "choose two" where the notes allow


@pytest.mark.slow
def test_llm_pipeline_with_small_model_records_rejections(retriever, tmp_path: Path) -> None:
    settings = retriever.settings.with_(model="smollm2-135m", cache_dir=tmp_path)
    quiz = QuizMaster(retriever, settings, seed=1).generate("S3 encryption", n=2)
    assert quiz.stats.generated >= len(quiz.questions)
    assert quiz.stats.generated == len(quiz.questions) + quiz.stats.rejected
    for x in quiz.questions:  # whatever is delivered passed every check
        assert validate(x, x.citations[0]["text"]) is None
    data = quiz.to_dict()
    assert set(data["stats"]) >= {"generated", "rejected", "seconds"}


def test_bad_quiz_requests(retriever) -> None:
    qm = QuizMaster(retriever)
    for kwargs in (
        {"topic": ""},
        {"topic": "Kinesis", "n": 0},
        {"topic": "Kinesis", "difficulty": "insane"},
        {"topic": "Kinesis", "kinds": ("magic",)},
    ):
        with pytest.raises(MlstutorError):
            qm.generate(**kwargs)


def test_exports(tmp_path: Path, retriever) -> None:
    quiz = QuizMaster(retriever, seed=2).generate("XGBoost", n=2, kinds=("extractive",))
    csv_text = to_csv(quiz.questions)
    assert csv_text.splitlines()[0].startswith("topic,stem,A")
    assert len(csv_text.splitlines()) >= 3
    path = to_anki(quiz.questions, str(tmp_path / "deck.apkg"))
    assert Path(path).stat().st_size > 1000


def test_progress_and_review_queue(tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    from mlstutor.progress import Progress

    p = Progress.for_data_dir(tmp_path)
    right = q(GOOD, ["A"])
    wrong = q(GOOD, ["A"], stem="Which statement about Kinesis is true?")
    now = datetime.now(UTC)
    assert p.record(right, ["A"], now) is True
    assert p.record(wrong, ["C"], now) is False
    [stat] = p.topic_stats()
    assert (stat.topic, stat.answered, stat.correct) == ("Kinesis", 2, 1)
    due_soon = p.due(now + timedelta(minutes=5))
    assert [d.stem for d in due_soon] == [wrong.stem]  # the miss comes back first, the hit later
    assert len(p.due(now + timedelta(days=30))) == 2
    mode = sqlite3.connect(tmp_path / "progress.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert json.loads(json.dumps(p.weakest()[0].__dict__))["topic"] == "Kinesis"


@pytest.mark.slow
def test_malformed_model_output_is_rejected_not_shown(tmp_path: Path) -> None:
    from mlstutor.config import Settings
    from mlstutor.llm import complete_json, get_llm
    from mlstutor.quiz import QUESTION_SCHEMA, QUIZ_SYSTEM

    llm = get_llm(Settings(model="smollm2-135m", cache_dir=tmp_path))
    with pytest.raises(ValueError, match="malformed"):  # a reply cut off mid-JSON by the token limit
        complete_json(
            llm, QUIZ_SYSTEM, "Write a question about Kinesis.", QUESTION_SCHEMA, max_tokens=6, temperature=0.0
        )
