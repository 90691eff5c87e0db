"""Measure how often the retriever finds the fact: known-facts sets, IR metrics, readable reports.

A retrieved passage is a *hit* for a question when it comes from one of the note files listed for the fact and
contains one of the fact's key strings (case-insensitive). Unanswerable questions (no keys, no sources) are left
out of the retrieval metrics and reported separately, together with the top retrieval score they got, which is
what the tutor's abstention threshold is tuned on.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlstutor.chunking import Chunk, Citation
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.evidence import PASSAGES, Calibration, EvidenceFinder, Signals, fit_calibration
from mlstutor.files import write_text_atomic
from mlstutor.retrieval import MODES, Retriever
from mlstutor.text import contains_key, join_units

if TYPE_CHECKING:
    from mlstutor.tutor import Tutor

KINDS = ("fact", "concept", "comparison", "scenario", "casual", "unanswerable")
DOMAINS = ("data-engineering", "eda", "modeling", "ai-services", "operations")
BASELINE = "baseline"
EVAL_MODES = (*MODES, BASELINE)
CUTOFFS = (1, 3, 5, 10)
DEFAULT_SET = Path("eval/facts.jsonl")

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class EvalItem:
    """One known fact: a learner's question, key strings that literally occur in the notes, the files holding it."""

    id: str
    question: str
    answers: tuple[str, ...]
    sources: tuple[str, ...]
    kind: str
    domain: str
    group: str = ""  # paraphrase group: items asking one fact in different words

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read a JSONL facts file; a clear error names the first bad line."""
    if not path.exists():
        raise MlstutorError(f"eval set not found: {path}")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = EvalItem(
                id=str(row["id"]),
                question=str(row["question"]),
                answers=tuple(str(a) for a in row.get("answers", [])),
                sources=tuple(str(s) for s in row.get("sources", [])),
                kind=str(row.get("kind", "fact")),
                domain=str(row.get("domain", "other")),
                group=str(row.get("group", "")),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise MlstutorError(f"{path}:{no}: not a valid eval item ({exc})") from exc
        if not item.question.strip():
            raise MlstutorError(f"{path}:{no}: empty question")
        if item.id in seen:
            raise MlstutorError(f"{path}:{no}: duplicate id {item.id!r}")
        if bool(item.answers) != bool(item.sources):
            raise MlstutorError(f"{path}:{no}: answers and sources must both be empty (unanswerable) or both set")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise MlstutorError(f"eval set {path} is empty")
    return items


def sets_name(paths: Sequence[Path]) -> str:
    """How reports name facts sets read as one: "facts.jsonl + facts-extra.jsonl"."""
    return " + ".join(p.name for p in paths)


def load_eval_sets(paths: Sequence[Path]) -> list[EvalItem]:
    """Several facts files as one list (ids must stay unique across them)."""
    items = [it for p in paths for it in load_eval_set(p)]
    ids = [it.id for it in items]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise MlstutorError(f"id {dup!r} appears in more than one of the eval sets")
    return items


def holds_key(citation: Citation, item: EvalItem) -> bool:
    """The line-level hit rule: an evidence excerpt from a listed note that states a key string."""
    return citation.source in item.sources and contains_key(citation.text, item.answers)


def is_relevant(chunk: Chunk, item: EvalItem) -> bool:
    """The hit rule: from a listed source and containing a key string (spacing and markdown ignored)."""
    return chunk.source in item.sources and contains_key(chunk.text, item.answers)


@dataclass
class QueryRun:
    """What one mode retrieved for one question."""

    item: EvalItem
    mode: str
    chunk_ids: list[str]
    relevant: list[bool]
    top_score: float
    latency_ms: float
    n_relevant_in_index: int
    sources_found: list[str] = field(default_factory=list)
    retrieved: list[dict] = field(default_factory=list)

    @property
    def first_rank(self) -> int | None:
        return next((i + 1 for i, r in enumerate(self.relevant) if r), None)


def _dcg(rels: Sequence[bool]) -> float:
    return sum(1.0 / math.log2(i + 2) for i, r in enumerate(rels) if r)


def query_metrics(run: QueryRun, k: int) -> dict[str, float]:
    """hit@c, MRR@k, nDCG@k (binary gains, ideal from every relevant chunk in the index), source recall@k."""
    rels = run.relevant[:k]
    out = {f"hit@{c}": float(any(rels[:c])) for c in CUTOFFS if c <= k}
    first = run.first_rank
    out[f"mrr@{k}"] = 1.0 / first if first and first <= k else 0.0
    ideal = _dcg([True] * min(k, run.n_relevant_in_index))
    out[f"ndcg@{k}"] = _dcg(rels) / ideal if ideal else 0.0
    out[f"recall@{k}"] = len(set(run.sources_found)) / len(run.item.sources) if run.item.sources else 0.0
    return out


def _mean_metrics(runs: Iterable[QueryRun], k: int) -> dict[str, float]:
    rows = [query_metrics(r, k) for r in runs]
    if not rows:
        return {}
    return {name: round(statistics.fmean(r[name] for r in rows), 4) for name in rows[0]}


def baseline_retriever(settings: Settings) -> Retriever:
    """The naive recipe users start from: 1000/200 recursive splits, MiniLM, FAISS, no heading paths, no
    de-duplication. Its index lives in the cache folder so it is built once."""
    naive = settings.with_(
        chunker="naive",
        chunk_size=1000,
        chunk_overlap=200,
        index_dir=settings.cache_dir / "baseline-index",
        dedup_threshold=2.0,  # cosine never reaches 2: nothing is folded
        mode="dense",
    )
    return Retriever.open(naive)


def run_retrieval(
    retrievers: dict[str, Retriever],
    items: Sequence[EvalItem],
    k: int = 10,
    progress: Progress | None = None,
) -> list[QueryRun]:
    """Ask every question in every mode; ``retrievers`` maps an eval mode to the retriever that serves it."""
    runs: list[QueryRun] = []
    total = len(items) * len(retrievers)
    done = 0
    for mode, retriever in retrievers.items():
        search_mode = "dense" if mode == BASELINE else mode
        relevant_counts = {
            it.id: sum(1 for c in retriever.chunks if is_relevant(c, it)) for it in items if it.answerable
        }
        finder = EvidenceFinder.of(retriever)
        finder.search(items[0].question, k=k, mode=search_mode)  # warm-up, not timed
        for it in items:
            retriever.query_vector.cache_clear()  # every mode is timed with its own encoding of the question
            t0 = time.perf_counter()
            hits = finder.search(it.question, k=k, mode=search_mode)
            latency = (time.perf_counter() - t0) * 1000
            rel = [is_relevant(h.chunk, it) for h in hits]
            runs.append(
                QueryRun(
                    item=it,
                    mode=mode,
                    chunk_ids=[h.chunk.id for h in hits],
                    relevant=rel,
                    top_score=max((float(h.score) for h in hits), default=0.0),
                    latency_ms=latency,
                    n_relevant_in_index=relevant_counts.get(it.id, 0),
                    sources_found=[h.chunk.source for h, r in zip(hits, rel) if r],
                    retrieved=[
                        {
                            "rank": h.rank,
                            "source": h.chunk.source,
                            "heading_path": h.chunk.heading,
                            "text": h.chunk.text[:160],
                        }
                        for h in hits[:3]
                    ],
                )
            )
            done += 1
            if progress:
                progress(done, total, mode)
    return runs


def summarize(runs: Sequence[QueryRun], k: int, set_name: str) -> dict:
    """The JSON other tools read: overall metrics per mode plus breakdowns and latency."""
    by_mode: dict[str, list[QueryRun]] = defaultdict(list)
    for r in runs:
        by_mode[r.mode].append(r)
    modes: dict[str, dict] = {}
    for mode, mruns in by_mode.items():
        answerable = [r for r in mruns if r.item.answerable]
        unanswerable = [r for r in mruns if not r.item.answerable]
        lat = sorted(r.latency_ms for r in mruns)
        entry = _mean_metrics(answerable, k)
        entry["latency_ms_p50"] = round(statistics.median(lat), 2)
        entry["latency_ms_p95"] = round(lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))], 2)
        entry["by_domain"] = {
            d: {"n": len(rs), **_mean_metrics(rs, k)}
            for d in sorted({r.item.domain for r in answerable})
            if (rs := [r for r in answerable if r.item.domain == d])
        }
        # an item counts for every note that states its fact
        entry["by_note"] = {
            n: {"n": len(rs), **_mean_metrics(rs, k)}
            for n in sorted({s for r in answerable for s in r.item.sources})
            if (rs := [r for r in answerable if n in r.item.sources])
        }
        entry["by_kind"] = {
            kd: {"n": len(rs), **_mean_metrics(rs, k)}
            for kd in KINDS
            if (rs := [r for r in answerable if r.item.kind == kd])
        }
        entry["hit_curve"] = (
            [round(statistics.fmean(float(any(r.relevant[:c])) for r in answerable), 4) for c in range(1, k + 1)]
            if answerable
            else []
        )
        entry["unanswerable"] = {
            "n": len(unanswerable),
            "top_score_mean": round(statistics.fmean(r.top_score for r in unanswerable), 4) if unanswerable else None,
            "answerable_top_score_mean": round(statistics.fmean(r.top_score for r in answerable), 4)
            if answerable
            else None,
        }
        modes[mode] = entry
    first = next(iter(by_mode.values()), [])
    n_answerable = sum(1 for r in first if r.item.answerable)
    return {"set": set_name, "n": len(first), "n_answerable": n_answerable, "k": k, "modes": modes}


def misses(runs: Sequence[QueryRun], mode: str, k: int) -> list[QueryRun]:
    return [r for r in runs if r.mode == mode and r.item.answerable and not any(r.relevant[:k])]


def best_mode(summary: dict) -> str:
    """The mode with the highest MRR (ties: hit@1), excluding the naive baseline."""
    k = summary["k"]
    candidates = {m: v for m, v in summary["modes"].items() if m != BASELINE and v}
    return max(candidates, key=lambda m: (candidates[m][f"mrr@{k}"], candidates[m]["hit@1"]))


def metrics_table(summary: dict) -> str:
    """Markdown table: one row per mode."""
    k = summary["k"]
    cols = [f"hit@{c}" for c in CUTOFFS if c <= k] + [f"mrr@{k}", f"ndcg@{k}", f"recall@{k}"]
    lines = ["| mode | " + " | ".join(cols) + " | p50 ms |", "| --- |" + " ---: |" * (len(cols) + 1)]
    for mode, m in summary["modes"].items():
        vals = " | ".join(f"{m.get(c, 0):.3f}" for c in cols)
        lines.append(f"| {mode} | {vals} | {m['latency_ms_p50']:.1f} |")
    return "\n".join(lines)


def breakdown_table(summary: dict, mode: str, key: str) -> str:
    k = summary["k"]
    rows = summary["modes"][mode][key]
    lines = [f"| {key.removeprefix('by_')} | n | hit@1 | hit@5 | mrr@{k} |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, m in rows.items():
        lines.append(f"| {name} | {m['n']} | {m['hit@1']:.3f} | {m.get('hit@5', 0):.3f} | {m[f'mrr@{k}']:.3f} |")
    return "\n".join(lines)


def _save_figure(fig, path: Path) -> None:
    """Lay out, write beside ``path`` and rename over it (a report never shows half a PNG), free the figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def plot_hit_curves(summary: dict, path: Path) -> None:
    """hit@k for k = 1..K, one line per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for mode, m in summary["modes"].items():
        curve = m.get("hit_curve") or []
        style = "--" if mode == BASELINE else "-"
        ax.plot(range(1, len(curve) + 1), curve, style, marker="o", markersize=3, label=mode)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("hit@k (share of questions)")
    ax.set_title(f"Retrieval on {summary['set']} ({summary['n_answerable']} answerable questions)")
    ax.set_ylim(0.4, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    _save_figure(fig, path)


def render_report(summary: dict, runs: Sequence[QueryRun]) -> str:
    """The Markdown report: headline table, breakdowns for the best mode, every miss."""
    k = summary["k"]
    best = best_mode(summary)
    parts = [
        f"# Retrieval eval: {summary['set']}",
        "",
        f"{summary['n']} questions ({summary['n_answerable']} answerable); k = {k}. A hit is a passage from a "
        "listed source that contains a key string."
        + (f" Encoder: {summary['encoder']}." if summary.get("encoder") else ""),
        "",
        metrics_table(summary),
        "",
        "![hit@k](hit_at_k.png)",
        "",
        f"## Best mode: {best}",
        "",
        breakdown_table(summary, best, "by_domain"),
        "",
        breakdown_table(summary, best, "by_kind"),
        "",
        breakdown_table(summary, best, "by_note"),
        "",
        "(A question counts for every note that states its fact.)",
        "",
    ]
    line = summary.get("evidence_line")
    if line:
        parts += [
            "## Evidence lines (the lines Chat shows before the model writes)",
            "",
            "| measure | value |",
            "| --- | ---: |",
            f"| evidence line hit@1 (the first line shown holds the key) | {line['hit@1']:.3f} |",
            f"| evidence line hit@3 (one of the three lines shown holds it) | {line['hit@3']:.3f} |",
            "",
        ]
    un = summary["modes"][best]["unanswerable"]
    if un["n"]:
        parts += [
            f"Unanswerable questions: {un['n']} (skipped in the metrics). Mean top score {un['top_score_mean']} "
            f"vs {un['answerable_top_score_mean']} on answerable ones.",
            "",
        ]
    missed = misses(runs, best, k)
    parts += [f"## Misses in {best} mode ({len(missed)})", ""]
    for r in missed:
        parts.append(f"- **{r.item.id}** ({r.item.kind}, {r.item.domain}) {r.item.question}")
        parts.append(f"  - expected one of {list(r.item.answers)} in {list(r.item.sources)}")
        for got in r.retrieved:
            parts.append(f"  - got #{got['rank']} `{got['source']}` § {got['heading_path']}")
            if got["rank"] == 1:
                first = " ".join(got["text"].split())
                parts.append(f"    > {first}…")
    return "\n".join(parts) + "\n"


def write_report(out_dir: Path, summary: dict, runs: Sequence[QueryRun]) -> Path:
    """Write report.md, metrics.json and hit_at_k.png into ``out_dir``; returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_hit_curves(summary, out_dir / "hit_at_k.png")
    for name, text in (
        ("metrics.json", json.dumps(summary, indent=2)),
        ("report.md", render_report(summary, runs)),
    ):
        write_text_atomic(out_dir / name, text)
    return out_dir / "report.md"


