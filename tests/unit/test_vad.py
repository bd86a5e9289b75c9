"""transcribe/vad.py: per-frame speech probability, from the frame alone."""

from __future__ import annotations

import numpy as np

from stenograph.capture.decode import decode_to_pcm16
from stenograph.transcribe.vad import CONTEXT, WINDOW, frame_windows, speech_probability
from tests.support import DATA

FRAME = 3200  # bytes of a 100 ms PCM16 frame at 16 kHz


def test_windows_tile_the_frame_with_the_last_flush_to_its_end() -> None:
    samples = np.arange(1600, dtype=np.float32)
    windows = frame_windows(samples)
    assert windows.shape == (4, CONTEXT + WINDOW)
    assert [w[CONTEXT] for w in windows] == [0, 512, 1024, 1088]
    assert windows[-1][-1] == 1599
    assert not windows[0][:CONTEXT].any()  # nothing from before the frame
    assert list(windows[1][:CONTEXT]) == list(range(448, 512))


def test_short_frames_are_padded_to_one_window() -> None:
    assert frame_windows(np.ones(100, dtype=np.float32)).shape == (1, CONTEXT + WINDOW)


def test_speech_scores_high_and_silence_zeros_noise_low() -> None:
    pcm = decode_to_pcm16(DATA / "jfk.flac")
    speech = [speech_probability(pcm[i:i + FRAME]) for i in range(0, len(pcm) - FRAME, FRAME)]
    assert max(speech) > 0.9
    assert sum(p >= 0.5 for p in speech) > len(speech) / 3  # JFK pauses between phrases
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(1600) * 2000).astype("<i2").tobytes()
    t = np.arange(1600) / 16000
    hum = (3000 * np.sin(2 * np.pi * 50 * t)).astype("<i2").tobytes()
    for quiet in (bytes(FRAME), noise, hum, b"", b"\x01"):
        assert speech_probability(quiet) < 0.3


def test_no_state_carries_from_one_frame_to_the_next() -> None:
    """A session re-read from its first open chunk after a crash scores every frame as before."""
    pcm = decode_to_pcm16(DATA / "jfk.flac")
    frames = [pcm[i:i + FRAME] for i in range(0, 20 * FRAME, FRAME)]
    from_start = [speech_probability(f) for f in frames]
    resumed = [speech_probability(f) for f in frames[7:]]
    assert resumed == from_start[7:]
