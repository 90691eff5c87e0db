"""Exam-style practice questions, built by the program from facts of the notes and checked as a learner would.

The program chooses the fact, the key and the distractors (see :mod:`mlstutor.facts`); the model may only
re-word a stem as a scenario (:func:`phrase_scenario`), and what it wrote is checked again. Item types follow the
real exam:

* ``which``: which service / algorithm / metric fits a need ("Which AWS service can play back video?"), the
  distractors other subjects of the same kind of which the notes do not say the same;
* ``value``: a limit, default or price with plausible numeric neighbours ("1 MB" vs "2 MB", "512 KB" …);
* ``two``: "Which two statements about X are true? (Choose two.)", wrong options true of *other* subjects;
* ``term``: which term the notes define this way.

Every option carries a one-line rationale with its citation, every question a hint. :func:`acceptability` checks
what a learner would reject (off topic, fragment key, two true options, a key guessable by word overlap, options
not parallel, near-synonym options, an explanation that does not support the key). :class:`QuestionBank` builds all
items once per index (seconds, no model) so a quiz starts at once; scenario wordings by the model are cached per
fact and filled in the background.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
import pickle
import random
import re
import sys
import threading
import time
import weakref
import zlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import ClassVar

from mlstutor.chunking import Chunk, Citation, table_row_items
from mlstutor.errors import MlstutorError
from mlstutor.facts import (
    VALUE,
    Fact,
    Lexicon,
    NoteList,
    extract_facts,
    extract_lists,
    is_clean,
    is_formula,
    norm,
)
from mlstutor.files import write_bytes_atomic
from mlstutor.profile import DEFAULT_PROFILE, load_profile
from mlstutor.text import REMINDER, content_words, sentences, strip_markdown, support

LETTERS = "ABCDE"
DIFFICULTIES = ("easy", "medium", "hard")
ITEM_TYPES = ("which", "about", "value", "two", "term", "list", "sizing")
_BANNED = re.compile(r"\b(all|none|both) of the (above|options|choices)\b", re.I)
_VERB = re.compile(
    r"^(it\s+)?(can|cannot|is|are|has|have|does|do|will|supports?|allows?|provides?|uses?|runs?|stores?|loads?|"
    r"offers?|creates?|converts?|detects?|identif(?:y|ies)|finds?|helps?|requires?|needs?|works?|takes?|"
    r"produces?|generates?|returns?|predicts?|learns?|reduces?|handles?|transforms?|analy[sz]es?|translates?|"
    r"turns?|builds?|automates?|manages?|moves?|migrates?|orchestrates?|ingests?|streams?|captures?|"
    r"classif(?:y|ies)|recommends?|extracts?|monitors?|encrypts?|scales?|lets?|makes?|gives?|splits?|"
    r"only|also|automatically|natively)\b",
    re.I,
)


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: options, key(s), why each option is right or wrong (with a citation), a hint."""

    stem: str
    options: dict[str, str]
    answer: list[str]
    explanation: str
    citations: list[dict]
    topic: str
    difficulty: str
    kind: str  # item type: which | value | two | term
    rationales: dict[str, dict] = field(default_factory=dict)  # letter → {"why": str, "citation": dict | None}
    hint: str = ""
    domain: str = ""
    subject: str = ""
    scenario: bool = False
    fact_id: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Question:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def choose(self) -> int:
        return len(self.answer)

    @property
    def id(self) -> str:
        return hashlib.sha1((self.stem + "\x00" + json.dumps(self.options, sort_keys=True)).encode()).hexdigest()[:16]


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
    again: bool = False  # every question on the topic had been asked in this session: the round starts again

    def to_dict(self) -> dict:
        return {
            "topic": self.topic,
            "again": self.again,
            "questions": [q.to_dict() for q in self.questions],
            "stats": {
                "generated": self.stats.generated,
                "rejected": self.stats.rejected,
                "seconds": round(self.stats.seconds, 2),
                "reasons": self.stats.reasons,
            },
        }


# ------------------------------------------------------------------ the notes as the checks see them


class Notes:
    """Facts of the notes grouped by subject, with what the checks ask: what do the notes say of X, who is X's
    kin, is a topic named by a passage."""

    def __init__(
        self,
        facts: Sequence[Fact],
        lex: Lexicon,
        profile: str = DEFAULT_PROFILE,
        indent: dict[tuple[str, int], int] | None = None,
        cells: dict[tuple[str, int, str], int] | None = None,
        raw: dict[tuple[str, int], str] | None = None,
    ) -> None:
        rules = load_profile(profile).get("quiz", {})
        self.generic = frozenset(rules.get("generic", ())) | _STEM_WORDS
        self.implies = {k.lower(): tuple(v) for k, v in rules.get("implies", {}).items()}
        self.dated = tuple(d.lower() for d in rules.get("dated", ()))
        self.contradicts = {k: tuple(p.lower() for p in v) for k, v in rules.get("contradicts", {}).items()}
        self.also_true = {k: tuple(p.lower() for p in v) for k, v in rules.get("also_true", {}).items()}
        self.situations = {k.lower(): str(v) for k, v in rules.get("situations", {}).items()}
        self.actors = [str(w) for w in rules.get("actors", {}).get("who", ())]
        self.sizing = [dict(r) for r in rules.get("sizing", ())]
        self.scenes = {k: [str(x) for x in v] for k, v in rules.get("scenes", {}).items()}
        self.fill_kin = frozenset(rules.get("fill_kin", ()))
        self.confused = {frozenset((a, b)) for a, bs in rules.get("confused", {}).items() for b in bs}
        self.alternatives = {k: tuple(v) for k, v in rules.get("alternatives", {}).items()}
        self.facts = list(facts)
        self.lex = lex
        self.indent = indent or {}  # (note, line) → how far the line is indented (see :meth:`nested`)
        self.cells = cells or {}  # (note, line, statement) → its cell of a table row
        self.raw = raw or {}  # (note, line) → the line as written (see :meth:`under_a_part`)
        self._parts: dict[str, str | None] = {}  # fact id → :meth:`under_a_part` (asked ~16,000 times a build)
        of: dict[str, list[Fact]] = defaultdict(list)
        for f in self.facts:
            of[f.subject].append(f)
        self.of = dict(of)  # a plain dict: looking up a name the notes never describe must not add it
        # what the notes say of X, without their known slips about X (the line that has precision "avoid false
        # negatives" made Precision a second right answer beside Recall, so it was never offered: review 19)
        self.text = {
            s: " ".join(f.text for f in fs if not any(p in f.text.lower() for p in self.contradicts.get(s, ())))
            for s, fs in self.of.items()
        }
        # line → its subject (keyed as :func:`_line` keys a cited line)
        self.at = {(f.citation.source, f.citation.line_start, f.citation.text): f.subject for f in self.facts}
        self.by_id = {f.id: f for f in self.facts}
        spread: dict[str, set[str]] = defaultdict(set)
        for f in self.facts:
            for w in content_words(f.text):
                spread[w].add(f.subject)
        self.spread = {w: len(s) for w, s in spread.items()}
        self.kind_spread: dict[str, dict[str, int]] = defaultdict(dict)
        for w, subjects in spread.items():
            for kind in {self.kind_of(x) for x in subjects}:
                self.kind_spread[kind][w] = sum(1 for x in subjects if self.kind_of(x) == kind)
        self.sections = {s: {f.section for f in fs} for s, fs in self.of.items()}
        self._words: dict[str, set[str]] = {}
        self._unteachable: dict[Fact, str | None] = {}
        self.vocab: dict[str, int] = defaultdict(int)
        for f in self.facts:
            for w in re.findall(r"[a-z]+", f.text.lower()):
                self.vocab[w] += 1
        for spelling in lex.spellings:  # the profile's names are spelt right: a twin of one is a typo
            for w in re.findall(r"[a-z]+", spelling):
                self.vocab[w] += 2
        self.acronyms = {s.upper() for s in lex.spellings if s.isalnum()}

    def nested(self, a: str, b: str) -> bool:
        """Is one of two terms listed inside the other's bullet ("Expiration Actions" under "Lifecycle Rules",
        "Direct PUT" under "Producers")? Then the one is a kind of the other, and a wrong option that is also
        right. Read from the notes' indentation (:attr:`indent`, when the bank was given the passages)."""

        def inside(outer: str, inner: str) -> bool:
            for src in {f.citation.source for f in self.of.get(outer, ())}:
                top = min(f.citation.line_start for f in self.of[outer] if f.citation.source == src)
                lines = [g.citation.line_start for g in self.of.get(inner, ()) if g.citation.source == src]
                depth = self.indent.get((src, top))
                if depth is None or not lines or min(lines) <= top:
                    continue
                if all(self.indent.get((src, n), depth) > depth for n in range(top + 1, min(lines) + 1)):
                    return True
            return False

        return inside(a, b) or inside(b, a)

    def situation(self, label: str) -> str | None:
        """The profile's exam situation for the problem a list is about ("Unbalanced data › Solutions" → a
        fraud-detection team with 1 fraud in 500), or ``None``."""
        words = {_stem(w) for w in content_words(label)}
        for topic, text in self.situations.items():
            terms = (topic, *self.lex.synonyms.get(topic, ()))
            if any({_stem(w) for w in content_words(t)} <= words for t in terms if content_words(t)):
                return text
        return None

    def kind_of(self, subject: str) -> str:
        fs = self.of.get(subject)
        return fs[0].kind if fs else self.lex.kinds.get(subject, "term")

    def noun(self, kind: str) -> str:
        return self.lex.kind_nouns.get(kind, "term")

    def says(self, subject: str, claim: str) -> float:
        """How much of ``claim`` the notes state of ``subject`` (0..1), word stems compared and generic words left
        out ("transforms data" is said of a service whose notes have "transformation"), and what the profile knows
        is true of it though the notes file it elsewhere."""
        if self._also_true(subject, claim):
            return 1.0
        words = {_stem(w) for w in content_words(claim) - self.generic}
        if len(words) < 2:  # "query data in S3 with SQL" is not only "S3"
            words = {_stem(w) for w in content_words(claim)}
        have = self._words.get(subject)
        if have is None:
            text = self.text.get(subject, "")
            low = text.lower()
            text += " " + " ".join(w for k, ws in self.implies.items() if k in low for w in ws)
            have = self._words[subject] = {_stem(w) for w in content_words(text)}
        return sum(1 for w in words if w in have) / len(words) if words else 0.0

    def says_in_a_line(self, subject: str, claim: str) -> float:
        """:meth:`says` of the one line of ``subject`` that says most of ``claim``: the whole notes on a service hold
        "run" and "jobs" somewhere without saying it runs Docker jobs."""
        if self._also_true(subject, claim):
            return 1.0
        words = {_stem(w) for w in content_words(claim) - self.generic} or {_stem(w) for w in content_words(claim)}
        lines = ({_stem(w) for w in content_words(f.text)} for f in self.of.get(subject, ()))
        return max((len(words & have) / len(words) for have in lines), default=0.0) if words else 0.0

    def _also_true(self, subject: str, claim: str) -> bool:
        """The profile's ``[quiz.also_true]``: a line the notes give another subject that is true of this one in
        AWS ("distribute the load to preprocess massive datasets", EMR's, is Glue's too: review 24)."""
        low = claim.lower()
        return any(p in low for p in self.also_true.get(subject, ()))

    def specific(self, claim: str, kind: str | None = None) -> bool:
        """Does the claim hold a word, not one of the profile's generic needs, that only few subjects (of the same
        kind, when given) use? "fully managed, serverless" and "supports compression and encryption" do not;
        "anomaly detection" is specific among algorithms though services mention it too."""
        words = content_words(claim) - self.generic
        spread = self.kind_spread.get(kind, {}) if kind else self.spread
        return bool(words) and min(spread.get(w, 0) for w in words) <= 2

    def typo(self, text: str) -> str | None:
        """A word used once whose near twin the notes use more often ("supportts", "Catelog")."""
        for w in set(re.findall(r"[a-z]{5,}", text.lower())):
            if self.vocab.get(w, 0) <= 1 and (twin := self._twin(w)):
                return twin
        return None

    @cache  # noqa: B019 - one Notes per bank, kept for the bank's life
    def _twin(self, word: str) -> str | None:
        if self._common is None:
            self._common = defaultdict(list)
            for x, n in self.vocab.items():
                if n > 1 and len(x) >= 4:
                    self._common[len(x)].append(x)
        near = [x for d in (-1, 0, 1) for x in self._common.get(len(word) + d, ())]  # one edit away at most
        for v in difflib.get_close_matches(word, near, n=3, cutoff=0.88):
            if v.rstrip("sd") != word.rstrip("sd") and not (v.startswith(word) or word.startswith(v)):
                return v
        return None

    _common: dict[int, list[str]] | None = None

    def unteachable(self, fact: Fact) -> str | None:
        if fact not in self._unteachable:
            self._unteachable[fact] = self._why_unteachable(fact)
        return self._unteachable[fact]

    def _why_unteachable(self, fact: Fact) -> str | None:
        """Why a line of the notes should not become a key or an option, or ``None``: it points at something
        outside itself ("this", "they"), talks about the exam or the notes, shouts, has a typo or code, repeats a
        word, names another subject, or is one of the profile's known slips for its subject."""
        text, low = fact.text, fact.text.lower()
        if any(p in low for p in self.contradicts.get(fact.subject, ())):
            return "known slip of the notes"
        # "but also" adds to the line itself ("Mainly for classification, but also for regression")
        if re.search(
            r"(?i)\b(this|these|those|above|below|here|they|them|their|it|its|former|latter|(?<!but )also)\b", text
        ) or re.search(r"(?i)\((?:\w+ )?(?:box|icon|arrow|mark)\)", text):  # a diagram's "(red box)", "(clock icon)"
            return "refers to something outside the line"
        if re.search(
            r"(?i)\b(exam|remember|know|mentioned|lecture|course|notes?|tip|question|recap)\b", text
        ) or re.match(r"(?i)^(example|e\.g)\b", text):
            return "talks about the notes or the exam"
        shouting = [w for w in re.findall(r"\b[A-Z]{4,}\b", text) if w not in self.acronyms]
        if len(shouting) >= 2:
            return "shouts"
        if "_" in text or re.search(r"(?i)\b(\w{3,}?)s?\s+\1s?\b", fact.claim):
            return "code or a repeated word"
        if (
            re.search(r"(?i)\b(e\.g|ex|i\.e|etc)\b\.?", text)
            or text.count("/") >= 3
            or re.match(r"^[\w ()./&+,]{1,30}?\s[-–]\s", claim_body(fact.claim))  # "Map - add fields …": a label
        ):
            return "an aside or a list, not one claim"
        if self.typo(text):
            return "typo"
        if re.match(r"(?i)^(it\s+is\s+)?(one of( the)?|a|an|the) (main|best|most|key|important)\b", claim_body(text)):
            return "a slogan, not a property"
        if len({s for s in self.names_in(text) if self.lex.kinds.get(s) == "algorithm"} - {fact.subject}) >= 2:
            return "ties several algorithms together"
        if re.match(r"^[\w/.+-]+(?:\s[\w/.+-]+){0,2}\s*\(.+\)\.?$", claim_body(fact.claim)):
            return "a list item: a name with a gloss, not a claim"
        if re.match(r"^\w+:\s*[A-Z0-9][\w-]*(?:,\s*[A-Z0-9][\w-]*)+\.?$", text):
            return "a label and a list of names"  # "Stores: S3, Redshift, RDS" read as "… component stores: S3 …"
        return None

    def about_a_part(self, fact: Fact) -> bool:
        """The line sits under a heading about a part of its subject ("S3 - Lifecycle Rules", "S3 - Security")
        without a lead of its own, or is a bullet of a named part (:meth:`under_a_part`): quoted without it, it no
        longer says what it describes."""
        if self.under_a_part(fact):
            return True
        if fact.origin != "heading" or fact.kind == "term":
            return False
        return not self.under_a_name(fact)

    def under_a_part(self, fact: Fact) -> str | None:
        """The bullet a line is nested in, when that bullet names a part of the line's subject: a function in code
        (`RANDOM_CUT_FOREST` in Kinesis Data Analytics' notes) or the subject's name and more ("EMR Notebook").
        Reviews 31-32 read "uses recent history to compute model" and "Similar to Zeppelin, but additional AWS
        features", offered as Kinesis Data Analytics' and EMR's, as debris: they describe the part."""
        if fact.id not in self._parts:
            self._parts[fact.id] = self._part_above(fact)
        return self._parts[fact.id]

    def _part_above(self, fact: Fact) -> str | None:
        src, no = fact.citation.source, fact.citation.line_start
        depth = self.indent.get((src, no))
        if depth is None or depth == 99:
            return None
        for k in range(no - 1, max(0, no - 40), -1):
            d = self.indent.get((src, k))
            if d is None:
                return None  # a passage's first line: its indentation is unknown
            if d == 99 or d >= depth:
                continue
            line = self.raw.get((src, k), "")
            m = re.match(r"\s*(?:[*+-]|\d+\.)\s+(.*?)\s*:?\s*$", line)
            if not m:
                return None
            head = m[1].strip()
            if re.fullmatch(r"`?(?:[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{4,})`?", head):
                return head.strip("`")  # a function's name in code, not a `Bundled Transformations` group
            if re.search(r"[:(]|\s[-–—]\s", head) or len(head.split()) > 3:
                return None  # a lead with its own description ("**S3** - Simple Cloud Storage"), not a part's name
            name = norm(head)
            own = [sp for sp, n in self.lex.spellings.items() if n == fact.subject]
            return head if name not in own and any(name.startswith(sp + " ") for sp in own) else None
        return None

    def under_a_name(self, fact: Fact) -> bool:
        """The line's innermost heading is a subject's name ("SageMaker - XGBoost"), not a part or a topic."""
        return norm(_leaf(fact.section)) in self.lex.spellings

    def shared(self, fact: Fact) -> str | None:
        """Another subject of the same kind of which the notes say the same: then "which one…" has two answers
        (the notes' "avoid false positives" is said of precision and of specificity)."""
        for s, fs in self.of.items():
            if s != fact.subject and fs[0].kind == fact.kind and self.says(s, fact.claim) >= 0.67:
                return s
        return None

    def names_in(self, text: str) -> set[str]:
        """Subjects whose names a text mentions."""
        return self.lex.names_in(text)

    def kin(self, subject: str, kind: str) -> list[str]:
        """Subjects of the same kind, the closest first: same section parent, then same domain, then the rest."""
        return [s for _, s in self.kin_ranked(subject, kind)]

    def kin_ranked(self, subject: str, kind: str) -> list[tuple[int, str]]:
        """:meth:`kin` with each subject's closeness (-1 what the exam weighs it against, in the profile's order;
        0 same section parent, 1 same domain, 2 elsewhere, 3 only named by the profile)."""
        mine = self.of.get(subject, [])
        rivals = self.alternatives.get(subject, ())
        parents = {f.section.rsplit(" > ", 1)[0] for f in mine}
        domains = {f.domain for f in mine}
        out = []
        for s, fs in self.of.items():
            if s == subject or not fs or fs[0].kind != kind or frozenset((s, subject)) in self.confused:
                continue
            rank = (
                0
                if any(f.section.rsplit(" > ", 1)[0] in parents for f in fs)
                else (1 if any(f.domain in domains for f in fs) else 2)
            )
            # the decisive alternative among the options (review 12: "near-real time" with no Data Streams option)
            out.append((-1, rivals.index(s), s) if s in rivals else (rank, -len(fs), s))
        if kind in self.fill_kin:  # a short family in the notes (three hyperparameters): the profile's names fill in
            out += [(3, 0, s) for s, k in self.lex.kinds.items() if k == kind and not self.of.get(s) and s != subject]
        return [(rank, s) for rank, _, s in sorted(out)]

    def terms(self, topic: str) -> tuple[str, ...]:
        """What a passage must name to be on ``topic``: the topic, its subject's spellings, the profile's synonyms."""
        t = topic.strip()
        out = {t.lower()}
        subject = self.lex.lookup(t)
        if subject:
            out |= {s for s in self.lex.spellings_of(subject) if len(s) >= 2}
        named = [syn for key, syn in self.lex.synonyms.items() if key == t.lower() or norm(key) == norm(t)]
        if not named and not subject:  # "metrics": a word of a named topic's list stands for that topic
            named = [syn for syn in self.lex.synonyms.values() if any(norm(s) == norm(t) for s in syn)]
        for syn in named:
            out |= {s.lower() for s in syn}
        return tuple(sorted(out, key=len, reverse=True))

    def names_topic(self, text: str, terms: Sequence[str]) -> bool:
        low = " " + norm(text) + " "
        return any(f" {norm(t)} " in low for t in terms if norm(t))

    def on_topic(self, fact: Fact, topic: str, terms: Sequence[str] | None = None) -> bool:
        """A fact is on a topic when its subject, section or statement names the topic (or a synonym), or the
        topic is an exam domain and the fact belongs to it. A topic that names a subject wants that subject."""
        if topic in self.lex.domains:
            return fact.domain == topic
        named = None if topic.lower().strip() in self.lex.synonyms else self.lex.lookup(topic)
        terms = terms or self.terms(topic)
        if named and named in self.of:
            # X's own lines, and the parts of X its notes define under X's heading (S3's storage classes, lifecycle
            # rules, encryption): what a quiz on a service asks beyond "which service …?" (reviews 18, 19)
            return (
                fact.subject == named
                or self.lex.parent(fact.subject) == named  # Glue's crawlers and triggers in a quiz on Glue
                or (fact.kind == "term" and self.names_topic(fact.section, terms))
            )
        parts = re.split(r"\s+(?:and|or|&|vs\.?)\s+|,\s*", topic.strip())
        names_subjects = any(self.lex.lookup(p) for p in parts)
        named_by_topic = {s for t in terms if (s := self.lex.lookup(t))} if names_subjects else set()
        if named_by_topic and fact.kind != "term" and fact.subject not in named_by_topic:
            # "precision and recall" wants precision, recall, specificity…, not accuracy from the same section
            return False
        # the section must be about the topic: a line that merely shares a word ("endpoint", "encryption") under
        # another subject's heading is not (an independent review found those off topic)
        if self.names_topic(f"{fact.subject} | {fact.section}", terms):
            return True
        if _names_phrase(fact.text, topic):  # "can be used for anomaly detection": the line is about the topic
            return True
        words = content_words(topic) - {"aws", "amazon", "sagemaker"}
        hay = content_words(f"{fact.subject} {fact.section}")
        return len(words) >= 2 and words <= hay


