"""The aggregator's handlers on the real redis-server, apart from Faust: what they do when their
table and the read model disagree, as they can after a crash, and the word timings they keep
as the read model serves them."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from stenograph.aggregate.handlers import AggregatorHandlers
from stenograph.aggregate.sink import RedisSink
from stenograph.aggregate.state import AggregatorState
from stenograph.readmodel import ReadStore, RedisKeys
from stenograph.schemas import SEGMENTS, SETTLED_RUN, CodecError, SegmentEvent, Word, codec
from tests.support import Infra


def seg(revision: int, *, completed: bool, text: str, sid: str = "s-0-p") -> SegmentEvent:
    return SegmentEvent(tenant_id="t", meeting_id="m", run_id="live", session_id="s", segment_id=sid,
                        revision=revision, completed=completed, start_s=0, end_s=1, start_time_ns=0,
                        end_time_ns=1, text=text, model="tiny.en", seq_first=0, seq_last=1)


async def _no_dlq(base: str, key: bytes | None, value: bytes | None, exc: CodecError) -> None:
    raise AssertionError(f"parked: {exc}")


encode = codec(SEGMENTS).encode


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def keys() -> RedisKeys:
    return RedisKeys(prefix=f"h{uuid.uuid4().hex[:8]}")


async def test_a_retirement_the_table_lost_still_closes_the_interim_redis_shows(
    redis: Redis, keys: RedisKeys,
) -> None:
    before = AggregatorHandlers(RedisSink(redis, keys), _no_dlq, None)
    await before.on_segment(b"t/m", encode(seg(30, completed=False, text="Okay, well")))
    # the worker dies; its successor's table came back without the interim's revision
    after = AggregatorHandlers(RedisSink(redis, keys), _no_dlq, None, state=AggregatorState.in_memory())
    await after.on_segment(b"t/m", encode(seg(2**31 - 1, completed=True, text="")))
    stored = json.loads(await redis.hget(keys.segments("t", "m", "live"), "s-0-p") or "{}")
    assert stored["completed"] is True and stored["text"] == "", stored
    # a retirement of an interim that nobody ever showed stores nothing
    await after.on_segment(b"t/m", encode(seg(2**31 - 1, completed=True, text="", sid="s-50-p")))
    assert await redis.hget(keys.segments("t", "m", "live"), "s-50-p") is None


async def test_a_session_end_retires_the_interims_of_its_session_left_open(
    redis: Redis, keys: RedisKeys,
) -> None:
    handlers = AggregatorHandlers(RedisSink(redis, keys), _no_dlq, None)
    await handlers.on_segment(b"t/m", encode(seg(30, completed=False, text="Okay, well")))
    await handlers.on_segment(b"t/m", encode(seg(4, completed=True, text="Okay, well.", sid="s-0-0")))
    other = replace(seg(7, completed=False, text="and then"), session_id="s2", segment_id="s2-0-p")
    await handlers.on_segment(b"t/m", encode(other))
    # its retirement never arrives; the session's end does
    end = replace(seg(2**31 - 1, completed=True, text="", sid="s-end"), session_end=True)
    await handlers.on_segment(b"t/m", encode(end))
    stored = {k: json.loads(v) for k, v in (await redis.hgetall(keys.segments("t", "m", "live"))).items()}
    assert stored["s-0-p"]["completed"] is True and stored["s-0-p"]["text"] == "", stored
    assert stored["s-0-0"]["text"] == "Okay, well." and stored["s-0-0"]["revision"] == 4
    assert stored["s2-0-p"]["completed"] is False  # another session, still going
    # a re-delivered retirement and session end change nothing more
    await handlers.on_segment(b"t/m", encode(seg(2**31 - 1, completed=True, text="")))
    await handlers.on_segment(b"t/m", encode(end))
    again = {k: json.loads(v) for k, v in (await redis.hgetall(keys.segments("t", "m", "live"))).items()}
    assert again == stored


def timed(segment: SegmentEvent, *said: str, run_id: str = "live",
          until: float | None = None) -> SegmentEvent:
    """The segment with one word per `said`, a second each from its start, in run `run_id`."""
    words = tuple(Word(word=w, start_s=segment.start_s + i, end_s=segment.start_s + i + 0.5, probability=0.9)
                  for i, w in enumerate(said))
    return replace(segment, run_id=run_id, text=" ".join(said), words=words, settles_until_s=until)


async def test_words_are_served_from_each_segments_own_run_and_never_outlive_their_revision(
    redis: Redis, keys: RedisKeys,
) -> None:
    handlers = AggregatorHandlers(RedisSink(redis, keys), _no_dlq, None)
    first = replace(seg(0, completed=True, text="", sid="s-0-0"), end_s=2)
    second = replace(seg(0, completed=True, text="", sid="s-50-0"), start_s=5, end_s=7, seq_first=50)
    for event in (timed(first, "live", "one"), timed(second, "live", "two"),
                  # the settling pass settles the first 5 s, under the live segment's own id
                  timed(first, "settled", "one", run_id=SETTLED_RUN, until=5.0)):
        await handlers.on_segment(b"t/m", encode(event))
    store = ReadStore(redis, keys)
    default = await store.transcript("t", "m", SETTLED_RUN, words=True)
    assert default is not None
    assert [(s.run_id, s.segment_id) for s in default.segments] == [(SETTLED_RUN, "s-0-0"),
                                                                     ("live", "s-50-0")]
    assert [[w.word for w in s.words or []] for s in default.segments] == [["settled", "one"],
                                                                            ["live", "two"]]
    assert [w.start for w in default.segments[1].words or []] == [5.0, 6.0]
    # an open interim has no words served; a revision without words drops the revision's before it
    interim = replace(seg(1, completed=False, text="", sid="s-100-p"), start_s=10, end_s=12, seq_first=100)
    await handlers.on_segment(b"t/m", encode(timed(interim, "maybe", "this")))
    live = await store.transcript("t", "m", "live", words=True)
    assert live is not None and live.segments[-1].segment_id == "s-100-p" and live.segments[-1].words is None
    assert await redis.hget(keys.words("t", "m", "live"), "s-100-p") is not None
    await handlers.on_segment(b"t/m", encode(replace(interim, revision=2, text="maybe that")))
    assert await redis.hget(keys.words("t", "m", "live"), "s-100-p") is None
