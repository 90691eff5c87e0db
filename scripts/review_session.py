"""One learner's practice session over 17 topics, written out for an independent reviewer to read.

    python scripts/review_session.py eval/report/quiz/review_questions_N.md [--seed 1] [--topics T ...]

Each topic is a 5-question medium quiz in one session (what the learner was asked before is not asked again), in
a fresh, empty data folder (no cached model wordings). A reviewer reads only this file and the notes, and writes
``independent_review_N.md`` (README, "Practice").
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from mlstutor.benchmarks import QUIZ_TOPICS
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.quiz import QuizMaster
from mlstutor.retrieval import Retriever

# the ten topics the practice issue was judged on, then seven more a learner would pick
TOPICS = (
    *QUIZ_TOPICS,
    "Kinesis Data Streams",
    "Amazon S3",
    "DeepAR",
    "Amazon Athena",
    "SageMaker Neo",
    "Modeling",
    "Exploratory Data Analysis",
)


def _where(c: dict | None) -> str:
    if not c:
        return "no citation"
    return f"cites `{c['source']}` line {c['line_start']} ({c['heading_path']})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--topics", nargs="+", default=list(TOPICS), help="the session's topics, in order")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlstutor-review-") as tmp:
        settings = Settings.from_env().with_(data_dir=Path(tmp))
        master = QuizMaster(Retriever.open(settings), settings, seed=args.seed)
        blocks = []
        for topic in args.topics:
            try:
                quiz = master.generate(topic, n=args.n, difficulty="medium")
            except MlstutorError as e:
                blocks.append(f"## (no quiz) — topic: {topic}\n\n{e}\n")
                continue
            for q in quiz.questions:
                kind = q.kind + (", scenario" if q.scenario else "")
                asked = sum(b.startswith("## Q") for b in blocks)
                lines = [f"## Q{asked + 1} — topic: {topic}  ({kind})", "", q.stem, ""]
                lines += [f"- {k}. {v}" for k, v in q.options.items()]
                lines += ["", f"Key: {', '.join(q.answer)}", ""]
                for k in q.options:
                    r = q.rationales.get(k, {})
                    lines.append(f"- {k}: {r.get('why', '')}  — {_where(r.get('citation'))}")
                lines += ["", f"Hint: {q.hint}", ""]
                blocks.append("\n".join(lines))
    asked = sum(b.startswith("## Q") for b in blocks)
    args.out.write_text(f"# {asked} practice questions\n\n" + "\n".join(blocks), encoding="utf-8")
    print(f"{asked} questions → {args.out}")


if __name__ == "__main__":
    main()