# ------------------------------------------------------------------ checks a learner would make


def validate(q: Question) -> str | None:
    """Form: ``None`` when the question is well formed, else the reason it is not."""
    opts = list(q.options.values())
    if len(opts) not in (4, 5) or list(q.options) != list(LETTERS[: len(opts)]):
        return "options: need A-D (or A-E for choose-two)"
    if not q.stem.strip() or any(not o.strip() for o in opts):
        return "empty: stem or option is empty"
    if len({re.sub(r"\W+", " ", o.lower()).strip() for o in opts}) != len(opts):
        return "duplicate option"
    if any(_BANNED.search(o) for o in opts):
        return "all/none of the above"
    expected = 2 if len(opts) == 5 else 1
    if len(q.answer) != expected or any(a not in q.options for a in q.answer) or len(set(q.answer)) != expected:
        return f"keys: expected {expected} valid key(s)"
    if set(q.rationales) and set(q.rationales) != set(q.options):
        return "rationale: every option needs one"
    return None


def _stem(word: str) -> str:
    """A crude stem: the first five letters of a long word ("transform", "transformation" → "trans")."""
    return word[:5] if len(word) > 5 else word.rstrip("s")


def _is_name_item(q: Question) -> bool:
    return q.kind in ("which", "term", "list")


def off_topic(q: Question, topic: str, notes: Notes) -> str | None:
    """The cited passage (heading path or statement) must name the topic or a close synonym."""
    if not topic or topic in notes.lex.domains:
        return None if not topic or q.domain == topic else f"off topic: question is from {q.domain}"
    terms = notes.terms(topic)
    if _glossed_on(q, topic, terms, notes):
        return None
    for c in q.citations:
        cit = Citation.from_dict(c)
        if notes.names_topic(f"{cit.heading_path} | {q.subject}", terms) or _names_phrase(cit.text, topic):
            return None
    words = content_words(topic) - {"aws", "amazon", "sagemaker"}
    hay = content_words(" ".join(c["heading_path"] for c in q.citations) + " " + q.subject)
    if len(words) >= 2 and words <= hay:
        return None
    return f"off topic: the cited passage does not name {topic!r}"


def _glossed_on(q: Question, topic: str, terms: Sequence[str], notes: Notes) -> bool:
    """A setting glossed by what a named topic is about belongs to it wherever the notes file it: "which XGBoost
    setting is “deal with unbalanced data”?" in a quiz on imbalanced data, alpha's "L1 regularization" in one on
    regularization (review 28: an imbalanced-data quiz of one question; the line sits in XGBoost's table)."""
    fact = notes.by_id.get(q.fact_id)
    named_topic = topic.lower().strip() in notes.lex.synonyms
    return named_topic and q.kind == "term" and fact is not None and notes.names_topic(fact.text, terms)


def _names_phrase(text: str, topic: str) -> bool:
    """The line itself names a free-text topic of two or more words ("topic modeling", "anomaly detection"); one
    shared word ("endpoint", "encryption") is not enough (a review found those off topic)."""
    t = norm(topic)
    return len(t.split()) >= 2 and f" {t} " in f" {norm(text)} "


def fragment_key(q: Question, notes: Notes) -> str | None:
    """A key is a complete claim (or a named subject), with no markdown debris."""
    for a in q.answer:
        key = q.options[a]
        if _is_name_item(q):
            if re.search(r"[*#`|<>\[\]{}]", key) or len(key) > 60 or not key[:1].isalnum():
                return f"fragment key: {key!r}"
        elif q.kind == "value":
            if not VALUE.fullmatch(key.strip()):
                return f"fragment key: {key!r} is not a value"
        elif q.kind == "sizing":
            if not re.fullmatch(r"\d+ [a-z]+", key):
                return f"fragment key: {key!r} is not a count"
        elif q.kind == "formula":
            if not is_formula(key):
                return f"fragment key: {key!r} is not a formula"
        elif not is_clean(key) or len(content_words(key)) < 3:
            return f"fragment key: {key!r}"
    return None


def two_true(q: Question, notes: Notes) -> str | None:
    """No wrong option may be true of the subject according to the notes."""
    wrong = [q.options[x] for x in q.options if x not in q.answer]
    if q.kind == "which":
        asked = " ".join(content_words(q.stem) - _STEM_WORDS)
        for w in wrong:
            other = notes.lex.lookup(w) or w
            if max(notes.says(other, _claim_of(q)), notes.says(other, asked)) >= 0.5:
                return f"two true options: the notes say the same of {w}"
    elif q.kind in ("two", "about"):
        for w in wrong:
            if notes.says(q.subject, w) >= 0.5:
                return f"two true options: the notes also say of {q.subject}: {w!r}"
    elif q.kind == "value":
        text = notes.text.get(q.subject, "")
        for w in wrong:
            if re.search(rf"(?<![\d.]){re.escape(w)}(?![\d.])", text, re.I):
                return f"two true options: {w} also appears in the notes on {q.subject}"
    return None


_STEM_WORDS = set(
    [
        "which",
        "following",
        "true",
        "notes",
        "statement",
        "statements",
        "aws",
        "amazon",
        "sagemaker",
        "service",
        "algorithm",
        "built-in",
        "metric",
        "term",
        "technique",
        "describe",
        "one",
        "team",
        "machine",
        "learning",
        "needs",
        "fits",
        "choose",
        "use",
        "would",
        "data",
        "science",
        "company",
        "planning",
        "built",
        "should",
        "they",
    ]
)


def odd_one_out(q: Question, notes: Notes) -> str | None:
    """A "which …?" item without any of the key's rivals (the profile's alternatives the notes describe) among its
    options: left with names of another sort, the key stands out ("pixel-level object classification" →
    Semantic Segmentation beside Random Cut Forest, DeepAR and LDA; review 29 rejected 13 of 51 as odd one out).
    Also a key that alone carries a product name ("Amazon S3 Glacier" beside General Purpose and Durability: review
    30)."""
    if q.kind not in ("which", "term"):
        return None
    key = q.options[q.answer[0]]
    product = re.compile(r"^(?:Amazon|AWS|SageMaker)\s")
    if product.match(key) and not any(product.match(o) for x, o in q.options.items() if x not in q.answer):
        return f"guessable: only the key ({key}) carries a product name"
    if q.kind != "which":
        return None
    rivals = [r for r in notes.alternatives.get(key, ()) if notes.of.get(r)]
    if len(rivals) >= 2 and not set(rivals) & set(q.options.values()):
        return f"guessable: none of {key}'s rivals ({', '.join(rivals[:3])}) among the options"
    return None


def guessable(q: Question) -> str | None:
    """The key must not be the only option that shares words with the stem ("true of Kinesis?" → "Kinesis…")."""
    stem = content_words(q.stem) - _STEM_WORDS

    def overlap(text: str) -> float:
        w = content_words(text)
        return len(w & stem) / len(w) if w else 0.0

    keys = [overlap(q.options[a]) for a in q.answer]
    wrong = [overlap(q.options[x]) for x in q.options if x not in q.answer]
    if min(keys) >= 0.34 and min(keys) - max(wrong) >= 0.34:
        return "guessable: the key repeats words of the stem that no other option does"
    if _is_name_item(q):  # "audit key usage" → Key Management Service; "storage tiers" → Simple Storage Service
        lex = Lexicon.load()

        def words(text: str) -> set[str]:
            # whole words (a plural's "s" aside): five-letter stems would make "cloudtrail" match "CloudWatch"
            found = {w.rstrip("s") for w in content_words(text.replace("-", " "))}
            return found - {"amazon", "aw", "sagemaker", "data"}

        def name_words(name: str) -> set[str]:
            """The words of the option as shown, and the expansion of an acronym ("AWS KMS" → key management)."""
            short = re.sub(r"^(AWS|Amazon)\s+", "", name)
            if not re.fullmatch(r"[A-Z0-9]{2,5}", short):
                return words(name)
            canon = lex.lookup(name) or name
            return words(" ".join(s for s, n in lex.spellings.items() if n == canon) + " " + name)

        def glossed(name: str) -> set[str]:
            """The plain words the profile knows spell the name out ("bucketing" → Binning: reviews 31-32)."""
            return words(" ".join(lex.glosses.get(lex.lookup(name) or name, lex.glosses.get(name, ()))))

        def stems(words: set[str]) -> set[str]:
            # a word inside a name: "matching" → FindMatches, "boosted" → XGBoost (review 24)
            return {_stem(w) for w in words if len(w) >= 5}

        def parts(name: str) -> set[str]:
            return name_words(re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name))

        stem_words = words(" ".join(stem))
        key_hit = any(name_words(q.options[a]) & stem_words for a in q.answer)
        wrong_hit = any(name_words(q.options[x]) & stem_words for x in q.options if x not in q.answer)
        if key_hit and not wrong_hit:
            return "guessable: a word of the stem is in the key's name and in no other option's"
        wrong = [q.options[x] for x in q.options if x not in q.answer]
        wrong_names = set().union(*(name_words(w) | glossed(w) for w in wrong))
        if any((glossed(q.options[a]) & stem_words) - wrong_names for a in q.answer):
            return "guessable: the stem spells out the key's name in plain words"
        key_hit = any(stems(parts(q.options[a])) & stems(stem_words) for a in q.answer)
        wrong_hit = any(stems(parts(q.options[x])) & stems(stem_words) for x in q.options if x not in q.answer)
        if key_hit and not wrong_hit:
            return "guessable: a word of the stem is part of the key's name and of no other option's"
    return None


def not_parallel(q: Question) -> str | None:
    """Options of one form: all values or none, lengths within a factor of 4 (3 for statements)."""
    opts = list(q.options.values())
    values = [bool(VALUE.fullmatch(o.strip())) for o in opts]
    if any(values) and not all(values):
        return "not parallel: values mixed with text"
    if _is_name_item(q) or q.kind in ("value", "sizing"):
        return None  # names and values are parallel by kind, whatever their length
    lens = [len(o) for o in opts]
    if max(lens) > 3.0 * min(lens) and max(lens) > 24:
        return "not parallel: option lengths differ too much"
    return None


def near_synonyms(q: Question, notes: Notes) -> str | None:
    """Two options that say the same (or name the same subject) make a question unanswerable."""
    if q.kind in ("value", "sizing"):
        return None  # distinct values are distinct answers (validate catches duplicates)
    opts = list(q.options.values())
    canon = [notes.lex.lookup(o) or norm(o) for o in opts]
    if len(set(canon)) < len(canon):
        return "near-synonym options: two options name the same thing"
    words = [content_words(o) for o in opts]
    for i in range(len(opts)):
        for j in range(i + 1, len(opts)):
            a, b = words[i], words[j]
            if a and b and len(a & b) / len(a | b) >= 0.75:
                return f"near-synonym options: {opts[i]!r} / {opts[j]!r}"
    return None


def _claim_of(q: Question) -> str:
    why = q.rationales.get(q.answer[0], {}).get("citation") or (q.citations[0] if q.citations else {})
    return str(why.get("text", ""))


def unsupported_explanation(q: Question, notes: Notes) -> str | None:
    """The key's rationale must cite a line that states the key."""
    for a in q.answer:
        r = q.rationales.get(a)
        if not r or not r.get("citation"):
            return "explanation: the key has no cited rationale"
        cit = Citation.from_dict(r["citation"])
        key = q.options[a]
        if q.kind == "which":
            named = notes.names_in(f"{cit.heading_path} {cit.text}") | {notes.lex.lookup(cit.heading_path) or ""}
            if (notes.lex.lookup(key) or key) not in named and key.lower() not in cit.heading_path.lower():
                return "explanation: the cited line is not about the key"
        elif q.kind == "value":
            if key.replace(" ", "").lower() not in cit.text.replace(" ", "").lower():
                return "explanation: the cited line does not state the value"
        elif q.kind == "sizing":  # the count is computed: its reason works it out from the limit the line states
            if not re.search(r"\d", cit.text) or f"so {key.split()[0]} " not in r["why"]:
                return "explanation: the reason does not work the count out from the cited limit"
        elif q.kind == "term":
            if norm(key) not in norm(cit.text + " " + cit.heading_path):
                return "explanation: the cited line is not about the key"
        elif support(key, cit.text) < 0.6:
            return "explanation: the cited line does not support the key"
    return None


def acceptability(q: Question, topic: str, notes: Notes) -> list[str]:
    """Every reason a learner or teacher would reject this question (empty: accept)."""
    checks = (
        validate(q),
        off_topic(q, topic, notes),
        fragment_key(q, notes),
        two_true(q, notes),
        guessable(q),
        odd_one_out(q, notes),
        not_parallel(q),
        near_synonyms(q, notes),
        unsupported_explanation(q, notes),
    )
    return [c for c in checks if c]


# ------------------------------------------------------------------ building items from facts

