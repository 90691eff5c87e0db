"""The Chat tab: evidence from the notes at once, then the model's explanation, streamed."""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from mlstutor.config import Settings
from mlstutor.cores import foreground
from mlstutor.evidence import LINES, PASSAGES, Evidence, Signals
from mlstutor.llm import PRESETS
from mlstutor.mcq import parse_mcq
from mlstutor.retrieval import MODES, validate_query
from mlstutor.tutor import Answer, Tutor
from mlstutor.ui.services import Services, friendly

# the evidence events (retrieval + line choice, ~50 ms, no model) run side by side, up to this many at once; only
# the model's explanation waits in the one-at-a-time "llm" queue
EVIDENCE_CONCURRENCY = 8
# the streamed explanation is redrawn at most this often: per token, the browser's markdown redraw took one of a
# two-core laptop's cores from the model (headless Chromium at 50 % in the session-17 learner pass)
STREAM_EVERY = 0.3
MCQ_WAIT = "<p>The lines of your notes for each option appear here when the tutor takes up this question.</p>"


@dataclass(frozen=True)
class Asked:
    """A question the evidence event took, handed to the model's event (a ``gr.State``): what it found, with
    the ``k`` and mode it was found with. ``found`` is ``None`` for a pasted multiple-choice question (its
    evidence is per option, found in the model's turn); ``refused``: the question was refused and the chat
    says why, so the model's event has nothing to do."""

    question: str
    k: int
    mode: str
    found: tuple[list[Evidence], Signals] | None
    refused: bool = False


def evidence_cards(evidence: list[Evidence], answer: Answer | None = None) -> str:
    """ "From your notes": one card per evidence item — file, heading path, line numbers, the lines themselves
    with the best one marked — and the whole passage one click away with those lines highlighted in place."""
    if not evidence:
        return "<p>No lines of your notes match this question.</p>"
    cited = {c.line_start for c in answer.citations} if answer else set()
    chose = answer.model_statement if answer else None  # (item, row) of the line the model chose
    out = []
    for i, ev in enumerate(evidence, start=1):
        c = ev.citation
        lines = c.text.split("\n")
        # the best line, or the one the model chose when it chose one of this item's
        best = chose[1] if chose and chose[0] == i - 1 else 0
        body = "\n".join(
            f"<mark>{html.escape(ln)}</mark>" if j == best else html.escape(ln) for j, ln in enumerate(lines)
        )
        chunk = ev.hit.chunk
        passage = "\n".join(
            f"<mark>{html.escape(ln)}</mark>"
            if c.line_start <= chunk.line_start + j <= c.line_end
            else html.escape(ln)
            for j, ln in enumerate(chunk.text.split("\n"))
        )
        also = f" · also in {', '.join(map(html.escape, ev.also_in))}" if ev.also_in else ""
        tag = " ✅ cited" if c.line_start in cited else (" · more from your notes" if i > LINES else "")
        out.append(
            f'<div class="passage-card evidence" data-n="{i}"><div class="ev-head">[{i}] '
            f"{html.escape(c.source)} § {html.escape(c.heading_path)} · {c.lines}{also}{tag}</div>"
            f"<pre>{body}</pre><details><summary>whole passage (lines {chunk.line_start}–{chunk.line_end})"
            f"</summary><pre>{passage}</pre></details></div>"
        )
    return "\n".join(out)


def answer_markdown(answer: Answer) -> str:
    """The checked answer as the chat shows it: text with [n] markers, what was left out, the cited lines."""
    parts = [answer.text]
    if answer.cut_off:
        parts.append(f"⚠️ _The answer was cut off: {html.escape(answer.cut_off)}. Ask again to get all of it._")
    if answer.abstained and answer.evidence:
        parts.append("_The closest lines of your notes are on the right; none of them answers this._")
    if answer.unsupported:  # each quoted on its own, whose line it was outside the quote
        said = [u.partition(" (your notes say") for u in answer.unsupported]
        left = " · ".join(
            f"“{html.escape(c.strip())}”" + (f" (your notes say{html.escape(w)}" if w else "") for c, _, w in said
        )
        parts.append(f"<sub>⚠ left out, not supported by your notes: {left}</sub>")
    if answer.citations:
        numbers = {e.citation: n for n, e in enumerate(answer.evidence, start=1)}
        parts.append("\n".join(f"[{numbers.get(c, '?')}] {c.label}" for c in answer.citations))
    secs = answer.timings.get("total_ms", 0) / 1000
    parts.append(f"<sub>⏱ {secs:.1f} s</sub>")
    return "\n\n".join(parts)


