"""Tiny lexical helpers shared by the tutor and the quiz: which words carry content, and how much of one text
another text supports."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9][a-z0-9\-_.]*")
_STOP = set(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "be",
        "by",
        "with",
        "as",
        "at",
        "from",
        "that",
        "this",
        "it",
        "its",
        "can",
        "use",
        "used",
        "using",
        "which",
        "what",
        "when",
        "how",
        "why",
        "who",
        "does",
        "do",
        "not",
        "no",
        "into",
        "than",
        "then",
        "there",
        "their",
        "you",
        "your",
        "we",
        "our",
        "they",
        "them",
        "more",
        "most",
        "less",
        "least",
        "only",
        "also",
        "may",
        "must",
        "should",
        "would",
        "could",
        "will",
        "over",
        "under",
        "per",
        "via",
        "e.g",
        "i.e",
        "etc",
    ]
)


def content_words(text: str) -> set[str]:
    return {w.strip(".-_") for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def support(claim: str, passage: str) -> float:
    """Share of the claim's content words that occur in the passage (0..1): a cheap, explainable entailment
    proxy that catches an option or an answer the passage never mentions."""
    words = content_words(claim)
    if not words:
        return 0.0
    have = content_words(passage)
    return sum(1 for w in words if w in have) / len(words)
