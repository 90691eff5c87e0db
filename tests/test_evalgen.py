"""Eval sets for any notes (a real packaged model words the questions), the settings sweep and set comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NOTES

from mlstutor.cli import main
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.evalgen import (
    check_question,
    generate_set,
    key_phrases,
    named_subjects,
    question_kind,
    quotes_line,
    write_set,
)
from mlstutor.evaluation import compare_sets, load_eval_set, run_sweep, spearman
from mlstutor.llm import get_llm
from mlstutor.retrieval import Retriever
from mlstutor.text import contains_key


def test_key_phrases_are_copied_facts_not_common_words() -> None:
    from collections import Counter

    df = Counter({"model": 200, "data": 150, "record": 3, "size": 10, "shard": 4})
    keys = key_phrases("Maximum record size is 1MB, a shard takes 1 MB/s", df, 1000)
    assert keys[:2] == ["1MB", "1 MB/s"]  # numbers with their units first
    assert all(k.lower() in "maximum record size is 1mb, a shard takes 1 mb/s" for k in keys)
    assert "the model" not in key_phrases("Streams the data to the model", df, 1000)
    # one item of a list answers no question; a clause's tail is no key
    assert key_phrases("Compression: GZIP, ZIP & SNAPPY for S3 targets", df, 1000) == []
    assert key_phrases("Where to access data: S3, EFS, FSx for Lustre", df, 1000) == ["access data"]
    assert all(not k.startswith(("and ", "Use ")) for k in key_phrases("Use median, and syntax checks", df, 1000))


def test_keys_come_from_what_a_line_says_of_its_subject() -> None:
    """A learner's own four-line note had kept 0 of 4 questions: its keys were the lines' subjects with their
    verbs ("Clarify detects bias before training"), which any question must name, and "Parquet" was no key (a
    lone word); "$5" was no number (one digit)."""
    from collections import Counter

    df = Counter({"training": 40, "data": 150, "query": 8})
    clarify = key_phrases(
        "Clarify explains individual predictions with SHAP values", df, 1000, heading="Notes > SageMaker Clarify"
    )
    assert clarify == ["SHAP values"]
    assert key_phrases("Store query data as Parquet: it is columnar", df, 1000, heading="Athena and Parquet")[0] == (
        "Parquet"
    )
    assert key_phrases("Athena charges $5 per TB of data scanned", df, 1000) == ["$5 per TB"]
    feature = key_phrases(
        "A feature group holds records identified by a record identifier and an event time",
        df,
        1000,
        heading="Feature Store",
    )
    assert feature == ["record identifier and an event time"]  # no article in front, no subject-and-verb clause
    # a name at the start of its line is a key (a "which service" question), a clause is not
    glacier = key_phrases("Amazon S3 Glacier - low-cost object storage for archiving", df, 1000, heading="S3 Glacier")
    assert glacier[0] == "Amazon S3 Glacier"


def test_a_label_defines_no_term_and_a_numbered_term_is_one() -> None:
    """Found by a review of the key picker: "Pros: …" would have had "Pros" as its key (a "Term: …" lead goes
    first), "Transfer Learning: …" lost its term to the verb test ("transfer" opens deeds), and "1. Term: …"
    defined nothing."""
    from collections import Counter

    df = Counter({"model": 60, "serverless": 2})
    labels = frozenset({"pros", "note"})
    pros = key_phrases("Pros: serverless, no cluster to manage", df, 1000, heading="AWS Glue", labels=labels)
    assert "Pros" not in pros and "no cluster" not in pros  # nor half a negation (a scratch note's key)
    note = key_phrases("Note: Crawlers populate the Data Catalog", df, 1000, heading="Glue > Crawlers", labels=labels)
    assert "Note" not in note
    assert key_phrases("Transfer Learning: reuse a pretrained model", df, 1000)[0] == "Transfer Learning"
    assert key_phrases("1. Transfer Learning: reuse a pretrained model", df, 1000)[0] == "Transfer Learning"


LEARNER_NOTE = """# My notes: week 3

## Athena and Parquet
- Store query data as Parquet: it is columnar, so Athena scans less data and each query costs less
- Athena charges $5 per TB of data scanned

## SageMaker Clarify
- Clarify explains individual predictions with SHAP values

