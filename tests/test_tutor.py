import pytest

from mlstutor.errors import QueryError
from mlstutor.retrieval import Retriever
from mlstutor.tutor import Answer, Tutor, clean_markers


def test_clean_markers() -> None:
    text, cited, removed = clean_markers("Records are 1MB [1]. Shards scale [3] and [7].", 3)
    assert cited == [1, 3] and removed == 1
    assert "[7]" not in text and "[1]" in text


@pytest.fixture(scope="module")
def tutor(retriever: Retriever, tmp_path_factory) -> Tutor:
    s = retriever.settings.with_(model="smollm2-135m", cache_dir=tmp_path_factory.mktemp("c"), max_tokens=60)
    return Tutor(retriever, s)


@pytest.mark.slow
def test_ask_streams_passages_first_then_answer(tutor: Tutor) -> None:
    events = list(tutor.ask_stream("What is the maximum record size in Kinesis Data Streams?"))
    kinds = [k for k, _ in events]
    assert kinds[0] == "passages" and kinds[-1] == "answer"
    hits = events[0][1]
    assert any("1MB" in h.chunk.text.replace(" ", "") for h in hits)
    answer = events[-1][1]
    assert isinstance(answer, Answer)
    assert answer.timings["retrieval_ms"] < answer.timings["total_ms"]
    if not answer.abstained:
        assert answer.text and answer.citations
        for c in answer.citations:
            assert 1 <= c.n <= len(hits) and c.source.endswith(".md") and c.line_start <= c.line_end
    # the prompt stays small: constant system prompt + trimmed passages
    msgs = tutor.build_messages("What is the maximum record size?", hits, None)
    assert msgs[0]["role"] == "system" and len(msgs[-1]["content"]) < 1600


@pytest.mark.slow
def test_follow_up_uses_the_conversation(tutor: Tutor) -> None:
    first = tutor.ask("What does Kinesis Data Firehose do?")
    hits = tutor.retrieve("and its buffer size?", history=[(first.question, first.text)])
    assert any("Firehose" in h.chunk.heading for h in hits)


def test_bad_questions(tutor: Tutor) -> None:
    with pytest.raises(QueryError):
        tutor.ask("   ")
    with pytest.raises(QueryError):
        tutor.ask("x" * 50_000)
