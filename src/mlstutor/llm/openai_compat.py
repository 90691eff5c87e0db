"""Any OpenAI-compatible chat server: OpenAI, Ollama, vLLM, LM Studio, ``python -m llama_cpp.server``.

The only backend that sends anything off the machine, and only to the URL the user configured. The API key is
kept out of reprs, logs and error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlstutor.config import Settings
from mlstutor.errors import ModelError
from mlstutor.llm.base import Message, register


class OpenAICompatLLM:
    def __init__(self, settings: Settings) -> None:
        if not settings.openai_base_url:
            raise ModelError("the openai backend needs a server URL: set OPENAI_BASE_URL or MLSTUTOR_OPENAI_BASE_URL")
        import openai

        self._openai = openai
        self.base_url = settings.openai_base_url.rstrip("/")
        self.model = settings.openai_model or "default"
        self.name = f"{self.model} @ {self.base_url}"
        self._schema_style = "json_schema"
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=settings.openai_api_key or "not-needed",
            timeout=settings.openai_timeout,
            max_retries=2,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatLLM({self.name!r})"

    def _error(self, exc: Exception) -> ModelError:
        o = self._openai
        if isinstance(exc, o.AuthenticationError):
            return ModelError(f"the server at {self.base_url} rejected the API key (401); check OPENAI_API_KEY")
        if isinstance(exc, o.APITimeoutError):
            return ModelError(f"the server at {self.base_url} did not answer in time")
        if isinstance(exc, o.APIConnectionError):
            return ModelError(f"cannot reach the LLM server at {self.base_url}; is it running?")
        if isinstance(exc, o.NotFoundError):
            return ModelError(f"the server at {self.base_url} does not know model {self.model!r}")
        if isinstance(exc, o.APIStatusError):
            return ModelError(f"the server at {self.base_url} answered HTTP {exc.status_code}")
        return ModelError(f"LLM request to {self.base_url} failed: {type(exc).__name__}")

    def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 384,
        temperature: float = 0.1,
        schema: dict[str, Any] | None = None,
        stream: bool = False,
    ) -> str | Iterator[str]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        try:
            if schema is None:
                return self._create(kwargs, stream)
            try:
                return self._create({**kwargs, "response_format": self._response_format(schema)}, stream)
            except self._openai.APIStatusError as exc:
                # OpenAI takes {"type": "json_schema"}; llama.cpp's server (and some others) only
                # {"type": "json_object", "schema": …}: fall back once and remember which one this server speaks
                if self._schema_style != "json_schema" or "response_format" not in str(exc):
                    raise
                self._schema_style = "json_object"
                return self._create({**kwargs, "response_format": self._response_format(schema)}, stream)
        except self._openai.OpenAIError as exc:
            raise self._error(exc) from None

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self._schema_style == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
        return {"type": "json_object", "schema": schema}

    def _create(self, kwargs: dict[str, Any], stream: bool) -> str | Iterator[str]:
        if not stream:
            out = self._client.chat.completions.create(**kwargs)
            return out.choices[0].message.content or ""
        return self._stream(self._client.chat.completions.create(stream=True, **kwargs))

    def _stream(self, chunks: Any) -> Iterator[str]:
        """The reply's pieces; :class:`ModelError` when the server goes away mid-stream — the connection breaks,
        or the stream ends without a finish reason — so a partial reply is never passed off as a whole one."""
        import httpx

        finished = False
        try:
            for part in chunks:
                if part.choices and part.choices[0].delta and part.choices[0].delta.content:
                    yield part.choices[0].delta.content
                if part.choices and part.choices[0].finish_reason:
                    finished = True
        except (httpx.HTTPError, self._openai.APIConnectionError) as exc:
            if isinstance(exc, self._openai.APITimeoutError | httpx.TimeoutException):
                raise ModelError(f"the server at {self.base_url} stopped answering mid-answer (timeout)") from None
            raise ModelError(f"the server at {self.base_url} stopped mid-answer (the connection broke)") from None
        except self._openai.OpenAIError as exc:
            raise self._error(exc) from None
        finally:
            chunks.close()  # closed early (the tutor stops after two sentences): the server stops writing too
        if not finished:
            raise ModelError(f"the server at {self.base_url} stopped mid-answer (the stream ended early)")


@register("openai")
def _factory(settings: Settings) -> OpenAICompatLLM:
    return OpenAICompatLLM(settings)