## Feature Store
- A feature group holds records identified by a record identifier and an event time
"""


def test_a_learners_own_note_has_a_key_on_every_line(tmp_path: Path) -> None:
    """Each line of a learner's short note is a candidate under its own section (the chunker packs small
    sections into one passage, "Athena and Parquet / SageMaker Clarify"), with a key the question can ask for."""
    from mlstutor.chunking import chunk_document
    from mlstutor.corpus import Document
    from mlstutor.evalgen import candidates

    doc = Document("mine.md", tmp_path / "mine.md", LEARNER_NOTE, "0")
    got = {c.line: (c.section, c.keys[0]) for c in candidates(chunk_document(doc))}
    assert got == {
        4: ("Athena and Parquet", "Parquet"),
        5: ("Athena and Parquet", "$5 per TB"),
        8: ("SageMaker Clarify", "SHAP values"),
        11: ("Feature Store", "record identifier and an event time"),
    }


def test_a_scenario_is_the_situation_then_the_question() -> None:
    from mlstutor.evalgen import _wording

    reply = {"situation": "A bank scores card payments  as they happen", "question": "Which metric should it watch?"}
    assert _wording(reply) == "A bank scores card payments as they happen. Which metric should it watch?"
    assert question_kind(_wording(reply)) == "scenario"
    assert _wording({"situation": "", "question": "How big can a Kinesis record be?"}) == (
        "How big can a Kinesis record be?"
    )
    assert _wording({"situation": "A bank.", "question": ""}) == "" and _wording(None) == ""
    assert _wording({"situation": "A startup " + "stores ride data " * 12 + "in the r", "question": "Which?"}) == ""


@pytest.mark.parametrize(
    ("question", "key", "line", "why"),
    [
        ("How big can one Kinesis record get?", "1MB", "Maximum record size is 1MB", ""),
        ("Is a Kinesis record limited to 1MB?", "1MB", "Maximum record size is 1MB", "gives the key away"),
        (
            "What does AWS manage for task dependencies?",
            "Manages task dependencies",
            "Manages task dependencies (orchestration)",
            "gives the key away",
        ),
        (
            "What is the maximum record size is in Kinesis?",
            "1MB",
            "the maximum record size is 1MB in Kinesis",
            "quotes the line",
        ),
        ("Kinesis record size", "1MB", "Maximum record size is 1MB", "not a question"),
        ("What does principal component analysis reduce?", "PCA", "PCA reduces dimensions", "gives the key away"),
        # a value's unit is what the question asks per: only the value gives it away
        ("How much does Athena charge per TB scanned?", "$5 per TB", "Athena charges $5 per TB of data scanned", ""),
        (
            "Does Athena charge $5 per TB scanned?",
            "$5 per TB",
            "Athena charges $5 per TB of data scanned",
            "gives the key away",
        ),
    ],
)
def test_check_question_good_and_bad(question: str, key: str, line: str, why: str) -> None:
    assert check_question(question, key, line, set()) == why


def test_vague_question_is_dropped() -> None:
    # names nothing specific of its note: could be about any service
    assert check_question(
        "What data source does the model use?",
        "S3",
        "Model gets data from S3, built in ECR",
        set(),
        {"ecr", "endpoint"},
    ).startswith("too vague")
    assert (
        check_question(
            "Where does a model built in ECR get its data?",
            "S3",
            "Model gets data from S3, built in ECR",
            set(),
            {"ecr", "endpoint"},
        )
        == ""
    )


def test_a_question_on_another_subject_is_caught() -> None:
    from mlstutor.facts import Lexicon

    lex = Lexicon.load()
    line = "Data Engineering > Kinesis > Data Streams Producer: 1 MB/s or 1000 messages/s per shard"
    assert named_subjects("How much can one Glue Data Catalog shard take in?", lex) - named_subjects(line, lex)
    assert not named_subjects("How much can a producer write to one Kinesis Data Streams shard?", lex) - (
        named_subjects(line, lex)
    )


def test_quotes_and_kinds() -> None:
    assert quotes_line(
        "Past 5GB, why must use multi-part upload be chosen?",
        "if uploading more than 5GB, must use multi-part upload",
    )
    assert not quotes_line("When does S3 need uploads split into parts?", "must use multi-part upload")
    assert question_kind("A retail company streams clicks. Which service buffers them?") == "scenario"
    assert question_kind("kinesis retention default?") == "casual"
    assert question_kind("Which metric should you use when false negatives are costly?") == "fact"


def test_spearman_and_comparison() -> None:
    assert spearman([0.9, 0.8, 0.7], [0.5, 0.4, 0.3]) == 1.0
    assert spearman([0.9, 0.8, 0.7], [0.3, 0.4, 0.5]) == -1.0
    rows = [
        {"set": s, "mode": m, "chunk_size": 600, "heading_context": True, "hit@1": v, "mrr@10": v, "hit@5": v}
        for s, vals in (("a", (0.9, 0.8, 0.7)), ("b", (0.7, 0.8, 0.9)))
        for m, v in zip(("hybrid", "dense", "bm25"), vals)
    ]
    cmp_ = compare_sets(rows, "a", "b")
    assert cmp_["spearman"]["mrr@10"] == -1.0
    assert cmp_["best"] == {"a": "hybrid, chunks 600, headings on", "b": "bm25, chunks 600, headings on"}
    assert cmp_["disagree"] and cmp_["disagree"][0]["config"] in {
        r["mode"] + ", chunks 600, headings on" for r in rows
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    """The three small notes, indexed for real, with the 0.5B packaged model."""
    base = tmp_path_factory.mktemp("gen")
    corpus = base / "corpus"
    corpus.mkdir()
    for name, text in NOTES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    s = Settings(corpus_dir=corpus, index_dir=base / "index", data_dir=base / "data", cache_dir=base / "cache")
    return Retriever.open(s.with_(model="qwen2.5-coder-0.5b"))


def test_generated_set_holds_up_and_repeats(small: Retriever, tmp_path: Path) -> None:
    llm = get_llm(small.settings)
    items, report = generate_set(small, llm, 4, n_unanswerable=1, seed=3)
    again, _ = generate_set(small, llm, 4, n_unanswerable=1, seed=3)
    assert [i["question"] for i in items] == [i["question"] for i in again]  # same notes, model, seed: same set
    answerable = [i for i in items if i["answers"]]
    assert answerable, report.to_dict()  # the real model writes at least one question that passes the checks
    assert report.tried >= report.kept == len(answerable)
    for it in answerable:
        note = (small.settings.corpus_dir / it["sources"][0]).read_text(encoding="utf-8")
        assert contains_key(note, it["answers"])  # the key is in its source
        assert not contains_key(it["question"], it["answers"])  # and not in the question
        assert not quotes_line(it["question"], it["statement"])
    for it in items[len(answerable) :]:
        assert it["kind"] == "unanswerable" and it["topic"].split()[-1].lower() in it["question"].lower()
    out = tmp_path / "mine.jsonl"
    write_set(items, out)
    assert [i.id for i in load_eval_set(out)] == [i["id"] for i in items]  # the eval reads what it wrote


def test_a_note_that_is_not_indexed_is_named(small: Retriever, tmp_path: Path) -> None:
    """``eval generate --notes ~/mynote.md`` for a file outside the notes folder had said "no statement in these
    notes can carry a question"; it now says the file is not indexed and how to add it, with nothing written."""
    elsewhere = tmp_path / "mynote.md"
    elsewhere.write_text("# Mine\n\n* Feature Store keeps an online and an offline store\n", encoding="utf-8")
    with pytest.raises(MlstutorError, match="not among your indexed notes: mynote.md .*Library tab"):
        generate_set(small, get_llm(small.settings), 2, notes=[str(elsewhere)])


