"""The ``mlstutor`` command: a thin shell over the library (the web UI calls the same functions)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mlstutor.chunking import Citation
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _tqdm_progress() -> Callable[[str, int, int], None]:
    """A build-progress callback that draws one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}
    labels = {
        "chunk": "reading notes",
        "embed": "embedding passages",
        "save": "saving index",
        "fine-tune": "fitting the encoder to the notes",
    }

    def update(stage: str, done: int, total: int) -> None:
        if stage == "wait":
            print("another `mlstutor index` is building this index; waiting for it…", file=sys.stderr, flush=True)
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=labels.get(stage, stage), unit="", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        corpus_dir=args.corpus,
        index_dir=args.index_dir,
        k=getattr(args, "k", None),
        mode=getattr(args, "mode", None),
    )


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def cmd_index(args: argparse.Namespace) -> int:
    from mlstutor.index import BUILT_ELSEWHERE, build_index, index_status

    settings = _settings(args)
    status = index_status(settings)
    if status.state == "fresh" and not args.rebuild:
        print(f"index is up to date: {status.reason} ({settings.index_dir})")
        return _adapt(settings) if args.adapt else 0
    if status.state != "missing":
        print(f"rebuilding index ({status.state}: {status.reason})", file=sys.stderr)
    new = build_index(settings, _tqdm_progress(), reuse=not args.rebuild)
    m = new.manifest or {}
    if new.reason == BUILT_ELSEWHERE:
        print(f"index is up to date: {new.reason} ({m.get('n_chunks')} chunks, {settings.index_dir})")
        return 0
    print(
        f"index built: {m.get('n_chunks')} chunks from {m.get('n_docs')} notes in {m.get('build_seconds')} s "
        f"({m.get('n_embedded')} texts embedded, {m.get('n_reused')} reused from the previous build)"
    )
    return _adapt(settings) if args.adapt else 0


def _adapt(settings: Settings) -> int:
    from mlstutor.adapt import adapt_index

    info = adapt_index(settings, _tqdm_progress())
    if not info["seconds"]:
        print("this build's encoder is already fitted to its notes")
        return 0
    print(
        f"encoder adapted to these notes: {info['pairs']} practice questions, {info['epochs']} epochs, "
        f"{info['seconds']} s (search uses it from now on; MLSTUTOR_ADAPTED=0 turns it off)"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from mlstutor.index import index_status

    status = index_status(_settings(args))
    print(f"{status.state}: {status.reason}")
    return 0 if status.usable else 1


def cmd_search(args: argparse.Namespace) -> int:
    from mlstutor.evidence import EvidenceFinder
    from mlstutor.retrieval import Retriever, validate_k, validate_mode, validate_query

    settings = _settings(args)
    # validate before anything slow happens, so bad input fails in milliseconds
    validate_query(args.query, settings.max_query_chars)
    validate_mode(settings.mode)
    validate_k(settings.k)
    retriever = Retriever.open(settings, _tqdm_progress())
    hits = EvidenceFinder.of(retriever).search(args.query)
    if args.json:
        _print_json({"query": args.query.strip(), "mode": settings.mode, "results": [h.to_dict() for h in hits]})
        return 0
    for h in hits:
        also = f"  (also in {', '.join(h.also_in)})" if h.also_in else ""
        print(f"[{h.rank}] {h.chunk.source} § {h.chunk.heading}  L{h.chunk.line_start}-{h.chunk.line_end}{also}")
        for line in h.chunk.text.strip().splitlines()[:8]:
            print(f"    {line}")
        print()
    if not hits:
        print("no passage matches that question")
    return 0


def _llm_settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        corpus_dir=args.corpus,
        index_dir=args.index_dir,
        backend=args.backend,
        model=args.model,
        openai_base_url=getattr(args, "base_url", None),
        openai_model=getattr(args, "openai_model", None),
    )


