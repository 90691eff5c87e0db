"""Grounded answers: retrieve, show the passages at once, let the model write with numbered citations.

A 1.5B model on two CPU cores reads ~36 prompt tokens a second, so the prompt carries only what the answer needs:
the best few passages, each trimmed to the lines closest to the question. The system prompt is constant and comes
first so llama.cpp reuses its cache across questions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from mlstutor.config import Settings
from mlstutor.llm import LLM, Message, complete_json, get_llm
from mlstutor.retrieval import Hit, Retriever, validate_query
from mlstutor.text import support

NOT_COVERED = "The notes don't cover this."
# Measured on eval/facts.jsonl with the 1.5B model: a strict "only if the passages contain the answer" wording
# made it refuse 36% of answerable questions; asking it to answer from terse, partial notes cut that to ~18%.
SYSTEM_PROMPT = (
    "You are a tutor for the AWS Certified Machine Learning - Specialty exam. Answer the learner's question in two "
    "to four sentences using the numbered note passages, and cite the passage of each fact like [1]. The passages "
    "are excerpts from the learner's notes; answer from them even when they are terse or only partly cover the "
    f"question. Only if no passage is about the question at all, reply exactly: {NOT_COVERED}"
)
# Below this cosine no passage is about the question. Kept low on purpose: MiniLM scores acronyms such as SMOTE
# near 0.27 although BM25 finds them, and on eval/facts.jsonl unanswerable questions score 0.31-0.60, so the
# retrieval score cannot separate them; the model makes the finer call.
MIN_DENSE_SCORE = 0.15
# An answer whose content words are mostly absent from its passages is the model's own knowledge or invention
# (e.g. "the passing score is 70%"): shown as not covered. 0.4 measured on a 65-question sample of
# eval/facts.jsonl: abstention on unanswerable questions 0.57 -> 0.86, no extra false abstentions.
MIN_GROUNDING = 0.4
UNGROUNDED = NOT_COVERED + " (The model's draft answer was not supported by your notes, so it is not shown.)"
PASSAGES = 3
PASSAGE_CHARS = 320
_MARKER = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class Citation:
    """A passage the answer points to: where to find it in the notes, and its text."""

    n: int
    source: str
    heading_path: str
    line_start: int
    line_end: int
    text: str

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        c = hit.chunk
        return cls(n, c.source, c.heading, c.line_start, c.line_end, c.text)


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)
    passages: list[Hit] = field(default_factory=list)
    removed_markers: int = 0
    grounding: float = 0.0  # share of the answer's content words found in the passages it was given

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [asdict(c) for c in self.citations],
            "abstained": self.abstained,
            "removed_markers": self.removed_markers,
            "grounding": round(self.grounding, 3),
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }


def clean_markers(text: str, n_passages: int) -> tuple[str, list[int], int]:
    """Drop ``[n]`` markers that point at no passage; return the text, the cited numbers, and how many were
    removed."""
    cited: list[int] = []
    removed = 0

    def keep(m: re.Match[str]) -> str:
        nonlocal removed
        n = int(m.group(1))
        if 1 <= n <= n_passages:
            if n not in cited:
                cited.append(n)
            return m.group(0)
        removed += 1
        return ""

    return _MARKER.sub(keep, text).replace("  ", " ").strip(), cited, removed


class Tutor:
    """Answers questions from the notes. ``llm`` is created lazily, so searching works before a model loads."""

    def __init__(self, retriever: Retriever, settings: Settings | None = None, llm: LLM | None = None) -> None:
        self.retriever = retriever
        self.settings = settings or retriever.settings
        self._llm = llm

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    def _trim(self, qv: np.ndarray, hits: list[Hit]) -> list[str]:
        """Each passage cut to the lines most similar to the question, kept in reading order."""
        out = []
        for h in hits:
            lines = [ln.strip() for ln in re.sub(r"<[^>]+>", " ", h.chunk.text).split("\n") if ln.strip()]
            if sum(len(ln) for ln in lines) <= PASSAGE_CHARS:
                out.append("\n".join(lines))
                continue
            sims = self.retriever.embedder.encode(lines) @ qv
            chosen, size = set(), 0
            for i in np.argsort(-sims):
                if size + len(lines[i]) > PASSAGE_CHARS and chosen:
                    continue
                chosen.add(int(i))
                size += len(lines[i])
            out.append("\n".join(lines[i][:PASSAGE_CHARS] for i in sorted(chosen)))
        return out

    def build_messages(
        self, question: str, hits: list[Hit], history: list[tuple[str, str]] | None, qv: np.ndarray | None = None
    ) -> list[Message]:
        qv = self.retriever.embedder.encode([question])[0] if qv is None else qv
        blocks = [
            f"[{i}] ({h.chunk.source} § {h.chunk.heading})\n{text}"
            for i, (h, text) in enumerate(zip(hits, self._trim(qv, hits)), start=1)
        ]
        messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}]
        for q, a in (history or [])[-1:]:
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a[:300]}]
        messages.append(
            {"role": "user", "content": "Passages:\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"}
        )
        return messages

    def retrieve(
        self, question: str, history: list[tuple[str, str]] | None = None, k: int = PASSAGES, mode: str | None = None
    ) -> list[Hit]:
        """Passages for a question; a short follow-up is searched together with the previous question."""
        query = question
        if history and len(question.split()) < 8:
            query = f"{history[-1][0]} {question}"
        return self.retriever.search(query[: self.settings.max_query_chars], k=k, mode=mode)

    def ask_stream(
        self,
        question: str,
        history: list[tuple[str, str]] | None = None,
        k: int = PASSAGES,
        mode: str | None = None,
    ) -> Iterator[tuple[str, object]]:
        """Events in order: ``("passages", hits)`` at once, ``("token", text)`` while the model writes, then
        ``("answer", Answer)``."""
        t0 = time.perf_counter()
        question = validate_query(question, self.settings.max_query_chars)
        hits = self.retrieve(question, history, k, mode)
        timings = {"retrieval_ms": (time.perf_counter() - t0) * 1000}
        yield "passages", hits
        qv = self.retriever.embedder.encode([question])[0]
        if not hits or max(self.retriever.similarity(qv, h.chunk) for h in hits) < MIN_DENSE_SCORE:
            timings["first_token_ms"] = timings["total_ms"] = (time.perf_counter() - t0) * 1000
            yield "answer", Answer(question, NOT_COVERED, [], True, timings, hits)
            return
        parts: list[str] = []
        for piece in self.llm.chat(
            self.build_messages(question, hits, history, qv),
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            stream=True,
        ):
            if not parts:
                timings["first_token_ms"] = (time.perf_counter() - t0) * 1000
            parts.append(piece)
            yield "token", piece
        raw = "".join(parts).strip()
        timings.setdefault("first_token_ms", (time.perf_counter() - t0) * 1000)
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        abstained = "don't cover" in raw.lower() or "do not cover" in raw.lower() or not raw
        text, cited, removed = clean_markers(raw or NOT_COVERED, len(hits))
        grounding = support(_MARKER.sub("", text), "\n".join(h.chunk.text for h in hits))
        if not abstained and grounding < MIN_GROUNDING:
            abstained, text, cited = True, UNGROUNDED, []
        citations = [] if abstained else [Citation.from_hit(n, hits[n - 1]) for n in (cited or [1])]
        yield "answer", Answer(question, text, citations, abstained, timings, hits, removed, grounding)

    def answer_mcq(
        self, stem: str, options: dict[str, str], n_answers: int = 1, with_notes: bool = True, k: int = 4
    ) -> list[str]:
        """Pick the option letter(s) for a multiple-choice question, optionally reading the notes first. The
        reply is schema-constrained to valid letters, so it always parses."""
        letters = list(options)
        schema = {
            "type": "object",
            "properties": {
                "answer": {
                    "type": "array",
                    "items": {"type": "string", "enum": letters},
                    "minItems": n_answers,
                    "maxItems": n_answers,
                }
            },
            "required": ["answer"],
        }
        opts = "\n".join(f"{key}. {text}" for key, text in options.items())
        context = ""
        if with_notes:
            query = stem[-600:] + " " + " ".join(options.values())
            hits = self.retriever.search(query[: self.settings.max_query_chars], k=k)
            qv = self.retriever.embedder.encode([query])[0]
            context = (
                "Notes:\n"
                + "\n\n".join(f"[{i}] {text}" for i, text in enumerate(self._trim(qv, hits), start=1))
                + "\n\n"
            )
        plural = "s" if n_answers > 1 else ""
        prompt = f"{context}Question: {stem}\n{opts}\n\nChoose {n_answers} option{plural}."
        system = (
            "You are an expert on the AWS Certified Machine Learning - Specialty exam. Pick the best answer. "
            "Use the notes when they help. Reply as JSON."
        )
        try:
            data = complete_json(self.llm, system, prompt, schema, max_tokens=40, temperature=0.0)
            picked = [x for x in data.get("answer", []) if x in options]
        except ValueError:
            picked = []
        return sorted(dict.fromkeys(picked))[:n_answers]

    def ask(
        self, question: str, history: list[tuple[str, str]] | None = None, k: int = PASSAGES, mode: str | None = None
    ) -> Answer:
        """The whole answer at once (the CLI's ``--json`` and the eval use this)."""
        answer = None
        for kind, value in self.ask_stream(question, history, k, mode):
            if kind == "answer":
                answer = value
        assert isinstance(answer, Answer)
        return answer
