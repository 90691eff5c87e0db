"""The lines of the notes that answer a question, chosen by the program before any model writes.

Retrieval finds passages; a learner needs the one line that holds the fact ("Maximum record size is 1MB") with
the file, heading and line number to check it. Every statement of the notes is already embedded with its heading
path (small-to-big retrieval), so picking lines costs one query embedding and a few dot products: the evidence is
on screen in milliseconds, and the model only has to explain it.

A line's score mixes three generic signals: how close its embedding is to the question, how many of the
question's rare terms it (with its heading path) contains, and how well its passage ranked. The same signals,
for the best line, tell how likely it is that the notes answer the question at all (see :class:`Calibration`).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from mlstutor.chunking import PATH_SEP, Chunk, Citation, bullet_parents, table_row_items
from mlstutor.facts import Lexicon, extract_facts
from mlstutor.files import write_text_atomic
from mlstutor.retrieval import Hit, Retriever, validate_k, validate_mode, validate_query
from mlstutor.text import (  # the quantity helpers live with the text helpers: retrieval ranks by them too
    ASKS_EXPANSION,
    REMINDER,
    acronyms,
    asked_quantity,
    content_words,
    expansions,
    states_quantity,
    strip_markdown,
)

PASSAGES = 6  # passages whose lines compete to be evidence
LINES = 3  # evidence items given to the model (every prompt token costs ~25 ms on two cores)
# evidence items shown to the learner: the model's three and one more — the right line is often 4th–6th, and on
# the held-out set the key is in the first four items for 0.84 of questions against 0.81 in three (dev 0.87 / 0.85)
SHOWN = 4
# A note's line is often a headline whose fact sits on the next bullet ("Specificity (TNR)" / "TN / (TN + FP)"):
# an evidence item is the best line plus the statements right after it in its passage, up to this many characters.
BLOCK_CHARS, BLOCK_LINES = 240, 3
# "What is the formula for recall?" is answered by "Recall = … = TP / (TP + FN)", not by the line that explains
# recall in words (it was shown first): a formula question lifts lines that state one.
ASKS_FORMULA = re.compile(r"\b(formula|equation|calculated?|computed?)\b", re.I)
STATES_FORMULA = re.compile(r"\w\)?\s*[/=*]\s*\(?\w")
ASKS_DEFAULT = re.compile(r"\bdefault", re.I)
# The line score: a weighted sum of the signals :meth:`EvidenceFinder.line_features` computes. The first five were
# grid-searched on the dev sets (eval/facts.jsonl + eval/facts-extra.jsonl): key in 3 blocks 0.76 -> 0.84; a
# logistic fit of all nine on the same rows (5-fold) did no better (hit@1 0.69 against 0.70), with or without nine
# more signals (a digit, the line's position and length, the subject named in the line or its path, …).
LINE_WEIGHTS = {
    "cos": 1.0,  # embedding cosine of "heading: line" with the question
    "cover": 0.6,  # IDF-weighted share of the question's terms in the line with its heading path
    "line_cover": 0.3,  # … in the line alone
    "rank": 0.3,  # the passage's rank (1/rank)
    "no_news": -0.4,  # a line that adds no word beyond the question and its heading (a headline: "k-means")
    # a study reminder ("Know about confusion matrices, precision, recall … and their formulas") names the topic
    # and states nothing about it; it used to be shown first for "What is the formula for recall?" (dev evidence
    # line hit@1 0.657 -> 0.676, hit@3 unchanged)
    "reminder": -0.5,
    # a question that names a subject ("… a single Kinesis Data Streams record …") is not answered by a line under
    # another subject's heading (Firehose's "a record can be up to 1 MB large") that does not name it either (dev
    # hit@3 0.847 -> 0.850, flat for 0.2-1.0; held-out hit@3 0.801 -> 0.806)
    "elsewhere": -0.4,
    "formula": 0.3,  # a formula question and a line that states one
    # "after how many days does Intelligent-Tiering move an object?" is answered by "objects not accessed for 30
    # days", not by the class's lead line (dev evidence line hit@1 0.676 -> 0.696; 0.15 and 0.5 no better)
    "quantity": 0.3,
    # "What does HDFS stand for?" is answered by "HDFS: Hadoop Distributed File System", not by the lines that use
    # HDFS ("EMRFS: use S3 as if it were HDFS" came first)
    "expansion": 0.3,
}
TWIN = 0.95  # two lines this similar (cosine) say the same thing: show one, note the other file
# "Amazon SageMaker Role Manager" is asked about as "Role Manager"
VENDOR_WORDS = {"aws", "amazon", "sagemaker", "s3"}


def _words(question: str) -> list[tuple[str, str, bool]]:
    """(as written, without punctuation and "'s", whether it opens a sentence) for each word of a question."""
    raw = question.split()
    return [
        (w, re.sub(r"['’]s$", "", w.strip("?!,.:;()[]'\"“”’")), i == 0 or raw[i - 1][-1:] in ".!?:")
        for i, w in enumerate(raw)
        if not re.fullmatch(r"I(['’](m|ve|d|ll))?[?!,.:;]*", w)  # "if I'm predicting…" names nothing
    ]


def _plain(text: str) -> str:
    """Lower case, with markdown marks, dashes and underscores read as spaces."""
    return re.sub(r"[\s\-_`*]+", " ", text.lower()).strip()


# "1. [SageMaker FAQ](https://…)" points to a page and states nothing: never evidence (it was quoted as the answer
# to "In what year did AWS launch SageMaker?" and "What is the passing score of the exam?")
LINK_ONLY = re.compile(r"^\W*(?:\d+\.\s*)?\[[^\]]*\]\([^)]*\)\W*$")


@dataclass(frozen=True)
class Evidence:
    """A few lines of the notes offered as the answer (``focus`` is the best one), its score, and the passage it
    came from."""

    citation: Citation
    focus: int
    score: float
    cosine: float
    coverage: float
    hit: Hit
    also_in: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            **self.citation.to_dict(),
            "focus": self.focus,
            "score": round(self.score, 4),
            "cosine": round(self.cosine, 4),
            "coverage": round(self.coverage, 4),
            "also_in": list(self.also_in),
        }


@dataclass(frozen=True)
class Signals:
    """What retrieval and evidence say about whether the notes answer a question (abstention features)."""

    top_cosine: float  # best evidence line, cosine with the question
    top_coverage: float  # best coverage of the question's rare terms by one line + its heading path
    passage_cosine: float  # best passage, cosine with the question
    union_coverage: float  # coverage of the question's terms by the best few lines and their headings together
    # 1 when the question names something (Timestream, us-east-1) found nowhere in the notes
    unknown_name: float = 0.0
    # 1 when the question asks for a quantity and no line shown about its subject states one of that kind (a size
    # for "how large", a number next to "consumers" for "how many consumers")
    number_missing: float = 0.0
    # 1 when the question asks for a default and no line shown says "default": the notes name XGBoost's eta but
    # not its default value (on the dev set: every answerable default question's lines say "default")
    default_missing: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def line_scores(feats: dict[str, np.ndarray]) -> list[float]:
    """Each line's score: the :data:`LINE_WEIGHTS` sum of its signals (:meth:`EvidenceFinder.line_features`)."""
    return [float(x) for x in sum(LINE_WEIGHTS[f] * feats[f] for f in LINE_WEIGHTS)] if feats else []