def cmd_ask(args: argparse.Namespace) -> int:
    from mlstutor.retrieval import Retriever, validate_query
    from mlstutor.tutor import Tutor

    settings = _llm_settings(args)
    validate_query(args.question, settings.max_query_chars)
    tutor = Tutor(Retriever.open(settings, _tqdm_progress()), settings)
    tutor.llm  # noqa: B018 - load (or fail on) the model before anything is printed
    if args.json:
        _print_json(tutor.ask(args.question).to_dict())
        return 0
    for kind, value in tutor.ask_stream(args.question):
        if kind == "evidence":
            print("From your notes:")
            for i, ev in enumerate(value, start=1):
                print(f"  [{i}] {ev.citation.label}")
                for line in ev.citation.text.split("\n"):
                    print(f"      {line}")
            print(flush=True)
        elif kind == "answer":
            print(value.text)
            for sent in value.unsupported:
                print(f"  (left out, not in your notes: {sent})")
            if value.cut_off:
                print(f"  (cut off: {value.cut_off})")
            print(f"({value.timings['total_ms'] / 1000:.1f} s)", file=sys.stderr)
    return 0


def _print_question(i: int, q, show_key: bool) -> None:
    tag = " (scenario)" if q.scenario else ""
    print(f"\nQ{i}. [{q.domain or q.topic}{tag}] {q.stem}")
    for letter, text in q.options.items():
        print(f"   {letter}. {text}")
    if show_key:
        print(f"   answer: {', '.join(q.answer)}")
        for letter in q.options:
            r = q.rationales.get(letter, {})
            cite = f" ({Citation.from_dict(r['citation']).label})" if r.get("citation") else ""
            print(f"     {letter}: {r.get('why', '')}{cite}")


def _run_session(session, progress) -> None:
    """Ask in the terminal: the same PracticeSession the web UI uses (answers recorded to progress)."""
    from mlstutor.practice import feedback_lines

    while (q := session.current) is not None:
        _print_question(session.position + 1, q, show_key=False)
        while True:
            reply = input(f"your answer ({'two letters' if q.choose == 2 else 'a letter'}, h = hint): ").strip()
            if reply.lower() == "h":
                print(f"   hint: {q.hint}")
                continue
            try:
                fb = session.answer(reply, progress)
                break
            except MlstutorError as exc:
                print(f"   {exc}")
        if not session.exam:
            print("correct!" if fb.correct else f"not quite: the answer is {', '.join(q.answer)}")
            for line in feedback_lines(q, fb.chosen):
                print("   " + line.replace("**", "").replace("  \n", "\n     "))
        session.next()


def _progress(settings: Settings):
    """The learner's progress store; a damaged file moved aside on open is said once, on stderr."""
    from mlstutor.progress import Progress

    progress = Progress.for_data_dir(settings.data_dir)
    if progress.notice:
        print(f"warning: {progress.notice}", file=sys.stderr)
    return progress


def cmd_quiz(args: argparse.Namespace) -> int:
    from mlstutor.practice import PracticeSession, report_markdown
    from mlstutor.quiz import QuizMaster, to_anki, to_csv
    from mlstutor.retrieval import Retriever

    settings = _llm_settings(args)
    # a topic of the stored bank needs no search: the encoder loads only for a fresh topic, whose questions are all
    # drawn at once, at the start (so a rebuild by another process later cannot pull the encoder's folder away)
    master = QuizMaster(Retriever.open(settings, _tqdm_progress(), load_encoder=False), settings, seed=args.seed)
    if args.list_topics:
        for domain, topics in master.topics().items():
            print(f"{domain}: {', '.join(topics[:20])}")
        return 0
    if args.exam:
        questions = master.mock_exam(args.n if args.n != 5 else None)
        session = PracticeSession(questions, "mock exam", exam=True, minutes=180 if args.interactive else 0)
    else:
        if not args.topic:
            raise MlstutorError("give a topic with --topic (see --list-topics), or --exam for a mock exam")
        quiz = master.generate(args.topic, n=args.n, difficulty=args.difficulty)
        questions = quiz.questions
        session = PracticeSession(questions, args.topic)
    if args.csv:
        args.csv.write_text(to_csv(questions), encoding="utf-8")
    if args.anki:
        to_anki(questions, str(args.anki))
    if args.json:
        _print_json({"topic": session.topic, "questions": [q.to_dict() for q in questions]})
        return 0
    if args.interactive:
        progress = _progress(settings)
        _run_session(session, progress)
        print("\n" + report_markdown(session.finish(progress)).replace("**", ""))
        return 0
    for i, q in enumerate(questions, start=1):
        _print_question(i, q, show_key=True)
    if args.exam:
        from collections import Counter

        print("\nper domain: " + ", ".join(f"{d}: {k}" for d, k in Counter(q.domain for q in questions).items()))
    return 0


