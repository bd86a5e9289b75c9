"""What a WhisperLive client sees of its meeting's segments. Pure: events in, messages out."""

from __future__ import annotations

from typing import Any

from stenograph.readmodel import should_store_segment
from stenograph.schemas import SegmentEvent


def is_session_end(event: SegmentEvent, session_id: str) -> bool:
    """The transcriber's marker that everything of the session has been emitted."""
    return event.session_end and event.session_id == session_id


def wire_segment(event: SegmentEvent) -> dict[str, Any]:
    """WhisperLive's shape: times as strings with three decimals, seconds from stream start."""
    return {"start": f"{event.start_s:.3f}", "end": f"{event.end_s:.3f}", "text": event.text,
            "completed": event.completed}


class SegmentView:
    """Latest revision of each segment of one session; retired interims disappear."""

    def __init__(self, session_id: str, last_n: int = 10) -> None:
        self.session_id = session_id
        self.last_n = last_n
        self._segments: dict[str, SegmentEvent] = {}
        self.language: tuple[str, float] | None = None  # detected language, once known

    def apply(self, event: SegmentEvent) -> bool:
        """Fold one event; True when what the client should see changed."""
        if event.session_id != self.session_id or is_session_end(event, self.session_id):
            return False
        stored = self._segments.get(event.segment_id)
        previous = None if stored is None else {"completed": stored.completed,
                                                 "revision": stored.revision}
        if not should_store_segment(previous, event):
            return False
        self._segments[event.segment_id] = event  # retirements stay, so re-deliveries stay dead
        if self.language is None and event.language and "language_probability" in event.settings:
            self.language = (event.language, float(event.settings["language_probability"]))
        return True

    def visible(self) -> list[SegmentEvent]:
        return sorted((e for e in self._segments.values() if e.text),  # retired or emptied interims
                      key=lambda e: (e.start_s, e.segment_id))

    def completed(self) -> list[SegmentEvent]:
        return [e for e in self.visible() if e.completed]

    def message_items(self) -> list[dict[str, Any]]:
        """The last N completed segments, then the open (interim) ones, as WhisperLive sends."""
        shown = self.visible()
        done = [e for e in shown if e.completed][-self.last_n:]
        return [wire_segment(e) for e in done + [e for e in shown if not e.completed]]

    def settled_item(self) -> dict[str, Any] | None:
        """With nothing open, the newest final repeated once as the current segment.

        Clients keep the last not-completed segment they saw as what is being said (the stock
        client adds it to its transcript at the end); WhisperLive itself repeats an output as
        current before completing it, so the current text always ends as a final's text.
        """
        shown = self.visible()
        if not shown or not all(e.completed for e in shown):
            return None
        return {**wire_segment(shown[-1]), "completed": False}
