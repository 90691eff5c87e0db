"""Grounded answers: the program finds the evidence, the model explains it, the program checks what it wrote.

A 1.5B model on two CPU cores is weak at deciding and free writing but good at choosing. So, for every question:

1. retrieval finds passages and :mod:`mlstutor.evidence` picks the lines that answer (no model: milliseconds);
2. the evidence is shown at once, with file, heading path and line number;
3. the model gets only those lines, selects the ones that answer (constrained to their numbers) and writes one or
   two sentences (schema-constrained JSON, streamed to the learner as plain text);
4. each sentence is checked against the evidence: a sentence whose numbers or words the lines do not hold is
   marked, and each supported sentence cites the line that supports it;
5. whether to answer at all is a calibrated decision over retrieval and evidence signals plus the model's vote
   (:class:`mlstutor.evidence.Calibration`), not a string test on the reply.

A pasted multiple-choice question (stem + A–E options) is answered as one: evidence per option, the model picks.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from mlstutor.chunking import Citation
from mlstutor.config import Settings
from mlstutor.errors import ModelError
from mlstutor.evidence import LINES, PASSAGES, Calibration, Evidence, EvidenceFinder, Signals
from mlstutor.facts import Lexicon, norm
from mlstutor.llm import LLM, Message, complete_json, get_llm
from mlstutor.mcq import MultipleChoice, parse_mcq
from mlstutor.profile import load_profile, prompt
from mlstutor.retrieval import Retriever, validate_query
from mlstutor.text import (
    ELIDED,
    JsonStringField,
    claim_words,
    clauses,
    content_words,
    denies,
    finished_sentences,
    negated,
    numbers,
    passage_words,
    quantities,
    sentences,
    strip_instructions,
    strip_markdown,
    support,
)

_MARKER = re.compile(r"\s*\[(\d{1,2})\]")
MIN_SENTENCE_SUPPORT = 0.5  # share of a sentence's content words that the evidence lines must hold
LINE_CHARS = 220  # an evidence line is cut to this many characters in the prompt (prompt tokens cost ~25 ms)
ANSWER_TOKENS = 120  # JSON wrapper + one or two sentences
# the prompt asks for one or two sentences; a third mostly repeated the first (27 of 228 held-out answers) and
# cost its seconds in the slowest answers: the model is stopped once a third begins (:func:`written_enough`)
MAX_SENTENCES = 2
MCQ_NOTES_SUPPORT = 0.67  # an option line must hold this share of the option's words to go into the pick prompt


@dataclass
class Answer:
    """What the learner sees: evidence lines, the explanation, its citations, and how the decision was made."""

    question: str
    evidence: list[Evidence]
    text: str
    citations: list[Citation]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)
    answerability: float = 0.0
    signals: Signals | None = None
    model_lines: list[int] = field(default_factory=list)  # evidence numbers the model said answer (1-based)
    model_vote: bool | None = None  # the model picked a line and wrote something the evidence supports
    support: float = 0.0  # share of the model's sentences that the evidence supports
    unsupported: list[str] = field(default_factory=list)  # sentences of the model the evidence does not hold
    mcq: dict | None = None  # for a pasted multiple-choice question: picks and per-option notes
    cut_off: str = ""  # why the model's reply stopped early (a server that died mid-stream); "" when complete
    # (item, row), 0-based, of the line the model chose first: the evidence card marks it (it may be a later line)
    model_statement: tuple[int, int] | None = None

    @property
    def shown_text(self) -> str:
        """Everything the learner reads: the evidence lines and the answer."""
        return "\n".join([*(e.citation.text for e in self.evidence), self.text])

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "answerability": round(self.answerability, 4),
            "evidence": [e.to_dict() for e in self.evidence],
            "citations": [c.to_dict() for c in self.citations],
            "model_lines": self.model_lines,
            "unsupported": self.unsupported,
            "signals": self.signals.to_dict() if self.signals else None,
            "mcq": self.mcq,
            "cut_off": self.cut_off,
            "model_statement": list(self.model_statement) if self.model_statement else None,
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }


def _schema(n_lines: int) -> dict:
    return {
        "type": "object",
        "properties": {
            "lines": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, n_lines + 1))},
                "maxItems": min(n_lines, LINES),  # a few picks: every token before the answer is waited for
            },
            "answer": {"type": "string"},
        },
        "required": ["lines", "answer"],
    }


@dataclass(frozen=True)
class Statement:
    """One line of an evidence item as the model reads it (``shown``: cut with its item to :data:`LINE_CHARS`)
    and as the learner may have it quoted (``line``: whole); ``item`` and ``row`` place it (0-based) in the
    evidence and in its item's lines."""

    item: int
    row: int
    shown: str
    line: str


def _says(sentence: str, line: str, heading: str, question: str) -> bool:
    """Does a sentence say what a line says: it stands on the line (with its heading), or holds most of the line's
    words, or states every quantity the line states ("$5.00 per TB" written "charges $5.00 per TB of data scanned,
    with a pay-as-you-go pricing model": session 27's held-out answers had quoted Athena's line before it)."""
    have = quantities(line)
    return (
        support(sentence, f"{heading} {line}", question) >= MIN_SENTENCE_SUPPORT
        or support(line, sentence, question) >= MIN_SENTENCE_SUPPORT
        or (bool(have) and have <= quantities(sentence))
    )


def _rows(text: str) -> list[tuple[int, str]]:
    """(row, line) for the lines of an item's text that say something (no blank, no elided instruction)."""
    return [
        (j, ln) for j, ln in enumerate(strip_instructions(text).split("\n")) if ln.strip() and ln.strip() != ELIDED
    ]


