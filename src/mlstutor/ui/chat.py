"""The Chat tab: evidence from the notes at once, then the model's explanation, streamed."""

from __future__ import annotations

import html
import time
from collections.abc import Iterator

import gradio as gr

from mlstutor.config import Settings
from mlstutor.evidence import PASSAGES, Evidence
from mlstutor.llm import PRESETS
from mlstutor.retrieval import MODES
from mlstutor.tutor import Answer, Tutor
from mlstutor.ui.services import Services, friendly


def evidence_cards(evidence: list[Evidence], answer: Answer | None = None) -> str:
    """ "From your notes": one card per evidence item — file, heading path, line numbers, the lines themselves
    with the best one marked — and the whole passage one click away with those lines highlighted in place."""
    if not evidence:
        return "<p>No lines of your notes match this question.</p>"
    cited = {c.line_start for c in answer.citations} if answer else set()
    out = []
    for i, ev in enumerate(evidence, start=1):
        c = ev.citation
        lines = c.text.split("\n")
        body = "\n".join(
            f"<mark>{html.escape(ln)}</mark>" if j == 0 else html.escape(ln) for j, ln in enumerate(lines)
        )
        chunk = ev.hit.chunk
        passage = "\n".join(
            f"<mark>{html.escape(ln)}</mark>"
            if c.line_start <= chunk.line_start + j <= c.line_end
            else html.escape(ln)
            for j, ln in enumerate(chunk.text.split("\n"))
        )
        also = f" · also in {', '.join(map(html.escape, ev.also_in))}" if ev.also_in else ""
        tag = " ✅ cited" if c.line_start in cited else ""
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
    if answer.unsupported:
        left = " ".join(answer.unsupported)
        parts.append(f"<sub>⚠ left out, not supported by your notes: “{html.escape(left)}”</sub>")
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

    def respond(
        message: str,
        chat: list[dict],
        turns: list[tuple[str, str]],
        backend: str,
        model: str,
        url: str,
        omodel: str,
        key: str,
        k: int,
        mode: str,
        request: gr.Request,
    ) -> Iterator[tuple]:
        chat = list(chat or [])
        message = (message or "").strip()
        if not message:
            yield chat, gr.skip(), "", turns, svc.status_md(request)
            return
        chat.append({"role": "user", "content": message})
        chat.append({"role": "assistant", "content": "…"})
        yield chat, gr.skip(), "", turns, svc.status_md(request)
        svc.last_use = time.time()
        try:
            tutor = Tutor(svc.need_retriever(), chat_settings(backend, model, url, omodel, key))
            text, evidence = "", []
            for kind, value in tutor.ask_stream(message, history=turns, k=int(k), mode=mode):
                if kind == "evidence":
                    evidence = value
                    chat[-1]["content"] = "_Your notes are on the right; explaining…_"
                    yield chat, evidence_cards(evidence), "", turns, svc.status_md(request)
                elif kind == "token":
                    text += value
                    chat[-1]["content"] = text
                    yield chat, gr.skip(), "", turns, gr.skip()
                else:
                    answer = value
                    chat[-1]["content"] = answer_markdown(answer)
                    turns = [*turns, (message, answer.text)][-4:]
                    yield chat, evidence_cards(evidence, answer), "", turns, svc.status_md(request)
        except Exception as exc:
            chat[-1]["content"] = _friendly(exc)
            yield chat, gr.skip(), message, turns, svc.status_md(request)

    with gr.Tab("Chat", id="chat"):
        turns = gr.State([])
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
        inputs = [question, chatbot, turns, backend, model, base_url, omodel, api_key, k, mode]
        outputs = [chatbot, passages, question, turns, status]
        ask_btn.click(respond, inputs, outputs, concurrency_limit=1, concurrency_id="llm", api_name="chat")
        question.submit(respond, inputs, outputs, concurrency_limit=1, concurrency_id="llm")
        clear_btn.click(
            lambda: ([], [], "<p>The lines of your notes that answer appear here.</p>"),
            None,
            [chatbot, turns, passages],
        )
