"""Facts extracted from the notes: a subject, what the notes say of it, and where.

Practice questions and flashcards are built from these, not from raw lines: a key must be a complete claim about a
named subject, and distractors must be subjects of the same kind (other services, other algorithms) of which the
notes do *not* say the same thing. The program finds the subject of a line from the notes' own structure:

* an inline lead: ``**Kinesis Data Firehose** - load streams into S3…`` or ``Precision: TP / (TP + FP)``;
* a lead line that introduces the bullets below it (``**Precision**:`` then ``* TP / (TP + FP)``);
* else the nearest heading that names a subject (``SageMaker - XGBoost`` → XGBoost).

Subjects are recognised through the course profile's lexicon (names and the spellings the notes use); a bold
lead term that is not in the lexicon becomes a ``term`` whose distractors are the other terms of its section.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from mlstutor.chunking import Chunk, Citation, clean_heading, clean_statement, table_row_items
from mlstutor.profile import DEFAULT_PROFILE, load_profile
from mlstutor.text import content_words

_T = TypeVar("_T")
MEMO_SIZE = 50_000  # remembered lexicon answers, then forgotten all at once (a server runs for weeks)
_UNIT = (
    r"(?:MB/s|KB/s|GB/s|MB|KB|GB|TB|PB|ms|milliseconds?|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|days?|"
    r"years?|%|percent|dollars?|messages/s|records/s|records|shards?|nodes?|instances?|x)"
)
VALUE = re.compile(r"(?<![\w.$])\$?(\d+(?:[.,]\d+)?)\s?(" + _UNIT + r")(?![\w])", re.I)
_LEAD = re.compile(r"^\s*(?:[*+-]|\d+\.)?\s*(?:\*\*|__)(?P<term>[^*_]{2,60}?)(?:\*\*|__)\s*(?P<rest>.*)$")
_PLAIN_LEAD = re.compile(r"^(?P<term>[A-Za-z0-9][\w /&().+'-]{1,60}?)\s*(?::|\s[-–—]\s)\s*(?P<rest>.+)$")
_DEBRIS = re.compile(r"[*#`|<>\[\]{}]|^\W|\.\.\.$|https?:|\bhttp|!\[|\\")
_CODE = re.compile(r"\w\s*=\s*\w+\(|^\s*(import|from)\s|\(\)\s*$|=>|->|;\s*$")
# "TP / (TP + FN)" under "**Sensitivity** (Recall …):" — a formula is a claim of its own, though it has no words
_FORMULA = re.compile(r"^[()\s]*[A-Z]{2,4}\b[A-Za-z()+\-/\s]*/[A-Za-z()+\-/\s]*$")


def is_formula(text: str) -> bool:
    """A ratio of confusion-matrix counts (TP, TN, FP, FN): capitals, + - / and parentheses only ("ETL / ELT + CDC"
    is not one)."""
    return bool(_FORMULA.match(text)) and "+" in text and len(re.findall(r"\b(?:TP|TN|FP|FN)\b", text)) >= 2


# "SageMaker Neo for edge devices", "AWS CloudTrail to see SageMaker API calls": a name and what it is for
_PURPOSE_LEAD = re.compile(
    r"^(?P<term>(?:Amazon |AWS |SageMaker )?[A-Z][\w-]*(?: [A-Z0-9][\w-]*){0,3}) (?:for|to) \w"
)
_EXAMPLE = re.compile(r"(?i)^\s*(?:[*+-]|\d+\.)?\s*(?:\*\*)?(example|examples|e\.g\.?|ex)(?:\*\*)?\s*:?\s*$")
_KIND_WORDS = {"service", "services", "aws", "amazon", "sagemaker", "data", "model", "models", "algorithm", "use"}


@dataclass(frozen=True)
class Fact:
    """One statement of the notes about one subject.

    ``claim`` is the statement with its subject's name masked ("it"), so it can stand as an option or a stem
    without giving the subject away; ``value`` is a number with its unit when the statement states one (a limit, a
    default, a price)."""

    id: str
    subject: str
    kind: str  # service | algorithm | metric | technique | term
    text: str
    claim: str
    value: str
    domain: str
    section: str  # the heading path the statement sits under
    citation: Citation
    origin: str = "heading"  # how the subject was found: "lead" (its own line) > "stack" (a lead above) > "heading"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "subject": self.subject,
            "kind": self.kind,
            "text": self.text,
            "claim": self.claim,
            "value": self.value,
            "domain": self.domain,
            "section": self.section,
            "citation": self.citation.to_dict(),
            "origin": self.origin,
        }


def norm(name: str) -> str:
    """A name as compared: lower case, no "Amazon"/"AWS"/"SageMaker -" prefix, punctuation as spaces."""
    t = clean_heading(name).lower()
    t = re.sub(r"^\s*\d+\.\s*", "", t)
    t = re.sub(r"^(amazon|aws)\s+", "", t)
    t = re.sub(r"^sagemaker\s*[-–:]\s*", "", t)
    return re.sub(r"[^a-z0-9+]+", " ", t).strip()


@dataclass(frozen=True)
class Lexicon:
    """The profile's named subjects: canonical name → kind, and every spelling → canonical name."""

    kinds: dict[str, str]
    spellings: dict[str, str]
    kind_nouns: dict[str, str]
    labels: frozenset[str]
    domains: dict[str, tuple[float, tuple[str, ...]]]
    synonyms: dict[str, tuple[str, ...]]
    whole_only: frozenset[str] = frozenset()  # spellings that are common words: they name a subject only alone
    glosses: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name → plain words that spell it out
    # answers already worked out: every search asks about the same headings and lines, and each lookup scans
    # every spelling (a tenth of a search's time under load, by py-spy)
    _memo: dict[tuple[str, ...], object] = field(default_factory=dict, compare=False, repr=False)

    def _remember(self, key: tuple[str, ...], work: Callable[[], _T]) -> _T:
        if key not in self._memo:
            if len(self._memo) > MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = work()
        return self._memo[key]  # type: ignore[return-value]

    @classmethod
    @lru_cache(maxsize=4)
    def load(cls, profile: str = DEFAULT_PROFILE) -> Lexicon:
        p = load_profile(profile)
        kinds, spellings = {}, {}
        for kind, names in p.get("entities", {}).items():
            for name, aliases in names.items():
                kinds[name] = kind
                for s in (name, *aliases):
                    spellings.setdefault(norm(s), name)
        domains = {d: (float(v["weight"]), tuple(v.get("keywords", ()))) for d, v in p.get("domains", {}).items()}
        synonyms = {k.lower(): tuple(v) for k, v in p.get("topic_synonyms", {}).items()}
        return cls(
            kinds,
            spellings,
            dict(p.get("kinds", {})),
            frozenset(p.get("facts", {}).get("labels", ())),
            domains,
            synonyms,
            frozenset(norm(w) for w in p.get("facts", {}).get("whole_heading_only", ())),
            {k: tuple(v) for k, v in p.get("quiz", {}).get("glosses", {}).items()},
        )

    def lookup(self, name: str) -> str | None:
        """The canonical subject a heading or lead term names, if any."""
        return self._remember(("lookup", name), lambda: self._lookup(name))

    def _lookup(self, name: str) -> str | None:
        n = norm(name)
        if not n:
            return None
        if n in self.spellings:
            return self.spellings[n]
        # "Kinesis - Data Firehose" → "kinesis data firehose"; "Glue - ETL" → starts with "glue"; but "Batch
        # inference" is not AWS Batch and "Precision vs Recall" is not one subject
        best = max(
            (s for s in self.spellings if n.startswith(s + " ") and s not in self.whole_only), key=len, default=None
        )
        if not best or len(best) < 3:
            return None
        others = {name for s, name in self.spellings.items() if len(s) >= 3 and f" {s} " in f" {n[len(best) :]} "}
        return None if others - {self.spellings[best]} else self.spellings[best]

    def names_in(self, text: str, strict: bool = False) -> set[str]:
        """Subjects whose names a text mentions; ``strict`` leaves out spellings that are common words ("Batch")."""
        low = " " + norm(text) + " "
        return set(
            self._remember(
                ("names_in", low, str(strict)),
                lambda: frozenset(
                    name
                    for s, name in self.spellings.items()
                    if len(s) >= 2 and not (strict and s in self.whole_only) and f" {s} " in low
                ),
            )
        )

    def parent(self, subject: str) -> str | None:
        """The subject ``subject`` is a part of, read from its name: "Glue Crawlers" and "Glue FindMatches" are
        parts of AWS Glue ("glue" is one of its spellings); "Batch size" is no part of AWS Batch ("batch" is a
        common word)."""
        return self._opening(norm(subject), besides=subject)

    def leading(self, text: str) -> str | None:
        """The subject a statement opens with ("Crawlers automatically infer schemas …"), if any."""
        return self._opening(norm(text) + " ")

    def opens_with(self, text: str) -> tuple[str, str] | None:
        """(subject, rest of the line) when a statement opens with a subject's name ("Model Monitor monitors …")."""
        low = norm(text) + " "
        best = self._spelling(low)
        return (self.spellings[best], low[len(best) :].strip()) if best else None

    def _opening(self, low: str, besides: str = "") -> str | None:
        """The subject whose longest spelling (not a common word) opens ``low``, other than ``besides``."""
        best = self._spelling(low, besides)
        return self.spellings[best] if best else None

    def _spelling(self, low: str, besides: str = "") -> str | None:
        return self._remember(("spelling", low, besides), lambda: self._longest(low, besides))

    def _longest(self, low: str, besides: str) -> str | None:
        return max(
            (
                s
                for s, name in self.spellings.items()
                if len(s) >= 3 and s not in self.whole_only and name != besides and low.startswith(s + " ")
            ),
            key=len,
            default=None,
        )

    def spellings_of(self, subject: str) -> list[str]:
        return sorted({s for s, name in self.spellings.items() if name == subject} | {norm(subject)}, key=len)

    def domain_of(self, *texts: str) -> str:
        """The exam domain of a section: its innermost heading's most specific keyword ("S3 - Security" is about
        security, an Operations topic, though it sits under Data Engineering), then an explicit domain heading,
        then the most keyword hits."""
        if not self.domains:
            return ""
        for text in texts:
            leaf = text.rsplit(" > ", 1)[-1].lower() if " > " in text else ""
            hits = [(leaf.rfind(w), d) for d, (_, kw) in self.domains.items() for w in kw if w in leaf]
            if hits:
                return max(hits)[1]
        for text in texts:
            low = text.lower()
            for d in self.domains:
                if d.lower() in low or (d == "ML Implementation and Operations" and "operations" in low[:80]):
                    return d
            scores = {d: sum(1 for w in kw if w in low) for d, (_, kw) in self.domains.items()}
            best = max(scores, key=lambda d: scores[d])
            if scores[best]:
                return best
        return "Modeling" if "Modeling" in self.domains else next(iter(self.domains))