def statements(
    evidence: list[Evidence], question: str = "", table_rows: Mapping[tuple[str, int], list[str]] | None = None
) -> list[Statement]:
    """Each line of the evidence items, numbered for the model one by one: it picks a statement, not a block of
    three (it picked the right block and wrote from its first line — see :meth:`Tutor._lead_with_chosen`). An item
    whose lines are all elided (a note addressed to the model) is one statement, as written. An item that is one
    table row (``table_rows``: its statements, cell by cell) gives the row's statements that say most of what the
    question asks, in the row's order, as many as :data:`LINE_CHARS` holds — not the row's first 220 characters."""
    out = []
    for i, e in enumerate(evidence):
        cells = _row_cells(e, (table_rows or {}).get((e.citation.source, e.citation.line_start)))
        if cells:
            out += [Statement(i, 0, cell, cell) for cell in _asked_cells(cells, question)]
            continue
        whole = dict(_rows(e.citation.text))
        rows = _rows(e.citation.text[:LINE_CHARS]) or [(0, e.citation.text[:LINE_CHARS])]
        for j, shown in rows:
            line = whole.get(j, shown)
            out.append(Statement(i, j, shown, line if line.startswith(shown.rstrip()) else shown))
    return out


def _row_cells(e: Evidence, cells: list[str] | None) -> list[str]:
    """The row's statements an evidence item that is that one row holds (all their words in its text)."""
    if not cells or e.citation.line_start != e.citation.line_end or len(e.citation.text) <= LINE_CHARS:
        return []
    text = strip_instructions(e.citation.text)
    return [c for c in cells if support(c, text) == 1.0]


def _asked_cells(cells: list[str], question: str) -> list[str]:
    """The statements that hold most of the question's words (the first on a tie), in their order, within
    :data:`LINE_CHARS` characters."""
    ranked = sorted(range(len(cells)), key=lambda j: (-support(question, cells[j]), j))
    keep: list[int] = []
    for j in ranked:
        if sum(len(cells[k]) + 2 for k in keep) + len(cells[j]) <= LINE_CHARS:
            keep.append(j)
    return [cells[j] for j in sorted(keep)] or [cells[0][:LINE_CHARS]]


def curly_quotes(text: str) -> str:
    """Straight double quotes as “…”: the model copies a line's quotes into its JSON answer, where a straight one
    closes the string ("KNN: Find K "nearest" most similar rows" was answered "KNN: Find K")."""
    return re.sub(r'"([^"\n]*)"', r"“\1”", text).replace('"', "”")


def written_enough(text: str) -> bool:
    """The model has begun a sentence after :data:`MAX_SENTENCES` finished ones (judged by :func:`sentences`, so
    "1." that goes on as "1.5" and "i.e. FindMatches" end none)."""
    return len(sentences(text)) > MAX_SENTENCES


def check_sentences(
    text: str,
    evidence: list[Evidence],
    question: str = "",
    shown: list[Evidence] | None = None,
    lex: Lexicon | None = None,
    parents: Mapping[tuple[str, int], int] | None = None,
) -> tuple[str, list[Citation], list[str], float]:
    """Keep the model's sentences that the evidence supports, each followed by the numbers of the evidence items
    that hold it, as shown to the learner. Returns the text, the cited citations (evidence order), the
    unsupported sentences and the share kept. Supported: the evidence holds most of the sentence's content words
    and every number it states. A sentence that only echoes the question or a heading is skipped.

    ``shown``: all the items the learner sees (``evidence`` is the first of them, what the model read); a
    sentence may cite any of them, see :func:`cite`. ``lex``: with it, a claim about the question's subject that
    only another subject's lines hold is dropped too (:func:`borrowed`); with ``parents`` (the notes' bullet
    nesting) also one that only a sibling bullet of the subject's own holds. When that claim is not the
    sentence's first, only it and what follows are left out, and the sentence still counts as kept."""
    shown = shown or evidence
    # a sentence of a note addressed to the model ("ignore previous instructions…") supports nothing
    lines = [strip_instructions(e.citation.text) for e in shown]
    headings = [e.citation.heading_path for e in shown]
    read = " ".join(strip_instructions(f"{h} {t}") for h, t in zip(headings[: len(evidence)], lines))
    all_numbers = numbers(read)
    kept: list[str] = []
    cited: set[int] = set()
    dropped: list[str] = []
    cut = 0  # sentences :func:`borrowed` only cut short: still kept
    echo = content_words(question).union(*(content_words(e.citation.heading_path) for e in evidence))
    for sent in sentences(_MARKER.sub("", text)):
        if not content_words(sent) - echo:
            continue
        if support(sent, read, question) < MIN_SENTENCE_SUPPORT or not numbers(sent) <= all_numbers:
            dropped.append(sent)
            continue
        if lex is not None and (found := borrowed(sent, question, evidence, lex, parents)):
            other, part = found
            head = _before(sent, part)  # "" or the sentence up to the claim, closed with a full stop
            if head and claim_words(head, question) and support(head, read, question) < MIN_SENTENCE_SUPPORT:
                head = ""  # the claim had carried the sentence: what it says before that stands on nothing
            tail = sent[len(head) - 1 :].strip(" .,") if head else sent
            dropped.append(f"{tail} (your notes say that of {other})")
            if not head:
                continue
            sent, cut = head, cut + 1
        if (part := unheld_clause(sent, read, question)) and (head := _before(sent, part)):
            dropped.append(f"{sent[len(head) - 1 :].strip(' .,')} (not in your notes)")
            sent, cut = head, cut + 1
        if turned := denies(sent, lines):  # the notes' words, with their "not" lost: the opposite of the notes
            dropped.append(f"{sent} (your notes say: “{turned.strip()}”)")
            sent = f"Your notes say: “{turned.strip().rstrip('.')}”."  # what the learner should read instead
        mine = cite(sent, lines, headings, question, len(evidence))
        cited.update(mine)
        body = sent.rstrip(".!?")
        marks = "".join(f"[{i + 1}]" for i in mine)
        kept.append(f"{body} {marks}{sent[len(body) :]}")
    share = len(kept) / (len(kept) + len(dropped) - cut) if kept or dropped else 0.5  # nothing said: no evidence
    return " ".join(kept), [shown[i].citation for i in sorted(cited)], dropped, share


