"""Speech probability of one audio frame, from the Silero VAD model that faster-whisper ships.

A frame's value depends on its own samples only (never on the frames before it), so re-reading
a session from any frame after a crash or rebalance gives every frame the same value and the
chunk policy cuts where it cut before.
"""

from __future__ import annotations

import numpy as np

from stenograph.schemas import samples as pcm_samples

WINDOW = 512  # samples per VAD window at 16 kHz (32 ms), fixed by the model
CONTEXT = 64  # samples of left context the model takes with each window


def frame_windows(samples: np.ndarray) -> np.ndarray:
    """Windows tiling the frame, the last one flush with its end, each with its left context
    (zeros before the frame's first sample): shape (n, CONTEXT + WINDOW)."""
    if samples.size < WINDOW:
        samples = np.pad(samples, (0, WINDOW - samples.size))
    starts = list(range(0, samples.size - WINDOW + 1, WINDOW))
    if starts[-1] + WINDOW < samples.size:
        starts.append(samples.size - WINDOW)
    padded = np.concatenate([np.zeros(CONTEXT, dtype=np.float32), samples])
    return np.stack([padded[s:s + CONTEXT + WINDOW] for s in starts])


def speech_probability(payload: bytes) -> float:
    """The highest speech probability over the frame's windows (0.0 for an empty frame)."""
    if len(payload) < 2:
        return 0.0
    samples = pcm_samples(payload[: len(payload) // 2 * 2])
    from faster_whisper.vad import get_vad_model  # loads onnxruntime once, on first use

    session = get_vad_model().session
    state = np.zeros((1, 1, 128), dtype=np.float32)
    out, _, _ = session.run(None, {"input": frame_windows(samples), "h": state, "c": state})
    return float(np.max(out))
