"""Tombstones and resurrection: a replica that missed a delete brings the key back if the tombstone is purged
before repair reaches that replica.

Three replicas A, B, C hold ``cart:42``. C goes down; while it is down the key is deleted, so A and B keep a
*tombstone* (a delete marker with its timestamp) and C keeps the old value. Compaction purges a tombstone
``gc_grace`` days after the delete (Cassandra's ``gc_grace_seconds``, 10 days by default). Anti-entropy repair
runs every ``repair_every`` days between the replicas that are up, with Merkle trees, newest timestamp wins.
If repair meets C while A or B still hold the tombstone, C learns of the delete. If the tombstones are gone
first, C's old value is the newest thing anyone holds, and repair copies it back: the key is resurrected.
(Hinted handoff does not save it: hints expire after hours, the outage lasts days.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdcore.checks import int_between
from sdcore.kvstore.merkle import anti_entropy

REPLICAS = ("A", "B", "C")
KEY = "cart:42"
OTHER_KEYS = tuple(f"cart:{i}" for i in range(1, 13))
TOMBSTONE = "<tombstone>"
# What a replica holds for KEY on a day (for the chart).
LIVE, DELETED, NOTHING, DOWN = 0, 1, 2, 3
HOLDS = ("the value", "a tombstone", "nothing", "down")


def _cell(day: int, value: str) -> str:
    return f"{day:06d}|{value}"  # zero-padded: the greater string is the newer write


@dataclass(frozen=True)
class TombstoneScenario:
    gc_grace: int = 10
    repair_every: int = 7
    down_days: int = 5
    delete_day: int = 2
    horizon: int = 40

    def __post_init__(self) -> None:
        int_between("gc_grace", self.gc_grace, 0, 365)
        int_between("repair_every", self.repair_every, 1, 365)
        int_between("delete_day", self.delete_day, 1, 30)
        int_between("down_days", self.down_days, 1, 365)
        int_between("horizon", self.horizon, self.delete_day + 1, 2000, lo_name="delete_day + 1")

    @property
    def down(self) -> tuple[int, int]:
        """C is down from the day before the delete to this many days after it (back on the second day)."""
        return self.delete_day - 1, self.delete_day + self.down_days

    @property
    def purge_day(self) -> int:
        return self.delete_day + self.gc_grace


@dataclass(frozen=True)
class TombstoneResult:
    scenario: TombstoneScenario
    holds: np.ndarray  # holds[day, replica]: LIVE, DELETED, NOTHING or DOWN
    events: tuple[tuple[int, str], ...]
    resurrected: bool
    resurrected_on: int | None
    safe_gc_grace: int  # the smallest gc_grace that keeps the delete, for this outage and repair schedule


def _holds(up: bool, cell: str | None) -> int:
    if not up:
        return DOWN
    if cell is None:
        return NOTHING
    return DELETED if cell.endswith(TOMBSTONE) else LIVE


def _run(s: TombstoneScenario) -> tuple[np.ndarray, list[tuple[int, str]], int | None]:
    down_from, back = s.down
    contents = {r: {k: _cell(0, "v1") for k in (KEY, *OTHER_KEYS)} for r in REPLICAS}
    holds = np.zeros((s.horizon + 1, len(REPLICAS)), dtype=np.int8)
    events: list[tuple[int, str]] = [(0, f"{KEY} written to A, B and C")]
    resurrected_on = None
    deleted = False
    for day in range(s.horizon + 1):
        up = {r: not (r == "C" and down_from <= day < back) for r in REPLICAS}
        if day == down_from:
            events.append((day, "C goes down"))
        if day == back:
            events.append((day, "C comes back, still holding the old value"))
        if day == s.delete_day:
            for r in REPLICAS:
                if up[r]:
                    contents[r][KEY] = _cell(day, TOMBSTONE)
            deleted = True
            events.append((day, f"{KEY} deleted: A and B write a tombstone; C is down and misses it"))
        if deleted and day == s.purge_day:
            for r in REPLICAS:
                if up[r] and contents[r].get(KEY, "").endswith(TOMBSTONE):
                    del contents[r][KEY]
            events.append((day, f"compaction purges tombstones older than gc_grace = {s.gc_grace} days"))
        if day > 0 and day % s.repair_every == 0:
            live = [r for r in REPLICAS if up[r]]
            had = {r: contents[r].get(KEY) for r in live}
            for i, x in enumerate(live):
                for y in live[i + 1 :]:
                    result = anti_entropy(contents[x], contents[y], depth=4)
                    contents[x], contents[y] = dict(result.repaired_a), dict(result.repaired_b)
            changed = [r for r in live if contents[r].get(KEY) != had[r]]
            note = f"repair among {', '.join(live)}"
            if changed:
                now = contents[changed[0]].get(KEY, "")
                what = "the tombstone" if now.endswith(TOMBSTONE) else "the old value"
                note += f": {what} copied to {', '.join(changed)}"
                if what == "the old value" and deleted and resurrected_on is None:
                    resurrected_on = day
                    note += f" — {KEY} is back from the dead"
            events.append((day, note))
        for j, r in enumerate(REPLICAS):
            cell = contents[r].get(KEY)
            holds[day, j] = _holds(up[r], cell)
    return holds, events, resurrected_on


def first_repair_with_c(s: TombstoneScenario) -> int:
    """The first repair day on which C is back up."""
    back = s.down[1]
    return -(-back // s.repair_every) * s.repair_every


def safe_gc_grace(s: TombstoneScenario) -> int:
    """The smallest gc_grace that keeps the delete: the tombstones must outlive the first repair with C (a
    purge runs before that day's repair), so gc_grace > first repair with C - delete day. Cassandra's rule of
    thumb says the same: repair every replica at least once every gc_grace_seconds."""
    return first_repair_with_c(s) - s.delete_day + 1


def simulate_tombstones(s: TombstoneScenario) -> TombstoneResult:
    holds, events, resurrected_on = _run(s)
    return TombstoneResult(
        s,
        holds,
        tuple(sorted(events, key=lambda e: e[0])),
        resurrected_on is not None,
        resurrected_on,
        safe_gc_grace(s),
    )
