"""One settings object for the whole tutor.

Every knob lives here, read once from ``MLSTUTOR_*`` environment variables (and the usual ``OPENAI_*`` ones for a
hosted model), so modules receive a ``Settings`` instead of reading the environment themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import platformdirs

from mlstutor.errors import SettingsError

ENV_PREFIX = "MLSTUTOR_"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("mlstutor", appauthor=False))


def _default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("mlstutor", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Paths, retrieval and model choices. Build with :meth:`from_env`; derive variants with :meth:`with_`."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    data_dir: Path = field(default_factory=_default_data_dir)  # progress database, uploads log
    cache_dir: Path = field(default_factory=_default_cache_dir)  # assembled GGUF files

    embedding_model: str = "all-MiniLM-L6-v2"

    profile: str = "mls-c01"  # course profile: prompts, exam domains (a name or a .toml path)

    # chunking (part of the index manifest: changing one rebuilds the index)
    chunk_size: int = 600
    chunk_overlap: int = 120
    min_chunk: int = 250
    chunker: str = "headings"  # "naive" reproduces the plain 1000/200 recipe (eval baseline)
    heading_context: bool = True  # embed and index each passage and line with its heading path in front
    # search with the build's encoder fine-tuned on its own practice questions when it has one
    # (`mlstutor index --adapt`; 0 = always the packaged model)
    adapted: bool = True

    # retrieval
    k: int = 5
    mode: str = "hybrid"
    max_query_chars: int = 2000
    dedup_threshold: float = 0.92

    # generation
    backend: str = "llamacpp"
    model: str = "qwen2.5-coder-1.5b"
    n_ctx: int = 4096
    max_local_models: int = 2  # local models kept loaded at once; switching to another evicts the least recent
    n_threads: int = 0  # 0 = all cores
    max_tokens: int = 384
    temperature: float = 0.1
    openai_base_url: str = ""
    openai_api_key: str = field(default="", repr=False)  # never printed
    openai_model: str = ""
    openai_timeout: float = 60.0

    # practice: let the model wrap bank items in scenarios in the background while the UI is idle (1 = on). Off by
    # default: an independent reviewer accepted 9 of 20 such questions (5 real situations, 3 wrong keys) against
    # 20 of 23 program-built scenario items (review 10)
    bank_scenarios: int = 0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``MLSTUTOR_<FIELD>`` variables (e.g. ``MLSTUTOR_CORPUS_DIR``), then apply ``overrides``."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, raw, f.type)
        # the usual OpenAI variables, so existing setups just work
        for name, var in (
            ("openai_base_url", "OPENAI_BASE_URL"),
            ("openai_api_key", "OPENAI_API_KEY"),
            ("openai_model", "OPENAI_MODEL"),
        ):
            if name not in values and env.get(var):
                values[name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (``None`` values are ignored, handy for optional CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, raw: str, typ: object) -> object:
    typ_name = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ_name == "Path":
            return Path(raw).expanduser()
        if typ_name == "int":
            return int(raw)
        if typ_name == "float":
            return float(raw)
        if typ_name == "bool":
            if raw.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return raw.strip().lower() in ("1", "true", "yes", "on")
    except ValueError as exc:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {typ_name}") from exc
    return raw
