"""Transcription: the live transcriber, the settling pass and the replayer.

Its public names load on first use (stenograph/lazy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stenograph.lazy import lazy_names

if TYPE_CHECKING:
    from stenograph.transcribe.model import FasterWhisperTranscriber, ModelError
    from stenograph.transcribe.replay_worker import ReplayWorker
    from stenograph.transcribe.settings import TranscriberSettings
    from stenograph.transcribe.worker import TranscriberWorker

_WHERE = {
    "FasterWhisperTranscriber": "model",
    "ModelError": "model",
    "ReplayWorker": "replay_worker",
    "TranscriberSettings": "settings",
    "TranscriberWorker": "worker",
}
__all__ = [
    "FasterWhisperTranscriber",
    "ModelError",
    "ReplayWorker",
    "TranscriberSettings",
    "TranscriberWorker",
]

__getattr__ = lazy_names(__name__, _WHERE)
