"""PCM16 little-endian bytes as the float samples (full scale 1.0) that the models take."""

from __future__ import annotations

import numpy as np


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
