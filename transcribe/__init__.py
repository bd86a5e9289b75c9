"""Transcription: the live transcriber, the settling pass and the replayer.

Its public names load on first use, so importing one module of the stage does not load
the rest (a model, a browser driver).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
