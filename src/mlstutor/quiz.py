"""Exam-style practice questions on a topic, verified against the notes before a learner sees them.

Two generators feed one verifier:

* ``llm``: the language model writes a scenario or recall question from one note passage, constrained by a JSON
  schema so every reply parses; the distractors are suggested from the passage's sibling sections (other Kinesis
  services, other SageMaker algorithms), so they are plausible rather than nonsense.
* ``extractive``: no model at all: the key is a statement from the passage and the distractors are statements
  from sibling sections ("Which of these is true of Kinesis Data Firehose?"). Always grounded and instant; it is
  the fallback when the model's questions fail verification, and what small test models rely on.

The verifier checks what a learner would complain about: empty or duplicate options, the wrong number of keys,
"all/none of the above", a key the cited passage does not support, a distractor the passage does support, and a
near-duplicate of a question already asked in the session.
"""

from __future__ import annotations

import csv
import io
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from mlstutor.chunking import Chunk, Citation, clean_heading
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.llm import LLM, complete_json, get_llm
from mlstutor.retrieval import Hit, Retriever
from mlstutor.text import content_words, support

LETTERS = "ABCDE"
DIFFICULTIES = ("easy", "medium", "hard")
KINDS = ("llm", "extractive")
EXAM_DOMAINS = {
    "Data Engineering": (
        "data engineering",
        "kinesis",
        "glue",
        "s3",
        "athena",
        "data store",
        "pipeline",
        "batch",
        "dms",
        "step function",
        "redshift",
        "dynamodb",
        "datasync",
        "firehose",
    ),
    "Exploratory Data Analysis": (
        "exploratory",
        "eda",
        "quicksight",
        "emr",
        "feature",
        "missing",
        "unbalanced",
        "imbalanced",
        "outlier",
        "binning",
        "encoding",
        "ground truth",
        "distribution",
        "time series",
        "pca",
        "principal component",
        "data",
    ),
    "Modeling": (
        "model",
        "sagemaker",
        "algorithm",
        "xgboost",
        "neural",
        "deep learning",
        "regulari",
        "hyperparameter",
        "learner",
        "seq2seq",
        "deepar",
        "blazing",
        "object",
        "image",
        "segmentation",
        "random cut",
        "topic",
        "lda",
        "knn",
        "k-means",
        "factorization",
        "ip insights",
        "reinforcement",
        "precision",
        "recall",
        "confusion",
        "ensemble",
        "comprehend",
        "translate",
        "transcribe",
        "polly",
        "rekognition",
        "forecast",
        "lex",
        "tensorflow",
        "pytorch",
        "mxnet",
    ),
    "ML Implementation and Operations": (
        "operation",
        "implementation",
        "security",
        "vpc",
        "deploy",
        "inference",
        "endpoint",
        "neo",
        "greengrass",
        "monitor",
        "production",
        "container",
        "iam",
        "encryption",
        "cloudwatch",
        "cloudtrail",
    ),
}
_BANNED = re.compile(r"\b(all|none|both) of the (above|options|choices)\b", re.I)


@dataclass(frozen=True)
class Question:
    """One multiple-choice question with its key(s), explanation and the passage that supports it."""

    stem: str
    options: dict[str, str]
    answer: list[str]
    explanation: str
    citations: list[dict]
    topic: str
    difficulty: str
    kind: str

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def choose(self) -> int:
        return len(self.answer)


