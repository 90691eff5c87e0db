"""Split notes into retrievable passages that remember where they came from.

Markdown headings define sections; each chunk keeps its heading path (``Data Engineering > Kinesis > Data
Streams``) and its line span so a citation can point a learner at the exact place. Heading-only and tiny sections
are merged with their neighbours (a lone ``## Kinesis`` carries no fact); long sections are split with
langchain's ``RecursiveCharacterTextSplitter`` with overlap. The heading path is prepended to what gets embedded and
BM25-indexed, a cheap form of "contextual retrieval": a bullet such as "Maximum record size is 1MB" becomes
findable as a Kinesis Data Streams fact.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from mlstutor.corpus import Document

# Bump when the algorithm changes so persisted indexes built by an older one are rebuilt.
CHUNKER_VERSION = 7
PATH_SEP = " > "

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEP = re.compile(r"^\s*\|[\s:|-]+\|\s*$")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")  # a tag starts with a name: "if < 50 nodes, … > 50" is not one
_SPACES = re.compile(r"[ \t]+")


def clean_statement(line: str) -> str:
    """One line of a note as a learner should read it: no HTML tags, list bullets, emphasis or table pipes."""
    t = _SPACES.sub(" ", _HTML_TAG.sub(" ", line)).strip(" *-#|`>\t")
    t = t.replace("**", "").replace("__", "").replace("`", "")
    return re.sub(r"\s*\|\s*", " | ", t).strip()


@dataclass(frozen=True)
class Citation:
    """Where a fact sits in the notes: file, heading path, line span and the cited text. The one citation record
    of the tutor, the quiz, the CLI and the UI."""

    source: str
    heading_path: str
    line_start: int
    line_end: int
    text: str

    @property
    def lines(self) -> str:
        if self.line_start == self.line_end:
            return f"line {self.line_start}"
        return f"lines {self.line_start}–{self.line_end}"

    @property
    def label(self) -> str:
        """``notes.md § Kinesis > Data Streams, line 42``"""
        where = f" § {self.heading_path}" if self.heading_path else ""
        return f"{self.source}{where}, {self.lines}"

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "heading_path": self.heading_path,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "text": self.text,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Citation:
        return cls(str(d["source"]), str(d["heading_path"]), int(d["line_start"]), int(d["line_end"]), str(d["text"]))


@dataclass(frozen=True)
class Chunk:
    """A passage of one note with its provenance; ``line_start``/``line_end`` are 1-based and inclusive."""

    id: str
    source: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    text: str

    @property
    def heading(self) -> str:
        """The heading path as one string, for display and citations."""
        return PATH_SEP.join(self.heading_path)

    @property
    def search_text(self) -> str:
        """What is embedded and BM25-indexed: heading context first, then the passage."""
        return self.search_text_with(heading=True)

    def search_text_with(self, heading: bool) -> str:
        """:attr:`search_text`, or the passage alone (``heading=False``: the eval sweep measures what the
        heading context buys)."""
        body = _SPACES.sub(" ", _HTML_TAG.sub(" ", self.text))  # tags are noise to BM25 and the encoder
        return f"{self.heading}\n{body}" if heading and self.heading_path else body

    @property
    def statements(self) -> list[tuple[int, str]]:
        """The passage's single statements with their 1-based line numbers in the note: the units that evidence
        is chosen from and that a citation can point at. Markdown and HTML debris is stripped."""
        out = []
        for offset, ln in enumerate(self.text.split("\n")):
            t = clean_statement(ln)
            if len(t) >= 12 and not _HEADING.match(ln.strip()):
                out.append((self.line_start + offset, t))
        return out

    def line_heading_path(self, line: int) -> tuple[str, ...]:
        """The heading path of one line of the passage. A passage packed from small sections joins their names
        ("… > BlazingText / Object2Vec"); each of its lines sits under one of them (the model had read BlazingText's
        "Also supports Word2Vec" as said of Object2Vec, and a learner could not tell whose line it was)."""
        if not self.heading_path or " / " not in self.heading_path[-1]:
            return self.heading_path
        tails = self.heading_path[-1].split(" / ")
        stack: list[tuple[int, str]] = []
        for row in self.text.split("\n")[: max(0, line - self.line_start)]:  # the rows above the line
            if m := _HEADING.match(row.strip()):
                level, name = len(m.group(1)), clean_heading(m.group(2))
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, name))
        names = [n for _, n in stack]
        joined = f" / {self.heading_path[-1]} / "  # a name may hold " / " itself ("Deep learning on EC2 / EMR")
        first = next((i for i, n in enumerate(names) if f" / {n} / " in joined), None)
        # no section's own heading above: the passage opened inside the first section ("#### Video Streams" of
        # "Kinesis / Glue" sits under Kinesis)
        return (*self.heading_path[:-1], *((tails[0], *names) if first is None else names[first:]))

    @property
    def line_units(self) -> list[str]:
        """What is embedded for each statement (heading path first), the "small" units of small-to-big
        retrieval, so a one-line fact inside a long passage can still win. One per :attr:`statements`, same order;
        a passage without a usable statement gets one unit for its whole text."""
        return self.units_with(heading=True)

    def units_with(self, heading: bool) -> list[str]:
        """:attr:`line_units`, with or without the heading path in front."""
        units = [f"{self.heading}: {t}" if heading and self.heading_path else t for _, t in self.statements]
        return units or [self.search_text_with(heading)[:500]]

    def citation(
        self, line_start: int | None = None, line_end: int | None = None, text: str | None = None
    ) -> Citation:
        """A citation of this passage, or of some of its lines."""
        return Citation(
            self.source,
            self.heading if line_start is None else PATH_SEP.join(self.line_heading_path(line_start)),
            self.line_start if line_start is None else line_start,
            (self.line_end if line_start is None else line_start) if line_end is None else line_end,
            self.text if text is None else text,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "source": self.source,
            "heading_path": list(self.heading_path),
            "line_start": self.line_start,
            "line_end": self.line_end,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Chunk:
        return cls(
            id=str(d["id"]),
            source=str(d["source"]),
            heading_path=tuple(d["heading_path"]),
            line_start=int(d["line_start"]),
            line_end=int(d["line_end"]),
            text=str(d["text"]),
        )


@dataclass(frozen=True)
class ChunkerSettings:
    """Sizes in characters; recorded in the index manifest."""

    chunk_size: int = 600
    chunk_overlap: int = 120
    min_chunk: int = 250
    strategy: str = "headings"  # or "naive": the plain 1000/200 recipe, kept as the eval baseline

    def as_dict(self) -> dict[str, object]:
        return {
            "version": CHUNKER_VERSION,
            "strategy": self.strategy,
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "min_chunk": self.min_chunk,
        }


@dataclass
class _Section:
    path: tuple[str, ...]
    start: int  # 1-based, inclusive
    end: int
    lines: list[str]
    has_body: bool
    merged: list[tuple[str, ...]] = field(default_factory=list)  # paths of the sections folded in

    @property
    def paths(self) -> list[tuple[str, ...]]:
        return self.merged or [self.path]

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip("\n")


_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+")


def bullet_parents(chunks: Sequence[Chunk]) -> dict[tuple[str, int], int]:
    """Each bullet line's parent bullet, ``(note, line) → line``, read from the passages' indentation: "SMOTE …" sits
    under "Oversampling the minority class", and "Undersampling …" is that line's sibling, not SMOTE's — whose
    line a claim rests on. A heading or a paragraph ends a list. A passage's first row may have lost its
    indentation: another passage's copy of the line is read when there is one."""
    rows: dict[tuple[str, int], str] = {}
    for c in chunks:
        for offset, row in enumerate(c.text.split("\n")):
            if offset or (c.source, c.line_start) not in rows:
                rows[(c.source, c.line_start + offset)] = row
    parents: dict[tuple[str, int], int] = {}
    stack: list[tuple[int, int]] = []
    last: tuple[str, int] | None = None
    for (source, no), row in sorted(rows.items()):
        if last is None or last[0] != source or last[1] + 1 != no:
            stack = []  # another note, or a gap no passage covers
        last = (source, no)
        if not (m := _BULLET.match(row)):
            if row.strip():
                stack = []
            continue
        indent = len(m.group(1).expandtabs(4))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack:
            parents[(source, no)] = stack[-1][1]
        stack.append((indent, no))
    return parents


