"""Shared fixtures: the real corpus, the real packaged embedding model, real FAISS indexes on disk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mlstutor.config import Settings
from mlstutor.retrieval import Retriever

# three small notes: the index and fault tests build on them (real files, real model)
NOTES = {
    "kinesis.md": "# Kinesis\n\n## Kinesis Data Streams\n\n* Maximum record size is 1MB\n"
    "* Data is kept for 24 hours by default, up to 365 days\n* A shard takes 1MB/s or 1000 records/s in\n",
    "firehose.md": "# Firehose\n\n## Kinesis Data Firehose\n\n"
    "* Near real time: minimum buffer interval is 60 seconds\n"
    "* Can convert JSON to Parquet or ORC before writing to S3\n",
    "glue.md": "# Glue\n\n## AWS Glue\n\n* Crawlers infer the schema and fill the Glue Data Catalog\n"
    "* Glue ETL jobs run on serverless Apache Spark\n",
}

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the real corpus with an index in a session scratch folder."""
    base = tmp_path_factory.mktemp("mlstutor")
    # adapted=False: a UI started on this shared index would fit an encoder into it in the background, and every
    # later test would search with that one (tests/test_adapt.py covers the fitting, on its own index)
    return Settings(
        corpus_dir=CORPUS, index_dir=base / "index", data_dir=base / "data", cache_dir=base / "cache", adapted=False
    )


@pytest.fixture(scope="session")
def retriever(settings: Settings) -> Retriever:
    return Retriever.open(settings)


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the notes for tests that change them."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst
