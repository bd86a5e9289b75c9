"""Pure: how busy the model has been lately, so interims yield to finals under load."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class BusyMeter:
    """Share of the last window_s the model spent decoding (finals and interims alike)."""

    window_s: float = 10.0
    calls: deque[tuple[float, float]] = field(default_factory=deque)  # (start, end), monotonic s

    def record(self, start: float, end: float) -> None:
        self.calls.append((start, end))

    def busy(self, now: float) -> float:
        horizon = now - self.window_s
        while self.calls and self.calls[0][1] <= horizon:
            self.calls.popleft()
        spent = sum(min(end, now) - max(start, horizon) for start, end in self.calls)
        return max(0.0, min(1.0, spent / self.window_s))


@dataclass
class Ewma:
    """An exponentially weighted mean of durations, starting from a guess."""

    value: float
    weight: float = 0.3

    def add(self, sample: float) -> None:
        self.value += self.weight * (sample - self.value)
