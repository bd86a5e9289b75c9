"""Pure parts of left-context finals and the settling pass: context tail, the boundary filter,
settling windows, resumable watermarks and the default transcript's merge."""

from __future__ import annotations

from typing import Any

from stenograph.readmodel.reducer import merge_settled
from stenograph.transcribe.checkpoint import Watermark, decode_metadata, encode_metadata
from stenograph.transcribe.model import ModelSegment, ModelWord, Transcription
from stenograph.transcribe.policy import BufferedFrame, ContextTail
from stenograph.transcribe.segments import after_boundary
from stenograph.transcribe.settle import SettleBuffer, Window, language_split, settled_part


def frame(seq: int, speech: float = 0.9) -> BufferedFrame:
    return BufferedFrame(seq=seq, offset=100 + seq, capture_time_ns=seq * 10**8, payload=b"\x01\x00" * 1600,
                         duration_s=0.1, speech=speech, zero=False)


def test_context_tail_keeps_the_last_seconds_only() -> None:
    tail = ContextTail(max_s=0.5)
    tail.extend([frame(i) for i in range(12)])
    assert [f.seq for f in tail.frames] == [7, 8, 9, 10, 11]
    assert tail.first_seq == 7 and tail.first_offset == 107
    assert abs(tail.seconds - 0.5) < 1e-6
    tail.clear()
    assert tail.first_seq is None and tail.pcm() == b""


def _seg(words: list[tuple[str, float, float]]) -> ModelSegment:
    ws = tuple(ModelWord(w, a, b, 0.9) for w, a, b in words)
    return ModelSegment(start=ws[0].start, end=ws[-1].end, text="".join(w.word for w in ws), words=ws,
                        avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.2)


def test_after_boundary_drops_the_context_words_and_shifts_the_rest() -> None:
    result = Transcription((
        _seg([(" ask", 3.0, 3.4), (" not", 3.5, 3.9)]),
        _seg([(" what", 4.8, 5.3), (" your", 5.3, 5.6), (" country", 5.7, 6.2)]),
    ), "en")
    out = after_boundary(result, 5.0)
    assert len(out.segments) == 1
    seg = out.segments[0]
    assert seg.text == " what your country"  # " what" ends after the cut and mostly lies past it
    assert [round(w.start, 2) for w in seg.words] == [0.0, 0.3, 0.7]
    assert after_boundary(result, 0.0) is result


def test_after_boundary_splits_a_segment_that_straddles_the_cut() -> None:
    result = Transcription((_seg([(" so", 1.0, 1.2), (" my", 2.1, 2.4), (" fellow", 2.5, 2.9)]),), "en")
    (seg,) = after_boundary(result, 2.0).segments
    assert seg.text == " my fellow" and abs(seg.start - 0.1) < 1e-9 and abs(seg.end - 0.9) < 1e-9


def _model_seg(start: float, end: float, window: int) -> ModelSegment:
    return ModelSegment(start=start, end=end, text=" x", words=(ModelWord(" x", start, end - 0.2, 0.9),),
                        avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.2, window=window,
                        window_start=window / 100)


def test_settling_windows_are_30_s_until_the_stream_ends_then_all_that_is_left() -> None:
    buf = SettleBuffer(window_s=3.0)
    for i in range(29):
        buf.push(frame(i))
    assert not buf.due() and buf.window() is None
    for i in range(29, 45):
        buf.push(frame(i))
    w = buf.window()
    assert w is not None and not w.final and (w.chunk.seq_first, w.chunk.seq_last) == (0, 29)
    buf.ended = True  # the stream's end arriving before the decode does not change the window
    w = buf.window()
    assert w is not None and not w.final and (w.chunk.seq_first, w.chunk.seq_last) == (0, 29)
    buf.consume(w.seconds)
    w = buf.window()
    assert w is not None and w.final and (w.chunk.seq_first, w.chunk.seq_last) == (30, 44)
    buf.push(frame(45))  # a stalled source that speaks again is not at its end
    assert not buf.ended