def mask(text: str, names: Sequence[str]) -> str:
    """``text`` with every spelling of a subject replaced by "it" (longest first), so it cannot give it away."""
    out = text
    for s in sorted(names, key=len, reverse=True):
        if len(s) < 2:
            continue
        words = r"[\s\-–:]*".join(re.escape(w) for w in s.split())
        out = re.sub(rf"(?<![\w-])(?:amazon\s+|aws\s+|sagemaker\s*[-–]?\s*)?{words}(?![\w-])", "it", out, flags=re.I)
    out = re.sub(r"\bit\s*[-–:(),/&]+\s*it\b", "it", out)
    return re.sub(r"\s+", " ", out).strip(" -–:,")


def is_clean(text: str) -> bool:
    """A statement that can stand as an option: no markdown/HTML/code debris, a few words, not a label."""
    t = text.strip()
    return (
        12 <= len(t) <= 170
        and not _DEBRIS.search(t)
        and not _CODE.search(t)
        and not t.endswith((":", ",", "(", "-", "/"))
        and t.count("(") == t.count(")")
        and t.count('"') % 2 == 0
        and not re.match(r"(?i)(but|and|or|so|because|which|that|e\.g|i\.e|etc)\b", t)
        and len(content_words(t) - _KIND_WORDS) >= 2
    )