def test_sweep_on_small_notes(small: Retriever) -> None:
    items = [
        {"id": "a", "question": "How big can a Kinesis record be?", "answers": ["1MB"], "sources": ["kinesis.md"]},
        {"id": "b", "question": "What fills the Glue Data Catalog?", "answers": ["Crawlers"], "sources": ["glue.md"]},
        {"id": "c", "question": "Parquet conversion before S3?", "answers": ["Parquet"], "sources": ["firehose.md"]},
    ]
    path = small.settings.data_dir / "set.jsonl"
    write_set(items, path)
    loaded = load_eval_set(path)
    result = run_sweep(small.settings, {"x": loaded, "y": loaded}, sizes=(300, 600), k=5)
    assert len(result["rows"]) == 2 * 2 * 3 * 2  # sizes × headings × modes × sets
    assert sum(r["default"] for r in result["rows"]) == 2  # the default configuration, once per set
    assert result["comparison"]["spearman"]["mrr@10"] == pytest.approx(1.0)  # a set agrees with itself
    assert all(0.0 <= r["hit@1"] <= r["hit@5"] <= 1.0 for r in result["rows"])


def test_generate_cli_bad_input_is_one_clear_line(small: Retriever, capsys) -> None:
    s = small.settings
    argv = ["--corpus", str(s.corpus_dir), "--index-dir", str(s.index_dir), "eval", "generate", "--n", "0"]
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == "error: --n must be between 1 and 2000, not 0"
    argv[-4:] = ["eval", "sweep", "--sizes", "50"]
    assert main(argv) == 1
    assert "chunk sizes of at least 100" in capsys.readouterr().err


def test_generated_jsonl_is_plain(tmp_path: Path) -> None:
    write_set([{"id": "g1", "question": "Q?", "answers": ["k"], "sources": ["n.md"]}], tmp_path / "s.jsonl")
    assert json.loads((tmp_path / "s.jsonl").read_text(encoding="utf-8").strip())["id"] == "g1"


def test_heading_context_setting_reads_from_the_environment() -> None:
    from mlstutor.errors import SettingsError

    assert Settings.from_env({"MLSTUTOR_HEADING_CONTEXT": "0"}).heading_context is False
    assert Settings.from_env({}).heading_context is True
    with pytest.raises(SettingsError, match="HEADING_CONTEXT"):
        Settings.from_env({"MLSTUTOR_HEADING_CONTEXT": "maybe"})
