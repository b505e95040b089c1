"""Re-sharding from S to S' shards: what moves under each strategy, how long moving it takes, and the steps
a live migration goes through.

Theory for a uniform hash (what the measured fractions are compared with):

- modulo: a key stays only if h mod S == h mod S', which holds for min(S, S') of every lcm(S, S')
  consecutive hashes, so ``1 - min(S, S') / lcm(S, S')`` moves: S/(S+1) when one shard is added.
- ring, directory, slots: only the share the new shards take (or the removed ones held) moves,
  ``|S' - S| / max(S, S')``: 1/(S+1) per added shard.
- range (grow by splitting): each split hands half of one range to the new shard, about (S'-S)/(2S) for
  S < S' <= 2S.

A live migration copies the moving rows while the old shards keep serving, replays the writes that landed
meanwhile (each replay round is shorter while the write stream is slower than the network), verifies the
copies, switches reads, then writes (a short pause), and cleans up the old copies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdcore import checks
from sdcore.sharding.keys import KeyColumn
from sdcore.sharding.memo import memo_of
from sdcore.sharding.strategies import RESHARDS_KEPT, STRATEGIES, Placement, place, resharded

MB = 1_000_000
VERIFY_MB_PER_S = 400.0  # checksumming both copies from local disk
CLEANUP_MB_PER_S = 400.0  # deleting the old copies in the background
SWITCH_READS_S = 5.0  # publish the new shard map; routers and caches pick it up
SWITCH_WRITES_S = 1.0  # writes to the moving keys pause while the last replay drains
LIKE_BYTES = 100  # a like written: the row's counter plus the write's own overhead


def expected_fraction(strategy: str, shards: int, new_shards: int) -> float | None:
    """The fraction of rows theory expects to move (``None`` where it depends on the data)."""
    s, t = shards, new_shards
    if s == t:
        return 0.0
    if strategy == "modulo":
        return 1 - min(s, t) / math.lcm(s, t)
    if strategy == "range":
        if t < s:
            return (s - t) / s
        return (t - s) / (2 * s) if t <= 2 * s else None
    return abs(t - s) / max(s, t)


@dataclass(frozen=True)
class Movement:
    """What re-sharding moved under one strategy (counted row by row: a row moved if its shard changed)."""

    strategy: str
    shards: int
    new_shards: int
    rows_moved: int
    rows: int
    bytes_moved: int
    bytes: int
    keys_moved: int  # key values whose shard changed
    keys: int
    expected: float | None
    slots_moved: int | None = None  # Redis Cluster slots that changed owner (slots strategy only)

    @property
    def fraction(self) -> float:
        return self.rows_moved / self.rows if self.rows else 0.0

    @property
    def byte_fraction(self) -> float:
        return self.bytes_moved / self.bytes if self.bytes else 0.0


def movement(before: Placement, after: Placement, col: KeyColumn) -> Movement:
    moved_groups = before.group_shard != after.group_shard
    slots_moved = None
    if before.strategy == "slots":
        slots_moved = int(np.count_nonzero(before.state != after.state))
    return Movement(
        strategy=before.strategy,
        shards=before.shards,
        new_shards=after.shards,
        rows_moved=int(col.rows[moved_groups].sum()),
        rows=int(col.rows.sum()),
        bytes_moved=int(col.bytes[moved_groups].sum()),
        bytes=int(col.bytes.sum()),
        keys_moved=int(np.count_nonzero(moved_groups)),
        keys=col.n_groups,
        expected=expected_fraction(before.strategy, before.shards, after.shards),
        slots_moved=slots_moved,
    )


def moved_slot_ranges(before: np.ndarray, after: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Runs of consecutive slots that change owner: ``(first, last, from_shard, to_shard)``."""
    changed = np.flatnonzero(before != after)
    runs: list[tuple[int, int, int, int]] = []
    for s in changed.tolist():
        f, t = int(before[s]), int(after[s])
        if runs and runs[-1][1] == s - 1 and runs[-1][2] == f and runs[-1][3] == t:
            runs[-1] = (runs[-1][0], s, f, t)
        else:
            runs.append((s, s, f, t))
    return runs


def compare_resharding(
    col: KeyColumn, shards: int, new_shards: int, vnodes: int = 100
) -> tuple[Movement, ...]:
    """The same S -> S' change under every strategy, on one key column.

    Each strategy's movement is kept on its (shared) placement: a change of ``vnodes`` recomputes only the
    ring's, and the run's own re-sharding is the one measured here."""
    out = []
    for name in STRATEGIES:
        before = place(col, name, shards, vnodes)
        out.append(memo_of(before, RESHARDS_KEPT, "_movement_memo").get(
            (col.key, col.n_groups, new_shards), lambda b=before: movement(b, resharded(b, col, new_shards), col)
        ))  # fmt: skip
    return tuple(out)


@dataclass(frozen=True)
class MigrationStep:
    name: str
    start_s: float
    duration_s: float
    what: str

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Migration:
    """The steps of one live migration, back to back, and whether the replay of new writes catches up."""

    steps: tuple[MigrationStep, ...]
    bytes_moved: float
    network_mb_per_s: float
    write_mb_per_s: float  # writes landing on the moving rows while they move
    converges: bool

    @property
    def total_s(self) -> float:
        return self.steps[-1].end_s if self.steps else 0.0

    @property
    def copy_s(self) -> float:
        return self.steps[0].duration_s if self.steps else 0.0


def migration(
    bytes_moved: float, fraction_moved: float, network_mb_per_s: float, writes_per_s: float,
    write_bytes: float = LIKE_BYTES,
) -> Migration:  # fmt: skip
    """The timeline of moving ``bytes_moved`` at ``network_mb_per_s`` while ``writes_per_s`` writes of
    ``write_bytes`` keep arriving, ``fraction_moved`` of them on the rows being moved."""
    bytes_moved = checks.number_between("bytes_moved", bytes_moved, 0, 1e18)
    fraction_moved = checks.number_between("fraction_moved", fraction_moved, 0.0, 1.0)
    rate = checks.positive_finite("network_mb_per_s", network_mb_per_s, " MB/s")
    writes = checks.number_between("writes_per_s", writes_per_s, 0, 1e9)
    write_rate = writes * fraction_moved * write_bytes / MB
    copy = bytes_moved / MB / rate
    rho = write_rate / rate
    converges = rho < 1
    # Replay rounds: copying t seconds of writes takes rho * t; the rounds sum to copy * rho / (1 - rho).
    catch_up = copy * rho / (1 - rho) if converges else math.inf
    plan = [
        (
            "Copy",
            copy,
            "Bulk-copy the moving rows to their new shards; the old shards still serve everything.",
        ),
        ("Catch up", catch_up, "Replay the writes made during the copy, in shorter and shorter rounds."),
        ("Verify", bytes_moved / MB / VERIFY_MB_PER_S, "Compare checksums of the old and the new copies."),
        ("Switch reads", SWITCH_READS_S, "Publish the new shard map: reads go to the new shards."),
        (
            "Switch writes",
            SWITCH_WRITES_S,
            "Pause writes to the moving keys, drain the last replay, flip writes.",
        ),
        ("Clean up", bytes_moved / MB / CLEANUP_MB_PER_S, "Delete the old copies in the background."),
    ]
    if bytes_moved == 0:
        plan = []
    steps, t = [], 0.0
    for name, d, what in plan:
        steps.append(MigrationStep(name, t, d, what))
        t += d
    return Migration(tuple(steps), bytes_moved, rate, write_rate, converges)
