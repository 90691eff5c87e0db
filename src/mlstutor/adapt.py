"""Fit the embedding model to these notes: MiniLM fine-tuned on the question bank's own questions.

The question bank already asks about every line it can teach — "Which SageMaker built-in algorithm can be used for
dimensionality reduction?" keyed on "PCA: Can be used for dimensionality reduction" — so each item whose key is a
line is a (question, line) pair written by the program, with no model and no hand-written set. A few epochs of
in-batch-negatives training on those pairs (~1.5 min on two cores) teach the encoder how questions about these notes
are worded: held-out hybrid hit@1 rose 0.82 → 0.85 on the bundled notes (README, issue #12). Nothing of the eval
sets is trained on.

The adapted model and the passages' and lines' vectors it gives are saved in the build's ``adapted/`` folder
(written beside it, then renamed into place); :meth:`Retriever.open` uses them when present. A rebuilt index (new
or edited notes) starts without one: the web UI fits it in the background (``Services.adapt``), the CLI with
``mlstutor index --adapt``.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlstutor.config import Settings
from mlstutor.embedding import SentenceTransformerEmbedder
from mlstutor.errors import MlstutorError, StorageError
from mlstutor.index import (
    ADAPTED,
    ADAPTED_INFO,
    ADAPTED_LINES,
    ADAPTED_VECTORS,
    BuildProgress,
    adapted,
    embedded_texts,
    ensure_index,
    live_dir,
)
from mlstutor.quiz import QuestionBank
from mlstutor.retrieval import Retriever

EPOCHS, BATCH, LEARNING_RATE, SCALE = 3, 16, 2e-5, 20.0


def training_pairs(retriever: Retriever, bank: QuestionBank) -> list[tuple[str, str]]:
    """(question, embedded line unit) for every bank item keyed on one line of the notes. "Which statement
    about X …?" items are left out: their stem says nothing of the line that answers them."""
    unit = {}
    for c in retriever.chunks:
        for (no, _), u in zip(c.statements, c.units_with(retriever.settings.heading_context)):
            unit.setdefault((c.source, no), u)
    pairs = []
    for q in bank.items:
        if q.kind in ("about", "two", "sizing") or not q.answer:  # a sizing stem is arithmetic, not the line
            continue
        cit = q.rationales.get(q.answer[0], {}).get("citation")
        if cit and (cit["source"], cit["line_start"]) in unit:
            pairs.append((q.stem, unit[(cit["source"], cit["line_start"])]))
    return pairs


def fine_tune(
    base: str,
    pairs: list[tuple[str, str]],
    out: Path,
    epochs: int = EPOCHS,
    seed: int = 0,
    progress: BuildProgress | None = None,
    busy: Callable[[], bool] | None = None,
) -> None:
    """Multiple-negatives ranking loss (each question against every line of its batch), AdamW, fixed seed.
    ``busy()`` true: wait before the next step (a learner is using the two cores)."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(base, device="cpu")
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    prepare = getattr(model, "preprocess", None) or model.tokenize

    def embed(texts: list[str]) -> torch.Tensor:
        return torch.nn.functional.normalize(model(prepare(texts))["sentence_embedding"], dim=1)

    steps = epochs * -(-len(pairs) // BATCH)
    done = 0
    for _ in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for i in range(0, len(order), BATCH):
            while busy and busy():
                time.sleep(1)
            batch = [pairs[j] for j in order[i : i + BATCH]]
            sims = embed([q for q, _ in batch]) @ embed([line for _, line in batch]).T * SCALE
            loss = torch.nn.functional.cross_entropy(sims, torch.arange(len(batch)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if progress:
                progress("fine-tune", done, steps)
    model.eval()
    model.save(str(out))


def adapt_index(
    settings: Settings,
    progress: BuildProgress | None = None,
    epochs: int = EPOCHS,
    busy: Callable[[], bool] | None = None,
    retriever: Retriever | None = None,
) -> dict:
    """Fine-tune the encoder on a build's question bank and store it, with the vectors it gives, in the build's
    ``adapted/`` folder; a build that has one keeps it. ``retriever``: the build already loaded (the web UI's —
    its bank is reused, and nothing is rebuilt behind the learner's back); else the live build, built if stale.
    One fit per build at a time (a lock file in the build); the folder appears whole or not at all, and only
    while its build is still the live one. Returns what was done (pairs, epochs, seconds)."""
    t0 = time.perf_counter()
    index = retriever.index if retriever is not None else ensure_index(settings)
    base = retriever or Retriever(index, _base_embedder(settings), settings)
    target = index.path / ADAPTED
    try:
        with open(index.path / ".adapt.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise MlstutorError(
                    "another process is fitting the encoder to these notes; try again later"
                ) from None
            for stale in index.path.glob(".tmp-adapted-*"):  # left by a killed run (none runs now: we hold the lock)
                shutil.rmtree(stale, ignore_errors=True)
            if adapted(index):
                return json.loads((target / ADAPTED_INFO).read_text(encoding="utf-8")) | {"seconds": 0.0}
            pairs = training_pairs(base, QuestionBank.of(base))
            if len(pairs) < 2 * BATCH:
                raise MlstutorError(f"too few practice questions to adapt on ({len(pairs)}); add notes first")
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-adapted-", dir=index.path))
            try:
                fine_tune(_base_embedder(settings).path, pairs, tmp, epochs, progress=progress, busy=busy)
                enc = SentenceTransformerEmbedder(ADAPTED, str(tmp))
                _, texts = embedded_texts(index.chunks, settings.heading_context)
                vecs = enc.encode(texts, lambda done, total: progress and progress("embed", done, total))
                np.save(tmp / ADAPTED_VECTORS, vecs[: len(index.chunks)])
                np.save(tmp / ADAPTED_LINES, vecs[len(index.chunks) :])
                info = {"pairs": len(pairs), "epochs": epochs, "seconds": round(time.perf_counter() - t0, 1)}
                (tmp / ADAPTED_INFO).write_text(json.dumps(info), encoding="utf-8")
                if live_dir(settings.index_dir) != index.path:
                    raise MlstutorError("the notes were re-indexed meanwhile; fit the new index instead")
                shutil.rmtree(target, ignore_errors=True)  # one that did not fit its build
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise StorageError(f"cannot save the fitted encoder in {index.path}: {exc.strerror or exc}") from exc
    return info


def _base_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    from mlstutor.embedding import get_embedder

    emb = get_embedder(settings.embedding_model)
    if not isinstance(emb, SentenceTransformerEmbedder):
        raise MlstutorError(f"cannot fine-tune embedder {settings.embedding_model!r}")
    return emb
