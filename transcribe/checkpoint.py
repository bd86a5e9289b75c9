"""Pure checkpoint logic (docs/architecture.md, invariant 4).

A partition's committed offset never passes the first frame of any chunk still open,
so a crash or rebalance resumes by re-reading audio. The commit metadata records, per
session, the first seq not yet turned into segments and the last offset that session
was seen at; frames below that seq are skipped on re-read, so chunks are cut at the
same places as before and segment ids repeat instead of duplicating text.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

METADATA_TAG = "stg2:"
# written before a session's settling was recorded: an unsettled session's reads as settled
LEGACY_TAG = "stg1:"
UNSETTLED = -1  # settle_seq of a session that is not settled (settling off, or it failed)


@dataclass(frozen=True)
class Watermark:
    """Where a session resumes. Frames from retain_seq are re-read: those below next_seq only as
    left context or into the settling window that starts at settle_seq, never as live audio."""

    next_seq: int  # first seq of the session not yet finalized
    last_offset: int  # last offset the session was seen at
    settle_seq: int | None = None  # first seq not yet settled (None: next_seq; UNSETTLED: never)
    retain_seq: int | None = None  # first seq still needed (None: next_seq)
    settle_skip: int = 0  # samples at the start of frame settle_seq that are settled already
    # live_policy=agree (transcribe/agree.py): the growing decode to agree with (-1: none) and
    # where the session's finals end (ms from its start, -1: none yet); None under pause
    agree_previous: int | None = None
    final_until_ms: int = -1
    # whether settle_seq says if the session is settled (LEGACY_TAG: it does not); not encoded
    settling_known: bool = True

    @property
    def settle_from(self) -> int:
        return self.next_seq if self.settle_seq is None else self.settle_seq

    @property
    def retain_from(self) -> int:
        return self.next_seq if self.retain_seq is None else self.retain_seq

    def as_list(self) -> list[int]:
        if self.agree_previous is not None:
            return [self.next_seq, self.last_offset, self.settle_from, self.retain_from,
                    self.settle_skip, self.agree_previous, self.final_until_ms]
        if self.settle_skip:
            return [self.next_seq, self.last_offset, self.settle_from, self.retain_from,
                    self.settle_skip]
        if self.settle_from == self.retain_from == self.next_seq:
            return [self.next_seq, self.last_offset]
        return [self.next_seq, self.last_offset, self.settle_from, self.retain_from]


def commit_point(open_chunk_offsets: Iterable[int], next_offset: int | None) -> int | None:
    """The offset to commit: the earliest frame still needed, else everything processed."""
    earliest = min(open_chunk_offsets, default=None)
    if earliest is not None:
        return earliest
    return next_offset


def relevant(marks: dict[str, Watermark], point: int) -> dict[str, Watermark]:
    """Only sessions with frames at or after the commit point can be re-read."""
    return {sid: m for sid, m in marks.items() if m.last_offset >= point}


def encode_metadata(marks: dict[str, Watermark]) -> str:
    raw = json.dumps(
        {sid: m.as_list() for sid, m in sorted(marks.items())},
        separators=(",", ":"),
    ).encode()
    return METADATA_TAG + base64.b64encode(zlib.compress(raw, 9)).decode()


def decode_metadata(text: str | None) -> dict[str, Watermark]:
    tag = next((t for t in (METADATA_TAG, LEGACY_TAG) if text and text.startswith(t)), None)
    if text is None or tag is None:
        return {}
    try:
        raw = zlib.decompress(base64.b64decode(text[len(tag):]))
        data = json.loads(raw)
        if not isinstance(data, dict):
            return {}
        marks = {}
        for sid, v in data.items():
            if not (isinstance(v, list) and len(v) in (2, 4, 5, 7) and all(type(x) is int for x in v)):
                return {}
            mark = Watermark(*v)
            marks[sid] = mark if tag == METADATA_TAG else replace(mark, settling_known=False)
        return marks
    except (ValueError, zlib.error, TypeError):
        return {}  # unreadable metadata: fall back to re-reading from the offset