def parent_item(chunk: Chunk, line: int, limit: int = 90) -> str | None:
    """The list item a nested line sits under, when it is short enough to name a subject: "Used mainly in fraud
    detection" is said of "Recall = Sensitivity = Completeness = TP / (TP + FN)", the item above it, which neither
    the line nor its heading says (the tutor had answered a fraud question from imbalanced-data lines)."""
    rows = chunk.text.split("\n")
    i = line - chunk.line_start
    if not 0 < i < len(rows) or not _ITEM.match(rows[i]):
        return None
    depth = len(rows[i]) - len(rows[i].lstrip())
    for above in reversed(rows[1:i]):  # the first row lost its indent when the passage was cut: never a parent
        if not above.strip():
            continue
        d = len(above) - len(above.lstrip())
        if d < depth:
            m = _ITEM.match(above)
            text = strip_markdown(above[m.end() :] if m else above).strip().rstrip(":")
            return text if m and 0 < len(text) <= limit else None
    return None


_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+")


def _leaves_item(chunk: Chunk, opening: int, last: int, nxt: int) -> bool:
    """Is there a row between lines ``last`` and ``nxt`` (one too short to be a statement: "- Hadoop") that is
    less indented than the ``opening`` line — a new item the block would run into unseen ("Useful when seasonality
    changes …" followed by Hadoop's "Software to process massive data in parallel")?"""
    rows = chunk.text.split("\n")
    depth = _depth(rows[opening - chunk.line_start])
    return any(r.strip() and _depth(r) < depth for r in rows[last - chunk.line_start + 1 : nxt - chunk.line_start])


