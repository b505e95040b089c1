"""The consistent-hashing page's words: its parameters, presets and the change each invites, the scheme
comparison's table, the "why" text with this run's numbers, try-this and references."""

from __future__ import annotations

from types import MappingProxyType

from lessons.base import Headline, Param, Preset, Reference, md_text, plural, preset_table
from sdcore.hashing import HASH_DESCRIPTIONS, HASH_NAMES
from sdcore.hashing.experiment import (  # noqa: F401  (the engine's experiment, re-exported for the page)
    MAX_NODES,
    SCHEME_LABELS,
    SCHEMES,
    Change,
    ChangeReport,
    NodeSet,
    SchemeRow,
)

TITLE = "Consistent hashing"
IDEA = (
    "Spread keys over servers so that when a server joins or leaves, only the keys that must move do. "
    "`hash(key) mod n` moves almost every key when n changes; a hash ring moves about 1/(n+1) of them."
)
DEFAULT_PRESET = "Add a 5th server"
KEY_CHOICES: tuple[int, ...] = (1_000, 10_000, 100_000, 300_000, 1_000_000)
SAMPLE = 120  # keys drawn on the ring
PARAMS = (
    Param(
        "nodes", 4, lo=1, hi=MAX_NODES, step=1, kind="number", label="Servers at the start",
        help="S1, S2, … before any change.",
    ),
    Param(
        "vnodes", 100, lo=1, hi=1000, label="Virtual nodes per server",
        help="Points each server of weight 1 has on the ring.",
    ),
    Param(
        "keys", 100_000, lo=1_000, hi=1_000_000, options=KEY_CHOICES, kind="select_slider", label="Keys",
        labels={k: f"{k:,}" for k in KEY_CHOICES}, help="How many seeded keys to place.",
    ),
    Param(
        "hash", "murmur3", options=HASH_NAMES, label="Hash function",
        labels={h: f"{h}: {HASH_DESCRIPTIONS[h]}" for h in HASH_NAMES},
    ),
    Param("scheme", "ring", options=SCHEMES, labels=SCHEME_LABELS, label="Scheme", help="How a key finds its server."),
    Param(
        "load_factor", 1.25, lo=1.0, hi=3.0, step=0.05, label="Load factor c (bounded loads)",
        help="No server may hold more than c × its fair share. Only for 'Ring with bounded loads'.",
    ),
    Param(
        "weights", "", max_len=200, label="Weights (S1, S2, …)",
        help="Capacity of each starting server; a weight-2 server gets twice the points. Blank: all 1.",
    ),
    Param(
        "seed", 0, lo=0, hi=2**31 - 1, kind="number", label="Seed",
        help="Which keys are generated; same seed, same keys.",
    ),
    Param("changes", "", widget=False),
)  # fmt: skip
PRESETS = preset_table(
    (
        Preset(
            "Add a 5th server",
            "Four equal servers, 100 virtual nodes each. Add a fifth: how many keys must move?",
            {"nodes": 4},
            suggested=Change("add", "S5"),
        ),
        Preset(
            "Server crash",
            "Five servers; S3 dies. Only S3's keys should move, spread over the survivors.",
            {"nodes": 5},
            suggested=Change("remove", "S3"),
        ),
        Preset(
            "Too few virtual nodes",
            "One point per server: the arcs are wildly unequal, so one server gets far more than its share.",
            {"nodes": 5, "vnodes": 1},
            suggested=Change("add", "S6"),
        ),
        Preset(
            "Bad hash function",
            "Hash = sum of the bytes. Points and keys crowd into a sliver of the ring.",
            {"nodes": 4, "hash": "poor"},
            suggested=Change("add", "S5"),
        ),
        Preset(
            "Heterogeneous hardware (weights)",
            "S3 has twice and S4 four times the capacity of S1 and S2; weights scale their virtual nodes.",
            {"nodes": 4, "weights": "1,1,2,4"},
            suggested=Change("add", "S5", 2.0),
        ),
    )
)


