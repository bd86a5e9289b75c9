"""When to restart a crashed service, and what is known of its crashes (pure: no processes here).

The supervisor (compose/local/supervisor.py) observes each service every so often and asks this
record what to do. A service that keeps crashing waits longer each time (1, 2, 4 … 30 s) so a
crash loop does not spin; one that stayed up for `stable_s` starts again from the first delay.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    max_s: float = 30.0
    stable_s: float = 60.0  # up this long, the next crash is counted as the first of a row

    def delay(self, crashes_in_a_row: int) -> float:
        return min(self.max_s, self.first_s * 2 ** max(0, crashes_in_a_row - 1))


@dataclass
class ServiceRecord:
    restarts: int = 0
    crashes_in_a_row: int = 0
    started_at: float | None = None  # None: not running as far as we know
    next_start_at: float | None = None
    last_error: str | None = None
    last_exit_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Supervision:
    backoff: Backoff = field(default_factory=Backoff)
    records: dict[str, ServiceRecord] = field(default_factory=dict)

    def record(self, name: str) -> ServiceRecord:
        return self.records.setdefault(name, ServiceRecord())

    def observe(self, name: str, alive: bool, now: float) -> bool:
        """Note what was seen of a service; True when it should be started now."""
        rec = self.record(name)
        if alive:
            if rec.started_at is None:  # running when we first looked (started by `up`)
                rec.started_at = now
            return False
        if rec.started_at is not None:
            raise ValueError(f"{name} went down: call crashed() first")
        return rec.next_start_at is None or now >= rec.next_start_at

    def crashed(self, name: str, now: float, error: str) -> float:
        """A service seen running is gone; returns when it may be started again."""
        rec = self.record(name)
        up_for = now - rec.started_at if rec.started_at is not None else 0.0
        rec.crashes_in_a_row = 1 if up_for >= self.backoff.stable_s else rec.crashes_in_a_row + 1
        rec.started_at = None
        rec.last_error = error
        rec.last_exit_at = now
        rec.next_start_at = now + self.backoff.delay(rec.crashes_in_a_row)
        return rec.next_start_at

    def started(self, name: str, now: float) -> None:
        rec = self.record(name)
        if rec.last_exit_at is not None:
            rec.restarts += 1
        rec.started_at = now
        rec.next_start_at = None

    def to_json(self) -> dict[str, Any]:
        return {name: rec.to_json() for name, rec in self.records.items()}


def last_error(log_tail: list[str], exit_status: str | None) -> str:
    """One line saying why a service ended: how it exited, and its log's last error line."""
    line = next((s.strip() for s in reversed(log_tail)
                 if any(w in s for w in ("Error", "Exception", "error", "Traceback", "FATAL"))), None)
    if line is None:
        line = next((s.strip() for s in reversed(log_tail) if s.strip()), None)
    parts = [p for p in (exit_status, line) if p]
    return ": ".join(parts)[:300] if parts else "exited"
