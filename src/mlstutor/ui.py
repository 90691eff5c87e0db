"""The Gradio web UI: chat with the notes, practice, progress, eval, library.

A thin shell: every action calls the same library functions as the CLI. Heavy things (index, embedder, LLM) load
once in the background and are shared by all browser tabs; the page is usable (and says what is loading) while
they load. Errors become friendly messages, never tracebacks.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from mlstutor.chunking import Citation
from mlstutor.config import Settings
from mlstutor.corpus import NOTE_SUFFIXES, note_paths, read_document
from mlstutor.errors import MlstutorError
from mlstutor.evidence import PASSAGES, Evidence
from mlstutor.index import build_index, index_status
from mlstutor.llm import PRESETS
from mlstutor.progress import Progress
from mlstutor.quiz import DIFFICULTIES, Question, QuizMaster
from mlstutor.retrieval import MODES, Retriever
from mlstutor.tutor import Answer, Tutor

MAX_UPLOAD_BYTES = 2_000_000
UPLOAD_SUFFIXES = (".md", ".txt")
CSS = """
.passage-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; margin: 6px 0;}
.passage-card summary {cursor: pointer; font-weight: 600;}
.passage-card pre {white-space: pre-wrap; font-size: 0.85em; max-height: 320px; overflow: auto;}
.passage-card mark {background: #fff3a3;}
.passage-card .ev-head {font-weight: 600; font-size: 0.9em;}
.passage-card details summary {font-weight: 400; font-size: 0.85em; opacity: 0.8;}
.status {font-size: 0.9em; opacity: 0.85;}
"""


class Services:
    """The shared, lazily loaded parts of the app. Loading runs in a background thread at start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.retriever: Retriever | None = None
        self.progress = Progress.for_data_dir(settings.data_dir)
        self.index_error: str | None = None
        self.model_state = "not loaded"
        self._lock = threading.Lock()
        self.quizmaster: QuizMaster | None = None

    def start(self) -> None:
        threading.Thread(target=self._warm, daemon=True).start()

    def _warm(self) -> None:
        try:
            self.load_index()
        except MlstutorError as exc:
            self.index_error = str(exc)
            return
        if self.settings.backend != "llamacpp":
            self.model_state = "hosted"  # nothing to load; the server is reached on the first question
            return
        self.model_state = f"loading {self.settings.model}…"
        try:
            Tutor(self.retriever, self.settings).warm_up()  # model loaded, system prompt cached
            self.model_state = f"{self.settings.model} ready"
        except MlstutorError as exc:
            self.model_state = f"model unavailable: {exc}"

    def load_index(self, progress: Any = None) -> Retriever:
        with self._lock:
            self.retriever = Retriever.open(self.settings, progress)
            self.quizmaster = QuizMaster(self.retriever, self.settings)
            self.index_error = None
            return self.retriever

    def need_retriever(self) -> Retriever:
        if self.retriever is None:
            if self.index_error:
                raise MlstutorError(self.index_error)
            return self.load_index()
        return self.retriever

    def status_md(self) -> str:
        if self.index_error:
            idx = f"⚠️ index: {self.index_error}"
        elif self.retriever is None:
            idx = "⏳ loading the notes index…"
        else:
            m = self.retriever.index.manifest
            idx = f"📚 {m['n_chunks']} passages from {m['n_docs']} notes"
        return f"{idx} · 🤖 model: {self.model_state}"


# ---------------------------------------------------------------- rendering helpers


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


def _friendly(exc: Exception) -> str:
    if isinstance(exc, MlstutorError):
        return f"⚠️ {exc}"
    return f"⚠️ Something went wrong ({type(exc).__name__}). Please try again."


# ---------------------------------------------------------------- the app


def build_app(settings: Settings, services: Services | None = None) -> gr.Blocks:
    svc = services or Services(settings)
    topic_choices: list[str] = []

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
    ) -> Iterator[tuple]:
        chat = list(chat or [])
        message = (message or "").strip()
        if not message:
            yield chat, gr.skip(), "", turns, svc.status_md()
            return
        chat.append({"role": "user", "content": message})
        chat.append({"role": "assistant", "content": "…"})
        yield chat, gr.skip(), "", turns, svc.status_md()
        try:
            tutor = Tutor(svc.need_retriever(), chat_settings(backend, model, url, omodel, key))
            text, evidence = "", []
            for kind, value in tutor.ask_stream(message, history=turns, k=int(k), mode=mode):
                if kind == "evidence":
                    evidence = value
                    chat[-1]["content"] = "_Your notes are on the right; explaining…_"
                    yield chat, evidence_cards(evidence), "", turns, svc.status_md()
                elif kind == "token":
                    text += value
                    chat[-1]["content"] = text
                    yield chat, gr.skip(), "", turns, gr.skip()
                else:
                    answer = value
                    chat[-1]["content"] = answer_markdown(answer)
                    turns = [*turns, (message, answer.text)][-4:]
                    yield chat, evidence_cards(evidence, answer), "", turns, svc.status_md()
        except Exception as exc:
            chat[-1]["content"] = _friendly(exc)
            yield chat, gr.skip(), message, turns, svc.status_md()

    # ---------------- practice
    def quiz_state(questions: list[Question], note: str, empty: str) -> tuple:
        """Outputs for a new set of questions: state, the first question, and a note (or ``empty``)."""
        if not questions:
            hidden = gr.update(visible=False)
            return [], 0, 0, empty, hidden, hidden, "", ""
        qs = [q.to_dict() for q in questions]
        return (qs, 0, 0, *show_question(qs, 0), note)

    def start_quiz(picked: str, free: str, n: int, difficulty: str, progress=gr.Progress()) -> tuple:
        topic = (free or "").strip() or (picked or "").split(" › ")[-1]
        try:
            svc.need_retriever()
            assert svc.quizmaster is not None
            progress(0, desc="writing questions…")
            quiz = svc.quizmaster.generate(
                topic,
                n=int(n),
                difficulty=difficulty,
                progress=lambda d, t: progress(d / t, desc=f"question {d}/{t}"),
            )
        except Exception as exc:
            return quiz_state([], "", _friendly(exc))
        note = (
            f"{len(quiz.questions)} questions on **{topic}** ({quiz.stats.rejected} drafts rejected by the checks)."
        )
        return quiz_state(quiz.questions, note, "⚠️ No question passed verification; try another topic.")

    def show_question(qs: list[dict], i: int) -> tuple:
        if not qs or i >= len(qs):
            return (
                "**Done!** Generate more questions or review due ones.",
                gr.update(visible=False),
                gr.update(visible=False),
                "",
            )
        q = Question(**qs[i])
        choices = [f"{k}. {v}" for k, v in q.options.items()]
        stem = f"**Question {i + 1} of {len(qs)}** · {q.topic} · {q.difficulty}\n\n{q.stem}"
        if q.choose == 2:
            return (
                stem,
                gr.update(visible=False, value=None),
                gr.update(visible=True, choices=choices, value=[]),
                "",
            )
        return (stem, gr.update(visible=True, choices=choices, value=None), gr.update(visible=False, value=[]), "")

    def submit(qs: list[dict], i: int, score: int, single: str | None, multi: list[str] | None) -> tuple:
        if not qs or i >= len(qs):
            return "Generate questions first.", score, f"Score: {score}"
        q = Question(**qs[i])
        chosen = [c.split(".")[0] for c in (multi if q.choose == 2 else [single] if single else [])]
        if len(chosen) != q.choose:
            return f"Pick {'two answers' if q.choose == 2 else 'an answer'} first.", score, f"Score: {score}/{i}"
        ok = svc.progress.record(q, chosen)
        score += ok
        cites = "\n".join(f"- 📄 {Citation.from_dict(c).label}" for c in q.citations)
        verdict = "✅ **Correct!**" if ok else f"❌ **Not quite** — the answer is **{', '.join(q.answer)}**."
        return f"{verdict}\n\n{q.explanation}\n\n{cites}", score, f"Score: {score}/{i + 1}"

    def next_question(qs: list[dict], i: int) -> tuple:
        return (i + 1, *show_question(qs, i + 1))

    def review_due() -> tuple:
        due = svc.progress.due()
        return quiz_state(due, f"{len(due)} questions due for review.", "Nothing is due for review. 🎉")

    # ---------------- progress
    def progress_view() -> tuple:
        stats = svc.progress.topic_stats()
        n, c = svc.progress.total()
        if not stats:
            return "No answers yet: practice a topic first.", None
        rows = ["| topic | answered | accuracy |", "| --- | ---: | ---: |"]
        rows += [f"| {s.topic} | {s.answered} | {s.accuracy:.0%} |" for s in stats]
        weak = ", ".join(f"{s.topic} ({s.accuracy:.0%})" for s in svc.progress.weakest())
        due = len(svc.progress.due())
        md = f"**{c}/{n} correct overall.** Weakest topics: {weak}. Review queue: {due} due now.\n\n" + "\n".join(
            rows
        )
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, max(2.0, 0.4 * len(stats))))
        ax.barh([s.topic for s in stats], [s.accuracy for s in stats], color="#4c8bf5")
        ax.set_xlim(0, 1)
        ax.set_xlabel("accuracy")
        fig.tight_layout()
        return md, fig

    # ---------------- eval
    def run_eval(modes: list[str], progress=gr.Progress()) -> tuple:
        from mlstutor.evaluation import evaluate, metrics_table, misses, plot_hit_curves

        try:
            svc.need_retriever()
            summary, runs = evaluate(
                settings,
                modes=modes or ["hybrid"],
                k=10,
                progress=lambda d, t, m: progress(d / t, desc=f"{m}: {d}/{t}"),
            )
        except Exception as exc:
            return _friendly(exc), None, ""
        tmp = Path(tempfile.mkdtemp(prefix="mlstutor-eval-")) / "hit_at_k.png"
        plot_hit_curves(summary, tmp)
        mode = modes[0] if modes else "hybrid"
        missed = misses(runs, mode, 5)
        miss_md = f"**Misses at k=5 in {mode} mode ({len(missed)}):**\n\n" + "\n".join(
            f"- {r.item.question} — expected {r.item.answers[0]!r} in {', '.join(r.item.sources)}" for r in missed
        )
        return metrics_table(summary), str(tmp), miss_md

    # ---------------- library
    def library_view() -> tuple:
        try:
            status = index_status(settings)
            counts: dict[str, int] = {}
            if svc.retriever is not None:
                for c in svc.retriever.chunks:
                    counts[c.source] = counts.get(c.source, 0) + 1
            rows = [
                [p.name, f"{p.stat().st_size / 1024:.1f} KB", counts.get(p.name, 0)]
                for p in note_paths(settings.corpus_dir)
            ]
            m = status.manifest or {}
            md = (
                f"**Index: {status.state}** — {status.reason}. Embedding model: "
                f"{m.get('key', {}).get('embedding_model', settings.embedding_model)}; "
                f"folder `{settings.corpus_dir}`."
            )
            return md, rows
        except MlstutorError as exc:
            return _friendly(exc), []

    def upload(files: list[str] | None) -> str:
        if not files:
            return "Choose one or more .md or .txt files first."
        saved, problems = [], []
        for f in files:
            src = Path(f)
            name = sanitize_filename(src.name)
            try:
                if src.suffix.lower() not in UPLOAD_SUFFIXES:
                    raise MlstutorError(f"{src.name}: only {', '.join(UPLOAD_SUFFIXES)} files can be added")
                if src.stat().st_size > MAX_UPLOAD_BYTES:
                    raise MlstutorError(f"{src.name}: larger than {MAX_UPLOAD_BYTES // 1_000_000} MB")
                doc = read_document(src)  # refuses binary / undecodable files before anything is copied
                if not doc.text.strip():
                    raise MlstutorError(f"{src.name}: the file is empty")
                dest = _free_name(settings.corpus_dir, name)
                tmp = dest.with_name(f".{dest.name}.part")
                shutil.copyfile(src, tmp)
                tmp.replace(dest)
                saved.append(dest.name)
            except MlstutorError as exc:
                problems.append(str(exc))
        msg = f"Added {', '.join(saved)}. Press **Re-index** to search them." if saved else "Nothing added."
        return msg + ("\n\n" + "\n".join(f"⚠️ {p}" for p in problems) if problems else "")

    def reindex(progress=gr.Progress()) -> tuple:
        labels = {"chunk": "reading notes", "embed": "embedding passages", "save": "saving"}
        try:
            build_index(settings, lambda stage, d, t: progress(d / max(t, 1), desc=labels.get(stage, stage)))
            svc.load_index()
        except Exception as exc:
            md, rows = library_view()
            return _friendly(exc) + "\n\n" + md, rows, svc.status_md()
        md, rows = library_view()
        return "✅ Re-indexed. " + md, rows, svc.status_md()

    # ---------------- layout
    with gr.Blocks(title="mlstutor — AWS ML Specialty tutor") as app:
        gr.Markdown(
            "# mlstutor\nYour AWS Certified Machine Learning – Specialty notes, as a tutor. "
            "Answers cite the notes; nothing leaves this machine unless you configure a hosted model."
        )
        status = gr.Markdown(svc.status_md(), elem_classes="status", elem_id="status")
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
                    model = gr.Dropdown(
                        list(PRESETS), value=settings.model, label="Local model", allow_custom_value=True
                    )
                with gr.Row():
                    base_url = gr.Textbox(value=settings.openai_base_url, label="OpenAI-compatible URL")
                    omodel = gr.Textbox(value=settings.openai_model, label="Hosted model name")
                    api_key = gr.Textbox(value="", label="API key (never shown or logged)", type="password")
                with gr.Row():
                    k = gr.Slider(2, 10, value=PASSAGES, step=1, label="Passages searched for evidence (k)")
                    mode = gr.Dropdown(list(MODES), value=settings.mode, label="Retrieval mode")
            inputs = [question, chatbot, turns, backend, model, base_url, omodel, api_key, k, mode]
            outputs = [chatbot, passages, question, turns, status]
            ask_btn.click(respond, inputs, outputs, concurrency_limit=1, concurrency_id="llm")
            question.submit(respond, inputs, outputs, concurrency_limit=1, concurrency_id="llm")
            clear_btn.click(
                lambda: ([], [], "<p>The lines of your notes that answer appear here.</p>"),
                None,
                [chatbot, turns, passages],
            )

        with gr.Tab("Practice", id="practice"):
            qs, qi, score = gr.State([]), gr.State(0), gr.State(0)
            with gr.Row():
                topic = gr.Dropdown(
                    topic_choices,
                    label="Topic (exam domain › note heading)",
                    allow_custom_value=True,
                    elem_id="topic",
                )
                free = gr.Textbox(label="…or any topic", placeholder="e.g. S3 encryption", elem_id="free-topic")
                n = gr.Slider(1, 10, value=3, step=1, label="Questions")
                difficulty = gr.Radio(list(DIFFICULTIES), value="medium", label="Difficulty")
            with gr.Row():
                gen_btn = gr.Button("Generate questions", variant="primary", elem_id="generate")
                review_btn = gr.Button("Review due questions")
            quiz_note = gr.Markdown()
            stem = gr.Markdown(elem_id="stem")
            single = gr.Radio([], label="Your answer", visible=False, elem_id="single")
            multi = gr.CheckboxGroup([], label="Choose two", visible=False, elem_id="multi")
            with gr.Row():
                submit_btn = gr.Button("Submit", elem_id="submit")
                next_btn = gr.Button("Next question", elem_id="next")
            verdict = gr.Markdown(elem_id="verdict")
            score_md = gr.Markdown("Score: 0", elem_id="score")
            quiz_out = [qs, qi, score, stem, single, multi, verdict, quiz_note]
            gen_btn.click(
                start_quiz, [topic, free, n, difficulty], quiz_out, concurrency_limit=1, concurrency_id="llm"
            )
            review_btn.click(review_due, None, quiz_out)
            submit_btn.click(submit, [qs, qi, score, single, multi], [verdict, score, score_md])
            next_btn.click(next_question, [qs, qi], [qi, stem, single, multi, verdict])

        with gr.Tab("Progress", id="progress"):
            refresh = gr.Button("Refresh")
            prog_md = gr.Markdown()
            prog_plot = gr.Plot()
            refresh.click(progress_view, None, [prog_md, prog_plot])

        with gr.Tab("Eval", id="eval"):
            gr.Markdown("How often does the retriever find the fact? Runs `eval/facts.jsonl` (the known facts).")
            eval_modes = gr.CheckboxGroup([*MODES, "baseline"], value=["hybrid", "bm25", "dense"], label="Modes")
            eval_btn = gr.Button("Run retrieval eval", elem_id="run-eval")
            eval_table = gr.Markdown(elem_id="eval-table")
            eval_plot = gr.Image(label="hit@k", type="filepath")
            eval_misses = gr.Markdown()
            eval_btn.click(run_eval, [eval_modes], [eval_table, eval_plot, eval_misses], concurrency_limit=1)

        with gr.Tab("Library", id="library"):
            lib_md = gr.Markdown(elem_id="library-status")
            lib_table = gr.Dataframe(headers=["note", "size", "passages"], interactive=False, elem_id="library-table")
            files = gr.File(
                label="Add notes (.md, .txt; up to 2 MB each)",
                file_count="multiple",
                file_types=list(UPLOAD_SUFFIXES),
                type="filepath",
                elem_id="upload",
            )
            with gr.Row():
                add_btn = gr.Button("Add to notes", elem_id="add-notes")
                reindex_btn = gr.Button("Re-index", variant="primary", elem_id="reindex")
            upload_md = gr.Markdown(elem_id="upload-status")
            add_btn.click(upload, [files], [upload_md]).then(library_view, None, [lib_md, lib_table])
            reindex_btn.click(reindex, None, [lib_md, lib_table, status], concurrency_limit=1, concurrency_id="index")

        def on_load() -> tuple:
            deadline = time.time() + 10  # first visit: wait briefly for the index so the topic list is filled
            while svc.retriever is None and svc.index_error is None and time.time() < deadline:
                time.sleep(0.2)
            choices = []
            if svc.quizmaster is not None:
                for domain, topics in svc.quizmaster.topics().items():
                    choices += [f"{domain} › {t}" for t in topics[:25]]
            md, rows = library_view()
            return svc.status_md(), gr.update(choices=choices), md, rows

        app.load(on_load, None, [status, topic, lib_md, lib_table])
        timer = gr.Timer(3.0)
        timer.tick(svc.status_md, None, status)
    app.services = svc  # type: ignore[attr-defined]
    return app


def sanitize_filename(name: str) -> str:
    """A safe note file name: letters, digits, dot, dash, underscore; no paths; a note suffix."""
    base = Path(name).name
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:80] or "note"
    suffix = suffix.lower() if suffix.lower() in NOTE_SUFFIXES else ".md"
    return stem + suffix


def _free_name(folder: Path, name: str) -> Path:
    """Never overwrite an existing note: ``x.md`` → ``x-2.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / name
    i = 2
    while dest.exists():
        dest = folder / f"{Path(name).stem}-{i}{Path(name).suffix}"
        i += 1
    return dest


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None) -> None:
    """Start the server (blocking). Binds loopback unless told otherwise."""
    services = Services(settings)
    services.start()
    app = build_app(settings, services)
    auth_pair = tuple(auth.split(":", 1)) if auth else None
    if auth and (auth_pair is None or len(auth_pair) != 2 or not all(auth_pair)):
        raise MlstutorError("--auth must look like user:password")
    app.queue(default_concurrency_limit=4, max_size=64)
    app.launch(
        server_name=host,
        server_port=port,
        auth=auth_pair,
        show_error=False,
        theme=gr.themes.Soft(),
        css=CSS,
        footer_links=[],
        quiet=False,
    )
