"""`qa serve` for real: a Gradio server on localhost, driven by headless Chromium and by
gradio_client.

The index holds the bundled demo corpus (which has a passage containing ``<script>``) and the
snippets of the first 20 questions of one BioASQ batch (which carry PMIDs). The server runs the
embedded profile in its own process, as a user would start it.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qa.config import load_profile
from qa.corpus import read_corpus
from qa.index.store import build_index
from qa.pipeline import QA
from tests.conftest import free_port, start_served, stop_served

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = "bioasq/Teddy-XiongGZ__MIRAGE/rawdata__bioasq__Task10BGoldenEnriched__10B1_golden.json"
DEMO = Path(__file__).resolve().parents[1] / "qa" / "data" / "demo_passages.jsonl"
CHROMIUM = "/usr/bin/chromium"
SCRIPT_QUESTION = "Why must drug information databases escape HTML before showing it?"


@pytest.fixture(scope="module")
def questions(shared_file):
    data = json.loads(shared_file(BATCH).read_text(encoding="utf-8"))
    return data["questions"][:20]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, shared_file, questions):
    wanted = {q["id"] for q in questions}
    gold = {
        "questions": [
            q for q in json.loads(shared_file(BATCH).read_text())["questions"] if q["id"] in wanted
        ]
    }
    folder = tmp_path_factory.mktemp("ui-server")
    (folder / "gold.json").write_text(json.dumps(gold), encoding="utf-8")
    passages = list(read_corpus("jsonl", [DEMO])) + list(
        read_corpus("bioasq", [folder / "gold.json"])
    )
    build_index(passages, folder / "index", load_profile("embedded"), show_progress=False)
    return folder / "index"


@pytest.fixture(scope="module")
def server(index_dir):
    """`qa serve` in a subprocess; yields its URL once it prints it."""
    argv = ["serve", "--index", str(index_dir), "--port", str(free_port()), "--device", "cpu"]
    proc, url, _ = start_served(argv)
    yield url
    stop_served(proc)


@pytest.fixture(scope="module")
def local_qa(index_dir):
    return QA.load(index_dir, device="cpu")


def text_of(content) -> str:
    """A chat message's text: a string, or Gradio's list of typed parts."""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def first_of_type(questions, kind):
    return next(q for q in questions if q["type"] == kind)


def chromium_path() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(
            "Debian's chromium is not installed: .ci/run installs it (apt-get install chromium)."
        )
    pytest.skip("no chromium (apt-get install chromium) for the browser test")


def test_a_browser_asks_and_sees_answer_entities_links_and_escaped_markup(
    server, questions, local_qa
) -> None:
    from playwright.sync_api import sync_playwright

    question = first_of_type(questions, "factoid")["body"]
    expected = local_qa.ask(question, k=10)
    assert expected.answers, f"no answer to {question!r} in the index"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server)
            box = page.locator("#qa-question textarea")
            box.fill(question)
            box.press("Enter")
            reply = page.locator("#qa-chat .qa-reply").last
            reply.locator(".qa-timings").wait_for(timeout=120_000)
            assert reply.locator(".qa-answer-text").first.inner_text() == expected.answers[0].text
            assert reply.locator(".qa-type").inner_text().startswith(expected.qtype)
            assert reply.locator("mark.qa-answer-span.qa-top").count() >= 1
            assert reply.locator(".qa-ent").count() >= 1, "no entity highlighted in the evidence"
            link = reply.locator('a.qa-pmid[href^="https://pubmed.ncbi.nlm.nih.gov/"]').first
            assert link.inner_text().startswith("PMID ")

            box.fill(SCRIPT_QUESTION)
            box.press("Enter")
            page.locator("#qa-chat .qa-reply").nth(1).locator(".qa-timings").wait_for(
                timeout=120_000
            )
            text = page.locator("#qa-chat").inner_text()
            assert "<script>alert(1)</script>" in text  # shown as characters...
            assert page.locator("#qa-chat script").count() == 0  # ...and never made a script
            assert dialogs == []
        finally:
            browser.close()


def test_gradio_client_gets_the_same_answer_as_the_python_api(server, questions, local_qa) -> None:
    from gradio_client import Client

    question = first_of_type(questions, "list")["body"]
    client = Client(server, verbose=False, analytics_enabled=False)
    history, box = client.predict(question, [], 10, "hybrid", "list", api_name="/ask")
    assert box == ""
    reply = text_of(history[-1]["content"])
    expected = local_qa.ask(question, qtype="list", k=10)
    assert expected.answers
    for answer in expected.answers:
        assert f'<span class="qa-answer-text">{answer.text}</span>' in reply


def test_twenty_concurrent_questions_are_all_answered(server, questions) -> None:
    from gradio_client import Client

    client = Client(server, verbose=False, analytics_enabled=False)

    def ask(body: str) -> tuple[str, list, float]:
        started = time.perf_counter()
        history, _ = client.submit(body, [], 10, "hybrid", "auto", api_name="/ask").result(
            timeout=600
        )
        return body, history, time.perf_counter() - started

    bodies = [q["body"] for q in questions]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(ask, bodies))
    assert len(results) == 20
    for body, history, _ in results:
        # Each reply belongs to its own question: none lost, none swapped.
        assert [m["role"] for m in history] == ["user", "assistant"]
        assert html.unescape(text_of(history[0]["content"])) == body[:300] + (
            "…" if len(body) > 300 else ""
        )
        assert "qa-timings" in text_of(history[-1]["content"])
    latencies = sorted(seconds for *_, seconds in results)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        json.dumps(
            {
                "questions": 20,
                "p50_s": round(statistics.median(latencies), 2),
                "p95_s": round(p95, 2),
            }
        )
    )
