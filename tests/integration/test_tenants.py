"""Tenants and keys on the real stack: every endpoint needs a key, no tenant sees another's
meetings, keys never appear in plain, the admin API, and keys surviving a rebuild."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest

from stenograph.schemas import TENANTS, TenantUpserted
from tests.support import ADMIN_KEY, DATA, Pipeline, eventually, read_all, read_events

pytestmark = pytest.mark.integration

OPEN = {"/healthz", "/readyz"}
PARAMS = {"platform": "google_meet", "native_meeting_id": "abc-defg-hij"}


def client_routes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Every client endpoint of the OpenAPI document, path parameters filled in."""
    out = []
    for path, methods in spec["paths"].items():
        if path in OPEN or path.startswith("/admin"):
            continue
        for method in methods:
            out.append((method.upper(), path.format(**PARAMS)))
    return out


async def test_every_client_endpoint_needs_a_valid_key(pipeline: Pipeline) -> None:
    async with httpx.AsyncClient(base_url=pipeline.api_url, timeout=10) as anonymous:
        routes = client_routes((await anonymous.get("/openapi.json")).json())
        assert len(routes) >= 6
        for method, path in routes:
            for headers in ({}, {"X-API-Key": "stg_000000000000_" + "A" * 32}, {"X-API-Key": "nope"}):
                r = await anonymous.request(method, path, headers=headers, json={})
                assert r.status_code == 401, (method, path, headers, r.status_code, r.text)


BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/meetings/{platform}/{native_meeting_id}"): {"data": {"owner": "intruder"}},
    ("PUT", "/bots/{platform}/{native_meeting_id}/config"): {"language": "fr"},
    ("POST", "/meetings/{platform}/{native_meeting_id}/replays"): {"model": "tiny.en"},
    ("PUT", "/meetings/{platform}/{native_meeting_id}/default_run"): {"run_id": "live"},
}


async def test_two_tenants_never_see_each_others_meetings(pipeline: Pipeline) -> None:
    other_key = pipeline.mint_key("other")
    native = str(time.time_ns())[-10:]  # a Zoom meeting id, so that a bot may be asked for it
    ours = pipeline.stream(DATA / "jfk.flac", f"zoom/{native}")  # tenant "local"
    await pipeline.idle()
    async with pipeline.client() as mine, pipeline.client(other_key) as theirs:
        before = (await mine.get(f"/transcripts/zoom/{native}")).json()
        assert ours in {m["id"] for m in (await mine.get("/meetings")).json()["meetings"]}
        assert ours not in {m["id"] for m in (await theirs.get("/meetings")).json()["meetings"]}
        assert ours not in {m["id"] for m in (await theirs.get("/bots/status")).json()["running_bots"]}
        # every operation on a meeting: another tenant's answers exactly like a missing one
        spec = (await mine.get("/openapi.json")).json()
        swept = []
        for path, methods in spec["paths"].items():
            if "{native_meeting_id}" not in path or path.startswith("/admin"):
                continue
            for method in methods:
                body = BODIES.get((method.upper(), path))
                url = path.format(platform="zoom", native_meeting_id=native)
                foreign = await theirs.request(method.upper(), url, json=body)
                missing = await theirs.request(method.upper(), url.replace(native, "never-seen"), json=body)
                assert foreign.status_code == missing.status_code == 404, (method, path, foreign.text)
                assert foreign.json()["detail"].replace(native, "X") == missing.json()["detail"].replace(
                    "never-seen", "X")
                swept.append(f"{method.upper()} {path}")
        assert len(swept) >= 9, swept
        sse = await theirs.get("/sse", params={"meetings": f"zoom/{native}"})
        assert sse.status_code == 404
        await pipeline.idle()
        # nothing changed for the owner
        after = (await mine.get(f"/transcripts/zoom/{native}")).json()
        assert after == before and after["data"] == {}
        # the same native meeting id is free for the other tenant
        theirs_bot = await theirs.post("/bots", json={"platform": "zoom", "native_meeting_id": native})
        assert theirs_bot.status_code == 201, theirs_bot.text
        await pipeline.idle()
        assert (await mine.get(f"/transcripts/zoom/{native}")).json()["id"] == ours
        assert (await theirs.get(f"/transcripts/zoom/{native}")).json()["id"] == theirs_bot.json()["id"]


