"""The one interface every language model backend implements, and a registry of backends by name.

Like ``simonw/llm``'s model plugins: a backend is a small class with ``chat``; the tutor and quiz never know
whether tokens come from llama.cpp in this process or from a server elsewhere.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

from mlstutor.config import Settings
from mlstutor.errors import ModelError

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@runtime_checkable
class LLM(Protocol):
    """Chat messages in, text out (or an iterator of text pieces when ``stream=True``)."""

    name: str

    def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 384,
        temperature: float = 0.1,
        schema: dict[str, Any] | None = None,
        stream: bool = False,
    ) -> str | Iterator[str]: ...


BackendFactory = Callable[[Settings], LLM]
_BACKENDS: dict[str, BackendFactory] = {}
_CACHE: dict[tuple, LLM] = {}
_LOCK = threading.Lock()


def register(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator: make a backend factory available under ``name``."""

    def wrap(factory: BackendFactory) -> BackendFactory:
        _BACKENDS[name] = factory
        return factory

    return wrap


def backends() -> list[str]:
    _load_builtin()
    return sorted(_BACKENDS)


def _load_builtin() -> None:
    from mlstutor.llm import llamacpp, openai_compat  # noqa: F401  (registers the built-in backends)


def get_llm(settings: Settings) -> LLM:
    """The shared model for these settings: loaded once per process and reused by every request."""
    _load_builtin()
    if settings.backend not in _BACKENDS:
        raise ModelError(f"unknown LLM backend {settings.backend!r}; choose one of: {', '.join(backends())}")
    key = (
        settings.backend,
        settings.model if settings.backend == "llamacpp" else settings.openai_model,
        settings.openai_base_url,
        hash(settings.openai_api_key),  # the key itself is never kept in a printable place
        settings.n_ctx,
    )
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _BACKENDS[settings.backend](settings)
        return _CACHE[key]


def complete_json(
    llm: LLM, system: str, user: str, schema: dict[str, Any], *, max_tokens: int, temperature: float
) -> dict[str, Any]:
    """One schema-constrained exchange parsed into a dict; ``ValueError`` when the reply is not a JSON object
    (llama.cpp enforces the schema with a grammar, but a reply cut off by ``max_tokens`` still fails to parse)."""
    raw = complete(
        llm,
        [{"role": "system", "content": system}, {"role": "user", "content": user}],
        max_tokens=max_tokens,
        temperature=temperature,
        schema=schema,
    )
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed: model output did not parse ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ValueError("malformed: model output is not a JSON object")
    return data


def complete(llm: LLM, messages: list[Message], **kwargs: Any) -> str:
    """Non-streaming convenience: always a string."""
    out = llm.chat(messages, stream=False, **kwargs)
    return out if isinstance(out, str) else "".join(out)
