"""The scale benchmark's own parts, without building anything: the botocore docs as notes, the table, the plot,
and the extrapolation (which must say it is one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlstutor.benchmarks import _extrapolate, _plain, botocore_notes, plot_scale, scale_table


def _row(factor: int, chars: int, build: float) -> dict:
    modes = {m: {"p50_ms": 1.0 * factor, "p95_ms": 2.0 * factor, "hit@1": 0.7, "hit@5": 0.9, "mrr@10": 0.8}
             for m in ("dense", "bm25", "hybrid")}  # fmt: skip
    return {
        "factor": factor, "measured": True, "notes": 5 + factor * 5, "library_chars": chars, "build_s": build,
        "add_s": 2.0, "add_embedded": 100, "add_reused": 1000 * factor, "index_mb": 2.0 * factor,
        "peak_rss_mb": 900.0 + 10 * factor, "modes": modes,
    }  # fmt: skip


def test_html_documentation_becomes_plain_markdown() -> None:
    doc = "<p>Creates a <code>Stream</code> &amp; more.</p><ul><li><p>One</p></li><li>Two</li></ul>"
    assert _plain(doc) == "Creates a Stream & more.\n\n* One\n\n* Two"


def test_botocore_notes_start_with_the_exam_services() -> None:
    pytest.importorskip("botocore")
    notes = botocore_notes(30_000)
    assert notes[0][0] == "aws-docs-sagemaker-01.md" and notes[0][1].startswith("# Amazon SageMaker")
    assert "<p>" not in notes[0][1] and sum(len(t) for _, t in notes) >= 30_000
    nxt = botocore_notes(1, skip=len(notes))
    assert nxt and nxt[0][0] not in {n for n, _ in notes}


def test_extrapolation_is_a_line_through_the_last_two_sizes_and_is_labelled(tmp_path: Path) -> None:
    rows = [_row(1, 200_000, 40.0), _row(4, 500_000, 100.0)]
    ext = _extrapolate(rows, 10, 100_000)  # 1.1M characters
    assert ext["measured"] is False and ext["library_chars"] == 1_100_000
    assert ext["build_s"] == pytest.approx(100 + 60 / 300_000 * 600_000, abs=1)
    table = scale_table([*rows, ext])
    assert "10× (extrapolated)" in table and "not measured" in table and "(100 of 4,100)" in table
    assert "not extrapolated" in table  # latency measured under load is not a trend to draw
    plot_scale([*rows, ext], tmp_path / "scale.png")
    assert (tmp_path / "scale.png").stat().st_size > 10_000
