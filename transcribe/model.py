"""The speech model behind a small protocol, and faster-whisper as its implementation."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from stenograph.schemas import HUB_MODELS, SAMPLE_RATE, StenographError
from stenograph.transcribe.packaged_models import PACKAGED, ModelNotAvailable

log = logging.getLogger(__name__)


class ModelError(StenographError):
    """The model cannot be found or loaded."""


@dataclass(frozen=True)
class ModelWord:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class ModelSegment:
    start: float  # seconds from the start of the audio given to the model
    end: float
    text: str
    words: tuple[ModelWord, ...]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    window: int = 0  # the model's 30 s window it was decoded in (faster-whisper's seek, frames)
    window_start: float = 0.0  # where that window began in the audio given (s, to the sample)


@dataclass(frozen=True)
class DecodeOptions:
    """Grouped decoding settings; temperature 0 only, so the same audio gives the same text."""

    language: str | None = None
    task: str = "transcribe"
    beam_size: int = 5
    vad_filter: bool = True
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    word_timestamps: bool = True

    def as_settings(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Transcription:
    segments: tuple[ModelSegment, ...]
    language: str | None
    language_probability: float = 0.0


class Transcriber(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, lead: int = 0) -> Transcription:
        """The audio from sample `lead` on; the samples before it are heard by the voice
        activity detection only, and times are from sample `lead`."""
        ...

    def detect(self, audio: np.ndarray) -> tuple[str, float]:
        """The language spoken in the audio and the model's probability for it."""
        ...


def resolve_model(name: str) -> str:
    """A model name or path as faster-whisper loads it; packaged models resolve offline."""
    if name in PACKAGED:
        try:
            return str(PACKAGED[name]())
        except ModelNotAvailable as exc:
            raise ModelError(str(exc)) from exc
    if Path(name).is_dir():
        if not (Path(name) / "model.bin").is_file():
            raise ModelError(f"{name}: no model.bin (expected a CTranslate2 Whisper model)")
        return name
    if name in HUB_MODELS:
        return name  # faster-whisper downloads it where a hub is reachable
    raise ModelError(f"unknown model {name!r}: use {', '.join(sorted(PACKAGED))}, a hub name "
                     "such as large-v3, or a directory with a CTranslate2 model")


@dataclass
class FasterWhisperTranscriber:
    """faster-whisper; one instance per process, calls serialized (CTranslate2 is not re-entrant
    per model replica)."""

    name: str = "tiny.en"
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        from faster_whisper import WhisperModel

        path = resolve_model(self.name)
        try:
            self._model = WhisperModel(
                path, device=self.device, compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"cannot load model {self.name!r} from {path}: {exc}") from exc
        self.english_only = self.name.endswith(".en") or not self._model.model.is_multilingual
        log.info("model %s loaded on %s/%s", self.name, self.device, self.compute_type)

    def _kwargs(self, options: DecodeOptions) -> dict[str, Any]:
        return {
            "language": "en" if self.english_only else options.language,
            "task": "transcribe" if self.english_only else options.task,
            "beam_size": options.beam_size,
            "temperature": 0.0,
            "vad_filter": options.vad_filter,
            "no_speech_threshold": options.no_speech_threshold,
            "log_prob_threshold": options.log_prob_threshold,
            "compression_ratio_threshold": options.compression_ratio_threshold,
            "condition_on_previous_text": False,
            "word_timestamps": options.word_timestamps,
        }

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, lead: int = 0) -> Transcription:
        """faster-whisper's transcribe, its VAD filter run here so that it hears the lead too:
        speech that began in the lead is kept from sample `lead` on, as a pass over the whole
        recording keeps it. Each segment says, to the sample, where its model window began."""
        from faster_whisper.transcribe import restore_speech_timestamps
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        body = audio[lead:]
        speech = None
        # the VAD too runs under the lock: one model call at a time keeps the process to the
        # cores CTranslate2 takes, so a bot's browser on the same host is not starved of CPU
        with self._lock:
            if options.vad_filter:
                speech = [{"start": max(c["start"], lead) - lead, "end": c["end"] - lead}
                          for c in get_speech_timestamps(audio, VadOptions()) if c["end"] > lead]
                if not speech:
                    return Transcription((), options.language, 0.0)
                body = np.concatenate(collect_chunks(body, speech)[0])
            segments, info = self._model.transcribe(body, **{**self._kwargs(options), "vad_filter": False})
            out = tuple(
                replace(_segment(s), window_start=original_time(s.seek * HOP, speech) / SAMPLE_RATE)
                for s in (restore_speech_timestamps(segments, speech, SAMPLE_RATE) if speech else segments)
            )
        return Transcription(out, info.language, info.language_probability)

    def detect(self, audio: np.ndarray) -> tuple[str, float]:
        if self.english_only:
            return "en", 1.0
        with self._lock:
            language, probability, _ = self._model.detect_language(audio, vad_filter=True)
        return language, probability

    def stream(
        self, audio: np.ndarray, options: DecodeOptions, batch_size: int = 0
    ) -> tuple[Iterator[ModelSegment], str]:
        """Offline-style over a whole recording: segments are yielded as they are decoded.

        batch_size > 0 decodes VAD chunks in batches (faster on CPU and GPU alike). The caller
        owns the model for the iteration (one replay at a time per process).
        """
        kwargs = self._kwargs(options)
        if batch_size > 0:
            from faster_whisper import BatchedInferencePipeline

            kwargs.pop("condition_on_previous_text")
            segments, info = BatchedInferencePipeline(self._model).transcribe(
                audio, batch_size=batch_size, **kwargs
            )
        else:
            segments, info = self._model.transcribe(audio, **kwargs)
        return (_segment(s) for s in segments), info.language


HOP = 160  # samples per feature frame: faster-whisper's seek is counted in these


def original_time(sample: int, speech: list[dict[str, int]] | None) -> int:
    """A sample of the VAD's concatenated speech as a sample of the audio it was cut from."""
    if speech is None:
        return sample
    before = 0
    for chunk in speech:
        length = chunk["end"] - chunk["start"]
        if sample < before + length:
            return chunk["start"] + sample - before
        before += length
    return speech[-1]["end"] + sample - before if speech else sample


def _segment(s: Any) -> ModelSegment:
    return ModelSegment(
        start=s.start, end=s.end, text=s.text,
        words=tuple(ModelWord(w.word, w.start, w.end, w.probability) for w in (s.words or ())),
        avg_logprob=s.avg_logprob, no_speech_prob=s.no_speech_prob,
        compression_ratio=s.compression_ratio, window=s.seek,
    )
