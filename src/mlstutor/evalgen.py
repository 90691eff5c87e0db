"""A known-facts set for any notes, so a learner can score retrieval on their own notes, not only the bundled five.

The program chooses; the model only words. For each sampled statement of the notes the program picks a short key
phrase copied from the line (a number with its unit first, else the term the line defines, a name, its rarest
phrase — never its subject with its verb); the model, shown worked examples, writes a question whose answer is that
phrase, in a learner's words, casually or as an exam scenario (a situation field it fills first, then the question).
The program then keeps the question only when it holds up:

* the key is really in the source note (it is copied from it, and checked again on the file);
* the question does not give the key away and does not quote the line (no run of 5 words from it);
* it is a question (ends with "?", 5–60 words) and not a duplicate.

Unanswerable questions come from the course profile's nearby topics that the notes never mention (checked on the
notes' text), worded by the model and kept only when they name the topic. The set is plain JSONL in the format of
``eval/facts.jsonl``, so the learner can read and edit it. Same notes, model and seed: same set.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlstutor.chunking import PATH_SEP, Chunk
from mlstutor.errors import MlstutorError
from mlstutor.evidence import EvidenceFinder
from mlstutor.facts import Lexicon, is_clean, norm
from mlstutor.files import write_text_atomic
from mlstutor.llm import LLM, complete_json
from mlstutor.profile import load_profile, prompt
from mlstutor.retrieval import Retriever
from mlstutor.text import contains_key, content_words, numbers, sentences, strip_markdown

Progress = Callable[[int, int, str], None]
STYLES = ("question", "scenario", "casual")  # the profile's prompt shows the model one example of each
QUESTION_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string", "maxLength": 260}},  # a rambling reply is cut, not lost
    "required": ["question"],
}
# An answerable question is written as a situation (empty unless the style is a scenario) and the question:
# asked for a scenario in one string the model wrote plain questions (0 of 100); a field of its own, filled
# first, makes it set the scene.
WORDING_SCHEMA = {
    "type": "object",
    "properties": {
        "situation": {"type": "string", "maxLength": 200},
        "question": {"type": "string", "maxLength": 200},
    },
    "required": ["situation", "question"],
}
COPY_RUN = 5  # a question sharing this many consecutive words with its line quotes it
DUPLICATE = 0.75  # word overlap (Jaccard) at which two questions ask the same thing
_UNIT = (
    r"(?:[KMGT]i?B|ms|s|h|hrs?|days?|hours?|minutes?|seconds?|years?|months?|records?|messages?|shards?|nodes?"
    r"|instances?|characters?|calls?|tags?|x)"
)
_NUM_KEY = re.compile(
    rf"(?<![\w.\-])\$?\d[\d,.]*(?:%|[A-Za-z]{{1,6}}(?:\s?/\s?[A-Za-z]{{1,3}})?|\s{_UNIT}\b(?:\s?/\s?(?:s|sec|second|shard)\b)?)?"
    r"(?:\s(?:per|a|an|/)\s?(?:[KMGT]B|hour|hr|month|day|request|query|second|shard|GB-month)\b)?"  # "$5 per TB"
)
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+")
_ARTICLE = re.compile(r"(?i)^(?:a|an|the)\s+")
_AS_NAME = re.compile(r"(?<!such)\sas\s((?:[A-Z][\w.-]*\s?)+)")  # "Store query data as Parquet" → Parquet
_NOT_A_START = {
    "and",
    "or",
    "but",
    "be",
    "is",
    "are",
    "been",
    "the",
    "a",
    "an",
    "it",
    "this",
    "that",
    "which",
    "so",
    "if",
    "when",
    "than",
    "then",
    "also",
    "not",
    "no",  # "no cluster (to manage)": half a negation
    "can",
    "may",
    "will",
    "should",
    "must",
    "works",
    "work",
    "how",
    "what",
    "where",
    "why",
    "in",  # "In comparison", "else EMR", "think Kinesis", "often overlooked": a remark, not a fact
    "else",
    "think",
    "another",
    "often",
    "like",
    "know",
    "with",
    "from",
    "of",
    "on",
    "at",
}
_VERBS = {"works", "work", "gets", "get", "uses", "allows", "takes", "has", "have", "does", "do", "helps", "makes"}
# a piece opening with a verb is what its subject does ("predict labels on a sentence", "Make your own"): the
# answer a learner gives is the subject, not the deed
_DEED_WORDS = (
    "make assign predict find create use store run load convert train apply transfer monitor perform move choose "
    "set define send build deploy write read select allow provide enable help reduce increase remove add compute "
    "calculate detect identify classify generate optimise optimize accepts accept supports support contains "
    "requires require ingest orchestrate manage"
)
_DEEDS = frozenset(_DEED_WORDS.split())
_LEAD_TERM = re.compile(r"([A-Z][\w/+.-]*(?: [A-Z][\w/+.-]*){0,3})\s*(?::|\s[-–—]\s)")  # "Durability - how…"
COMMON_DF = 30  # a phrase whose every word is on more lines than this is no specific fact ("the model")
_SPLIT = re.compile(r"\s*(?:[:;,()|]|\s[-–—]\s|\s(?:is|are|was|for|to|with|by|via|using)\s)\s*")
_WORDS = re.compile(r"[a-z0-9]+")
_PLACEHOLDER = re.compile(r"(?i)\b(?:tbd|todo|tba)\b|\?\?")  # "Exploding gradient problem: tbd" states nothing


@dataclass
class GenReport:
    """What the generator tried and why it dropped what it dropped (the README's "share kept")."""

    tried: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    unanswerable_tried: int = 0
    unanswerable_kept: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "tried": self.tried,
            "kept": self.kept,
            "share_kept": round(self.kept / self.tried, 3) if self.tried else None,
            "rejected": dict(self.rejected.most_common()),
            "unanswerable_tried": self.unanswerable_tried,
            "unanswerable_kept": self.unanswerable_kept,
            "seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True)
class Candidate:
    """A statement of the notes that a question can be asked about, with the key phrases proposed for it."""

    source: str
    line: int
    section: str
    text: str
    keys: tuple[str, ...]
    specific: frozenset[str] = frozenset()  # rare words of the line and its section


def _df(chunks: Sequence[Chunk]) -> tuple[Counter, int]:
    lines = {(c.source, no): t for c in chunks for no, t in c.statements}
    df: Counter = Counter()
    for t in lines.values():
        df.update(content_words(t))
    return df, max(1, len(lines))


def key_phrases(
    text: str, df: Counter, n_lines: int, limit: int = 4, heading: str = "", labels: frozenset[str] = frozenset()
) -> list[str]:
    """Short phrases copied from a line that a question can have as its answer: numbers with their units
    first (a limit, a default), then the term a "Term: …" line defines, then names, then the rarest pieces
    between punctuation and small words.

    ``heading``: the line's heading path. The line's subject with its verb ("Clarify detects bias before
    training") is no key — a question must name its subject, so it would give the key away or be vague; a
    single name ("Parquet" in "Store query data as Parquet") is, when the line's heading names it or it is rare.
    ``labels``: the profile's aspect labels ("Pros:", "Note:"), which define no term."""
    plain = _NUMBERED.sub("", strip_markdown(text))  # "1. Transfer Learning: …" defines Transfer Learning
    subject = content_words(heading.split(" > ")[-1]) if heading else set()
    out: list[str] = []
    for m in _NUM_KEY.finditer(plain):
        span = m.group(0).strip(" ,.")
        ordinal = re.fullmatch(r"\d+(?:st|nd|rd|th)", span, flags=re.I)
        if len(span) >= 2 and not re.fullmatch(r"\d{1,2}", span) and not ordinal and span not in out:
            out.append(span)
    # one item of a list ("S3, EFS, FSx for Lustre") answers no question: the question would ask for all of them
    tail = plain.split(":", 1)[-1]
    items = [p.strip(" .*`\"'-–").lower() for p in re.split(r",|\s&\s|\sand\s", tail)]
    listed = items if len(items) >= 3 else []
    pieces = []
    term = _LEAD_TERM.match(plain)
    lead = term.group(1) if term and not listed else None  # a list's label asks nothing
    # "Pros: serverless …" names an aspect, the rest is the line ("Destinations - targets …" defines a term)
    if term and term.group(0).endswith(":") and term.group(1).lower() in labels:
        plain, lead = plain[term.end() :].strip(), None
    for piece in _SPLIT.split(plain) + [m.strip() for m in _AS_NAME.findall(plain)]:
        piece = piece.strip(" .*`\"'-–")
        if not plain.startswith(piece):  # "by a record identifier": the article is no part of the answer
            piece = _ARTICLE.sub("", piece)
        words = content_words(piece)
        if (
            not words
            or not 1 <= len(piece.split()) <= 6
            or len(piece) < 3
            or piece.lower() == plain.lower()
            or (piece.lower() in labels and piece != lead)
        ):
            continue
        lone = len(piece.split()) == 1
        name = piece == lead or (
            lone
            and piece[0].isupper()
            and not plain.startswith(piece)
            and (words & subject or df[piece.lower()] <= 3)
        )
        if piece.count('"') % 2 or (lone and not re.search(r".[A-Z0-9]", piece) and not name):
            continue  # half a quotation; a lone plain word ("parallel", "Speech") is no fact to ask for
        clause = any(w[0].islower() for w in piece.split()[1:])  # "Amazon S3 Glacier" is a name, no clause
        if _ARTICLE.sub("", plain).startswith(piece) and len(piece.split()) >= 3 and words & subject and clause:
            continue  # the line's subject and its verb: "Clarify detects bias before training"
        if (
            set(piece.lower().split()) & _VERBS
            or (piece.split()[0].lower() in _DEEDS and piece != lead)  # "Transfer Learning: …" is a term
            or any(piece.lower() in it for it in listed)
            or (listed and re.search(r",|\s&\s", piece))
            or ". " in piece
            or piece[0] in "/&"
        ):
            continue  # a clause ("SageMaker works best"), a list item, or a piece across a sentence break
        if (
            all(df[w] > COMMON_DF for w in words)
            or {piece.split()[0].lower(), piece.split()[-1].lower()} & _NOT_A_START
        ):
            continue  # common words only, or a clause's tail ("and syntax") or head ("Batch should be")
        rarity = sum(math.log(n_lines / (1 + df[w])) for w in words) / len(words)
        # a name or an acronym is what learners are asked for (not a line's first word, capitalised as such)
        named = name or bool(re.search(r"[A-Z]", piece[1:]))
        pieces.append((piece == lead, named, rarity, piece))
    for *_, piece in sorted(pieces, key=lambda x: (not x[0], not x[1], -x[2])):  # the lead term, names, rare
        if piece not in out and not any(piece.lower() in o.lower() for o in out):
            out.append(piece)
    return out[:limit]


def candidates(
    chunks: Sequence[Chunk], notes: Sequence[str] | None = None, labels: frozenset[str] = frozenset()
) -> list[Candidate]:
    """Every statement that can carry a question: a clean line (no debris, a few words) with key phrases."""
    df, n_lines = _df(chunks)
    wanted = {Path(n).name for n in notes} if notes else None
    seen: set[tuple[str, int]] = set()
    out = []
    for c in chunks:
        if wanted is not None and c.source not in wanted:
            continue
        for no, text in c.statements:
            if (
                (c.source, no) in seen
                or not is_clean(text)
                or len(content_words(text)) < 3
                or _PLACEHOLDER.search(text)
            ):
                continue
            seen.add((c.source, no))
            heading = PATH_SEP.join(c.line_heading_path(no))  # its own section, not the packed passage's
            keys = key_phrases(text, df, n_lines, heading=heading, labels=labels)
            if keys:
                rare = {w for w in content_words(f"{heading} {text}") if df[w] <= COMMON_DF}
                out.append(Candidate(c.source, no, heading, text, tuple(keys), frozenset(rare)))
    return out


def _tokens(text: str) -> list[str]:
    return _WORDS.findall(strip_markdown(text).lower())


def quotes_line(question: str, line: str, run: int = COPY_RUN) -> bool:
    """Does the question copy ``run`` consecutive words of the line?"""
    q, ln = _tokens(question), _tokens(line)
    grams = {tuple(ln[i : i + run]) for i in range(len(ln) - run + 1)}
    return any(tuple(q[i : i + run]) in grams for i in range(len(q) - run + 1))


def _initials(text: str) -> str:
    """The initials of every run of words: "principal component analysis" → "pca" is in it."""
    return "".join(w[0] for w in _tokens(text))


def named_subjects(text: str, lex: Lexicon) -> set[str]:
    """The profile's services, features and algorithms a text names (by any of their spellings)."""
    padded = f" {norm(text)} "
    return {
        name
        for spelling, name in lex.spellings.items()
        if len(spelling) >= 3
        and spelling not in lex.whole_only
        and lex.kinds.get(name) in ("service", "feature", "algorithm")
        and f" {spelling} " in padded
    }


def check_question(question: str, key: str, line: str, seen: set[str], specific: set[str] | None = None) -> str:
    """Why a generated question is not kept ("" when it is). ``specific``: the rare words of the line and its
    section; a question naming none of them ("What does the model use?") could be about anything."""
    q = question.strip()
    if not q.endswith("?") or not 5 <= len(q.split()) <= 60 or q.count("?") > 1:
        return "not a question"  # or two of them: a scenario that asks twice
    key_words = {w[:5] for w in content_words(key)}
    if numbers(key):  # "$5 per TB": the value is the answer; "How much per TB?" asks for it, gives nothing away
        key_words = {w for w in key_words if any(ch.isdigit() for ch in w)}
    asked = {w[:5] for w in content_words(q)}
    if contains_key(q, [key]) or (key_words and len(key_words & asked) / len(key_words) >= 0.5):
        return "gives the key away"
    if re.fullmatch(r"[A-Z]{2,6}", key) and key.lower() in _initials(q):
        return "gives the key away"  # "principal component analysis" spells PCA
    if quotes_line(q, line):
        return "quotes the line"
    if specific and not {w[:5] for w in specific} & asked:
        return "too vague (names nothing specific from its note)"
    words = set(_tokens(q))
    # the same question with another key ("Which algorithm is unsupervised?" three times) is vague, not new
    if any(len(words & set(o.split())) / len(words | set(o.split())) >= DUPLICATE for o in seen):
        return "duplicate"
    return ""


def question_kind(question: str) -> str:
    """What the question turned out to be (the model does not always write the style it was asked for)."""
    if len(sentences(question)) > 1 or re.match(
        r"(?i)(an?|the|our|your) [a-z-]+ (company|team|firm|startup|bank|"
        r"retailer|analyst|engineer|scientist|hospital|app)",
        question,
    ):
        return "scenario"
    return "casual" if len(question.split()) <= 8 else "fact"


def _wording(data: dict | None) -> str:
    """The situation and the question as one text ("" for a malformed reply, or one cut at its field's length:
    "… should they use to store the r. Which columnar file format …?" had passed every check)."""
    if not data:
        return ""
    fields = WORDING_SCHEMA["properties"]
    if any(len(str(data.get(k) or "")) >= f["maxLength"] for k, f in fields.items()):
        return ""
    situation, question = (" ".join(str(data.get(k) or "").split()) for k in ("situation", "question"))
    if situation and not situation.endswith((".", "!", "?")):
        situation += "."
    return f"{situation} {question}".strip() if question else ""


def _domain_slug(profile: str, name: str) -> str:
    slug = load_profile(profile).get("domains", {}).get(name, {}).get("slug")
    return str(slug or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "other")


def _ask(llm: LLM, profile: str, system: str, user: str, schema: dict) -> dict | None:
    try:
        room = 40 + sum(f.get("maxLength", 0) for f in schema["properties"].values()) // 3  # ~3 characters a token
        return complete_json(llm, prompt(system, profile), user, schema, max_tokens=room, temperature=0.0)
    except ValueError:
        return None


def generate_set(
    retriever: Retriever,
    llm: LLM,
    n: int = 100,
    *,
    notes: Sequence[str] | None = None,
    n_unanswerable: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[list[dict], GenReport]:
    """``n`` answerable questions (plus ``n_unanswerable``, default a quarter of ``n``) for the indexed notes
    (or only the files named in ``notes``), as JSONL-ready dicts; statements are drawn round-robin over the
    notes so each note gets its share. Returns the items and what was tried and dropped."""
    t0 = time.perf_counter()
    settings = retriever.settings
    profile = settings.profile
    indexed = {c.source for c in retriever.chunks}
    missing = sorted({Path(n).name for n in notes or ()} - indexed)
    if missing:  # a file elsewhere on disk is not read: only the indexed notes are what Chat and Eval search
        raise MlstutorError(
            f"not among your indexed notes: {', '.join(missing)} — add it to {settings.corpus_dir} (or upload it in "
            f"the Library tab) and re-index first; indexed: {', '.join(sorted(indexed))}"
        )
    lex = Lexicon.load(profile)
    pool = candidates(retriever.chunks, notes, lex.labels)
    if not pool:
        raise MlstutorError("no statement in these notes can carry a question (the notes are empty or all headings)")
    rng = random.Random(seed)
    by_note: dict[str, list[Candidate]] = {}
    for c in pool:
        by_note.setdefault(c.source, []).append(c)
    for lst in by_note.values():
        rng.shuffle(lst)
    order = [lst[i] for i in range(max(map(len, by_note.values()))) for lst in by_note.values() if i < len(lst)]
    texts = {}
    report = GenReport()
    items: list[dict] = []
    seen: set[str] = set()
    n_un = n // 4 if n_unanswerable is None else n_unanswerable
    total = n + n_un
    max_tries = max(20, 4 * n)  # a weak model that writes few keepers must not walk every line of a library
    actors = load_profile(profile).get("quiz", {}).get("actors", {}).get("who") or ["A company"]
    for cand in order:
        if len(items) >= n or report.tried >= max_tries:
            break
        style = STYLES[report.tried % len(STYLES)]
        if style == "scenario":
            style += f" (begin with: {actors[rng.randrange(len(actors))]})"
        report.tried += 1
        key = cand.keys[0]  # a number with its unit, else the lead term, a name, the rarest phrase (one per line)
        user = prompt("evalgen_user", profile).format(
            section=cand.section or cand.source, line=strip_markdown(cand.text), key=key, style=style
        )
        data = _ask(llm, profile, "evalgen_system", user, WORDING_SCHEMA)
        question = _wording(data)
        specific = set(cand.specific) - content_words(key)  # the key's own words would give it away
        why = check_question(question, key, cand.text, seen, specific) if question else "malformed or cut-off reply"
        if not why and named_subjects(question, lex) - named_subjects(f"{cand.section} {cand.text}", lex):
            why = "names a subject its line is not about"
        if not why:
            path = settings.corpus_dir / cand.source
            texts.setdefault(cand.source, path.read_text(encoding="utf-8") if path.exists() else "")
            if not contains_key(texts[cand.source], [key]):
                why = "key not in its note"
        if why:
            report.rejected[why] += 1
        else:
            seen.add(" ".join(_tokens(question)))
            items.append(
                {
                    "id": f"gen-{len(items) + 1:03d}",
                    "question": question,
                    "answers": [key],
                    "sources": [cand.source],
                    "kind": question_kind(question),
                    "domain": _domain_slug(profile, lex.domain_of(cand.section, cand.text)),
                    "line": cand.line,
                    "statement": cand.text,
                }
            )
        if progress:
            progress(len(items), total, "questions")
    report.kept = len(items)
    items += _unanswerable(retriever, llm, n_un, rng, report, progress, len(items), total)
    report.seconds = time.perf_counter() - t0
    return items, report


def _unanswerable(
    retriever: Retriever,
    llm: LLM,
    n: int,
    rng: random.Random,
    report: GenReport,
    progress: Progress | None,
    done: int,
    total: int,
) -> list[dict]:
    """Questions on the profile's nearby topics that the notes never mention, worded by the model."""
    profile = retriever.settings.profile
    finder = EvidenceFinder.of(retriever)
    topics = [t for t in load_profile(profile).get("eval", {}).get("nearby_topics", []) if not finder.mentions(t)]
    rng.shuffle(topics)
    out: list[dict] = []
    for topic in topics:
        if len(out) >= n or report.unanswerable_tried >= max(10, 3 * n):
            break
        report.unanswerable_tried += 1
        data = _ask(llm, profile, "evalgen_unanswerable", f"Topic: {topic}", QUESTION_SCHEMA)
        question = " ".join(str((data or {}).get("question", "")).split())
        short = re.sub(r"^(Amazon|AWS|SageMaker)\s+", "", topic)
        if not question.endswith("?") or short.lower() not in question.lower() or len(question.split()) < 5:
            report.rejected["unanswerable: not a question about its topic"] += 1
            continue
        out.append(
            {
                "id": f"gen-u{len(out) + 1:02d}",
                "question": question,
                "answers": [],
                "sources": [],
                "kind": "unanswerable",
                "domain": "other",
                "topic": topic,
            }
        )
        if progress:
            progress(done + len(out), total, "unanswerable")
    report.unanswerable_kept = len(out)
    return out


def write_set(items: Sequence[dict], path: Path) -> None:
    """The set as JSONL, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items))