_BASE_VERB = re.compile(
    r"^(load|run|stream|convert|store|detect|identify|find|analy[sz]e|translate|turn|build|automate|manage|move|"
    r"migrate|orchestrate|ingest|capture|classify|recommend|extract|monitor|encrypt|scale|transform|query|"
    r"visuali[sz]e|label|process|create|generate|predict|deploy|train|host|compile|optimi[sz]e|search|"
    r"schedule|prepare|clean|catalog|discover|share|copy|send|connect|reduce|cluster|forecast|convert|"
    r"transcribe|synthesi[sz]e|recogni[sz]e|read|serve|infer)\b(?!\s+of\b)",  # "Catalog of datasets" is a noun
    re.I,
)
_PURPOSE = re.compile(r"(?i)^(for|to)\s+(.+)$")  # what a named thing is for, its name masked
_USE_CASE = re.compile(r"^(use cases?|used for|good for)(\s+include)?\s*[:\-–]\s*", re.I)
_USER_ACTION = re.compile(r"(?i)^(provide|bring|choose|pick|select|specify|define|set|write|upload)\b")
_NOUN_SUBJECT = re.compile(r"^\S+\s+(is|are|was|were|can|must|should|will|have|has|include|includes)\b", re.I)
_QUANTITY = re.compile(r"(?i)^(number|size|amount|fraction|how many|how much)\b")
_WHEN_WANT = re.compile(r"(?i)^when (?:you|we) (?:want|need) to\s+")  # "When you want to avoid false negatives"


def _option(text: str) -> str:
    text = re.sub(r"^it\s+", "", text.strip(), flags=re.I)
    return text[:1].upper() + text[1:]


def claim_body(claim: str) -> str:
    """A masked claim as a phrase: without its leading "it" and closing full stop."""
    return re.sub(r"^it\s+", "", claim.strip(), flags=re.I).rstrip(". ")


def _stems(claim: str, noun: str) -> tuple[str, str]:
    """(recall stem, scenario stem or "") for "which <noun> …" around a masked claim."""
    body = claim_body(claim)
    low = body[:1].lower() + body[1:]
    purpose = _PURPOSE.match(body)
    if purpose:  # "SageMaker Neo for edge devices", "AWS CloudTrail to see SageMaker API calls"
        need = _lower_first(purpose[2])
        if purpose[1].lower() == "to":
            return (
                f"Which {noun} would you use to {need}?",
                f"The team needs to {need}. Which {noun} should they use?",
            )
        activity = re.search(r"(ion|ing|sis|ment)$", re.split(r",|;| and ", need)[0].strip(" ."))
        return f"Which {noun} do your notes name for {need}?", _use_case_scenario(need, noun) if activity else ""
    if _USE_CASE.match(body):
        need = _USE_CASE.sub("", body)
        need = _lower_first(need)
        return f"Which {noun} do your notes name for: {need}?", _use_case_scenario(need, noun)
    if noun == "hyperparameter" and _QUANTITY.match(body):  # "Number of samples used to train": what it sets
        what = re.sub(r"\s*\([^)]*\)", "", sentences(low)[0]).rstrip(". ").replace("your ", "the ")
        what = what if what.startswith("how ") else f"the {what}"
        return (
            f"Which hyperparameter sets {what}?",
            f"The data scientist wants to change {what}. Which hyperparameter should they adjust?",
        )
    if _WHEN_WANT.match(body):  # a need the learner meets at work: the exam's "which metric should they use?"
        need = _WHEN_WANT.sub("", body)
        return (
            f"Which {noun} do your notes recommend when you want to {need}?",
            f"The team wants to {need}. Which {noun} should they focus on?",
        )
    if _NOUN_SUBJECT.match(body):  # "streams are divided into shards": a line about a part, not a verb phrase
        return f"Your notes describe one {noun} this way: “{body}”. Which one is it?", ""
    if _BASE_VERB.match(body) and not re.match(r"(?i)^(is|are|has|can)\b", body):
        return (
            f"Which {noun} would you use to {low}?",
            f"The team needs to {low}. Which {noun} should they use?",
        )
    if _USER_ACTION.match(body):  # "Provide own Spark scripts": what the learner does, not what the service does
        return f"With which {noun} can you {low}?", ""
    if _VERB.match(claim):
        article = _article(noun)
        low = _third_person(low)
        return f"Which {noun} {low}?", f"The team needs {article} {noun} that {low}. Which one fits?"
    return f"Your notes describe one {noun} as “{body}”. Which one is it?", ""


def _lower_first(text: str) -> str:
    """A note's line inside a sentence: "Customer sentiment analysis" → "customer …", but "SQL queries" stays."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _use_case_scenario(need: str, noun: str) -> str:
    """A scenario from the first use case of a list ("Customer sentiment analysis, label unstructured data, …"):
    one need, as a team meets it. A use case of one or two words ("BI") is too vague to ask about."""
    first = re.split(r",|;| and (?=[a-z])", need)[0].strip(" .")
    if len(content_words(first)) < 2 or "/" in first:
        return ""
    low = _lower_first(first)
    if _BASE_VERB.match(first):
        return f"The team needs to {low}. Which {noun} should they use?"
    return f"The team is planning {low}. Which {noun} fits?"


_IRREGULAR = {"are": "is", "have": "has", "do": "does", "go": "goes"}
_NO_S = {"can", "cannot", "is", "has", "does", "will", "only", "also", "automatically", "natively", "may", "must"}


def _article(word: str) -> str:
    """ "an" before a vowel sound: "an algorithm", "an XGBoost model", "an RDS database"."""
    acronym = word[:2].isupper() and word[:1] in "AEFHILMNORSX"
    return "an" if word[:1].lower() in "aeiou" or acronym else "a"


def _third_person(phrase: str) -> str:
    """ "use Flink to …" → "uses Flink to …": the notes' bullets drop the subject, a stem puts one back
    ("automatically infer schemas and create tables" → "automatically infers schemas and creates tables")."""
    first, _, rest = phrase.partition(" ")
    w = first.lower()
    if w.endswith("ly") and w.isalpha() and _BASE_VERB.match(rest) and not w.startswith("only"):
        return f"{first} {_third_person(rest)}"
    m = re.match(r"(.+? and )(\w+\b.*)", rest)
    if m and _BASE_VERB.match(m[2]) and not w.endswith("s") and w not in _NO_S and w.isalpha():
        rest = m[1] + _third_person(m[2])
    if w in _NO_S or w.endswith("s") or not w.isalpha():
        return phrase
    if w in _IRREGULAR:
        new = _IRREGULAR[w]
    elif w.endswith(("sh", "ch", "x", "o")):
        new = w + "es"
    elif w.endswith("y") and w[-2:-1] not in "aeiou":
        new = w[:-1] + "ies"
    else:
        new = w + "s"
    return f"{new} {rest}".strip()


def _masked_inside(claim: str) -> bool:
    """The subject was named inside the line ("call the it service"): the masked claim does not read."""
    return bool(re.search(r"(?i)(?<=\w)\W+it\b", claim)) and not re.match(r"(?i)^it\b", claim)


def _best_fact(notes: Notes, subject: str, near: Fact | None = None) -> Fact | None:
    """The fact that best tells a learner what ``subject`` is: same note as ``near`` first, most specific."""
    fs = [f for f in notes.of.get(subject, []) if notes.specific(f.claim)] or notes.of.get(subject, [])
    if not fs:
        return None
    return min(
        fs,
        key=lambda f: (
            near is not None and f.citation.source != near.citation.source,
            min((notes.spread.get(w, 9) for w in content_words(f.claim)), default=9),
            len(f.text),
        ),
    )


def _reads_as_claim(claim: str, notes: Notes, key: bool = False) -> bool:
    """A line that can be quoted as a description: a few content words, not a list or a "Label: …" line. A key
    may be short ("doesnt support replay"): the options beside it are other subjects' claims."""
    body = claim_body(claim)
    return (
        len(content_words(body) - notes.generic) >= 3 - key
        and len(content_words(body)) >= 4 - key
        and body.count(",") < 2
        and ":" not in body
    )


def _proper_term(name: str) -> bool:
    """A term fit to be an option: a name ("Lifecycle Rules", "S3 Analytics"), not a heading ("S3 - Machine
    Learning"), a label or a plain lower-case word ("metadata", "value")."""
    return (
        bool(re.match(r"^[A-Z0-9]", name))
        and " - " not in name
        and "&" not in name
        and not name.endswith(":")
        and len(name) >= 3
        and not re.fullmatch(r"[A-Z][a-z]+ing", name)  # "Networking": a heading's topic, not a term
        and not re.search(r"-Based$", name)
    )


def _contrast(notes: Notes, name: str, fact: Fact, noun: str, turn: str = "") -> dict:
    """Why a distractor is wrong, in the notes' words: what they say of *it*, closest to what was asked. ``turn``:
    among its defining lines equally close, one picked by this string (the items of a quiz on ``name`` each show
    another)."""
    mine = [
        f
        for f in notes.of.get(name, [])
        if (f.origin != "heading" or notes.under_a_name(f))  # under its own name's heading: surely about it
        and not notes.unteachable(f)
        and _reads_as_claim(f.claim, notes)
        and not any(d in f.text.lower() for d in notes.dated)  # a limit AWS has changed is not taught, even here
    ]
    asked = content_words(fact.claim) - notes.generic - set(notes.lex.spellings)

    # the line closest to what was asked; else the line that says what the subject *is* (its lead line)
    def closeness(f: Fact) -> tuple:
        near = len(content_words(f.text) & asked)
        if turn:
            return near, notes.under_a_name(f) or f.origin == "lead", zlib.crc32((turn + f.id).encode())
        same_note = f.citation.source == fact.citation.source
        return near, notes.under_a_name(f), f.origin == "lead", same_note, -len(f.text)  # own heading: defining

    other = max(mine, key=closeness, default=None)
    # a sibling defined in the same section (a glossary: learning rate, batch size, epochs), or a line that says
    # what the distractor is (its own lead, under its own heading), teaches by its own words even when it shares
    # none with what was asked (reviews 9 and 10: "your notes say this of X, not of Y" never says what Y does)
    defining = other is not None and (other.origin == "lead" or notes.under_a_name(other))
    if other is None or not (content_words(other.text) & asked or other.section == fact.section or defining):
        return _rationale(f"Wrong: your notes say this of {fact.subject}, not of {name}.", fact)
    return _rationale(f"Wrong: your notes say this of {fact.subject}. {name} is described as “{other.text}”.", other)


def _rationale(why: str, fact: Fact | None) -> dict:
    return _rationale_at(why, fact.citation.to_dict() if fact else None)


def _rationale_at(why: str, citation: dict | None) -> dict:
    return {"why": why, "citation": citation}


def _elimination_hint(options: dict[str, str], answer: list[str], rationales: dict) -> str:
    """A hint that rules one wrong option out, with the notes' reason: it narrows without giving the key away. The
    option ruled out is not the first wrong letter (a reviewer saw that "It is not B" always meant "it is A"): one
    with a reason of its own when there is one, else any, picked by the options' text."""
    wrongs = [x for x in options if x not in answer]
    told = [x for x in wrongs if re.search(r"described as|list it under", rationales.get(x, {}).get("why", ""))]
    pool = told or wrongs
    wrong = pool[zlib.crc32("|".join(options.values()).encode()) % len(pool)]
    why = rationales.get(wrong, {}).get("why", "")
    m = re.search(r"described as “.+”", why)  # not the part that names the key
    listed = re.search(r"(?<=notes )list it under “[^”]+”(?=, not)", why)
    if listed:
        return f"It is not {wrong}: your notes {listed.group(0).replace('it', options[wrong], 1)}."
    if not m:
        return f"It is not {wrong} ({options[wrong]})."
    return f"It is not {wrong}: {options[wrong]} is {m.group(0)}."


def _letters(keys: list[str], wrong: list[str], rng: random.Random) -> tuple[dict[str, str], list[str]]:
    opts = keys + wrong
    rng.shuffle(opts)
    return {LETTERS[i]: o for i, o in enumerate(opts)}, sorted(LETTERS[opts.index(k)] for k in keys)


def which_items(fact: Fact, notes: Notes, rng: random.Random) -> list[Question]:
    """ "Which service/algorithm/metric …?" with other subjects of the same kind as distractors; a scenario
    wording as a second item when the claim is a need."""
    claim = fact.claim
    if fact.value:  # a number belongs in a value item, unless it is only an aside after the first sentence
        first = sentences(claim)[0] if claim.strip() else ""
        if fact.value in first or len(content_words(first)) < 4:
            return []
        claim = first
    if not notes.specific(claim, fact.kind) or len(content_words(claim)) < 2 or _masked_inside(claim):
        return []
    if notes.unteachable(fact) or notes.about_a_part(fact):
        return []
    if re.search(r"(?i)\b(not|cannot|can't|doesn'?t|don'?t|never|no|naive|only|unless|without|if)\b", fact.text):
        return []  # "cannot be used on categorical features" is true of many techniques: not one right answer
    body = claim_body(claim)
    if not (_VERB.match(claim) or _USE_CASE.match(body) or _PURPOSE.match(body) or _reads_as_claim(claim, notes)):
        return []  # "crawlers and classifiers", "storage tiers": a label, not something a stem can describe
    if _NOUN_SUBJECT.match(body) and body.split()[0].lower() in notes.generic:
        return []  # "Training is based on gradient descent": a line about training, not about the subject
    if REMINDER.match(body) or re.match(r"(?i)think\b", body):
        return []  # "think up front how you will be querying the data lake": advice to the learner, not a claim
    if fact.kind == "term":
        if not _proper_term(fact.subject) or notes.typo(fact.subject):
            return []
        kin = [
            s
            for s, fs in notes.of.items()
            if s != fact.subject
            and fs[0].kind == "term"
            and fact.section in notes.sections[s]
            and _proper_term(s)
            and not notes.typo(s)
            and not notes.nested(s, fact.subject)  # Direct PUT is a kind of producer (review 21)
        ]
    else:
        kin = notes.kin(fact.subject, fact.kind)
    named = notes.names_in(fact.text)
    rivals = notes.alternatives.get(fact.subject, ())  # the closest: what the notes say of them is checked harder
    kin = [
        s
        for s in kin
        if s not in named and notes.says(s, claim) < (0.15 if s in rivals else 0.3) and s.lower() not in claim.lower()
    ]
    if len(kin) < 3:
        return []
    # the closest siblings (same family, then same domain): no filler options; the profile's first alternative
    # always among them (review 19: "Recall" for false negatives without Precision beside it)
    first = [s for s in kin[:4] if s in rivals][:1]
    wrong = first + rng.sample([s for s in kin[:4] if s not in first], 3 - len(first))
    noun = notes.noun(fact.kind)
    recall, scenario = _stems(claim, noun)
    scenario = re.sub(
        r"\byour\b", "their", scenario
    )  # "analyse your initial training data": the team's, in a scenario
    if fact.kind == "term":
        body = claim_body(claim)
        need = _BASE_VERB.match(body) or re.match(r"(?i)(grant|force|allow|enable|ensure|restrict|block)\b", body)
        scenario = f"The team needs to {_lower_first(body)}. Which of these should they use?"
        scenario = scenario if need else ""
        recall = f"Which term do your notes define as “{body}”?"  # a scenario only with the profile's scene (below)
    options, answer = _letters([fact.subject], wrong, rng)
    rationales = {}
    for letter, name in options.items():
        if name == fact.subject:
            rationales[letter] = _rationale(f"Right: your notes on {name} say “{fact.text}”.", fact)
        else:
            rationales[letter] = _contrast(notes, name, fact, noun)
    base = _item(fact, recall, options, answer, "which", rationales, _elimination_hint(options, answer, rationales))
    out = [base if fact.kind != "term" else replace(base, kind="term")]
    # a line naming other services ("can read from Kinesis Streams, CloudWatch or AWS IoT") is a property, not a
    # need a scene can stand for
    scenario = "" if len(named - {fact.subject}) >= 2 else scenario
    scenario = _situated(scenario, notes, fact.subject, fact.id, fact.claim, noun if fact.kind != "term" else "")
    if scenario:
        out.append(
            replace(base, stem=scenario, scenario=True, difficulty="medium", rationales=_quoted(rationales, fact))
        )
    return out


def _quoted(rationales: dict, fact: Fact) -> dict:
    """Reasons that name the key's line: a scenario's stem no longer holds it, so "your notes say this of K-Means"
    had nothing to point at (the session-23 pass)."""
    said = f"your notes say “{fact.text.rstrip('. ')}” of {fact.subject}"
    this = f"your notes say this of {fact.subject}"
    return {x: {**r, "why": r["why"].replace(this, said)} for x, r in rationales.items()}


def _one_per_scene(items: list[Question], notes: Notes) -> list[Question]:
    """One scenario per scene and key: with the need no longer in the stem, every need line of a subject gave the
    same question. The one kept cites the line that says most of what the scene says (the mobile game's "must land
    in the data lake" → "load streaming data into destinations", not "can perform transformations with Lambda")."""

    def words(text: str) -> set[str]:
        return {_stem(w) for w in content_words(text) - notes.generic}

    best: dict[tuple, tuple[int, int]] = {}
    for i, q in enumerate(items):
        if q.scenario and q.kind != "list" and (f := notes.by_id.get(q.fact_id)):
            key = (q.stem, q.options[q.answer[0]])
            score = (len(words(f.text) & words(q.stem)), -i)
            best[key] = max(best.get(key, score), score)
    return [
        q
        for i, q in enumerate(items)
        if not (q.scenario and q.kind != "list" and q.fact_id in notes.by_id)
        or best[(q.stem, q.options[q.answer[0]])][1] == -i
    ]


# who has the need in a template's stem, once a scene has said who they are
_TEMPLATE_ACTORS = ("The team ", "The data scientist ")