def comparison_records(rows: tuple[SchemeRow, ...]) -> list[dict]:
    """The scheme comparison as table rows (fractions stay fractions; the page formats them as percent)."""
    return [
        {
            "scheme": SCHEME_LABELS[r.scheme],
            "keys moved": r.moved_fraction,
            "minimum": r.minimum_fraction,
            "moved beyond minimum": r.excess,
            "busiest / fair share": r.max_over_mean,
            "load CV": r.cv,
            "note": r.note,
        }
        for r in rows
    ]


def explanation(report: ChangeReport) -> str:
    """The "why it behaves this way" text, with this run's measured-vs-expected numbers."""
    c, mv, n = report.change, report.movement, len(report.after.nodes)
    parts = [
        "A key belongs to the first point clockwise from its hash. Adding a server adds points, and each new "
        "point takes over only the arc just before it, so only keys in those arcs move, all of them **to** the "
        "new server; removing one hands each of its arcs to the next point clockwise, so only its keys move."
    ]
    if c is not None:
        who = "the new server's" if c.action == "add" else f"{c.node}'s"
        parts.append(
            f"Here: expected to move {report.minimum_fraction:.1%} of the keys ({who} fair share), moved "
            f"{mv.fraction:.1%} ({mv.moved:,} of {mv.total:,}); on a ring the difference is how long {who} "
            "arcs happen to be, not keys moved in vain."
        )
    parts.append(
        "With k points per server the shares have a coefficient of variation of about √((n−1)/(kn+1)) (the arcs "
        f"are Beta-distributed); counting {report.key_count:,} keys adds sampling noise of about √((n−1)/K)"
        + (
            f": {report.theory_cv:.3f} expected here, {report.loads.cv:.3f} measured."
            if report.theory_cv
            else "."
        )
    )
    parts.append(
        f"Modulo hashing changes n in `hash mod n`, so a key stays only if both moduli agree: about 1/{n} of "
        "them when n changes by one; the rest move."
    )
    text = " ".join(parts)
    if report.spec.scheme == "bounded":
        text += (
            "\n\n**Bounded loads**: once a server is full, keys spill to the next server clockwise, so a change "
            "can move keys between servers that did not change — the minimal-movement guarantee no longer holds "
            "once caps bind (see 'moved beyond minimum')."
        )
    return text


TRY_THIS: tuple[str, ...] = (
    "Predict how many keys adding a 5th server moves, then apply it. Now remove S2: predict again.",
    "Set virtual nodes to 1, then 10, then 1000: watch the busiest server's share fall toward 1.0×.",
    "Pick the 'poor' hash: why does the ring look empty, and why does one server take almost everything?",
    "Interview question: why does Cassandra give each node 16–256 tokens, and what does bounded-load hashing "
    "buy a cache like Vimeo's?",
)
REFERENCES = (
    Reference("Karger et al. 1997, Consistent hashing", "https://dl.acm.org/doi/10.1145/258533.258660"),
    Reference("Lamping & Veach 2014, Jump hash", "https://arxiv.org/abs/1406.2294"),
    Reference("Mirrokni et al. 2018, Bounded loads", "https://arxiv.org/abs/1608.01350"),
    Reference(
        "DeCandia et al. 2007, Dynamo",
        "https://www.allthingsdistributed.com/files/amazon-dynamo-sosp2007.pdf",
    ),
)
CAPTIONS = MappingProxyType(
    {
        "loads": "Keys per server; the black tick is each server's fair share (keys × weight / total weight). "
        "Fewer virtual nodes or a poor hash push the bars away from their ticks.",
        "flows": "Where the moved keys went: on a ring only the new node gains, or only the removed node loses.",
        "spread": "Each server's share of the ring, as a coefficient of variation: it falls like 1/√k, so 100 "
        "points per server give about 10% spread and 1,000 about 3%. A poor hash stays uneven whatever k is.",
    }
)


