"""The API on the real stack: validation, commands on Kafka, reads from Redis, 404s."""

from __future__ import annotations

import httpx
import pytest

from stenograph.schemas.events import JoinRequested
from stenograph.schemas.topics import COMMANDS
from tests.support import Pipeline, read_events

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(pipeline: Pipeline) -> httpx.AsyncClient:
    async with pipeline.client() as c:
        yield c


async def test_health_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"redis": "ok", "kafka": "ok", "live": "ok"}
    spec = (await client.get("/openapi.json")).json()
    assert {"/bots", "/meetings", "/transcripts/{platform}/{native_meeting_id}"} <= set(spec["paths"])
    assert (await client.get("/docs")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"native_meeting_id": "abc"}, "platform"),
        ({"platform": "skype", "native_meeting_id": "abc"}, "platform"),
        ({"platform": "zoom"}, "native_meeting_id"),
        ({"platform": "zoom", "native_meeting_id": "../etc/passwd"}, "native_meeting_id"),
        ({"platform": "zoom", "native_meeting_id": "x" * 200}, "native_meeting_id"),
        ({"platform": "zoom", "native_meeting_id": "12345"}, "native_meeting_id"),
        ({"platform": "google_meet", "native_meeting_id": "abcdefghij"}, "native_meeting_id"),
        ({"platform": "zoom", "native_meeting_id": "1234567890", "automatic_leave": {"lobby": 1}},
         "automatic_leave"),
        ({"platform": "zoom", "native_meeting_id": "abc", "language": "English"}, "language"),
        ({"platform": "zoom", "native_meeting_id": "abc", "task": "summarize"}, "task"),
        ({"platform": "zoom", "native_meeting_id": "abc", "bot_name": ""}, "bot_name"),
        ({"platform": "zoom", "native_meeting_id": "abc", "automatic_leave": {"max_duration": -1}},
         "automatic_leave"),
    ],
)
async def test_bad_bot_requests_get_field_errors(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await client.post("/bots", json=body)
    assert r.status_code == 422, r.text
    locations = [e["loc"] for e in r.json()["detail"]]
    assert any(field in loc for loc in locations), locations


async def test_bot_request_becomes_a_join_command_and_a_meeting(
    client: httpx.AsyncClient, pipeline: Pipeline
) -> None:
    r = await client.post("/bots", json={"platform": "google_meet", "native_meeting_id": "abc-defg-hij",
                                         "language": "en", "bot_name": "Notes"})
    assert r.status_code == 201, r.text
    meeting_id = r.json()["id"]
    assert r.json()["status"] == "requested"
    commands = await read_events(pipeline.infra.bootstrap, pipeline.topic(COMMANDS), COMMANDS)
    join = next(c for c in commands if c.meeting_id == meeting_id)
    assert isinstance(join, JoinRequested)
    assert (join.platform, join.native_meeting_id, join.bot_name, join.language) == (
        "google_meet", "abc-defg-hij", "Notes", "en")
    await pipeline.idle()
    meetings = (await client.get("/meetings")).json()["meetings"]
    mine = next(m for m in meetings if m["id"] == meeting_id)
    assert mine["status"] == "requested" and mine["native_meeting_id"] == "abc-defg-hij"
    again = await client.post("/bots", json={"platform": "google_meet", "native_meeting_id": "abc-defg-hij"})
    assert again.status_code == 409


async def test_unknown_meeting_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/transcripts/zoom/never-seen")
    assert r.status_code == 404
    assert (await client.get("/transcripts/skype/x")).status_code == 422
