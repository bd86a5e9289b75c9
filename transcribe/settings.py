"""Transcriber settings (environment variables STENOGRAPH_*)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from stenograph.runtime import CommonSettings


class TranscriberSettings(CommonSettings):
    model: str = "tiny.en"
    device: str = "cpu"
    compute_type: str = "int8"  # use float16 on cuda
    cpu_threads: int = 0
    language: str | None = None  # None: detect (multilingual models)
    beam_size: int = 5
    group_id: str = "stenograph-transcriber"
    chunk_min_s: float = 5.0
    chunk_max_s: float = 15.0
    idle_flush_s: float = 10.0  # a session silent this long gets its open chunk transcribed
    zero_alert_s: float = 5.0  # this much digital zero in a row raises an AudioHealth event
    commit_interval_s: float = 1.0
    interim_interval_s: float = 1.0  # re-decode an open chunk after this much new audio; 0: no interims
    interim_beam_size: int = 1  # interims are revised anyway: greedy is enough and faster
    interim_max_busy: float = 0.85  # no interims while the model was busy this share of the last 10 s
    interim_max_lag_frames: int = 10  # no interims while this many frames wait unread on the worker
    context_s: float = 5.0  # left context decoded with each final chunk (its words are dropped)
    # pause: finals from 5-15 s chunks cut at pauses (about 0.4 model seconds per audio second);
    # agree: the settling window decoded every agree_stride_s, words final when two decodes
    # agree (transcribe/agree.py): nearer offline, about a model second per audio second
    live_policy: Literal["pause", "agree"] = "pause"
    agree_stride_s: float = Field(1.0, gt=0)
    agree_from_s: float = 4.0  # a window shorter than this finalizes nothing by agreement
    # a word this far behind the window's end is final, agreed or not (0: agreement only)
    agree_hold_s: float = 3.0
    settle: bool = True  # the settling pass: windows behind the live edge decoded offline style
    settle_window_s: float = 35.0  # a little over one Whisper window, so its first is full after the VAD
    # a session that sends nothing for this long has its open window settled (the one cut that
    # depends on the clock: a source that stalls without ending its session)
    settle_idle_flush_s: float = 60.0
    # a due window waits for a moment when no live chunk is about to be cut (a settling decode
    # takes seconds, and a final behind it would wait), but never longer than this
    settle_max_wait_s: float = 10.0
    replay_group_id: str = "stenograph-replayer"
    replay_batch_size: int = 8  # batched decoding of VAD chunks; 0 decodes sequentially
    replay_progress_interval_s: float = 1.0

    @model_validator(mode="after")
    def _agree_needs_windows(self) -> TranscriberSettings:
        if self.live_policy == "agree" and not self.settle:
            raise ValueError("STENOGRAPH_LIVE_POLICY=agree decodes the settling windows: "
                             "STENOGRAPH_SETTLE must stay on")
        return self
