"""End-to-end: the real app in a subprocess, driven by Playwright in Debian's Chromium."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlstutor.evidence import SHOWN
from mlstutor.ui import sanitize_filename

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def test_sanitize_filename() -> None:
    assert sanitize_filename("../../etc/passwd") == "passwd.md"
    assert sanitize_filename("My Notes (v2).TXT") == "My-Notes-v2.txt"
    assert sanitize_filename("???.md") == "note.md"


def test_each_left_out_claim_is_quoted_on_its_own() -> None:
    """A learner pass showed two left-out claims in one quotation, nested quotes and all."""
    from mlstutor.tutor import Answer
    from mlstutor.ui.chat import answer_markdown

    left = [
        "especially when dealing with big data scaling issues (your notes say that of “Undersampling the…”)",
        "It is 5 TB.",
    ]
    shown = answer_markdown(Answer("When should I use SMOTE?", [], "SMOTE is …", [], False, unsupported=left))
    assert "“especially when dealing with big data scaling issues” (your notes say that of “Undersampling the…”)" in (
        shown
    )
    assert "· “It is 5 TB.”" in shown


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(settings, retriever, tmp_path_factory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("ui")
    corpus = base / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    shutil.copytree(settings.index_dir, base / "index")  # start from a built index, as a returning user would
    port = _free_port()
    env = {
        **os.environ,
        "MLSTUTOR_CORPUS_DIR": str(corpus),
        "MLSTUTOR_INDEX_DIR": str(base / "index"),
        "MLSTUTOR_DATA_DIR": str(base / "data"),
        "MLSTUTOR_CACHE_DIR": str(base / "cache"),
        "MLSTUTOR_MODEL": "smollm2-135m",
        "MLSTUTOR_MAX_TOKENS": "60",
        "MLSTUTOR_BANK_SCENARIOS": "0",
        "MLSTUTOR_ADAPTED": "0",  # no 1.5-minute fit competing with the browser (tests/test_adapt.py has its own)
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    log = open(base / "app.log", "w")  # noqa: SIM115 - stays open for the server's whole life
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=base,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("app exited: " + (base / "app.log").read_text()[-2000:])
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
    assert "Traceback" not in (base / "app.log").read_text()


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        pg = browser.new_page(viewport={"width": 1280, "height": 1000})
        pg.set_default_timeout(120_000)
        pg.goto(app_url)
        pg.wait_for_selector("#question textarea")
        yield pg
        browser.close()


def test_chat_shows_evidence_lines_then_the_answer(page) -> None:
    from playwright.sync_api import expect

    page.wait_for_function("document.querySelector('#status').innerText.includes('passages from')")
    page.fill("#question textarea", "How large can a Kinesis record be?")  # the README's example
    page.click("#ask")
    page.wait_for_selector("#passages .evidence")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('⏱')")
    cards = page.locator("#passages .evidence")
    assert 1 <= cards.count() <= SHOWN
    if cards.count() == SHOWN:  # the one the model was not given says so
        assert "more from your notes" in cards.nth(SHOWN - 1).inner_text()
    text = page.inner_text("#passages").replace(" ", "")
    assert ".md§" in text and "line" in text and "1MB" in text  # the key line, where it is, before the model
    assert page.locator("#passages mark").count() >= 1
    expect(page.locator("#question textarea")).to_be_enabled()  # off only while the model's turn is pending
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)


def test_empty_question_is_harmless(page) -> None:
    page.fill("#question textarea", "   ")
    page.click("#ask")
    time.sleep(1)
    assert "Traceback" not in page.content()


MCQ = (
    "Which service delivers streaming data to Amazon S3 without writing consumer code?\n"
    "A. Kinesis Data Firehose\nB. AWS Glue\nC. Amazon Athena\nD. Amazon Comprehend"
)


def test_evidence_shows_at_once_while_the_model_is_busy(app_url, settings) -> None:
    """Issue #11: the evidence event needs no model and has its own queue, so a learner sees the lines of their
    notes while other learners' answers are still queued or streaming in the model's one-at-a-time queue. The
    model's event (``/chat`` after ``/chat_evidence``, as the browser chains them) explains that evidence without
    repeating the question; a pasted exam question goes through the same two events; ``/chat`` alone still does
    everything; a refused question is said once."""
    from gradio_client import Client

    q = "How large can a Kinesis record be?"
    model = ("llamacpp", "smollm2-135m", "", "", "", 5, settings.mode)
    asked = [q] * 4 + [MCQ]
    chained = [Client(app_url, verbose=False) for _ in asked]
    alone, late, refused = (Client(app_url, verbose=False) for _ in range(3))
    shown = [c.predict(text, [], 5, settings.mode, api_name="/chat_evidence") for c, text in zip(chained, asked)]
    assert all("passage-card" in out[1] for out in shown[:4]) and "for each option" in shown[4][1]
    jobs = [c.submit(text, out[0], *model, api_name="/chat") for c, out, text in zip(chained, shown, asked)]
    jobs.append(alone.submit(q, [], *model, api_name="/chat"))

    mine = late.predict("How long is data kept in Kinesis?", [], 5, settings.mode, api_name="/chat_evidence")
    pending = sum(not j.done() for j in jobs)  # six answers queued for one model: some still queued or streaming
    assert "passage-card" in mine[1]
    assert pending >= 1, "the evidence waited for the model's queue"

    results = [j.result(timeout=300) for j in jobs]
    for chat, cards, *_ in results:
        assert len(chat) == 2 and "⏱" in str(chat[-1]["content"]) and "passage-card" in cards  # asked once
    assert "**Answer:" in str(results[4][0][-1]["content"])  # the pasted exam question, evidence per option

    too_long = "x" * (settings.max_query_chars + 1)
    said = refused.predict(too_long, [], 5, settings.mode, api_name="/chat_evidence")
    assert "limit" in str(said[0][-1]["content"]) and said[2] == too_long  # said in the chat, kept in the box
    after = refused.predict(too_long, said[0], *model, api_name="/chat")
    assert str(after).count("limit") <= 1  # the model's event has nothing to add


def test_practice_exam_and_flashcards(page) -> None:
    """A quiz from the bank starts at once, every option is judged with a citation, a hint on request; a mock exam
    starts with its 65 questions and hands in to a per-domain report; a flashcard is rated and rescheduled."""
    page.get_by_role("tab", name="Practice").click()
    page.fill("#free-topic textarea", "Kinesis Data Firehose")
    t0 = time.time()
    page.click("#generate")
    page.wait_for_selector("#stem:has-text('Question 1 of')")
    started = time.time() - t0
    note = page.inner_text("#practice-note")
    assert "questions on Kinesis Data Firehose from your notes" in note, note
    if "You asked for 10" in note:  # a short quiz points the learner to the topic's flashcards
        assert re.search(r"\d+ flashcards on Kinesis Data Firehose", note), note
    page.click("#hint")
    page.wait_for_function("document.querySelector('#verdict').innerText.includes('💡')")
    choice = "#multi label" if page.locator("#multi").is_visible() else "#single label"
    page.locator(choice).first.click()
    if choice == "#multi label":
        page.locator(choice).nth(1).click()
    page.click("#submit")
    page.wait_for_function(
        "['Correct', 'Not quite'].some(t => document.querySelector('#verdict').innerText.includes(t))"
    )
    verdict = page.inner_text("#verdict")
    assert verdict.count("✅") + verdict.count("❌") >= 4 and ".md §" in verdict and "line" in verdict
    assert "Score: " in page.inner_text("#score")
    page.screenshot(path=str(ARTIFACTS / "practice.png"), full_page=True)
    assert started < 20, f"quiz took {started:.1f} s to start"  # a bank quiz; loose bound for a loaded CI box

    page.get_by_role("tab", name="Mock exam").click()
    page.click("#exam-start")
    page.wait_for_selector("#exam-stem:has-text('Question 1 of 65')")
    assert "left" in page.inner_text("#exam-clock")
    page.click("#exam-hand-in")
    page.wait_for_selector("#exam-stem:has-text('Score: 0/65')")
    assert "estimate" in page.inner_text("#exam-stem") and "Modeling" in page.inner_text("#exam-stem")
    page.screenshot(path=str(ARTIFACTS / "exam.png"), full_page=True)

    page.get_by_role("tab", name="Flashcards").click()
    page.fill("#card-topic textarea", "Kinesis")
    page.click("#card-start")
    page.wait_for_selector("#card-front h3")
    page.click("#card-show")
    page.wait_for_function("document.querySelector('#card-back').innerText.includes('line')")
    page.click("#rate-good")
    page.wait_for_function("document.body.innerText.includes('next review')")
    page.get_by_role("tab", name="Progress").click()
    page.click("#progress-refresh")
    page.wait_for_function("document.querySelector('#progress-md').innerText.includes('Retention')")


def test_generate_a_facts_set_for_my_notes_and_score_it(page) -> None:
    page.get_by_role("tab", name="Eval").click()
    page.get_by_text("Generate a facts set for my notes").click()
    page.fill("#gen-n input[type=number]", "5")
    page.press("#gen-n input[type=number]", "Enter")
    page.click("#gen-set")
    page.wait_for_function(
        "['Saved as', '⚠️'].some(t => document.querySelector('#gen-status').innerText.includes(t))", timeout=300_000
    )
    status = page.inner_text("#gen-status")
    path = Path(re.search(r"Saved as (\S+\.jsonl)", status).group(1))
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert items, status  # at least the unanswerable questions on topics the notes never mention
    for it in items:  # a kept question's key is in its note, and the question does not give it away
        if it["answers"]:
            assert it["answers"][0].lower() in (path.parents[2] / "corpus" / it["sources"][0]).read_text().lower()
            assert it["answers"][0].lower() not in it["question"].lower()
    page.click("#run-eval")  # the generated set is now the chosen one
    page.wait_for_function(
        "['hit@1', 'no answerable'].some(t => document.querySelector('#eval-table').innerText.includes(t))",
        timeout=300_000,
    )


def test_upload_note_and_find_it_in_library(page, tmp_path: Path) -> None:
    note = tmp_path / "my zebra notes.md"
    note.write_text("# Zebra\n\n## Zebra services\n\n* Amazon Zebra stores striped data for testing uploads\n")
    page.get_by_role("tab", name="Library").click()
    page.set_input_files("#upload input[type=file]", str(note))
    page.wait_for_timeout(1500)
    page.click("#add-notes")
    page.wait_for_function("document.querySelector('#upload-status').innerText.includes('Added')")
    page.click("#reindex")
    page.wait_for_function("document.querySelector('#library-status').innerText.includes('Re-indexed')")
    assert "my-zebra-notes.md" in page.inner_text("#library-table")
    page.screenshot(path=str(ARTIFACTS / "library.png"), full_page=True)


def test_two_logins_keep_separate_progress(settings, retriever, tmp_path: Path) -> None:
    """`--auth alice:…,bob:…`: a practice answer alice records (through the running server, as her browser would
    send it) is in her own progress file and review queue, and bob's progress shows nothing."""
    from datetime import UTC, datetime, timedelta

    from gradio_client import Client

    from mlstutor.errors import MlstutorError
    from mlstutor.progress import Progress
    from mlstutor.ui import Services, parse_auth, serve

    assert parse_auth("alice:pw:with:colons, bob:x") == [("alice", "pw:with:colons"), ("bob", "x")]
    for bad in ("alice", "alice:", ":pw", "a:1,a:2"):
        with pytest.raises(MlstutorError):
            parse_auth(bad)

    data = tmp_path / "data"
    svc = Services(settings.with_(data_dir=data, bank_scenarios=0))
    svc.retriever = retriever  # the built index; practice needs no model
    port = _free_port()
    app = serve(svc.settings, port=port, auth="alice:pw-a,bob:pw-b", services=svc, block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        alice = Client(url, auth=("alice", "pw-a"), verbose=False)
        bob = Client(url, auth=("bob", "pw-b"), verbose=False)
        out = alice.predict("", "Kinesis Data Firehose", 3, "medium", None, api_name="/practice_start")
        assert "Question 1 of 3" in out[0]
        single, multi = out[1], out[2]  # the radio or the choose-two boxes, with this question's options
        if single.get("visible"):
            picked = (single["choices"][0][0], [])
        else:
            picked = (None, [c[0] for c in multi["choices"][:2]])
        verdict, score = alice.predict(*picked, api_name="/practice_submit")
        assert "Score: " in score and "✅" in verdict
        mine, theirs = alice.predict(api_name="/progress")[0], bob.predict(api_name="/progress")[0]
        assert "Kinesis Data Firehose" in mine and "correct overall" in mine
        assert "No answers yet" in theirs and "Kinesis" not in theirs
    finally:
        app.close()
    later = datetime.now(UTC) + timedelta(days=400)
    a, b = Progress.for_learner(data, "alice"), Progress.for_learner(data, "bob")
    assert a.total()[0] == 1 and len(a.due(now=later)) == 1  # her answer and her review queue
    assert b.total() == (0, 0) and b.due(now=later) == []
    assert a.path.parent.name == "alice" and a.path.parent.parent == data / "learners"
    assert not (data / "progress.sqlite3").exists()  # the single-user file is not touched with logins
