"""Real models from the packages and a real llama.cpp OpenAI-compatible server on loopback."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlstutor.config import Settings
from mlstutor.errors import ModelError
from mlstutor.llm import PRESETS, backends, complete, get_llm, resolve_model
from mlstutor.llm.presets import Preset
from mlstutor.llm.presets import resolve_model as resolve

pytestmark = pytest.mark.slow
SMALL = "smollm2-135m"
HELLO = [{"role": "user", "content": "Name one AWS storage service."}]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Settings:
    return Settings(model=SMALL, cache_dir=tmp_path_factory.mktemp("cache"), n_ctx=2048)


def test_registry_knows_both_backends() -> None:
    assert {"llamacpp", "openai"} <= set(backends())
    with pytest.raises(ModelError, match="unknown LLM backend"):
        get_llm(Settings(backend="nope"))


def test_local_model_chat_stream_and_schema(small: Settings) -> None:
    llm = get_llm(small)
    assert get_llm(small) is llm  # loaded once, shared
    text = complete(llm, HELLO, max_tokens=24)
    assert isinstance(text, str) and text.strip()
    pieces = list(llm.chat(HELLO, max_tokens=16, stream=True))
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces)
    schema = {
        "type": "object",
        "properties": {"service": {"type": "string", "maxLength": 24}},
        "required": ["service"],
    }
    data = json.loads(complete(llm, HELLO, max_tokens=80, schema=schema))
    assert isinstance(data["service"], str)


def test_greedy_then_grammar_writes_what_the_full_grammar_writes(small: Settings) -> None:
    """The faster grammar sampling (best token first, whole vocabulary only when the grammar rejects it) picks
    the same tokens as llama-cpp-python's own (grammar over every candidate), on the real model."""
    from llama_cpp import Llama

    from mlstutor.llm.llamacpp import GreedyThenGrammar

    llm = get_llm(small)
    plain = Llama(model_path=str(llm.path), n_ctx=2048, n_threads=2, verbose=False)
    schema = {
        "type": "object",
        "properties": {
            "lines": {"type": "array", "items": {"type": "integer", "enum": [1, 2, 3]}},
            "answer": {"type": "string"},
        },
        "required": ["lines", "answer"],
    }
    asked = [
        [
            {
                "role": "user",
                "content": "Lines: [1] Kinesis records are up to 1 MB. [2] S3 objects up to 5 TB.\n"
                "Which line says how large a Kinesis record can be? Reply as JSON.",
            }
        ],
        HELLO,
    ]
    used = []
    real_init = type(llm._llama)._init_sampler

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        sampler = real_init(self, *args, **kwargs)
        used.append(type(sampler).__name__)
        return sampler

    type(llm._llama)._init_sampler = spy
    try:
        for messages in asked:
            fmt = {"type": "json_object", "schema": schema}
            ours = llm._llama.create_chat_completion(messages, max_tokens=48, temperature=0.0, response_format=fmt)
            theirs = plain.create_chat_completion(messages, max_tokens=48, temperature=0.0, response_format=fmt)
            text = ours["choices"][0]["message"]["content"]
            assert text == theirs["choices"][0]["message"]["content"]
            assert text.startswith("{")
    finally:
        type(llm._llama)._init_sampler = real_init
    assert used == [GreedyThenGrammar.__name__] * len(asked)


def test_the_model_steps_down_to_one_thread_while_a_learner_searches(small: Settings) -> None:
    """While foreground work runs (a learner's search or quiz start), the real local model writes on one
    thread; before and after, on all it was given."""
    import llama_cpp

    from mlstutor.cores import foreground

    llm = get_llm(small.with_(n_threads=2))
    threads = lambda: llama_cpp.llama_n_threads(llm._llama._ctx.ctx)  # noqa: E731
    stream = llm.chat(HELLO, max_tokens=12, stream=True)
    first = next(stream)
    assert first and threads() == 2
    with foreground():
        assert next(stream) and threads() == 1
    list(stream)  # the model is free again: the next request writes on both
    assert complete(llm, HELLO, max_tokens=4) is not None and threads() == 2


def test_model_cache_is_bounded_least_recently_used_out(small: Settings) -> None:
    """Switching models does not keep every model loaded: beyond ``max_local_models`` the least recently used
    one leaves the cache and its memory is freed once nobody uses it; one still in use is handed back, not
    loaded twice."""
    import gc
    import weakref

    from mlstutor.llm.base import loaded_models

    tiny, other = small.with_(max_local_models=2), small.with_(max_local_models=2, model="qwen2.5-coder-0.5b")
    same_file = tiny.with_(model=str(resolve_model(SMALL, small.cache_dir)))  # a third key: the GGUF path
    a, b = get_llm(tiny), get_llm(other)
    assert get_llm(tiny) is a  # touched: now b is the least recently used
    c = get_llm(same_file)
    names = loaded_models()
    assert a.name in names and c.name in names and b.name not in names
    gone = weakref.ref(b)
    del b
    gc.collect()
    assert gone() is None  # evicted and unused: freed

    one = small.with_(max_local_models=1)
    d = get_llm(one.with_(model="qwen2.5-coder-0.5b"))
    assert [n for n in loaded_models() if n in (SMALL, c.name, d.name)] == [d.name]
    assert get_llm(one) is a  # evicted but still referenced (a request streaming from it): the same object back
    assert d.name not in loaded_models()
    del a, c, d
    gc.collect()


