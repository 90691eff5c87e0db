"""Fit the hybrid re-ranker's weights (``RERANK_WEIGHTS`` in ``src/mlstutor/retrieval.py``) on the dev sets.

A pairwise logistic ranker: for every question, every (relevant, not relevant) pair of the fused candidates
teaches "the first should score higher". Prints the weights (scaled so ``line_best`` is 1) and hit@1 / MRR@10 of
the candidates re-ordered by the current and the fitted weights on dev and on the held-out sets (which are only
reported, never fitted). Before de-duplication, so a little below ``mlstutor eval``. Needs scikit-learn (it comes
with sentence-transformers).

    .venv/bin/python scripts/fit_reranker.py
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from mlstutor.config import Settings
from mlstutor.evaluation import is_relevant, load_eval_sets
from mlstutor.retrieval import RERANK_WEIGHTS, Retriever

SETS = {
    "dev": ["eval/facts.jsonl", "eval/facts-extra.jsonl"],
    "heldout": ["eval/heldout.jsonl"],
    "heldout2": ["eval/heldout2.jsonl"],
}
NAMES = list(RERANK_WEIGHTS)


def features(r: Retriever, files: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per answerable question: the candidates' feature rows and which of them hold the key."""
    out = []
    for item in load_eval_sets([Path(f) for f in files]):
        if item.answerable:
            _, feats = r.candidates(item.question, r.embedder.encode([item.question])[0])
            x = np.array([[f[n] for n in NAMES] for f in feats.values()])
            out.append((x, np.array([is_relevant(r.chunks[p], item) for p in feats])))
    return out


def scores(data: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray) -> str:
    orders = [(np.argsort(-(x @ w), kind="stable"), rel) for x, rel in data]
    first = [next((i + 1 for i, j in enumerate(order) if rel[j]), None) for order, rel in orders]
    hit1 = np.mean([f == 1 for f in first])
    mrr = np.mean([1 / f if f and f <= 10 else 0.0 for f in first])
    return f"hit@1 {hit1:.3f} MRR@10 {mrr:.3f}"


def main() -> None:
    r = Retriever.open(Settings.from_env())
    data = {name: features(r, files) for name, files in SETS.items()}
    x_all = np.vstack([x for x, _ in data["dev"]])
    mu, sd = x_all.mean(0), x_all.std(0) + 1e-9
    pairs, labels = [], []
    for x, rel in data["dev"]:
        z = (x - mu) / sd
        for i, j in itertools.combinations(range(len(z)), 2):
            if rel[i] != rel[j]:
                pairs += [z[i] - z[j], z[j] - z[i]]
                labels += [rel[i], rel[j]]
    fit = LogisticRegression(C=0.01, max_iter=3000, fit_intercept=False).fit(np.array(pairs), np.array(labels))
    w = fit.coef_[0] / sd
    w = w / w[NAMES.index("line_best")]
    current = np.array([RERANK_WEIGHTS[n] for n in NAMES])
    print("fitted:", {n: round(float(v), 2) for n, v in zip(NAMES, w)})
    for name, d in data.items():
        print(f"{name:9} current {scores(d, current)} | fitted {scores(d, w)}")


if __name__ == "__main__":
    main()
