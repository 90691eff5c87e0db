"""The course profile: exam-specific content (prompts, messages, domains) as a data file, not code."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlstutor.errors import MlstutorError

PROFILES = Path(__file__).with_name("profiles")
DEFAULT_PROFILE = "mls-c01"


@lru_cache(maxsize=8)
def load_profile(name: str = DEFAULT_PROFILE) -> dict[str, Any]:
    """A profile by name (``mls-c01``) or by path to a ``.toml`` file."""
    path = Path(name) if name.endswith(".toml") else PROFILES / f"{name}.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MlstutorError(f"course profile not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MlstutorError(f"course profile {path} is not valid TOML: {exc}") from None


def prompt(name: str, profile: str = DEFAULT_PROFILE) -> str:
    return str(load_profile(profile)["prompts"][name])
