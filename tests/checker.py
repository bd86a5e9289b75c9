"""The chaos suite's checker, in the spirit of Jepsen's queue checker (pure: no I/O here).

A faulted run of a recording is compared with an undisturbed run of the same audio: every word of
the reference must be there once, in order, and nothing else; every segment id once. The
verdict counts what was lost and what came extra, and carries the services the fault left down
and the seconds the pipeline took to recover, for the suite's report.

Webhook deliveries under a fault are checked against the events the dispatcher was owed: each
one's delivery must reach the tenant's delivery log once, delivered or failed after its retries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher


@dataclass(frozen=True)
class Verdict:
    fault: str
    run: str  # which transcript: "live" or "settled"
    words: int  # in the reference
    lost: int  # reference words missing from the faulted run
    extra: int  # words of the faulted run that the reference does not have (duplicated or invented)
    repeated_ids: int  # segment ids present more than once
    services_down: tuple[str, ...] = ()
    recovery_s: float | None = None  # from the end of the fault until the pipeline moved again
    notes: tuple[str, ...] = field(default=())  # printed under the row (what recovery_s measures)
    unit: str = "words"  # what `words`, `lost` and `extra` count

    @property
    def ok(self) -> bool:
        return not (self.lost or self.extra or self.repeated_ids or self.services_down)

    def line(self) -> str:
        recovered = f"{self.recovery_s:.1f} s" if self.recovery_s is not None else "-"
        return (f"{self.fault:46} {self.run:8} {self.words:5} {self.unit:6} lost {self.lost}  "
                f"extra {self.extra}  repeated ids {self.repeated_ids}  down "
                f"{','.join(self.services_down) or 'none'}  recovered in {recovered}")


def compare(fault: str, run: str, got: Sequence[str], reference: Sequence[str],
            segment_ids: Sequence[str] = (), services_down: Sequence[str] = (),
            recovery_s: float | None = None, notes: Sequence[str] = ()) -> Verdict:
    """Words of a faulted run against the undisturbed run's, by their longest common alignment."""
    lost = extra = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(a=list(reference), b=list(got), autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            lost += i2 - i1
        if op in ("insert", "replace"):
            extra += j2 - j1
    repeated = sum(n - 1 for n in Counter(segment_ids).values() if n > 1)
    return Verdict(fault, run, len(reference), lost, extra, repeated, tuple(services_down), recovery_s,
                   tuple(notes))


def deliveries(fault: str, owed: Sequence[str], logged: Sequence[str], services_down: Sequence[str] = (),
               recovery_s: float | None = None, notes: Sequence[str] = ()) -> Verdict:
    """The delivery ids a tenant's log holds against those of the events the dispatcher was owed
    (order aside: different tenants' deliveries run side by side). Lost: owed and never logged; extra: logged
    and never owed; repeated: logged more often than its event was published (a re-send)."""
    want, seen = Counter(owed), Counter(logged)
    lost = sum(1 for delivery in want if delivery not in seen)
    extra = sum(n for delivery, n in seen.items() if delivery not in want)
    repeated = sum(max(0, n - want[delivery]) for delivery, n in seen.items() if delivery in want)
    return Verdict(fault, "webhooks", len(want), lost, extra, repeated, tuple(services_down), recovery_s,
                   tuple(notes), unit="events")