def clean_heading(raw: str) -> str:
    """Heading text without markdown links, emphasis or numbering noise: ``1. [Data](02-data.md)`` → ``1. Data``."""
    text = _LINK.sub(r"\1", raw)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    return text.strip().rstrip(":").strip()


def _sections(lines: Sequence[str]) -> list[_Section]:
    """Cut a note at its headings. The first line's ``#`` title names the document, so it is left out of paths."""
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    title: str | None = None
    in_fence = False
    current = _Section(path=(), start=1, end=0, lines=[], has_body=False)
    for no, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if m:
            level, name = len(m.group(1)), clean_heading(m.group(2))
            if current.lines:
                sections.append(current)
            if title is None and level == 1 and not sections and not any(s.strip() for s in current.lines):
                title = name
                current = _Section(path=(name,), start=no, end=no, lines=[line], has_body=False)
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, name))
            current = _Section(path=tuple(n for _, n in stack), start=no, end=no, lines=[line], has_body=False)
            continue
        current.lines.append(line)
        current.end = no
        if line.strip():
            current.has_body = True
    if current.lines:
        sections.append(current)
    # trailing blank lines belong to their section but carry nothing; keep spans honest
    return [s for s in sections if s.text.strip()]


def _table_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table_row_items(line: str) -> tuple[str, list[tuple[int, str]]] | None:
    """A table row as (its first cell, (cell number, statement) for each HTML list item of its other cells), or
    ``None`` for a line that is no row. A row longer than a passage is cut in two: its head has no closing pipe,
    and its tail (mid-cell, no first cell) gives "" as the first cell and counts its cells from 100."""
    t = line.strip()
    if _TABLE_SEP.match(line) or not (t.startswith("|") or ("|" in t and re.search(r"(?i)</?li>", t))):
        return None
    head = t.startswith("|")
    first, *cells = _table_cells(line) if head else ["", *t.strip("|").split("|")]
    items = []
    for no, cell in enumerate(cells, start=1 if head else 100):
        parts = re.split(r"(?i)</?(?:ul|li|br)\s*/?>", cell)
        items += [(no, t) for part in parts if (t := clean_statement(part))]
    return clean_heading(_HTML_TAG.sub(" ", first)), items