def _situated(stem: str, notes: Notes, key: str, seed: str, claim: str = "", noun: str = "") -> str:
    """The profile's scene for the key with the need stem's question ("A hotel chain collects thousands of guest
    reviews every week and wants to know … Which AWS service should they use?"), or "" when there is none or the
    line is a property, not a need ("needs an AWS service that uses columnar formats"). The need picks the scene but
    is not shown: pasted after the scene, the note's line turned the situation into a definition to match
    (independent review 35, 12 of 14 scenarios)."""
    scenes = notes.scenes.get(key)
    if not scenes or not stem:
        return ""
    if " that " in stem.split(".")[0] and not re.match(r"(?i)can\s+(?!not\b|only\b)", claim_body(claim)):
        return ""
    # the scene that talks about what the need talks about ("job runs based on events" → the nightly-job scene, not
    # the undocumented-schema one: review 11), else one by the fact's id
    rest = next((stem.removeprefix(a) for a in _TEMPLATE_ACTORS if stem.startswith(a)), stem)
    need = {_stem(w) for w in content_words(rest.split(". Which")[0]) - notes.generic}
    shared = [len({_stem(w) for w in content_words(x)} & need) for x in scenes]
    tied = [x for x, n in zip(scenes, shared, strict=True) if n == max(shared)]
    ask = stem.rsplit(". ", 1)[-1]
    if noun and (ask.startswith("Which one") or ask.endswith(" fits?")):  # "one" stood for the need's noun
        ask = f"Which {noun} should they use?"
    return f"{tied[zlib.crc32(seed.encode()) % len(tied)]} {ask}"


def _leaf(section: str) -> str:
    return section.rsplit(" > ", 1)[-1]


def _item(fact: Fact, stem: str, options: dict, answer: list, kind: str, rationales: dict, hint: str) -> Question:
    """A one-fact item: the fact's line is the explanation and the citation."""
    return Question(
        stem,
        options,
        answer,
        f"{fact.subject}: {fact.text}",
        [fact.citation.to_dict()],
        "",
        "easy",
        kind,
        rationales,
        hint,
        fact.domain,
        fact.subject,
        False,
        fact.id,
    )


def _about(fact: Fact, notes: Notes) -> str:
    """The subject as a learner would look it up: a term with the service or algorithm it belongs to
    ("On-demand mode (Kinesis Data Streams)")."""
    if fact.kind != "term":
        return fact.subject
    owner = next((s for h in reversed(fact.section.split(" > ")) if (s := notes.lex.lookup(h))), None)
    return f"{fact.subject} ({owner})" if owner and owner.lower() not in fact.subject.lower() else fact.subject


def sizing_items(notes: Notes) -> list[Question]:
    """ "How many shards does this load need?" from the profile's ``[[quiz.sizing]]``: two per-unit limits of the
    notes (in and out), a load where the reads decide, the key computed, and each wrong option a named slip —
    the writes alone, the reads divided by the write limit, the writes by the read limit (review 38 rejected all
    eight line-completions of numbers, and asked for a shard count instead)."""
    out = []
    for rule in notes.sizing:
        lines = {
            k: next(
                (
                    f
                    for f in notes.facts
                    if rule[k] in f.text.lower() and _format_number(rule[f"{k}_limit"]) in f.text.replace(" ", "")
                ),
                None,
            )
            for k in ("write", "read")
        }
        w_fact, r_fact = lines["write"], lines["read"]
        if w_fact is None or r_fact is None:
            continue
        write, read = float(rule["write_limit"]), float(rule["read_limit"])
        for w, c in rule["loads"]:
            n, wn = math.ceil(w * c / read), math.ceil(w / write)
            slips = {
                "writes_only": wn,
                "reads_at_write": math.ceil(w * c / write),
                "writes_at_read": math.ceil(w / read),
            }
            if len({n, *slips.values()}) < 4:
                continue  # the reads must decide, and every slip give another number
            salt = f"{rule['subject']}{w}{c}"
            who = notes.actors[zlib.crc32(salt.encode()) % len(notes.actors)] if notes.actors else "A team"
            values = sorted([n, *slips.values()], key=lambda v: zlib.crc32(f"{salt}{v}".encode()))
            options = {letter: f"{v} {rule['unit']}" for letter, v in zip("ABCD", values)}
            key = "ABCD"[values.index(n)]
            fill = {
                "w": _format_number(w),
                "c": c,
                "out": _format_number(w * c),
                "n": n,
                "wn": wn,
                "read": _format_number(read),
                "write": _format_number(write),
                "read_line": strip_markdown(r_fact.text).strip(),
                "write_line": strip_markdown(w_fact.text).strip(),
            }
            rationales = {key: _rationale(rule["right"].format(**fill), r_fact)}
            for slip, v in slips.items():
                cited = w_fact if slip != "reads_at_write" else r_fact
                rationales["ABCD"[values.index(v)]] = _rationale(rule[slip].format(**{**fill, "n": v}), cited)
            stem = rule["stem"].format(who=who, **fill)
            out.append(
                Question(
                    stem,
                    options,
                    [key],
                    f"{rule['subject']}: {fill['write_line']}; {fill['read_line']}",
                    [r_fact.citation.to_dict()],  # the key's line; the write limit is cited by the reasons
                    "",
                    "medium",
                    "sizing",
                    rationales,
                    str(rule["hint"]),
                    r_fact.domain,
                    str(rule["subject"]),
                    True,
                    r_fact.id,
                )
            )
    return out


def _format_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# a clause that restates the value in other terms; another number alone does not ("1 MB/s write, ____ read")
_CLUE = re.compile(
    r"(?i)\bonce (?:a|per|every) (?:hour|day|week|month|quarter|year)\b"
    r"|\b(?:daily|weekly|monthly|quarterly|yearly|annually)\b|^(?:which means|i\.?e\.?)\b"
)


def _clue_free(cloze: str) -> str:
    """The blanked line without the clauses that work the value out ("… which means its not available 53 minutes
    a year" gives 99.99 %, "accessed once a quarter" 90 days: review 29, Q33 and Q35); what is cut shows as "…"."""
    parts = re.split(r",\s+", cloze)
    kept = [p for p in parts if "____" in p or not _CLUE.search(p)]
    if len(kept) == len(parts):
        return cloze
    out = []
    for p in parts:
        if p in kept:
            out.append(p)
        elif not out or out[-1] != "…":
            out.append("…")
    return ", ".join(out).replace(", …", " …").replace("…, ", "… ")


_OR_NUMBER = re.compile(r"(?<=____)(\s*/\s*s)?\s+or\s+(\d[\d ,.]*\d|\d)\s*[A-Za-z%]*(?:\s*(?:per|/)\s*[A-Za-z]+)?")


def _unscaled(cloze: str, number: float) -> str:
    """The blanked line without an alternative right after the blank that states the value's digits scaled by a
    power of ten ("____ or 4000 records per second" gave 4 MB/s, "____ / s or 1 000 messages / s" 1 MB: review
    31); what is cut shows as "…"."""
    m = _OR_NUMBER.search(cloze)
    if not m or not number:
        return cloze
    ratio = float(re.sub(r"[ ,]", "", m[2])) / number
    if ratio < 10 or not math.isclose(10 ** round(math.log10(ratio)), ratio):
        return cloze
    return f"{cloze[: m.start()]}{m[1] or ''} …{cloze[m.end() :]}"


def value_item(fact: Fact, notes: Notes, rng: random.Random) -> Question | None:
    """A limit, default or price, with numeric neighbours of the same unit as distractors."""
    m = VALUE.search(fact.text)
    if not m or fact.text.count(m.group(0)) != 1:
        return None
    number = float(m[1].replace(",", ""))
    cloze = _clue_free(fact.text.replace(m.group(0), "____", 1))
    if len(content_words(cloze)) < 3 or not is_clean(fact.text):
        return None
    cloze = _unscaled(cloze, number)  # the stem names the section: "default capacity: ____ …" is still clear
    unit, spaced, dollar = m[2], " " in m.group(0), m.group(0).startswith("$")
    if unit == "s" and (number >= 1000 or not re.search(r"(?i)latency|second|time|wait|buffer|interval", cloze)):
        return None  # "from 100000s sources" is a count, not seconds

    def fmt(x: float) -> str:
        return f"{'$' if dollar else ''}{_format_number(x)}{' ' if spaced else ''}{unit}"

    key = fmt(number)
    said = notes.text.get(fact.subject, "")
    pool: list[str] = []
    if any(d in fact.text.lower() for d in notes.dated):
        return None  # a limit AWS has changed since: the notes' value is no longer the right answer
    if re.match(r"(?i)\W*(example|e\.g\.|for instance|say)\b", fact.text):
        return None  # the number of an illustration ("example: store 10,000,000 …"), not a fact (review 35, Q29)
    if re.search(r"[<>≤≥]\s*\$?$", fact.text[: m.start()]):
        return None  # "m4.large if < 50 nodes": the blank would be half of a condition

    def neighbours(factors: tuple[float, ...]) -> list[str]:
        out = []
        for factor in factors:
            x = number * factor
            if x <= 0 or (unit == "%" and x > 100) or (number.is_integer() and not x.is_integer()):
                continue
            cand = fmt(x)
            if (
                cand != key
                and cand not in pool + out
                and not re.search(rf"(?<![\d.]){re.escape(_format_number(x))}\s?{re.escape(unit)}", said, re.I)
            ):
                out.append(cand)
        return out

    if unit == "%":  # "99.99% available" is asked among other nines, "up to 90%" among other round shares
        nines = (99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 99.9999)
        round_ = tuple(number + d for d in (-10, -20, -30, -40, 5, 10, 20) if number + d > 0)
        steps = nines if number >= 99 else round_
        near = sorted(steps, key=lambda x: abs(x - number))
        lower = neighbours(tuple(x / number for x in near if x < number))
        upper = neighbours(tuple(x / number for x in near if x > number))
    else:
        lower, upper = neighbours((0.5, 1 / 3, 0.25, 0.2, 0.1)), neighbours((2, 4, 3, 1.5, 5, 10))
    if len(lower) + len(upper) < 3:
        return None
    # the key sits anywhere among its neighbours (5 GB offered with 10, 15 and 20 GB was always the smallest)
    below = min(rng.randint(0, 3), len(lower))
    below = max(below, 3 - len(upper))
    wrong = rng.sample(lower[:3], below) + rng.sample(upper[:4], 3 - below)
    options, answer = _letters([key], wrong, rng)
    rationales = {
        letter: _rationale(f"Right: “{fact.text}”." if v == key else f"Wrong: your notes give {key}, not {v}.", fact)
        for letter, v in options.items()
    }
    stem = f"According to your notes on {_about(fact, notes)}, which value completes this line: “{cloze}”?"
    return _item(fact, stem, options, answer, "value", rationales, f"Look in your notes under {_leaf(fact.section)}.")


# one wording per statement item of a subject: a quiz asks the same stem once (see :func:`_same_scene`)
_STATEMENT_STEMS = (
    "Which statement about {subject} is true, according to your notes?",
    "Which of these do your notes say about {subject}?",
    "According to your notes, which of these describes {subject}?",
    "Which of these statements on {subject} is in your notes?",
)


def about_items(
    subject: str, notes: Notes, rng: random.Random, limit: int = 4, offered: dict[str, int] | None = None
) -> list[Question]:
    """ "Which statement about X is true?": one of X's claims, three of its siblings'. When a learner asks for a
    quiz on X, "which service …?" answers itself (a reviewer's point); this asks about X the other way round."""
    return two_items(subject, notes, rng, limit, keys_per_item=1, offered=offered)


def two_items(
    subject: str,
    notes: Notes,
    rng: random.Random,
    limit: int = 2,
    keys_per_item: int = 2,
    offered: dict[str, int] | None = None,
) -> list[Question]:
    """ "Which two statements about X are true? (Choose two.)": two of X's claims, three of its kin's.
    ``offered``: fact id → how often X's items offer it as a wrong option (shared by all of X's statement items:
    a quiz asks two of them only when they share no wrong statement)."""
    fs = notes.of.get(subject, [])
    if not fs or fs[0].kind == "term":
        return []
    name = _spelled_out(subject, notes.lex)
    mine = [
        f
        for f in fs
        if _statement_usable(f, subject, notes, key=True)
        and _reads_as_claim(f.claim, notes, key=True)
        and not notes.about_a_part(f)
        # "Streams are divided…" about Kinesis Data Streams; "identify matching records" about FindMatches (review 33)
        and not {_stem(w) for w in _plain_words(f.claim)} & name
    ]
    rivals = _rival_statements(subject, notes)
    closeness = {o: rank for rank, o, _ in rivals}
    others = [(o, f) for _, o, f in rivals]
    used_before = defaultdict(int) if offered is None else offered  # each item its own distractors, closest first
    k = keys_per_item
    if len(mine) < k or len({o for o, _ in others}) < 3:
        return []
    out = []
    rng.shuffle(mine)
    for i in range(0, min(len(mine) - k + 1, k * limit), k):
        keys = mine[i : i + k]
        if k == 2 and support(keys[0].claim, keys[1].claim) > 0.6:
            continue
        picked, used = [], set()
        # a statement offered by one item is not offered again (a quiz asks two of them only when none is shared)
        for o, f in sorted(others, key=lambda of: (used_before[of[1].id] > 0, closeness[of[0]])):
            if o not in used:
                used.add(o)
                picked.append((o, f))
            if len(picked) == 3:
                break
        for _, f in picked:
            used_before[f.id] += 1
        options, answer = _letters([_option(k.claim) for k in keys], [_option(f.claim) for _, f in picked], rng)
        rationales = {}
        for letter, text in options.items():
            key = next((k for k in keys if _option(k.claim) == text), None)
            if key:
                rationales[letter] = _rationale(f"Right: your notes on {subject} say “{key.text}”.", key)
            else:
                o, f = next((o, f) for o, f in picked if _option(f.claim) == text)
                rationales[letter] = _rationale(f"Wrong: your notes say this of {o}, not of {subject}.", f)
        stem = (
            f"Which two statements about {subject} are true, according to your notes? (Choose two.)"
            if k == 2
            else _STATEMENT_STEMS[len(out) % len(_STATEMENT_STEMS)].format(subject=subject)
        )
        out.append(
            Question(
                stem,
                options,
                answer,
                f"{subject}: " + " / ".join(k.text for k in keys),
                [k.citation.to_dict() for k in keys],
                "",
                "hard" if k == 2 else "medium",
                "two" if k == 2 else "about",
                rationales,
                _elimination_hint(options, answer, rationales),
                keys[0].domain,
                subject,
                False,
                keys[0].id,
            )
        )
        if len(out) >= limit:
            break
    return out


def _statement_usable(f: Fact, subject: str, notes: Notes, key: bool = False) -> bool:
    """A line that reads as a statement option about ``subject``: a claim of a few words, no value, no question."""
    return (
        not f.value
        and not notes.about_a_part(f)
        and not f.text.rstrip().endswith("?")
        and "+" not in f.text
        and not notes.unteachable(f)
        and notes.specific(f.claim)
        and 3 <= len(content_words(f.claim)) <= 16
        and len(_option(f.claim)) <= 110
        # a key may name what the subject works with ("Can save outputs of queries back to S3"); a wrong
        # option that names a service may well be true of the subject too
        and not (notes.names_in(f.claim) & ({subject} if key else set(notes.of)))
        and not re.search(r"(?i)\bit\b", f.claim)
        # a table's "how to run it" cells (input format, instances, hyperparameters: the algorithm table's third
        # column on) say nothing alone: "P2 or P3 for larger data sets", "L1, Wd (weight decay = L2)" read as
        # fragments beside description cells, and won or lost by their form (reviews 32-33)
        and notes.cells.get((f.citation.source, f.citation.line_start, f.citation.text), 0) < 3
    )


def _rival_statements(
    subject: str, notes: Notes, among: Collection[str] | None = None
) -> list[tuple[int, str, Fact]]:
    """(closeness, owner, line) of what ``subject``'s kin do that a learner could take for ``subject``'s: the wrong
    options of its statement items, the closest kin first (Binning's statements beside Normalization's and SMOTE's,
    not beside transfer learning's), among them those that talk about what the subject's own notes talk about.
    ``among``: only these kin, however far (a category quiz's own subjects, :meth:`QuestionBank._topical`)."""
    fs = notes.of.get(subject, [])
    if not fs:
        return []
    own = content_words(notes.text.get(subject, ""))
    ranked = notes.kin_ranked(subject, fs[0].kind)
    out = [
        (rank, o, f)
        for rank, o in ([(r, o) for r, o in ranked if o in among] if among is not None else ranked[:10])
        for f in notes.of.get(o, ())
        if _statement_usable(f, subject, notes)
        and _reads_as_claim(f.claim, notes)
        and notes.says(subject, f.claim) < 0.3
    ]
    out.sort(key=lambda t: (t[0], -len(content_words(t[2].claim) & own)))
    return out


_WAYS = re.compile(
    r"(?i)\b(how to|ways?|deal(ing)? with|handl(e|ing)|solutions?|strateg(y|ies)|techniques?|methods?|"
    r"approach(es)?|imputation|to (avoid|prevent|reduce|fix))\b"
)


_VAGUE = re.compile(r"(?i)^(different|other|various|some|many|more)\b")


DESCRIBE_STEM = "Which line of your notes describes {subject}?"


def _plain_words(text: str) -> set[str]:
    """Content words, a camel-cased name split ("BlazingText" → blazing, text; "FindMatches" → find, matches)."""
    return content_words(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text))


def _spelled_out(subject: str, lex: Lexicon, own: bool = False) -> set[str]:
    """Stems of the words that name ``subject`` (its spellings, the profile's glosses: "sequence" → Seq2Seq);
    ``own``: only the words of its name ("Glue FindMatches" → glue, find, match)."""
    spelt = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", subject)
    names = [spelt] if own else [subject, *lex.spellings_of(subject), *lex.glosses.get(subject, ())]
    return {_stem(w.rstrip("s")) for w in _plain_words(" ".join(names)) - {"amazon", "aws", "sagemaker", "data"}}


