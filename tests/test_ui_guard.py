"""What a served chat lets through: a login beyond this machine, and no server error text.

`qa serve` asks for the login given with ``--auth``, ``--auth-file`` or ``$QA_AUTH`` and
refuses to serve beyond loopback without one. A failure that is not the user's (here a reader
whose model has 8 positions, too few for the profile's windows) reaches the user as an error
id only, while the operator's log holds the traceback.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import BertForQuestionAnswering

from qa.cli import main
from qa.config import profile_from_dict
from qa.errors import QAError
from qa.index.store import build_index, load_index
from qa.pipeline import QA
from qa.types import Passage
from qa.ui import serve
from qa.ui.access import is_loopback
from qa.ui.app import ChatHandler
from qa.ui.render import error_html
from tests.conftest import (
    SAMPLE_PASSAGES,
    free_port,
    save_tiny_bert,
    start_served,
    stop_served,
    tiny_profile,
)

QUESTION = "Which gene is mutated in Rett syndrome?"
PASSWORD = "s3cret:with-colon"
LOOPBACK_HOWTO = (
    "give a login with --auth-file FILE (one line USER:PASSWORD), $QA_AUTH=USER:PASSWORD or "
    "--auth USER:PASSWORD, or serve on 127.0.0.1."
)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory, tiny_model) -> Path:
    profile = tiny_profile(tiny_model)
    folder = tmp_path_factory.mktemp("guard") / "index"
    passages = [Passage(id=i, text=t, pmid=m) for i, t, m in SAMPLE_PASSAGES]
    build_index(passages, folder, profile, show_progress=False)
    return folder


@pytest.fixture(scope="module")
def failing_qa(tmp_path_factory, tiny_model, tiny_index) -> QA:
    """A QA whose reader has 8 position embeddings: reading any window fails in torch."""

    def eight_positions(config):
        config.max_position_embeddings = 8
        return BertForQuestionAnswering(config)

    reader = save_tiny_bert(tmp_path_factory.mktemp("short-reader"), 0, eight_positions)
    data = tiny_profile(tiny_model).to_dict()
    data["reader"]["model"] = str(reader)
    profile = profile_from_dict(data, source="tests")
    return QA(load_index(tiny_index, profile), profile, device="cpu")


def test_an_internal_error_shows_an_id_and_the_log_holds_its_traceback(failing_qa, caplog):
    with caplog.at_level(logging.ERROR, logger="qa.ui.app"):
        history, box = list(ChatHandler(failing_qa)(QUESTION, [], 3, "bm25", "factoid"))[-1]
    [record] = caplog.records
    error_id = re.fullmatch(r"Chat question failed \(error id ([0-9a-f]{6})\): .*", record.message)
    assert error_id, record.message
    assert record.message.endswith(repr(QUESTION))
    assert record.exc_info[0] is RuntimeError
    assert "Traceback (most recent call last)" in caplog.text
    assert box == ""
    assert history[-1] == {
        "role": "assistant",
        "content": error_html(
            f"Something went wrong on the server (error id {error_id[1]}); "
            "the operator's log has the details."
        ),
    }
    assert "tensor" not in history[-1]["content"]  # nothing of the exception itself


def test_a_users_mistake_is_shown_as_its_message(failing_qa, caplog):
    history, _ = list(ChatHandler(failing_qa, max_k=20)(QUESTION, [], 21, "bm25", "auto"))[-1]
    assert history[-1]["content"] == error_html("k must be between 1 and 20.")
    assert caplog.records == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("example.org", False),
        ("", False),
    ],
)
def test_only_this_machines_own_addresses_count_as_loopback(host, loopback) -> None:
    assert is_loopback(host) is loopback


def test_serving_beyond_loopback_without_a_login_is_refused_in_one_line(tiny_index) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("qa")), "serve", "--index", str(tiny_index)]
        + ["--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "QA_AUTH"},
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: Serving on 0.0.0.0 lets other machines in: {LOOPBACK_HOWTO}\n"


def test_the_python_serve_refuses_too_before_warming_any_model(failing_qa) -> None:
    # The failing reader would raise in the warm-up: the refusal comes first.
    with pytest.raises(QAError, match=r"^Serving on 0\.0\.0\.0 lets other machines in: "):
        serve(failing_qa, host="0.0.0.0", port=free_port())


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--auth", "alice"], None, "--auth must be USER:PASSWORD (no colon found)."),
        (["--auth", ":pw"], None, "--auth must be USER:PASSWORD with a non-empty user and password."),
        (["--auth", "alice:"], None, "--auth must be USER:PASSWORD with a non-empty user and password."),
        ([], "alice", "$QA_AUTH must be USER:PASSWORD (no colon found)."),
        (["--auth-file", "{missing}"], None, "Cannot read the login file {missing} (No such file or directory): write one line USER:PASSWORD into it."),
        (["--auth-file", "{two}"], None, "The login file {two} must hold one line USER:PASSWORD; it holds 2."),
        (["--auth-file", "{empty}"], None, "The line in {empty} must be USER:PASSWORD with a non-empty user and password."),
        (["--host", "10.1.2.3"], "", f"Serving on 10.1.2.3 lets other machines in: {LOOPBACK_HOWTO}"),
    ],
)  # fmt: skip
def test_a_malformed_login_is_refused_in_one_line_before_anything_loads(
    argv, env, message, tmp_path, monkeypatch, capsys
) -> None:
    files = {"missing": tmp_path / "none.txt", "two": tmp_path / "two.txt", "empty": tmp_path / "e"}
    files["two"].write_text("alice:pw\nbob:pw\n", encoding="utf-8")
    files["empty"].write_text("\nbob:\n", encoding="utf-8")
    monkeypatch.setenv("QA_AUTH", env or "")
    argv = [a.format(**files) for a in argv]
    for command in (["serve", "--index", str(tmp_path / "no-index")], ["demo"]):
        assert main([*command, *argv]) == 2
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"error: {message.format(**files)}\n")


@pytest.fixture(scope="module")
def login_server(tiny_index, tmp_path_factory):
    """`qa serve` on loopback asking for the login in a file; yields (URL, its output)."""
    login = tmp_path_factory.mktemp("login") / "login.txt"
    login.write_text(f"alice:{PASSWORD}\n", encoding="utf-8")
    argv = ["serve", "--index", str(tiny_index), "--port", str(free_port()), "--device", "cpu"]
    proc, url, output = start_served([*argv, "--auth-file", str(login)])
    yield url, output
    stop_served(proc)
    assert PASSWORD not in proc.stdout.read()


@pytest.mark.integration
@pytest.mark.slow
def test_a_served_chat_with_a_login_answers_only_those_who_give_it(login_server) -> None:
    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AppError, AuthenticationError

    url, output = login_server
    assert "Login required: user alice (the password is not shown)." in output
    assert PASSWORD not in output
    with pytest.raises(AuthenticationError):
        Client(url, verbose=False, analytics_enabled=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("alice", "wrong"), verbose=False, analytics_enabled=False)
    called = httpx.post(
        f"{url}gradio_api/call/ask", json={"data": [QUESTION, [], 3, "bm25", "auto"]}
    )
    assert called.status_code == 401
    client = Client(url, auth=("alice", PASSWORD), verbose=False, analytics_enabled=False)
    history, box = client.predict(QUESTION, [], 3, "bm25", "factoid", api_name="/ask")
    assert box == "" and [m["role"] for m in history] == ["user", "assistant"]
    assert "qa-timings" in str(history[-1]["content"])
    # A payload Gradio itself cannot read fails there; the server sends no error text (the
    # client's message says so).
    with pytest.raises(AppError) as refused:
        client.predict(
            QUESTION, [{"role": "user", "content": 7}], 3, "bm25", "auto", api_name="/ask"
        )
    assert str(refused.value).startswith(
        "The upstream Gradio app has raised an exception but has not enabled verbose error"
    )