def _table_sections(sec: _Section, kind: str, run: list[tuple[int, str]]) -> list[_Section]:
    """Sections for one run of lines of ``sec``: plain text stays together, each table row stands alone."""
    if not run:
        return []
    lines = [ln for _, ln in run]
    if kind == "text":
        body = any(ln.strip() and not _HEADING.match(ln) for ln in lines)
        return [_Section(sec.path, run[0][0], run[-1][0], lines, body)]
    out = []
    for i, (no, ln) in enumerate(run):
        is_header = i == 0 or bool(_TABLE_SEP.match(ln))
        label = "" if is_header else clean_heading(_HTML_TAG.sub(" ", _table_cells(ln)[0]))
        out.append(_Section((*sec.path, label) if label else sec.path, no, no, [ln], not is_header))
    return out


def _split_tables(sections: list[_Section]) -> list[_Section]:
    """A markdown table whose rows each describe one thing (an algorithm, a service) is split into one section
    per row, named by the row's first cell: the XGBoost row becomes ``… > Amazon SageMaker > XGBoost`` instead
    of an anonymous slice of a wide table."""
    out: list[_Section] = []
    for sec in sections:
        if sum(1 for ln in sec.lines if _TABLE_ROW.match(ln)) < 3:
            out.append(sec)
            continue
        run: list[tuple[int, str]] = []
        kind = "text"
        for offset, ln in enumerate(sec.lines):
            row_kind = "table" if _TABLE_ROW.match(ln) else "text"
            if row_kind != kind:
                out.extend(_table_sections(sec, kind, run))
                run, kind = [], row_kind
            run.append((sec.start + offset, ln))
        out.extend(_table_sections(sec, kind, run))
    return out


