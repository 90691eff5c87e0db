"""Local generation with llama.cpp on a GGUF file (the default backend: no network, no server)."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from mlstutor.config import Settings
from mlstutor.cores import contended
from mlstutor.errors import ModelError
from mlstutor.llm.base import Message, register
from mlstutor.llm.presets import resolve_model


class GreedyThenGrammar:
    """Greedy sampling under a grammar, the way llama.cpp's own ``common_sampler`` does it: take the model's best
    token, and only when the grammar rejects it apply the grammar to the whole vocabulary. llama-cpp-python applies
    the grammar to all ~150,000 candidates at every step, which cost a third of the speed of a schema-constrained
    answer on two cores; the tokens chosen are the same (the best token the grammar allows)."""

    def __init__(self, llama: Any, grammar: Any) -> None:
        import llama_cpp

        self._c = llama_cpp
        self.n_vocab = llama.n_vocab()
        self.grammar = llama_cpp.llama_sampler_init_grammar(
            llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self.grammar:
            raise ModelError("llama.cpp could not compile the JSON schema's grammar")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._all: Any = None  # the whole vocabulary, made the first time the grammar rejects the best token

    def _apply(self, data: Any, size: int) -> None:
        arr = self._c.llama_token_data_array(ctypes.cast(data, self._c.llama_token_data_p), size, -1, False)
        self._c.llama_sampler_apply(self.grammar, ctypes.byref(arr))

    def sample(self, ctx: Any, idx: int = -1) -> int:
        ptr = self._c.llama_get_logits_ith(ctx.ctx, idx)
        if not ptr or not self.grammar:
            raise ModelError("llama.cpp gave no logits to sample from")
        logits = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
        token = int(logits.argmax())
        self._one[0].id, self._one[0].logit = token, float(logits[token])
        self._apply(self._one, 1)
        if self._one[0].logit == float("-inf"):  # the grammar forbids the model's choice: the best it allows
            if self._all is None:
                self._all = (self._c.llama_token_data * self.n_vocab)()
                self._view = np.ctypeslib.as_array(self._all)  # a structured view: id, logit, p
                self._view["id"] = np.arange(self.n_vocab, dtype=np.int32)  # the grammar sets logits, never ids
            self._view["logit"] = logits
            self._apply(self._all, self.n_vocab)
            token = int(self._view["logit"].argmax())
        self._c.llama_sampler_accept(self.grammar, token)
        return token

    def close(self) -> None:
        if getattr(self, "grammar", None):
            self._c.llama_sampler_free(self.grammar)
            self.grammar = None

    __del__ = close


def _llama_class() -> type:
    """``Llama`` whose greedy, grammar-constrained sampling is :class:`GreedyThenGrammar` (other sampling as is)."""
    from llama_cpp import Llama

    class _Llama(Llama):  # type: ignore[misc, valid-type]
        def _init_sampler(self, *args: Any, **kwargs: Any) -> Any:
            plain = {"repeat_penalty": 1.0, "frequency_penalty": 0.0, "presence_penalty": 0.0}
            if (
                kwargs.get("grammar") is not None
                and kwargs.get("temp") == 0.0
                and kwargs.get("logits_processor") is None
                and all(kwargs.get(k, v) == v for k, v in plain.items())
            ):
                return GreedyThenGrammar(self, kwargs["grammar"])
            return super()._init_sampler(*args, **kwargs)

    return _Llama


class LlamaCppLLM:
    """One llama.cpp model per process. llama.cpp is not re-entrant, so calls are serialised with a lock;
    the constant system prompt at the start of every request lets it reuse its KV cache."""

    def __init__(self, settings: Settings) -> None:
        path = resolve_model(settings.model, settings.cache_dir)
        self.name = settings.model if not os.path.exists(settings.model) else os.path.basename(settings.model)
        self.path = path
        self._n_threads = self._now = settings.n_threads or os.cpu_count() or 2
        try:
            self._llama = _llama_class()(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_threads=self._n_threads,
                n_threads_batch=self._n_threads,
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
                self._threads()
                out = self._llama.create_chat_completion(messages=messages, **kwargs)
            return out["choices"][0]["message"]["content"] or ""
        return self._stream(messages, kwargs)

    def _threads(self) -> None:
        """One thread while a learner's search or quiz start runs beside the model (:mod:`mlstutor.cores`), all
        otherwise. Set between tokens, so it holds from the next one."""
        want = 1 if contended() else self._n_threads
        if want != self._now:
            self._llama._ctx.set_n_threads(want, want)
            self._now = want

    def _stream(self, messages: list[Message], kwargs: dict[str, Any]) -> Iterator[str]:
        with self._lock:
            self._threads()
            parts = self._llama.create_chat_completion(messages=messages, stream=True, **kwargs)
            try:
                for part in parts:
                    self._threads()
                    delta = part["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
            finally:
                parts.close()  # closed early: llama.cpp's generator ends now, before the lock is released


@register("llamacpp")
def _factory(settings: Settings) -> LlamaCppLLM:
    return LlamaCppLLM(settings)