_CLAUSE_TAIL = re.compile(r"(?i)[\s,;]*(?:\b(?:which|but|so|because|while|whereas|especially|and)\b[\s,]*)?$")


def unheld_clause(sentence: str, read: str, question: str = "") -> str | None:
    """The first clause after the sentence's first that the evidence does not hold (most of its words beyond the
    question's are not in ``read``), or None. A sentence is judged by its words as a whole, so a clause the model
    made up rode along with well-supported ones: "SMOTE … is used when oversampling the minority class is
    necessary, especially when dealing with small datasets …" (the session-27 learner pass; the notes say nothing
    of small datasets); "LDA … can be trained on a single CPU instance, but it can also be trained on GPUs". A
    clause that states a number the evidence holds keeps its place ("… which is 5500 req/s for US East")."""
    for part in clauses(sentence)[1:]:
        if len(claim_words(part, question)) < 2 or (numbers(part) and numbers(part) <= numbers(read)):
            continue
        if support(part, read, question) < MIN_SENTENCE_SUPPORT:
            return part
    return None


def _before(sentence: str, part: str) -> str:
    """The sentence up to the clause ``part``, closed with a full stop ("" when ``part`` is its first clause or
    what comes before it says little): "SMOTE … is used when oversampling the minority class is necessary" of
    "…, especially when dealing with big data scaling issues"."""
    at = sentence.find(part.strip())
    head = _CLAUSE_TAIL.sub("", sentence[:at]) if at > 0 else ""
    return f"{head}." if len(content_words(head)) >= 3 else ""


def borrowed(
    sentence: str,
    question: str,
    evidence: list[Evidence],
    lex: Lexicon,
    parents: Mapping[tuple[str, int], int] | None = None,
) -> tuple[str, str] | None:
    """The other subject (or bullet) whose lines alone hold a claim of the sentence, and the claim, when the
    question asks about a subject the evidence names: "When should I use SMOTE?" was answered "It is recommended
    to use SMOTE for non-ETL jobs and should be used when seasonality changes as the trend increases" — each
    clause well supported, by AWS Batch's line and the time-series model's (a learner pass in the web UI, on the
    README's example). A line that names none of the question's subjects, under a heading of a subject the question
    does not name, supports no claim about them.

    With ``parents`` (the notes' bullet nesting), a claim of a sentence that names the subject, held only by
    bullets that share a parent with the subject's own bullet and are neither its ancestors nor descendants, is
    theirs: "SMOTE … is used …, especially when dealing with big data scaling issues" rests on "Undersampling the
    majority class, not recommended unless big data scaling issues", a sibling of SMOTE's parent "Oversampling the
    minority class" (the README's example; `scripts/sibling_claims.py` measured the variants on recorded answers)."""
    asked = lex.names_in(question, strict=True)
    if not asked:
        return None
    spellings = {s for name in asked for s in lex.spellings_of(name)}
    named = lex.names_in(question)

    def names_asked(e: Evidence) -> bool:
        return _names(f"{e.citation.heading_path} {e.citation.text}", spellings)

    if not any(map(names_asked, evidence)):
        return None  # the notes name the subject nowhere here: nothing to hold the answer to
    for part in clauses(sentence):
        if len(claim_words(part, question)) < 2:
            continue
        held = [
            e
            for e in evidence
            if support(part, strip_instructions(f"{e.citation.heading_path} {e.citation.text}"), question)
            >= MIN_SENTENCE_SUPPORT
        ]
        owners = [_owner(e, lex) for e in held]
        if held and all(o is not None and o not in named and not names_asked(e) for o, e in zip(owners, held)):
            return str(owners[0]), part
        if parents is not None and (line := _sibling(part, sentence, question, evidence, spellings, parents)):
            return f"“{_gist(line)}”", part
    return None


def _numbered(e: Evidence) -> list[tuple[int, str]]:
    """An evidence item's lines with their line numbers (none when its lines are not one run of the note)."""
    rows = e.citation.text.split("\n")
    one_run = len(rows) == e.citation.line_end - e.citation.line_start + 1
    return list(enumerate(rows, e.citation.line_start)) if one_run else []


def _sibling(
    part: str,
    sentence: str,
    question: str,
    evidence: list[Evidence],
    spellings: set[str],
    parents: Mapping[tuple[str, int], int],
) -> str | None:
    """The bullet that alone holds ``part``, a sibling branch of the subject's own bullet (:func:`borrowed`)."""

    def names(text: str) -> bool:
        return _names(text, spellings)

    def chain(source: str, no: int) -> list[int]:
        out = [no]
        while (source, out[-1]) in parents:
            out.append(parents[(source, out[-1])])
        return out

    # "The service they should use offers …": a service the question names in passing is not its subject
    if not names(sentence):
        return None
    own = [(e.citation.source, no) for e in evidence for no, row in _numbered(e) if names(row)]
    holding = [
        (e, no, row)
        for e in evidence
        for no, row in _numbered(e)
        if support(part, strip_instructions(f"{e.citation.heading_path} {row}"), question) >= MIN_SENTENCE_SUPPORT
    ]
    if not own or not holding:
        return None
    for e, no, row in holding:
        if names(row) or names(e.citation.heading_path):
            return None
        mine = chain(e.citation.source, no)
        theirs = [chain(src, o) for src, o in own if src == e.citation.source]
        if any(t[0] in mine or no in t for t in theirs) or not any(_near(t, mine) for t in theirs):
            return None  # a line of the subject's own branch ("Glue Data Brew" > "Clean and normalize …"), or apart
    return holding[0][2]


def _names(text: str, spellings: set[str]) -> bool:
    """Whether a text names a subject by one of its (normalised) spellings, as a whole word."""
    low = f" {norm(text)} "
    return any(f" {s} " in low for s in spellings)


