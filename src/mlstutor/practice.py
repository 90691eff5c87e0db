"""One learner's run through practice questions or a mock exam, and flashcards from the same facts.

:class:`PracticeSession` is the one state machine behind the web UI's Practice and Exam tabs and
``mlstutor quiz --interactive``: which question is shown, what was answered, the score, feedback per option and
(for an exam) the timer and the per-domain report. It holds no connection or lock, so the UI keeps one per browser
session in ``gr.State``; answers are written to the learner's :class:`~mlstutor.progress.Progress` by the caller
passing it in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from mlstutor.chunking import Citation
from mlstutor.errors import MlstutorError
from mlstutor.progress import Progress
from mlstutor.quiz import Question, QuestionBank, claim_body, domain_report

ESTIMATE_NOTE = (
    "This score is an estimate from questions built on your own notes, not a prediction of the real exam: "
    "the real exam asks about more than your notes cover."
)


def parse_choice(reply: str | Sequence[str], q: Question) -> list[str]:
    """Letters from "a, c" / ["A", "C"]; a clear error when the count or a letter is wrong."""
    raw = reply if isinstance(reply, str) else "".join(reply)
    letters = sorted({c for c in raw.upper() if c.isalpha()})
    bad = [c for c in letters if c not in q.options]
    if bad:
        raise MlstutorError(f"{', '.join(bad)} is not an option here (options: {', '.join(q.options)})")
    if len(letters) != q.choose:
        raise MlstutorError(f"choose {'two options' if q.choose == 2 else 'one option'}")
    return letters


def feedback_lines(q: Question, chosen: Sequence[str]) -> list[str]:
    """Per option: right/wrong mark, the learner's pick, the rationale and its citation (markdown)."""
    out = []
    for letter, text in q.options.items():
        mark = "✅" if letter in q.answer else "❌"
        pick = " ← your answer" if letter in chosen else ""
        r = q.rationales.get(letter, {})
        why = r.get("why", "")
        cite = f" *({Citation.from_dict(r['citation']).label})*" if r.get("citation") else ""
        out.append(f"{mark} **{letter}.** {text}{pick}  \n {why}{cite}")
    return out


def feedback_markdown(q: Question, chosen: Sequence[str]) -> str:
    """The options with their marks and reasons as markdown, one paragraph each (joined by single newlines they
    ran together into one paragraph in the exam report and the README's sample questions)."""
    return "\n\n".join(feedback_lines(q, chosen))


@dataclass
class Feedback:
    correct: bool
    chosen: list[str]
    question: Question

    @property
    def markdown(self) -> str:
        head = "**Correct!**" if self.correct else f"**Not quite: the answer is {', '.join(self.question.answer)}.**"
        return head + "\n\n" + feedback_markdown(self.question, self.chosen)


@dataclass
class PracticeSession:
    """A list of questions, where the learner is, what they answered. ``exam=True``: no feedback until
    :meth:`finish`, a time limit, a per-domain report."""

    questions: list[Question]
    topic: str = ""
    exam: bool = False
    minutes: float = 0.0
    started: float = field(default_factory=time.time)
    position: int = 0
    chosen: dict[int, list[str]] = field(default_factory=dict)
    finished: bool = False

    @property
    def current(self) -> Question | None:
        return self.questions[self.position] if 0 <= self.position < len(self.questions) else None

    @property
    def right(self) -> int:
        return sum(sorted(c) == sorted(self.questions[i].answer) for i, c in self.chosen.items())

    @property
    def answered(self) -> int:
        return len(self.chosen)

    def seconds_left(self, now: float | None = None) -> float | None:
        if not self.minutes:
            return None
        return max(0.0, self.started + self.minutes * 60 - (now or time.time()))

    def answer(self, reply: str | Sequence[str], progress: Progress | None = None) -> Feedback:
        """Grade the current question (practice: recorded at once; exam: kept until :meth:`finish`)."""
        q = self.current
        if q is None or self.finished:
            raise MlstutorError("no question is open: start a quiz first")
        if self.exam and self.seconds_left() == 0:
            self.finish(progress)
            raise MlstutorError("time is up: the exam was handed in")
        letters = parse_choice(reply, q)
        if not self.exam and self.position in self.chosen:
            raise MlstutorError("this question is already answered: go to the next one")
        self.chosen[self.position] = letters
        if progress is not None and not self.exam:
            progress.record(q, letters)
        return Feedback(sorted(letters) == sorted(q.answer), letters, q)

    def next(self) -> Question | None:
        if self.position < len(self.questions):
            self.position += 1
        return self.current

    def go(self, position: int) -> Question | None:
        self.position = max(0, min(position, len(self.questions) - 1))
        return self.current

    def finish(self, progress: Progress | None = None) -> dict:
        """Hand in: record every answer (misses go to the review queue) and return the report."""
        if not self.finished and progress is not None and self.exam:
            for i, letters in self.chosen.items():
                progress.record(self.questions[i], letters)
        self.finished = True
        return self.report()

    def report(self) -> dict:
        qs = self.questions
        chosen = [self.chosen.get(i, []) for i in range(len(qs))]
        # a question left blank is not a miss: only answered ones join the review queue, and the report says which
        missed = [
            {"number": i + 1, "question": q, "chosen": c}
            for i, (q, c) in enumerate(zip(qs, chosen))
            if c and sorted(c) != sorted(q.answer)
        ]
        blank = [{"number": i + 1, "question": q, "chosen": []} for i, (q, c) in enumerate(zip(qs, chosen)) if not c]
        return {
            "questions": len(qs),
            "answered": self.answered,
            "right": self.right,
            "score": round(self.right / len(qs), 3) if qs else 0.0,
            "domains": domain_report(qs, chosen),
            "missed": missed,
            "unanswered": blank,
            "note": ESTIMATE_NOTE if self.exam else "",
        }


