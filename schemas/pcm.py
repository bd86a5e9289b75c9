"""The audio the contract carries: 16 kHz mono PCM16 little-endian, and the float samples
(full scale 1.0) that the models take."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2  # pcm_s16le, mono


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def frame_rms(payload: bytes) -> float:
    x = samples(payload)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0
