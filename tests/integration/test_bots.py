"""Bots in real Chromium against the mock Meet, Teams and Zoom pages, through the whole stack:
POST /bots -> bot manager -> bot -> Kafka -> transcriber -> aggregator -> API."""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import string
import uuid
import wave
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import av
import numpy as np
import psutil
import pytest

from stenograph.runtime.kafka import reliable_producer
from stenograph.schemas.codec import codec, key_of
from stenograph.schemas.events import BotStatusChanged, JoinRequested, ParticipantChanged, SpeakerActivity
from stenograph.schemas.topics import COMMANDS, LIFECYCLE
from tests.mockmeet.server import MockMeetings
from tests.support import DATA, Pipeline, eventually, has_jfk_sentence, read_events, words

pytestmark = pytest.mark.integration

JFK = "/_mock/jfk.flac"
ALICE = "/_mock/pyannote_8s.wav"


def native_id(platform: str) -> tuple[str, str | None]:
    if platform == "google_meet":
        return "-".join("".join(random.choices(string.ascii_lowercase, k=n)) for n in (3, 4, 3)), None
    digits = "".join(random.choices(string.digits[1:], k=11 if platform == "teams" else 10))
    return digits, ("pass1" if platform == "teams" else None)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockMeetings]:
    server = MockMeetings().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bots(pipeline: Pipeline, mock: MockMeetings) -> Iterator[Pipeline]:
    """The shared pipeline with a bot manager whose bots reach the mock pages only."""
    pipeline.start("bot-manager", env={
        "STENOGRAPH_BOT_MOCK_ORIGIN": mock.origin,
        "STENOGRAPH_BOT_MANAGER_GROUP_ID": f"{pipeline.prefix}bots",
        "STENOGRAPH_BOT_MAX_PER_HOST": "8",
        "STENOGRAPH_BOT_MAX_PER_TENANT": "8",
        # the shared pipeline's commands topic holds other tests' join requests: not ours
        "STENOGRAPH_BOT_MANAGER_OFFSET_RESET": "latest",
    })
    yield pipeline
    pipeline.procs.pop("bot-manager").stop(timeout=30)


