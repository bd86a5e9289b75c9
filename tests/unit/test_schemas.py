"""The contract: registry, versioned schema files, golden examples, backward compatibility."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from dataclasses import fields
from importlib import resources
from pathlib import Path

import pytest
from fastavro import json_reader, parse_schema, schemaless_writer
from fastavro.schema import to_parsing_canonical_form

from stenograph.schemas.codec import TOPIC_EVENTS, UNION_FIELD, codec, parsed_schema, schema_text
from stenograph.schemas.compat import backward_compatible
from stenograph.schemas.topics import REGISTRY, TENANTS, TRANSCRIPTS, all_topics

AVRO = Path(str(resources.files("stenograph.schemas") / "avro"))
EXAMPLES = Path(str(resources.files("stenograph.schemas") / "examples"))
VERSIONS = [(t, v) for t, s in REGISTRY.items() for v in s.versions]


def test_every_meeting_topic_is_keyed_by_meeting_and_every_topic_has_a_dlq() -> None:
    names = [n for n, _ in all_topics()]
    for topic, spec in REGISTRY.items():
        assert spec.key == ("entity" if topic == TENANTS else "meeting_id")
        assert f"{topic}.dlq" in names
        assert spec.producers and spec.consumers and spec.events
    assert REGISTRY[TRANSCRIPTS].compacted
    assert REGISTRY[TRANSCRIPTS].config()["cleanup.policy"] == "compact"
    assert REGISTRY[TENANTS].compacted


@pytest.mark.parametrize(("topic", "version"), VERSIONS)
def test_released_schema_versions_are_frozen(topic: str, version: int) -> None:
    """Change a schema by adding vN+1, never by editing a released file."""
    locked = json.loads((AVRO / "fingerprints.json").read_text())
    name = f"{topic}.v{version}.avsc"
    canonical = to_parsing_canonical_form(json.loads(schema_text(topic, version)))
    assert hashlib.sha256(canonical.encode()).hexdigest() == locked[name], (
        f"{name} changed after release: add a new version instead"
    )


def test_no_schema_file_outside_the_registry() -> None:
    files = {p.name for p in AVRO.glob("*.avsc")}
    assert files == {f"{t}.v{v}.avsc" for t, v in VERSIONS}


@pytest.mark.parametrize(("topic", "version"), VERSIONS)
def test_every_version_is_readable_by_the_latest(topic: str, version: int) -> None:
    latest = parsed_schema(topic, REGISTRY[topic].latest_version)
    ok, why = backward_compatible(parsed_schema(topic, version), latest)
    assert ok, why


def test_the_compatibility_check_catches_a_breaking_change() -> None:
    old = json.loads(schema_text("meetings.audio", 1))
    broken = copy.deepcopy(old)
    broken["fields"].append({"name": "gain_db", "type": "float"})  # required, no default
    ok, why = backward_compatible(parse_schema(old), parse_schema(broken))
    assert not ok and "gain_db" in why
    evolved = copy.deepcopy(old)
    evolved["fields"].append({"name": "gain_db", "type": "float", "default": 0.0})
    assert backward_compatible(parse_schema(old), parse_schema(evolved))[0]


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*/v*.json"))


def test_every_topic_and_event_has_a_golden_example() -> None:
    covered: set[str] = set()
    for path in _examples():
        data = json.loads(path.read_text())
        union = UNION_FIELD.get(path.parent.name)
        covered.add(next(iter(data[union])).split(".")[-1] if union else
                    TOPIC_EVENTS[path.parent.name][0].__name__)
    wanted = {t.__name__ for types in TOPIC_EVENTS.values() for t in types}
    assert covered == wanted


@pytest.mark.parametrize("path", _examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_example_decodes_with_the_current_codec(path: Path) -> None:
    topic = path.parent.name
    version = int(path.name.split(".")[0][1:])
    writer = parsed_schema(topic, version)
    line = json.dumps(json.loads(path.read_text()))  # files are pretty-printed; the reader wants one line
    records = list(json_reader(io.StringIO(line), writer))
    assert len(records) == 1
    buf = io.BytesIO()
    buf.write(bytes([version]))
    schemaless_writer(buf, writer, records[0])
    event = codec(topic).decode(buf.getvalue())
    assert event.meeting_id == records[0]["meeting_id"]
    assert event.tenant_id == records[0]["tenant_id"]
    assert type(event) in TOPIC_EVENTS[topic]
    again = codec(topic).decode(codec(topic).encode(event))
    assert again == event


def test_dataclasses_match_the_latest_schemas() -> None:
    def record_fields(schema: dict[str, object], name: str) -> set[str]:
        for f in schema["fields"]:  # type: ignore[attr-defined]
            if isinstance(f["type"], list):
                for branch in f["type"]:
                    if isinstance(branch, dict) and branch.get("name") == name:
                        return {x["name"] for x in branch["fields"]} | {"event_id", "tenant_id",
                                                                       "meeting_id", "event_time_ns"}
        return {x["name"] for x in schema["fields"]}  # type: ignore[attr-defined]

    for topic, types in TOPIC_EVENTS.items():
        schema = json.loads(schema_text(topic, REGISTRY[topic].latest_version))
        for cls in types:
            assert {f.name for f in fields(cls)} == record_fields(schema, cls.__name__), cls


def test_every_meeting_keyed_topic_has_the_same_partition_count() -> None:
    """Co-partitioning: a meeting's records sit in the same partition number of every topic."""
    counts = {s.name: s.partitions for s in REGISTRY.values() if s.key == "meeting_id"}
    assert len(set(counts.values())) == 1, counts


def test_every_topic_names_the_one_consumer_that_owns_its_dlq() -> None:
    for s in REGISTRY.values():
        if s.dlq and s.consumers != ("downstream",):
            assert s.dlq_owner in s.consumers, s.name
