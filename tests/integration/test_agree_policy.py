"""live_policy=agree on the real pipeline (transcribe/agree.py): live finals near offline on a
real recording, the settled transcript equal to it, and a transcriber killed mid-meeting and
restarted making the same decisions again: no word lost, none twice."""

from __future__ import annotations

import jiwer
import pytest

from stenograph.schemas.events import SETTLED_RUN
from tests.checker import Verdict
from tests.integration.test_crash_recovery import (
    _segments,
    _text,
    assert_nothing_lost_or_duplicated,
    kill_9_mid_meeting,
    report,
)
from tests.integration.test_settling import offline
from tests.support import DATA, Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


async def test_agreed_finals_near_offline_and_a_kill_9_loses_and_repeats_nothing(
        own_pipeline: Pipeline, chaos_report: list[Verdict]) -> None:
    p = own_pipeline
    p.extra_env["STENOGRAPH_LIVE_POLICY"] = "agree"
    p.start()
    recording = DATA / "pyannote_sample.wav"  # a 30 s phone call

    p.stream(recording, "zoom/agree-undisturbed")
    await p.idle()
    reference = await _segments(p, "zoom/agree-undisturbed")
    live_reference = await _segments(p, "zoom/agree-undisturbed", "live")
    assert all(s["completed"] for s in live_reference), live_reference  # no interim left open
    truth = offline(recording)
    live_wer = jiwer.wer(truth, " ".join(_text(live_reference)))
    assert live_wer <= 0.05, (live_wer, _text(live_reference))
    assert reference and all(s["run_id"] == SETTLED_RUN for s in reference)
    assert jiwer.wer(truth, " ".join(_text(reference))) <= 0.005

    async def finals_in() -> bool:  # words finalized by agreement: mid-window
        return any(s["completed"] for s in await _segments(p, "zoom/agree-disturbed", "live"))

    recovery = await kill_9_mid_meeting(p, "transcriber", recording, "zoom/agree-disturbed", finals_in)
    await p.idle()
    await report(p, chaos_report, "transcriber SIGKILL under live_policy=agree, restarted",
                 "zoom/agree-disturbed", reference, live_reference, recovery,
                 ["recovered: from the restart until the live text changed"])
    assert_nothing_lost_or_duplicated(await _segments(p, "zoom/agree-disturbed", "live"), live_reference)
    assert_nothing_lost_or_duplicated(await _segments(p, "zoom/agree-disturbed"), reference)