def ring_caption(points: int, moved: bool) -> str:
    """The ring's caption, saying only what this drawing shows: with many points the arcs from a key to
    its owner are too short to see, and without a change nothing is marked as moved."""
    arcs = (
        "each with an arc to the point that owns it"
        if points <= 200
        else "each coloured by its owner (with this many points the arc to the owner is too short to see)"
    )
    text = f"{plural(points, 'point')} on the ring; {SAMPLE} of the keys drawn inside it, {arcs}."
    if moved:
        text += " Keys that moved are the large vermillion (red-orange) diamonds: they all sit on arcs the change took over or gave up."
    return text


RING_SCHEMES = frozenset({"ring", "bounded"})


def uses(scheme: str, param: str) -> bool:
    """Whether a parameter changes anything under ``scheme`` (a control that does not apply is disabled)."""
    if param == "vnodes":
        return scheme in RING_SCHEMES
    if param == "load_factor":
        return scheme == "bounded"
    return True


def comparison_caption(keys: int, rows: tuple[SchemeRow, ...] = ()) -> str:
    """The comparison's caption; what a negative 'moved beyond minimum' means is said only when one is shown."""
    text = (
        f"On {keys:,} keys. Modulo moves most keys; jump hash is perfect at the end of the list but renumbers "
        "buckets when a middle node leaves; bounded loads trade extra moves for a cap. 'Moved beyond minimum' is "
        "keys moved minus the fair share that had to move."
    )
    if negative := [SCHEME_LABELS[r.scheme] for r in rows if r.excess < 0]:
        text += (
            f" It is slightly negative for {', '.join(negative)}: these keys happened to move a little less than "
            "the fair share (sampling), never that a scheme beat the minimum."
        )
    return text


def headlines(
    report: ChangeReport, comparison: tuple[SchemeRow, ...] | None, guess: float | None
) -> tuple[Headline | None, Headline | None, Headline | None, Headline]:
    """The four metrics: keys moved against the ideal, the same change under modulo, the student's
    prediction (when made for this change), and the busiest server against its fair share."""
    mv, loads, last = report.movement, report.loads, report.change
    moved = modulo = predicted = None
    if last is None:
        moved = Headline("Keys moved", "—", help="Apply a change above to see which keys move.")
    else:
        ideal = report.minimum_fraction
        moved = Headline(
            f"Keys moved ({last.describe()})",
            f"{mv.fraction:.1%}",
            f"{100 * (mv.fraction - ideal):+.1f} pts vs ideal {ideal:.1%}",
            help=f"{mv.moved:,} of {mv.total:,} keys. The minimum any scheme must move is {ideal:.1%}.",
            delta_color="inverse",
        )
        if comparison is not None:
            row = next(r for r in comparison if r.scheme == "modulo")
            modulo = Headline(
                "Same change, modulo hashing", f"{row.moved_fraction:.1%}", help="hash(key) mod n, same keys."
            )
        if guess is not None:
            predicted = Headline(
                "Your prediction", f"{guess}%", f"{guess - 100 * mv.fraction:+.1f} pts off", delta_color="off"
            )
    busiest = Headline(
        "Busiest server / fair share",
        f"{loads.max_over_mean:.2f}×",
        f"CV {loads.cv:.3f}" + (f" (theory {report.theory_cv:.3f})" if report.theory_cv else ""),
        help="Load over fair share of the most loaded server; CV is the coefficient of variation of the loads.",
        delta_color="off",
    )
    return moved, modulo, predicted, busiest


def skipped_changes(skipped: tuple[tuple[str, str], ...]) -> list[str]:
    """One notice per change that could not be replayed (the others were kept)."""
    return [
        f"The change {md_text(item)} could not be replayed ({md_text(why, 200)}); it was left out and the other "
        "changes were kept."
        for item, why in skipped
    ]
