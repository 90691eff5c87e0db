import json
from pathlib import Path

import pytest

from mlstutor.config import Settings
from mlstutor.errors import IndexLoadError
from mlstutor.index import BUILD_FILES, POINTER, build_index, ensure_index, index_status, load_index


@pytest.fixture()
def own(tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")


def _live(settings: Settings) -> Path:
    return settings.index_dir / (settings.index_dir / POINTER).read_text().strip()


def test_build_reuse_and_rebuild_on_change(own: Settings) -> None:
    assert index_status(own).state == "missing"
    stages: list[str] = []
    first = ensure_index(own, lambda stage, done, total: stages.append(stage))
    assert {"chunk", "embed", "save"} <= set(stages)
    assert first.manifest["key"]["embedding_model"] == "all-MiniLM-L6-v2"
    assert first.manifest["key"]["chunker"]["chunk_size"] == own.chunk_size
    assert len(first.manifest["key"]["files"]) == 5
    assert index_status(own).state == "fresh"

    # nothing changed: no work, same build folder
    stages.clear()
    again = ensure_index(own, lambda stage, done, total: stages.append(stage))
    assert stages == [] and again.path == first.path

    # a changed note makes it stale and the next use rebuilds
    note = own.corpus_dir / "aws-ml-specialty-quick-notes.md"
    note.write_text(note.read_text() + "\n## Extra\n\n* Zebra migration facts for testing\n")
    status = index_status(own)
    assert status.state == "stale" and "changed: aws-ml-specialty-quick-notes.md" in status.reason
    rebuilt = ensure_index(own)
    assert rebuilt.path != first.path and not first.path.exists()
    assert any("Zebra migration" in c.text for c in rebuilt.chunks)

    # a changed setting rebuilds too
    assert index_status(own.with_(chunk_size=500)).state == "stale"


def test_failed_build_leaves_old_index_usable(own: Settings) -> None:
    good = ensure_index(own)
    (own.corpus_dir / "new-note.md").write_text("# New\n\n## Topic\n\n* A brand new fact\n")
    with pytest.raises(RuntimeError, match="simulated failure"):
        build_index(own, _fail_after_embed=True)
    loaded = load_index(own.index_dir)
    assert loaded.path == good.path and len(loaded.chunks) == len(good.chunks)
    assert not [p for p in own.index_dir.iterdir() if p.name.startswith(".tmp-")]
    assert index_status(own).state == "stale"


def test_corrupt_index_is_a_clear_error_and_nothing_is_deleted(own: Settings) -> None:
    ensure_index(own)
    live = _live(own)
    (live / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexLoadError, match=r"corrupt \(vectors\.faiss.*mlstutor index --rebuild"):
        ensure_index(own)
    assert (live / "vectors.faiss").read_bytes() == b"garbage"
    (live / "manifest.json").write_text("{not json")
    assert index_status(own).state == "corrupt"
    with pytest.raises(IndexLoadError, match=r"manifest\.json"):
        ensure_index(own)
    # an explicit rebuild repairs it
    build_index(own)
    assert index_status(own).state == "fresh"


def test_truncated_or_missing_files_are_detected(own: Settings) -> None:
    ensure_index(own)
    live = _live(own)
    lines = (live / "chunks.jsonl").read_text().splitlines()
    manifest = json.loads((live / "manifest.json").read_text())
    assert manifest["n_chunks"] == len(lines) and set(manifest["checksums"]) == set(BUILD_FILES)
    (live / "chunks.jsonl").write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(IndexLoadError, match=r"chunks\.jsonl: checksum mismatch"):
        load_index(own.index_dir)
    (live / "chunks.jsonl").write_text("\n".join(lines) + "\n")
    assert index_status(own).state == "fresh"
    (live / "vectors.faiss").unlink()
    assert index_status(own).state == "corrupt"
    assert "vectors.faiss: missing" in index_status(own).reason