def build(svc: Services, settings: Settings, status: gr.Markdown) -> None:
    """The Chat tab's components and events (inside an open ``gr.Blocks``)."""
    _friendly = friendly

    def chat_settings(backend: str, model: str, url: str, omodel: str, key: str) -> Settings:
        if backend == "openai":
            return settings.with_(
                backend="openai", openai_base_url=url.strip(), openai_model=omodel.strip(), openai_api_key=key
            )
        return settings.with_(backend="llamacpp", model=model)

    def show_evidence(
        message: str, chat: list[dict], turns: list[tuple[str, str]], k: int, mode: str, request: gr.Request
    ) -> tuple:
        """The first event, no model: the question in the chat and its evidence cards at once, for every learner
        however long the model's queue. What it found goes to :func:`explain` through the ``asked`` state. While
        the model's turn is pending the question box and the Ask button are off (one question at a time)."""
        chat = list(chat or [])
        message = (message or "").strip()
        if not message:
            return chat, gr.skip(), "", gr.skip(), None, svc.status_md(request)
        try:
            question = validate_query(message, settings.max_query_chars)
            retriever = svc.need_retriever()
            mcq = parse_mcq(question) is not None
            with foreground():  # the model, if writing for someone else, steps down to one core meanwhile
                found = None if mcq else Tutor(retriever, settings).evidence(question, turns, int(k), mode)
        except Exception as exc:  # a refused question: said in the chat, kept in the box to edit
            chat += [{"role": "user", "content": message}, {"role": "assistant", "content": _friendly(exc)}]
            refused = Asked(message, k, mode, None, refused=True)
            return chat, gr.skip(), message, gr.skip(), refused, svc.status_md(request)
        svc.last_use = time.time()
        if found is None:  # a pasted exam question: its evidence is per option, found in the model's turn
            cards, waiting = MCQ_WAIT, "_Reading your notes for each option…_"
        else:
            cards, waiting = evidence_cards(found[0]), "_Your notes are on the right; the explanation follows…_"
        chat += [{"role": "user", "content": question}, {"role": "assistant", "content": waiting}]
        off = gr.update(interactive=False)
        asked = Asked(question, int(k), mode, found)
        return chat, cards, gr.update(value="", interactive=False), off, asked, svc.status_md(request)

    def explain(
        message: str,
        chat: list[dict],
        turns: list[tuple[str, str]],
        asked: Asked | None,
        backend: str,
        model: str,
        url: str,
        omodel: str,
        key: str,
        k: int,
        mode: str,
        request: gr.Request,
    ) -> Iterator[tuple]:
        """The second event, in the model's one-at-a-time queue: the explanation of the evidence the first event
        showed (not looked up again). Called alone (``/chat`` from gradio_client with a question) it does all of
        it, evidence first, as before."""
        chat = list(chat or [])
        message = (message or "").strip()
        on = gr.update(interactive=True)
        found = None
        if asked is not None and (not message or message == asked.question):  # the browser's chain
            if asked.refused:
                yield gr.skip(), gr.skip(), on, on, turns, None, gr.skip()
                return
            message, k, mode, found = asked.question, asked.k, asked.mode, asked.found
            if not chat or chat[-1].get("role") != "assistant":
                chat += [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        elif not message:
            yield gr.skip(), gr.skip(), on, on, turns, None, gr.skip()
            return
        else:  # called alone: the question joins the chat here
            chat += [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
            yield chat, gr.skip(), "", gr.skip(), turns, None, svc.status_md(request)
        svc.last_use = time.time()
        try:
            tutor = Tutor(svc.need_retriever(), chat_settings(backend, model, url, omodel, key))
            text, evidence, shown = "", found[0] if found else [], 0.0
            for kind, value in tutor.ask_stream(message, history=turns, k=int(k), mode=mode, evidence=found):
                if kind == "evidence":
                    evidence = value
                    chat[-1]["content"] = "_Your notes are on the right; explaining…_"
                    cards = gr.skip() if found else evidence_cards(evidence)  # shown already by the first event
                    yield chat, cards, gr.skip(), gr.skip(), turns, None, svc.status_md(request)
                elif kind == "token":
                    text += value
                    if time.perf_counter() - shown < STREAM_EVERY:
                        continue
                    shown = time.perf_counter()
                    chat[-1]["content"] = text
                    yield chat, gr.skip(), gr.skip(), gr.skip(), turns, None, gr.skip()
                else:
                    answer = value
                    chat[-1]["content"] = answer_markdown(answer)
                    turns = [*turns, (message, answer.text)][-4:]
                    yield chat, evidence_cards(evidence, answer), on, on, turns, None, svc.status_md(request)
        except Exception as exc:
            chat[-1]["content"] = _friendly(exc)
            yield chat, gr.skip(), gr.update(value=message, interactive=True), on, turns, None, svc.status_md(request)

    with gr.Tab("Chat", id="chat"):
        turns = gr.State([])
        asked = gr.State(None)  # what the evidence event found, for the model's event
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Tutor", height=460, elem_id="chatbot")
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask about your notes, e.g. 'How big can a Kinesis record be?' "
                        "— or paste an exam question with its options A–E",
                        show_label=False,
                        scale=5,
                        elem_id="question",
                    )
                    ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                clear_btn = gr.Button("Clear chat", size="sm")
            with gr.Column(scale=2):
                gr.Markdown("### From your notes")
                passages = gr.HTML("<p>The lines of your notes that answer appear here.</p>", elem_id="passages")
        with gr.Accordion("Advanced: model and retrieval", open=False):
            with gr.Row():
                backend = gr.Radio(["llamacpp", "openai"], value=settings.backend, label="Backend")
                model = gr.Dropdown(list(PRESETS), value=settings.model, label="Local model", allow_custom_value=True)
            with gr.Row():
                base_url = gr.Textbox(value=settings.openai_base_url, label="OpenAI-compatible URL")
                omodel = gr.Textbox(value=settings.openai_model, label="Hosted model name")
                api_key = gr.Textbox(value="", label="API key (never shown or logged)", type="password")
            with gr.Row():
                k = gr.Slider(2, 10, value=PASSAGES, step=1, label="Passages searched for evidence (k)")
                mode = gr.Dropdown(list(MODES), value=settings.mode, label="Retrieval mode")
        # two chained events: the evidence at once for everyone (no model, its own generous concurrency), then the
        # model's explanation in the one-at-a-time "llm" queue, its queue position shown on the chat only
        gr.on(
            [ask_btn.click, question.submit],
            show_evidence,
            [question, chatbot, turns, k, mode],
            [chatbot, passages, question, ask_btn, asked, status],
            api_name="chat_evidence",
            concurrency_limit=EVIDENCE_CONCURRENCY,
            concurrency_id="evidence",
            show_progress_on=[passages],
        ).then(
            explain,
            [question, chatbot, turns, asked, backend, model, base_url, omodel, api_key, k, mode],
            [chatbot, passages, question, ask_btn, turns, asked, status],
            api_name="chat",
            concurrency_limit=1,
            concurrency_id="llm",
            show_progress_on=[chatbot],
        )
        clear_btn.click(
            lambda: ([], [], "<p>The lines of your notes that answer appear here.</p>"),
            None,
            [chatbot, turns, passages],
        )
