"""The Library tab (notes, upload, re-index) and the Eval tab (retrieval metrics on the known facts)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from mlstutor.config import Settings
from mlstutor.corpus import UPLOAD_SUFFIXES, add_notes, note_paths, sanitize_filename
from mlstutor.errors import MlstutorError
from mlstutor.index import build_index, index_status
from mlstutor.retrieval import MODES
from mlstutor.ui.services import Services, friendly

__all__ = ["build", "sanitize_filename"]


def build(svc: Services, settings: Settings, status: gr.Markdown) -> tuple:
    """Library and Eval tabs; returns (refresh function, its outputs) for the page's load event."""
    _friendly = friendly

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
        except Exception as exc:
            md, rows = library_view()
            return _friendly(exc) + "\n\n" + md, rows, svc.status_md(request)
        md, rows = library_view()
        return "✅ Re-indexed. " + md, rows, svc.status_md(request)

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
    return library_view, [lib_md, lib_table]
