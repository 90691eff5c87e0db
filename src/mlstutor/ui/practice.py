"""The Practice tab (a quiz on a topic from the bank) and the Exam tab (a timed mock exam by the blueprint).

Both drive one :class:`~mlstutor.practice.PracticeSession` kept in the browser session's ``gr.State``: two
learners on one server never share a quiz, a position or a score. Answers go to the progress store of the
request's login (:meth:`Services.progress_for`); which bank questions this session has already been asked is
kept in the session too. Practice draws from the question bank and uses no model per request, so the model
chosen in Chat's *Advanced* settings has nothing to change here.
"""

from __future__ import annotations

import gradio as gr

from mlstutor.cores import foreground
from mlstutor.errors import MlstutorError
from mlstutor.practice import PracticeSession, feedback_lines, flashcards, report_markdown
from mlstutor.quiz import DIFFICULTIES
from mlstutor.text import count
from mlstutor.ui.services import Services, friendly

HIDDEN = gr.update(visible=False, value=None)


def question_view(session: PracticeSession | None, done: str) -> tuple:
    """(stem markdown, single-choice radio, choose-two checkboxes) for the session's current question."""
    q = session.current if session else None
    if q is None:
        return done, HIDDEN, gr.update(visible=False, value=[])
    tags = " · ".join(t for t in (q.domain, "scenario" if q.scenario else "", f"choose {q.choose}") if t)
    stem = f"**Question {session.position + 1} of {len(session.questions)}** · {tags}\n\n{q.stem}"
    choices = [f"{k}. {v}" for k, v in q.options.items()]
    if session.exam and session.position in session.chosen:
        picked = [f"{k}. {q.options[k]}" for k in session.chosen[session.position]]
    else:
        picked = []
    if q.choose == 2:
        return stem, HIDDEN, gr.update(visible=True, choices=choices, value=picked)
    return (
        stem,
        gr.update(visible=True, choices=choices, value=picked[0] if picked else None),
        gr.update(visible=False, value=[]),
    )


def _letters(single: str | None, multi: list[str] | None) -> list[str]:
    picked = multi if multi else ([single] if single else [])
    return [p.split(".")[0] for p in picked]


def _score(session: PracticeSession | None) -> str:
    if not session or not session.answered:
        return ""
    return f"Score: {session.right}/{session.answered}"


