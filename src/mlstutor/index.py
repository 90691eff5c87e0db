"""Persist chunks and their embeddings in a FAISS index that is rebuilt only when something changed.

Layout under ``index_dir``::

    CURRENT                 name of the live build (replaced atomically)
    build-<stamp>/          manifest.json, chunks.jsonl, vectors.faiss, lines.npy, line_owner.npy, embed_keys.npy
    .tmp-<stamp>/           a build in progress; ignored by readers, cleaned by the next build
    .lock                   held by the one process building (a second one waits, then reuses its result)

A rebuild writes a complete new build folder beside the live one and then swaps ``CURRENT``; a crash at any
point (``kill -9``, a full disk) leaves the previous build loadable, and the folders a killed build left behind
are removed by the next build or the next load that finds no build running. The manifest records what the
build depends on (embedding model, chunker settings, each note's sha256), so a changed note or setting marks the
index stale.

Embeddings are cached by content: ``embed_keys.npy`` holds one hash (embedding model + text) per row of
``vectors.faiss`` followed by ``lines.npy``, so the live build is also a content-hash → vector store. A build
looks every passage and statement up there first and sends only the texts it has never seen to the model: adding
or editing one note re-embeds that note's texts and nothing else. The store is the build itself, so it is written,
checksummed, swapped and cleaned with it (a killed build cannot damage it); ``reuse=False`` (``mlstutor index
--rebuild``) ignores it and embeds everything again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import faiss
import numpy as np

from mlstutor.chunking import Chunk, ChunkerSettings, chunk_documents, is_navigation
from mlstutor.config import Settings
from mlstutor.corpus import file_hashes, load_corpus, note_paths
from mlstutor.embedding import get_embedder
from mlstutor.errors import CorpusError, IndexLoadError, StorageError, os_reason
from mlstutor.files import write_text_atomic

FORMAT_VERSION = 2
POINTER = "CURRENT"
BUILD_FILES = ("chunks.jsonl", "vectors.faiss", "lines.npy", "line_owner.npy", "embed_keys.npy")
# a build's encoder fine-tuned on its own practice questions, with the vectors it gives (``mlstutor.adapt``):
# the model's files plus these
ADAPTED = "adapted"
ADAPTED_INFO, ADAPTED_VECTORS, ADAPTED_LINES = "adapted.json", "vectors.npy", "lines.npy"
KEY_DTYPE = "S32"  # hex of a 16-byte blake2b digest
BUILT_ELSEWHERE = "built by another process just now"

# progress(stage, done, total): stages are "wait" (another process is building), "chunk", "embed", "save"
BuildProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IndexStatus:
    """What is on disk compared with what the settings and notes ask for."""

    state: str  # "fresh" | "stale" | "missing" | "corrupt"
    reason: str
    manifest: dict | None = None

    @property
    def usable(self) -> bool:
        return self.state == "fresh"


@dataclass
class LoadedIndex:
    """A build in memory: chunk records, their unit vectors, the FAISS index over them, and the manifest."""

    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: faiss.Index
    manifest: dict
    path: Path
    line_vectors: np.ndarray  # one unit vector per statement (see Chunk.line_units)
    line_owner: np.ndarray  # chunk position of each statement


def chunker_settings(settings: Settings) -> ChunkerSettings:
    return ChunkerSettings(settings.chunk_size, settings.chunk_overlap, settings.min_chunk, settings.chunker)


def expected_key_base(settings: Settings) -> dict:
    """The settings a build depends on (the notes' hashes are added by :func:`expected_key`)."""
    key: dict = {
        "format": FORMAT_VERSION,
        "embedding_model": settings.embedding_model,
        "chunker": chunker_settings(settings).as_dict(),
    }
    if not settings.heading_context:  # recorded only when off: the default index keeps its key
        key["heading_context"] = False
    return key


def expected_key(settings: Settings) -> dict:
    """The inputs a build depends on; equal keys mean the build on disk is up to date."""
    return {**expected_key_base(settings), "files": file_hashes(note_paths(settings.corpus_dir))}


def content_key(model: str, text: str) -> bytes:
    """The cache key of one embedded text: the model and the exact text, hashed."""
    return hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=16).hexdigest().encode("ascii")


