"""Who spoke a segment: the meeting UI's speaking indicators joined to segments by time. Pure.

Indicators come as SpeakerActivity on/off events on the audio clock. A segment gets the
participant whose speaking time overlaps it most; the mapping status says how sure that is:
mapped (one speaker), multiple (another overlaps substantially too), unknown (no one did).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAPPED, MULTIPLE, UNKNOWN = "mapped", "multiple", "unknown"
SECOND_SHARE = 0.3  # a runner-up with this share of the top overlap makes the mapping "multiple"
OPEN_END = 2**62


@dataclass(frozen=True)
class Indicator:
    participant_id: str
    name: str
    speaking: bool
    at_ns: int


@dataclass(frozen=True)
class Interval:
    participant_id: str
    name: str
    start_ns: int
    end_ns: int  # OPEN_END while still speaking


def intervals(indicators: Iterable[Indicator]) -> list[Interval]:
    """On/off events -> speaking intervals; repeated ons extend one interval, an off closes it."""
    started: dict[str, tuple[str, int]] = {}
    out: list[Interval] = []
    for ind in sorted(indicators, key=lambda i: (i.at_ns, not i.speaking)):
        if ind.speaking:
            started.setdefault(ind.participant_id, (ind.name, ind.at_ns))
        elif ind.participant_id in started:
            name, start = started.pop(ind.participant_id)
            out.append(Interval(ind.participant_id, name, start, ind.at_ns))
    out += [Interval(pid, name, start, OPEN_END) for pid, (name, start) in started.items()]
    return out


def attribute(start_ns: int, end_ns: int, spans: Iterable[Interval]) -> tuple[str | None, str]:
    """(speaker name or None, mapping status) for a segment from start_ns to end_ns."""
    overlap: dict[str, int] = {}
    names: dict[str, str] = {}
    for span in spans:
        shared = min(end_ns, span.end_ns) - max(start_ns, span.start_ns)
        if shared > 0:
            overlap[span.participant_id] = overlap.get(span.participant_id, 0) + shared
            names[span.participant_id] = span.name
    if not overlap:
        return None, UNKNOWN
    ranked = sorted(overlap.items(), key=lambda kv: kv[1], reverse=True)
    top_id, top = ranked[0]
    if len(ranked) > 1 and ranked[1][1] >= SECOND_SHARE * top:
        return names[top_id], MULTIPLE
    return names[top_id], MAPPED
