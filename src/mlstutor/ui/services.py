"""What every tab shares: the loaded index, the model warm-up, the learner's progress store, friendly errors.

Heavy parts load once in a background thread and are shared by all browser sessions; per-learner state (a quiz
in progress, an exam, a flashcard round) lives in each session's ``gr.State``, never here. With logins
(``--auth``) each login has its own progress store, picked in the handlers from ``gr.Request.username``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import gradio as gr

from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.index import ADAPTED
from mlstutor.progress import Progress, ProgressStores
from mlstutor.quiz import QuestionBank, QuizMaster, fill_scenarios
from mlstutor.retrieval import Retriever
from mlstutor.tutor import Tutor

CSS = """
.passage-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; margin: 6px 0;}
.passage-card summary {cursor: pointer; font-weight: 600;}
.passage-card pre {white-space: pre-wrap; font-size: 0.85em; max-height: 320px; overflow: auto;}
.passage-card mark {background: #fff3a3;}
.passage-card .ev-head {font-weight: 600; font-size: 0.9em;}
.passage-card details summary {font-weight: 400; font-size: 0.85em; opacity: 0.8;}
.status {font-size: 0.9em; opacity: 0.85;}
"""


def friendly(exc: Exception) -> str:
    if isinstance(exc, MlstutorError):
        return f"⚠️ {exc}"
    return f"⚠️ Something went wrong ({type(exc).__name__}). Please try again."


def learner(request: gr.Request | None) -> str | None:
    """The login behind a request (``None`` when the UI runs without ``--auth``)."""
    return getattr(request, "username", None) or None


class Services:
    """The shared, lazily loaded parts of the app. Loading runs in a background thread at start-up: the index,
    the question bank, the model (warm prompt cache), the search encoder fitted to the notes, then the model's
    scenario wordings for the bank."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.retriever: Retriever | None = None
        self.stores = ProgressStores(settings.data_dir)
        self.index_error: str | None = None
        self.model_state = "not loaded"
        self.bank_state = ""
        self.adapt_state = ""
        self.scenarios = bool(settings.bank_scenarios)
        self._lock = threading.Lock()
        self._adapting = threading.Lock()
        self._adapt_wanted = threading.Event()
        self._stop = threading.Event()
        self.last_use = 0.0  # when a learner last used the model (background work yields to them)

    @property
    def progress(self) -> Progress:
        """The single local learner's store (no logins)."""
        return self.stores.get(None)

    def progress_for(self, request: gr.Request | None) -> Progress:
        """The progress store of whoever sent this request: their login's own file, or the local one."""
        return self.stores.get(learner(request))

    def start(self) -> None:
        threading.Thread(target=self._warm, daemon=True).start()

    def _warm(self) -> None:
        try:
            self.load_index()
        except MlstutorError as exc:
            self.index_error = str(exc)
            return
        if self.settings.backend != "llamacpp":
            self.model_state = "hosted"  # nothing to load; the server is reached on the first question
            self.adapt()
            return
        self.model_state = f"loading {self.settings.model}…"
        try:
            tutor = Tutor(self.retriever, self.settings)
            tutor.warm_up()  # model loaded, system prompt cached
            self.model_state = f"{self.settings.model} ready"
        except MlstutorError as exc:
            self.model_state = f"model unavailable: {exc}"
            self.adapt()
            return
        self.adapt()
        if self.scenarios:
            self._fill_scenarios(tutor.llm)

    def adapt(self) -> None:
        """Background, once the model is warm (and again after a re-index): fit the search encoder to the loaded
        build of the notes (:mod:`mlstutor.adapt`, ~1.5 min on two cores; it pauses while a learner is using the
        model), then search with it. A build that has one already, or ``MLSTUTOR_ADAPTED=0``: nothing to do. Called
        while a fit runs, it leaves a request the running one takes up when it is done."""
        if not self.settings.adapted:
            return
        self._adapt_wanted.set()
        while self._adapt_wanted.is_set() and self._adapting.acquire(blocking=False):
            try:
                self._adapt_wanted.clear()
                self._adapt_loaded()
            finally:
                self.adapt_state = ""
                self._adapting.release()

    def _adapt_loaded(self) -> None:
        from mlstutor.adapt import adapt_index

        def show(stage: str, done: int, total: int) -> None:
            what = "fitting search to your notes" if stage == "fine-tune" else "re-embedding your notes"
            self.adapt_state = f" · 🔧 {what} {done}/{total}" if done < total else ""

        def busy() -> bool:
            if self._stop.is_set():
                raise MlstutorError("stopping")
            return time.time() - self.last_use < 30

        r = self.retriever
        if r is None or r.embedder.name == ADAPTED or self._stop.is_set():
            return
        try:
            adapt_index(self.settings, show, busy=busy, retriever=r)
            with self._lock:
                if self.retriever is r:  # not replaced by a re-index meanwhile (that one asks for its own fit)
                    self.retriever = Retriever.open(self.settings)
                    QuestionBank.of(self.retriever)
        except Exception:  # the packaged encoder keeps serving; `mlstutor index --adapt` says why
            pass

    def _fill_scenarios(self, llm: Any) -> None:
        """Background: the model wraps bank items in exam scenarios, one at a time, cached per fact."""
        bank = self.bank()
        try:
            fill_scenarios(
                bank,
                llm,
                self.settings.data_dir,
                self.settings.profile,
                progress=lambda d, t: setattr(self, "bank_state", f" · ✍️ scenarios {d}/{t}" if d < t else ""),
                stop=self._stop,
                busy=lambda: time.time() - self.last_use < 90,
            )
        except Exception:
            self.bank_state = ""

    def stop(self) -> None:
        self._stop.set()

    def load_index(self, progress: Any = None, *, if_missing: bool = False) -> Retriever:
        with self._lock:
            if if_missing and self.retriever is not None:  # another learner's request loaded it meanwhile
                return self.retriever
            self.retriever = Retriever.open(self.settings, progress)
            QuestionBank.of(self.retriever)  # built with the index: a quiz starts from it at once
            self.index_error = None
            return self.retriever

    def need_retriever(self) -> Retriever:
        if self.retriever is None:
            if self.index_error:
                raise MlstutorError(self.index_error)
            return self.load_index(if_missing=True)
        return self.retriever

    def bank(self) -> QuestionBank:
        return QuestionBank.of(self.need_retriever())

    def quizmaster(self, seed: int | None = None) -> QuizMaster:
        return QuizMaster(self.need_retriever(), self.settings, seed=seed)

    def status_md(self, request: gr.Request | None = None) -> str:
        if self.index_error:
            idx = f"⚠️ index: {self.index_error}"
        elif self.retriever is None:
            idx = "⏳ loading the notes index…"
        else:
            m = self.retriever.index.manifest
            idx = f"📚 {m['n_chunks']} passages from {m['n_docs']} notes"
            if self.retriever.embedder.name == ADAPTED:
                idx += ", search fitted to them"
        store = self.stores.opened(learner(request))
        note = f" · ⚠️ {store.notice}" if store is not None and store.notice else ""
        return f"{idx} · 🤖 model: {self.model_state}{self.adapt_state}{self.bank_state}{note}"
