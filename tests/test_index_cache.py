"""Incremental indexing: the live build is a content-hash → vector cache, so a new or edited note re-embeds only
its own passages and statements. Shown by the counters the build writes into its manifest and by the texts the
real embedding model was actually given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import NOTES  # three small notes on disk, shared by the index tests

from mlstutor import index as index_mod
from mlstutor.chunking import is_navigation
from mlstutor.config import Settings
from mlstutor.index import POINTER, build_index, index_status, load_index

NEW_NOTE = (
    "# Athena\n\n## Amazon Athena\n\n* Serverless SQL queries over data in S3\n"
    "* Pay per terabyte scanned; Parquet and partitions cut the cost\n"
)


@pytest.fixture()
def small(tmp_path: Path) -> Settings:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text, encoding="utf-8")
    return Settings(corpus_dir=notes, index_dir=tmp_path / "index", data_dir=tmp_path / "data")


@pytest.fixture()
def seen(monkeypatch) -> list[str]:
    """Every text handed to the (real) embedding model during the test."""
    texts: list[str] = []
    real = index_mod.get_embedder

    class Recording:
        def __init__(self, inner) -> None:
            self.inner = inner

        def encode(self, batch, progress=None):
            texts.extend(batch)
            return self.inner.encode(batch, progress)

    monkeypatch.setattr(index_mod, "get_embedder", lambda name: Recording(real(name)))
    return texts


def _texts_of(settings: Settings, source: str) -> set[str]:
    chunks = [c for c in load_index(settings.index_dir).chunks if c.source == source and not is_navigation(c.text)]
    return {c.search_text for c in chunks} | {u for c in chunks for u in c.line_units}


def test_adding_one_note_embeds_only_that_note(small: Settings, seen: list[str]) -> None:
    first = build_index(small).manifest
    assert first["n_reused"] == 0 and first["n_embedded"] == len(seen) > 0

    seen.clear()
    (small.corpus_dir / "athena.md").write_text(NEW_NOTE, encoding="utf-8")
    assert index_status(small).state == "stale"
    second = build_index(small)
    m = second.manifest
    new_texts = _texts_of(small, "athena.md")
    # the counter the build reports: exactly the new note's passages and statements were embedded
    assert m["n_embedded"] == len(new_texts) == len(set(seen))
    assert set(seen) == new_texts
    assert m["n_reused"] == first["n_embedded"]
    assert f"{len(new_texts)} texts embedded, {first['n_embedded']} reused" in second.reason
    assert index_status(small).state == "fresh"

    # the cached vectors are the ones a build from scratch computes
    cached = load_index(small.index_dir)
    seen.clear()
    scratch = build_index(small, reuse=False).manifest
    assert scratch["n_reused"] == 0 and scratch["n_embedded"] == len(set(seen)) == m["n_embedded"] + m["n_reused"]
    fresh = load_index(small.index_dir)
    assert [c.id for c in fresh.chunks] == [c.id for c in cached.chunks]
    assert np.allclose(fresh.vectors, cached.vectors, atol=1e-4)
    assert np.allclose(fresh.line_vectors, cached.line_vectors, atol=1e-4)


def test_editing_a_note_embeds_only_its_changed_texts(small: Settings, seen: list[str]) -> None:
    build_index(small)
    seen.clear()
    note = small.corpus_dir / "glue.md"
    note.write_text(note.read_text() + "* Glue DataBrew cleans data without code\n", encoding="utf-8")
    m = build_index(small).manifest
    assert seen and all("Glue" in t or "DataBrew" in t for t in seen)  # nothing from the other notes
    assert m["n_embedded"] == len(set(seen)) < len(_texts_of(small, "glue.md")) + 1
    assert any("DataBrew" in t for t in seen)


def test_a_damaged_live_build_is_never_a_source_of_vectors(small: Settings, seen: list[str]) -> None:
    build_index(small)
    live = small.index_dir / (small.index_dir / POINTER).read_text().strip()
    keys = np.load(live / "embed_keys.npy")
    np.save(live / "embed_keys.npy", keys[::-1])  # checksum no longer matches
    seen.clear()
    m = build_index(small).manifest
    assert m["n_reused"] == 0 and m["n_embedded"] == len(set(seen))
    assert index_status(small).state == "fresh"