def _fact_id(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:12]


def _indent(raw: str) -> int:
    return len(raw.expandtabs(4)) - len(raw.expandtabs(4).lstrip())


def _lead(raw: str, lex: Lexicon, cell: bool = False) -> tuple[str, str] | None:
    """(term, rest) when a line leads with a term: bold, or a short name followed by ":" / " - "."""
    m = _LEAD.match(raw)
    if m:
        term = m["term"].strip(" :-")
        rest = m["rest"].strip()
        rest = re.sub(r"^\([^)]*\)\s*", "", rest)  # "**Sensitivity** (Recall / TPR): …"
        return term, rest.lstrip(":-–— ").strip()
    t = clean_statement(raw)
    if re.match(r"^[A-Z0-9]+(?:_[A-Z0-9]+)+\b", t):
        return None  # RANDOM_CUT_FOREST is a SQL function of Kinesis Data Analytics, not the algorithm
    if len(t) <= 40 and re.match(r"\s*([*+-]|\d+\.)\s", raw) and lex.lookup(t):
        return t, ""  # "- Binning" over its own nested bullets
    m = _PLAIN_LEAD.match(t)
    if cell and m and re.fullmatch(r"[a-z][a-z0-9_]*", m["term"].strip()):
        return None  # a table cell's "lambda: L2 regularization" (XGBoost's row) is a setting, not AWS Lambda
    if m and (lex.lookup(m["term"]) or m["term"].lower().strip() in lex.labels):
        return m["term"].strip(), m["rest"].strip()
    m = _PURPOSE_LEAD.match(t)
    if m and re.match(r"\s*([*+-]|\d+\.)\s", raw) and lex.lookup(m["term"]):
        return m["term"], t  # the whole line is the claim: masked, "it for edge devices"
    return None