def _near(subject: list[int], line: list[int]) -> bool:
    """Whether a bullet (its ancestry ``line``, innermost first) branches off the subject's own close by: their
    nearest common ancestor is the subject's parent or grandparent ("Undersampling …" and SMOTE meet at
    "Solutions:"; "Example: fraud detection" meets SMOTE only at "Unbalanced data", whose example it is)."""
    meet = next((i for i, n in enumerate(subject[1:], 1) if n in line[1:]), None)
    return meet is not None and meet <= 2


def _gist(line: str, words: int = 6) -> str:
    """The first words of a line, to say whose claim it was; never ending on a "not" ("Undersampling the majority
    class…", not "… class, not…", which reads as the opposite of the note)."""
    said = strip_markdown(line).split()
    head = said[:words]
    while head and head[-1].lower().strip(",;") in {"not", "no", "never", "unless", "but", "and", "or"}:
        head.pop()
    return " ".join(head).rstrip(",;") + ("…" if len(head) < len(said) else "")


def _owner(e: Evidence, lex: Lexicon) -> str | None:
    """The subject a line sits under: the innermost heading of its path that names one."""
    return next(filter(None, map(lex.lookup, reversed(e.citation.heading_path.split(" > ")))), None)


def cite(
    sentence: str, texts: list[str], headings: list[str], question: str = "", read: int | None = None, most: int = 2
) -> list[int]:
    """The evidence items (indexes into ``texts``) that hold a sentence: the best of the first ``read`` (what the
    model read), then, while some of the sentence's own words are in none of those chosen, the item of all shown
    holding most of the rest when that names something the others do not — a service, a term, a value ("Glue
    Data Brew fits … without writing any code" had been cited to the line about code alone, not to the one that
    names Glue Data Brew; a shared filler word such as "format" adds no citation). Best: every number the
    sentence states, then, for a denial, a line that denies ("does not support replay" is held by "doesnt support
    replay", not by "supports replay capability"), then what the sentence adds to the question — the question's
    own words ("CSV log files in S3") are in the overview line too, the answer's ("columnar data") only in the
    line that answers. The words are looked for in the lines themselves first, then with their ``headings``: the
    learner sees the cited line marked in its note, so "AWS Step Functions … orchestrating batch jobs" is cited to
    "Orchestrate batch jobs using Step Functions" rather than to a line under the Step Functions heading."""
    said = numbers(sentence) - numbers(question)  # the "3" of "S3" is no value the answer adds
    denies = negated(sentence)
    has = [passage_words(t) for t in texts]
    # names are matched as written: folded, "Streams" would find a Firehose line's "streaming"
    raw = [content_words(t) for t in texts]
    names = content_words(" ".join(_NAME.findall(sentence))) - content_words(question) - {"aws", "amazon"}

    def rank(i: int) -> tuple[float, ...]:
        return (
            len(said & numbers(texts[i])),
            denies and negated(texts[i]),
            support(sentence, texts[i], question),
            support(sentence, f"{headings[i]} {texts[i]}", question),
            support(sentence, texts[i]),
        )

    chosen = [max(range(read or len(texts)), key=rank)]
    rest = claim_words(sentence, question) - has[chosen[0]]
    names -= raw[chosen[0]]
    while rest and len(chosen) < most:
        i = max(range(len(texts)), key=lambda j: (len(rest & has[j]), rank(j)))
        if i in chosen or not names & raw[i]:
            break
        chosen.append(i)
        rest -= has[i]
        names -= raw[i]
    return chosen


_NAME = re.compile(r"\b(?:[A-Z][\w-]*[A-Z0-9][\w-]*|[A-Z][a-z]+|\w*\d\w*)\b")  # "DataBrew", "Glue", "S3", "p3"


# "Which metric should I use to …?", "What AWS service …?": the answer is a name ("which algorithms does Amazon
# Forecast offer?" asks for a list of what Forecast has, not for the subject of a line); also as the last sentence
# of a scenario ("A company must make sure a model never misses a fraudulent transaction. Which metric …?")
_ASKS_NAME = re.compile(
    r"(?i)(?:^\s*|[.!?]\s+|\n\s*)(?:which|what(?:'s|’s|\s+is|\s+are)?)\s+(?:[\w-]+\s+){0,3}?"
    r"(service|feature|algorithm|metric|technique|hyperparameter|setting)\b"
)
_ASKED_KIND = {"setting": "hyperparameter"}  # "what's the setting for how far back DeepAR looks?"


def name_the_subject(text: str, question: str, evidence: list[Evidence], lex: Lexicon) -> str:
    """An answer to "which metric / service / … ?" names it. The program knows the subject of the line the answer
    cites (the bold term or heading it sits under); when the model's sentence leaves it out ("It measures the
    percentage of people with a disease that are identified…", seen in the web UI for "Which metric should I use to
    avoid false negatives?"), the name leads the answer: "Sensitivity (Recall): it measures …"."""
    asked = _ASKS_NAME.search(question)
    first = _MARKER.search(text)
    if not asked or not first or not 1 <= int(first[1]) <= len(evidence):
        return text
    leaf = evidence[int(first[1]) - 1].citation.heading_path.split(" > ")[-1]
    subject = lex.lookup(leaf)
    kind = _ASKED_KIND.get(asked[1].lower(), asked[1].lower())
    if subject is None or lex.kinds.get(subject) != kind:
        return text
    # the model named another one ("AWS DataSync is the service …" citing DMS's line): a name in front would
    # contradict it — the sentence stays as written
    if any(n != subject and lex.kinds.get(n) == kind for n in lex.names_in(text, strict=True)):
        return text
    low = text.lower()
    if any(
        re.search(rf"(?<![a-z0-9]){re.escape(s)}(?![a-z0-9])", low) for s in [*lex.spellings_of(subject), norm(leaf)]
    ):
        return text
    name = subject if " - " in leaf else re.sub(r"\s*\(.*", "", leaf).strip()
    if norm(name) != norm(subject):
        name = f"{name} ({subject})"
    if re.match(r"(?:It|This|They)\s", text):
        return f"{name}: {text[:1].lower()}{text[1:]}"
    return f"{name}: {text}"


