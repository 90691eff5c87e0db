"""The Flashcards tab (FSRS reviews of facts, Anki export) and the Progress tab (accuracy, due items, retention).

Both read and write the progress store of the request's login (:meth:`Services.progress_for`); a round of cards
lives in the browser session's ``gr.State``."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from mlstutor.chunking import Citation
from mlstutor.errors import MlstutorError
from mlstutor.practice import Flashcard, flashcards, to_anki_cards
from mlstutor.text import count
from mlstutor.ui.services import Services, friendly

RATINGS = {"Again": 1, "Hard": 2, "Good": 3, "Easy": 4}


def build(svc: Services) -> tuple:
    """Flashcards and Progress tabs; returns (progress refresh function, its outputs)."""

    def deck(topic: str, request: gr.Request) -> tuple:
        """Due cards first, then new ones: the learner's round (kept in the session)."""
        try:
            cards = flashcards(svc.bank(), (topic or "").strip())
            progress = svc.progress_for(request)
            due_ids = {d["id"] for d in progress.due_flashcards()}
            seen = progress.card_ids()
        except Exception as exc:
            return [], friendly(exc), ""
        queue = [c for c in cards if c.id in due_ids] + [c for c in cards if c.id not in seen]
        queue = [asdict(c) for c in queue[:30]]
        if not queue:
            return [], "Nothing due and nothing new on this topic. 🎉", ""
        return (
            queue,
            front(queue),
            f"{count(len(queue), 'card')} in this round ({len(due_ids & {c['id'] for c in queue})} due).",
        )

    def front(queue: list[dict]) -> str:
        return f"### {queue[0]['front']}" if queue else "Round finished. 🎉"

    def show(queue: list[dict]) -> str:
        if not queue:
            return ""
        c = queue[0]
        return f"**{c['back']}**\n\n*{Citation.from_dict(c['citation']).label}*"

    def rate(queue: list[dict], label: str, request: gr.Request | None = None) -> tuple:
        if not queue:
            return queue, "Start a round first.", "", ""
        c = Flashcard(**queue[0])
        try:
            due = svc.progress_for(request).review_flashcard(c.id, asdict(c), RATINGS[label])
        except MlstutorError as exc:
            return queue, front(queue), "", f"⚠️ {exc}"
        rest = queue[1:]
        return rest, front(rest), "", f"{label}: next review {due:%Y-%m-%d %H:%M} UTC · {len(rest)} left"

    def export(topic: str) -> tuple:
        try:
            cards = flashcards(svc.bank(), (topic or "").strip())
            path = Path(tempfile.mkdtemp(prefix="mlstutor-anki-")) / "mlstutor-flashcards.apkg"
            to_anki_cards(cards, str(path))
        except Exception as exc:
            return None, friendly(exc)
        return str(path), f"{count(len(cards), 'card')} exported."

    def rater(label: str):
        def rate_as(queue: list[dict], request: gr.Request) -> tuple:
            return rate(queue, label, request)

        return rate_as

    with gr.Tab("Flashcards", id="cards"):
        queue = gr.State([])
        with gr.Row():
            card_topic = gr.Textbox(label="Topic (empty: all)", placeholder="e.g. Kinesis", elem_id="card-topic")
            round_btn = gr.Button("Start round", variant="primary", elem_id="card-start")
            export_btn = gr.Button("Export to Anki (.apkg)")
        card_note = gr.Markdown()
        card_front = gr.Markdown(elem_id="card-front")
        show_btn = gr.Button("Show answer", elem_id="card-show")
        card_back = gr.Markdown(elem_id="card-back")
        with gr.Row():
            rate_btns = [gr.Button(label, elem_id=f"rate-{label.lower()}") for label in RATINGS]
        card_file = gr.File(label="Anki deck", interactive=False)
        round_btn.click(deck, [card_topic], [queue, card_front, card_note])
        show_btn.click(show, [queue], [card_back])
        for btn, label in zip(rate_btns, RATINGS):
            btn.click(rater(label), [queue], [queue, card_front, card_back, card_note])
        export_btn.click(export, [card_topic], [card_file, card_note])

    def progress_view(request: gr.Request) -> tuple:
        try:
            p = svc.progress_for(request)
            stats = p.topic_stats()
            n, c = p.total()
            due_q, due_c = p.due_count()
            reviews, kept = p.retention()
        except MlstutorError as exc:
            return f"⚠️ {exc}", None
        head = f"**Review queue:** {count(due_q, 'question')} and {count(due_c, 'flashcard')} due now. " + (
            f"**Retention** (cards not rated Again, last 30 days): {kept:.0%} of {reviews} reviews."
            if kept is not None
            else "No flashcard reviews yet."
        )
        if not stats:
            return head + "\n\nNo answers yet: practice a topic first.", None
        rows = ["| topic | answered | accuracy |", "| --- | ---: | ---: |"]
        rows += [f"| {s.topic} | {s.answered} | {s.accuracy:.0%} |" for s in stats]
        weak = ", ".join(f"{s.topic} ({s.accuracy:.0%})" for s in p.weakest())
        md = f"{head}\n\n**{c}/{n} correct overall.** Weakest topics: {weak}.\n\n" + "\n".join(rows)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, max(2.0, 0.4 * len(stats))))
        ax.barh([s.topic for s in stats], [s.accuracy for s in stats], color="#4c8bf5")
        ax.set_xlim(0, 1)
        ax.set_xlabel("accuracy")
        fig.tight_layout()
        return md, fig

    with gr.Tab("Progress", id="progress"):
        refresh = gr.Button("Refresh", elem_id="progress-refresh")
        prog_md = gr.Markdown(elem_id="progress-md")
        prog_plot = gr.Plot()
        refresh.click(progress_view, None, [prog_md, prog_plot], api_name="progress")
    return progress_view, [prog_md, prog_plot]