def evaluate(
    settings: Settings,
    set_path: Path | Sequence[Path] = DEFAULT_SET,
    modes: Sequence[str] = MODES,
    k: int = 10,
    progress: Progress | None = None,
) -> tuple[dict, list[QueryRun]]:
    """Run the retrieval eval on one facts set or several read as one; returns the summary (see
    :func:`summarize`) and the per-question runs."""
    paths = [set_path] if isinstance(set_path, Path) else list(set_path)
    items = load_eval_sets(paths)
    name = sets_name(paths)
    if not any(it.answerable for it in items):
        raise MlstutorError(f"{name} has no answerable questions to score")
    unknown = [m for m in modes if m not in EVAL_MODES]
    if unknown:
        raise MlstutorError(f"unknown eval mode {unknown[0]!r}; choose from {', '.join(EVAL_MODES)} or all")
    main = Retriever.open(settings)
    retrievers = {m: (baseline_retriever(settings) if m == BASELINE else main) for m in modes}
    runs = run_retrieval(retrievers, items, k=k, progress=progress)
    summary = summarize(runs, k, name)
    summary["evidence_line"] = evidence_line_hits(main, items)
    # which encoder searched: the packaged one, or the one fitted to the notes (the web UI's once it has fitted)
    summary["encoder"] = main.embedder.name
    return summary, runs