def same_in_siblings(text: str, question: str, evidence: list[Evidence], lex: Lexicon) -> tuple[str, list[Citation]]:
    """A value the answer takes from one member of a family that the notes give for another member too, when the
    question names neither: both are cited. "How large can a Kinesis record be?" was answered from the Firehose
    section alone while the learner (and the README) meant Data Streams; now the answer adds "Your notes give the
    same for Kinesis Data Streams: “records up to 1MB in size” [2]"."""
    first = _MARKER.search(text)
    if not first or not 1 <= int(first[1]) <= len(evidence):
        return text, []
    values = {q for q in quantities(text[: first.start()]) if not q.isdigit()}  # "1mb", not a bare "1"

    mine = _owner(evidence[int(first[1]) - 1], lex)
    named = lex.names_in(question)
    if not values or mine is None or mine in named:
        return text, []
    for i, e in enumerate(evidence):
        other = _owner(e, lex)
        if other in (None, mine) or other in named or lex.kinds.get(other) != lex.kinds.get(mine):
            continue
        line = next((x for x in e.citation.text.splitlines() if values & quantities(x)), None)
        if line and f"[{i + 1}]" not in text:
            said = strip_markdown(line).strip(" -*•")
            end = "" if text.endswith((".", "!", "?")) else "."
            return f"{text}{end} Your notes give the same for {other}: “{said}” [{i + 1}].", [e.citation]
    return text, []


def mcq_user_prompt(mc: MultipleChoice, evidence: list[Evidence], profile: str) -> str:
    """The pick prompt for a multiple-choice question, with the first line of each evidence item (none: closed
    book). One list, not one line per letter: lined up with the letters, the small model picks the option whose
    line *sounds* right (measured: 0.55 with vs 0.63 without notes)."""
    notes = ""
    if evidence:
        lines = dict.fromkeys(strip_instructions(ev.citation.text.split("\n")[0][:LINE_CHARS]) for ev in evidence)
        notes = "From the learner's notes:\n" + "\n".join(f"- {ln}" for ln in lines) + "\n\n"
    opts = "\n".join(f"{key}. {text}" for key, text in mc.options.items())
    n = mc.n_answers
    return prompt("mcq_user", profile).format(
        notes=notes, stem=mc.stem, options=opts, n=n, plural="s" if n > 1 else ""
    )


FOLLOW_UP_MAX_WORDS = 12  # longer questions carry their own subject; their pronouns are their own
_FOLLOW_UP = re.compile(
    r"(?i)^\s*(and|or|but|also|what about|how about|same for|then)\b"
    r"|\b(it|its|it's|they|them|their|theirs|this|that|these|those|same|former|latter)\b"
)


def is_follow_up(question: str, names_a_subject: bool = False) -> bool:
    """Does the question lean on the previous one: it opens like a continuation ("and …", "what about …"),
    points back ("its", "that one"), or is only a few words ("why?", "and for training?")? A few words that name a
    subject of their own (``names_a_subject``) stand alone: "What is Object2Vec?" right after an XGBoost question
    was searched as both and answered with XGBoost's hyperparameters (a learner pass in the web UI)."""
    words = len(question.split())
    m = _FOLLOW_UP.search(question)
    if words <= 3:
        return not names_a_subject or bool(m)
    # a pronoun in a long question (an exam scenario) points inside it: "events … convert them to Parquet"
    return bool(m) and (bool(m.group(1)) or words <= FOLLOW_UP_MAX_WORDS)


_LABELLED = re.compile(r"^([A-Za-z0-9][^:.!?,]{0,60}):\s")  # "Term (gloss): …"


def quote_answer(
    evidence: list[Evidence], picked: list[int] | None = None, lex: Lexicon | None = None, line: str = ""
) -> tuple[str, list[Citation]]:
    """When the model adds nothing usable, a line itself is the answer: the first the model picked as answering
    (its sentences may have been dropped, its choice of line still counts), else the best ranked. A label states
    nothing ("Confusion matrix", "Transformations:"): it is quoted with the line after it, or passed over for the
    next item the model was given."""
    order = list(dict.fromkeys([*(picked or []), *range(1, min(LINES, len(evidence)) + 1)]))
    quotes = [(n, _quotable(evidence[n - 1].citation.text)) for n in order]
    n, first = next(((n, q) for n, q in quotes if not _is_label(q)), quotes[0])
    if line and picked:  # the statement the model chose, not its item's first line
        n, first = picked[0], re.sub(r"^\s*[-*•+]\s+", "", line).strip().rstrip(".")
    top = evidence[n - 1].citation
    subject = top.heading_path.split(" > ")[-1] if top.heading_path else ""
    # "Natural-language chatbot engine" means nothing without its heading, "Amazon Lex"; a line that opens with
    # its own name ("SMOTE (…): oversampling using nearest neighbors") under a heading that names nothing needs none
    # ("General Knowledge: SMOTE …" was seen in the web UI); "Consumer: 2 MB/s" under a named heading keeps it
    label = _LABELLED.match(strip_markdown(first).strip(" -*•"))
    names_itself = (
        label is not None
        and label[1][0].isupper()  # "interval: 60s - 900s" names a property, not a subject
        and lex is not None
        and norm(label[1]) not in lex.labels  # "Use cases: …"
        and not lex.lookup(subject)
    )
    bare = subject and not names_itself and not content_words(subject) <= content_words(first)
    lead = f"{subject}: " if bare else ""
    return f"Your notes say: “{lead}{first}” [{n}]", [top]


