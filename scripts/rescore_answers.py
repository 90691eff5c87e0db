"""Re-score recorded answers (``mlstutor eval --answers`` reports) after a change to the abstention signals,
without asking the model again (a dev run takes 20 minutes on two cores).

The evidence of each question is looked up again and must be the lines that were recorded: then the model would
be given the same prompt and write the same reply (temperature 0), and only the signals change. Rows whose
evidence differs are left as recorded and counted. With ``--calibrate`` the abstention model is refitted on the
first report(s) given (the dev sets) and saved, as ``eval --answers --calibrate`` would. Each report's JSON and
its Markdown twin (same name, ``.md``) are rewritten.

    python scripts/rescore_answers.py --calibrate eval/report/answers-dev.json --also eval/report/answers-heldout.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlstutor.config import Settings
from mlstutor.evaluation import answers_result, calibrate, render_answers_report
from mlstutor.evidence import Calibration
from mlstutor.retrieval import Retriever
from mlstutor.tutor import Tutor


def rescore(tutor: Tutor, path: Path) -> tuple[dict, int]:
    """The report with each row's signals recomputed; how many rows kept their recorded signals."""
    report = json.loads(path.read_text(encoding="utf-8"))
    stale = 0
    for row in report["answers"]["rows"]:
        if row["signals"] is None:
            continue
        evidence, signals = tutor.evidence(row["question"])
        if [e.citation.text for e in evidence] != row["evidence"]:
            stale += 1
            continue
        row["signals"] = signals.to_dict()
    return report, stale


def write(path: Path, report: dict, cal: Calibration) -> None:
    rows = report["answers"]["rows"]
    report["answers"] = answers_result(rows, cal)
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    name = " + ".join(Path(s).name for s in report.get("sets", [])) or path.stem
    path.with_suffix(".md").write_text(render_answers_report(name, report), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calibrate", type=Path, action="append", default=[], help="dev report(s) to fit on")
    ap.add_argument("--also", type=Path, action="append", default=[], help="report(s) to score only")
    args = ap.parse_args()
    settings = Settings.from_env()
    tutor = Tutor(Retriever.open(settings), settings)
    reports = {p: rescore(tutor, p) for p in [*args.calibrate, *args.also]}
    for p, (_, stale) in reports.items():
        print(f"{p}: {stale} rows with different evidence kept as recorded")
    cal = tutor.calibration
    if args.calibrate:
        dev_rows = [r for p in args.calibrate for r in reports[p][0]["answers"]["rows"]]
        sets = ", ".join(Path(s).name for p in args.calibrate for s in reports[p][0].get("sets", []))
        cal = calibrate(dev_rows, note=f"fitted on {sets} ({len(dev_rows)} questions; signals re-scored)")
        cal.save()
        print("calibration:", cal.weights, "threshold", cal.threshold)
    for p, (report, _) in reports.items():
        if p in args.calibrate:
            report["calibration"] = {"weights": cal.weights, "threshold": cal.threshold}
        write(p, report, cal)
        m = report["answers"]
        print(p, {k: m[k] for k in ("abstention_on_unanswerable", "false_abstention", "key_in_shown")})


if __name__ == "__main__":
    main()