async def test_keys_are_never_kept_or_logged_in_plain(pipeline: Pipeline) -> None:
    cli_key = pipeline.mint_key("hygiene")
    async with httpx.AsyncClient(base_url=pipeline.api_url, timeout=10,
                                 headers={"X-Admin-API-Key": ADMIN_KEY}) as admin:
        await admin.post("/admin/users", json={"id": "hygiene2", "name": "H"})
        await eventually(lambda: _exists(admin, "hygiene2"))
        api_key = (await admin.post("/admin/users/hygiene2/tokens", json={})).json()["token"]
        pipeline.minted.append(api_key)
    async with pipeline.client(api_key) as c:
        await eventually(lambda: _ok(c))
    # browsers pass the key in the query string: those requests are logged too
    from websockets.asyncio.client import connect

    async with connect(f"{pipeline.api_url.replace('http://', 'ws://')}/ws?api_key={api_key}") as ws:
        await ws.send('{"action": "ping"}')
        await ws.recv()
    async with httpx.AsyncClient(base_url=pipeline.api_url, timeout=10) as c, \
            c.stream("GET", f"/sse?api_key={api_key}&meetings=zoom/hygiene") as r:
        assert r.status_code < 500
    # ... and the ways that put no key in any URL: the key as a WebSocket subprotocol (never
    # echoed back), and a signed one-minute ticket for EventSource
    ws_url = f"{pipeline.api_url.replace('http://', 'ws://')}/ws"
    async with connect(ws_url, subprotocols=["stenograph", f"key.{api_key}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "stenograph"
        await ws.send('{"action": "ping"}')
        assert json.loads(await ws.recv())["type"] == "pong"
    async with connect(ws_url, subprotocols=["stenograph", "key.stg_000000000000_wrong"]) as ws:  # type: ignore[list-item]
        assert json.loads(await ws.recv())["type"] == "error"
    async with pipeline.client(api_key) as c:
        made = await c.post("/live/tickets")
        assert made.status_code == 200 and made.json()["expires_in_s"] == 60
        ticket = made.json()["ticket"]
        assert api_key not in ticket
    native = f"hygiene-{uuid.uuid4().hex[:6]}"
    streamed = subprocess.run(
        [sys.executable, "-m", "stenograph", "stream", str(DATA / "jfk.flac"), "--meeting", f"zoom/{native}"],
        env={**os.environ, **pipeline.env(), "STENOGRAPH_TENANT": "hygiene2"}, capture_output=True,
        text=True, timeout=120, check=False)
    assert streamed.returncode == 0, streamed.stderr
    async with pipeline.client(api_key) as c:
        await eventually(lambda: _found(c, f"/meetings/zoom/{native}"))
    async with httpx.AsyncClient(base_url=pipeline.api_url, timeout=10) as c:
        async with c.stream("GET", f"/sse?ticket={ticket}&meetings=zoom/{native}") as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if line.startswith("event: subscribed"):
                    break
        forged = ticket[:-1] + ("0" if ticket[-1] != "0" else "1")
        assert (await c.get(f"/sse?ticket={forged}&meetings=zoom/{native}")).status_code == 401
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(pipeline.infra.redis_url, decode_responses=False)
    try:
        for key in (cli_key, api_key):
            secret = key.encode()
            async for name in r.scan_iter(match=f"{pipeline.prefix.rstrip('.')}:*".encode()):
                assert secret not in name
                kind = await r.type(name)
                values: list[bytes] = []
                if kind == b"hash":
                    values = list((await r.hgetall(name)).values())
                elif kind == b"string":
                    values = [await r.get(name) or b""]
                elif kind == b"set":
                    values = list(await r.smembers(name))
                assert not any(secret in v for v in values), name
            records = await read_all(pipeline.infra.bootstrap, pipeline.topic(TENANTS))
            assert records and not any(secret in (rec.value or b"") for rec in records)
            for log in (pipeline.state_dir / "logs").glob("*.log"):
                assert key not in log.read_text(errors="replace"), log.name
        for log in (pipeline.state_dir / "logs").glob("*.log"):
            assert ticket not in log.read_text(errors="replace"), log.name
    finally:
        await r.aclose()


async def _exists(admin: httpx.AsyncClient, user: str) -> bool:
    return (await admin.get(f"/admin/users/{user}")).status_code == 200


async def _found(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200


async def _ok(client: httpx.AsyncClient) -> bool:
    return (await client.get("/meetings")).status_code == 200


async def test_the_admin_api_manages_users_and_tokens(pipeline: Pipeline) -> None:
    async with httpx.AsyncClient(base_url=pipeline.api_url, timeout=10) as anonymous:
        assert (await anonymous.get("/admin/users")).status_code == 403
        wrong = await anonymous.get("/admin/users", headers={"X-Admin-API-Key": "guess"})
        assert wrong.status_code == 403
    async with httpx.AsyncClient(base_url=pipeline.api_url, timeout=10,
                                 headers={"X-Admin-API-Key": ADMIN_KEY}) as admin:
        bad = await admin.post("/admin/users", json={"id": "Not Valid", "name": ""})
        assert bad.status_code == 422
        assert {e["loc"][-1] for e in bad.json()["detail"]} == {"id", "name"}
        acme = f"acme{uuid.uuid4().hex[:6]}"
        made = await admin.post("/admin/users", json={
            "id": acme, "name": "Acme", "email": "ops@acme.example", "max_concurrent_bots": 2})
        assert made.status_code == 201, made.text
        await eventually(lambda: _exists(admin, acme))
        assert (await admin.post("/admin/users", json={"id": acme, "name": "again"})).status_code == 409
        patched = await admin.patch(f"/admin/users/{acme}", json={"max_concurrent_bots": 7})
        assert patched.json()["max_concurrent_bots"] == 7

        async def patched_stored() -> bool:
            return (await admin.get(f"/admin/users/{acme}")).json()["max_concurrent_bots"] == 7

        await eventually(patched_stored)
        # compaction keeps the last record per tenant: it must be the whole tenant
        last = [e for e in await read_events(pipeline.infra.bootstrap, pipeline.topic(TENANTS), TENANTS)
                if isinstance(e, TenantUpserted) and e.tenant_id == acme][-1]
        assert (last.name, last.email, last.max_concurrent_bots) == ("Acme", "ops@acme.example", 7)
        assert (await admin.patch("/admin/users/nobody", json={"name": "x"})).status_code == 404
        token = (await admin.post(f"/admin/users/{acme}/tokens", json={"label": "ci"})).json()
        pipeline.minted.append(token["token"])
        assert token["token"].startswith("stg_") and token["user_id"] == acme
        async with pipeline.client(token["token"]) as as_acme:
            await eventually(lambda: _ok(as_acme))
            users = (await admin.get("/admin/users")).json()["users"]
            listed = next(u for u in users if u["id"] == acme)
            assert [t["id"] for t in listed["tokens"]] == [token["id"]]
            assert "token" not in listed["tokens"][0]
            assert (await admin.delete(f"/admin/tokens/{token['id']}")).status_code == 204

            async def refused() -> bool:
                return (await as_acme.get("/meetings")).status_code == 401

            await eventually(refused)
        assert (await admin.delete("/admin/tokens/000000000000")).status_code == 404


async def test_keys_survive_a_rebuild(pipeline: Pipeline) -> None:
    key = pipeline.mint_key("rebuilt")
    proc = pipeline.cli("rebuild")
    assert proc.returncode == 0, proc.stderr
    async with pipeline.client(key) as c:
        assert (await c.get("/meetings")).status_code == 200
    async with pipeline.client() as c:
        assert (await c.get("/meetings")).status_code == 200


async def test_each_request_line_names_its_tenant_and_meeting(pipeline: Pipeline) -> None:
    native, missing = (str(uuid.uuid4().int)[:10] for _ in range(2))
    async with pipeline.client() as c:
        created = await c.post("/bots", json={"platform": "zoom", "native_meeting_id": native})
        assert created.status_code == 201, created.text
        meeting_id = created.json()["id"]
        await eventually(lambda: _found(c, f"/meetings/zoom/{native}"))
        assert (await c.get(f"/meetings/zoom/{missing}")).status_code == 404
    log = (pipeline.state_dir / "logs" / f"{pipeline.prefix}api.log").read_text(errors="replace")
    lines = [line for line in log.splitlines()
             if f"/zoom/{native}" in line or f"/zoom/{missing}" in line or '"POST /bots ' in line]
    ids = f"[meeting={meeting_id} tenant=local]"
    # the access line of the request that made the meeting, and of one that read it, name both
    assert any('"POST /bots HTTP/1.1" 201' in line and line.endswith(ids) for line in lines), lines
    assert any(f'"GET /meetings/zoom/{native} HTTP/1.1" 200' in line and line.endswith(ids)
               for line in lines), lines
    # a request that found no meeting names only the tenant it came from
    assert any(f"/zoom/{missing} HTTP/1.1\" 404" in line and line.endswith("[tenant=local]")
               for line in lines), lines


async def _found(c: httpx.AsyncClient, path: str) -> bool:
    return (await c.get(path)).status_code == 200
