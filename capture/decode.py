"""Decode any common media file to 16 kHz mono PCM16 with PyAV (FFmpeg's libraries)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from stenograph.schemas import SAMPLE_RATE, StenographError


class MediaError(StenographError):
    """A file that is missing, unreadable, or has no decodable audio."""


def decode_to_pcm16(path: Path, sample_rate: int = SAMPLE_RATE) -> bytes:
    """The whole file's first audio stream as mono PCM16 at `sample_rate`.

    Decoding completes before anything is published, so a broken file publishes nothing.
    """
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            chunks: list[np.ndarray] = []
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except MediaError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise MediaError(f"{path}: cannot decode audio ({exc})") from exc
    if not chunks:
        raise MediaError(f"{path}: no audio samples")
    pcm = np.concatenate(chunks).astype("<i2", copy=False)
    if pcm.size == 0:
        raise MediaError(f"{path}: no audio samples")
    return pcm.tobytes()