def describe_items(notes: Notes) -> list[Question]:
    """ "Which line of your notes describes Amazon Comprehend?": where the notes list sibling subjects with one line
    each (High-Level AI/ML Services: Comprehend "NLP and text analytics: entities, …", Polly "Text to speech", Lex
    "Natural-language chatbot engine"), X's line is the key and its siblings' are the wrong options — one form by
    construction, so a list-like line is fair here though it is no statement option. A quiz on X asks it without
    naming X as the answer (reviews 31-33: Comprehend's and Neo's quizzes had only "→ X" items)."""
    groups: dict[tuple[str, str], dict[str, list[Fact]]] = defaultdict(lambda: defaultdict(list))
    for f in notes.facts:
        if f.kind != "term":
            groups[(f.citation.source, f.section)][f.subject].append(f)
    out = []
    for by_subject in groups.values():
        lines = {
            s: fs[0]
            for s, fs in by_subject.items()
            if len(fs) == 1
            and not fs[0].value
            and not notes.unteachable(fs[0])
            and not re.search(r"(?i)\bit\b", fs[0].claim)
            and 2 <= len(content_words(fs[0].claim)) <= 14
            and not notes.names_in(fs[0].claim)
        }
        kinds = defaultdict(list)
        for s, f in lines.items():
            kinds[f.kind].append(s)
        for subjects in kinds.values():
            if len(subjects) < 4:
                continue
            for subject in subjects:
                f = lines[subject]
                if _spelled_out(subject, notes.lex) & {_stem(w) for w in _plain_words(f.claim)}:
                    continue  # "Identify all objects in an image" for Object Detection answers itself
                rng = random.Random("describe:" + subject)
                # the wrong lines nearest the key's length (options of one form), none the notes also say of X
                others = sorted(
                    (o for o in subjects if o != subject and notes.says(subject, lines[o].claim) < 0.3),
                    key=lambda o: (abs(len(lines[o].claim) - len(f.claim)), o),
                )[:3]
                if len(others) < 3:
                    continue
                owner = {_option(lines[o].claim): o for o in [subject, *others]}
                options, answer = _letters([_option(f.claim)], [_option(lines[o].claim) for o in others], rng)
                rationales = {}
                for x, text in options.items():
                    o = owner[text]
                    why = f"Wrong: your notes say this of {o}, not of {subject}."
                    rationales[x] = _rationale(
                        f"Right: your notes describe {subject} as “{f.text}”." if x in answer else why, lines[o]
                    )
                stem = DESCRIBE_STEM.format(subject=subject)
                hint = _elimination_hint(options, answer, rationales)
                out.append(replace(_item(f, stem, options, answer, "about", rationales, hint), difficulty="medium"))
    return out


def list_items(lists: Sequence[NoteList], notes: Notes) -> list[Question]:
    """ "Which of these do your notes list under 'Unbalanced data › Solutions'?": one item of a list of ways or
    use cases is the key; the distractors are items of other such lists of the same domain, none of them like
    an item of any list on the same subject (the notes list "Get more data" for missing *and* unbalanced data)."""
    ways = [
        nl
        for nl in lists
        if _WAYS.search(nl.label.rsplit(" › ", 1)[-1])
        and len(nl.label) <= 45
        and len(nl.label.split()) >= 2
        and not re.search(r"(?i)use cases?", nl.label)  # a service's use cases overlap another's (two true)
    ]

    def stems(text: str) -> set[str]:
        return {_stem(w) for w in content_words(text) - notes.generic} or {_stem(w) for w in content_words(text)}

    def domain(nl: NoteList) -> str:
        return notes.lex.domain_of(f"{nl.section} > {nl.label}", nl.label)

    techniques = [s for s, fs in notes.of.items() if fs[0].kind == "technique"]
    out = []
    for nl in ways:
        family = [o for o in ways if stems(o.label) & stems(nl.label)]
        taken = [stems(h) for o in family for _, h in o.items]
        # the profile's synonyms of the list's subject (imbalanced data: SMOTE, oversampling…) are never wrong
        related = {
            _stem(w)
            for key, syns in notes.lex.synonyms.items()
            if stems(" ".join((key, *syns))) & stems(nl.label)
            for w in content_words(" ".join(syns))
        }

        def fair(h: str, taken=taken, related=related) -> bool:
            st = stems(h)
            return not st & related and not any(len(st & t) / max(1, len(st)) >= 0.5 for t in taken)

        pool = [
            (o, line, h)
            for o in ways
            if o not in family and domain(o) == domain(nl)
            for line, h in o.items
            if fair(h) and not h.isupper() and not _VAGUE.match(h)  # nor surely wrong (reviews 31-32: missing data)
        ]
        pool += [  # other techniques of the same exam domain: the same kind of answer
            (None, 0, t) for t in techniques if fair(t) and notes.of[t][0].domain == domain(nl)
        ]
        if len(pool) < 3:
            continue
        for line, head in nl.items:
            if _VAGUE.match(head):
                continue  # "Different algorithms": too vague to be the one right answer
            rng = random.Random(f"{nl.source}:{line}")
            wrong = rng.sample(pool, 3)
            if len({h.lower() for _, _, h in wrong} | {head.lower()}) < 4:
                continue
            options, answer = _letters([head], [h for _, _, h in wrong], rng)
            cite = Citation(nl.source, nl.section, line, line, head).to_dict()
            rationales = {}
            for letter, text in options.items():
                if text == head:
                    rationales[letter] = {"why": f"Right: your notes list it under “{nl.label}”.", "citation": cite}
                else:
                    o, oline, _ = next(w for w in wrong if w[2] == text)
                    if o is None:
                        why = f"Wrong: {text} is another technique; your notes do not list it under “{nl.label}”."
                        rationales[letter] = _rationale(why, _best_fact(notes, text))
                        continue
                    why = f"Wrong: your notes list it under “{o.label}”, not under “{nl.label}”."
                    where = Citation(o.source, o.section, oline, oline, text)
                    rationales[letter] = {"why": why, "citation": where.to_dict()}
            item = Question(
                f"Which of these do your notes list under “{nl.label}”?",
                options,
                answer,
                f"{nl.label}: " + "; ".join(h for _, h in nl.items),
                [cite],
                "",
                "easy",
                "list",
                rationales,
                _elimination_hint(options, answer, rationales),
                domain(nl),
                nl.label,
                False,
                hashlib.sha1(f"{nl.source}:{line}".encode()).hexdigest()[:12],
            )
            out.append(item)
            situation = notes.situation(nl.label)
            if situation:  # the same item as the exam asks it: the problem at work, not the list's name
                stem = f"{situation} Which of these should the team try?"  # as the exam asks it
                out.append(replace(item, stem=stem, scenario=True, difficulty="medium"))
    return out


_GLOSS = re.compile(r"^(?P<name>[A-Za-z][\w.-]{1,24}(?: [\w.-]{1,20})?)\s*\((?P<gloss>[^()]{6,90})\)\.?$")
# a table cell's "scale_pos_weight: deal with unbalanced data": a setting's code name (lower case), a colon, a gloss
_GLOSS_COLON = re.compile(r"^(?P<name>[a-z][a-z0-9]*(?:_[a-z0-9]+)*):\s+(?P<gloss>[^'\"{}:]{6,90}?)\.?$")


def formula_items(notes: Notes) -> list[Question]:
    """ "Which formula do your notes give for Recall?": a metric's formula against its kin's (precision, specificity,
    accuracy), each wrong option cited with the metric it belongs to. The notes write them as bare bullets under a
    metric's lead, so they had no item at all (review 31 listed the formulas among what a two-question
    precision-and-recall quiz left out). Not asked the other way round ("which metric is TP / (TP + FP)?"): four
    metric names would put Precision beside Specificity, which these notes mix up (``[quiz.confused]``); for the
    same reason neither of them is asked here. A quiz asks one formula item (:func:`pick`): its feedback names every
    other formula."""
    forms = {s: f for s, fs in notes.of.items() if (f := next((f for f in fs if is_formula(f.text)), None))}
    by_text = {norm(f.text): s for s, f in forms.items()}
    out = []
    for subject, f in forms.items():
        if by_text.get(norm(f.text)) != subject:
            continue  # two subjects with one formula (Recall, Sensitivity): one is asked, the other never offered
        kin = sorted(o for o in by_text.values() if o != subject)
        if len(kin) < 3 or any(frozenset((subject, o)) in notes.confused for o in kin):
            continue
        rng = random.Random("formula:" + f.id)
        wrong = rng.sample(kin, 3)
        options, answer = _letters([f.text], [forms[o].text for o in wrong], rng)
        owner = {forms[o].text: o for o in [subject, *wrong]}
        rationales = {
            letter: _rationale(
                f"{'Right' if owner[t] == subject else 'Wrong'}: your notes give {owner[t]} as “{t}”.",
                forms[owner[t]],
            )
            for letter, t in options.items()
        }
        stem = f"Which formula do your notes give for {subject}?"
        out.append(
            _item(f, stem, options, answer, "formula", rationales, _elimination_hint(options, answer, rationales))
        )
    return out


def gloss_items(notes: Notes) -> list[Question]:
    """A list of named settings with a gloss each ("eta (step size shrinking)", "alpha (L1 regularization)"),
    as the notes keep hyperparameters: "Which XGBoost hyperparameter is the step size shrinking?", the
    siblings of the same list as distractors."""
    groups: dict[tuple[str, str], list[tuple[Fact, str, str]]] = defaultdict(list)
    for f in notes.facts:
        m = _GLOSS.match(claim_body(f.claim))
        m = m if m and "_" not in f.text else _GLOSS_COLON.match(f.text)
        if m and not notes.typo(f.text):
            groups[(f.subject, f.section)].append((f, m["name"], m["gloss"]))
    out = []
    for (subject, _), members in groups.items():
        names = {norm(n) for _, n, _ in members}
        if len(members) < 4 or len(names) < len(members):
            continue
        for f, name, gloss in members:
            rng = random.Random(f.id)
            wrong = rng.sample([m for m in members if m[0] is not f], 3)
            options, answer = _letters([name], [n for _, n, _ in wrong], rng)
            rationales = {}
            for letter, text in options.items():
                g, gf = next((g, mf) for mf, n, g in members if n == text)
                why = f"Right: your notes gloss {name} as “{gloss}”." if text == name else f"Wrong: {text} is “{g}”."
                rationales[letter] = _rationale(why, gf)
            q = _item(
                f,
                f"In your notes on {subject}, which setting is “{gloss}”?",
                options,
                answer,
                "term",
                rationales,
                f"Look in your notes under {_leaf(f.section)}.",
            )
            out.append(q)
            if notes.kind_of(subject) == "algorithm":  # the exam asks which hyperparameter a practitioner sets
                # "deal with unbalanced data" (scale_pos_weight) is a need already; "L1 regularization" is a property
                verb = re.match(r"(?i)(deal|handle|prevent|reduce|avoid|balance|limit)\b", gloss)
                want = gloss if verb else "control the model's " + gloss
                need = f"The data scientist wants to {want}."
                stem = _situated(f"{need} Which hyperparameter should they adjust?", notes, name, q.fact_id)
                if stem:
                    out.append(replace(q, stem=stem, scenario=True, difficulty="medium"))
    return out


# ------------------------------------------------------------------ the bank


@dataclass
class BankStats:
    facts: int = 0
    drafted: int = 0
    kept: int = 0
    seconds: float = 0.0
    rejected: dict[str, int] = field(default_factory=dict)


# the code a bank is made by: a bank stored by other code is not read
_BANK_CODE = ("quiz.py", "facts.py", "text.py", "chunking.py", "profile.py")


def bank_cache_path(index_path: Path, profile: str) -> Path:
    """Where the bank of an index build is stored: named by the code, the course profile and Python that made it."""
    h = hashlib.blake2b(digest_size=12)
    here = Path(__file__).parent
    for name in _BANK_CODE:
        h.update((here / name).read_bytes())
    h.update(json.dumps(load_profile(profile), sort_keys=True, default=str).encode())
    h.update(f"{sys.version_info[:2]}".encode())
    return index_path / "bank" / f"{h.hexdigest()}.pkl"