def build(svc: Services) -> tuple:
    """Practice and Exam tabs; returns the topic dropdown (filled when the page loads)."""

    # ---------------- practice
    def start(picked: str, free: str, n: int, difficulty: str, seed: float | None, asked: list[str]) -> tuple:
        topic = (free or "").strip() or (picked or "").split(" › ")[-1]
        try:
            qm = svc.quizmaster(int(seed) if seed else None)
            qm.asked = set(asked or [])  # this session's earlier quizzes: no repeats until the topic runs out
            with foreground():
                quiz = qm.generate(topic, n=int(n), difficulty=difficulty)
        except Exception as exc:
            return None, friendly(exc), HIDDEN, gr.update(visible=False, value=[]), "", "", "", asked
        session = PracticeSession(quiz.questions, topic)
        scen = sum(q.scenario for q in quiz.questions)
        note = f"{count(len(quiz.questions), 'question')} on **{topic}** from your notes' question bank"
        note += f" ({count(scen, 'scenario')})." if scen else "."
        if quiz.again:
            note += f" You have had every question on {topic} in this session: these come round again."
        elif len(quiz.questions) < int(n):
            note += (
                f" You asked for {int(n)}: these are all the new ones your notes give on it in this session (none"
                f" repeats a fact you were asked before, and none has {topic} itself as the answer, which the quiz's"
                " name would give away)."
            )
            cards = len(flashcards(qm.bank, topic))
            if cards:  # a fact too thin for four fair options still makes a card
                note += f" To go on: **{count(cards, 'flashcard')} on {topic}** (Flashcards tab, topic “{topic}”)."
        return session, *question_view(session, ""), "", "", note, sorted(qm.asked)

    def review(request: gr.Request) -> tuple:
        try:
            due = svc.progress_for(request).due()
        except MlstutorError as exc:
            return None, f"⚠️ {exc}", HIDDEN, gr.update(visible=False, value=[]), "", "", ""
        if not due:
            return None, "Nothing is due for review. 🎉", HIDDEN, gr.update(visible=False, value=[]), "", "", ""
        session = PracticeSession(due, "review")
        return session, *question_view(session, ""), "", "", f"{count(len(due), 'question')} due for review."

    def submit(
        session: PracticeSession | None, single: str | None, multi: list[str] | None, request: gr.Request
    ) -> tuple:
        if session is None or session.current is None:
            return session, "Start a quiz first.", ""
        try:
            fb = session.answer(_letters(single, multi), svc.progress_for(request))
        except MlstutorError as exc:
            return session, f"⚠️ {exc}", _score(session)
        return session, fb.markdown, _score(session)

    def hint(session: PracticeSession | None) -> str:
        q = session.current if session else None
        return f"💡 {q.hint}" if q and q.hint else "Start a quiz first."

    def next_q(session: PracticeSession | None) -> tuple:
        if session is None:
            return session, "Start a quiz first.", HIDDEN, gr.update(visible=False, value=[]), ""
        session.next()
        done = f"**Done!** {_score(session)}. Start another quiz or review due questions."
        return session, *question_view(session, done), ""

    with gr.Tab("Practice", id="practice"):
        state = gr.State(None)
        asked = gr.State([])  # bank question ids this session was asked (no repeats across its quizzes)
        with gr.Row():
            topic = gr.Dropdown([], label="Topic (exam domain › subject)", allow_custom_value=True, elem_id="topic")
            free = gr.Textbox(label="…or any topic", placeholder="e.g. S3 encryption", elem_id="free-topic")
            n = gr.Slider(1, 20, value=10, step=1, label="Questions")
            difficulty = gr.Radio(list(DIFFICULTIES), value="medium", label="Difficulty")
            seed = gr.Number(value=None, label="Seed (optional)", precision=0, visible=False)
        with gr.Row():
            gen_btn = gr.Button("Start quiz", variant="primary", elem_id="generate")
            review_btn = gr.Button("Review due questions")
        note = gr.Markdown(elem_id="practice-note")
        stem = gr.Markdown(elem_id="stem")
        single = gr.Radio([], label="Your answer", visible=False, elem_id="single")
        multi = gr.CheckboxGroup([], label="Choose two", visible=False, elem_id="multi")
        with gr.Row():
            submit_btn = gr.Button("Submit", elem_id="submit")
            hint_btn = gr.Button("Hint", elem_id="hint")
            next_btn = gr.Button("Next question", elem_id="next")
        verdict = gr.Markdown(elem_id="verdict")
        score = gr.Markdown(elem_id="score")
        out = [state, stem, single, multi, verdict, score, note]
        gen_btn.click(start, [topic, free, n, difficulty, seed, asked], [*out, asked], api_name="practice_start")
        review_btn.click(review, None, out, api_name="practice_review")
        submit_btn.click(submit, [state, single, multi], [state, verdict, score], api_name="practice_submit")
        hint_btn.click(hint, [state], [verdict])
        next_btn.click(next_q, [state], [state, stem, single, multi, verdict])

    # ---------------- mock exam
    def exam_start() -> tuple:
        try:
            with foreground():
                qs = svc.quizmaster().mock_exam()
        except Exception as exc:
            return None, friendly(exc), HIDDEN, gr.update(visible=False, value=[]), "", ""
        session = PracticeSession(qs, "mock exam", exam=True, minutes=180)
        counts = {}
        for q in qs:
            counts[q.domain] = counts.get(q.domain, 0) + 1
        plan = ", ".join(f"{d} {k}" for d, k in counts.items())
        note = f"{len(qs)} questions ({plan}); 180 minutes. Answers are revealed when you hand in."
        return session, *question_view(session, ""), note, clock(session)

    def clock(session: PracticeSession | None) -> str:
        if session is None or session.finished:
            return ""
        left = session.seconds_left() or 0
        hms = f"{int(left // 3600)}:{int(left % 3600 // 60):02d}:{int(left % 60):02d}"
        return f"⏱ {hms} left · answered {session.answered} of {len(session.questions)}"

    def exam_answer(session: PracticeSession | None, single: str | None, multi: list[str] | None, step: int):
        if session is None or session.finished:
            return session, "Start a mock exam first.", HIDDEN, gr.update(visible=False, value=[]), "", ""
        msg = ""
        letters = _letters(single, multi)
        if letters:
            try:
                session.answer(letters)
            except MlstutorError as exc:
                msg = f"⚠️ {exc}"
                if session.finished:
                    return session, report_markdown(session.report()), HIDDEN, gr.update(visible=False), msg, ""
        if not msg:
            session.go(session.position + step)
        return session, *question_view(session, "All questions seen: hand in when ready."), msg, clock(session)

    def hand_in(session: PracticeSession | None, request: gr.Request) -> tuple:
        if session is None:
            return session, "Start a mock exam first.", HIDDEN, gr.update(visible=False, value=[]), "", ""
        try:
            report = session.finish(svc.progress_for(request))
        except MlstutorError as exc:
            return session, gr.skip(), gr.skip(), gr.skip(), f"⚠️ {exc}", clock(session)
        return session, report_markdown(report), HIDDEN, gr.update(visible=False, value=[]), "", ""

    with gr.Tab("Mock exam", id="exam"):
        exam = gr.State(None)
        gr.Markdown(
            "65 questions drawn from your notes by the MLS-C01 blueprint (Data Engineering 20 %, Exploratory Data "
            "Analysis 24 %, Modeling 36 %, ML Implementation and Operations 20 %), 180 minutes. The score is an "
            "estimate from your own notes, not a prediction of the real exam."
        )
        exam_btn = gr.Button("Start mock exam", variant="primary", elem_id="exam-start")
        exam_note = gr.Markdown()
        exam_clock = gr.Markdown(elem_id="exam-clock")
        exam_stem = gr.Markdown(elem_id="exam-stem")
        exam_single = gr.Radio([], label="Your answer", visible=False, elem_id="exam-single")
        exam_multi = gr.CheckboxGroup([], label="Choose two", visible=False, elem_id="exam-multi")
        with gr.Row():
            prev_btn = gr.Button("← Previous")
            save_btn = gr.Button("Save answer & next →", elem_id="exam-next")
            hand_btn = gr.Button("Hand in", variant="stop", elem_id="exam-hand-in")
        exam_msg = gr.Markdown()
        view = [exam, exam_stem, exam_single, exam_multi, exam_msg, exam_clock]
        exam_btn.click(exam_start, None, [exam, exam_stem, exam_single, exam_multi, exam_note, exam_clock])
        save_btn.click(lambda s, a, b: exam_answer(s, a, b, 1), [exam, exam_single, exam_multi], view)
        prev_btn.click(lambda s, a, b: exam_answer(s, a, b, -1), [exam, exam_single, exam_multi], view)
        hand_btn.click(hand_in, [exam], view)
        gr.Timer(5.0).tick(clock, [exam], [exam_clock])
    return topic


__all__ = ["build", "feedback_lines", "question_view"]
