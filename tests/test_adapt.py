"""The encoder fitted to the notes (``mlstutor index --adapt``): real MiniLM fine-tuned on the real question bank of
two real notes, real FAISS index on disk."""

import time
from pathlib import Path

import numpy as np
import pytest

from mlstutor import adapt
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.index import ADAPTED, build_index, load_index
from mlstutor.quiz import QuestionBank
from mlstutor.retrieval import Retriever
from mlstutor.ui.services import Services

KEEP = ("aws-ml-specialty-quick-notes.md", "aws-ml-study-notes-concepts.md")


@pytest.fixture()
def two_notes(tmp_path: Path, corpus_copy: Path) -> Settings:
    for note in corpus_copy.glob("*.md"):
        if note.name not in KEEP:
            note.unlink()
    return Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index", data_dir=tmp_path / "data")


def _first_hits(r: Retriever, pairs: list[tuple[str, str]]) -> int:
    """How many training questions find a passage holding their line first."""
    return sum(line.split(": ", 1)[-1] in r.search(q, k=1)[0].chunk.text for q, line in pairs)


def test_adapt_fits_the_encoder_and_search_uses_it(two_notes: Settings) -> None:
    base = Retriever.open(two_notes)
    pairs = adapt.training_pairs(base, QuestionBank.of(base))
    assert len(pairs) >= 2 * adapt.BATCH
    assert all(q.endswith("?") or "____" in q for q, _ in pairs)

    info = adapt.adapt_index(two_notes, epochs=1)
    folder = base.index.path / ADAPTED
    assert info["pairs"] == len(pairs) and (folder / "adapted.json").is_file()
    assert not list(base.index.path.glob(".tmp-adapted-*"))

    fitted = Retriever.open(two_notes)
    assert fitted.embedder.path == str(folder)
    assert fitted.index.vectors.shape == base.index.vectors.shape
    assert not np.allclose(fitted.index.vectors, base.index.vectors)
    assert _first_hits(fitted, pairs) >= _first_hits(base, pairs)  # it learnt what it was shown

    # a CLI quiz from the stored bank opens the index without loading the encoder; a search loads it then
    lazy = Retriever.open(two_notes, load_encoder=False)
    assert lazy.embedder.path == str(folder) and lazy.embedder._model is None
    assert (
        lazy.search("What is Amazon Polly?", k=1)[0].chunk.id
        == fitted.search("What is Amazon Polly?", k=1)[0].chunk.id
    )
    assert lazy.embedder._model is not None

    # MLSTUTOR_ADAPTED=0: the packaged model, the build's own vectors
    plain = Retriever.open(two_notes.with_(adapted=False))
    assert plain.embedder.path != str(folder)
    assert np.allclose(plain.index.vectors, base.index.vectors)


def test_adapted_folder_that_does_not_fit_is_ignored(two_notes: Settings) -> None:
    build_index(two_notes)
    live = load_index(two_notes.index_dir).path
    folder = live / ADAPTED
    folder.mkdir()
    (folder / "adapted.json").write_text("{}")
    np.save(folder / "vectors.npy", np.zeros((3, 384), dtype="float32"))  # wrong row count
    np.save(folder / "lines.npy", np.zeros((3, 384), dtype="float32"))
    r = Retriever.open(two_notes)
    assert r.embedder.path != str(folder)
    assert r.search("What does SageMaker Neo do?", k=3)


def test_a_failed_fit_leaves_nothing_behind(two_notes: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(base: str, pairs: list, out: Path, *args: object, **kwargs: object) -> None:
        (out / "model.safetensors").write_bytes(b"half a model")  # killed halfway through saving
        raise MlstutorError("disk full")

    monkeypatch.setattr(adapt, "fine_tune", broken)
    with pytest.raises(MlstutorError, match="disk full"):
        adapt.adapt_index(two_notes, epochs=1)
    live = load_index(two_notes.index_dir).path
    assert not (live / ADAPTED).exists() and not list(live.glob(".tmp-adapted-*"))
    assert Retriever.open(two_notes).search("What is Amazon Polly?", k=1)


def test_the_web_app_fits_search_in_the_background(two_notes: Settings) -> None:
    """What `make run` does: the app serves at once on the packaged encoder, fits one to the notes in the
    background and searches with it when it is ready (a hosted backend here: no local model to load first)."""
    hosted = two_notes.with_(backend="openai", openai_base_url="http://127.0.0.1:9/v1", openai_model="m")
    svc = Services(hosted)
    try:
        svc.start()
        deadline = time.time() + 600
        while time.time() < deadline and not (svc.retriever and svc.retriever.embedder.name == ADAPTED):
            time.sleep(1)
        assert svc.retriever.embedder.name == ADAPTED, svc.status_md()
        assert "search fitted to them" in svc.status_md()
        assert svc.retriever.search("What does Amazon Polly do?", k=1)
        fitted = svc.retriever
        svc.adapt()  # the loaded build has its encoder: nothing fitted again, nothing swapped
        assert svc.retriever is fitted
    finally:
        svc.stop()

    # a second fit of a fitted build keeps the one it has
    assert adapt.adapt_index(two_notes)["seconds"] == 0.0
    off = Services(two_notes.with_(adapted=False))
    off.load_index()
    assert off.retriever.embedder.name != ADAPTED  # MLSTUTOR_ADAPTED=0: the packaged model, though one is fitted