class QuestionBank:
    """Every verified item the notes allow, built once per index without a model (a few seconds), so a quiz on
    any topic starts at once. Scenario wordings written by the model (:func:`phrase_scenario`) are kept in a
    cache file per fact and merged in when present."""

    _shared: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, chunks: Sequence[Chunk], profile: str, phrasings: dict[str, str] | None = None) -> None:
        t0 = time.perf_counter()
        self.lex = Lexicon.load(profile)
        self._chunks = chunks
        indent = {
            (c.source, c.line_start + i): len(ln) - len(ln.lstrip()) if ln.strip() else 99
            for c in chunks
            for i, ln in enumerate(c.text.split("\n"))
            if i  # a passage's first line may have lost its indentation: unknown, so never read as nested
        }
        # (note, line, statement) → its cell of a table row: two cells of one row are two facts (see _same_fact)
        cells = {
            (c.source, c.line_start + i, item): no
            for c in chunks
            for i, ln in enumerate(c.text.split("\n"))
            if (row := table_row_items(ln))
            for no, item in row[1]
        }
        raw = {(c.source, c.line_start + i): ln for c in chunks for i, ln in enumerate(c.text.split("\n"))}
        self.notes = Notes(extract_facts(chunks, profile), self.lex, profile, indent, cells, raw)
        self.stats = BankStats(facts=len(self.notes.facts))
        self.items: list[Question] = []
        # subject → fact id → how often its statement and need items offer that line as a wrong option
        self._offered: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._keep(self._draft())
        self._as_wrong: dict[str, int] = defaultdict(int)  # fact id → need items offering it as a wrong option
        # id → items made at draw time: contrasts (:meth:`contrasts`), statement items with fresh wrong options
        # (:meth:`_unrevealed`); shared by the process's learners, read as snapshots (``list(…)``)
        self._derived: dict[str, Question] = {}
        uses = self.uses()  # read from the kept "which" items: what each subject is for, is and does
        self._keep(q for subject in uses for q in self.need_items(subject, uses))
        self._keep(sizing_items(self.notes))
        self.items = _one_per_scene(self.items, self.notes)  # after the uses: each scenario's line is a use
        self.stats.kept = len(self.items)
        self.by_fact: dict[str, list[Question]] = defaultdict(list)
        for q in self.items:
            self.by_fact[q.fact_id].append(q)
        if phrasings:
            self.merge_phrasings(phrasings)
        self.stats.seconds = time.perf_counter() - t0

    def _keep(self, drafts: Iterable[Question]) -> None:
        """Add the drafts a learner would accept; count the others by their first reason."""
        for q in drafts:
            self.stats.drafted += 1
            problems = acceptability(q, "", self.notes)
            if problems:
                key = problems[0].split(":")[0]
                self.stats.rejected[key] = self.stats.rejected.get(key, 0) + 1
            else:
                self.items.append(q)

    @classmethod
    def of(cls, retriever, profile: str | None = None) -> QuestionBank:
        """One bank per loaded index (and profile): kept in memory, and on disk beside the index so that the next
        process (a CLI quiz, the web UI's start) reads it instead of building it again."""
        profile = profile or retriever.settings.profile
        with cls._lock:
            bank = cls._shared.get(retriever)
            if bank is None or bank.profile != profile:
                path = bank_cache_path(retriever.index.path, profile)
                bank = cls._load(path) or cls._build_and_store(retriever.chunks, profile, path)
                bank.profile = profile
                bank.merge_phrasings(load_phrasings(retriever.settings.data_dir))
                cls._shared[retriever] = bank
            return bank

    @classmethod
    def _load(cls, path: Path) -> QuestionBank | None:
        """The bank stored at ``path``, or None (none yet, or unreadable: then it is built again)."""
        try:
            with path.open("rb") as fh:
                bank = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None
        return bank if isinstance(bank, cls) else None

    @classmethod
    def _build_and_store(cls, chunks: Sequence[Chunk], profile: str, path: Path) -> QuestionBank:
        bank = cls(chunks, profile)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, pickle.dumps(bank, protocol=pickle.HIGHEST_PROTOCOL))
            for old in path.parent.glob("*.pkl"):  # banks of earlier code or profiles
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only index folder: the bank is rebuilt per process, as before
        return bank

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_offered"] = {k: dict(v) for k, v in self._offered.items()}
        state["_derived"] = {}  # made at draw time, per process
        return state

    def __setstate__(self, state: dict) -> None:
        offered = defaultdict(lambda: defaultdict(int))
        for k, v in state.pop("_offered").items():
            offered[k].update(v)
        self.__dict__.update(state, _offered=offered)

    profile: str = ""

    def _draft(self) -> Iterable[Question]:
        for f in self.notes.facts:
            rng = random.Random(f.id)
            yield from which_items(f, self.notes, rng)
            if f.value:
                q = value_item(f, self.notes, rng)
                if q:
                    yield q
        for subject in self.notes.of:
            offered = self._offered[subject]
            yield from two_items(subject, self.notes, random.Random(subject), offered=offered)
            yield from about_items(subject, self.notes, random.Random("about:" + subject), offered=offered)
        yield from gloss_items(self.notes)
        yield from describe_items(self.notes)
        yield from formula_items(self.notes)
        yield from list_items(extract_lists(self._chunks), self.notes)

    def merge_phrasings(self, phrasings: dict[str, str]) -> int:
        """Add the model's scenario wordings (fact id → stem) as scenario items; returns how many were new."""
        added = 0
        for fid, stem in phrasings.items():
            qs = self.by_fact.get(fid, [])
            base = next((q for q in qs if q.kind == "which" and not q.scenario), None)
            if base is None or any(q.scenario and q.stem == stem for q in qs):
                continue
            q = replace(base, stem=stem, scenario=True, difficulty="medium")
            # the need is read from the item it rewords: the scenario item's own stem is the wording under test
            if not check_scenario(stem, base, "", self.notes) and not acceptability(q, "", self.notes):
                qs[:] = [x for x in qs if not x.scenario] + [q]
                self.items = [x for x in self.items if not (x.fact_id == fid and x.scenario)] + [q]
                added += 1
        return added

    # -- topics

    def topics(self) -> dict[str, list[str]]:
        """Exam domain → subjects with questions (most first), then the profile's named topics that have questions
        ("imbalanced data", "feature engineering"): the topic picker. A list's label is not a topic."""
        if self._topics is None:
            count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for q in self.items:
                if q.kind not in ("term", "list"):
                    count[q.domain][q.subject] += 1
            for topic in self.lex.synonyms:
                qs = self.on_topic(topic)
                if len(qs) >= 3:
                    domain = max(self.lex.domains, key=lambda d: sum(q.domain == d for q in qs))
                    count[domain][topic] = len(qs)
            self._topics = {d: sorted(c, key=lambda s: (-c[s], s)) for d in self.lex.domains if (c := count.get(d))}
        return self._topics

    _topics: dict[str, list[str]] | None = None

    def on_topic(self, topic: str) -> list[Question]:
        terms = self.notes.terms(topic)
        facts = {f.id for f in self.notes.facts if self.notes.on_topic(f, topic, terms)}
        return [
            q
            for q in self.items
            if (q.fact_id in facts or q.kind == "list" or _glossed_on(q, topic, terms, self.notes))
            and not off_topic(q, topic, self.notes)
        ]

    def draw(
        self,
        topic: str,
        n: int,
        difficulty: str = "medium",
        rng: random.Random | None = None,
        exclude: Iterable[str] = (),
    ) -> list[Question]:
        """``n`` questions on ``topic``: one per fact, spread over subjects and sections, mixed by difficulty
        (easy: recall and values; medium: ≥ 40 % scenarios; hard: scenarios and "choose two")."""
        rng = rng or random.Random()
        skip = set(exclude)
        # what this learner was asked before, in any form: the same fact under another topic is no new question
        # (an independent review of ten topic quizzes found 9 of its 14 rejects were such repeats)
        # (a contrast item is a rival's item with this subject put in: asked, its rival's own item is asked too —
        # review 21: the anomaly-detection scenario of a DeepAR quiz came again under "Modeling")
        before = [q for q in [*self.items, *self._derived.values()] if q.id in skip]
        pool = [q for q in self.on_topic(topic) if q.id not in skip]
        named = None if topic.lower().strip() in self.lex.synonyms else self.lex.lookup(topic)
        if not named:
            got = pick(pool, n, difficulty, rng, topic, before, self.notes, before, refresh=self._refresh)
            if topic not in self.lex.domains:  # a category ("computer vision"): its own subjects as wrong options
                within = {q.subject for q in pool if q.kind != "list"}
                got = [self._topical(q, within, got) for q in got]
                return self._unrevealed(feedback_order(got, self.notes), before, within)
            return self._unrevealed(feedback_order(got, self.notes), before)
        # a quiz on X: "which service …?" with X as the key answers itself (review 12: four of five Firehose items
        # were "→ Firehose"). Items that do not name a subject first (X's statements, values, parts), then X's own
        own = [q for q in pool if q.kind in ("which", "term") and q.subject == named]
        near = [q for q in self.contrasts(named) if q.id not in skip]

        def more(items: list[Question], k: int) -> list[Question]:
            return pick(
                items, max(0, k), difficulty, rng, topic, [*before, *got], self.notes, before, refresh=self._refresh
            )

        # items keyed on X itself, and items keyed on X's rivals with X a wrong option, only when nothing else is
        # left: reviews 18-24 rejected every "→ X" item as given away by the quiz's name (9-18 a session) and read
        # the rivals' items as off topic ("fewer questions, all on topic, would have been better than padding");
        # X's glossary ("eta", "lambda") is not keyed on X
        keyed = [q for q in own if keyed_on(q, named)]
        got: list[Question] = []
        got += more([q for q in pool if q not in own], n)
        got += more([q for q in own if q not in keyed], n - len(got))
        # items on X whose lines an earlier quiz's reasons only quoted (never asked) are next: a learner who picks
        # Firehose after a Glue quiz that explained "Moving (massive) data to S3" as Firehose's is asked about it
        # (retrieval practice) rather than given "→ Firehose" items (the session-14 pass)
        if not got and before:
            asked = set().union(*map(_key_lines, before))
            again = [
                q
                for q in pool
                if q not in keyed
                and not _key_lines(q) & asked
                and not any(
                    p.fact_id == q.fact_id or _same_fact(q, p, self.notes) or _same_scene(q, p) for p in before
                )
            ]
            got += pick(again, n, difficulty, rng, topic, (), self.notes, before, retell=True)
        if not got:  # a quiz of nothing is no quiz: two of X's rivals' items with X a wrong option, and as many of
            # the giveaway kind (one if there are no rivals'), so that X is not the answer to most (a second quiz on
            # Glue had been two "→ AWS Glue" items of three: the learner knew the answer before reading); UI says why
            got += more(near, min(n, 2))
            got += more(keyed, min(n - len(got), max(1, len(got))))
        rng.shuffle(got)
        return self._unrevealed(feedback_order(got, self.notes), before)

    def _topical(self, q: Question, within: set[str], quiz: Sequence[Question]) -> Question:
        """``q`` with its wrong options farthest from the topic replaced by the topic's own subjects, so that two of
        them (when the notes have as many) are of the category the learner asked for. In a quiz on "computer
        vision" the one image algorithm among text and time-series ones was the answer before the stem was read
        (the session-27 independent review: 7 of 28 questions given away by the topic's name, "T"). A replacement
        must pass the checks the bank's items passed (no second true option, nothing guessable), else ``q`` stays."""
        notes = self.notes
        fact = notes.by_id.get(q.fact_id)
        statements = _is_statement_item(q) and q.kind == "about"
        if fact is None or q.subject not in within or not (q.kind == "which" or statements):
            return q
        wrong = [x for x in q.options if x not in q.answer]
        owner = {
            x: q.options[x] if q.kind == "which" else notes.at.get(_line(q.rationales[x].get("citation")))
            for x in wrong
        }
        inside = [x for x in wrong if owner[x] in within]
        if len(inside) >= 2:
            return q
        if q.kind == "which":
            named = notes.names_in(fact.text) | notes.names_in(q.stem)
            fresh = [
                (s, None)
                for s in notes.kin(q.subject, notes.kind_of(q.subject))
                if s in within and s not in q.options.values() and s not in named and notes.says(s, fact.claim) < 0.15
            ]
        else:
            keyed = {line for p in quiz for line in _key_lines(p)}
            offered = {line for p in quiz if p is not q for line in _wrong_lines(p)}
            fresh = [
                (o, f)
                for _, o, f in _rival_statements(q.subject, notes, among=within)
                if _line(f.citation.to_dict()) not in keyed | offered and _option(f.claim) not in q.options.values()
            ]
        options, rationales = dict(q.options), dict(q.rationales)
        used = set(inside)
        # the wrong options farthest from the key go first (the last in the kin order, or of no kin at all)
        order = notes.kin(q.subject, notes.kind_of(q.subject))
        for x in sorted(set(wrong) - used, key=lambda x: -(order.index(owner[x]) if owner[x] in order else 999)):
            if len(used) >= 2:
                break
            taken = {*owner.values(), *options.values()}
            got = next(((o, f) for o, f in fresh if o not in taken), None)
            if got is None:
                break
            o, f = got
            fresh.remove(got)
            if f is None:
                options[x] = o
                why = _contrast(notes, o, fact, notes.noun(fact.kind))
                rationales[x] = _quoted({x: why}, fact)[x] if q.scenario else why
            else:
                options[x] = _option(f.claim)
                rationales[x] = _rationale(f"Wrong: your notes say this of {o}, not of {q.subject}.", f)
            owner[x] = o
            used.add(x)
        if options == q.options:
            return q
        new = replace(
            q, options=options, rationales=rationales, hint=_elimination_hint(options, q.answer, rationales)
        )
        if acceptability(new, "", notes):
            return q
        self._derived[new.id] = new
        return new

    def _unrevealed(
        self, quiz: list[Question], before: Sequence[Question], within: Collection[str] = ()
    ) -> list[Question]:
        """A statement item's wrong options that earlier feedback already placed (Glue's "ETL" line after a reason
        said Glue does ETL; a statement an earlier item keyed) give way to other kin's statements the learner has not
        seen placed: review 29 rejected 13 of 51 as solved by elimination. The new item is remembered (its fact is
        asked) so a later quiz does not ask the original. One with an option an earlier quiz placed left (no kin's
        statement to put in its place) is not asked: fewer questions rather than one solved by elimination (reviews
        31-32) — unless nothing else is left, which would start the topic's round again; within the quiz, the order
        sees to it (:func:`feedback_order`)."""
        notes = self.notes
        told = [t for p in before for t in _placed(p, notes)]
        earlier = list(told)
        keyed = {line for q in quiz for line in _key_lines(q)} | {line for p in before for line in _key_lines(p)}
        offered = {line for q in quiz if q.kind in ("about", "two") for line in _wrong_lines(q)}
        out, solved = [], []
        for q in quiz:
            if _is_statement_item(q):
                q = self._swap_known(q, told, keyed, offered, quiz, within=within)
                if self._placed_options(q, earlier):
                    solved.append(q)
                    continue
                offered |= _wrong_lines(q)
            out.append(q)
            told += _placed(q, notes)
        return out or solved

    def _placed_options(self, q: Question, told: list) -> list[str]:
        """The wrong options of ``q`` whose owner's lines the feedback ``told`` has placed (see :func:`_known`)."""
        notes = self.notes
        return [
            x
            for x, r in q.rationales.items()
            if x not in q.answer
            and (o := notes.at.get(_line(r.get("citation"))))
            and _known(o, r["citation"].get("text", ""), told, notes)
        ]

    def _refresh(
        self, q: Question, clash: frozenset, keyed: set, offered: set, chosen: Sequence[Question]
    ) -> Question:
        """A statement item whose wrong options the quiz already keys or offers (``clash``), with fresh ones: three
        Firehose statement items left four out that way (a quiz of 3 when 10 were asked)."""
        return self._swap_known(q, [], keyed, offered, chosen, clash) if _is_statement_item(q) else q

    def _swap_known(
        self,
        q: Question,
        told: list,
        keyed: set,
        offered: set,
        quiz: Sequence[Question],
        clash: frozenset = frozenset(),
        within: Collection[str] = (),
    ) -> Question:
        """``q`` with the wrong options ``told`` already placed (or whose lines are in ``clash``) replaced by kin's
        statements it did not, none of them a line the quiz keys or offers, nor one that tells another item's key.
        A wrong option of a subject whose lines earlier feedback quoted at all gives way too, when a subject not
        yet quoted has a statement to offer: review 37 read "data sampling and dimensionality reduction" as KNN's
        two questions after a reason quoted KNN's "Dimensional reduction stage included" (a word apart, so the
        line test had passed it), and "entire time series" as DeepAR's after "one-dimensional time series"."""
        notes = self.notes
        owner = {x: notes.at.get(_line(r.get("citation"))) for x, r in q.rationales.items() if x not in q.answer}
        placed = self._placed_options(q, told)
        clashing = {x for x, r in q.rationales.items() if _line(r.get("citation")) in clash}
        known = [x for x, o in owner.items() if o and (x in placed or x in clashing)]
        heard = {s for s, _ in told}
        seen = [x for x, o in owner.items() if o in heard and x not in known]  # swapped only for an unheard owner
        if not known and not seen:
            return q
        options, rationales = dict(q.options), dict(q.rationales)
        owners = {o for x, o in owner.items() if x not in known}
        rivals = _rival_statements(q.subject, notes)
        rivals += [r for r in _rival_statements(q.subject, notes, among=within) if r not in rivals] if within else []
        fresh = [
            (o, f)
            for _, o, f in rivals
            if _line(f.citation.to_dict()) not in keyed | offered
            and not _known(o, f.citation.text, told, notes)
            and not any(p is not q and _given_away(p, [(o, f.citation.text)], notes) for p in quiz)
        ]
        for x in [*known, *seen]:
            usable = [(o, f) for o, f in fresh if o not in owners and _option(f.claim) not in options.values()]
            # an unheard subject's line when there is one; a ``seen`` option is swapped only for that
            # a category quiz's own subjects first (:meth:`_topical`); one of them heard is swapped only for another
            usable.sort(key=lambda c: c[0] not in within)
            if x in seen and owner[x] in within:
                usable = [c for c in usable if c[0] in within]
            got = next((c for c in usable if c[0] not in heard), None if x in seen else next(iter(usable), None))
            if got is None:
                continue
            o, f = got
            owners.discard(owner[x])
            owners.add(o)
            options[x] = _option(f.claim)
            rationales[x] = _rationale(f"Wrong: your notes say this of {o}, not of {q.subject}.", f)
        if options == q.options:
            return q
        new = replace(
            q, options=options, rationales=rationales, hint=_elimination_hint(options, q.answer, rationales)
        )
        if acceptability(new, "", notes):
            return q
        self._derived[new.id] = new
        return new

    def contrasts(self, subject: str) -> list[Question]:
        """Items whose key is a close sibling of ``subject`` (same section or domain) with ``subject`` among the
        options, its option explained by a line of its own: where Firehose ends, in a quiz on Firehose. That line
        joins the item's citations, so it is on topic (and, once shown, not asked by the learner's later quizzes)."""
        subject = self.lex.lookup(subject) or subject
        out: dict[str, list[Question]] = defaultdict(list)
        facts = self.notes.by_id
        # what the subject is for: the lines its own "which service …?" items ask (review 13: a line such as "pay
        # for amount of data going through Firehose" does not say why Firehose is the wrong choice)
        uses = [facts[i] for i in dict.fromkeys(q.fact_id for q in self.items if q.subject == subject) if i in facts]
        uses = [f for f in uses if any(q.kind == "which" for q in self.by_fact[f.id])]
        listed = self.notes.alternatives.get(subject)  # the profile's word is final (review 13: DeepAR → K-Means)
        spelt = [re.escape(x) for x in self.lex.spellings_of(subject)]
        for q in self.items:
            mine = next((x for x, o in q.options.items() if o == subject), None)
            if mine is None and listed and q.subject in listed and q.kind == "which" and q.fact_id in facts:
                # a rival's need item without the subject among its options: the subject takes the place of the
                # wrong option farthest from the key (the bench: 10 of 13 keys in subject quizzes were the subject)
                wrong = [x for x in q.options if x not in q.answer]
                order = self.notes.kin(q.subject, self.notes.kind_of(q.subject))
                mine = max(wrong, key=lambda x: order.index(q.options[x]) if q.options[x] in order else len(order))
                if re.search(rf"(?i)\b(?:{'|'.join(spelt)})\b", q.stem):
                    continue  # the stem names the subject
                q = replace(q, options={**q.options, mine: subject})
                if two_true(q, self.notes) or guessable(q):
                    continue  # a second right answer, or the key given away by the words
            if q.kind != "which" or q.subject == subject or not mine or q.fact_id not in facts:
                continue
            if not (q.scenario or _ASKS_NEED.search(q.stem)):
                continue  # a property ("needs an EC2 instance for replication") is no choice a learner weighs
            claim = facts[q.fact_id].claim
            asked = content_words(claim) - self.notes.generic
            # the claim, and the first use of a list (which a scenario asks alone)
            if max(self.notes.says(subject, c) for c in (claim, claim_body(claim).split(",")[0])) >= 0.15:
                continue  # the subject's notes come close to the need: a second right answer (reviews 14, 17)
            use = max(uses, key=lambda f, q=q, asked=asked: _closeness(f, asked, q.id), default=None)
            if use is not None and _closeness(use, asked, q.id)[0]:
                continue  # its best line shares the need's words ("BI, reporting" beside "dashboards, reports")
            if use is not None:
                said = f"Wrong: your notes say this of {q.subject}. {subject} is described as “{use.text}”."
                why = _rationale(said, use)
            else:
                why = _contrast(self.notes, subject, facts[q.fact_id], "", turn=q.id)
            if q.scenario:
                why = _quoted({mine: why}, facts[q.fact_id])[mine]
            if "described as" in why["why"]:
                rationales = {**q.rationales, mine: why}
                hint = _elimination_hint(q.options, q.answer, rationales)
                out[q.subject].append(
                    replace(q, citations=[*q.citations, why["citation"]], rationales=rationales, hint=hint)
                )
        self._derived.update((q.id, q) for qs in out.values() for q in qs)
        family = set(subject.lower().split()) - {"aws", "amazon", "sagemaker", "data"}
        kin = [s for rank, s in self.notes.kin_ranked(subject, self.notes.kind_of(subject)) if rank == 0]
        for near in [listed] if listed else ([s for s in kin if family & set(s.lower().split())], kin):
            if any(s in out for s in near):
                return [q for s in near for q in out.get(s, [])]
        return []

    def uses(self) -> dict[str, list[tuple[Fact, str]]]:
        """Subject → the lines its "which service …?" items ask, each with its form: "use" (what it is *for*:
        "would you use to …", a scenario) or "does" (what it does or has)."""
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for q in self.items:
            if q.kind != "which" or q.fact_id not in self.notes.by_id:
                continue
            if " describe " in q.stem:
                continue  # a quoted description ("IAM permission for access to …") reads as a fragment as an option
            form = "use" if q.scenario or _ASKS_NEED.search(q.stem) else "does"
            had = out[q.subject].get(q.fact_id)
            out[q.subject][q.fact_id] = min(form, had or form, key=_FORMS.index)
        return {s: [(self.notes.by_id[i], form) for i, form in fs.items()] for s, fs in out.items()}

    def need_items(self, subject: str, uses: dict[str, list[tuple[Fact, str]]], limit: int = 3) -> list[Question]:
        """ "Which of these needs does X meet?": one of X's lines, three of its rivals' in the same form (Firehose
        "load streaming data into destinations" beside Data Streams' "create real-time ML applications"). In a quiz
        on X, "which service …?" answers itself (review 17: the header's service was the key of 16 of 20 such
        items); this asks the same lines the other way round, each wrong option's reason naming its owner."""
        notes = self.notes
        kind = notes.kind_of(subject)

        def fits(f: Fact) -> bool:  # naming S3 is fine; naming the subject or the line's owner gives it away
            text = _use_option(f)
            named = notes.names_in(f.claim) & {subject, f.subject}
            whole = len(content_words(text)) >= 3 and not re.match(r"(?i)is\b", text)  # "Is triggered, that …"
            return len(text) <= 90 and whole and not named

        def asked(f: Fact) -> set[str]:
            """The line's telling words: the profile's generic needs count ("streaming ETL" beside Glue's ETL), words
            said of many subjects ("supports", "analyse") do not."""
            words = content_words(_use_option(f)) - _STEM_WORDS
            return {_stem(w) for w in words if notes.spread.get(w, 0) <= 4}

        own = [f for f, _ in uses.get(subject, [])]
        # a line with a word of X's own name answers itself ("identify … matching records" for FindMatches); the
        # profile's glosses do not count here ("ETL" is what the learner should know Glue for)
        name = _spelled_out(subject, notes.lex, own=True)
        mine = sorted(
            [
                (f, form)
                for f, form in uses.get(subject, [])
                if fits(f) and f.subject == subject and not name & {_stem(w) for w in _plain_words(f.claim)}
            ],
            key=lambda fm: _FORMS.index(fm[1]),
        )
        rivals = [s for _, s in notes.kin_ranked(subject, kind)[:10]]
        listed = notes.alternatives.get(subject, ())
        others = [
            (o, f, form)
            for o in rivals
            for f, form in uses.get(o, [])
            if fits(f)
            # not said of X: half its words in X's notes, or a third in one of X's lines (Firehose's "transform
            # data before delivering" beside Glue's "prepare and transform data"), nor a word shared with X's uses
            and not any(
                notes.says(subject, c) >= 0.5 or notes.says_in_a_line(subject, c) >= 0.34
                for c in (f.claim, claim_body(f.claim).split(",")[0])
            )
            and not any(asked(f) & asked(m) for m in own)
        ]
        # each line a wrong option as seldom as can be, over the whole bank (review 17: "SQL or Flink to write
        # computation" in every quiz read as a pool to eliminate)
        used = self._as_wrong
        offered = self._offered[subject]  # what the subject's statement items offer: not again (a quiz asks both)
        out = []
        for key, form in mine:
            picked: list[tuple[str, Fact]] = []
            for o, f, _ in sorted(
                (x for x in others if x[2] == form),
                key=lambda x: (x[0] not in listed, offered[x[1].id] > 0, used[x[1].id], rivals.index(x[0])),
            ):
                if o not in {p for p, _ in picked}:
                    picked.append((o, f))
                if len(picked) == 3:
                    break
            if len(picked) < 3 or (listed and sum(o in listed for o, _ in picked) < 2):
                continue  # the real rivals, not far services: "text analysis" beside Glue's and Athena's lines is
                # the only language option (review 18)
            for _, f in picked:
                used[f.id] += 1
                offered[f.id] += 1
            rng = random.Random("need:" + key.id)
            need = form == "use"
            texts = {_use_option(f, need): (o, f) for o, f in [(subject, key), *picked]}
            options, answer = _letters([_use_option(key, need)], list(texts)[1:], rng)
            rationales = {}
            for letter, text in options.items():
                o, f = texts[text]
                if o == subject:
                    rationales[letter] = _rationale(f"Right: your notes on {subject} say “{f.text}”.", f)
                else:
                    said = f"that is what your notes give {o} for" if form == "use" else f"your notes say this of {o}"
                    rationales[letter] = _rationale(f"Wrong: {said}: “{f.text}”.", f)
            out.append(
                Question(
                    _FORM_STEMS[form].format(subject=subject),
                    options,
                    answer,
                    f"{subject}: {key.text}",
                    [key.citation.to_dict()],
                    "",
                    "medium",
                    "about",
                    rationales,
                    _elimination_hint(options, answer, rationales),
                    key.domain,
                    subject,
                    False,
                    key.id,
                )
            )
            if len(out) >= limit:
                break
        return out


