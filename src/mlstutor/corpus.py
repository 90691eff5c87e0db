"""Load study notes from a folder and repair their text.

Notes come from anywhere (copied web pages, exports, PDFs), so text is decoded leniently and mojibake such as
``Â`` or ``â€™`` is repaired with ftfy before anything is chunked or embedded.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ftfy

from mlstutor.errors import CorpusError, MlstutorError, os_reason

NOTE_SUFFIXES = (".md", ".markdown", ".txt", ".pdf")
IGNORED_NAMES = {"readme.md", "readme.txt"}
MAX_NOTE_BYTES = 5_000_000
MAX_UPLOAD_BYTES = 2_000_000
UPLOAD_SUFFIXES = (".md", ".txt")

# After ftfy, a lone "â" between non-letters is the lead byte of a 3-byte UTF-8 symbol (U+2000–U+2FFF: dashes,
# arrows, check marks) whose other bytes were lost. In study notes it is almost always a check mark.
_ORPHAN_E2 = re.compile(r"(?<![A-Za-zÀ-ÿ])â(?![A-Za-zÀ-ÿ])")


@dataclass(frozen=True)
class Document:
    """One note: its file name (the citation source), the repaired text, and the raw bytes' digest."""

    name: str
    path: Path
    text: str
    sha256: str


def repair_text(text: str) -> str:
    """Fix mojibake and odd whitespace while keeping the line count, so line spans point into the file."""
    fixed = ftfy.fix_text(text, normalization="NFC")
    fixed = _ORPHAN_E2.sub("✓", fixed)
    fixed = fixed.replace("\u00a0", " ").replace("\ufeff", "")
    fixed = fixed.replace("\r\n", "\n").replace("\r", "\n")
    return fixed


def decode_bytes(data: bytes, name: str) -> str:
    """Decode note bytes as UTF-8, falling back to cp1252; refuse binary data with a clear message."""
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{name}: not a text file (binary data); remove it from the notes folder or convert it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{name}: cannot decode as UTF-8 or Windows-1252 text ({exc.reason})") from exc


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise CorpusError(f"{path.name}: reading PDF needs `pip install pypdf`") from exc
    try:
        reader = PdfReader(str(path))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # pypdf raises many types for damaged files
        raise CorpusError(f"{path.name}: cannot read PDF ({exc})") from exc


def read_document(path: Path) -> Document:
    """Read and repair one note file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    if len(data) > MAX_NOTE_BYTES:
        raise CorpusError(f"{path.name}: {len(data) // 1_000_000} MB is too large for a note (limit 5 MB)")
    digest = hashlib.sha256(data).hexdigest()
    raw = _pdf_text(path) if path.suffix.lower() == ".pdf" else decode_bytes(data, path.name)
    return Document(name=path.name, path=path, text=repair_text(raw), sha256=digest)


def note_paths(corpus_dir: Path) -> list[Path]:
    """The note files in ``corpus_dir`` (sorted, README skipped); a clear error when there are none."""
    if not corpus_dir.exists():
        raise CorpusError(f"notes folder not found: {corpus_dir} (set MLSTUTOR_CORPUS_DIR or --corpus)")
    if not corpus_dir.is_dir():
        raise CorpusError(f"notes folder is not a directory: {corpus_dir}")
    paths = sorted(
        p
        for p in corpus_dir.iterdir()
        if p.is_file() and p.suffix.lower() in NOTE_SUFFIXES and p.name.lower() not in IGNORED_NAMES
    )
    if not paths:
        raise CorpusError(f"no notes in {corpus_dir}: add .md, .txt or .pdf files")
    return paths


def file_hashes(paths: Iterable[Path]) -> dict[str, str]:
    """sha256 of each file's bytes by name: cheap enough to decide whether the index is stale."""
    out: dict[str, str] = {}
    for p in paths:
        try:
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
        except FileNotFoundError:
            continue  # deleted since the folder was listed: it is simply no longer a note
        except OSError as exc:
            raise CorpusError(f"{p.name}: cannot read file ({exc.strerror})") from exc
    return out


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every note in the folder, repaired. Raises :class:`CorpusError` naming the first bad file."""
    docs = []
    for p in note_paths(corpus_dir):
        try:
            docs.append(read_document(p))
        except CorpusError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                continue  # deleted since the folder was listed (e.g. while indexing)
            raise
    if not any(d.text.strip() for d in docs):
        raise CorpusError(f"the notes in {corpus_dir} are all empty")
    return docs


# ------------------------------------------------------------------ adding notes (the Library tab's upload)


def sanitize_filename(name: str) -> str:
    """A safe note file name: letters, digits, dot, dash, underscore; no paths; a note suffix."""
    base = Path(name).name
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:80] or "note"
    suffix = suffix.lower() if suffix.lower() in NOTE_SUFFIXES else ".md"
    return stem + suffix


def _free_name(folder: Path, name: str) -> Path:
    """Never overwrite an existing note: ``x.md`` → ``x-2.md``."""
    dest = folder / name
    i = 2
    while dest.exists():
        dest = folder / f"{Path(name).stem}-{i}{Path(name).suffix}"
        i += 1
    return dest


def add_note(src: Path, corpus_dir: Path) -> Path:
    """Copy one uploaded file into the notes folder under a safe, unused name; checked first (type, size, text),
    written to a temporary file and renamed into place, so a refused or failed upload leaves nothing behind."""
    src = Path(src)
    if src.suffix.lower() not in UPLOAD_SUFFIXES:
        raise MlstutorError(f"{src.name}: only {', '.join(UPLOAD_SUFFIXES)} files can be added")
    try:
        size = src.stat().st_size
    except OSError as exc:
        raise MlstutorError(f"{src.name}: cannot read the upload ({os_reason(exc)})") from exc
    if size > MAX_UPLOAD_BYTES:
        raise MlstutorError(f"{src.name}: larger than {MAX_UPLOAD_BYTES // 1_000_000} MB")
    doc = read_document(src)  # refuses binary / undecodable files before anything is copied
    if not doc.text.strip():
        raise MlstutorError(f"{src.name}: the file is empty")
    try:
        corpus_dir.mkdir(parents=True, exist_ok=True)
        dest = _free_name(corpus_dir, sanitize_filename(src.name))
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            shutil.copyfile(src, tmp)
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise MlstutorError(f"{src.name}: could not be saved to {corpus_dir} ({os_reason(exc)})") from exc
    return dest


def add_notes(files: Iterable[str | Path], corpus_dir: Path) -> tuple[list[str], list[str]]:
    """Add several uploads; returns the names saved and one problem line per file refused."""
    saved, problems = [], []
    for f in files:
        try:
            saved.append(add_note(Path(f), corpus_dir).name)
        except MlstutorError as exc:
            problems.append(str(exc))
    return saved, problems