def test_a_window_keeps_what_the_model_finished_in_its_first_30_s_and_resumes_there() -> None:
    buf = SettleBuffer(window_s=3.0)
    for i in range(40):
        buf.push(frame(i))
    w = buf.window()
    assert w is not None
    segs = (_model_seg(0.0, 1.2, 0), _model_seg(1.3, 2.46, 0), _model_seg(2.4, 3.0, 223))
    kept, settled = settled_part(segs, w)
    assert kept == segs[:2] and abs(settled - 2.23) < 1e-9  # where the model's second window began
    buf.consume(settled)
    # the next window starts to the sample where that one did, inside frame 22; what was settled
    # goes with it as the VAD's lead (3 s at most)
    assert buf.first_seq == 22 and buf.skip == 480
    for i in range(40, 52):
        buf.push(frame(i))
    assert not buf.due()  # 3 s less the 0.03 s settled of frame 22: one frame short
    buf.push(frame(52))
    nxt = buf.window()
    assert nxt is not None and (nxt.chunk.seq_first, nxt.chunk.seq_last) == (22, 52)
    assert abs(nxt.seconds - 3.07) < 1e-9  # whole frames to at least 3 s after the skip
    assert nxt.lead_samples == 22 * 1600 + 480 and len(nxt.audio()) == 53 * 1600
    buf.consume(2.0)  # resumes where it left off: 2.23 + 2.0 s in, frame 42 at 0.03 s
    assert buf.first_seq == 42 and buf.skip == 480 and buf.lead.first_seq == 12
    assert abs(buf.lead.seconds - 3.0) < 1e-9
    # all in one model window (the VAD made it fit): its edge is no pause, the last segment waits
    one_window = (_model_seg(0.0, 1.6, 0), _model_seg(1.7, 2.9, 0))
    kept, settled = settled_part(one_window, w)
    assert kept == one_window[:1] and abs(settled - 1.4) < 1e-9
    assert settled_part(one_window[:1], w) == (one_window[:1], w.seconds)
    assert settled_part(segs, Window(w.chunk, final=True)) == (segs, w.seconds)
    assert settled_part((), w) == ((), w.seconds)


def test_watermarks_with_context_and_settling_round_trip_and_old_ones_still_read() -> None:
    marks = {"s1": Watermark(420, 9000, 300, 250), "s2": Watermark(7, 12),
             "s3": Watermark(420, 9000, 300, 250, 1344)}
    back = decode_metadata(encode_metadata(marks))
    assert back["s1"] == Watermark(420, 9000, 300, 250)
    assert back["s3"].settle_skip == 1344  # a restart resumes settling to the sample
    assert (back["s2"].next_seq, back["s2"].settle_from, back["s2"].retain_from) == (7, 7, 7)
    old = decode_metadata(encode_metadata({"s": Watermark(5, 6)}))["s"]
    assert (old.next_seq, old.settle_from, old.retain_from) == (5, 5, 5)


def _stored(run: str, session: str, sid: str, start: float) -> dict[str, Any]:
    return {"run_id": run, "session_id": session, "segment_id": sid, "start": start, "end": start + 1,
            "text": sid, "completed": True}


def test_the_default_transcript_is_settled_text_then_the_live_tail() -> None:
    settled = [_stored("settled", "a", "a-0-0", 0.5), _stored("settled", "a", "a-0-1", 12.0)]
    live = [_stored("live", "a", "a-0-0", 0.4), _stored("live", "a", "a-50-0", 20.0),
            _stored("live", "a", "a-300-0", 30.2), _stored("live", "b", "b-0-0", 5.0)]
    merged = merge_settled(settled, live, {"a": 29.9})
    assert [(s["run_id"], s["segment_id"]) for s in merged] == [
        ("settled", "a-0-0"), ("live", "b-0-0"), ("settled", "a-0-1"), ("live", "a-300-0")]


def test_a_window_changes_language_only_where_the_model_is_sure_and_the_next_part_agrees() -> None:
    en, de = ("en", 0.97), ("de", 0.95)
    assert language_split([en, en, de, de]) == 2
    assert language_split([en, de]) == 1  # the window's last part: nothing after it to disagree
    assert language_split([en, de, en, en]) is None  # one German name in an English meeting
    assert language_split([en, ("de", 0.6), ("de", 0.7)]) is None  # never sure enough
    # the first German part was unsure, the silent tail after the sure one says little
    assert language_split([en, ("en", 0.8), ("de", 0.47), de, ("en", 0.63)]) == 2
    assert language_split([]) is None


def test_settling_windows_end_where_the_meetings_settings_changed() -> None:
    buf = SettleBuffer(window_s=3.0)
    for i in range(40):
        buf.push(frame(i))  # capture times 0.1 s apart
    w = buf.window(change_ns=12 * 10**8 + 1)
    assert w is not None and w.final and (w.chunk.seq_first, w.chunk.seq_last) == (0, 12)
    w = buf.window(change_ns=None)
    assert w is not None and not w.final and len(w.chunk.frames) == 30