def _use_option(f: Fact, need: bool = False) -> str:
    """A subject's line as an option: "Use case: Streaming ETL, …" → "Streaming ETL, …". As a ``need``, "can
    optionally perform custom transformations …" → "Perform custom transformations …", worded like its rivals'
    ("Create real-time ML applications"), not the one option in another form (seen in a Firehose "which needs"
    item); among statements ("Needs an EC2 instance …") "Can save outputs …" stays as written."""
    text = _USE_CASE.sub("", claim_body(f.claim))
    return _option(re.sub(r"(?i)^can\s+(?:optionally\s+|also\s+)?", "", text) if need else text)


_FORMS = ("use", "does")  # the forms of a subject's line, most worth asking first
_FORM_STEMS = {
    "use": "Which of these needs does {subject} meet, according to your notes?",
    "does": "Which of these is true of {subject}, according to your notes?",
}

# a stem that asks for the service/algorithm/metric to *use* for a need (the exam's question), not for a property
_ASKS_NEED = re.compile(r"(?i)\bwould you use\b|\bname for\b|\brecommend\b|\bshould (?:they|you|it) use\b")

_WANT = {
    "easy": {"which": 3, "about": 2, "value": 2, "term": 2, "list": 1, "two": 0, "scenario": 1},
    "medium": {"scenario": 4, "which": 2, "about": 2, "value": 2, "two": 1, "term": 1, "list": 1},
    "hard": {"scenario": 4, "two": 3, "about": 1, "value": 1, "which": 1, "list": 1, "term": 0},
}


def _line(c: dict | None) -> tuple[str, int, str]:
    # with the cited text: the cells of one table row (XGBoost's row holds a dozen facts) are separate lines
    return (c.get("source", ""), c.get("line_start", 0), c.get("text", "")) if c else ("", 0, "")


def _keys(q: Question) -> frozenset[str]:
    """The right options' texts."""
    return frozenset(q.options[x] for x in q.answer)


def _key_lines(q: Question) -> set[tuple[str, int, str]]:
    """The lines an item asks: its citations, less a line cited only to say why a wrong option is wrong (a
    contrast item in a quiz on Firehose cites Firehose's own line; that line may still be asked)."""
    return {_line(c) for c in q.citations} - _wrong_lines(q)


def _wrong_lines(q: Question) -> set[tuple[str, int, str]]:
    right = {_line(r.get("citation")) for x, r in q.rationales.items() if x in q.answer}
    return {_line(r.get("citation")) for x, r in q.rationales.items() if x not in q.answer} - right