def test_missing_package_names_the_pip_command(tmp_path: Path, monkeypatch) -> None:
    ghost = Preset("ghost", ("mlstutor-no-such-model-part1",), "1.0", "0" * 64, "ghost.gguf", "")
    monkeypatch.setitem(PRESETS, "ghost", ghost)
    with pytest.raises(ModelError, match="pip install mlstutor-no-such-model-part1==1.0"):
        resolve("ghost", tmp_path)


def test_bad_checksum_is_refused_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    real = PRESETS["qwen2.5-coder-0.5b"]
    bad = Preset("bad", real.packages, real.version, "f" * 64, "bad.gguf", "")
    monkeypatch.setitem(PRESETS, "bad", bad)
    with pytest.raises(ModelError, match="failed its checksum.*--force-reinstall"):
        resolve("bad", tmp_path)
    assert not list((tmp_path / "models").iterdir())  # no half-written or unverified file left behind


def test_split_preset_assembles_once_and_verifies(tmp_path: Path) -> None:
    path = resolve_model("qwen2.5-coder-0.5b", tmp_path)
    assert path.stat().st_size == 491400032 or path.stat().st_size > 400_000_000
    mtime = path.stat().st_mtime_ns
    assert resolve_model("qwen2.5-coder-0.5b", tmp_path) == path
    assert path.stat().st_mtime_ns == mtime  # reused, not rebuilt
    path.write_bytes(b"GGUF tampered")  # a changed cache file is rebuilt from the packages
    assert resolve_model("qwen2.5-coder-0.5b", tmp_path).stat().st_size > 400_000_000


def test_bad_model_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        resolve_model(str(tmp_path / "missing.gguf"), tmp_path)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_model(str(junk), tmp_path)
    with pytest.raises(ModelError, match="unknown model"):
        resolve_model("gpt-17", tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(small: Settings) -> Iterator[str]:
    """``python -m llama_cpp.server`` with the small packaged GGUF and an API key, on a free loopback port."""
    port = _free_port()
    gguf = resolve_model(SMALL, small.cache_dir)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--api_key",
            "s3cret-test-key",
            "--n_ctx",
            "2048",
            "--model_alias",
            "smol",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            req = urllib.request.Request(f"{url}/models", headers={"Authorization": "Bearer s3cret-test-key"})
            urllib.request.urlopen(req, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited early")
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_openai_backend_against_real_server(server: str) -> None:
    s = Settings(backend="openai", openai_base_url=server, openai_model="smol", openai_api_key="s3cret-test-key")
    llm = get_llm(s)
    assert "s3cret" not in repr(llm) and "s3cret" not in repr(s)
    assert complete(llm, HELLO, max_tokens=16).strip()
    assert "".join(llm.chat(HELLO, max_tokens=16, stream=True)).strip()


def test_wrong_key_and_dead_server(server: str) -> None:
    wrong = get_llm(Settings(backend="openai", openai_base_url=server, openai_model="smol", openai_api_key="nope"))
    with pytest.raises(ModelError, match="rejected the API key") as err:
        complete(wrong, HELLO, max_tokens=8)
    assert "nope" not in str(err.value)
    dead = get_llm(
        Settings(backend="openai", openai_base_url=f"http://127.0.0.1:{_free_port()}/v1", openai_timeout=5)
    )
    with pytest.raises(ModelError, match="cannot reach the LLM server"):
        complete(dead, HELLO, max_tokens=8)
    with pytest.raises(ModelError, match="needs a server URL"):
        get_llm(Settings(backend="openai", openai_base_url=""))


def test_tutor_pipeline_through_the_hosted_backend(server: str, retriever) -> None:
    """The same evidence-first pipeline with the model behind an OpenAI-compatible server (schema-constrained)."""
    from mlstutor.tutor import Tutor

    s = retriever.settings.with_(
        backend="openai", openai_base_url=server, openai_model="smol", openai_api_key="s3cret-test-key"
    )
    tutor = Tutor(retriever, s)
    events = list(tutor.ask_stream("How large can a Kinesis record be?"))
    assert events[0][0] == "evidence" and events[0][1] and events[-1][0] == "answer"
    answer = events[-1][1]
    assert answer.text and (answer.abstained or answer.citations)
    assert any("1MB" in e.citation.text.replace(" ", "") for e in answer.evidence)
    picked = tutor.answer_mcq(
        "Which service stores objects?", {"A": "Amazon S3", "B": "AWS Lambda", "C": "Amazon SNS"}
    )
    assert len(picked) == 1 and picked[0] in "ABC"
