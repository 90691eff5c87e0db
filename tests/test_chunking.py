import statistics
from pathlib import Path

import pytest

from mlstutor.chunking import (
    ChunkerSettings,
    _sections,
    bullet_parents,
    chunk_document,
    chunk_documents,
    clean_heading,
    is_navigation,
    is_outline,
)
from mlstutor.corpus import Document, load_corpus


@pytest.fixture(scope="module")
def docs(corpus_dir: Path) -> list[Document]:
    return load_corpus(corpus_dir)


@pytest.fixture(scope="module")
def chunks(docs: list[Document]):
    return chunk_documents(docs)


def test_every_line_lands_in_a_chunk(docs, chunks) -> None:
    """Every line is in some chunk, except a chapter outline's (a list of topic names under a linked heading)."""
    size = ChunkerSettings().chunk_size
    for doc in docs:
        mine = [c for c in chunks if c.source == doc.name]
        lines = doc.text.split("\n")
        outline = {no for s in _sections(lines) if is_outline(s) for no in range(s.start, s.end + 1)}
        for no, line in enumerate(lines, start=1):
            if not line.strip() or no in outline:
                continue
            covering = [c for c in mine if c.line_start <= no <= c.line_end]
            assert covering, f"{doc.name}:{no} is in no chunk"
            if len(line) < size // 2:
                assert any(line.strip() in c.text for c in covering), f"{doc.name}:{no} text missing"


def test_chunk_text_matches_its_line_span(docs, chunks) -> None:
    by_name = {d.name: d.text.split("\n") for d in docs}
    for c in chunks:
        span = "\n".join(by_name[c.source][c.line_start - 1 : c.line_end])
        assert c.text.strip() in span or span.strip() in c.text, c.id


def test_sizes_and_ids(chunks) -> None:
    assert statistics.mean(len(c.text) for c in chunks) <= 800
    assert max(len(c.text) for c in chunks) <= ChunkerSettings().chunk_size * 1.15 + 1
    assert len({c.id for c in chunks}) == len(chunks)
    assert not any("Â" in c.text or "â" in c.text for c in chunks)


def test_ids_are_stable(docs) -> None:
    assert [c.id for c in chunk_documents(docs)] == [c.id for c in chunk_documents(docs)]


def test_known_heading_paths(chunks) -> None:
    def paths(source: str) -> set[str]:
        return {c.heading for c in chunks if c.source == source}

    assert "Data Engineering > Kinesis > Data Streams" in paths("aws-ml-specialty-quick-notes.md")
    assert "Data Engineering > Kinesis > Kinesis - Data Streams" in paths("aws-ml-specialist-course-notes.md")
    assert any(
        p.startswith("Exploratory Data Analysis > General Knowledge") for p in paths("aws-ml-specialty-2025-notes.md")
    )
    record = [c for c in chunks if "Maximum record size is 1MB" in c.text]
    assert record and record[0].heading == "Data Engineering > Kinesis > Data Streams"
    assert record[0].search_text.startswith("Data Engineering > Kinesis > Data Streams\n")


def test_tiny_sections_are_merged_and_long_ones_split() -> None:
    text = "# Title\n\n## Parent\n\n### Child A\n\n* fact a\n\n### Child B\n\n* fact b\n\n## Long\n\n" + "\n".join(
        f"* long fact number {i} about something worth knowing" for i in range(60)
    )
    doc = Document("t.md", Path("t.md"), text, "x")
    out = chunk_document(doc, ChunkerSettings(chunk_size=400, chunk_overlap=60, min_chunk=150))
    assert out[0].heading == "Parent > Child A / Child B"
    assert "fact a" in out[0].text and "fact b" in out[0].text
    long = [c for c in out if c.heading_path == ("Long",)]
    assert len(long) >= 4
    assert all(len(c.text) <= 460 for c in long)
    assert long[0].line_start < long[1].line_start
    # overlap: consecutive pieces share some lines
    assert long[1].line_start <= long[0].line_end


