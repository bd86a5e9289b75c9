"""A poison message on each consumed topic lands in its DLQ with the reason; processing goes on."""

from __future__ import annotations

import random

import pytest
from aiokafka import AIOKafkaProducer

from stenograph.schemas.codec import codec
from stenograph.schemas.events import BotState, BotStatusChanged, JoinRequested, SegmentEvent
from stenograph.schemas.topics import AUDIO, COMMANDS, KEYS, LIFECYCLE, SEGMENTS, TENANTS, spec
from tests.support import DATA, Pipeline, read_all

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

POISON = {
    AUDIO: b"\x01not avro at all",
    SEGMENTS: b"\x07unknown schema version",
    LIFECYCLE: b"",
    COMMANDS: b"\x01\xff\xff\xff\xff\xff\xff",
    TENANTS: b"\x02 from a future version",
}


async def _send(bootstrap: str, topic: str, value: bytes, key: bytes = b"poison") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _dlq_reasons(pipeline: Pipeline, base: str) -> list[tuple[bytes | None, dict[str, bytes]]]:
    records = await read_all(pipeline.infra.bootstrap, pipeline.topic(base) + ".dlq")
    return [(r.value, dict(r.headers)) for r in records]


async def test_poison_audio_goes_to_dlq_and_transcription_continues(pipeline: Pipeline) -> None:
    await _send(pipeline.infra.bootstrap, pipeline.topic(AUDIO), POISON[AUDIO])
    meeting_id = pipeline.stream(DATA / "jfk.flac", "teams/after-poison-audio")
    await pipeline.idle()
    parked = await _dlq_reasons(pipeline, AUDIO)
    assert any(v == POISON[AUDIO] and h["dlq.reason"] == b"undecodable" for v, h in parked), parked
    assert all(h["dlq.stage"] == b"transcriber" for _, h in parked)
    body = (await pipeline.transcript("teams/after-poison-audio")).json()
    assert body["id"] == meeting_id and "country" in " ".join(s["text"] for s in body["segments"])


async def test_poison_on_aggregator_topics_goes_to_dlq_and_valid_events_follow(
    pipeline: Pipeline,
) -> None:
    bootstrap = pipeline.infra.bootstrap
    for base in (SEGMENTS, LIFECYCLE, COMMANDS):
        await _send(bootstrap, pipeline.topic(base), POISON[base])
    # then one valid event on each
    join = JoinRequested(tenant_id="local", meeting_id="m-dlq-1", platform="zoom",
                         native_meeting_id="dlq-check", bot_name="bot")
    status = BotStatusChanged(tenant_id="local", meeting_id="m-dlq-1", state=BotState.ACTIVE,
                              reason="joined", platform="zoom", native_meeting_id="dlq-check")
    segment = SegmentEvent(
        tenant_id="local", meeting_id="m-dlq-1", run_id="live", session_id="s", segment_id="s-0-0",
        revision=0, completed=True, start_s=0.0, end_s=1.0, start_time_ns=1, end_time_ns=2,
        text="still flowing", model="tiny.en", seq_first=0, seq_last=9,
    )
    await _send(bootstrap, pipeline.topic(COMMANDS), codec(COMMANDS).encode(join), b"m-dlq-1")
    await _send(bootstrap, pipeline.topic(LIFECYCLE), codec(LIFECYCLE).encode(status), b"m-dlq-1")
    await _send(bootstrap, pipeline.topic(SEGMENTS), codec(SEGMENTS).encode(segment), b"m-dlq-1")
    await pipeline.idle()

    expected = {SEGMENTS: b"unknown_version", LIFECYCLE: b"empty", COMMANDS: b"undecodable"}
    for base, reason in expected.items():
        parked = await _dlq_reasons(pipeline, base)
        assert any(h["dlq.reason"] == reason and h["dlq.stage"] == b"aggregator"
                   and h["dlq.topic"] == pipeline.topic(base).encode() for _, h in parked), (base, parked)
    body = (await pipeline.transcript("zoom/dlq-check")).json()
    assert body["status"] == "active"
    assert [s["text"] for s in body["segments"]] == ["still flowing"]


async def test_poison_on_the_tenants_topic_goes_to_dlq_and_keys_keep_working(pipeline: Pipeline) -> None:
    await _send(pipeline.infra.bootstrap, pipeline.topic(TENANTS), POISON[TENANTS], b"key:poison")
    key = pipeline.mint_key("after-poison")  # materialized past the poison message
    async with pipeline.client(key) as c:
        assert (await c.get("/meetings")).status_code == 200
    parked = await _dlq_reasons(pipeline, TENANTS)
    assert any(v == POISON[TENANTS] and h["dlq.reason"] == b"unknown_version"
               and h["dlq.stage"] == b"aggregator" for v, h in parked), parked


async def test_random_bytes_and_truncated_avro_on_every_topic_land_in_its_dlq(pipeline: Pipeline) -> None:
    """For every topic whose DLQ owner runs here: bytes past a valid version byte, and each of
    its golden examples cut in half; every one parked once by its owner, and transcription goes on."""
    from tests.fuzz.targets import BASES, _codec_seeds

    rng = random.Random(15)
    sent: dict[str, list[bytes]] = {}
    for seed in _codec_seeds():
        base, message = BASES[seed[0]], seed[1:]
        if base not in (AUDIO, SEGMENTS, LIFECYCLE, COMMANDS, TENANTS, KEYS):
            continue
        sent.setdefault(base, []).append(message[:len(message) // 2])
    for base in list(sent):
        sent[base].append(bytes([spec(base).latest_version]) + rng.randbytes(64))
        for value in sent[base]:
            await _send(pipeline.infra.bootstrap, pipeline.topic(base), value,
                        b"key:poison" if base == TENANTS else b"poison")
    pipeline.stream(DATA / "jfk.flac", "teams/after-random-poison")
    await pipeline.idle()
    for base, values in sent.items():
        parked = [v for v, h in await _dlq_reasons(pipeline, base)
                  if h["dlq.stage"] == str(spec(base).dlq_owner).encode()]
        assert all(parked.count(v) == 1 for v in values), (base, [v for v in values if parked.count(v) != 1])
    body = (await pipeline.transcript("teams/after-random-poison")).json()
    assert "country" in " ".join(s["text"] for s in body["segments"])
