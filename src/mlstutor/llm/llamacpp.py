"""Local generation with llama.cpp on a GGUF file (the default backend: no network, no server)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

from mlstutor.config import Settings
from mlstutor.errors import ModelError
from mlstutor.llm.base import Message, register
from mlstutor.llm.presets import resolve_model


class LlamaCppLLM:
    """One llama.cpp model per process. llama.cpp is not re-entrant, so calls are serialised with a lock;
    the constant system prompt at the start of every request lets it reuse its KV cache."""

    def __init__(self, settings: Settings) -> None:
        path = resolve_model(settings.model, settings.cache_dir)
        self.name = settings.model if not os.path.exists(settings.model) else os.path.basename(settings.model)
        self.path = path
        try:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_threads=settings.n_threads or os.cpu_count() or 2,
                verbose=False,
            )
        except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on bad files
            raise ModelError(f"cannot load model {path.name}: {exc}") from exc
        self._lock = threading.Lock()

    def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 384,
        temperature: float = 0.1,
        schema: dict[str, Any] | None = None,
        stream: bool = False,
    ) -> str | Iterator[str]:
        kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        if not stream:
            with self._lock:
                out = self._llama.create_chat_completion(messages=messages, **kwargs)
            return out["choices"][0]["message"]["content"] or ""
        return self._stream(messages, kwargs)

    def _stream(self, messages: list[Message], kwargs: dict[str, Any]) -> Iterator[str]:
        with self._lock:
            for part in self._llama.create_chat_completion(messages=messages, stream=True, **kwargs):
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta


@register("llamacpp")
def _factory(settings: Settings) -> LlamaCppLLM:
    return LlamaCppLLM(settings)
