"""Would holding a claim to its own bullet catch answers built from a sibling's line? A probe, not shipped code.

"When should I use SMOTE?" is answered "… especially when dealing with big data scaling issues [1]": that line of
the notes is "Undersampling the majority class …", a *sibling* of SMOTE's parent bullet ("Oversampling the minority
class"), in the same evidence item. This reads the recorded answers of ``mlstutor eval --answers`` reports whose
evidence is unchanged, and lists each kept sentence with a clause (two or more words beyond the question's) held
only by lines that name none of the question's subjects — in the line or its heading — and that are neither a
subject line itself, nor its ancestor or descendant in the note's list nesting (the tutor's `bullet_parents`). Session
26: 17 sentences on the three sets — 11 on unanswerable questions or wrong answers (Data Streams and Firehose "both
support replay", Model Monitor from Debugger's line), 6 in 5 right answers (Translate's and DataBrew's own lines,
which sit under headings that do not name them) — so it was not landed.

    python scripts/sibling_claims.py [--named] eval/report/answers-heldout.json [more reports …]

``--siblings``: only lines that share a parent bullet with the subject's own line (Undersampling with SMOTE).
``--named``: only sentences that name the subject the question asks about (the question's subject is often a
service it names in passing — "S3 data", "some of which Comprehend cannot process").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlstutor.config import Settings
from mlstutor.evidence import Evidence
from mlstutor.facts import norm
from mlstutor.retrieval import Retriever
from mlstutor.text import claim_words, clauses, contains_key, sentences, strip_instructions, support
from mlstutor.tutor import _MARKER, LINES, MIN_SENTENCE_SUPPORT, Tutor, _numbered

SETTINGS = Settings.from_env()
TUTOR = Tutor(Retriever.open(SETTINGS), SETTINGS)
LEX = TUTOR.finder.lex
NAMED_ONLY = "--named" in sys.argv  # only sentences that name the subject asked about
SIBLINGS_ONLY = "--siblings" in sys.argv  # only lines that share a parent bullet with the subject's line


def line_number(e: Evidence, text: str) -> int | None:
    """The note's line number of one line of an evidence item (None when its lines are not one run)."""
    return next((no for no, row in _numbered(e) if row == text), None)


def ancestry(source: str, no: int | None) -> list[int]:
    """The line and its parent bullets, innermost first (the tutor's bullet nesting)."""
    out = []
    while no is not None:
        out.append(no)
        no = TUTOR.bullet_parents.get((source, no))
    return out


def sibling(sentence: str, question: str, evidence: list[Evidence]) -> str | None:
    """The line that alone holds a clause of the sentence, when no line related to the subject's own does."""
    asked = LEX.names_in(question, strict=True)
    spellings = {x for name in asked for x in LEX.spellings_of(name)}

    def names(text: str) -> bool:
        return any(f" {x} " in f" {norm(text)} " for x in spellings)

    own = [
        (e.citation.source, line_number(e, ln)) for e in evidence for ln in e.citation.text.split("\n") if names(ln)
    ]
    own = [(src, no) for src, no in own if no is not None]
    if not own:
        return None
    if NAMED_ONLY and not names(sentence):
        return None  # "The service they should use offers …": the question's S3 is not what the sentence is about
    for part in clauses(sentence):
        if len(claim_words(part, question)) < 2:
            continue
        holding = [
            (e, ln)
            for e in evidence
            for ln in e.citation.text.split("\n")
            if support(part, strip_instructions(f"{e.citation.heading_path} {ln}"), question) >= MIN_SENTENCE_SUPPORT
        ]

        def related(e: Evidence, ln: str) -> bool:
            no = line_number(e, ln)
            if names(ln) or names(e.citation.heading_path) or no is None:
                return True
            mine = ancestry(e.citation.source, no)
            if SIBLINGS_ONLY:  # only a line of the same list as the subject's line, under another branch, borrows
                return not any(
                    src == e.citation.source and set(mine[1:]) & set(ancestry(src, o)[1:]) for src, o in own
                ) or any(src == e.citation.source and (o in mine or no in ancestry(src, o)) for src, o in own)
            return any(src == e.citation.source and (o in mine or no in ancestry(src, o)) for src, o in own)

        if holding and not any(related(e, ln) for e, ln in holding):
            return holding[0][1]
    return None


def main() -> None:
    for path in (a for a in sys.argv[1:] if not a.startswith("--")):
        fired = 0
        for row in json.loads(Path(path).read_text(encoding="utf-8"))["answers"]["rows"]:
            if not row["text"] or row["text"].startswith("Your notes say"):
                continue
            evidence, _ = TUTOR.evidence(row["question"])
            if [e.citation.text for e in evidence] != row["evidence"]:
                continue  # the recorded answer was written from other lines
            for sent in sentences(_MARKER.sub("", row["text"])):
                if hit := sibling(sent, row["question"], evidence[:LINES]):
                    fired += 1
                    right = contains_key(sent, row["keys"]) if row["keys"] else None
                    print(f"{row['id']} answerable={row['answerable']} key in sentence={right}")
                    print(f"   Q: {row['question']}\n   S: {sent}\n   L: {hit[:100]}")
        print(f"{path}: fired {fired}")


if __name__ == "__main__":
    main()
