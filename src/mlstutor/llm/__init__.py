"""Language model backends behind one small interface (see :mod:`mlstutor.llm.base`)."""

from mlstutor.llm.base import LLM, Message, backends, complete, complete_json, get_llm, register
from mlstutor.llm.presets import DEFAULT_PRESET, PRESETS, resolve_model

__all__ = [
    "DEFAULT_PRESET",
    "LLM",
    "PRESETS",
    "Message",
    "backends",
    "complete",
    "complete_json",
    "get_llm",
    "register",
    "resolve_model",
]