def _quotable(text: str) -> str:
    """An evidence item's first line, or its first two when the first is a label and the second is not ("Data
    conversions: from CSV / JSON to Parquet / ORC"; not "Real-time inference: Batch inference")."""
    lines = [ln for _, ln in _rows(text)] or [text]
    if _is_label(lines[0]) and len(lines) > 1 and not _is_label(lines[1]):
        return f"{lines[0].rstrip().rstrip(':')}: {lines[1]}"
    return lines[0]


def _focus_line(ev: Evidence, option: str, stem: str) -> str:
    """The statement of an evidence item that holds most of the option's words, then of the stem's (the first on
    a tie), cut to 160 characters: the item's first line is often a label or a neighbour ("Hyperparameters one
    might see on the exam:" over "eta (step size shrinking)")."""
    lines = [ln.strip(" -*•") for ln in ev.citation.text.split("\n") if ln.strip() and ln.strip() != ELIDED]
    said = [ln for ln in lines if not _is_label(ln) and not ln.endswith(":")] or lines or [ev.citation.text]
    return max(said, key=lambda ln: (support(option, ln), support(stem, ln), -said.index(ln)))[:160]


def _is_label(line: str) -> bool:
    """Three words or fewer and no number: a name over a list ("Confusion matrix"), not a statement."""
    return len(line.split()) <= 3 and not re.search(r"\d", line)