def load_embedding_cache(index_dir: Path, model: str) -> dict[bytes, np.ndarray]:
    """Content hash → unit vector from the live build; empty when there is none, it was made by another model,
    predates the cache, or fails its checksums (a damaged build is never a source of vectors)."""
    try:
        manifest = read_manifest(index_dir)
    except IndexLoadError:
        return {}
    live = live_dir(index_dir)
    if (
        live is None
        or manifest["key"].get("embedding_model") != model
        or "embed_keys.npy" not in manifest.get("checksums", {})
    ):
        return {}
    try:
        keys = np.load(live / "embed_keys.npy")
        index = faiss.read_index(str(live / "vectors.faiss"))
        chunk_vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, 1), "float32")
        rows = np.vstack([np.asarray(chunk_vectors, dtype="float32"), np.load(live / "lines.npy")])
    except Exception:  # unreadable: embed everything, as without a cache
        return {}
    if len(keys) != len(rows):
        return {}
    return {bytes(k): rows[i] for i, k in enumerate(keys)}


def live_dir(index_dir: Path) -> Path | None:
    """The folder of the build the pointer names (None before the first build)."""
    pointer = index_dir / POINTER
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return index_dir / name if name else None


def read_manifest(index_dir: Path) -> dict:
    """The live build's manifest; :class:`IndexLoadError` when missing or unreadable."""
    live = live_dir(index_dir)
    if live is None:
        raise IndexLoadError(f"no index in {index_dir}: run `mlstutor index`")
    try:
        manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexLoadError(
            f"index in {live} is corrupt (manifest.json: {exc}); run `mlstutor index --rebuild`"
        ) from exc
    if not isinstance(manifest, dict) or "key" not in manifest:
        raise IndexLoadError(f"index in {live} is corrupt (manifest has no key); run `mlstutor index --rebuild`")
    for name, digest in manifest.get("checksums", {}).items():
        try:
            actual = _sha256(live / name)
        except OSError:
            actual = "missing"
        if actual != digest:
            what = "missing" if actual == "missing" else "checksum mismatch"
            raise IndexLoadError(f"index in {live} is corrupt ({name}: {what}); run `mlstutor index --rebuild`")
    return manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def index_status(settings: Settings) -> IndexStatus:
    """Fresh, stale (notes or settings changed), missing, or corrupt; never raises for index problems."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexLoadError as exc:
        state = "missing" if live_dir(settings.index_dir) is None else "corrupt"
        return IndexStatus(state, str(exc))
    want = expected_key(settings)
    have = manifest["key"]
    if have == want:
        return IndexStatus("fresh", f"{manifest.get('n_chunks', '?')} chunks, up to date", manifest)
    reasons = []
    if have.get("embedding_model") != want["embedding_model"] or have.get("format") != want["format"]:
        reasons.append("embedding model changed")
    if have.get("chunker") != want["chunker"]:
        reasons.append("chunker settings changed")
    old, new = have.get("files", {}), want["files"]
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    changed = sorted(n for n in set(new) & set(old) if new[n] != old[n])
    for label, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            reasons.append(f"{label}: {', '.join(names)}")
    return IndexStatus("stale", "; ".join(reasons) or "settings changed", manifest)


@contextlib.contextmanager
def _build_lock(index_dir: Path, blocking: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """One builder at a time, so two builds never race on the pointer. Yields whether the lock was held by
    another process first (a second builder waits for it); with ``blocking=False`` a held lock raises
    ``BlockingIOError`` instead of waiting."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        waited = False
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not blocking:
                raise
            waited = True
            if on_wait:
                on_wait()
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield waited
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _cleanup(index_dir: Path, keep: str | None) -> None:
    """Remove every build folder but ``keep`` and stray pointer temp files (left by a killed build)."""
    for child in index_dir.iterdir():
        if child.is_dir() and child.name != keep and child.name.startswith(("build-", ".tmp-")):
            shutil.rmtree(child, ignore_errors=True)
        elif child.is_file() and child.name.startswith(f".{POINTER}."):
            child.unlink(missing_ok=True)


def remove_stray_builds(index_dir: Path) -> None:
    """Clean what a killed build left behind, unless a build is running right now (then it is not stray)."""
    live = live_dir(index_dir)
    try:
        with _build_lock(index_dir, blocking=False):
            _cleanup(index_dir, keep=live.name if live else None)
    except OSError:  # a build is running (BlockingIOError), or the folder is read-only: nothing to do
        pass