def test_a_line_of_a_packed_passage_keeps_its_own_heading(chunks) -> None:
    """ "BlazingText / Object2Vec" packs two algorithms; each line is cited under its own (a line's citation and
    evidence heading), a section opened above the passage is its first name, a name holding " / " stays whole."""
    packed = next(c for c in chunks if c.heading.endswith("Algorithms > BlazingText / Object2Vec"))
    line = {t: no for no, t in packed.statements}
    word2vec, objects = (
        line["Also supports Word2Vec"],
        line["Like Word2Vec but generalized to objects, i.e. similar products"],
    )
    assert packed.line_heading_path(word2vec)[-2:] == ("Algorithms", "BlazingText")
    assert packed.line_heading_path(objects)[-2:] == ("Algorithms", "Object2Vec")
    assert packed.citation(objects, objects).heading_path == "Modeling > SageMaker > Algorithms > Object2Vec"
    assert packed.citation().heading_path == packed.heading  # the whole passage keeps the joined path
    text = "# T\n\n## A / B\n\n* one fact about a\n\n## C\n\n* one fact about c\n\n### D\n\n* one fact about d\n"
    (one,) = chunk_document(Document("t.md", Path("t.md"), text, "x"), ChunkerSettings(min_chunk=150))
    assert one.heading == "A / B / C"
    lines = {t: no for no, t in one.statements}
    assert [one.line_heading_path(lines[f"one fact about {x}"]) for x in "acd"] == [("A / B",), ("C",), ("C", "D")]


def test_headings_inside_code_fences_are_not_headings() -> None:
    text = "# T\n\n## Real\n\n```\n# not a heading\n```\n\nbody\n"
    out = chunk_document(Document("c.md", Path("c.md"), text, "x"))
    assert {c.heading for c in out} == {"Real"}


def test_clean_heading_and_navigation() -> None:
    assert clean_heading("1. [Machine learning concepts](01-concepts.md)") == "1. Machine learning concepts"
    assert is_navigation("* [Kinesis](#kinesis)\n    * [Glue](#glue)\n* [S3](#s3)")
    assert not is_navigation("* Maximum record size is 1MB\n* see [docs](#x)")


def test_a_chapter_outline_is_left_out_and_lines_stay_true() -> None:
    """A heading linking to a chapter file over a list of bare topic names states no fact; the passages around it
    keep their own line numbers (nothing is merged across the gap)."""
    text = (
        "# Notes\n\n## Before\n\n* Glue crawlers infer schemas\n\n## 7. [AWS Services](07-aws.md)\n\n* S3 Datalakes\n"
        "* Kinesis (video stream / data stream / firehose)\n* Glue\n\n## S3 datalakes\n\n"
        "Collection of structured and unstructured files stored in S3\n\n"
        "## 8. [Tools](08-tools.md)\n\n* Pytorch\n\nPytorch is a deep learning framework with dynamic graphs\n"
    )
    lines = text.split("\n")
    out = chunk_document(Document("o.md", Path("o.md"), text, "x"), ChunkerSettings(min_chunk=150))
    joined = "\n".join(c.text for c in out)
    assert "Kinesis (video stream" not in joined  # the outline is gone
    assert "Pytorch is a deep learning framework" in joined  # an outline with a fact under it is kept
    for c in out:
        assert "\n".join(lines[c.line_start - 1 : c.line_end]) == c.text


def test_bullets_know_their_parents(chunks) -> None:
    """Whose bullet a claim rests on: in the 2025 notes SMOTE (line 307) sits under "Oversampling the minority
    class" (306), which with "Undersampling …" (308) sits under "Solutions:" (305); a heading ends a list."""
    parents = bullet_parents(chunks)
    note = "aws-ml-specialty-2025-notes.md"
    assert [parents.get((note, n)) for n in (306, 307, 308, 309)] == [305, 306, 305, 305]
    assert parents.get((note, 1)) is None
    assert all(child > parent for (_, child), parent in parents.items())