def _bulleted(text: str, lex: Lexicon) -> list[tuple[int, str, bool]]:
    """(line offset, line, whether it is a table cell's) of a passage, a table row about a named subject read as that
    subject's bold lead with its cells as bullets under it (a header row names no subject: skipped): the 2025 notes
    keep XGBoost's "memory bound; recommended use m5" and its hyperparameters only in their algorithm table."""
    out = []
    for offset, raw in enumerate(text.split("\n")):
        row = table_row_items(raw)
        if row is None:
            out.append((offset, raw, False))
        elif lex.lookup(row[0]):
            out += [(offset, f"* **{row[0]}**", False), *((offset, f"    * {item}", True) for _, item in row[1])]
        elif not row[0]:  # the tail of a row cut in two: the passage's heading (the row's label) is its subject
            out += [(offset, f"* {item}", True) for _, item in row[1]]
    return out


def chunk_facts(chunk: Chunk, lex: Lexicon) -> list[Fact]:
    """The facts of one passage, each with the subject the notes' structure gives it."""
    heading_subject = next((s for h in reversed(chunk.heading_path) if (s := lex.lookup(h))), None)
    section = chunk.heading
    domain = lex.domain_of(section, chunk.text[:300])
    out: list[Fact] = []
    stack: list[tuple[int, str, str]] = []  # (indent, subject, kind) of lead lines above
    lead_of: dict[str, str] = {}  # subject of a lead line → its term as written (shown in the citation's path)
    in_code = after_blank = False
    for offset, raw, cell in _bulleted(chunk.text, lex):
        if raw.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code or not raw.strip():
            after_blank = not in_code
            continue
        h = re.match(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$", raw)
        if h:  # a packed passage can hold several small sections: each heading starts a new subject
            title = clean_heading(h[2])
            if title and title != (chunk.heading_path[-1] if chunk.heading_path else ""):
                heading_subject = lex.lookup(title)
                section = (
                    " > ".join([*chunk.heading_path[:1], title]) if chunk.heading_path[:1] != (title,) else title
                )
                domain = lex.domain_of(section, chunk.text[:300])
            stack = []
            continue
        ind = _indent(raw)
        bulleted = bool(re.match(r"\s*([*+-]|\d+\.)\s", raw))
        # a paragraph after a blank line ends the bullet lists it is not indented under ("* **Epochs**: …", blank,
        # "Hyperparameter tuning strategies" is not about epochs)
        ends_list = not bulleted and after_blank
        while stack and (stack[-1][0] >= ind if bulleted or ends_list else stack[-1][0] > ind):
            stack.pop()
        after_blank = False
        lead = _lead(raw, lex, cell)
        subject, kind, body = None, "", clean_statement(raw)
        if stack and stack[-1][2] == "example":
            continue  # "example:" and its bullets illustrate the subject above; they are not claims about it
        if (
            lead
            and not lead[1]
            and stack
            and _LEAD.match(raw) is None
            and lex.parent(lex.lookup(lead[0]) or "") != stack[-1][1]
        ):
            # "* S3" inside Glue's bullets is what Glue integrates with, not a new subject; its "- Crawlers" is
            lead = None
        if lead is None and re.match(
            r"(?i)^\s*(?:[*+-]|\d+\.)?\s*(?:\*\*)?(example|examples|e\.g\.?|ex)(?:\*\*)?\s*:?\s*$", raw
        ):
            stack.append((ind if bulleted else -1, "", "example"))
            continue
        if lead:
            term, rest = lead
            named = lex.lookup(term)
            is_label = term.lower().rstrip(".") in lex.labels
            if is_label and term.lower().rstrip(".:") in ("example", "examples", "e.g", "eg", "ex") and not rest:
                stack.append((ind if bulleted else -1, "", "example"))
                continue
            if named:
                subject, kind = named, lex.kinds[named]
            elif not is_label and _LEAD.match(raw) and 1 <= len(term.split()) <= 4 and not VALUE.search(term):
                subject, kind = clean_heading(term), "term"
            if subject:
                stack.append((ind if bulleted else -1, subject, kind))
                lead_of[subject] = clean_heading(term)
                body = rest
        via, origin = "", "lead" if subject else "stack"
        if not subject and stack:
            _, subject, kind = stack[-1]
        if subject and subject != heading_subject:
            via = lead_of.get(subject, "")
        if not subject and heading_subject:
            subject, kind, origin = heading_subject, lex.kinds[heading_subject], "heading"
            # "Crawlers automatically infer schemas …" under the heading "Data Catalog" is about the crawlers
            opener = lex.leading(body)
            if opener and opener != subject and lex.kinds[opener] == kind:
                subject = opener
        elif not subject and (opens := lex.opens_with(body)) and _acts(opens[1]):
            # under a heading that names no subject ("### SageMaker"), "Debugger allows to inspect models …" and
            # "Model Monitor monitors data/model quality" are about what they open with (review 28: Neo's quiz had
            # no sibling statements to offer; these features had no facts at all)
            subject, kind, origin = opens[0], lex.kinds[opens[0]], "heading"  # below any subject a passage gives it
        if not subject or not body:
            continue
        text = (clean_statement(body) if lead and body else body).strip("_ ")
        if not is_formula(text) and (
            not is_clean(text) or len([w for w in content_words(text) if w.isalpha() and len(w) >= 4]) < 2
        ):
            continue
        line = chunk.line_start + offset
        names = lex.spellings_of(subject) if kind != "term" else [subject.lower()]
        claim = mask(text, names)
        value = VALUE.search(text)
        out.append(
            Fact(
                _fact_id(chunk.source, subject, text),
                subject,
                kind,
                text,
                claim,
                value.group(0) if value else "",
                lex.domain_of(subject, section, chunk.text[:300]) if kind != "term" else domain,
                section,
                Citation(chunk.source, f"{section} > {via}" if via else section, line, line, clean_statement(raw)),
                origin,
            )
        )
    return out


_ORIGIN_RANK = {"lead": 0, "stack": 1, "heading": 2}
_ACTS = re.compile(r"(?i)^(?:also |automatically |only )?(?:[a-z]+s|is|are|can|does|has)\b")
# a plural noun then a verb ("Autopilot jobs can run …"), or a word in -ss ("Debugger access …"): not what it does
_NOT_ACTS = re.compile(r"(?i)^[a-z]+s (?:can|could|need|must|should|will|are|were|have|run|take|may)\b|^[a-z]+ss\b")


def _acts(rest: str) -> bool:
    """Does what follows a subject's name say what it does ("… does AutoML", "… monitors data/model quality")? A
    plural noun followed by a verb ("Autopilot jobs can run …") is more of a noun phrase; one followed by anything
    else ("Debugger rules detect …") is not told apart."""
    return bool(_ACTS.match(rest)) and not _NOT_ACTS.match(rest)


def extract_facts(chunks: Sequence[Chunk], profile: str = DEFAULT_PROFILE) -> list[Fact]:
    """Every fact of the notes, one per line: overlapping passages can see a line with or without the lead line
    above it, and the subject a lead gives beats the one a heading gives ("* How correct overall am I?" under
    **Accuracy** is about accuracy, even in a passage that starts below the lead)."""
    lex = Lexicon.load(profile)
    best: dict[tuple[str, int, str], Fact] = {}
    for c in chunks:
        for f in chunk_facts(c, lex):
            key = (f.citation.source, f.citation.line_start, f.text)
            have = best.get(key)
            if have is None or _ORIGIN_RANK[f.origin] < _ORIGIN_RANK[have.origin]:
                best[key] = f
    return list(best.values())


def by_subject(facts: Sequence[Fact]) -> dict[str, list[Fact]]:
    groups: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        groups[f.subject].append(f)
    return dict(groups)


@dataclass(frozen=True)
class NoteList:
    """A list the notes give under a label ("How to deal with Unbalanced:" and its bullets): the items are
    answers to one question, so any one of them is a key and items of *other* lists are distractors."""

    label: str
    section: str
    source: str
    line: int
    items: tuple[tuple[int, str], ...]  # (line, the item's head as a learner would read it)


_BULLET = re.compile(r"\s*([*+-]|\d+\.)\s")
_LIST_LABEL = re.compile(
    r"(?i)\b(how to|ways?|deal(ing)? with|handl(e|ing)|solutions?|strateg(y|ies)|techniques?|options|methods?|"
    r"approach(es)?|to (avoid|prevent|reduce|fix))\b"
)


# An item the notes advise against is not one of the list's answers, though it sits in the list.
_CAVEAT = re.compile(r"(?i)\bnot recommended\b|\bavoid\b|\bdon'?t\b|\bdo not\b|\bnever\b")


def _head(text: str) -> str:
    """The part of a list item that names it: before a ":" or " - " gloss, without a trailing parenthesis."""
    head = re.split(r"\s*(?::|\s[-–—]\s|,\s)", clean_statement(text), maxsplit=1)[0]
    head = re.sub(r"\s*\([^)]*\)\s*$", "", head).strip(" .")
    return head[:1].upper() + head[1:]


def extract_lists(chunks: Sequence[Chunk]) -> list[NoteList]:
    """Labelled lists of the notes, read from whole files rebuilt from the passages (passages cut lists)."""
    files: dict[str, dict[int, str]] = defaultdict(dict)
    paths: dict[tuple[str, int], str] = {}
    for c in chunks:
        for offset, raw in enumerate(c.text.split("\n")):
            files[c.source].setdefault(c.line_start + offset, raw)
            paths.setdefault((c.source, c.line_start + offset), " > ".join(c.heading_path))
    out: list[NoteList] = []
    for source, lines in files.items():
        numbers = sorted(lines)
        for i, n in enumerate(numbers):
            raw = lines[n]
            label = clean_statement(raw)
            short_bullet = bool(_BULLET.match(raw)) and len(label.split()) <= 5 and ":" not in label[:-1]
            if len(label) > 70 or not (label.endswith(":") or short_bullet or _LIST_LABEL.search(label)):
                continue
            parent = (
                next(
                    (
                        clean_statement(lines[k]).rstrip(":")
                        for k in reversed(numbers[:i])
                        if lines[k].strip() and _indent(lines[k]) < _indent(raw) and _BULLET.match(lines[k])
                    ),
                    "",
                )
                if _indent(raw)
                else ""
            )
            if len(label.split()) <= 2 and parent and len(parent) <= 40:  # "Solutions:" under "- Unbalanced data"
                label = f"{parent} › {label}"
            base, label_bullet = _indent(raw), bool(_BULLET.match(raw))
            items: list[tuple[int, str]] = []
            child_indent = None
            for m in numbers[i + 1 :]:
                r = lines[m]
                if not r.strip():
                    continue
                ind = _indent(r)
                if not _BULLET.match(r) or ind < base or (ind == base and label_bullet):
                    break  # the list ends at the first line that is not one of its bullets
                child_indent = ind if child_indent is None else child_indent
                if ind == child_indent and not _CAVEAT.search(r):  # "Undersampling (not recommended unless …)"
                    head = _head(r)
                    if 2 <= len(head.split()) <= 8 and not _DEBRIS.search(head) and not VALUE.search(head):
                        items.append((m, head))
            if len(items) >= 3:
                out.append(NoteList(label.rstrip(":"), paths.get((source, n), ""), source, n, tuple(items)))
    return out