class Tutor:
    """Answers questions from the notes. ``llm`` is created lazily, so evidence works before a model loads."""

    def __init__(self, retriever: Retriever, settings: Settings | None = None, llm: LLM | None = None) -> None:
        self.retriever = retriever
        self.settings = settings or retriever.settings
        self._llm = llm
        self.finder = EvidenceFinder.of(retriever)
        self.profile = load_profile(self.settings.profile)
        self.calibration = Calibration.load()
        self.abstain_below = self.calibration.threshold  # 0: always ask the model (eval runs record everything)

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = get_llm(self.settings)
        return self._llm

    @property
    def not_covered(self) -> str:
        return str(self.profile["not_covered"])

    def evidence(
        self, question: str, history: list[tuple[str, str]] | None = None, k: int = PASSAGES, mode: str | None = None
    ) -> tuple[list[Evidence], Signals]:
        """The evidence lines for a question and the answerability signals: no model involved. A short follow-up is
        searched together with the previous question."""
        query = self._query(question, history)
        hits = self.retriever.search(query[: self.settings.max_query_chars], k=k, mode=mode)
        return self.finder.find(query, hits)

    def _query(self, question: str, history: list[tuple[str, str]] | None) -> str:
        """A follow-up ("and its buffer size?", "what about Firehose?") is read together with the previous
        question; a short question with a subject of its own ("When should I use SMOTE?") is not. Exam wording
        gets the notes' term added (the profile's ``query_expansions``: "never misses" → "false negatives")."""
        # a subject of its own: one the profile knows, or a capitalised name past the first word ("What's HDFS?")
        own = bool(self.finder.lex.names_in(question, strict=True)) or any(
            w[:1].isupper() for w in question.split()[1:]
        )
        query = f"{history[-1][0]} {question}" if history and is_follow_up(question, own) else question
        more = [words for pattern, words in self._expansions if pattern.search(query)]
        return " ".join([query, *more])

    @property
    def bullet_parents(self) -> dict[tuple[str, int], int]:
        """The notes' bullet nesting, read once per loaded index (by its evidence finder)."""
        return self.finder.parents

    @functools.cached_property
    def _expansions(self) -> list[tuple[re.Pattern[str], str]]:
        table = load_profile(self.settings.profile).get("query_expansions", {})
        return [(re.compile(k, re.I), str(v)) for k, v in table.items()]

    def build_messages(self, question: str, evidence: list[Evidence]) -> list[Message]:
        """The constant system prompt (cached by llama.cpp) and the numbered evidence lines."""
        # notes are data: a sentence in them addressed to the model is elided, never passed on
        seen: set[int] = set()
        rows = []
        for n, st in enumerate(statements(evidence, question, self.finder.table_rows), start=1):
            # the heading once per item, on its first statement (what the item's lines are about)
            path = evidence[st.item].citation.heading_path
            head = "" if st.item in seen else f"({strip_instructions(self.label(path))}) "
            seen.add(st.item)
            rows.append(f"[{n}] {head}{curly_quotes(st.shown)}")
        lines = "\n".join(rows)
        p = self.settings.profile
        return [
            {"role": "system", "content": prompt("answer_system", p)},
            {"role": "user", "content": prompt("answer_user", p).format(lines=lines, question=question)},
        ]

    def label(self, heading_path: str) -> str:
        """What a line is about, for the model: its last heading, after the nearest heading that names a subject
        when the last names none. "(Hyperparameters one might see on the exam) alpha (L1 regularization)" lost
        to "(XGBoost) … eta" for "Which XGBoost hyperparameter applies L1 regularization?". A line of a packed
        passage carries its own section's heading (:meth:`Chunk.line_heading_path`), not the joined one."""
        parts = heading_path.split(" > ")
        if self.finder.lex.names_in(parts[-1], strict=True):
            return parts[-1]
        subject = next((p for p in reversed(parts[:-1]) if self.finder.lex.names_in(p, strict=True)), None)
        return f"{subject} > {parts[-1]}" if subject else parts[-1]

    def warm_up(self) -> None:
        """Load the model and put the constant system prompt into its cache, so the first question is as fast
        as the later ones."""
        ev, _ = self.evidence("How large can a Kinesis record be?")
        if ev:
            for _ in self.llm.chat(self.build_messages("warm up", ev[:1]), max_tokens=1, stream=True):
                pass

    def ask_stream(
        self,
        question: str,
        history: list[tuple[str, str]] | None = None,
        k: int = PASSAGES,
        mode: str | None = None,
        evidence: tuple[list[Evidence], Signals] | None = None,
    ) -> Iterator[tuple[str, object]]:
        """Events in order: ``("evidence", [Evidence])`` at once, ``("token", text)`` while the model writes,
        then ``("answer", Answer)``. A pasted multiple-choice question is answered by :meth:`answer_mcq`.

        ``evidence``: what :meth:`evidence` already returned for this question, history, ``k`` and ``mode`` (the
        web UI shows it before the model's turn comes); the lookup is then skipped. A pasted multiple-choice
        question ignores it (its evidence is per option)."""
        t0 = time.perf_counter()
        question = validate_query(question, self.settings.max_query_chars)
        mcq = parse_mcq(question)
        if mcq is not None:
            yield from self._mcq_stream(mcq, t0)
            return
        found = evidence if evidence is not None else self.evidence(question, history, k, mode)
        evidence, signals = found
        timings = {"evidence_ms": (time.perf_counter() - t0) * 1000}
        yield "evidence", evidence
        # the model's vote can lift a borderline case, never a hopeless one: skip the model then
        if not evidence or self.calibration.probability(signals) < self.abstain_below:
            timings["total_ms"] = (time.perf_counter() - t0) * 1000
            p = self.calibration.probability(signals, False, 0.0) if evidence else 0.0
            yield "answer", Answer(question, evidence, self.not_covered, [], True, timings, p, signals)
            return
        given = evidence[:LINES]  # the model explains the first lines; the rest are shown to the learner only
        # the model picks statements by number: the lines of the items, one by one (a table row's, by cell)
        units = statements(given, question, self.finder.table_rows)
        field_ = JsonStringField("answer")
        cut, stopped = "", False
        try:
            stream = self.llm.chat(
                self.build_messages(question, given),
                max_tokens=ANSWER_TOKENS,
                temperature=0.0,
                schema=_schema(len(units)),
                stream=True,
            )
            try:
                for piece in stream:
                    if "first_token_ms" not in timings:
                        timings["first_token_ms"] = (time.perf_counter() - t0) * 1000
                    new = field_.feed(piece)
                    if new:
                        timings.setdefault("first_answer_token_ms", (time.perf_counter() - t0) * 1000)
                        yield "token", new
                        if written_enough(field_.value()):
                            stopped = True
                            break
            finally:  # however the loop ends, the model stops writing (and its lock is free) now
                getattr(stream, "close", lambda: None)()
        except ModelError as exc:
            if not field_.raw.strip():
                raise  # nothing arrived: the plain error, the evidence is already shown
            cut = str(exc)  # the part that arrived is checked like any answer, and marked as cut off
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        # whole numbers only: a reply cut after "[1" may have meant 12
        picked = [int(x) for x in re.findall(r"\d+(?=\s*[,\]])", field_.raw.split('"answer"')[0])]
        chosen = [units[n - 1] for n in dict.fromkeys(picked) if 1 <= n <= len(units)]  # the statements, in order
        picked = list(dict.fromkeys(st.item + 1 for st in chosen))  # as evidence item numbers
        written = (
            " ".join(sentences(field_.value())[:MAX_SENTENCES])
            if stopped
            else finished_sentences(field_.value(), field_.closed())
        )
        text, citations, dropped, support_share = check_sentences(
            written, given, question, evidence, self.finder.lex, self.bullet_parents
        )
        # the model found an answering line and wrote something the lines support (an invented "$0.02" is not)
        vote = bool(picked) and (bool(text) or not dropped)
        p = self.calibration.probability(signals, vote, support_share)
        if p < self.abstain_below:
            answer = Answer(
                question,
                evidence,
                self.not_covered,
                [],
                True,
                timings,
                p,
                signals,
                picked,
                vote,
                support_share,
                dropped,
            )
        else:
            if chosen:
                text, citations = self._lead_with_chosen(text, citations, chosen, units, evidence, question)
            if not text:
                text, citations = quote_answer(evidence, picked, self.finder.lex)
            text = name_the_subject(text, question, evidence, self.finder.lex)
            text, more = same_in_siblings(text, question, evidence, self.finder.lex)
            citations = [*citations, *more]
            answer = Answer(
                question, evidence, text, citations, False, timings, p, signals, picked, vote, support_share, dropped
            )
        answer.cut_off = cut
        answer.model_statement = (chosen[0].item, chosen[0].row) if chosen else None
        yield "answer", answer

    def _lead_with_chosen(
        self,
        text: str,
        citations: list[Citation],
        chosen: list[Statement],
        units: list[Statement],
        evidence: list[Evidence],
        question: str,
    ) -> tuple[str, list[Citation]]:
        """The statement the model chose first, quoted first, when none of its sentences says any statement it
        chose: the model often picks the right line and writes about its neighbour ("How does managed spot
        training avoid losing progress?" chose "Uses checkpoints to store progress" and wrote "Have to specify time
        to wait for spot capacity"). Its sentences stay after the quote (they were checked against the evidence):
        on 99 dev and held-out questions, quoting alone lost 5 of 40 right answers, quoting first lost none. A
        chosen label ("Confusion matrix") is read with the statement after it."""

        def said(st: Statement) -> str:
            after = next((u for u in units if u.item == st.item and u.row > st.row), None)
            return f"{st.line.rstrip(':')}: {after.line}" if _is_label(st.line) and after else st.line

        written = sentences(_MARKER.sub("", text))
        heads = [evidence[st.item].citation.heading_path for st in chosen]
        if any(_says(w, said(st), h, question) for w in written for st, h in zip(chosen, heads)):
            return text, citations
        first = chosen[0]
        quoted, where = quote_answer(evidence, [first.item + 1], self.finder.lex, said(first))
        if not text:
            return quoted, where
        return f"{quoted}. {text}", [*where, *(c for c in citations if c not in where)]

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

    # ------------------------------------------------------------ multiple-choice questions

    def option_evidence(self, mc: MultipleChoice, k: int = 4) -> dict[str, Evidence | None]:
        """For each option, the line of the notes closest to "stem + option": what the notes say about it."""
        tail = mc.stem[-300:]
        out: dict[str, Evidence | None] = {}
        for letter, text in mc.options.items():
            query = f"{tail} {text}"[: self.settings.max_query_chars]
            hits = self.retriever.search(query, k=k)
            # a study reminder ("handle imbalanced data, i.e. oversampling, undersampling") answers no question
            # but does say an option belongs: not ranked down here
            ev, _ = self.finder.find(f"{text} {tail}", hits, n=1, reminders_down=False)
            out[letter] = ev[0] if ev else None
        return out

    def option_reasons(self, mc: MultipleChoice, per_option: dict[str, Evidence | None]) -> dict[str, Evidence]:
        """The line shown as the reason for each option: for an option that names a subject ("AWS Glue"), that
        subject's line closest to the stem, else its own evidence when that holds the option's words. The stem's
        words had pulled the same Kinesis overview line in as the reason for Glue, Athena and Comprehend ("❌ B.
        AWS Glue — Your notes: “AWS Kinesis - managed service …”", the README's pasted question in the web UI)."""
        lex, tail = self.finder.lex, mc.stem[-300:]
        out: dict[str, Evidence] = {}
        for letter, text in mc.options.items():
            subject = lex.lookup(text) if len(text.split()) <= 6 else None
            if subject is None:
                ev = per_option.get(letter)
                bare = re.sub(r"(?i)\b(?:aws|amazon)\b", " ", text)  # "AWS" is in every service's overview
                if ev is not None and support(bare, f"{ev.citation.heading_path} {ev.citation.text}") >= 0.3:
                    out[letter] = ev
                continue
            query = f"{text} {tail}"[: self.settings.max_query_chars]
            for words in (query, text):  # the option alone only when the stem's words found none of its lines
                found, _ = self.finder.find(query, self.retriever.search(words, k=10), n=4, reminders_down=False)
                mine = [e for e in found if subject in self.finder.names(e.citation)]
                # not a line under another subject's heading that mentions this one ("… than BlazingText" is
                # Object2Vec's); of the rest, the one whose line speaks to the stem, then one under its own heading
                mine = [e for e in mine if _owner(e, lex) in (None, subject)] or mine
                if mine:

                    def fit(e: Evidence, text: str = text, subject: str = subject) -> tuple[float, bool]:
                        return support(mc.stem, _focus_line(e, text, mc.stem)), _owner(e, lex) == subject

                    out[letter] = max(mine, key=fit)
                    break
        return out

    def answer_mcq(
        self, stem: str, options: dict[str, str], n_answers: int = 1, with_notes: bool = True
    ) -> list[str]:
        """Pick the option letter(s), optionally reading each option's evidence first. The reply is constrained
        to valid letters, so it always parses."""
        mc = MultipleChoice(stem, dict(options), n_answers)
        return self._pick(mc, self.option_evidence(mc) if with_notes else {})

    def _pick(self, mc: MultipleChoice, per_option: dict[str, Evidence | None]) -> list[str]:
        """The model's choice, constrained to the letters. The option lines go into its prompt only when one of
        them states an option nearly word for word (``MCQ_NOTES_SUPPORT``): practice-exam questions the notes
        only brush against were answered worse with them (0.53 vs 0.61 closed book; README, practice exam)."""
        letters = list(mc.options)
        schema = {
            "type": "object",
            "properties": {
                "answer": {
                    "type": "array",
                    "items": {"type": "string", "enum": letters},
                    "minItems": mc.n_answers,
                    "maxItems": mc.n_answers,
                }
            },
            "required": ["answer"],
        }
        strong = any(
            ev is not None and support(mc.options[letter], ev.citation.text) >= MCQ_NOTES_SUPPORT
            for letter, ev in per_option.items()
        )
        p = self.settings.profile
        user = mcq_user_prompt(mc, [ev for ev in per_option.values() if ev] if strong else [], p)
        try:
            data = complete_json(self.llm, prompt("mcq_system", p), user, schema, max_tokens=40, temperature=0.0)
            picked = [x for x in data.get("answer", []) if x in mc.options]
        except ValueError:
            picked = []
        return sorted(dict.fromkeys(picked))[: mc.n_answers]

    def _mcq_stream(self, mc: MultipleChoice, t0: float) -> Iterator[tuple[str, object]]:
        """A pasted exam question: evidence per option at once, then the pick, then why each option is right or
        wrong (from its evidence line, with a citation)."""
        per_option = self.option_evidence(mc)
        reasons = self.option_reasons(mc, per_option)
        unique = {e.citation: e for e in reasons.values()}  # one card per cited line
        evidence = list(unique.values())
        timings = {"evidence_ms": (time.perf_counter() - t0) * 1000}
        yield "evidence", evidence
        picked = self._pick(mc, per_option)
        timings["first_token_ms"] = timings["total_ms"] = (time.perf_counter() - t0) * 1000
        lines, citations, why = [], [], {}
        for letter, text in mc.options.items():
            ev = reasons.get(letter)
            right = letter in picked
            mark = "✅" if right else "❌"
            ref = ""
            if ev is not None:
                if ev.citation not in citations:
                    citations.append(ev.citation)
                quote = strip_instructions(_focus_line(ev, text, mc.stem))
                ref = f" Your notes: “{quote}” [{citations.index(ev.citation) + 1}]"
            verdict = "the best answer." if right else "not the best answer."
            why[letter] = f"{verdict}{ref}"
            lines.append(f"{mark} **{letter}.** {text} — {verdict}{ref}")
        head = f"**Answer: {', '.join(picked) or '?'}**"
        text = head + "\n\n" + "\n".join(lines)
        yield "token", text
        info = {"stem": mc.stem, "options": mc.options, "n_answers": mc.n_answers, "picked": picked, "why": why}
        yield "answer", Answer(mc.stem, evidence, text, citations, False, timings, 1.0, mcq=info)