def build_index(
    settings: Settings,
    progress: BuildProgress | None = None,
    *,
    reuse: bool = True,
    _fail_after_embed: bool = False,
) -> IndexStatus:
    """Read the notes, chunk, embed and write a new build, then make it live. Returns the new status.

    With ``reuse`` (the default) only texts the live build has no vector for are embedded; the manifest counts
    them (``n_embedded``, ``n_reused``). ``reuse=False`` embeds everything again.

    When another process is building the same index, this one waits; if that build left the index up to date,
    its result is used instead of building again. A write that fails (disk full) raises :class:`StorageError`
    and leaves the previous build live."""
    started = time.perf_counter()
    index_dir = settings.index_dir
    try:
        with _build_lock(index_dir, on_wait=(lambda: progress("wait", 0, 1)) if progress else None) as waited:
            if waited and (status := index_status(settings)).usable:
                return IndexStatus("fresh", BUILT_ELSEWHERE, status.manifest)
            return _build_locked(settings, progress, started, _fail_after_embed, reuse)
    except OSError as exc:  # the folder or its lock file cannot be created
        raise StorageError(f"cannot write the index in {index_dir}: {os_reason(exc)}") from exc


def _embed_cached(
    settings: Settings, texts: list[str], reuse: bool, progress: BuildProgress | None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Vectors for ``texts`` (cache first, then the model for the rest, each distinct text once). Returns the
    vectors, their content keys, how many texts were sent to the model and how many came from the cache."""
    model = settings.embedding_model
    keys = [content_key(model, t) for t in texts]
    cache = load_embedding_cache(settings.index_dir, model) if reuse else {}
    todo: dict[bytes, str] = {}
    for k, t in zip(keys, texts):
        if k not in cache and k not in todo:
            todo[k] = t
    fresh: dict[bytes, np.ndarray] = {}
    if todo:
        embedder = get_embedder(model)
        new = embedder.encode(
            list(todo.values()), progress=(lambda d, t: progress("embed", d, t)) if progress else None
        )
        fresh = dict(zip(todo, new))
    elif progress:
        progress("embed", 0, 0)
    rows = [cache[k] if k in cache else fresh[k] for k in keys]
    dim = rows[0].shape[0] if rows else 1
    vectors = np.vstack(rows).astype("float32") if rows else np.zeros((0, dim), "float32")
    reused = sum(1 for k in set(keys) if k in cache)
    return vectors, np.array(keys, dtype=KEY_DTYPE), len(todo), reused


def _build_locked(
    settings: Settings, progress: BuildProgress | None, started: float, fail: bool, reuse: bool = True
) -> IndexStatus:
    index_dir = settings.index_dir
    docs = load_corpus(settings.corpus_dir)
    # the key records the bytes actually read, so a note edited or deleted meanwhile makes the index stale
    key = {**expected_key_base(settings), "files": {d.name: d.sha256 for d in docs}}
    all_chunks = chunk_documents(docs, chunker_settings(settings))
    chunks = [c for c in all_chunks if not is_navigation(c.text)]
    if not chunks:
        raise CorpusError(f"the notes in {settings.corpus_dir} hold no text to search (only headings or links)")
    if progress:
        progress("chunk", len(docs), len(docs))
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.time_ns() % 10**6:06d}"
    tmp = index_dir / f".tmp-{stamp}"
    final: Path | None = None
    try:
        # the build folder exists from the start: a build killed at any point leaves only this folder
        tmp.mkdir(parents=True)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        units, texts = embedded_texts(chunks, settings.heading_context)
        all_vectors, embed_keys, n_embedded, n_reused = _embed_cached(settings, texts, reuse, progress)
        vectors, line_vectors = all_vectors[: len(chunks)], all_vectors[len(chunks) :]
        line_owner = np.array([i for i, _ in units], dtype="int32")
        if fail:  # used by the tests to prove a crash leaves the old index usable
            raise RuntimeError("simulated failure during build")
        faiss_index = faiss.IndexFlatIP(vectors.shape[1])
        faiss_index.add(vectors)
        # serialised here and written by Python, so a full disk is an OSError with its errno
        (tmp / "vectors.faiss").write_bytes(faiss.serialize_index(faiss_index).tobytes())
        np.save(tmp / "lines.npy", line_vectors)
        np.save(tmp / "line_owner.npy", line_owner)
        np.save(tmp / "embed_keys.npy", embed_keys)
        manifest = {
            "key": key,
            "n_chunks": len(chunks),
            "n_navigation_skipped": len(all_chunks) - len(chunks),
            "n_docs": len(docs),
            "dim": int(vectors.shape[1]),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - started, 2),
            "corpus_dir": str(settings.corpus_dir),
            "n_line_units": len(units),
            "n_embedded": n_embedded,  # distinct texts sent to the model in this build
            "n_reused": n_reused,  # distinct texts whose vector came from the previous build
            "checksums": {name: _sha256(tmp / name) for name in BUILD_FILES},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if progress:
            progress("save", 1, 1)
        os.rename(tmp, index_dir / f"build-{stamp}")
        final = index_dir / f"build-{stamp}"
        write_text_atomic(index_dir / POINTER, final.name + "\n")
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if final is not None and live_dir(index_dir) != final:
            shutil.rmtree(final, ignore_errors=True)
        if isinstance(exc, OSError):
            raise StorageError(
                f"cannot write the index in {index_dir}: {os_reason(exc)}; the previous index is still in use "
                "— free some space and run `mlstutor index` again"
            ) from exc
        raise
    _cleanup(index_dir, keep=final.name)
    return IndexStatus(
        "fresh", f"{len(chunks)} chunks built ({n_embedded} texts embedded, {n_reused} reused)", manifest
    )


def load_index(index_dir: Path, manifest: dict | None = None) -> LoadedIndex:
    """Load the live build; :class:`IndexLoadError` with a one-line reason when it is missing or damaged.
    ``manifest``: one :func:`read_manifest` just returned, so its checksums are not computed twice."""
    manifest = manifest or read_manifest(index_dir)
    live = live_dir(index_dir)
    assert live is not None
    fix = "run `mlstutor index --rebuild`"
    try:
        chunks = [
            Chunk.from_dict(json.loads(line))
            for line in (live / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexLoadError(f"index in {live} is corrupt (chunks.jsonl: {exc}); {fix}") from exc
    try:
        faiss_index = faiss.read_index(str(live / "vectors.faiss"))
    except Exception as exc:  # faiss raises RuntimeError with a C++ message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IndexLoadError(f"index in {live} is corrupt (vectors.faiss: {first[:160]}); {fix}") from exc
    if faiss_index.ntotal != len(chunks) or manifest.get("n_chunks") != len(chunks):
        raise IndexLoadError(
            f"index in {live} is corrupt ({faiss_index.ntotal} vectors for {len(chunks)} chunks); {fix}"
        )
    vectors = faiss_index.reconstruct_n(0, faiss_index.ntotal) if faiss_index.ntotal else np.zeros((0, 1))
    try:
        line_vectors = np.load(live / "lines.npy")
        line_owner = np.load(live / "line_owner.npy")
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"index in {live} is corrupt (line vectors: {exc}); {fix}") from exc
    return LoadedIndex(
        chunks, np.asarray(vectors, dtype="float32"), faiss_index, manifest, live, line_vectors, line_owner
    )


def embedded_texts(chunks: Sequence[Chunk], heading: bool) -> tuple[list[tuple[int, str]], list[str]]:
    """What a build embeds: (passage position, unit) per statement, and the texts in vector order (the passages,
    then their statements)."""
    units = [(i, u) for i, c in enumerate(chunks) for u in c.units_with(heading)]
    return units, [c.search_text_with(heading) for c in chunks] + [u for _, u in units]


def adapted(index: LoadedIndex) -> tuple[str, LoadedIndex] | None:
    """The build's adapted encoder folder and the index with its vectors, or None when the build has none (or
    one that does not fit it: then the base model's vectors serve)."""
    folder = index.path / ADAPTED
    if not (folder / ADAPTED_INFO).is_file():
        return None
    try:
        vectors = np.load(folder / ADAPTED_VECTORS).astype("float32")
        lines = np.load(folder / ADAPTED_LINES).astype("float32")
    except (OSError, ValueError):
        return None
    if vectors.shape[0] != len(index.chunks) or lines.shape[0] != len(index.line_vectors):
        return None
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return str(folder), replace(index, vectors=vectors, faiss_index=flat, line_vectors=lines)


def ensure_index(settings: Settings, progress: BuildProgress | None = None) -> LoadedIndex:
    """The index for these settings, built first when missing or stale. A corrupt index is reported, not
    silently replaced, so the user decides (``mlstutor index --rebuild``)."""
    status = index_status(settings)
    if status.state == "corrupt":
        raise IndexLoadError(status.reason)
    if status.state in ("missing", "stale"):
        status = build_index(settings, progress)
    else:
        remove_stray_builds(settings.index_dir)  # what a killed build left behind
    return load_index(settings.index_dir, status.manifest)