def evidence_line_hits(retriever: Retriever, items: Sequence[EvalItem]) -> dict:
    """How often the first evidence line Chat shows (and any of the three) holds the key, from a listed note:
    line-level retrieval, finer than the passage-level hit."""
    finder = EvidenceFinder.of(retriever)
    first = any3 = n = 0
    for it in items:
        if not it.answerable:
            continue
        evidence, _ = finder.find(it.question, retriever.search(it.question, k=PASSAGES))
        ok = [holds_key(e.citation, it) for e in evidence]
        first += bool(ok and ok[0])
        any3 += any(ok[:3])
        n += 1
    return {"n": n, "hit@1": round(first / n, 4) if n else 0.0, "hit@3": round(any3 / n, 4) if n else 0.0}


# ---------------------------------------------------------------- settings sweep and set comparison

SWEEP_SIZES = (300, 600, 1000)
SWEEP_METRICS = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10")


def sweep_settings(settings: Settings, chunk_size: int, heading_context: bool) -> Settings:
    """The settings of one sweep point; its index lives in the cache folder (built once, reused after)."""
    if chunk_size == settings.chunk_size and heading_context == settings.heading_context:
        return settings
    scale = chunk_size / 600
    return settings.with_(
        chunk_size=chunk_size,
        chunk_overlap=round(120 * scale),
        min_chunk=round(250 * scale),
        heading_context=heading_context,
        index_dir=settings.cache_dir
        / "sweep"
        / f"{settings.index_dir.resolve().name}-c{chunk_size}-h{heading_context:d}",
    )


