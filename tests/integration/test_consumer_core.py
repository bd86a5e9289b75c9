"""The consumer core (stenograph/runtime/consumer.py) on a real broker: DLQ ownership, retries of
transient errors, no commit after a failure, the step's commit point, backpressure."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiokafka import TopicPartition

from stenograph.runtime.consumer import ConsumerConfig, GroupConsumer, Record, Step
from stenograph.runtime.kafka import create_topics, reliable_producer
from stenograph.schemas.codec import codec
from stenograph.schemas.events import LeaveRequested
from stenograph.schemas.topics import COMMANDS, TopicNames
from tests.support import Infra, read_all

POISON = b"\x00not avro"


def _leave(n: int) -> LeaveRequested:
    return LeaveRequested(tenant_id="local", meeting_id="m-core", reason=f"r{n}")


async def _topics(infra: Infra) -> TopicNames:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    await create_topics(infra.bootstrap, prefix)
    return TopicNames(prefix)


async def _send(infra: Infra, topics: TopicNames, values: list[bytes]) -> None:
    producer = reliable_producer(infra.bootstrap)
    await producer.start()
    try:
        for v in values:  # one key: one partition, in order
            await producer.send_and_wait(topics.commands, v, key=b"m-core")
    finally:
        await producer.stop()


def _config(infra: Infra, topics: TopicNames, stage: str, group: str, **kw: Any) -> ConsumerConfig:
    return ConsumerConfig(bootstrap=infra.bootstrap, group_id=f"{topics.prefix}{group}", stage=stage,
                          topics=topics, bases=(COMMANDS,), poll_timeout_s=0.1, **kw)


class Collect(Step):
    """Records the reasons it was given; stops the run after `until` of them."""

    def __init__(self, stop: asyncio.Event, until: int) -> None:
        self.stop = stop
        self.until = until
        self.seen: list[str] = []
        self.polls = 0

    async def submit(self, record: Record) -> bool:
        self.seen.append(record.event.reason)
        if len(self.seen) >= self.until:
            self.stop.set()
        return False

    async def poll(self) -> bool:
        self.polls += 1
        return False


async def _run(core: GroupConsumer, stop: asyncio.Event, timeout: float = 60) -> None:
    await asyncio.wait_for(core.run(stop), timeout)


async def _committed(infra: Infra, group: str, topics: TopicNames) -> dict[int, int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"{topics.prefix}{group}")
        return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topics.commands}
    finally:
        await admin.close()


async def test_the_dlq_owner_parks_poison_and_another_stage_skips_and_counts(infra: Infra) -> None:
    topics = await _topics(infra)
    enc = codec(COMMANDS)
    await _send(infra, topics, [enc.encode(_leave(1)), POISON, enc.encode(_leave(2))])
    for stage, group in (("aggregator", "owner"), ("bot-manager", "other")):  # registry: aggregator owns it
        stop = asyncio.Event()
        step = Collect(stop, until=2)
        core = GroupConsumer(_config(infra, topics, stage, group), step)
        await _run(core, stop)
        assert step.seen == ["r1", "r2"]  # the poison record stopped nothing
        if stage == "aggregator":
            assert core.stats.parked[COMMANDS] == 1 and not core.stats.skipped
        else:
            assert core.stats.skipped[COMMANDS] == 1 and not core.stats.parked
    parked = await read_all(infra.bootstrap, topics.dlq(COMMANDS))
    assert [r.value for r in parked] == [POISON]  # parked once, by its owner only
    headers = dict(parked[0].headers)
    assert headers["dlq.stage"] == b"aggregator" and headers["dlq.reason"] == b"unknown_version"


async def test_a_parked_record_is_read_like_any_other(infra: Infra) -> None:
    """A partition whose last record was parked has nothing unread, so a stage that waits for its
    partitions to be read (the transcriber's idle flush) is not held up by a poison record."""
    topics = await _topics(infra)
    await _send(infra, topics, [codec(COMMANDS).encode(_leave(1)), POISON])
    stop = asyncio.Event()
    unread: list[int] = []

    class Watch(Collect):
        async def poll(self) -> bool:
            if self.seen and core.stats.parked[COMMANDS]:
                unread.append(sum(core.unread(tp) for tp in core.assignment()))
                self.stop.set()
            return False

    core = GroupConsumer(_config(infra, topics, "aggregator", "unread"), Watch(stop, until=99))
    await _run(core, stop)
    assert unread == [0]


async def test_a_transient_error_is_retried_on_the_same_record(infra: Infra) -> None:
    topics = await _topics(infra)
    enc = codec(COMMANDS)
    await _send(infra, topics, [enc.encode(_leave(1)), enc.encode(_leave(2))])
    stop = asyncio.Event()

    class Flaky(Collect):
        transient = (ConnectionError,)
        failures = 2

        async def submit(self, record: Record) -> bool:
            if record.event.reason == "r2" and self.failures:
                self.failures -= 1
                raise ConnectionError("the sink is away")
            return await super().submit(record)

    step = Flaky(stop, until=2)
    core = GroupConsumer(_config(infra, topics, "bot-manager", "flaky", retry_delays_s=(0.05,)), step)
    await _run(core, stop)
    assert step.seen == ["r1", "r2"] and core.stats.retries == 2


async def test_a_failed_run_commits_nothing_and_the_next_one_gets_the_records_again(infra: Infra) -> None:
    topics = await _topics(infra)
    enc = codec(COMMANDS)
    await _send(infra, topics, [enc.encode(_leave(n)) for n in range(3)])

    class Broken(Collect):
        async def submit(self, record: Record) -> bool:
            if record.event.reason == "r1":
                raise RuntimeError("a bug in the step")
            return await super().submit(record)

    stop = asyncio.Event()
    broken = Broken(stop, until=99)
    try:
        await _run(GroupConsumer(_config(infra, topics, "bot-manager", "g"), broken), stop)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the step's error must end the run")
    assert broken.seen == ["r0"]
    assert await _committed(infra, "g", topics) == {}  # r0 was processed, yet nothing committed
    stop = asyncio.Event()
    again = Collect(stop, until=3)
    await _run(GroupConsumer(_config(infra, topics, "bot-manager", "g"), again), stop)
    assert again.seen == ["r0", "r1", "r2"]


async def test_the_commit_never_passes_the_steps_commit_point(infra: Infra) -> None:
    topics = await _topics(infra)
    enc = codec(COMMANDS)
    await _send(infra, topics, [enc.encode(_leave(n)) for n in range(5)])

    class Holding(Collect):
        """Holds everything from its second record on (as a chunk not yet transcribed)."""

        held_from: int | None = None

        async def submit(self, record: Record) -> bool:
            if len(self.seen) == 1:
                self.held_from = record.offset
            return await super().submit(record)

        def commit_point(self, tp: TopicPartition, processed: int) -> tuple[int, str] | None:
            return (processed if self.held_from is None else self.held_from), "held"

    stop = asyncio.Event()
    step = Holding(stop, until=5)
    await _run(GroupConsumer(_config(infra, topics, "bot-manager", "h"), step), stop)
    assert step.held_from is not None
    committed = await _committed(infra, "h", topics)
    assert list(committed.values()) == [step.held_from]


async def test_backpressure_pauses_fetching_and_keeps_polling(infra: Infra) -> None:
    topics = await _topics(infra)
    enc = codec(COMMANDS)
    await _send(infra, topics, [enc.encode(_leave(n)) for n in range(3)])

    class Behind(Collect):
        """Behind for its first 20 polls: nothing may be submitted meanwhile."""

        def backpressure(self) -> bool:
            return self.polls < 20

        async def submit(self, record: Record) -> bool:
            assert self.polls >= 20, "a record was fetched while the step was behind"
            return await super().submit(record)

    stop = asyncio.Event()
    step = Behind(stop, until=3)
    await _run(GroupConsumer(_config(infra, topics, "bot-manager", "b"), step), stop)
    assert step.seen == ["r0", "r1", "r2"] and step.polls >= 20


async def test_readers_follow_from_the_end_and_read_ranges(infra: Infra) -> None:
    from stenograph.runtime.readers import TopicReader, read_range

    topics = await _topics(infra)
    enc = codec(COMMANDS)
    await _send(infra, topics, [enc.encode(_leave(0))])
    async with TopicReader(infra.bootstrap, [topics.commands]) as reader:
        await _send(infra, topics, [enc.encode(_leave(1))])
        got: list[Any] = []
        for _ in range(50):
            got += await reader.batch()
            if got:
                break
        assert [enc.decode(r.value).reason for r in got] == ["r1"]  # written before: not followed
    tp = TopicPartition(topics.commands, got[0].partition)
    ranged = [r async for batch in read_range(infra.bootstrap, tp, 0, 0) for r in batch]
    assert [enc.decode(r.value).reason for r in ranged] == ["r0"]


async def test_the_lag_of_every_assigned_partition_is_known_before_any_record(infra: Infra) -> None:
    """`stenograph healthcheck` judges a worker by this gauge: an idle consumer holding empty
    partitions reports lag 0 for each of them, not nothing."""
    from prometheus_client import REGISTRY

    topics = await _topics(infra)
    stop = asyncio.Event()
    stage = f"lag-{topics.prefix}"
    core = GroupConsumer(_config(infra, topics, stage, "lag"), Collect(stop, until=1))
    task = asyncio.create_task(core.run(stop))
    try:
        for _ in range(200):
            lags = {s.labels["partition"]: s.value for m in REGISTRY.collect()
                    if m.name == "stenograph_consumer_lag" for s in m.samples
                    if s.labels["stage"] == stage}
            if lags and len(lags) == len(core.consumer.assignment()):
                break
            await asyncio.sleep(0.1)
        assert lags and set(lags.values()) == {0.0}, lags
        await _send(infra, topics, [codec(COMMANDS).encode(_leave(1))])
        await asyncio.wait_for(task, 30)
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
