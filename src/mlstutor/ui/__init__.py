"""The Gradio web UI, one module per tab: chat, practice (with the mock exam), flashcards (with progress),
library (with eval). Each tab is a thin caller of the same library functions as the CLI; shared services load
in the background; per-learner state lives in the browser session, and with logins (``--auth a:pw,b:pw``) each
login has its own progress store and review queue."""

from __future__ import annotations

import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.ui import cards, chat, library, practice
from mlstutor.ui.chat import answer_markdown, evidence_cards
from mlstutor.ui.library import sanitize_filename
from mlstutor.ui.services import CSS, Services

__all__ = [
    "Services",
    "answer_markdown",
    "build_app",
    "evidence_cards",
    "launch",
    "parse_auth",
    "sanitize_filename",
    "serve",
]


def build_app(settings: Settings, services: Services | None = None) -> gr.Blocks:
    svc = services or Services(settings)
    with gr.Blocks(title="mlstutor — AWS ML Specialty tutor") as app:
        gr.Markdown(
            "# mlstutor\nYour AWS Certified Machine Learning – Specialty notes, as a tutor. "
            "Answers cite the notes; nothing leaves this machine unless you configure a hosted model."
        )
        status = gr.Markdown(svc.status_md(), elem_classes="status", elem_id="status")
        chat.build(svc, settings, status)
        topic = practice.build(svc)
        progress_view, progress_out = cards.build(svc)
        library_view, library_out = library.build(svc, settings, status)

        def on_load(request: gr.Request) -> tuple:
            deadline = time.time() + 10  # first visit: wait briefly for the index so the topic list is filled
            while svc.retriever is None and svc.index_error is None and time.time() < deadline:
                time.sleep(0.2)
            choices = []
            if svc.retriever is not None:
                for domain, subjects in svc.bank().topics().items():
                    choices += [f"{domain} › {t}" for t in subjects[:25]]
                choices += list(svc.bank().lex.domains)
            return (svc.status_md(request), gr.update(choices=choices), *library_view(), *progress_view(request))

        app.load(on_load, None, [status, topic, *library_out, *progress_out])
        gr.Timer(3.0).tick(svc.status_md, None, status)
    app.services = svc  # type: ignore[attr-defined]
    return app


def parse_auth(auth: str | None) -> list[tuple[str, str]] | None:
    """``user:password[,user2:password2…]`` → login pairs (``None`` for no logins). A password may hold ``:``
    but not ``,``; a login named twice is an error rather than a silent overwrite."""
    if not auth:
        return None
    pairs: list[tuple[str, str]] = []
    for item in auth.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user.strip() or not password:
            raise MlstutorError("--auth must look like user:password (several: user:pw,user2:pw2)")
        if any(u == user.strip() for u, _ in pairs):
            raise MlstutorError(f"--auth names the login {user.strip()!r} twice")
        pairs.append((user.strip(), password))
    return pairs


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    services: Services | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Start the server; binds loopback unless told otherwise. ``block=False`` returns the running app (for
    tests and the load benchmark; stop it with ``app.close()``)."""
    logins = parse_auth(auth)
    if services is None:
        services = Services(settings)
        services.start()
    app = build_app(settings, services)
    app.queue(default_concurrency_limit=4, max_size=64)
    app.launch(
        server_name=host,
        server_port=port,
        auth=logins,
        show_error=False,
        theme=gr.themes.Soft(),
        css=CSS,
        footer_links=[],
        quiet=not block,
        prevent_thread_lock=not block,
    )
    return app


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None) -> None:
    """Start the server (blocking). Binds loopback unless told otherwise."""
    serve(settings, host, port, auth)
