"""Read the product as a learner: drive a running web UI in Chromium and write what it showed to a markdown file.

Start the app first (``MLSTUTOR_DATA_DIR=/tmp/pass/data python app.py --port 7871``), then::

    python scripts/learner_pass.py --url http://127.0.0.1:7871/ --out /tmp/pass/learner.md [TOPIC ...]

It asks the README's chat examples (plus a pasted exam question and one the notes do not cover), then takes a
quiz on each topic and answers every question with its first option, copying stem, options and feedback. Nothing
is judged here: the point is to read the transcript one question at a time (the brief's "read the output as a
learner").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
QUESTIONS = [
    "How large can a Kinesis record be?",
    "What is the largest record Kinesis Data Streams accepts?",
    "When should I use SMOTE?",
    "Which metric should I use to avoid false negatives?",
    "What's the default retention of a Kinesis data stream?",
    "How much does a SageMaker ml.p3.2xlarge instance cost per hour?",
    "Which service delivers streaming data to Amazon S3 without writing consumer code?\n"
    "A. Kinesis Data Firehose\nB. AWS Glue\nC. Amazon Athena\nD. Amazon Comprehend",
]
TOPICS = ["Kinesis Data Firehose", "XGBoost", "imbalanced data", "precision and recall", "Amazon Comprehend"]


def chat(page, question: str) -> tuple[str, str, float]:
    before = page.locator("#chatbot").inner_text().count("⏱")
    t0 = time.time()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        f"document.querySelector('#chatbot').innerText.split('⏱').length - 1 > {before}", timeout=180_000
    )
    answer = page.locator("#chatbot .message").last.inner_text()
    return answer, page.inner_text("#passages"), time.time() - t0


def quiz(page, topic: str, n: int) -> list[str]:
    page.fill("#free-topic textarea", topic)
    page.click("#generate")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector("#stem:has-text('Question 1 of')", timeout=60_000)
    except PlaywrightTimeout:  # no question on the topic: what the learner is told instead
        return [f"No quiz started; shown: _{page.inner_text('#practice-note').strip()}_ {page.inner_text('#stem')}"]
    out = [f"_{page.inner_text('#practice-note').strip()}_"]
    for _ in range(n):
        stem = page.inner_text("#stem").strip()
        if "Question" not in stem:
            break
        choice = "#multi label" if page.locator("#multi").is_visible() else "#single label"
        options = [page.locator(choice).nth(i).inner_text() for i in range(page.locator(choice).count())]
        page.locator(choice).first.click()
        if choice == "#multi label":
            page.locator(choice).nth(1).click()
        page.click("#submit")
        page.wait_for_function(
            "['Correct', 'Not quite'].some(t => document.querySelector('#verdict').innerText.includes(t))"
        )
        verdict = page.inner_text("#verdict").strip()
        out.append(f"#### {stem}\n\nOptions: {' | '.join(options)}\n\n{verdict}\n")
        page.click("#next")
        page.wait_for_timeout(800)
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("topics", nargs="*", default=TOPICS)
    ap.add_argument("--url", default="http://127.0.0.1:7871/")
    ap.add_argument("--out", default="learner_pass.md")
    ap.add_argument("--n", type=int, default=3, help="questions answered per topic")
    ap.add_argument("--no-chat", action="store_true")
    args = ap.parse_args()
    lines = ["# Learner pass", ""]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(args.url)
        page.wait_for_selector("#question textarea")
        page.wait_for_function("document.querySelector('#status').innerText.includes('passages from')")
        if not args.no_chat:
            lines.append("## Chat")
            for q in QUESTIONS:
                answer, shown, took = chat(page, q)
                lines += [f"### {q}", "", f"**Answer** ({took:.1f} s):", "", answer, "", "From your notes:", ""]
                lines += [*["    " + ln for ln in shown.splitlines() if ln.strip()][:40], ""]
                print(f"asked: {q[:60]} ({took:.1f} s)", flush=True)
        page.get_by_role("tab", name="Practice").click()
        lines.append("## Practice")
        for topic in args.topics:
            lines += [f"### {topic}", "", *quiz(page, topic, args.n), ""]
            print(f"quiz: {topic}", flush=True)
        browser.close()
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
