"""The Library tab (notes, upload, re-index) and the Eval tab (retrieval metrics on the known facts)."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import gradio as gr

from mlstutor.config import Settings
from mlstutor.corpus import UPLOAD_SUFFIXES, add_notes, note_paths, sanitize_filename
from mlstutor.errors import MlstutorError
from mlstutor.evaluation import DEFAULT_SET
from mlstutor.index import build_index, index_status
from mlstutor.retrieval import MODES
from mlstutor.ui.services import Services, friendly

__all__ = ["build", "sanitize_filename"]


def build(svc: Services, settings: Settings, status: gr.Markdown) -> tuple:
    """Library and Eval tabs; returns (refresh function, its outputs) for the page's load event."""
    _friendly = friendly

    gen_dir = settings.data_dir / "eval"

    def eval_sets() -> list[tuple[str, str]]:
        """The bundled known facts, then the sets generated for these notes (newest first)."""
        out = [("Bundled known facts (eval/facts.jsonl)", str(DEFAULT_SET))] if DEFAULT_SET.exists() else []
        mine = sorted(gen_dir.glob("*.jsonl"), key=lambda p: -p.stat().st_mtime) if gen_dir.is_dir() else []
        return out + [(f"Generated: {p.name}", str(p)) for p in mine]

    def run_eval(set_path: str | None, modes: list[str], progress=gr.Progress()) -> tuple:
        from mlstutor.evaluation import breakdown_table, evaluate, metrics_table, misses, plot_hit_curves

        try:
            svc.need_retriever()
            summary, runs = evaluate(
                settings,
                Path(set_path) if set_path else DEFAULT_SET,
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
        line = summary.get("evidence_line") or {}
        table = metrics_table(summary) + (
            f"\n\nEvidence lines (what Chat shows first): hit@1 {line['hit@1']:.3f}, hit@3 {line['hit@3']:.3f}."
            if line.get("n")
            else ""
        )
        miss_md = (
            f"**By note ({mode}):**\n\n{breakdown_table(summary, mode, 'by_note')}\n\n"
            f"**Misses at k=5 in {mode} mode ({len(missed)}):**\n\n"
            + "\n".join(
                f"- {r.item.question} — expected {r.item.answers[0]!r} in {', '.join(r.item.sources)}; first: "
                f"{r.retrieved[0]['source']} § {r.retrieved[0]['heading_path']}"
                if r.retrieved
                else ""
                for r in missed
            )
        )
        return table, str(tmp), miss_md

    def generate(notes: list[str], n: float, seed: float, progress=gr.Progress()) -> tuple:
        from mlstutor.evalgen import generate_set, write_set
        from mlstutor.llm import get_llm

        try:
            retriever = svc.need_retriever()
            progress(0, desc="loading the model")
            items, report = generate_set(
                retriever,
                get_llm(settings),
                int(n),
                notes=notes or None,
                seed=int(seed),
                progress=lambda d, t, what: progress(d / max(t, 1), desc=f"{what}: {d}/{t}"),
            )
            out = gen_dir / f"generated-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
            write_set(items, out)
        except Exception as exc:
            return _friendly(exc), gr.update(), None
        dropped = ", ".join(f"{k} {v}" for k, v in report.rejected.most_common()) or "none"
        md = (
            f"✅ {report.kept} questions (kept {report.kept} of {report.tried} the model wrote; dropped: {dropped}) "
            f"and {report.unanswerable_kept} unanswerable, in {report.seconds:.0f} s. Saved as `{out}`, a JSONL "
            "you can edit; it is now chosen above — press *Run retrieval eval*."
        )
        return md, gr.update(choices=eval_sets(), value=str(out)), str(out)

    def sweep(set_path: str | None, progress=gr.Progress()) -> tuple:
        from mlstutor.evaluation import load_eval_set, plot_sweep, run_sweep, sweep_table

        try:
            svc.need_retriever()
            path = Path(set_path) if set_path else DEFAULT_SET
            result = run_sweep(
                settings,
                {path.name: load_eval_set(path)},
                progress=lambda d, t, _: progress(d / t, desc=f"setting {d}/{t} (each builds its own index once)"),
            )
        except Exception as exc:
            return _friendly(exc), None
        tmp = Path(tempfile.mkdtemp(prefix="mlstutor-sweep-")) / "sweep.png"
        plot_sweep(result, tmp)
        return sweep_table(result), str(tmp)

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
        saved, problems = add_notes(files, settings.corpus_dir)
        msg = f"Added {', '.join(saved)}. Press **Re-index** to search them." if saved else "Nothing added."
        return msg + ("\n\n" + "\n".join(f"⚠️ {p}" for p in problems) if problems else "")

    def reindex(request: gr.Request, progress=gr.Progress()) -> tuple:
        labels = {"chunk": "reading notes", "embed": "embedding passages", "save": "saving"}
        try:
            build_index(settings, lambda stage, d, t: progress(d / max(t, 1), desc=labels.get(stage, stage)))
            svc.load_index()
            threading.Thread(target=svc.adapt, daemon=True).start()  # the new build's own encoder, in the background
        except Exception as exc:
            md, rows = library_view()
            return _friendly(exc) + "\n\n" + md, rows, svc.status_md(request)
        md, rows = library_view()
        return "✅ Re-indexed. " + md, rows, svc.status_md(request)

    with gr.Tab("Eval", id="eval"):
        gr.Markdown(
            "How often does the retriever find the fact? Score the bundled known facts, or generate a set of "
            "questions for **your own notes** and score that."
        )
        sets = eval_sets()
        eval_set = gr.Dropdown(sets, value=sets[0][1] if sets else None, label="Facts set", elem_id="eval-set")
        eval_modes = gr.CheckboxGroup([*MODES, "baseline"], value=["hybrid", "bm25", "dense"], label="Modes")
        with gr.Row():
            eval_btn = gr.Button("Run retrieval eval", elem_id="run-eval")
            sweep_btn = gr.Button("Sweep settings (chunk size × headings × mode)", elem_id="run-sweep")
        eval_table = gr.Markdown(elem_id="eval-table")
        eval_plot = gr.Image(label="hit@k", type="filepath")
        eval_misses = gr.Markdown()
        with gr.Accordion("Generate a facts set for my notes", open=False):
            gr.Markdown(
                "The program picks lines of your notes and the answer phrases; the local model words a question "
                "for each, and questions that quote the line or give the answer away are dropped. About 5 s per "
                "question on two cores."
            )
            gen_notes = gr.Dropdown(
                [p.name for p in note_paths(settings.corpus_dir)] if settings.corpus_dir.is_dir() else [],
                multiselect=True,
                label="Only these notes (empty: all)",
            )
            with gr.Row():
                gen_n = gr.Slider(5, 200, value=50, step=5, label="Questions", elem_id="gen-n")
                gen_seed = gr.Number(value=0, precision=0, label="Seed")
            gen_btn = gr.Button("Generate", elem_id="gen-set")
            gen_md = gr.Markdown(elem_id="gen-status")
            gen_file = gr.File(label="The set (JSONL)", interactive=False)
        eval_btn.click(run_eval, [eval_set, eval_modes], [eval_table, eval_plot, eval_misses], concurrency_limit=1)
        sweep_btn.click(sweep, [eval_set], [eval_table, eval_plot], concurrency_limit=1, concurrency_id="index")
        gen_btn.click(generate, [gen_notes, gen_n, gen_seed], [gen_md, eval_set, gen_file], concurrency_limit=1)

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
    return library_view, [lib_md, lib_table]
