"""Recognise a pasted multiple-choice exam question: a stem, options A–E, and how many to choose."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "A. text", "A) text", "(A) text", "A: text", "A - text" at the start of a line
_OPTION = re.compile(r"^\s*[\(\[]?([A-Ea-e])[\)\]\.:]\s+(\S.*)$|^\s*([A-E])\s+[-–]\s+(\S.*)$")
_WORDS = {"two": 2, "three": 3, "2": 2, "3": 3}
_CHOOSE = re.compile(
    r"\((?:choose|select|pick)\s+(two|three|2|3)\)|\b(?:choose|select|pick)\s+(two|three|2|3)\b", re.I
)


@dataclass(frozen=True)
class MultipleChoice:
    stem: str
    options: dict[str, str]
    n_answers: int = 1


def parse_mcq(text: str) -> MultipleChoice | None:
    """The question as stem + options when ``text`` looks like a pasted exam item (at least three consecutive
    lettered options starting at A), else ``None``."""
    stem_lines: list[str] = []
    options: dict[str, str] = {}
    last: str | None = None
    for line in text.strip().splitlines():
        m = _OPTION.match(line)
        letter = (m.group(1) or m.group(3)).upper() if m else None
        expected = chr(ord("A") + len(options))
        if m and letter == expected:
            options[letter] = (m.group(2) or m.group(4)).strip()
            last = letter
        elif options and last and line.strip() and not _CHOOSE.search(line):
            options[last] += " " + line.strip()  # an option wrapped onto a second line
        elif not options:
            stem_lines.append(line)
        elif line.strip():
            stem_lines.append(line)  # e.g. "(Choose two)" after the options
    if len(options) < 3:
        return None
    stem = "\n".join(s for s in stem_lines).strip()
    if not stem:
        return None
    m = _CHOOSE.search(text)
    n = _WORDS[(m.group(1) or m.group(2)).lower()] if m else 1
    return MultipleChoice(stem, options, min(n, len(options) - 1))