def run_sweep(
    settings: Settings,
    sets: dict[str, Sequence[EvalItem]],
    sizes: Sequence[int] = SWEEP_SIZES,
    headings: Sequence[bool] = (True, False),
    modes: Sequence[str] = MODES,
    k: int = 10,
    progress: Progress | None = None,
) -> dict:
    """Retrieval metrics for every chunk size × heading context × mode on each set (k only cuts the ranked
    list, so it is read off the hit@k columns). With two sets, how well they agree (:func:`compare_sets`)."""
    rows: list[dict] = []
    points = [(size, hc) for size in sizes for hc in headings]
    for i, (size, hc) in enumerate(points, start=1):
        point = sweep_settings(settings, size, hc)
        retriever = Retriever.open(point)
        for name, items in sets.items():
            summary = summarize(run_retrieval({m: retriever for m in modes}, items, k=k), k, name)
            for mode in modes:
                m = summary["modes"][mode]
                rows.append(
                    {
                        "set": name,
                        "chunk_size": size,
                        "heading_context": hc,
                        "mode": mode,
                        "default": size == settings.chunk_size
                        and hc == settings.heading_context
                        and mode == settings.mode,
                        **{c: m.get(c.replace("@10", f"@{k}"), 0.0) for c in SWEEP_METRICS},
                    }
                )
        if progress:
            progress(i, len(points), "sweep")
    out: dict = {"k": k, "sets": list(sets), "rows": rows}
    if len(sets) == 2:
        out["comparison"] = compare_sets(rows, *sets)
    return out


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks 1..n (highest value first), ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for t in range(i, j + 1):
            ranks[order[t]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Rank correlation of two score lists (Pearson on the ranks, so ties are handled)."""
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    if not var:  # a constant list has no order: two agree only when both are constant
        return 1.0 if ra == rb else 0.0
    return round(cov / var, 3)


def _config(row: dict) -> str:
    return f"{row['mode']}, chunks {row['chunk_size']}, headings {'on' if row['heading_context'] else 'off'}"


def compare_sets(rows: Sequence[dict], first: str, second: str) -> dict:
    """Do two facts sets (a hand-written one and a generated one) rank the settings the same way? Spearman
    correlation per metric over the sweep's configurations, and the configurations they place furthest apart."""
    a = {_config(r): r for r in rows if r["set"] == first}
    b = {_config(r): r for r in rows if r["set"] == second}
    configs = [c for c in a if c in b]
    out: dict = {"configs": len(configs), "spearman": {}}
    for metric in ("hit@1", "mrr@10", "hit@5"):
        out["spearman"][metric] = spearman([a[c][metric] for c in configs], [b[c][metric] for c in configs])
    ra = dict(zip(configs, _ranks([a[c]["mrr@10"] for c in configs])))
    rb = dict(zip(configs, _ranks([b[c]["mrr@10"] for c in configs])))
    apart = sorted(configs, key=lambda c: -abs(ra[c] - rb[c]))[:3]
    out["disagree"] = [
        {
            "config": c,
            f"rank in {first}": ra[c],
            f"rank in {second}": rb[c],
            first: a[c]["mrr@10"],
            second: b[c]["mrr@10"],
        }
        for c in apart
        if abs(ra[c] - rb[c]) >= 2
    ]
    out["best"] = {first: min(configs, key=lambda c: ra[c]), second: min(configs, key=lambda c: rb[c])}
    return out


def sweep_table(result: dict) -> str:
    """Markdown: one row per configuration, one column group per set (MRR@10 and hit@1)."""
    sets = result["sets"]
    head = "| mode | chunk size | headings | " + " | ".join(f"{s}: hit@1 · hit@5 · MRR@10" for s in sets) + " |"
    lines = [head, "| --- | ---: | --- |" + " --- |" * len(sets)]
    by: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in result["rows"]:
        by[_config(r)][r["set"]] = r
    for rs in by.values():
        r0 = next(iter(rs.values()))
        mark = " **(default)**" if r0["default"] else ""
        cells = " | ".join(
            f"{rs[s]['hit@1']:.3f} · {rs[s]['hit@5']:.3f} · {rs[s]['mrr@10']:.3f}" if s in rs else "" for s in sets
        )
        lines.append(
            f"| {r0['mode']}{mark} | {r0['chunk_size']} | {'on' if r0['heading_context'] else 'off'} | {cells} |"
        )
    return "\n".join(lines)


def plot_sweep(result: dict, path: Path) -> None:
    """MRR@10 per configuration, one bar group per chunk size and heading setting, one bar per mode and set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    groups = list(dict.fromkeys((r["chunk_size"], r["heading_context"]) for r in rows))
    series = list(dict.fromkeys((r["set"], r["mode"]) for r in rows))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(7.5, 4.0), dpi=110)
    for j, (set_name, mode) in enumerate(series):
        vals = [
            next(
                (
                    r["mrr@10"]
                    for r in rows
                    if (r["chunk_size"], r["heading_context"]) == g and r["set"] == set_name and r["mode"] == mode
                ),
                0.0,
            )
            for g in groups
        ]
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(groups))]
        ax.bar(xs, vals, width, label=f"{mode} ({set_name})" if len(result["sets"]) > 1 else mode)
    ax.set_xticks(range(len(groups)), [f"{c} chars\nheadings {'on' if h else 'off'}" for c, h in groups])
    ax.set_ylabel("MRR@10")
    ax.set_ylim(0.4, 1.0)
    ax.set_title("Retrieval by setting")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    _save_figure(fig, path)


def render_sweep(result: dict) -> str:
    """The sweep's Markdown report: the table, the plot and, for two sets, their agreement."""
    parts = [
        f"# Settings sweep: {' and '.join(result['sets'])}",
        "",
        f"Every chunk size × heading context × retrieval mode; k = {result['k']} passages (hit@k for smaller k "
        "is read off the same ranking). The default is marked.",
        "",
        sweep_table(result),
        "",
        "![MRR@10 by setting](sweep.png)",
        "",
    ]
    cmp_ = result.get("comparison")
    if cmp_:
        a, b = result["sets"]
        parts += [
            f"## Do {a} and {b} agree?",
            "",
            f"Spearman rank correlation over {cmp_['configs']} configurations: "
            + ", ".join(f"{m} {v:+.2f}" for m, v in cmp_["spearman"].items())
            + f". Best configuration by MRR@10: {a}: *{cmp_['best'][a]}*; {b}: *{cmp_['best'][b]}*.",
            "",
        ]
        if cmp_["disagree"]:
            parts.append("Where they disagree most (rank by MRR@10, 1 = best):")
            parts.append("")
            for d in cmp_["disagree"]:
                parts.append(
                    f"- {d['config']}: rank {d[f'rank in {a}']:g} in {a} ({d[a]:.3f}), "
                    f"rank {d[f'rank in {b}']:g} in {b} ({d[b]:.3f})"
                )
            parts.append("")
    return "\n".join(parts) + "\n"


def write_sweep(out_dir: Path, result: dict) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_sweep(result, out_dir / "sweep.png")
    write_text_atomic(out_dir / "sweep.json", json.dumps(result, indent=2))
    write_text_atomic(out_dir / "sweep.md", render_sweep(result))
    return out_dir / "sweep.md"


# ---------------------------------------------------------------- answers and practice-exam questions


def _stems(text: str) -> set[str]:
    """Word starts for the lenient key match; a number keeps its unit ("30d"): "after 90 days" had matched the key
    "30 days" (the short "30" was dropped and "days" matched), and "60 seconds" missed "60s"."""
    import re

    return {w[:5] for w in re.findall(r"[a-z0-9]+", join_units(text).lower()) if len(w) > 2}


def key_in_answer(answer: str, keys: Sequence[str], lenient: bool = False) -> bool:
    """Literal containment (markdown ignored), or (lenient) most of a key's words present: a model rephrases
    "24h default retention" as "24 hours by default"."""
    if contains_key(answer, keys):
        return True
    if not lenient:
        return False
    have = _stems(answer)
    return any((ks := _stems(k)) and len(ks & have) / len(ks) >= 0.6 for k in keys)


THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def answer_rows(tutor: Tutor, items: Sequence[EvalItem], progress: Progress | None = None) -> list[dict]:
    """Ask every question with abstention switched off, recording what the learner would see and every signal
    the abstention decision uses, so any calibration can be scored on the same run (:func:`score_answers`)."""
    keep = tutor.abstain_below
    tutor.abstain_below = 0.0
    rows = []
    try:
        for i, it in enumerate(items, start=1):
            ans = tutor.ask(it.question)
            keys = it.answers
            rows.append(
                {
                    "id": it.id,
                    "question": it.question,
                    "group": it.group,
                    "answerable": it.answerable,
                    "keys": list(keys),
                    "text": ans.text,
                    "evidence": [e.citation.text for e in ans.evidence],
                    "key_in_evidence": it.answerable and any(holds_key(e.citation, it) for e in ans.evidence),
                    "key_in_answer": it.answerable and key_in_answer(ans.text, keys),
                    "key_in_answer_lenient": it.answerable and key_in_answer(ans.text, keys, lenient=True),
                    "citation_ok": it.answerable and any(contains_key(c.text, keys) for c in ans.citations),
                    # what the learner reads beside a cited line: the heading it sits under ("Rekognition: Videos:
                    # detect offensive content" cites Rekognition though the line never names it)
                    "citation_ok_label": it.answerable
                    and any(contains_key(f"{tutor.label(c.heading_path)} {c.text}", keys) for c in ans.citations),
                    "has_citation": bool(ans.citations),
                    "signals": ans.signals.to_dict() if ans.signals else None,
                    "vote": ans.model_vote,
                    "support": ans.support,
                    "unsupported": ans.unsupported,
                    "evidence_ms": ans.timings.get("evidence_ms", 0.0),
                    "first_token_ms": ans.timings.get("first_token_ms", ans.timings.get("total_ms", 0.0)),
                    "total_ms": ans.timings.get("total_ms", 0.0),
                }
            )
            if progress:
                progress(i, len(items), "answers")
    finally:
        tutor.abstain_below = keep
    return rows


def _abstains(row: dict, cal: Calibration, threshold: float) -> bool:
    if row["signals"] is None:
        return True
    return cal.probability(Signals(**row["signals"]), bool(row["vote"]), row["support"]) < threshold


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return round(v[min(len(v) - 1, round(q * (len(v) - 1)))] / 1000, 2) if v else 0.0


def score_answers(rows: Sequence[dict], cal: Calibration, threshold: float | None = None) -> dict:
    """The answer metrics of recorded rows under one calibration: key in what the learner sees (evidence or
    answer) and in the answer alone, citation accuracy, abstention both ways, paraphrase consistency, latency."""
    thr = cal.threshold if threshold is None else threshold
    ans = [r for r in rows if r["answerable"]]
    un = [r for r in rows if not r["answerable"]]
    ab = {r["id"]: _abstains(r, cal, thr) for r in rows}

    def share(rs: list[dict], ok) -> float | None:
        return round(statistics.fmean(float(bool(ok(r))) for r in rs), 4) if rs else None

    def right(r: dict) -> bool:
        return not ab[r["id"]] and (r["key_in_evidence"] or r["key_in_answer_lenient"])

    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["group"]:
            groups[r["group"]].append(r)
    consistent = [all(right(r) for r in g) or all(ab[r["id"]] for r in g) for g in groups.values()]
    answered = [r for r in ans if not ab[r["id"]] and r["has_citation"]]
    return {
        "n": len(rows),
        "n_answerable": len(ans),
        "n_unanswerable": len(un),
        "threshold": thr,
        "key_in_shown": share(ans, right),
        "key_in_evidence": share(ans, lambda r: r["key_in_evidence"]),
        "key_in_answer": share(ans, lambda r: not ab[r["id"]] and r["key_in_answer"]),
        "key_in_answer_lenient": share(ans, lambda r: not ab[r["id"]] and r["key_in_answer_lenient"]),
        "citation_accuracy": share(answered, lambda r: r["citation_ok"]),
        "citation_accuracy_label": share(answered, lambda r: r.get("citation_ok_label", r["citation_ok"])),
        # where the answer states the key: is the line it cites the one that holds it (a wrong citation, as
        # against a wrong answer, whose cited line cannot hold a key the answer never states)
        "citation_accuracy_stated": share(
            [r for r in answered if r["key_in_answer_lenient"]],
            lambda r: r.get("citation_ok_label", r["citation_ok"]),
        ),
        "abstention_on_unanswerable": share(un, lambda r: ab[r["id"]]),
        "false_abstention": share(ans, lambda r: ab[r["id"]]),
        "paraphrase_groups": len(groups),
        "paraphrase_consistency": round(statistics.fmean(consistent), 4) if consistent else None,
        "evidence_s_p50": _pct([r["evidence_ms"] for r in rows], 0.5),
        "first_token_s_p50": _pct([r["first_token_ms"] for r in rows if not ab[r["id"]]], 0.5),
        "first_token_s_p95": _pct([r["first_token_ms"] for r in rows if not ab[r["id"]]], 0.95),
        "total_s_p50": _pct([r["total_ms"] for r in rows], 0.5),
        "total_s_p95": _pct([r["total_ms"] for r in rows], 0.95),
    }


def tradeoff(rows: Sequence[dict], cal: Calibration) -> list[dict]:
    """Abstention on unanswerable vs false abstention at a few thresholds (the default marked)."""
    out = []
    for thr in sorted({*THRESHOLDS, cal.threshold}):
        m = score_answers(rows, cal, thr)
        out.append(
            {
                "threshold": thr,
                "default": thr == cal.threshold,
                "abstention_on_unanswerable": m["abstention_on_unanswerable"],
                "false_abstention": m["false_abstention"],
                "key_in_shown": m["key_in_shown"],
            }
        )
    return out


def calibrate(rows: Sequence[dict], note: str = "") -> Calibration:
    """Fit the abstention model on recorded dev rows; the threshold is the highest one that keeps false
    abstention within 5%, the learner's first complaint ("it refused a question my notes answer")."""
    usable = [r for r in rows if r["signals"] is not None]
    weights = fit_calibration(
        [Signals(**r["signals"]) for r in usable],
        [bool(r["vote"]) for r in usable],
        [r["support"] for r in usable],
        [r["answerable"] for r in usable],
    )
    cal = Calibration(weights, 0.5, note)
    best = 0.05
    for thr in [x / 100 for x in range(5, 96)]:
        m = score_answers(rows, cal, thr)
        if (m["false_abstention"] or 0) <= 0.05:
            best = thr
    return Calibration(weights, best, note)


def evaluate_answers(tutor: Tutor, items: Sequence[EvalItem], progress: Progress | None = None) -> dict:
    """End-to-end answers over a facts set under the tutor's calibration, with the threshold trade-off."""
    return answers_result(answer_rows(tutor, items, progress), tutor.calibration)


def answers_result(rows: list[dict], cal: Calibration) -> dict:
    """The scores of recorded answer rows under a calibration, its threshold trade-off and the rows themselves."""
    return {**score_answers(rows, cal), "tradeoff": tradeoff(rows, cal), "rows": rows}


ANSWER_ROWS = (
    ("key fact in what the learner sees (evidence ∪ answer)", "key_in_shown", "≥ 0.90"),
    ("key fact in the evidence lines alone", "key_in_evidence", ""),
    ("key fact in the model's answer, lenient", "key_in_answer_lenient", "≥ 0.80"),
    ("key fact in the model's answer, literal", "key_in_answer", ""),
    ("citation accuracy (a cited line holds the key)", "citation_accuracy", "≥ 0.95"),
    ("citation accuracy, a cited line or the heading shown with it", "citation_accuracy_label", ""),
    ("… of the answers that state the key", "citation_accuracy_stated", ""),
    ("abstention on unanswerable questions", "abstention_on_unanswerable", "≥ 0.90"),
    ("false abstention on answerable questions", "false_abstention", "≤ 0.05"),
    ("paraphrase consistency (all 3 right or all 3 abstain)", "paraphrase_consistency", "≥ 0.90"),
    ("evidence shown, p50 (s)", "evidence_s_p50", "≤ 0.5"),
    ("first model token, p50 / p95 (s)", ("first_token_s_p50", "first_token_s_p95"), "≤ 3 (p50)"),
    ("whole answer, p50 / p95 (s)", ("total_s_p50", "total_s_p95"), "≤ 10 (p95)"),
)


def answers_table(results: dict[str, dict]) -> str:
    """Markdown: one column per facts set (``{"dev": metrics, "held-out": metrics}``), targets on the right."""
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " | target |", "| --- |" + " ---: |" * len(names) + " ---: |"]
    for label, key, target in ANSWER_ROWS:
        cells = []
        for n in names:
            m = results[n]
            keys = key if isinstance(key, tuple) else (key,)
            vals = [m.get(k) for k in keys]
            cells.append(" / ".join("–" if v is None else f"{v:.2f}" for v in vals))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    return "\n".join(lines)