def _merged_path(paths: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    """One heading path for merged sections: the child when a parent merged into it, else ``prefix > a / b``."""
    prefix: list[str] = []
    for parts in zip(*paths):
        if all(p == parts[0] for p in parts):
            prefix.append(parts[0])
        else:
            break
    n = len(prefix)
    tails = list(dict.fromkeys(p[n] for p in paths if len(p) > n))
    if not tails:
        return tuple(prefix)
    if len(tails) == 1:
        return max((p for p in paths if len(p) > n), key=len)
    return (*prefix, " / ".join(tails))


def _pack(sections: list[_Section], settings: ChunkerSettings) -> list[_Section]:
    """Merge heading-only and tiny sections forward so every passage carries a fact."""
    packed: list[_Section] = []
    buf: _Section | None = None
    for sec in sections:
        if buf is None:
            buf = sec
            continue
        small = len(buf.text) < settings.min_chunk and len(buf.text) + len(sec.text) + 1 <= settings.chunk_size
        adjacent = sec.start == buf.end + 1  # a left-out outline between them: merging would misnumber lines
        if adjacent and (not buf.has_body or small):
            paths = [*buf.paths, *sec.paths] if buf.has_body else sec.paths
            buf = _Section(
                path=_merged_path(paths),
                start=buf.start,
                end=sec.end,
                lines=[*buf.lines, *sec.lines],
                has_body=buf.has_body or sec.has_body,
                merged=paths,
            )
        else:
            packed.append(buf)
            buf = sec
    if buf is not None:
        last = packed[-1] if packed else None
        if (
            last
            and buf.start == last.end + 1
            and len(buf.text) < settings.min_chunk
            and len(last.text) + len(buf.text) <= settings.chunk_size
        ):
            paths = [*last.paths, *buf.paths]
            packed[-1] = _Section(
                path=_merged_path(paths),
                start=last.start,
                end=buf.end,
                lines=[*last.lines, *buf.lines],
                has_body=True,
                merged=paths,
            )
        else:
            packed.append(buf)
    return packed


def _chunk_id(source: str, line_start: int, text: str) -> str:
    return hashlib.sha1(f"{source}\x00{line_start}\x00{text}".encode()).hexdigest()[:12]


def _make_chunk(source: str, path: tuple[str, ...], start: int, end: int, text: str) -> Chunk:
    return Chunk(_chunk_id(source, start, text), source, path, start, end, text)


def _line_offsets(lines: Sequence[str]) -> list[int]:
    """Character offset at which each line starts in ``"\\n".join(lines)``."""
    offsets = [0]
    for ln in lines[:-1]:
        offsets.append(offsets[-1] + len(ln) + 1)
    return offsets


def _line_span(offsets: list[int], begin: int, end: int) -> tuple[int, int]:
    """0-based first and last line touched by the characters ``[begin, end)``."""
    return bisect.bisect_right(offsets, begin) - 1, bisect.bisect_right(offsets, max(end - 1, begin)) - 1


def _piece_spans(raw: str, splitter: RecursiveCharacterTextSplitter, tiny: int) -> list[tuple[int, int]]:
    """Character spans of the splitter's pieces, a tiny piece (a lone heading line) joined to its neighbour."""
    spans = [
        (int(d.metadata["start_index"]), int(d.metadata["start_index"]) + len(d.page_content))
        for d in splitter.create_documents([raw])
    ]
    merged: list[tuple[int, int]] = []
    carry: int | None = None
    for begin, end in spans:
        begin = begin if carry is None else carry
        carry = None
        if end - begin < tiny:
            carry = begin
            continue
        merged.append((begin, end))
    if carry is not None:
        if merged:
            merged[-1] = (merged[-1][0], spans[-1][1])
        else:
            merged.append((carry, spans[-1][1]))
    return merged


def is_navigation(text: str) -> bool:
    """A table of contents (mostly in-page ``[x](#anchor)`` links) names every topic yet states no fact, so it
    would win keyword searches while answering nothing; the index leaves such chunks out."""
    lines = [ln for ln in text.split("\n") if ln.strip() and not _HEADING.match(ln)]
    if not lines:
        return True  # only headings: an outline, no fact
    links = sum(1 for ln in lines if "](#" in ln)
    return links / len(lines) >= 0.6


def is_outline(sec: _Section) -> bool:
    """A chapter's outline: a heading that links to another document (``## 7. [AWS Services](07-aws.md)``) over
    nothing but a list of bare topic names. It names many topics and states no fact, so it outranked the passages
    that do (a scenario about Firehose got "Kinesis (video stream / data stream / firehose)" as its evidence)."""
    head = sec.lines[0] if sec.lines else ""
    body = [ln.strip() for ln in sec.lines[1:] if ln.strip()]
    links_out = re.search(r"\]\((?!#)[^)]*\.md\)", head)
    return bool(links_out and body) and all(
        re.match(r"[*+-] ", ln) and len(re.findall(r"\w+", ln)) <= 8 for ln in body
    )


def chunk_document(doc: Document, settings: ChunkerSettings | None = None) -> list[Chunk]:
    """Heading-aware chunks of one note, in reading order."""
    settings = settings or ChunkerSettings()
    if settings.strategy == "naive":
        return _naive_chunks(doc, settings)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        separators=["\n\n", "\n", ". ", " ", ""],
        add_start_index=True,
    )
    chunks: list[Chunk] = []
    sections = [s for s in _sections(doc.text.split("\n")) if not is_outline(s)]
    for sec in _pack(_split_tables(sections), settings):
        raw = "\n".join(sec.lines)
        if len(raw.strip()) <= settings.chunk_size * 1.15:
            # short enough: keep the section whole, trimmed of blank edge lines
            lines = sec.lines
            lead = next(i for i, ln in enumerate(lines) if ln.strip())
            trail = next(i for i, ln in reversed(list(enumerate(lines))) if ln.strip())
            text = "\n".join(lines[lead : trail + 1])
            chunks.append(_make_chunk(doc.name, sec.path, sec.start + lead, sec.start + trail, text))
            continue
        offsets = _line_offsets(sec.lines)
        for begin, end in _piece_spans(raw, splitter, settings.min_chunk // 2):
            first, last = _line_span(offsets, begin, end)
            chunks.append(_make_chunk(doc.name, sec.path, sec.start + first, sec.start + last, raw[begin:end]))
    return chunks


def _naive_chunks(doc: Document, settings: ChunkerSettings) -> list[Chunk]:
    """The recipe most RAG tutorials start from: fixed-size recursive splits, no headings, no merging."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap, add_start_index=True
    )
    offsets = _line_offsets(doc.text.split("\n"))
    out = []
    for piece in splitter.create_documents([doc.text]):
        begin = int(piece.metadata["start_index"])
        first, last = _line_span(offsets, begin, begin + len(piece.page_content))
        out.append(_make_chunk(doc.name, (), first + 1, last + 1, piece.page_content))
    return out


def chunk_documents(docs: Iterable[Document], settings: ChunkerSettings | None = None) -> list[Chunk]:
    """Chunks of every note, notes in the order given."""
    return [c for d in docs for c in chunk_document(d, settings)]