def cmd_cards(args: argparse.Namespace) -> int:
    """Flashcards from the bank's facts: list, export to Anki, or review due cards with FSRS."""
    from dataclasses import asdict

    from mlstutor.practice import flashcards, to_anki_cards
    from mlstutor.quiz import QuestionBank
    from mlstutor.retrieval import Retriever

    settings = _llm_settings(args)
    cards = flashcards(
        QuestionBank.of(Retriever.open(settings, _tqdm_progress(), load_encoder=False)), args.topic or ""
    )
    if args.anki:
        to_anki_cards(cards, str(args.anki))
        print(f"{len(cards)} cards written to {args.anki}")
        return 0
    if not args.review:
        for c in cards[: args.n]:
            print(f"- {c.front}\n    → {c.back}  ({Citation.from_dict(c.citation).label})")
        print(f"{len(cards)} cards", file=sys.stderr)
        return 0
    progress = _progress(settings)
    seen = progress.card_ids()
    due = [c for c in cards if c.id in {d["id"] for d in progress.due_flashcards()}]
    queue = (due + [c for c in cards if c.id not in seen])[: args.n]
    for c in queue:
        input(f"\n{c.front}\n(press Enter to see the back)")
        print(f"→ {c.back}\n  ({Citation.from_dict(c.citation).label})")
        while (r := input("1 Again, 2 Hard, 3 Good, 4 Easy: ").strip()) not in ("1", "2", "3", "4"):
            pass
        nxt = progress.review_flashcard(c.id, asdict(c), int(r))
        print(f"  next review: {nxt:%Y-%m-%d %H:%M}")
    n, kept = progress.retention()
    print(f"\nreviews in 30 days: {n}; retention {kept:.0%}" if kept is not None else "no reviews yet")
    return 0