def tradeoff_table(points: Sequence[dict]) -> str:
    lines = [
        "| threshold | abstention on unanswerable | false abstention | key in what the learner sees |",
        "| ---: | ---: | ---: | ---: |",
    ]

    def cell(v: float | None) -> str:  # a set without unanswerable (or answerable) questions has no share
        return "–" if v is None else f"{v:.2f}"

    for t in points:
        mark = " **(default)**" if t["default"] else ""
        lines.append(
            f"| {t['threshold']:.2f}{mark} | {cell(t['abstention_on_unanswerable'])} | {cell(t['false_abstention'])} "
            f"| {cell(t['key_in_shown'])} |"
        )
    return "\n".join(lines)


def render_answers_report(name: str, result: dict) -> str:
    """The answers report: metrics, the abstention trade-off, and every answerable question that went wrong."""
    m = result["answers"]
    parts = [
        f"# Answers on {name}",
        "",
        f"{m['n']} questions ({m['n_answerable']} answerable, {m['n_unanswerable']} unanswerable, "
        f"{m['paraphrase_groups']} paraphrase groups); model {result.get('model')} via {result.get('backend')}.",
        "",
        answers_table({name: m}),
        "",
        "## Abstention trade-off",
        "",
        tradeoff_table(m["tradeoff"]),
        "",
        "## Answerable questions whose key the learner did not see",
        "",
    ]
    for r in m.get("rows", []):
        if r["answerable"] and not (r["key_in_evidence"] or r["key_in_answer_lenient"]):
            parts.append(f"- **{r['id']}** {r['question']} — key {r['keys'][0]!r}; answer: {r['text'][:200]!r}")
    return "\n".join(parts) + "\n"