async def request_bot(p: Pipeline, platform: str, native: str, passcode: str | None = None,
                      **extra: Any) -> str:
    async with p.client() as client:
        r = await client.post("/bots", json={"platform": platform, "native_meeting_id": native,
                                             "passcode": passcode, "bot_name": "Stenograph Notes",
                                             **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def statuses(p: Pipeline, meeting_id: str) -> list[tuple[str, str]]:
    events = await read_events(p.infra.bootstrap, p.topic(LIFECYCLE), LIFECYCLE)
    return [(str(e.state), e.reason) for e in events
            if isinstance(e, BotStatusChanged) and e.meeting_id == meeting_id]


async def until_state(p: Pipeline, meeting_id: str, *states: str,
                      timeout: float = 90) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    async def reached() -> bool:
        nonlocal seen
        seen = await statuses(p, meeting_id)
        return bool(seen) and seen[-1][0] in states

    try:
        await eventually(reached, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"{meeting_id}: never {states}; saw {seen}") from None
    return seen


def source_pcm(name: str) -> np.ndarray:
    """A test recording as 16 kHz mono float, as the bot should have captured it."""
    with av.open(str(DATA / name)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
        chunks = [r.to_ndarray().reshape(-1)
                  for f in container.decode(audio=0) for r in resampler.resample(f)]
    return np.concatenate(chunks)


def best_alignment(captured: np.ndarray, source: np.ndarray) -> tuple[int, float]:
    """(offset of the source in the capture, normalized cross-correlation there)."""
    n = 1 << int(np.ceil(np.log2(len(captured) + len(source))))
    corr = np.fft.irfft(np.fft.rfft(captured, n) * np.conj(np.fft.rfft(source, n)), n)[: len(captured)]
    lag = int(np.argmax(corr[: max(1, len(captured) - len(source) + 1)]))
    window = captured[lag: lag + len(source)]
    score = float(np.dot(window, source[: len(window)]) /
                  (np.linalg.norm(window) * np.linalg.norm(source[: len(window)]) + 1e-12))
    return lag, score


def aligned_similarity(captured: np.ndarray, source: np.ndarray, window: int = 16_000,
                       search: int = 800) -> tuple[int, float]:
    """(offset, mean normalized cross-correlation of the source's voiced 1 s windows)."""
    lag, windows = window_similarity(captured, source, window, search)
    return lag, float(np.mean([score for _, score, _ in windows])) if windows else 0.0


def window_similarity(captured: np.ndarray, source: np.ndarray, window: int = 16_000,
                      search: int = 800) -> tuple[int, list[tuple[float, float, float]]]:
    """(offset, [(second of the source, normalized cross-correlation, local shift in ms)] for
    each voiced 1 s window of the source).

    Each window is aligned on its own within ±50 ms of the global alignment: WebRTC's jitter
    buffer stretches and shrinks audio by a few milliseconds now and then, which would smear a
    single alignment over a whole clip.
    """
    lag, _ = best_alignment(captured, source)
    windows = []
    for start in range(0, len(source) - window + 1, window):
        ref = source[start: start + window]
        if np.sqrt(np.mean(ref * ref)) < 0.01:
            continue  # a pause: nothing to compare
        lo = max(0, lag + start - search)
        seg = captured[lo: lag + start + window + search]
        if len(seg) < window:
            windows.append((start / 16_000, 0.0, 0.0))
            continue
        dots = np.correlate(seg, ref, "valid")
        energy = np.convolve(seg * seg, np.ones(window), "valid")
        scores = dots / (np.linalg.norm(ref) * np.sqrt(energy) + 1e-12)
        best = int(np.argmax(scores))
        windows.append((start / 16_000, float(scores[best]), (lo + best - lag - start) / 16))
    return lag, windows


def similarity(captured: np.ndarray, clip: str) -> tuple[int, float, str]:
    """(offset, mean window correlation, a line saying both and each window): the windows tell a
    jitter buffer's stretch (shifts) from lost audio."""
    lag, windows = window_similarity(captured, source_pcm(clip))
    score = float(np.mean([w[1] for w in windows]))
    return lag, score, (f"{clip}: normalized cross-correlation {score:.3f} at {lag / 16_000:.3f} s in "
                        f"{len(captured) / 16_000:.1f} s; windows (s, score, shift ms): "
                        + ", ".join(f"({t:.0f}, {c:.2f}, {d:+.1f})" for t, c, d in windows))


def wav_pcm(content: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(content)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def longest_zero_run_in_speech(captured: np.ndarray, source: np.ndarray, frame: int = 160) -> int:
    """Longest run of exact zeros in the capture where the source is voiced (10 ms frames with
    RMS >= 0.02): a hole in the audio while someone speaks. Codecs may zero out pauses."""
    n = min(len(captured), len(source)) // frame * frame
    voiced = np.sqrt(np.mean(source[:n].reshape(-1, frame) ** 2, axis=1)) >= 0.02
    run = best = 0
    for is_zero, speech in zip(captured[:n] == 0, np.repeat(voiced, frame), strict=True):
        run = run + 1 if is_zero and speech else 0
        best = max(best, run)
    return best


def spoken_by(mock: MockMeetings, native: str) -> list[tuple[str, float, float]]:
    """(participant, start ms, end ms) of each clip the mock page played, on the page's clock."""
    starts = mock.events(native, "speak_start")
    return [(s["participant"], s["at"], s["at"] + s["duration"] * 1000) for s in starts]


def ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


@pytest.mark.parametrize("platform", ["google_meet", "teams", "zoom"])
async def test_bot_captures_the_call_and_names_the_speakers(bots: Pipeline, mock: MockMeetings,
                                                            platform: str) -> None:
    native, passcode = native_id(platform)
    mock.scenario(native, lobby="admit", verdict_after_s=1.0, participants=[
        {"id": "p1", "name": "John Kennedy", "speak": [{"at_s": 1.0, "audio": JFK}]},
        {"id": "p2", "name": "Alice Moreau", "speak": [{"at_s": 14.0, "audio": ALICE}]},
    ])
    meeting_id = await request_bot(bots, platform, native, passcode)
    await until_state(bots, meeting_id, "active", timeout=60)
    await eventually(lambda: asyncio.sleep(0, len(mock.events(native, "speak_end")) == 2), timeout=60)
    # the leave comes 1.5 s after the last clip: asked at once, it raced the clip's last frames
    # still on their way from the page (the second clip ends 0.4 s before the capture does)
    await asyncio.sleep(1.5)
    async with bots.client() as client:
        r = await client.delete(f"/bots/{platform}/{native}")
        assert r.status_code == 202, r.text
    seen = await until_state(bots, meeting_id, "completed", "failed")
    assert seen == [("joining", "launched"), ("awaiting_admission", "in_lobby"), ("active", "admitted"),
                    ("leaving", "leave_requested"), ("completed", "leave_requested")]
    events = [e for e in await read_events(bots.infra.bootstrap, bots.topic(LIFECYCLE), LIFECYCLE)
              if e.meeting_id == meeting_id]
    joined = {e.name for e in events if isinstance(e, ParticipantChanged) and e.joined}
    assert joined == {"John Kennedy", "Alice Moreau"}  # the bot's own tile is not a participant
    talk = [(e.name, e.speaking) for e in events if isinstance(e, SpeakerActivity)]
    assert ("John Kennedy", True) in talk and ("Alice Moreau", True) in talk
    asked = mock.events(native, "asked_to_join")[0]
    assert (asked["name"], asked["mic"], asked["camera"]) == ("Stenograph Notes", "off", "off")
    await bots.idle()

    # the audio: what each participant said, sample for sample (after alignment), without holes
    async with bots.client(timeout=30) as client:
        wav = await client.get(f"/meetings/{platform}/{native}/audio")
    assert wav.status_code == 200, wav.text
    captured = wav_pcm(wav.content)
    for clip in ("jfk.flac", "pyannote_8s.wav"):
        lag, score, said = similarity(captured, clip)
        assert score >= 0.9, said
        source = source_pcm(clip)
        holes = longest_zero_run_in_speech(captured[lag: lag + len(source)], source)
        assert holes < 160, f"{clip}: {holes} samples of zeros while someone speaks"

    # the transcript: the words, and who said them
    async with bots.client() as client:
        body = (await client.get(f"/transcripts/{platform}/{native}")).json()
    segments = [s for s in body["segments"] if s["completed"]]
    text = words(" ".join(s["text"] for s in segments))
    # the capture itself is checked sample by sample above
    assert has_jfk_sentence(text), text
    clips = spoken_by(mock, native)
    right = total = 0
    for s in segments:
        mid = (ms(s["absolute_start_time"]) + ms(s["absolute_end_time"])) / 2
        truth = min(clips, key=lambda c: 0 if c[1] <= mid <= c[2] else min(abs(mid - c[1]), abs(mid - c[2])))
        n = len(words(s["text"]))
        total += n
        right += n if s["speaker"] == truth[0] else 0
        assert s["speaker_mapping"] in ("mapped", "multiple")
    assert total > 20 and right / total >= 0.9, [(s["speaker"], s["text"]) for s in segments]


async def kill_browser_of(meeting_id: str) -> None:
    for proc in psutil.process_iter(["cmdline"]):
        if any(meeting_id in part for part in proc.info["cmdline"] or []):
            for child in proc.children(recursive=True):
                if "chrom" in child.name():
                    os.kill(child.pid, signal.SIGKILL)
            return
    raise AssertionError(f"no bot process for {meeting_id}")


async def test_lifecycle_reasons(bots: Pipeline, mock: MockMeetings) -> None:
    talker = [{"id": "p1", "name": "Grace Hopper", "speak": [{"at_s": 0.5, "audio": JFK}]}]
    cases: dict[str, tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str]]]] = {
        "rejected": ("google_meet", {"lobby": "deny", "verdict_after_s": 1.0}, {},
                     [("awaiting_admission", "in_lobby"), ("failed", "rejected")]),
        "lobby_timeout": ("teams", {"lobby": "wait"}, {"waiting_room_timeout": 4000},
                          [("awaiting_admission", "in_lobby"), ("failed", "admission_timeout")]),
        "no_one_joined": ("zoom", {"lobby": "none"}, {"no_one_joined_timeout": 2000},
                          [("active", "admitted"), ("leaving", "no_one_joined"),
                           ("completed", "no_one_joined")]),
        "everyone_left": ("google_meet", {"lobby": "admit", "participants": [
                              {"id": "p1", "name": "Ada", "join_at_s": 0, "leave_at_s": 3}]},
                          {"everyone_left_timeout": 2000},
                          [("active", "admitted"), ("leaving", "left_alone"), ("completed", "left_alone")]),
        "removed": ("teams", {"lobby": "admit", "participants": talker, "remove_at_s": 4}, {},
                    [("active", "admitted"), ("failed", "removed")]),
        "meeting_ended": ("zoom", {"lobby": "admit", "participants": talker, "end_at_s": 4}, {},
                          [("active", "admitted"), ("completed", "meeting_ended")]),
        "browser_crash": ("google_meet", {"lobby": "none", "participants": talker}, {},
                          [("active", "admitted"), ("failed", "browser_crashed")]),
    }
    meetings: dict[str, str] = {}
    for case, (platform, scenario, leave, _) in cases.items():
        native, passcode = native_id(platform)
        mock.scenario(native, **scenario)
        meetings[case] = await request_bot(bots, platform, native, passcode, automatic_leave=leave)
    await until_state(bots, meetings["browser_crash"], "active", timeout=90)
    await kill_browser_of(meetings["browser_crash"])
    results = await asyncio.gather(*(until_state(bots, m, "completed", "failed", timeout=120)
                                     for m in meetings.values()))
    for (case, (_p, _s, _l, expected)), seen in zip(cases.items(), results, strict=True):
        assert seen[-len(expected):] == expected, (case, seen)
        assert [s for s, _ in seen].count("active") <= 1, (case, seen)


async def test_a_killed_bot_keeps_what_it_captured_and_leaves_no_browser(bots: Pipeline,
                                                                         mock: MockMeetings) -> None:
    native, passcode = native_id("teams")
    mock.scenario(native, lobby="none", participants=[
        {"id": "p1", "name": "John Kennedy", "speak": [{"at_s": 1.0, "audio": JFK}]}])
    meeting_id = await request_bot(bots, "teams", native, passcode)
    await until_state(bots, meeting_id, "active", timeout=90)
    await eventually(lambda: asyncio.sleep(0, len(mock.events(native, "speak_end")) == 1), timeout=60)
    # the kill comes 2 s after the speech: what is checked below is what the bot had published
    # by then, not the last moments it still had in flight
    await asyncio.sleep(2.0)
    bot = next(proc for proc in psutil.process_iter(["cmdline"])
               if any(meeting_id in part for part in proc.info["cmdline"] or []))
    browser = [c for c in bot.children(recursive=True) if "chrom" in c.name()]
    assert browser
    bot.kill()  # SIGKILL: no leave, no last frame, no final audio index
    seen = await until_state(bots, meeting_id, "failed", timeout=60)
    assert seen[-1] == ("failed", "browser_crashed"), seen
    _, alive = await asyncio.to_thread(psutil.wait_procs, browser, timeout=10)
    assert not alive, f"{len(alive)} browser processes left running"
    # what was captured is served, and transcribed once the session has been silent a while
    async with bots.client(timeout=30) as client:
        wav = await client.get(f"/meetings/teams/{native}/audio")
    assert wav.status_code == 200, wav.text
    _, score, said = similarity(wav_pcm(wav.content), "jfk.flac")
    assert score >= 0.8, said

    async def transcribed() -> bool:
        async with bots.client() as client:
            body = (await client.get(f"/transcripts/teams/{native}")).json()
        return has_jfk_sentence(words(" ".join(s["text"] for s in body["segments"] if s["completed"])))

    await eventually(transcribed, timeout=90)


async def test_an_invalid_meeting_is_refused_before_any_navigation(bots: Pipeline,
                                                                    mock: MockMeetings) -> None:
    async with bots.client() as client:  # the API refuses it with the field's error...
        r = await client.post("/bots", json={"platform": "google_meet", "native_meeting_id": "not-a-code"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "native_meeting_id", r.text
    # ...and a bot asked by any other producer refuses it before it opens a page
    join = JoinRequested(tenant_id="local", meeting_id=uuid.uuid4().hex, platform="google_meet",
                         native_meeting_id="not-a-code", bot_name="Notes")
    before = len(mock.requests)
    producer = reliable_producer(bots.infra.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(bots.topic(COMMANDS), codec(COMMANDS).encode(join), key=key_of(join))
    finally:
        await producer.stop()
    seen = await until_state(bots, join.meeting_id, "failed", timeout=60)
    assert seen == [("failed", "invalid_url")]
    assert len(mock.requests) == before  # the bot never opened a page


async def test_stenograph_join_follows_the_bot_until_it_is_in(bots: Pipeline, mock: MockMeetings) -> None:
    native, _ = native_id("google_meet")
    mock.scenario(native, lobby="admit", verdict_after_s=1.0, end_at_s=8,
                  participants=[{"id": "p1", "name": "Ada"}])
    proc = await asyncio.to_thread(bots.cli, "join", f"https://meet.google.com/{native}", "--name", "Notes",
                                   timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "awaiting_admission: in_lobby" in proc.stdout and "active: admitted" in proc.stdout
    bad = await asyncio.to_thread(bots.cli, "join", "https://meet.google.com.evil.example/abc-defg-hij")
    assert bad.returncode == 2 and "not a Google Meet, Teams or Zoom host" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


async def test_silence_and_max_duration_end_the_bot(bots: Pipeline, mock: MockMeetings) -> None:
    quiet = [{"id": "p1", "name": "Quiet Person"}]
    talker = [{"id": "p1", "name": "Talker", "speak": [{"at_s": 0.5, "audio": JFK}]}]
    cases = {
        "silence": ("zoom", quiet, {"silence_timeout": 3000}),
        "max_duration": ("teams", talker, {"max_duration": 5000}),
    }
    meetings = {}
    for case, (platform, people, leave) in cases.items():
        native, passcode = native_id(platform)
        mock.scenario(native, lobby="none", participants=people)
        meetings[case] = await request_bot(bots, platform, native, passcode, automatic_leave=leave)
    for case, meeting_id in meetings.items():
        seen = await until_state(bots, meeting_id, "completed", "failed", timeout=90)
        assert seen[-3:] == [("active", "admitted"), ("leaving", case), ("completed", case)], seen
