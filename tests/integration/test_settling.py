"""The settling pass on real recordings: settled text supersedes the live finals in the default
transcript, equals offline faster-whisper where a meeting fits one window, and erased meetings
are never transcribed again."""

from __future__ import annotations

import asyncio
import time
from functools import cache
from pathlib import Path

import jiwer
import pytest

from stenograph.capture.decode import decode_to_pcm16
from stenograph.schemas.events import SETTLED_RUN, MeetingErased, SegmentEvent
from stenograph.schemas.pcm import samples
from stenograph.schemas.topics import COMMANDS, SEGMENTS
from stenograph.transcribe.model import DecodeOptions, FasterWhisperTranscriber
from tests.support import DATA, Pipeline, read_events, words

pytestmark = pytest.mark.integration


@cache
def offline(path: Path) -> str:
    """faster-whisper over the whole recording with the transcriber's own model and settings."""
    model = FasterWhisperTranscriber("tiny.en")
    result = model.transcribe(samples(decode_to_pcm16(path)), DecodeOptions())
    return " ".join(words(" ".join(s.text for s in result.segments)))


def text(body: dict[str, object]) -> str:
    return " ".join(words(" ".join(str(s["text"]) for s in body["segments"])))  # type: ignore[attr-defined]


async def test_settled_transcript_supersedes_live_and_equals_offline(pipeline: Pipeline) -> None:
    recording = DATA / "pyannote_sample.wav"  # a 30 s phone call: one settling window
    pipeline.stream(recording, "zoom/settle-offline")
    await pipeline.idle()
    default = (await pipeline.transcript("zoom/settle-offline")).json()
    assert default["run_id"] == SETTLED_RUN
    assert all(s["completed"] for s in default["segments"])
    reference = offline(recording)
    assert len(reference.split()) > 40
    error = jiwer.wer(reference, text(default))
    assert error <= 0.005, (error, text(default))

    async with pipeline.client() as c:
        live = (await c.get("/transcripts/zoom/settle-offline", params={"run": "live"})).json()
        runs = (await c.get("/meetings/zoom/settle-offline/runs")).json()
    assert live["run_id"] == "live" and live["segments"], live
    assert text(live) != text(default)  # the live finals stay readable as they were
    assert all("words" not in s for s in default["segments"])  # asked for only
    async with pipeline.client() as c:
        timed = (await c.get("/transcripts/zoom/settle-offline", params={"words": "true"})).json()
    assert [s["segment_id"] for s in timed["segments"]] == [s["segment_id"] for s in default["segments"]]
    for s in timed["segments"]:  # each segment's own words, from its own run
        assert words(" ".join(w["word"] for w in s["words"])) == words(s["text"]), s
        ends = [w["end"] for w in s["words"]]
        assert ends == sorted(ends) and s["start"] - 0.05 <= s["words"][0]["start"], s
        assert ends[-1] <= s["end"] + 0.05 and all(0 <= w["probability"] <= 1 for w in s["words"]), s
    assert runs["default_run"] == SETTLED_RUN and runs["default_reason"].startswith("settled")
    settled = next(r for r in runs["runs"] if r["run_id"] == SETTLED_RUN)
    assert settled["state"] == "completed"


async def test_live_and_settled_text_of_a_multi_speaker_meeting_near_offline(pipeline: Pipeline) -> None:
    recording = DATA / "meetings" / "standup.wav"  # 52 s, three voices: two settling windows
    pipeline.stream(recording, "zoom/settle-standup")
    await pipeline.idle()
    script = " ".join(words((DATA / "meetings" / "standup.txt").read_text()))
    offline_wer = jiwer.wer(script, offline(recording))
    async with pipeline.client() as c:
        live = (await c.get("/transcripts/zoom/settle-standup", params={"run": "live"})).json()
    default = (await pipeline.transcript("zoom/settle-standup")).json()
    live_wer, settled_wer = jiwer.wer(script, text(live)), jiwer.wer(script, text(default))
    assert live_wer <= offline_wer + 0.02, (live_wer, offline_wer, text(live))
    assert settled_wer <= offline_wer + 0.02, (settled_wer, offline_wer, text(default))
    assert jiwer.wer(offline(recording), text(default)) <= 0.005


@pytest.mark.xfail(strict=False, reason=(
    "CPU-dependent (issue 13): 0.000 on the machines the sample-exact settling was built on; on an "
    "AMD EPYC machine (2026-12-03) 8 of 142 words differ from offline (WER 0.056), every time"))
async def test_a_meeting_of_several_windows_settles_to_offline(pipeline: Pipeline) -> None:
    """Each window resumes where offline decoding resumes, to the sample, with the VAD hearing
    the settled audio before it: 84 ms early, and a cold VAD cutting the pause it starts in,
    made this meeting's second window differ from offline in 7 words of 142."""
    recording = DATA / "meetings" / "incident.wav"  # 58 s, speakers taking turns: two windows
    pipeline.stream(recording, "zoom/settle-incident")
    await pipeline.idle()
    default = (await pipeline.transcript("zoom/settle-incident")).json()
    assert default["run_id"] == SETTLED_RUN
    error = jiwer.wer(offline(recording), text(default))
    assert error <= 0.005, (error, text(default))


async def test_erased_meetings_are_never_transcribed_again(pipeline: Pipeline) -> None:
    streamer = pipeline.stream_live(DATA / "meetings" / "incident.wav", "zoom/settle-erased")
    try:
        for _ in range(600):  # a live final is in: the meeting is known and being transcribed
            r = await pipeline.transcript("zoom/settle-erased")
            if r.status_code == 200 and r.json()["segments"]:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("no segment before the erasure")
        meeting_id = r.json()["id"]
        async with pipeline.client() as c:
            assert (await c.delete("/meetings/zoom/settle-erased")).status_code == 202
        erased_at = time.time_ns()
        _, err = streamer.communicate(timeout=120)
        assert streamer.returncode == 0, err
    finally:
        streamer.kill()
    await pipeline.idle()
    commands = await read_events(pipeline.infra.bootstrap, pipeline.topic(COMMANDS), COMMANDS)
    assert any(isinstance(e, MeetingErased) and e.meeting_id == meeting_id for e in commands)
    events = await read_events(pipeline.infra.bootstrap, pipeline.topic(SEGMENTS), SEGMENTS)
    # the erasure takes a moment to reach the worker's command feed: one chunk may still be done
    later = [e for e in events if isinstance(e, SegmentEvent) and e.meeting_id == meeting_id
             and e.text and e.event_time_ns > erased_at + 2_000_000_000]
    assert later == [], [(e.run_id, e.text) for e in later]
    assert not any(isinstance(e, SegmentEvent) and e.meeting_id == meeting_id and e.run_id == SETTLED_RUN
                   and e.text for e in events)  # its first window ended after the erasure
    assert (await pipeline.transcript("zoom/settle-erased")).status_code == 404
