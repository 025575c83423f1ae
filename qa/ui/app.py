"""The Gradio chat: ask a question, see the answers, the evidence, its entities and relations.

``build_app(qa)`` makes the Blocks app; ``serve(qa)`` runs it until Ctrl+C. What a reply looks
like is :mod:`qa.ui.render`; this module only wires a :class:`~qa.pipeline.QA` to Gradio.

One :class:`~qa.pipeline.QA` (one copy of every model) serves all users. Gradio's queue runs at
most ``concurrency`` questions at once (``[ui] concurrency`` of the profile); the others wait
in line and see their place in it. Within those, the model work itself takes turns (see
``ChatHandler``), while streaming and rendering overlap.

What a client sends is not trusted: the chat history it sends back is cut to the last
``[ui] max_history`` text messages (files, other parts and messages over
``MAX_MESSAGE_CHARS`` are dropped), and only a :class:`~qa.errors.QAError`'s message reaches
it. Any other failure is logged here with its traceback under a short id, and the client sees
the id only (Gradio's own ``show_error`` is off, so its errors show no text either).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

from qa.errors import QAError
from qa.pipeline import MAX_QUESTION_CHARS, QA, add_retrieval_time
from qa.types import QUESTION_TYPES, RETRIEVAL_MODES
from qa.ui.access import Login, check_exposure
from qa.ui.render import CSS, error_html, esc, legend_html, render_reply

QTYPE_CHOICES = ("auto", *QUESTION_TYPES)
EXAMPLE = "Which gene is mutated in Rett syndrome?"
# A reply with five annotated passages is some 20,000 characters; a client's history entry
# five times that is not one of ours.
MAX_MESSAGE_CHARS = 100_000
_log = logging.getLogger(__name__)


def failure_message(question: str) -> str:
    """Log the exception being handled, with its traceback, under a new id; the message that
    tells the user the id (and nothing of the exception)."""
    error_id = secrets.token_hex(3)
    _log.exception("Chat question failed (error id %s): %.200r", error_id, question)
    return (
        f"Something went wrong on the server (error id {error_id}); "
        "the operator's log has the details."
    )


def short(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: a client's value quoted back, not echoed."""
    shown = repr(value[: limit + 1] if isinstance(value, str) else value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def text_message(message: Any, max_chars: int = MAX_MESSAGE_CHARS) -> dict[str, str] | None:
    """A chat message a client sent back as ``{"role", "content"}`` with text content, or
    None when it is not a user or assistant text message of at most ``max_chars``."""
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        return None
    content = message.get("content")
    if isinstance(content, list):  # Gradio's typed parts: text only, no files or components
        if not all(isinstance(p, dict) and p.get("type") == "text" for p in content):
            return None
        content = [p.get("text") for p in content]
        if not all(isinstance(t, str) for t in content):
            return None
        if sum(map(len, content)) > max_chars:
            return None
        content = "".join(content)
    if not isinstance(content, str) or len(content) > max_chars:
        return None
    return {"role": message["role"], "content": content}


class ChatHandler:
    """Answers one chat turn, streaming the stage it is at; shared by every user."""

    def __init__(self, qa: QA, max_k: int = 50, max_history: int = 20) -> None:
        self.qa = qa
        self.max_k = max_k
        self.max_history = max_history
        # Model work runs one question at a time: a fast tokenizer shared by two threads can
        # fail ("Already borrowed") and the annotation cache is a plain dict. On a CPU torch
        # already spreads one question over every core, so little is lost; users beyond the
        # lock see the stage they wait at, those beyond the queue's limit their place in it.
        self._lock = threading.Lock()

    def check(self, question: str, k: float | str, mode: str, qtype: str = "auto") -> int:
        """The number of passages to read; a :class:`QAError` that the user can act on if the
        question or the settings cannot be used."""
        if len(question) > MAX_QUESTION_CHARS:
            raise QAError(
                f"The question has {len(question):,} characters; ask in at most "
                f"{MAX_QUESTION_CHARS:,} (one question, not a document)."
            )
        try:
            passages = int(k)
        except (TypeError, ValueError, OverflowError):
            raise QAError(f"k must be a whole number of passages, not {short(k)}.") from None
        if not 1 <= passages <= self.max_k:
            raise QAError(f"k must be between 1 and {self.max_k}.")
        if mode not in RETRIEVAL_MODES:
            raise QAError(
                f"Unknown retrieval mode {short(mode)}: use {', '.join(RETRIEVAL_MODES)}."
            )
        if qtype not in QTYPE_CHOICES:
            raise QAError(f"Unknown question type {short(qtype)}: use {', '.join(QTYPE_CHOICES)}.")
        return passages

    def kept_history(self, history: Any) -> list[dict[str, str]]:
        """The last ``max_history`` messages of what the client sent that are text messages
        of a sensible size; anything that is not a list keeps nothing."""
        if not isinstance(history, list) or self.max_history <= 0:
            return []
        kept = (text_message(m) for m in history[-self.max_history :])
        return [m for m in kept if m is not None]

    def __call__(
        self, message: str, history: Any, k: float, mode: str, qtype: str
    ) -> Iterator[tuple[list[dict], str]]:
        history = self.kept_history(history)
        question = (message if isinstance(message, str) else "").strip()
        if not question:
            yield history, message
            return
        shown = question if len(question) <= 300 else question[:300] + "…"
        history.append({"role": "user", "content": esc(shown)})
        try:
            passages = self.check(question, k, mode, qtype)
            history.append({"role": "assistant", "content": "<i>Searching…</i>"})
            yield list(history), ""
            with self._lock:
                started = time.perf_counter()
                hits = self.qa.search(question, k=passages, mode=mode)
                retrieve_ms = (time.perf_counter() - started) * 1000
            history[-1] = {"role": "assistant", "content": f"<i>Reading {len(hits)} passages…</i>"}
            yield list(history), ""
            with self._lock:
                result = self.qa.answer(
                    question, hits, qtype=None if qtype == "auto" else qtype, ranked=True
                )
            add_retrieval_time(result, retrieve_ms)
            history[-1] = {"role": "assistant", "content": render_reply(result)}
        except Exception as exc:  # noqa: BLE001 - only a QAError's message may reach the client
            shown = str(exc) if isinstance(exc, QAError) else failure_message(question)
            if history[-1]["role"] == "assistant":
                history.pop()
            history.append({"role": "assistant", "content": error_html(shown)})
        yield list(history), ""


def build_app(qa: QA, title: str = "Biomedical question answering"):
    """The Gradio Blocks chat over a loaded :class:`~qa.pipeline.QA`, limits from ``[ui]``."""
    import gradio as gr

    ui = qa.profile.ui
    handler = ChatHandler(qa, max_k=ui.max_k, max_history=ui.max_history)
    index_info = ""
    if qa.index is not None:
        index_info = f"{qa.index.size:,} passages, profile {qa.profile.name}"
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"## {esc(title)}\n{esc(index_info)}")
        with gr.Row():
            with gr.Column(scale=4):
                chat = gr.Chatbot(
                    label="Answers", height=620, elem_id="qa-chat", sanitize_html=True
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder=f"Ask a biomedical question, e.g. {EXAMPLE}",
                        show_label=False,
                        scale=5,
                        elem_id="qa-question",
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
            with gr.Column(scale=1, min_width=220):
                k = gr.Slider(1, ui.max_k, value=ui.k, step=1, label="Passages (k)")
                mode = gr.Radio(list(RETRIEVAL_MODES), value=ui.mode, label="Retrieval")
                qtype = gr.Dropdown(list(QTYPE_CHOICES), value="auto", label="Question type")
                gr.HTML(legend_html())
                clear = gr.Button("Clear")
        inputs = [box, chat, k, mode, qtype]

        def ask(message: str, history: list[dict], k: float, mode: str, qtype: str):
            # A plain generator function: Gradio streams generator functions, not callables.
            yield from handler(message, history, k, mode, qtype)

        box.submit(ask, inputs, [chat, box], api_name="ask")
        send.click(ask, inputs, [chat, box], api_name=False)
        clear.click(lambda: ([], ""), None, [chat, box], api_name=False)
    app.queue(default_concurrency_limit=ui.concurrency, max_size=ui.queue_size)
    return app


def log_to_stderr() -> None:
    """Send the package's warnings and errors (a failed question's traceback) to stderr,
    unless the program embedding it has set up logging itself."""
    log = logging.getLogger("qa")
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)


def serve(qa: QA, host: str = "127.0.0.1", port: int = 7860, auth: Login | None = None) -> None:
    """Warm the models, launch the app, print its URL, and serve until Ctrl+C.

    ``auth`` (user, password) is the login the chat asks for; it is required when ``host`` is
    not a loopback address (:func:`qa.ui.access.check_exposure`).
    """
    check_exposure(host, auth)
    log_to_stderr()
    seconds = qa.warm_up()
    app = build_app(qa)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        prevent_thread_lock=True,
        quiet=True,
        show_error=False,
        footer_links=["api"],
        css=CSS,
    )
    url = url or f"http://{host}:{port}/"
    if auth:
        print(f"Login required: user {auth[0]} (the password is not shown).", flush=True)
    print(f"Models ready in {seconds:.1f} s. Serving the QA chat at {url}", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    try:
        app.block_thread()
    except KeyboardInterrupt:  # Ctrl-C in a program that embeds serve(); under `qa serve` the
        pass  # command's own stop (see qa.cli.Stopped) goes on up and ends it with 130
    finally:
        app.close()
