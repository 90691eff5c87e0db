"""Does putting lines of the notes into the pick prompt help the local model on the practice exam?

For every question of a ``--mcq`` set, reads the model's probability of each option letter (the first token after
``{"answer": ["``, local llama.cpp only) with no notes, with each option's evidence line, and with the evidence
lines for the stem; then prints the accuracy of each and of simple mixes, plus the evidence lines' own scores as a
chooser. It answered why "with notes" scored below closed book (README, practice exam).

    python scripts/mcq_probe.py ../shared/benchmarks/practice-exam-mcq.jsonl [--limit N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mlstutor.config import Settings
from mlstutor.evaluation import load_mcq
from mlstutor.mcq import MultipleChoice
from mlstutor.profile import prompt
from mlstutor.retrieval import Retriever
from mlstutor.text import support
from mlstutor.tutor import Tutor, mcq_user_prompt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mcq", type=Path)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    settings = Settings.from_env()
    tutor = Tutor(Retriever.open(settings), settings)
    llama = tutor.llm._llama  # type: ignore[attr-defined]
    n_vocab = llama.n_vocab()
    letter_token = {c: llama.tokenize(c.encode(), add_bos=False, special=False)[0] for c in "ABCDEFGH"}
    system = prompt("mcq_system", settings.profile)

    def letter_logprobs(user: str, letters: list[str]) -> dict[str, float]:
        text = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
        text += '<|im_start|>assistant\n{"answer": ["'
        tokens = llama.tokenize(text.encode(), add_bos=False, special=True)
        llama.reset()
        llama.eval(tokens)
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(n_vocab,)).copy()
        logp = logits - logits.max()
        logp -= np.log(np.exp(logp).sum())
        return {c: float(logp[letter_token[c]]) for c in letters}

    rows = load_mcq(args.mcq)[: args.limit or None]
    names = ("closed", "option lines", "stem lines", "mix 0.7/0.3", "lines only")
    runs: dict[str, list[bool]] = {k: [] for k in names}
    for i, row in enumerate(rows, 1):
        mc = MultipleChoice(row["question"], dict(row["options"]), len(row["answer"]))
        letters = list(mc.options)
        per_option = tutor.option_evidence(mc)
        hits = tutor.retriever.search(mc.stem[-400:], k=6)
        stem_ev, _ = tutor.finder.find(mc.stem[-400:], hits, n=3)

        def user(evidence: list, mc: MultipleChoice = mc) -> str:
            return mcq_user_prompt(mc, evidence, settings.profile)

        closed = letter_logprobs(user([]), letters)
        option_lines = letter_logprobs(user([e for e in per_option.values() if e]), letters)
        scores = {
            "closed": closed,
            "option lines": option_lines,
            "stem lines": letter_logprobs(user(stem_ev), letters),
            "mix 0.7/0.3": {k: 0.7 * closed[k] + 0.3 * option_lines[k] for k in letters},
            "lines only": {
                k: support(mc.options[k], e.citation.text) if (e := per_option.get(k)) else 0.0 for k in letters
            },
        }
        for name, s in scores.items():
            picked = sorted(sorted(s, key=lambda k: -s[k])[: mc.n_answers])
            runs[name].append(picked == sorted(row["answer"]))
        print(f"\r{i}/{len(rows)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    for name, ok in runs.items():
        print(f"{name:14} {sum(ok) / len(ok):.3f}  ({sum(ok)}/{len(ok)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