def _depth_at(chunk: Chunk, line: int) -> int:
    return _depth(chunk.text.split("\n")[line - chunk.line_start])


def _depth(row: str) -> int:
    return len(row) - len(row.lstrip())


def heading_of(hit: Hit, line: int) -> str:
    """The heading path a line of a retrieved passage sits under (a packed passage joins several)."""
    return PATH_SEP.join(hit.chunk.line_heading_path(line))


class EvidenceFinder:
    """Chooses evidence lines from a retriever's index. Get the shared one with :meth:`of`."""

    _shared: ClassVar[weakref.WeakKeyDictionary[Retriever, EvidenceFinder]] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, retriever: Retriever) -> EvidenceFinder:
        """One finder per loaded index: the UI makes a tutor per message, the index's text is prepared once."""
        finder = cls._shared.get(retriever)
        if finder is None:
            finder = cls._shared[retriever] = cls(retriever)
        return finder

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self._text = _plain("\n".join(c.text for c in retriever.index.chunks))
        self.lex = Lexicon.load(retriever.settings.profile)

    @functools.cached_property
    def parents(self) -> dict[tuple[str, int], int]:
        """The notes' bullet nesting, (file, line) → parent bullet line: whose bullet a claim rests on."""
        return bullet_parents(self.retriever.chunks)

    @functools.cached_property
    def table_rows(self) -> dict[tuple[str, int], list[str]]:
        """(file, line) → the statements of a table row, cell by cell: a label item ("Text classification:") leads
        the items after it in its cell, and a run of bare names ("mini_batch_size", "learning_rate") is one
        statement. An algorithm's row is one evidence line of 400-700 characters, of which the model read the
        first 220: "vocabulary must be specified in "auxiliary" channel" sat past that in the Neural Topic Model
        row (14 dev questions had their key in a row past the cut)."""
        out: dict[tuple[str, int], list[str]] = {}
        seen: set[tuple[str, int, str]] = set()  # a row in two passages (their overlap) is read once
        for c in self.retriever.chunks:
            for offset, raw in enumerate(c.text.split("\n")):
                row = table_row_items(raw)
                if not row or not row[1] or (c.source, c.line_start + offset, raw) in seen:
                    continue
                seen.add((c.source, c.line_start + offset, raw))
                got = out.setdefault((c.source, c.line_start + offset), [])
                cell, label, names = None, "", False  # names: the last statement is a run of bare names
                items = row[1]
                # a row longer than a passage is cut mid-item: its head's last item and its tail's first are parts
                items = items[1:] if not row[0] else items if raw.rstrip().endswith("|") else items[:-1]
                for no, item in items:
                    if no != cell:
                        cell, label, names = no, "", False
                    if item.endswith(":"):
                        label, names = item, False
                        continue
                    bare = len(item.split()) == 1 and ":" not in item
                    text = f"{label} {item}" if label else item
                    if bare and names:
                        got[-1] += f", {item}"  # names in a row: "mini_batch_size, learning_rate, num_topics"
                    elif len(item) > 2 and not any(g.endswith(text) for g in got):  # "." is no statement
                        got.append(text)
                        names = bare
        return out

    @functools.cached_property
    def _leads(self) -> dict[tuple[str, int], str]:
        """(file, line) → the bold term a line sits under, read by the fact extractor: "* When you want to avoid
        false negatives" under "**Sensitivity** (Recall / TPR): …" is about sensitivity, which neither the line
        nor its heading ("Precision vs Recall") says — the model had explained it as precision."""
        out = {}
        for f in extract_facts(self.retriever.chunks, self.retriever.settings.profile):
            if f.origin != "heading" and f.citation.heading_path.startswith(f"{f.section} > "):
                out[(f.citation.source, f.citation.line_start)] = f.citation.heading_path[len(f.section) + 3 :]
        return out

    def _lead(self, chunk: Chunk, line: int) -> str | None:
        """The bold term or the list item a line sits under, if any."""
        return self._leads.get((chunk.source, line)) or parent_item(chunk, line)

    def _with_lead(self, cit: Citation, line: int, chunk: Chunk) -> Citation:
        lead = self._lead(chunk, line)
        if not lead or cit.text.lower().startswith(lead.lower()) or cit.heading_path.endswith(lead):
            return cit
        return replace(cit, heading_path=f"{cit.heading_path} > {lead}")

    def _elsewhere(self, asked: set[str], under: set[str], text: str) -> bool:
        """The line sits under another subject's heading (``under``: the subjects its heading names) and names
        none of the subjects the question asks about."""
        return bool(asked and under) and not (under | self.lex.names_in(text, strict=True)) & asked

    def names(self, cit: Citation) -> set[str]:
        """Subjects a cited line or its heading path names; the path ends in the term the line sits under (see
        :meth:`_with_lead`: "- Amazon S3" over "Max object size is 5TB" is what the line is about)."""
        return self.lex.names_in(cit.heading_path, strict=True) | self.lex.names_in(cit.text, strict=True)

    def mentions(self, name: str) -> bool:
        """Is ``name`` a word (or words: "DataBrew" ~ "Data Brew") of the notes?"""
        forms = {_plain(name), _plain(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name))}
        return any(re.search(rf"(?<![a-z0-9]){re.escape(f)}(?![a-z0-9])", self._text) for f in forms if f)

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question (capitalised mid-sentence, acronyms, tokens with digits such as ml.p3.2xlarge)
        that occur nowhere in the notes: the question is about something the notes never mention."""
        out = []
        for _raw, word, after_stop in _words(question):
            named = (word[:1].isupper() and not after_stop) or (len(word) > 1 and word.isupper())
            if len(word) < 2 or not (named or (re.search(r"\d", word) and re.search(r"[a-z]", word, re.I))):
                continue
            parts = [p for p in re.split(r"[-/]", word) if p and not p.isdigit()] or [word]
            if not any(self.mentions(p) for p in parts):
                out.append(word)
        return out + self._unknown_phrases(question)

    def _unknown_phrases(self, question: str) -> list[str]:
        """Runs of capitalised words ("AWS Entity Resolution", "SageMaker Model Registry") none of whose word pairs
        the notes hold, though each word is common ("entity", "model"). Acronyms and names with digits split a run:
        they are checked on their own ("Kinesis SQL" is two known names)."""
        out, run = [], []
        for raw, word, starts in [*_words(question), (".", "", False)]:
            if word[:1].isupper() and not starts and not word.isupper() and not re.search(r"\d", word):
                run.append(word)
            if not (word[:1].isupper() and not starts) or word.isupper() or re.search(r"\d|[,;:()?]$", raw):
                while run and run[0].lower() in VENDOR_WORDS:
                    run = run[1:]
                pairs = [f"{a} {b}" for a, b in itertools.pairwise(run)]
                if pairs and not any(self.mentions(p) for p in pairs):
                    out.append(" ".join(run))
                run = []
        return out

    def lines_of(self, hit: Hit) -> list[tuple[int, int, str]]:
        """(vector row, line number, statement) for each statement of a retrieved passage."""
        pos = self.retriever.position(hit.chunk)
        start, end = int(self.retriever.line_starts[pos]), int(self.retriever.line_starts[pos + 1])
        stmts = hit.chunk.statements
        if len(stmts) != end - start:  # a passage without statements has one whole-text unit: no line to cite
            return []
        return [(start + i, no, text) for i, (no, text) in enumerate(stmts) if not LINK_ONLY.match(text)]

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Hit]:
        """The ``k`` best passages, as :meth:`Retriever.search` ranks them, except that in hybrid mode the first
        :data:`PASSAGES` are ordered by their best line's score (which counts the passage's rank too): a passage is
        worth reading for the one line that answers, and the first passage is then the one the first evidence line
        comes from (dev set, fitted encoder: passage hit@1 0.843 -> 0.858)."""
        r = self.retriever
        query = validate_query(query, r.settings.max_query_chars)
        k = validate_k(r.settings.k if k is None else k)
        hits = r.search(query, k=max(k, PASSAGES), mode=mode)  # the same six are re-ordered whatever k is asked
        if validate_mode(mode or r.settings.mode) != "hybrid" or len(hits) < 2:
            return hits[:k]
        top = hits[:PASSAGES]
        rows, feats = self.line_features(query, top, r.query_vector(query))
        best: dict[int, float] = {}
        for (_, _, _, h), score in zip(rows, line_scores(feats)):
            best[h.rank] = max(best.get(h.rank, -math.inf), score)
        top.sort(key=lambda h: (-best.get(h.rank, -math.inf), h.rank))  # a passage with no line ("TODO") goes last
        return [replace(h, rank=i) for i, h in enumerate(top + hits[PASSAGES:], start=1)][:k]

    def line_features(
        self, question: str, hits: list[Hit], qv: np.ndarray, reminders_down: bool = True
    ) -> tuple[list[tuple[int, int, str, Hit]], dict[str, np.ndarray]]:
        """Every statement of the passages ``hits`` as (vector row, line number, text, passage), and the signals a
        line is scored by (one array per name of :data:`LINE_WEIGHTS`)."""
        r = self.retriever
        rows: list[tuple[int, int, str, Hit]] = []
        for h in hits:
            rows += [(row, no, text, h) for row, no, text in self.lines_of(h)]
        if not rows:
            return [], {}
        texts = [text for _, _, text, _ in rows]
        asked = content_words(question)
        named = self.lex.names_in(question, strict=True)
        formula = bool(ASKS_FORMULA.search(question))
        kind = asked_quantity(question)
        # the acronyms asked to be spelled out (any, when the question names none: "… that technique's full name?")
        spelled = (acronyms(question) or expansions(" ".join(texts))) if ASKS_EXPANSION.search(question) else set()
        # a nested line's context is also the item it sits under ("Useful when seasonality changes …" under
        # "Multiplicative model (…)"), as it is in its citation (see :meth:`_with_lead`)
        heads = [f"{heading_of(h, no)} {self._lead(h.chunk, no) or ''}".strip() for _, no, _, h in rows]
        under = {hd: self.lex.names_in(hd, strict=True) if named else set() for hd in set(heads)}
        feats = {
            "cos": r.index.line_vectors[[row for row, _, _, _ in rows]] @ qv,
            "cover": r.bm25.coverage_texts(question, [f"{hd} {t}" for hd, t in zip(heads, texts)]),
            "line_cover": r.bm25.coverage_texts(question, texts),
            "rank": [1 / h.rank for _, _, _, h in rows],
            "no_news": [not (content_words(t) - asked - content_words(hd)) for hd, t in zip(heads, texts)],
            "reminder": [reminders_down and bool(REMINDER.match(t)) for t in texts],
            "elsewhere": [self._elsewhere(named, under[hd], t) for hd, t in zip(heads, texts)],
            "formula": [formula and bool(STATES_FORMULA.search(t)) for t in texts],
            "quantity": [kind is not None and states_quantity(kind, question, t) for t in texts],
            "expansion": [bool(spelled and spelled & expansions(t)) for t in texts],
        }
        return rows, {k: np.asarray(v, dtype=float) for k, v in feats.items()}

    @staticmethod
    def _block_end(rows: list[tuple[int, int, str, Hit]], i: int) -> int:
        """The last row of the evidence item that opens at row ``i``: the statements right after it in its
        passage and under its heading, within :data:`BLOCK_LINES` and :data:`BLOCK_CHARS`."""
        end, size = i, len(rows[i][2])
        head = heading_of(rows[i][3], rows[i][1])
        # an item with nested lines ends with them: "- PCA - CPU or GPU / - Singular value decomposition" is not
        # followed by the next algorithm's "- Factorization Machines - CPU or GPU"
        chunk, depth = rows[i][3].chunk, _depth_at(rows[i][3].chunk, rows[i][1])
        nested = i + 1 < len(rows) and rows[i + 1][3] is rows[i][3] and _depth_at(chunk, rows[i + 1][1]) > depth
        for j in range(i + 1, min(i + BLOCK_LINES, len(rows))):
            if rows[j][3] is not rows[i][3] or size + len(rows[j][2]) > BLOCK_CHARS:
                break
            if heading_of(rows[j][3], rows[j][1]) != head:  # BlazingText's last line is not Object2Vec's
                break
            if _leaves_item(chunk, rows[i][1], rows[j - 1][1], rows[j][1]):
                break
            if nested and _depth_at(chunk, rows[j][1]) <= depth:
                break
            end, size = j, size + len(rows[j][2])
        return end

    def find(
        self,
        question: str,
        hits: list[Hit],
        qv: np.ndarray | None = None,
        n: int = SHOWN,
        reminders_down: bool = True,
    ) -> tuple[list[Evidence], Signals]:
        """The ``n`` best distinct lines among the passages ``hits`` for ``question``, and the answerability
        signals."""
        r = self.retriever
        qv = r.query_vector(question) if qv is None else qv
        rows, feats = self.line_features(question, hits, qv, reminders_down)
        if not rows:
            return [], Signals(0.0, 0.0, 0.0, 0.0)
        scores = line_scores(feats)
        vecs = r.index.line_vectors[[row for row, _, _, _ in rows]]
        cos, cover = feats["cos"], feats["cover"]
        named = self.lex.names_in(question, strict=True)
        kind = asked_quantity(question)
        order = sorted(range(len(rows)), key=lambda i: -scores[i])
        chosen: dict[int, int] = {}  # row -> the last row of its block
        also: dict[int, list[str]] = {}
        for i in order:
            twin = next((j for j in chosen if float(vecs[i] @ vecs[j]) >= TWIN), None)
            if twin is not None:
                src = rows[i][3].chunk.source
                if src != rows[twin][3].chunk.source and src not in also.setdefault(twin, []):
                    also[twin].append(src)
                continue
            # a line an earlier item already shows (the bullet after its best line) is not offered twice: the
            # slot goes to another line ("lambda (L2 …)" was item 2 under "alpha (L1 …) / lambda (L2 …)")
            if len(chosen) < n and not any(j < i <= end for j, end in chosen.items()):
                chosen[i] = self._block_end(rows, i)
        evidence = []
        for i, end in chosen.items():
            _, no, _, h = rows[i]
            block = [t for _, _, t, _ in rows[i : end + 1]]
            cit = self._with_lead(h.chunk.citation(no, rows[end][1], "\n".join(block)), no, h.chunk)
            evidence.append(Evidence(cit, no, scores[i], float(cos[i]), cover[i], h, tuple(also.get(i, ()))))
        passage_cos = max(r.similarity(qv, h.chunk) for h in hits)
        seen = " ".join(f"{heading_of(rows[i][3], rows[i][1])} {rows[i][2]}" for i in order[: max(n, 5)])
        # what the model is given is what the signals judge (the calibration was fitted on it); a quantity is looked
        # for in the lines about the subject asked of ("maximum size of a DynamoDB item" is not answered by S3's
        # "max object size is 5TB")
        about = [e for e in evidence[:LINES] if not named or self.names(e.citation) & named]
        signals = Signals(
            float(cos.max()),
            max(cover),
            passage_cos,
            r.bm25.coverage_texts(question, [seen])[0],
            float(bool(self.unknown_names(question))),
            float(kind is not None and not any(states_quantity(kind, question, e.citation.text) for e in about)),
            float(
                bool(ASKS_DEFAULT.search(question))
                and not any(ASKS_DEFAULT.search(e.citation.text) for e in evidence[:LINES])
            ),
        )
        return evidence, signals


FEATURES = (
    "top_cosine",
    "top_coverage",
    "passage_cosine",
    "union_coverage",
    "unknown_name",
    "number_missing",
    "default_missing",
)
CALIBRATION_FILE = Path(__file__).with_name("profiles") / "calibration.json"


@dataclass(frozen=True)
class Calibration:
    """A logistic model of "the notes answer this question" over the :class:`Signals` and the model's vote, and
    the probability under which the tutor abstains. Fitted on the dev sets by ``mlstutor eval --calibrate``."""

    weights: dict[str, float]
    threshold: float = 0.5
    note: str = ""

    def probability(self, s: Signals, model_vote: bool | None = None, support: float | None = None) -> float:
        """``model_vote``: the model picked an answering line; ``support``: share of its sentences the evidence
        holds. Before the model has written, leave them out for the best case the model could make."""
        w = self.weights
        vote, sup = (True, 1.0) if model_vote is None else (model_vote, 1.0 if support is None else support)
        z = w.get("bias", 0.0) + sum(w.get(f, 0.0) * getattr(s, f) for f in FEATURES)
        z += w.get("model_vote", 0.0) * (1.0 if vote else -1.0) + w.get("model_support", 0.0) * (2 * sup - 1)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        """The fitted calibration (read once per version of the file), or the hand-set default."""
        if not path.exists():
            return DEFAULT_CALIBRATION
        return _read_calibration(path, path.stat().st_mtime_ns)

    def save(self, path: Path = CALIBRATION_FILE) -> None:
        data = {"weights": self.weights, "threshold": self.threshold, "note": self.note}
        write_text_atomic(path, json.dumps(data, indent=2) + "\n")


@functools.lru_cache(maxsize=4)
def _read_calibration(path: Path, mtime_ns: int) -> Calibration:
    data = json.loads(path.read_text(encoding="utf-8"))
    weights = {k: float(v) for k, v in data["weights"].items()}
    return Calibration(weights, float(data["threshold"]), data.get("note", ""))


# hand-set starting point, used only until a calibration file exists
DEFAULT_CALIBRATION = Calibration(
    {
        "bias": -4.0,
        "top_cosine": 6.0,
        "top_coverage": 3.0,
        "passage_cosine": 2.0,
        "union_coverage": 1.0,
        "model_vote": 1.0,
    },
    0.5,
    "uncalibrated",
)


def fit_calibration(
    signals: list[Signals], votes: list[bool], supports: list[float], answerable: list[bool], l2: float = 1e-3
) -> dict[str, float]:
    """Logistic regression (Newton's method, light L2, classes balanced) of answerable ~ signals + the model's
    vote + the supported share of its sentences. Seven weights, a few hundred rows: plain numpy, explainable."""
    x = np.array(
        [
            [1.0, *(getattr(s, f) for f in FEATURES), 1.0 if v else -1.0, 2 * sup - 1]
            for s, v, sup in zip(signals, votes, supports)
        ]
    )
    y = np.array(answerable, dtype=float)
    pos = y.mean() if len(y) else 0.5
    sw = np.where(y == 1, 0.5 / max(pos, 1e-6), 0.5 / max(1 - pos, 1e-6))  # unanswerable rows matter as much
    reg = l2 * np.eye(x.shape[1])
    reg[0, 0] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ ((p - y) * sw) + reg @ w * len(y)
        hess = (x * (sw * p * (1 - p))[:, None]).T @ x + reg * len(y)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    names = ("bias", *FEATURES, "model_vote", "model_support")
    return {n: round(float(v), 4) for n, v in zip(names, w)}