def pick(
    pool: Sequence[Question],
    n: int,
    difficulty: str,
    rng: random.Random,
    topic: str = "",
    taken: Sequence[Question] = (),
    notes: Notes | None = None,
    earlier: Sequence[Question] = (),
    retell: bool = False,
    refresh: Callable[[Question, frozenset, set, set, Sequence[Question]], Question] | None = None,
) -> list[Question]:
    """Choose ``n`` items from ``pool``: at most one per fact, subjects and sections taking turns, item types in
    the difficulty's proportions (a type runs dry → the others fill in). ``taken``: items already chosen (a mock
    exam's other domains). A line of the notes is asked once, also by a "choose two" item whose second key it is
    (a mock exam had the FindMatches scenario and "Which two statements about Glue FindMatches…" on one line).
    ``retell``: a line the earlier quizzes only quoted in their feedback may be asked (:meth:`QuestionBank.draw`).
    ``refresh(q, clash, keyed, offered, chosen)``: ``q`` with other wrong options where its own (``clash``) are lines
    the quiz already keys or offers (a statement item is then asked with fresh ones rather than left out: quizzes
    ran short)."""
    lines = set().union(*map(_key_lines, taken))
    # ``earlier``: the learner's earlier quizzes, whose feedback they have read: what it told is not asked again —
    # the line quoted for a wrong option (or in a hint), nor the same thing said of that subject in other words
    # (reviews 12 and 13: "run any Apache Flink application" shown as Kinesis Data Analytics' gave away "uses Flink
    # (Java, Scala, SQL) …"). Within one quiz the order sees to it (:func:`feedback_order`).
    shown = set().union(*map(_wrong_lines, earlier)) if not retell else set()
    told = [t for p in earlier for t in _told(p, notes)] if notes and not retell else []
    # the statements "which statement …?" items offer: a learner eliminates one another item keys, and the reverse
    offered = set().union(set(), *(_wrong_lines(q) for q in taken if q.kind in ("about", "two")))
    buckets: dict[str, list[Question]] = defaultdict(list)
    for q in rng.sample(list(pool), len(pool)):
        buckets["scenario" if q.scenario else q.kind].append(q)
    want = _WANT[difficulty]
    order = [t for t in sorted(want, key=lambda t: -want[t]) for _ in range(want[t])] or list(buckets)
    out: list[Question] = []
    used_facts = {q.fact_id for q in taken}
    seen_subject: dict[str, int] = defaultdict(int)
    per_template: dict[str, int] = defaultdict(int)
    cap = max(2, -(-n // 3))  # one wording pattern for at most a third of a quiz (reviewers tired of repeats)
    for capped in (True, False):
        while len(out) < n and any(buckets.values()):
            progressed = False
            for t in order + [t for t in buckets if t not in want]:
                if len(out) >= n:
                    break
                items = buckets.get(t, [])
                items.sort(key=lambda q: seen_subject[q.subject])  # subjects take turns
                for i, q in enumerate(items):
                    if q.fact_id in used_facts or (capped and per_template[_template(q)] >= cap):
                        continue
                    if _key_lines(q) & (lines | shown) or (told and _given_away(q, told, notes)):
                        continue
                    if _key_lines(q) & offered:
                        continue  # a statement another item of the quiz keys or offers is eliminated (review 18)
                    if q.kind in ("about", "two") and (clash := _wrong_lines(q) & (lines | offered)):
                        q = refresh(q, frozenset(clash), lines, offered, [*taken, *out]) if refresh else q
                        if _wrong_lines(q) & (lines | offered):
                            continue
                    if any(_same_fact(q, p, notes) or _same_scene(q, p) for p in [*taken, *out]):
                        continue  # one stem once: three "fraud-detection team …" items read as one question
                    if q.kind in ("which", "term") and any(
                        p.kind in ("which", "term") and _keys(p) == _keys(q) for p in out
                    ):
                        continue  # one name the answer twice (the session-27 pass: Transfer learning in an NLP quiz)
                    # siblings share their options (XGBoost's eta/gamma/alpha/lambda): a third falls to elimination;
                    # the same options with the same key twice read as one question (review 14: two Neo items)
                    same = [p for p in out if set(p.options.values()) == set(q.options.values())]
                    again = [p for p in earlier if set(p.options.values()) == set(q.options.values())]
                    if len(same) >= 2 or any(p.subject == q.subject and p.kind == q.kind for p in same + again):
                        continue  # … also after an earlier quiz of the session (review 16: Q43 was Q24 again)
                    if q.kind == "formula" and any(p.kind == "formula" for p in out):
                        continue  # one formula a quiz: the feedback of one gives every other formula away
                    if q.kind == "term" and same:
                        continue  # glossary siblings: "lambda is “L2 regularization”" told the next key (review 20)
                    if (
                        notes is not None
                        and q.kind == "term"
                        and any(
                            p.kind == "term"
                            and _given_away(q, _told(p, notes), notes)
                            and _given_away(p, _told(q, notes), notes)
                            for p in out
                        )
                    ):
                        continue  # two glosses that each tell the other's key (alpha's, lambda's): no order helps
                    if q.kind == "list" and any(_lists_told(p, q) for p in [*taken, *out, *earlier]):
                        continue  # the list was asked, or its key shown under a list's name (review 20: Q12-Q18)
                    # (and an item whose reasons would strike out an earlier name item's: the order may swap them —
                    # the session-17 pass: a Glue Triggers statement item placed FindMatches, then the Catalog
                    # scenario offered Triggers and FindMatches)
                    if _eliminable(q, [*earlier, *out]) or any(_eliminable(p, [q]) for p in out if _is_name_item(p)):
                        continue  # two of its wrong names were explained before (review 25: Q22 after Q21)
                    items.pop(i)
                    used_facts.add(q.fact_id)
                    lines |= _key_lines(q)
                    offered |= _wrong_lines(q) if q.kind in ("about", "two") else set()
                    seen_subject[q.subject] += 1
                    per_template[_template(q)] += 1
                    out.append(replace(q, topic=topic or q.subject, difficulty=difficulty))
                    progressed = True
                    break
            if not progressed:
                break
    return out


def _eliminable(q: Question, seen: Sequence[Question]) -> bool:
    """A name item two of whose wrong options the learner has already seen explained, as earlier keys or as wrong
    options whose reason said what they are: struck out, they leave the key and one name to weigh it against.
    (Review 27 did not accept Glacier beside Bucket Policies and Client Side Encryption, the last two keys; reviews
    31 and 32 rejected every item with two names explained — Catalog after Triggers and FindMatches were, Neo after
    Ground Truth and real-time endpoints — where earlier rounds accepted Precision after Recall and Specificity.)"""
    if not _is_name_item(q) or q.kind == "list":
        return False
    keys = {p.options[x] for p in seen for x in p.answer}
    told = keys | {
        p.options[x]
        for p in seen
        for x, r in p.rationales.items()
        if x not in p.answer and ("described as" in r["why"] or r["why"].startswith(f"Wrong: {p.options[x]} is “"))
    }  # a glossary item's reasons say what each wrong setting is ("alpha is “L1 regularization”": review 29, Q8-Q9)
    # a statement item's reasons say whose each wrong statement is ("… say this of Glue Triggers, not of …"): the
    # learner has read what Triggers does (review 32: the Data Catalog item after a FindMatches statement item)
    told |= {
        m[1]
        for p in seen
        if p.kind in ("about", "two")
        for x, r in p.rationales.items()
        if x not in p.answer and (m := re.match(r"Wrong: your notes say this of (.+?), not of ", r["why"]))
    }
    wrong = [o for x, o in q.options.items() if x not in q.answer]
    return sum(o in told for o in wrong) >= min(2, len(wrong))


def keyed_on(q: Question, name: str) -> bool:
    """Is ``name`` (a quiz's subject) the answer? In a quiz on it, its name gives such an item away."""
    return name in (q.options[a] for a in q.answer)


def _lists_told(p: Question, q: Question) -> bool:
    """An earlier list item ``p`` asked ``q``'s list, or showed ``q``'s key as an option (its reason says where the
    notes list it)."""
    return p.kind == "list" and (
        p.subject == q.subject or bool(set(p.options.values()) & {q.options[a] for a in q.answer})
    )


def _closeness(f: Fact, asked: set[str], salt: str) -> tuple[int, int]:
    """How many of the asked words a line holds; ties by the salt."""
    return len(content_words(f.text) & asked), zlib.crc32((salt + f.id).encode())


def feedback_order(qs: Sequence[Question], notes: Notes) -> list[Question]:
    """A quiz in an order where a question's feedback (its reasons and hint) does not tell a later question's key:
    the question whose reasons quote another's line or fact comes after it, otherwise the drawn order stays (where
    two tell each other, the one drawn first comes first)."""

    def tells(p: Question, q: Question) -> bool:
        return p is not q and (bool(_key_lines(q) & _wrong_lines(p)) or _given_away(q, _told(p, notes), notes))

    rest, out = list(qs), []
    while rest:  # the first (in the drawn order) that tells none of the questions still to come
        p = next((p for p in rest if not any(tells(p, q) for q in rest)), rest[0])
        rest.remove(p)
        out.append(p)
    # two that tell each other (learning rate's reasons quote epochs' line and the other way round): the first one's
    # reason for the second's key says whose line it is, without quoting it (review 16)
    for i, p in enumerate(out):
        later = [q for q in out[i + 1 :] if tells(p, q)]
        names = {q.subject for q in later}
        mine = p.rationales.get(p.answer[0], {}).get("citation")
        asked = {line for q in out[i + 1 :] for line in _key_lines(q)}
        plain = {
            x: _rationale(f"Wrong: your notes say this of {p.subject}. {o} is described as “{f.text}”.", f)
            if (f := _untold(o, notes, asked | {_line(mine)}, later))
            else _rationale_at(f"Wrong: your notes say this of {p.subject}, not of {o}.", mine)
            for x, o in p.options.items()
            if x not in p.answer and o in names and p.kind in ("which", "term")
        }
        if plain and p.scenario and (fact := notes.by_id.get(p.fact_id)):
            plain = _quoted(plain, fact)  # the stem does not hold the line "this" would point at
        if plain:
            rationales = {**p.rationales, **plain}
            # the item cites what its reasons now quote (a line no reason quotes any more is no longer cited)
            quoted = [r["citation"] for r in rationales.values() if r.get("citation")]
            used = {_line(c) for c in quoted}
            citations = [c for c in p.citations if _line(c) in used]
            citations += [c for c in quoted if _line(c) not in {_line(x) for x in citations}]
            hint = _elimination_hint(p.options, p.answer, rationales)
            out[i] = replace(p, rationales=rationales, citations=citations, hint=hint)
    return out


def _untold(subject: str, notes: Notes, avoid: set[tuple[str, int, str]], later: Sequence[Question]) -> Fact | None:
    """A line of ``subject`` that tells none of the ``later`` questions and is none of the ``avoid`` lines: a wrong
    option is still explained by its own notes (a quiz on XGBoost says what XGBoost is where it is the wrong
    choice) rather than by "not of XGBoost"."""
    return next(
        (
            f
            for f in notes.of.get(subject, [])
            if _line(f.citation.to_dict()) not in avoid
            and not notes.unteachable(f)
            and not any(_given_away(q, [(subject, f.text)], notes) for q in later)
        ),
        None,
    )


def _told(q: Question, notes: Notes) -> list[tuple[str, str]]:
    """(subject, line) for each line a question's reasons quote to explain a wrong option."""
    out = []
    for x, r in q.rationales.items():
        c = r.get("citation")
        subject = notes.at.get(_line(c)) if c and x not in q.answer else None
        if subject:
            out.append((subject, c.get("text", "")))
    return out


def _given_away(q: Question, told: list[tuple[str, str]], notes: Notes) -> bool:
    """Was the key of ``q`` told by earlier feedback: a line about the same subject that says most of what the
    key's line says, or shares a word that only this subject's lines use ("Flink", "Hadoop")?"""
    if q.kind == "list":
        return False
    # the lines its keys stand on ("Which statement about DeepAR is true?" too: review 17, after a hint had quoted
    # "DeepAR is described as “Can forecast one-dimensional time series”")
    text = " ".join(
        r["citation"].get("text", "") for x, r in q.rationales.items() if x in q.answer and r.get("citation")
    )
    return _known(q.subject, text, told, notes)


def _placed(q: Question, notes: Notes) -> list[tuple[str, str]]:
    """(subject, line) for what a question placed for the learner: the lines its reasons quote for wrong options,
    and its key lines as its subject's."""
    return _told(q, notes) + [(q.subject, line[2]) for line in _key_lines(q)]


def _is_statement_item(q: Question) -> bool:
    """ "Which statement about X …?" (one of X's lines among its kin's), not "which needs does X meet?": their wrong
    options are another form, chosen with stricter checks (:meth:`QuestionBank.need_items`)."""
    stems = [t.format(subject=q.subject) for t in _STATEMENT_STEMS]
    return (q.kind == "about" and q.stem in stems) or (q.kind == "two" and q.stem.startswith("Which two statements"))


def _known(subject: str, text: str, told: list[tuple[str, str]], notes: Notes) -> bool:
    """Does what was told of ``subject`` (its lines quoted in feedback) say most of ``text``, or share a word only
    this subject's lines use ("Flink", "Hadoop")?"""
    kind = notes.kind_of(subject)
    rare = {w for w in content_words(text) - notes.generic if notes.kind_spread[kind].get(w, 0) <= 1}
    return any(s == subject and (support(text, t) >= 0.5 or rare & content_words(t)) for s, t in told)


def _same_scene(a: Question, b: Question) -> bool:
    """One stem twice, or two scenarios that open with one scene and have one key (review 12: the hotel-reviews
    scene asked "text analysis" and then "customer sentiment analysis", both Comprehend)."""
    if a.stem == b.stem:
        return True
    keys = _keys(a) == _keys(b)
    return a.scenario and b.scenario and keys and a.stem.split(". ")[0] == b.stem.split(". ")[0]


def _same_fact(a: Question, b: Question, notes: Notes | None = None) -> bool:
    """Two items that test one fact: same key, and the line one cites says most of what the other's says (two
    lists of ways that both hold "Get more data" ask it once)."""
    if a.kind == b.kind == "value" and _keys(a) == _keys(b):
        # one number under two headings ("General Purpose - 99.99% availability", "S3 standard is 99.99%
        # available"): a quiz on S3 storage classes asked it twice in a row (the session-27 pass)
        return True
    if a.subject != b.subject and not a.kind == b.kind == "list":
        return False
    # one cell of a table row says one thing of its subject (review 24: "Boosted group of decision trees", then
    # "New models to correct errors of previous trees" from XGBoost's description cell, was a repeat; BlazingText's
    # "C5 if less than 2GB" and "P2 or P3 for larger data sets" too); its other cells (input format, instances) are
    # facts of their own, and so are a glossary's settings
    cell = notes.cells if notes else {}
    if "term" not in (a.kind, b.kind) and any(
        x[:2] == y[:2] and (x not in cell or y not in cell or cell[x] == cell[y])
        for x in _key_lines(a)
        for y in _key_lines(b)
    ):
        return True
    if {a.kind, b.kind} <= {"about", "two"}:  # one statement in two files' words ("… time series data (RNN)")
        ka, kb = (" ".join(q.options[x] for x in q.answer) for q in (a, b))
        if max(support(ka, kb), support(kb, ka)) >= 0.6:
            return True
    if _keys(a) != _keys(b):
        return False
    if a.kind == b.kind == "term":  # one setting glossed in two files ("gamma (minimum loss reduction …)")
        return True
    ta, tb = (" ".join(c.get("text", "") for c in q.citations) for q in (a, b))
    return max(support(ta, tb), support(tb, ta)) >= 0.6


def _template(q: Question) -> str:
    """The wording pattern of a stem: the stem without what it quotes or asks about."""
    if q.scenario:
        return "scenario"
    return re.sub(r"“.*”|\b(to|for:|that|about)\b.*", "", q.stem)[:40]


# ------------------------------------------------------------------ scenario wording by the model

SCENARIO_SCHEMA = {
    "type": "object",
    "properties": {"scenario": {"type": "string", "maxLength": 320}},
    "required": ["scenario"],
}


# Who has the need in an exam scenario: a stem without one is a note line with a question glued on.
_ACTOR = re.compile(
    r"(?i)\b(company|team|startup|organi[sz]ation|business|firm|bank|retailer|hospital|insurer|agency|analysts?|"
    r"scientists?|engineers?|developers?|researchers?|publisher|manufacturer|utility|university|school|group|"
    r"operator|network|studio|cooperative|site|issuer|insurer)\b"
)


# Words every stem has: the asking frame and the people, not the situation.
_SCENARIO_FRAME = {
    "team",
    "company",
    "data",
    "scientist",
    "scientists",
    "engineer",
    "engineers",
    "analyst",
    "analysts",
    "developer",
    "developers",
    "machine",
    "learning",
    "needs",
    "need",
    "wants",
    "want",
    "must",
    "aws",
    "service",
    "services",
    "sagemaker",
    "feature",
    "technique",
    "algorithm",
    "metric",
    "built-in",
    "hyperparameter",
    "use",
    "fits",
    "term",
}
SITUATION_WORDS = 3
SCENARIO_TRIES = (0.3, 0.8)  # temperatures


def check_scenario(text: str, q: Question, fact_text: str, notes: Notes) -> str | None:
    """The model's scenario, re-checked: a question, no option named, the fact's need still in it."""
    t = re.sub(r"\s+", " ", text).strip()
    if not 40 <= len(t) <= 320 or not t.endswith("?"):
        return "scenario: not one short question"
    if re.search(r"[a-z0-9),] (Which|What) ", t):  # "…an Internet GW (public access) Which AWS service…"
        return "scenario: two sentences run together"
    if not t[:1].isupper():  # "locate and return information about …": a need without a team or a situation
        return "scenario: not a sentence"
    if re.search(r"(?i), which .+\?$", t):  # "…on their AWS account, which AWS service should they use?"
        return "scenario: two sentences run together"
    if re.search(r"(?i)\b(should|could|can|will) use\b", t[: t.rfind(".") + 1] if "." in t else ""):
        return "scenario: gives the answer away"  # "…They should use AWS Lambda to… Which service should they use?"
    if re.search(r"\b(?:to use|called|named)\s+(?:the\s+)?(?:AWS|Amazon|SageMaker)\b", t):
        return "scenario: gives the answer away"  # "They need to use the SageMaker feature called AutoML."
    if not _ACTOR.search(t):
        return "scenario: no one with the need"
    if notes.names_in(t) & set(q.options.values()) or any(o.lower() in t.lower() for o in q.options.values()):
        return "scenario: names an option"
    if notes.names_in(t) - notes.names_in(_claim_text(q)):
        return "scenario: names a service or algorithm the fact does not"
    need = content_words(claim_body(_claim_text(q))) - {"it"}
    if need and len(need & content_words(t)) / len(need) < 0.5:
        return "scenario: lost the fact it asks about"
    # "A data scientist needs to <the note's line>. Which …?" is the line with a question glued on: a situation
    # says who they are or what they have (an independent review counted 2 of 21 such stems as real scenarios)
    said = content_words(t) - need - _SCENARIO_FRAME
    who = re.split(r"(?i)\b(?:needs?|wants?|must|has to|have to|is looking)\b", t, maxsplit=1)[0]
    if len(said) < SITUATION_WORDS or not content_words(who) - _SCENARIO_FRAME:
        return "scenario: no situation around the need"  # "A data scientist needs to …": who, doing what?
    return None


def _claim_text(q: Question) -> str:
    """The need a "which" item's stem asks about: the quoted claim, or what follows "would you use to", "do your
    notes name for", "can you" ("With which AWS service can you provide own Spark scripts?")."""
    stem = q.stem
    m = re.search(r"“(.+)”", stem)
    if m:
        return m.group(1)
    m = re.match(
        r"(?i)^(?:with )?which .+? (?:would you use to|do your notes name for:?|can you|do your notes recommend "
        r"when you want to)\s+(.+?)\?$",
        stem,
    )
    return m.group(1) if m else re.sub(r"^Which \S+(?: \S+)*? (?=[a-z])", "", stem).rstrip("?")


# A line that describes what a thing takes or is like, not a need a team has: "Accepts text as input (one sentence
# per line)" became "A bank accepts text as input…" in the model's scenario.
_PROPERTY = re.compile(r"(?i)^(accepts?|inputs?|outputs?|version|in comparison|some|often|the more|knows)\b")


def phrase_scenario(llm, q: Question, notes: Notes, system: str, user: str) -> str | None:
    """Ask the model to wrap a "which" item's need in a short exam scenario; ``None`` when it fails the check."""
    from mlstutor.llm import complete_json

    noun = notes.noun(notes.kind_of(q.subject))
    actors = notes.actors or ["A company"]
    who = actors[int(hashlib.sha1(q.fact_id.encode()).hexdigest(), 16) % len(actors)]
    prompt = user.format(need=claim_body(_claim_text(q)), noun=noun, names=", ".join(q.options.values()), who=who)
    for temperature in SCENARIO_TRIES:  # a second, freer try when the first fails the check (~2 s each)
        try:
            data = complete_json(llm, system, prompt, SCENARIO_SCHEMA, max_tokens=110, temperature=temperature)
            text = re.sub(r"\s+", " ", str(data.get("scenario", ""))).strip()
        except Exception:
            continue
        if text and not text.endswith("?"):
            text = text.rstrip(". ") + f". Which {noun} should they use?"
        if not check_scenario(text, q, "", notes):
            return text
    return None


def phrasings_path(data_dir: Path) -> Path:
    return data_dir / "bank" / "scenarios.jsonl"


def load_phrasings(data_dir: Path) -> dict[str, str]:
    path = phrasings_path(data_dir)
    out: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                d = json.loads(line)
                out[str(d["fact"])] = str(d["stem"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line after a crash: skip it
    return out


def fill_scenarios(
    bank: QuestionBank,
    llm,
    data_dir: Path,
    profile: str,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    busy: Callable[[], bool] | None = None,
) -> int:
    """Background job: model-written scenario stems for "which" items that have none yet, appended to the cache
    file one by one (so a stop loses nothing) and merged into the bank. Returns how many were added."""
    from mlstutor.profile import prompt

    have = load_phrasings(data_dir)
    todo = [
        q
        for q in bank.items
        if q.kind == "which"
        and not q.scenario
        and not _PROPERTY.match(claim_body(_claim_text(q)))
        and q.fact_id not in have
        and not any(x.scenario for x in bank.by_fact[q.fact_id])
    ][:limit]
    path = phrasings_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    added = 0
    system, user = prompt("scenario_system", profile), prompt("scenario_user", profile)
    for i, q in enumerate(todo, start=1):
        while busy is not None and busy() and not (stop is not None and stop.is_set()):
            time.sleep(1.0)  # a learner is using the model: wait, do not slow their answer down
        if stop is not None and stop.is_set():
            break
        text = phrase_scenario(llm, q, bank.notes, system, user)
        if text:
            with path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"fact": q.fact_id, "stem": text}) + "\n")
            added += bank.merge_phrasings({q.fact_id: text})
        if progress:
            progress(i, len(todo))
    return added


# ------------------------------------------------------------------ practice on a topic, mock exam


class QuizMaster:
    """Quizzes on a topic drawn from the bank; remembers what its session has asked to avoid repeats."""

    def __init__(self, retriever, settings=None, llm=None, seed: int | None = None) -> None:
        self.retriever = retriever
        self.settings = settings or retriever.settings
        self._rng = random.Random(seed)
        self.asked: set[str] = set()

    @property
    def bank(self) -> QuestionBank:
        return QuestionBank.of(self.retriever, self.settings.profile)

    def topics(self) -> dict[str, list[str]]:
        return self.bank.topics()

    def generate(
        self,
        topic: str,
        n: int = 5,
        difficulty: str = "medium",
        progress: Callable[[int, int], None] | None = None,
    ) -> Quiz:
        topic = (topic or "").strip()
        if not topic:
            raise MlstutorError("pick a topic (e.g. Kinesis, XGBoost, S3 encryption)")
        if difficulty not in DIFFICULTIES:
            raise MlstutorError(f"difficulty must be one of {', '.join(DIFFICULTIES)}")
        if not 1 <= n <= 65:
            raise MlstutorError("ask for between 1 and 65 questions")
        t0 = time.perf_counter()
        bank = self.bank
        questions = bank.draw(topic, n, difficulty, self._rng, self.asked)
        again = not questions and bool(self.asked)
        if again:  # every question on the topic was asked: start the round again
            mine = bank.on_topic(topic)
            facts = {q.fact_id for q in mine}  # and the items made from them at draw time (:meth:`_unrevealed`)
            self.asked -= {q.id for q in mine} | {q.id for q in bank.contrasts(topic)}
            self.asked -= {i for i, q in list(bank._derived.items()) if q.fact_id in facts}
            questions = bank.draw(topic, n, difficulty, self._rng, self.asked) or bank.draw(
                topic, n, difficulty, self._rng
            )
        if not questions:
            raise MlstutorError(self._nothing_on(topic))
        self.asked |= {q.id for q in questions}
        if progress:
            progress(len(questions), n)
        stats = QuizStats(generated=len(questions), seconds=time.perf_counter() - t0)
        return Quiz(topic, questions, stats, again)

    def _nothing_on(self, topic: str) -> str:
        """Say where the notes do touch the topic (the sections retrieval finds), so the learner can read or ask
        about them in Chat, and which practice topics are close."""
        sections, near = [], []
        words = {_stem(w) for w in content_words(" ".join(self.bank.notes.terms(topic)))} - {"aws", "amazo", "sagem"}
        try:
            for h in self.retriever.search(topic, k=8):
                if not words & {_stem(w) for w in content_words(h.chunk.heading + " " + h.chunk.text)}:
                    continue  # retrieval always returns something: only passages that name the topic count
                where = f"{h.chunk.heading} ({h.chunk.source}, lines {h.chunk.line_start}–{h.chunk.line_end})"
                if where not in sections:
                    sections.append(where)
                for s in (self.bank.lex.lookup(x) for x in reversed(h.chunk.heading_path)):
                    if s and s not in near and self.bank.on_topic(s):
                        near.append(s)
        except MlstutorError:
            pass
        if not sections:
            return f"Your notes do not seem to cover {topic!r}: no passage names it, so there is nothing to practise."
        msg = (
            f"No practice questions on {topic!r} yet: none of the lines your notes have on it passed the checks "
            "for a fair question (on topic, one right answer, a complete claim), so none is shown, not a weak one."
        )
        msg += f" Read or ask about them in Chat: {'; '.join(sections[:3])}."
        if near:
            msg += f" Practice nearby topics: {', '.join(near[:4])}."
        return msg

    def mock_exam(self, n: int | None = None) -> list[Question]:
        return mock_exam(self.bank, n, self._rng)


def blueprint(weights: dict[str, float], n: int) -> dict[str, int]:
    """Questions per domain for ``n`` in all (largest remainders), e.g. 65 → 13/16/23/13."""
    raw = {d: w * n for d, w in weights.items()}
    counts = {d: int(x) for d, x in raw.items()}
    for d in sorted(raw, key=lambda d: raw[d] - counts[d], reverse=True)[: n - sum(counts.values())]:
        counts[d] += 1
    return counts


def mock_exam(bank: QuestionBank, n: int | None = None, rng: random.Random | None = None) -> list[Question]:
    """A mock exam drawn by the blueprint's domain weights, exam-like mix (hard: scenarios, choose-two).
    A domain short of items is filled from the others (the report says so through its counts)."""
    from mlstutor.profile import load_profile

    rng = rng or random.Random()
    n = n or int(load_profile(bank.profile or "mls-c01").get("exam", {}).get("questions", 65))
    weights = {d: w for d, (w, _) in bank.lex.domains.items()}
    plan = blueprint(weights, n)
    out: list[Question] = []
    for d, k in plan.items():  # one fact, one line of the notes, once per exam: across domains too
        pool = [q for q in bank.items if q.domain == d]
        out += [replace(q, topic=d) for q in pick(pool, k, "hard", rng, d, out)]
    if len(out) < n:
        have = {q.fact_id for q in out}
        rest = [q for q in bank.items if q.fact_id not in have]
        out += [replace(q, topic=q.domain) for q in pick(rest, n - len(out), "hard", rng, taken=out)]
    if len(out) < n:  # the mix's rules ran dry (a CLI exam of seed 2 was 64): any unasked fact, one item each
        have = {q.fact_id for q in out}
        for q in rng.sample(bank.items, len(bank.items)):
            if len(out) < n and q.fact_id not in have and not any(_same_scene(q, p) for p in out):
                out.append(replace(q, topic=q.domain))
                have.add(q.fact_id)
    rng.shuffle(out)
    return out[:n]


def domain_report(questions: Sequence[Question], chosen: Sequence[Sequence[str]]) -> list[dict]:
    """Per-domain score of an exam: answered, right, share."""
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q, c in zip(questions, chosen):
        rows[q.domain][0] += 1
        rows[q.domain][1] += sorted(c) == sorted(q.answer)
    return [
        {"domain": d, "questions": a, "right": r, "score": round(r / a, 3) if a else 0.0}
        for d, (a, r) in rows.items()
    ]


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
