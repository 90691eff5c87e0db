"""The one interface every language model backend implements, and a registry of backends by name.

Like ``simonw/llm``'s model plugins: a backend is a small class with ``chat``; the tutor and quiz never know
whether tokens come from llama.cpp in this process or from a server elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import threading
import weakref
from collections import OrderedDict
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
_CACHE: OrderedDict[tuple, LLM] = OrderedDict()  # least recently used first
_ALIVE: weakref.WeakValueDictionary[tuple, LLM] = weakref.WeakValueDictionary()  # evicted but still in use
_LOCK = threading.Lock()
MAX_HOSTED = 8  # hosted clients are small (an HTTP client each), but not kept without bound either


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
    """The shared model for these settings: loaded once per process and reused by every request.

    The cache is bounded: at most ``settings.max_local_models`` local (llama.cpp) models stay loaded; asking for
    another one evicts the least recently used. An evicted model is only dropped from the cache: a request still
    streaming from it keeps it alive until it ends (and gets the same object back if it asks again meanwhile),
    then its memory is freed."""
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
        llm = _CACHE.get(key) or _ALIVE.get(key)
        if llm is None:
            llm = _BACKENDS[settings.backend](settings)
            with contextlib.suppress(TypeError):  # an object without weakref support is just not tracked
                _ALIVE[key] = llm
        _CACHE[key] = llm
        _CACHE.move_to_end(key)
        _evict(local=max(1, settings.max_local_models))
        return llm


def _evict(local: int) -> None:
    """Drop the least recently used entries beyond the bounds (local models and hosted clients counted apart)."""
    for is_local, bound in ((True, local), (False, MAX_HOSTED)):
        keys = [k for k in _CACHE if (k[0] == "llamacpp") == is_local]
        for k in keys[: max(0, len(keys) - bound)]:
            del _CACHE[k]


def loaded_models() -> list[str]:
    """Names of the cached models, least recently used first (what the bound keeps)."""
    with _LOCK:
        return [getattr(llm, "name", k[1]) for k, llm in _CACHE.items()]


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