def cmd_bank(args: argparse.Namespace) -> int:
    """Show the question bank; with --scenarios N, let the model write up to N scenario stems (cached)."""
    from mlstutor.llm import get_llm
    from mlstutor.quiz import QuestionBank, fill_scenarios
    from mlstutor.retrieval import Retriever

    settings = _llm_settings(args)
    bank = QuestionBank.of(Retriever.open(settings, _tqdm_progress(), load_encoder=False))
    if args.scenarios:
        bar = _tqdm_counter("scenario stems")
        added = fill_scenarios(
            bank, get_llm(settings), settings.data_dir, settings.profile, args.scenarios, lambda d, t: bar(d, t, "")
        )
        print(f"{added} scenario stems added", file=sys.stderr)
    from collections import Counter

    s = bank.stats
    kinds = Counter("scenario" if q.scenario else q.kind for q in bank.items)
    domains = Counter(q.domain for q in bank.items)
    info = {
        "facts": s.facts,
        "drafted": s.drafted,
        "kept": len(bank.items),
        "rejected": s.rejected,
        "types": dict(kinds),
        "domains": dict(domains),
        "seconds": round(s.seconds, 2),
    }
    _print_json(info)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from mlstutor.ui import launch

    settings = _llm_settings(args)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.auth:
        print("warning: the UI is reachable from other machines without --auth user:password", file=sys.stderr)
    launch(settings, host=args.host, port=args.port, auth=args.auth)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from mlstutor.benchmarks import run_quiz_bench, run_retrieval_bench

    if args.load:
        from mlstutor.benchmarks import run_load_bench

        result = run_load_bench(
            _llm_settings(args),
            learners=args.learners,
            practicing=args.practicing,
            log=lambda m: print(m, file=sys.stderr),
        )
        if args.json:
            _print_json(result)
        else:
            print(result["table"])
        bad = any(k["errors"] or k["lost"] for k in result["kinds"].values()) or not result["progress_isolated"]
        return 1 if bad else 0

    if args.scale:
        from mlstutor.benchmarks import run_scale_bench

        factors = tuple(int(f) for f in args.factors.split(","))
        result = run_scale_bench(
            _settings(args), factors=factors, budget_s=args.budget, log=lambda m: print(m, file=sys.stderr)
        )
        if args.report:
            args.report.mkdir(parents=True, exist_ok=True)
            (args.report / "scale.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        if args.json:
            _print_json(result)
        else:
            print(result["table"])
        return 0

    if args.quiz:
        from mlstutor.practice import feedback_markdown
        from mlstutor.quiz import Question

        settings = _llm_settings(args)
        result = run_quiz_bench(
            settings,
            n=args.n,
            progress=_tqdm_counter("quiz bench"),
            tutor_check=not args.no_tutor,
            scenarios=args.scenarios,
        )
        if args.report:
            args.report.mkdir(parents=True, exist_ok=True)
            (args.report / "quiz_bench.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
            lines = ["# Ten bank questions, chosen by seed 2026 (not by hand)", ""]
            for i, q in enumerate(map(Question.from_dict, result["sample"]), start=1):
                tag = "scenario" if q.scenario else q.kind
                lines += [f"**{i}. [{tag}, {q.domain}]** {q.stem}", "", feedback_markdown(q, []), ""]
            (args.report / "sample_questions.md").write_text("\n".join(lines), encoding="utf-8")
        _print_json(result if args.json else {k: v for k, v in result.items() if k not in ("questions", "sample")})
        return 0

    result = run_retrieval_bench(_settings(args), repeats=args.repeats)
    if args.json:
        _print_json(result)
    else:
        print(result["table"])
    return 0


def _tqdm_counter(desc: str) -> Callable[[int, int, str], None]:
    """A progress callback (done, total, label) drawing one tqdm bar."""
    from tqdm import tqdm

    state: dict[str, tqdm] = {}

    def update(done: int, total: int, label: str) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, desc=desc, file=sys.stderr)
        bar.set_postfix_str(label, refresh=False)
        bar.update(done - bar.n)  # respects tqdm's redraw interval
        if done >= total:
            bar.close()

    return update


def cmd_eval(args: argparse.Namespace) -> int:
    from mlstutor.evaluation import EVAL_MODES, MODES, best_mode, evaluate, metrics_table, write_report

    settings = _llm_settings(args)
    if args.action == "generate":
        return _eval_generate_set(args, settings)
    args.set = args.set or [Path("eval/facts.jsonl")]
    if args.action == "sweep":
        return _eval_sweep(args, settings)
    if args.answers or args.mcq:
        return _eval_generation(args, settings)
    modes = list(EVAL_MODES) if args.mode == "all" else [args.mode] if args.mode else list(MODES)
    if not 1 <= args.k <= 50:
        raise MlstutorError(f"--k must be between 1 and 50, not {args.k}")
    summary, runs = evaluate(settings, args.set, modes, k=args.k, progress=_tqdm_counter("eval"))
    if args.report:
        path = write_report(args.report, summary, runs)
        print(f"report written to {path}", file=sys.stderr)
    if args.json:
        _print_json(summary)
    else:
        print(metrics_table(summary))
        print(f"\nbest mode: {best_mode(summary)}")
    return 0


def _eval_generate_set(args: argparse.Namespace, settings: Settings) -> int:
    """``eval generate``: a known-facts set for the notes (all, or ``--notes``), written as editable JSONL."""
    from mlstutor.evalgen import generate_set, write_set
    from mlstutor.llm import get_llm
    from mlstutor.retrieval import Retriever

    if not 1 <= args.n <= 2000:
        raise MlstutorError(f"--n must be between 1 and 2000, not {args.n}")
    retriever = Retriever.open(settings, _tqdm_progress())
    items, report = generate_set(
        retriever,
        get_llm(settings),
        args.n,
        notes=args.notes,
        n_unanswerable=args.unanswerable,
        seed=args.seed,
        progress=_tqdm_counter("generate"),
    )
    write_set(items, args.out)
    info = {"written": str(args.out), "items": len(items), **report.to_dict()}
    if args.json:
        _print_json(info)
    else:
        print(
            f"{len(items)} questions written to {args.out} ({report.kept} answerable of {report.tried} tried, "
            f"{report.unanswerable_kept} unanswerable) in {report.seconds:.0f} s"
        )
        for why, n in report.rejected.most_common():
            print(f"  dropped {n}: {why}")
    return 0


def _eval_sweep(args: argparse.Namespace, settings: Settings) -> int:
    """``eval sweep``: retrieval over chunk size × heading context × mode; with two ``--set``, do they agree?"""
    from mlstutor.evaluation import load_eval_set, run_sweep, sweep_table, write_sweep

    if len(args.set) > 2:
        raise MlstutorError("eval sweep compares at most two sets (e.g. a hand-written one and a generated one)")
    sizes = tuple(int(x) for x in args.sizes.split(",") if x.strip())
    if not sizes or min(sizes) < 100:
        raise MlstutorError(f"--sizes must be chunk sizes of at least 100 characters, not {args.sizes!r}")
    sets = {p.name: load_eval_set(p) for p in args.set}
    result = run_sweep(settings, sets, sizes=sizes, k=args.k, progress=_tqdm_counter("sweep"))
    if args.report:
        print(f"report written to {write_sweep(args.report, result)}", file=sys.stderr)
    if args.json:
        _print_json(result)
    else:
        print(sweep_table(result))
        cmp_ = result.get("comparison")
        if cmp_:
            print(
                "\nSpearman rank correlation of the sets: "
                + ", ".join(f"{m} {v:+.2f}" for m, v in cmp_["spearman"].items())
            )
    return 0


def _eval_generation(args: argparse.Namespace, settings: Settings) -> int:
    """``eval --answers [--calibrate]`` (the tutor's answers over facts sets) and ``eval --mcq FILE``."""
    from mlstutor.evaluation import (
        answer_rows,
        answers_result,
        calibrate,
        evaluate_answers,
        evaluate_mcq,
        load_eval_sets,
        load_mcq,
    )
    from mlstutor.retrieval import Retriever
    from mlstutor.tutor import Tutor

    tutor = Tutor(Retriever.open(settings, _tqdm_progress()), settings)
    result: dict = {
        "model": settings.model if settings.backend == "llamacpp" else settings.openai_model,
        "backend": settings.backend,
        "sets": [str(p) for p in args.set],
    }
    if args.answers:
        items = load_eval_sets(args.set)[: args.limit or None]
        if args.calibrate:
            rows = answer_rows(tutor, items, _tqdm_counter("answers"))
            cal = calibrate(rows, note=f"fitted on {', '.join(p.name for p in args.set)} ({len(rows)} questions)")
            cal.save()
            tutor.calibration = cal
            result["calibration"] = {"weights": cal.weights, "threshold": cal.threshold}
            result["answers"] = answers_result(rows, cal)
        else:
            result["answers"] = evaluate_answers(tutor, items, _tqdm_counter("answers"))
    if args.mcq:
        rows = load_mcq(args.mcq)[: args.limit or None]
        result["mcq"] = {
            "with_notes": evaluate_mcq(tutor, rows, True, _tqdm_counter("mcq with notes")),
            "closed_book": evaluate_mcq(tutor, rows, False, _tqdm_counter("mcq closed book")),
        }
    if args.report:
        args.report.mkdir(parents=True, exist_ok=True)
        name = "answers.json" if args.answers else "mcq.json"
        if args.answers and args.mcq:
            name = "generation.json"
        (args.report / name).write_text(json.dumps(result, indent=2), encoding="utf-8")
        if args.answers:
            from mlstutor.evaluation import render_answers_report, sets_name

            report = render_answers_report(sets_name(args.set), result)
            (args.report / "answers.md").write_text(report, encoding="utf-8")
    if args.json:
        _print_json(result)
    else:
        shown = {
            k: ({m: v for m, v in val.items() if m != "rows"} if isinstance(val, dict) else val)
            for k, val in result.items()
        }
        print(json.dumps(shown, indent=2))
    return 0


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default=None, help="llamacpp (local, default) | openai (any compatible server)")
    p.add_argument(
        "--model", default=None, help="preset (qwen2.5-coder-1.5b, qwen2.5-coder-0.5b, smollm2-135m) or a .gguf path"
    )
    p.add_argument("--base-url", default=None, help="OpenAI-compatible server URL (or OPENAI_BASE_URL)")
    p.add_argument("--openai-model", default=None, help="model name on that server (or OPENAI_MODEL)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlstutor", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=None, help="notes folder (default: ./corpus)")
    parser.add_argument("--index-dir", type=Path, default=None, help="index folder (default: ./index)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or refresh the search index")
    p.add_argument("--rebuild", action="store_true", help="rebuild from scratch (embed everything again)")
    p.add_argument(
        "--adapt", action="store_true", help="then fine-tune the encoder on the notes' practice questions (~1.5 min)"
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("status", help="is the index fresh, stale, missing or corrupt?")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("search", help="find the note passages for a question")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--mode", default=None, help="dense | bm25 | hybrid (default hybrid)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question from the notes with citations")
    p.add_argument("question")
    _add_model_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("quiz", help="exam-style practice questions on a topic, verified against the notes")
    p.add_argument("--topic", default=None)
    p.add_argument("-n", type=int, default=5)
    p.add_argument("--difficulty", default="medium", help="easy | medium | hard (hard asks choose-two)")
    p.add_argument("--exam", action="store_true", help="a mock exam: 65 questions by the exam blueprint")
    p.add_argument("--seed", type=int, default=None, help="same seed, same questions")
    _add_model_args(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--interactive", action="store_true", help="ask in the terminal and keep score")
    p.add_argument("--csv", type=Path, default=None, help="also export to this CSV file")
    p.add_argument("--anki", type=Path, default=None, help="also export to this Anki .apkg file")
    p.add_argument("--list-topics", action="store_true")
    p.set_defaults(func=cmd_quiz)

    p = sub.add_parser("cards", help="flashcards from the notes' facts: list, --review (FSRS) or --anki export")
    p.add_argument("--topic", default=None)
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--review", action="store_true", help="review due and new cards in the terminal")
    p.add_argument("--anki", type=Path, default=None, help="write an Anki .apkg deck")
    _add_model_args(p)
    p.set_defaults(func=cmd_cards)

    p = sub.add_parser("bank", help="the practice-question bank: counts; --scenarios N lets the model write stems")
    p.add_argument("--scenarios", type=int, default=0)
    _add_model_args(p)
    p.set_defaults(func=cmd_bank)

    p = sub.add_parser("ui", help="open the web UI (what `python app.py` runs)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("MLSTUTOR_PORT", "7860")))
    p.add_argument("--auth", default=None, help="user:password, recommended when --host is not loopback")
    _add_model_args(p)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("eval", help="score retrieval on a known-facts set (metrics, report, plot)")
    p.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=("run", "generate", "sweep"),
        help="run (default): score a set; generate: write a set for your notes; sweep: compare settings",
    )
    p.add_argument("--notes", action="append", default=None, help="with generate: only these note files (repeat)")
    p.add_argument("--n", type=int, default=100, help="with generate: answerable questions to write")
    p.add_argument("--unanswerable", type=int, default=None, help="with generate: unanswerable ones (default n/4)")
    p.add_argument("--seed", type=int, default=0, help="with generate: which statements are drawn")
    p.add_argument("--out", type=Path, default=Path("eval/generated.jsonl"), help="with generate: the JSONL to write")
    p.add_argument("--sizes", default="300,600,1000", help="with sweep: chunk sizes in characters")
    p.add_argument("--set", type=Path, action="append", default=None, help="JSONL facts file (repeat to join sets)")
    p.add_argument("--mode", default=None, help="dense | bm25 | hybrid | baseline | all (default: the three modes)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("--report", type=Path, default=None, help="folder for report.md, metrics.json, hit_at_k.png")
    p.add_argument("--answers", action="store_true", help="score the tutor's answers over the facts set")
    p.add_argument("--mcq", type=Path, default=None, help="practice-exam JSONL: accuracy with notes and closed-book")
    p.add_argument("--limit", type=int, default=0, help="only the first N items (quick checks)")
    p.add_argument(
        "--calibrate", action="store_true", help="with --answers: fit the abstention model on these (dev) sets"
    )
    _add_model_args(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="time index build, cold start and query latency on this machine")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quiz", action="store_true", help="practice-question benchmark (10 topics x n) instead")
    p.add_argument("--no-tutor", action="store_true", help="with --quiz: skip the tutor's own accuracy (no model)")
    p.add_argument(
        "--scenarios", type=int, default=0, help="with --quiz: first let the model write up to N scenario stems"
    )
    p.add_argument("--load", action="store_true", help="load benchmark: learners asking at once through the web UI")
    p.add_argument("--learners", type=int, default=20, help="with --load: learners asking chat questions at once")
    p.add_argument(
        "--scale", action="store_true", help="scale benchmark: botocore's AWS docs as a large library (1x, 10x, 100x)"
    )
    p.add_argument("--factors", default="1,10,100", help="with --scale: library sizes, times today's notes")
    p.add_argument("--budget", type=float, default=1200, help="with --scale: seconds; a longer size is extrapolated")
    p.add_argument("--practicing", type=int, default=5, help="with --load: learners starting a quiz at once")
    p.add_argument("-n", type=int, default=5)
    p.add_argument("--report", type=Path, default=None)
    _add_model_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MlstutorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