def load_mcq(path: Path) -> list[dict]:
    """Practice-exam questions: ``{"id", "question", "options": {"A": ...}, "answer": ["C"]}`` per line."""
    if not path.exists():
        raise MlstutorError(f"multiple-choice file not found: {path}")
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row["options"], dict) or not row["answer"] or not row["question"]:
                raise KeyError("options/answer")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise MlstutorError(f"{path}:{no}: not a multiple-choice item ({exc})") from exc
        out.append(row)
    return out


def evaluate_mcq(tutor: Tutor, rows: Sequence[dict], with_notes: bool, progress: Progress | None = None) -> dict:
    """Accuracy of the tutor on practice-exam questions (all keys must match exactly)."""
    right, single, multi = 0, [0, 0], [0, 0]
    seconds = []
    for i, row in enumerate(rows, start=1):
        t0 = time.perf_counter()
        got = tutor.answer_mcq(row["question"], row["options"], len(row["answer"]), with_notes=with_notes)
        seconds.append(time.perf_counter() - t0)
        ok = sorted(got) == sorted(row["answer"])
        right += ok
        bucket = single if len(row["answer"]) == 1 else multi
        bucket[0] += ok
        bucket[1] += 1
        if progress:
            progress(i, len(rows), "with notes" if with_notes else "closed book")
    return {
        "n": len(rows),
        "accuracy": round(right / len(rows), 4) if rows else None,
        "single_answer": round(single[0] / single[1], 4) if single[1] else None,
        "multi_answer": round(multi[0] / multi[1], 4) if multi[1] else None,
        "seconds_per_question": round(statistics.fmean(seconds), 2) if seconds else None,
    }
