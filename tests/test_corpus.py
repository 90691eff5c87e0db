from pathlib import Path

import pytest

from mlstutor.corpus import load_corpus, read_document, repair_text
from mlstutor.errors import CorpusError


def test_corpus_has_the_five_notes(corpus_dir: Path) -> None:
    docs = load_corpus(corpus_dir)
    assert len(docs) == 5
    assert all(d.name.endswith(".md") for d in docs)
    assert "README.md" not in {d.name for d in docs}


def test_mojibake_is_repaired(corpus_dir: Path) -> None:
    raw = (corpus_dir / "aws-ml-specialty-2025-notes.md").read_text(encoding="utf-8")
    assert "Â" in raw and "â" in raw  # the stored note really is broken
    doc = read_document(corpus_dir / "aws-ml-specialty-2025-notes.md")
    for doc in load_corpus(corpus_dir):
        assert "Â" not in doc.text and "â" not in doc.text, doc.name
    fixed = read_document(corpus_dir / "aws-ml-specialty-2025-notes.md").text
    assert "### General Knowledge" in fixed
    assert "45º straight line" in fixed
    assert fixed.count("\n") == raw.count("\n")  # repair keeps line numbers valid


def test_repair_keeps_good_text() -> None:
    text = "Café crème — naïve résumé\nline two"
    assert repair_text(text) == text
    assert repair_text("donâ€™t") == "don't"


def test_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Title\n\nSome fact.\n")
    (tmp_path / "broken.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    with pytest.raises(CorpusError, match=r"broken\.md: not a text file"):
        load_corpus(tmp_path)
    assert (tmp_path / "broken.md").exists()  # nothing deleted


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="notes folder not found"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no notes"):
        load_corpus(tmp_path)


def test_cp1252_notes_are_decoded(tmp_path: Path) -> None:
    (tmp_path / "win.txt").write_bytes("Caf\xe9 \u2013 ok".encode("cp1252"))
    assert load_corpus(tmp_path)[0].text == "Café – ok"