def report_markdown(report: dict) -> str:
    """The exam report a learner reads: score, per-domain table, every miss with rationale and citation."""
    lines = [
        f"### Score: {report['right']}/{report['questions']} ({report['score']:.0%})",
        f"*{report['note']}*" if report["note"] else "",
        "",
        "| domain | questions | right | score |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['domain']} | {r['questions']} | {r['right']} | {r['score']:.0%} |" for r in report["domains"]]
    for key, title in (("missed", "Missed ({}) — now in your review queue"), ("unanswered", "Not answered ({})")):
        if report.get(key):
            lines += ["", f"#### {title.format(len(report[key]))}", ""]
            for m in report[key]:
                q = m["question"]
                lines += [f"**{m['number']}. {q.stem}**", "", feedback_markdown(q, m["chosen"]), ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ flashcards


@dataclass(frozen=True)
class Flashcard:
    """Front/back from one fact: the recall side of a bank item (a "which" need, a value cloze)."""

    id: str
    front: str
    back: str
    citation: dict
    subject: str
    domain: str


def flashcards(bank: QuestionBank, topic: str = "") -> list[Flashcard]:
    """One card per fact that the bank asks about (recall stems; values as cloze), on a topic or all."""
    items = bank.on_topic(topic) if topic else bank.items
    seen: set[str] = set()
    out = []
    for q in items:
        if q.scenario or q.kind == "two" or q.fact_id in seen:
            continue
        seen.add(q.fact_id)
        key = q.options[q.answer[0]]
        cite = q.citations[0]
        front = q.stem.replace("which value completes this line", "what fills the blank")
        back = f"{key} — {cite['text']}"
        out.append(Flashcard("card:" + q.fact_id, front, back, cite, q.subject, q.domain))
    # a card needs no distractors: every fact a learner would accept as a line to learn, not only those that make a
    # fair multiple-choice question, becomes a reverse card (the line, name masked → the subject)
    notes = bank.notes
    terms = notes.terms(topic) if topic else ()
    fronts = {c.front.lower() for c in out}
    for f in notes.facts:
        if f.id in seen or f.value or f.kind == "term" or (topic and not notes.on_topic(f, topic, terms)):
            continue
        body = claim_body(f.claim)
        if notes.unteachable(f) or notes.about_a_part(f) or re.search(r"(?i)\bit\b", body) or len(body) < 15:
            continue
        if not notes.specific(f.claim, f.kind) or notes.shared(f):
            continue  # "Which algorithm: 'Can be used for regression and classification'?" has several answers
        seen.add(f.id)
        front = f"Which {notes.noun(f.kind)}: “{body[:1].upper() + body[1:]}”?"
        if front.lower() in fronts:
            continue  # the notes repeat a line across files: one card
        fronts.add(front.lower())
        out.append(
            Flashcard(
                "card:" + f.id, front, f"{f.subject} — {f.citation.text}", f.citation.to_dict(), f.subject, f.domain
            )
        )
    return out


def to_anki_cards(cards: Sequence[Flashcard], path: str, deck_name: str = "mlstutor flashcards") -> str:
    import genanki

    model = genanki.Model(
        1607392320,
        "mlstutor card",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}],
        templates=[
            {
                "name": "Card",
                "qfmt": "{{Front}}",
                "afmt": "{{FrontSide}}<hr id=answer>{{Back}}<br><i>{{Source}}</i>",
            }
        ],
    )
    deck = genanki.Deck(2059400111, deck_name)
    for c in cards:
        deck.add_note(
            genanki.Note(model=model, fields=[c.front, c.back, Citation.from_dict(c.citation).label], guid=c.id)
        )
    genanki.Package(deck).write_to_file(path)
    return path