@dataclass
class QuizStats:
    generated: int = 0
    rejected: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        key = reason.split(":")[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1


@dataclass
class Quiz:
    topic: str
    questions: list[Question]
    stats: QuizStats

    def to_dict(self) -> dict:
        return {
            "topic": self.topic,
            "questions": [q.to_dict() for q in self.questions],
            "stats": {
                "generated": self.stats.generated,
                "rejected": self.stats.rejected,
                "seconds": round(self.stats.seconds, 1),
                "reasons": self.stats.reasons,
            },
        }


# ------------------------------------------------------------------ verification


def validate(
    q: Question,
    passage: str,
    asked: Sequence[np.ndarray] = (),
    stem_vec: np.ndarray | None = None,
    min_support: float = 0.5,
) -> str | None:
    """``None`` when the question is fit to show, else the reason it is not."""
    opts = list(q.options.values())
    if len(opts) not in (4, 5) or list(q.options) != list(LETTERS[: len(opts)]):
        return "options: need A-D (or A-E for choose-two)"
    if not q.stem.strip() or any(not o.strip() for o in opts):
        return "empty: stem or option is empty"
    norm = [re.sub(r"\W+", " ", o.lower()).strip() for o in opts]
    if len(set(norm)) != len(norm):
        return "duplicate option"
    if any(_BANNED.search(o) for o in opts):
        return "all/none of the above"
    expected = 2 if len(opts) == 5 else 1
    if len(q.answer) != expected or any(a not in q.options for a in q.answer) or len(set(q.answer)) != expected:
        return f"keys: expected {expected} valid key(s)"
    key_support = [support(q.options[a], passage) for a in q.answer]
    if min(key_support) < min_support:
        return "unsupported key: the cited passage does not support the answer"
    wrong = [support(t, passage) for letter, t in q.options.items() if letter not in q.answer]
    if max(wrong) >= min(key_support) - 0.15:
        return "supported distractor: the passage supports a wrong option as well as the key"
    if stem_vec is not None and any(float(v @ stem_vec) > 0.9 for v in asked):
        return "near-duplicate of a question already given"
    return None


# ------------------------------------------------------------------ topics


def classify_domain(heading_path: Sequence[str], text: str = "") -> str:
    """The exam domain a passage belongs to, from its heading path first, then its text."""
    for source in (" > ".join(heading_path).lower(), text[:300].lower()):
        for domain, words in EXAM_DOMAINS.items():
            if any(w in source for w in words[:1]):  # an explicit domain heading wins
                return domain
        scores = {d: sum(1 for w in words if w in source) for d, words in EXAM_DOMAINS.items()}
        best = max(scores, key=lambda d: scores[d])
        if scores[best]:
            return best
    return "Modeling"


def topic_tree(chunks: Sequence[Chunk]) -> dict[str, list[str]]:
    """Exam domain → note headings under it (most covered first), for the topic picker."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in chunks:
        if not c.heading_path:
            continue
        leaf = re.sub(r"^\d+\.\s*", "", c.heading_path[-1].split(" / ")[0]).strip()
        if len(leaf) < 3 or len(leaf) > 60:
            continue
        counts[classify_domain(c.heading_path, c.text)][leaf] += 1
    return {d: sorted(t, key=lambda x: (-t[x], x)) for d in EXAM_DOMAINS if (t := counts.get(d))}


def _statements(chunk: Chunk) -> list[str]:
    """Bullet-like lines of a passage that read as standalone facts."""
    out = []
    in_code = False
    for ln in re.sub(r"<[^>]+>", " ", chunk.text).split("\n"):
        if ln.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        if in_code or ln.lstrip().startswith("#") or re.search(r"\w\s*=\s*\w+\(|^\s*(import|from)\s|!\[", ln):
            continue
        ln = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", ln)  # links → their text
        t = re.sub(r"\s+", " ", ln).strip(" *-#|>`")
        t = t.replace("**", "").replace("`", "")
        if 25 <= len(t) <= 160 and not t.endswith(":") and "http" not in t and len(content_words(t)) >= 3:
            out.append(t)
    return out


def _subject(chunk: Chunk, statement: str) -> str:
    """The heading a statement sits under: the nearest heading line above it in the passage, else the leaf."""
    subject = chunk.heading_path[-1].split(" / ")[0] if chunk.heading_path else ""
    for ln in re.sub(r"<[^>]+>", " ", chunk.text).split("\n"):
        if ln.lstrip().startswith("#"):
            subject = clean_heading(ln.strip("# ")) or subject
        elif statement[:40] in re.sub(r"\s+", " ", ln).replace("**", "").replace("`", ""):
            break
    return subject


def _siblings(chunk: Chunk, chunks: Sequence[Chunk]) -> list[Chunk]:
    """Passages of the same note under the same parent heading but a different leaf: plausible distractors
    (other Kinesis services, other algorithms). Other notes are left out: they describe the same subjects in
    other words, and a "distractor" that is true of the subject would make a wrong question."""
    mine = [c for c in chunks if c.source == chunk.source and c.heading_path and c.id != chunk.id]
    parent, leaf = chunk.heading_path[:-1], chunk.heading_path[-1:]
    sib = [c for c in mine if c.heading_path[:-1] == parent and c.heading_path[-1:] != leaf]
    if len(sib) < 3 and parent:
        sib += [c for c in mine if c.heading_path[:1] == parent[:1] and c.heading_path[-1:] != leaf and c not in sib]
    return sib


# ------------------------------------------------------------------ generation

QUESTION_SCHEMA = {
    "type": "object",
    "properties": {
        "stem": {"type": "string", "maxLength": 400},
        "options": {
            "type": "object",
            "properties": {k: {"type": "string", "maxLength": 160} for k in "ABCD"},
            "required": list("ABCD"),
        },
        "answer": {"type": "string", "enum": list("ABCD")},
        "explanation": {"type": "string", "maxLength": 400},
    },
    "required": ["stem", "options", "answer", "explanation"],
}

QUIZ_SYSTEM = (
    "You write multiple-choice questions for the AWS Certified Machine Learning - Specialty exam. Use only facts "
    "from the given note passage. Exactly one option is correct and must be stated in the passage; the three "
    "wrong options must be plausible but wrong, preferably other AWS services or algorithms from the list of "
    "related topics. Never use 'all of the above' or 'none of the above'. Reply with JSON only."
)


class QuizMaster:
    """Generates verified questions on a topic. Remembers the questions of its session to avoid repeats."""

    def __init__(
        self, retriever: Retriever, settings: Settings | None = None, llm: LLM | None = None, seed: int | None = None
    ) -> None:
        self.retriever = retriever
        self.settings = settings or retriever.settings
        self._llm = llm
        self._asked: list[np.ndarray] = []
        self._rng = random.Random(seed)

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    def topics(self) -> dict[str, list[str]]:
        return topic_tree(self.retriever.chunks)

    def _passages(self, topic: str) -> list[Hit]:
        hits = self.retriever.search(f"{topic}", k=12)
        good = [h for h in hits if len(_statements(h.chunk)) >= 1]
        if not good:
            raise MlstutorError(f"the notes have nothing to ask about {topic!r}; try a broader topic")
        return good

    def _citation(self, chunk: Chunk) -> dict:
        return chunk.citation().to_dict()

    def _llm_question(self, topic: str, chunk: Chunk, difficulty: str) -> Question:
        related = sorted({c.heading_path[-1] for c in _siblings(chunk, self.retriever.chunks)})[:8]
        style = {
            "easy": "a direct recall question",
            "medium": "a short scenario question",
            "hard": "a scenario question that needs two facts from the passage",
        }[difficulty]
        passage = "\n".join(_statements(chunk))[:900] or chunk.text[:900]
        prompt = (
            f"Topic: {topic}\nSection: {chunk.heading}\nRelated topics: {', '.join(related) or 'none'}\n"
            f"Passage:\n{passage}\n\nWrite {style}."
        )
        data = complete_json(self.llm, QUIZ_SYSTEM, prompt, QUESTION_SCHEMA, max_tokens=420, temperature=0.7)
        try:
            options = {k: str(data["options"][k]).strip() for k in "ABCD"}
            return Question(
                str(data["stem"]).strip(),
                options,
                [str(data["answer"])],
                str(data.get("explanation", "")).strip(),
                [self._citation(chunk)],
                topic,
                difficulty,
                "llm",
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed: model output lacks a field ({exc})") from exc

    def _extractive_question(self, topic: str, chunk: Chunk, difficulty: str, choose_two: bool = False) -> Question:
        facts = _statements(chunk)
        distractor_pool = [
            (s, c)
            for c in _siblings(chunk, self.retriever.chunks)
            for s in _statements(c)
            if support(s, chunk.text) < 0.6
        ]
        by_subject: dict[str, list[str]] = defaultdict(list)
        for f in facts:
            by_subject[_subject(chunk, f) or topic].append(f)
        subject, group = self._rng.choice(sorted(by_subject.items()))
        if choose_two:
            pairs = [(s, g) for s, g in sorted(by_subject.items()) if len(g) >= 2]
            subject, group = self._rng.choice(pairs) if pairs else (subject, group)
        n_keys = 2 if choose_two and len(group) >= 2 else 1
        n_opts = 5 if n_keys == 2 else 4
        if len({s for s, _ in distractor_pool}) < n_opts - n_keys:
            raise ValueError("options: not enough sibling statements for distractors")
        keys = self._rng.sample(group, n_keys)
        seen, distractors = set(), []
        for s, _c in self._rng.sample(distractor_pool, len(distractor_pool)):
            if s not in seen:
                seen.add(s)
                distractors.append(s)
            if len(distractors) == n_opts - n_keys:
                break
        opts = keys + distractors
        self._rng.shuffle(opts)
        options = {LETTERS[i]: o for i, o in enumerate(opts)}
        answer = sorted(LETTERS[opts.index(k)] for k in keys)
        stem = (
            f"According to your notes, which {'two statements are' if n_keys == 2 else 'statement is'} true of "
            f"{subject}?" + (" (Choose two.)" if n_keys == 2 else "")
        )
        why = f"The notes on {chunk.heading} say: " + " / ".join(f"“{k}”" for k in keys)
        return Question(stem, options, answer, why, [self._citation(chunk)], topic, difficulty, "extractive")

    def generate(
        self,
        topic: str,
        n: int = 5,
        difficulty: str = "medium",
        kinds: Sequence[str] = KINDS,
        progress: Callable[[int, int], None] | None = None,
    ) -> Quiz:
        """Up to ``n`` verified questions on ``topic``; ``stats`` records how many drafts were rejected."""
        topic = (topic or "").strip()
        if not topic:
            raise MlstutorError("pick a topic (e.g. Kinesis, XGBoost hyperparameters, S3 encryption)")
        if difficulty not in DIFFICULTIES:
            raise MlstutorError(f"difficulty must be one of {', '.join(DIFFICULTIES)}")
        if not 1 <= n <= 20:
            raise MlstutorError("ask for between 1 and 20 questions")
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise MlstutorError(f"question kinds are {', '.join(KINDS)}")
        t0 = time.perf_counter()
        stats = QuizStats()
        passages = self._passages(topic)
        out: list[Question] = []
        attempt = 0
        while len(out) < n and attempt < n * 4:
            chunk = passages[attempt % len(passages)].chunk
            kind = kinds[0] if attempt < n * 2 or len(kinds) == 1 else kinds[-1]
            attempt += 1
            stats.generated += 1
            try:
                if kind == "llm":
                    q = self._llm_question(topic, chunk, difficulty)
                else:
                    q = self._extractive_question(topic, chunk, difficulty, choose_two=difficulty == "hard")
            except ValueError as exc:
                stats.reject(str(exc))
                continue
            vec = self.retriever.embedder.encode([q.stem + " " + " ".join(q.options[a] for a in q.answer)])[0]
            reason = validate(q, chunk.text, self._asked, vec)
            if reason:
                stats.reject(reason)
                continue
            self._asked.append(vec)
            out.append(q)
            if progress:
                progress(len(out), n)
        stats.seconds = time.perf_counter() - t0
        return Quiz(topic, out, stats)


# ------------------------------------------------------------------ export


def to_csv(questions: Sequence[Question]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["topic", "stem", "A", "B", "C", "D", "E", "answer", "explanation", "source"])
    for q in questions:
        w.writerow(
            [
                q.topic,
                q.stem,
                *(q.options.get(k, "") for k in LETTERS),
                ",".join(q.answer),
                q.explanation,
                "; ".join(Citation.from_dict(c).label for c in q.citations),
            ]
        )
    return buf.getvalue()


def to_anki(questions: Sequence[Question], path: str, deck_name: str = "mlstutor practice") -> str:
    """Write an Anki package (.apkg) with one note per question."""
    import genanki

    model = genanki.Model(
        1607392319,
        "mlstutor MCQ",
        fields=[{"name": "Question"}, {"name": "Answer"}],
        templates=[{"name": "Card", "qfmt": "{{Question}}", "afmt": "{{FrontSide}}<hr id=answer>{{Answer}}"}],
    )
    deck = genanki.Deck(2059400110, deck_name)
    for q in questions:
        front = q.stem + "<br><br>" + "<br>".join(f"<b>{k}</b>. {v}" for k, v in q.options.items())
        back = (
            f"<b>{', '.join(q.answer)}</b><br>{q.explanation}<br><i>"
            + "; ".join(Citation.from_dict(c).label for c in q.citations)
            + "</i>"
        )
        deck.add_note(genanki.Note(model=model, fields=[front, back]))
    genanki.Package(deck).write_to_file(path)
    return path
