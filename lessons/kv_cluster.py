"""The cluster page's words: its presets (scenarios), the latency choices as shown, the tables of versions,
replica contents and read repair, the caption of each step, the "why" text and try-this."""

from __future__ import annotations

import types
from collections.abc import Mapping
from types import MappingProxyType

from lessons.base import Headline, Param, Preset, Reference, md_escape, plural
from sdcore.kvstore.cluster import Version, format_value
from sdcore.kvstore.latency import LATENCY_PRESETS
from sdcore.kvstore.scenario import (  # noqa: F401  (the engine's scenario, re-exported for the page)
    HINT_CHOICES,
    HINT_LABELS,
    LATENCY_CHOICES,
    MAX_NODES,
    MIN_NODES,
    RECONCILE_LABELS,
    TIMEOUT_CHOICES,
    ClusterSettings,
    ClusterState,
    Scenario,
    ScenarioRun,
    clamp_quorums,
    run_scenario,
)


def latency_label(choice: str) -> str:
    if choice == "lan":
        return "Exponential, 10 ms mean per message"
    return LATENCY_PRESETS[choice].name


PRESETS = types.MappingProxyType(
    {
        "Dynamo default, healthy": Scenario(
            "Five healthy nodes, N=3, R=2, W=2. Each put carries the vector clock of the get before it, so every "
            "version descends from the last: one version per get, never stale.",
            "0 put cart {milk}\n+10 get cart\n+0 put cart +eggs ctx g1\n+10 get cart\n+0 put cart -milk ctx g2\n"
            "+10 get cart\n",
        ),
        "Replica crash during a write": Scenario(
            "W=3, R=1. Replica A crashes while p2's write is on its way to it: the write waits for a third ack "
            "that never comes and the client sees a timeout — yet B and C keep the write, and a read sees it. "
            "A comes back without it; a read through A is answered from A's old copy, then read repair fixes A.",
            "0 put cart {milk}\n100 put cart {milk,eggs}\n113 crash A   # p2's write to A is still on the wire\n"
            "300 get cart\n400 recover A\n450 get cart via A\n+20 get cart via A\n",
            ClusterSettings(r=1, w=3),
        ),
        "Network partition, writes on both sides": Scenario(
            "A partition splits A,B from C,D,E. Both sides take a write based on the same read: B adds eggs, C "
            "removes milk (with hints on D and E for the cut-off owners). After the heal the hints are handed "
            "off and a read returns two siblings whose vector clocks are concurrent. The union merge keeps every "
            "add — and the deleted milk comes back.",
            "0 put cart {milk}\n+10 get cart\n100 partition A,B | C,D,E\n110 put cart +eggs ctx g1 via B\n"
            "110 put cart -milk ctx g1 via C\n250 heal\n320 get cart\n+0 put cart +tea ctx g2\n+10 get cart\n",
            ClusterSettings(reconcile="union"),
        ),
        "Stale read with R=1": Scenario(
            "N=3, R=1, W=1: a put returns after one ack and a get after one answer, so W + R = 2 ≤ N. A read "
            "sent straight after a write, through a replica the write has not reached yet, returns the old value.",
            "0 put cart v1\n+1 get cart via C\n+1 get cart via A\n+10 put cart v2 ctx g2\n+1 get cart via C\n"
            "+1 get cart via A\n+100 get cart via A\n",
            ClusterSettings(r=1, w=1),
        ),
        "Hinted handoff after a node returns": Scenario(
            "C, an owner of the cart, is down when the put arrives: the sloppy quorum writes to E instead, with a "
            "hint naming C. When C recovers, E hands the write off and drops the hint; C then answers reads "
            "with the write it never saw.",
            "0 crash C\n10 put cart {milk}\n+10 get cart\n200 recover C\n300 crash B\n310 get cart via C\n",
        ),
    }
)


# -- the run --------------------------------------------------------------------------------------------


def sibling_rows(versions: tuple[Version, ...], nodes: tuple[str, ...]) -> list[dict[str, object]]:
    """Siblings side by side: value, the put that wrote it, and one column per node's clock counter."""
    return [
        {
            "value": format_value(v.value),
            "written by": v.writer,
            "at (ms)": round(v.timestamp_ms, 1),
            **{x: v.clock[x] for x in nodes},
        }
        for v in versions
    ]


def clock_comparisons(versions: tuple[Version, ...]) -> list[str]:
    """Each pair of siblings and how their clocks compare (siblings are always concurrent)."""
    return [
        f"{a.writer} {a.clock} vs {b.writer} {b.clock}: {a.clock.compare(b.clock).value}"
        for i, a in enumerate(versions)
        for b in versions[i + 1 :]
    ]


def contents_rows(state: ClusterState, key: str, owners: tuple[str, ...]) -> list[dict[str, object]]:
    """What every node holds for ``key`` at a moment: its replica, hints it keeps for others, up or down."""
    rows = []
    for x in sorted(state.stores):
        held = [
            f"{' | '.join(v.describe() for v in vs)} (hint for {o})"
            for (k, o), vs in state.hints[x].items()
            if k == key
        ]
        stored = state.stores[x].get(key, ())
        if x not in owners and not held and not stored:
            continue
        role = "owner" if x in owners else "stand-in"
        rows.append(
            {
                "node": x,
                "role": f"{role} (down)" if x in state.down else role,
                "replica": " | ".join(v.describe() for v in stored) or "—",
                "hints held": "; ".join(held),
            }
        )
    return rows


def step_caption(run: ScenarioRun, cursor: int) -> str:
    """One line for the event under the cursor."""
    e = run.events[cursor]
    return f"**Event {cursor + 1} of {len(run.events)}** · {e.time_ms:.1f} ms · {e.detail}"


def explanation(run: ScenarioRun) -> str:
    """Why the run behaved as it did, with the measured numbers next to what the rules promise."""
    s, k = run.settings, run.summary()
    gets = [o for o in run.gets if o.result and o.result.ok]
    w = "1 (ANY)" if s.hint_rule == "cassandra-any" else s.w
    strong = s.hint_rule != "cassandra-any" and s.r + s.w > s.n
    parts = [
        f"**Quorums.** W + R = {w} + {s.r} {'>' if strong else '≤'} N = {s.n}: "
        + (
            "every read quorum overlaps every write quorum, so while no node fails a get sees the last "
            "acknowledged put."
            if strong
            else "a read quorum can miss every replica the write reached: stale "
            "reads are possible even with no failure."
        )
        + f" Measured here: {k['stale_gets']} of {len(gets)} answered gets stale.",
        "**Versions.** The coordinator stamps each write with the client's context plus one on its own counter. "
        "A version whose clock descends from another replaces it; clocks that are concurrent mean neither "
        f"writer saw the other, so both are kept as siblings (here at most {k['max_siblings']} at once), and "
        f"the client reconciles them: {RECONCILE_LABELS[s.reconcile].lower()}.",
        f"**Failures.** {plural(k['lost_messages'], 'message')} {'was' if k['lost_messages'] == 1 else 'were'} "
        f"lost to crashes or the partition; {plural(k['timeouts'], 'request')} timed out after {s.timeout_ms} ms (a failed write is not undone: replicas that took it keep "
        f"it). {'Sloppy quorum' if s.sloppy_quorum else 'Strict quorum (no stand-ins)'}: "
        f"{plural(k['hints_stored'], 'hinted write')}, {k['hints_delivered']} handed off; read repair updated "
        f"{plural(k['repaired'], 'stale replica')}.",
        "**Model.** Failure detection is perfect and instant (Dynamo uses gossip); a message to a crashed node, "
        "or across a partition, is lost, not delayed; the client reaches every node; a crash keeps the data on "
        "disk. Staleness is judged against writes acknowledged before the read began.",
    ]
    return "\n\n".join(parts)


TRY_THIS: tuple[str, ...] = (
    "'Stale read with R=1': predict which gets are stale, then raise R to 3 (or W to 3). Why does W + R > N "
    "make every read see the last acknowledged write?",
    "'Network partition, writes on both sides': switch the reconciliation to last write wins. Which item is "
    "lost now? Then switch sloppy quorum off: which side can still write?",
    "'Hinted handoff after a node returns': pick Cassandra's rule, then W = 3. Why does the put fail now, and "
    "what does consistency level ANY change?",
    "Interview: does a sloppy quorum keep the W + R > N guarantee? What does a failed write with W = 3 leave "
    "behind, and who cleans it up (read repair, hinted handoff, anti-entropy)?",
)


TIMELINE_HELP = (
    "One step per line: a time in ms (absolute, or +d after the line before it finished), then "
    "`put KEY VALUE`, `get KEY`, `crash B`, `recover B`, `partition A,B | C,D` (the nodes not named form one "
    "more side, so `partition A,B` cuts A and B off from the rest), `heal`. Options: `via NODE` "
    "(coordinator), `ctx g1` (the context of get g1), `as NAME`. Values: a word, a set `{milk,eggs}`, or "
    "`+eggs` / `-milk` with `ctx` (the cart that get read, changed). Requests are named p1, p2… and g1, g2…; "
    "`#` starts a comment."
)


def repair_rows(run: ScenarioRun, label: str) -> list[dict[str, object]]:
    """Read repair of one get: what each target answered, whether it was sent the merged versions, and what
    it holds once the repair messages have arrived."""
    rec = run.op(label)
    if rec.repair is None:
        return []
    sent = [m for m in run.messages if m.kind == "repair" and m.op == label]
    state = run.state_at(max((m.outcome_seq for m in sent), default=rec.repair.seq))
    owners = run.owners(rec.key)
    return [
        {
            "node": x,
            "role": "owner" if x in owners else "stand-in",
            "answered": " | ".join(v.describe() for v in vs) or "not found",
            "read repair": "sent" if x in rec.repair.repaired else "—",
            "holds after": " | ".join(v.describe() for v in state.stores[x].get(rec.key, ())) or "—",
        }
        for x, vs in rec.repair.responses
    ]


# -- the page: title, parameters, presets, headlines, captions, references --------------------------------

TITLE = "Key-value store: a cluster you can break"
IDEA = (
    "A Dynamo-style store keeps each key on N nodes of a hash ring and answers after W acks or R replies. "
    "Here you write and read keys in virtual time, crash replicas and cut the network, and watch every message: "
    "stale reads, conflicting versions with their vector clocks, read repair, and writes parked on a stand-in "
    "with a hint until their owner comes back."
)
DEFAULT_PRESET = "Dynamo default, healthy"
_D = ClusterSettings()
PARAMS = (
    Param("nodes", _D.nodes, lo=MIN_NODES, hi=MAX_NODES, label="Nodes", help="Nodes A, B, C… on the ring."),
    Param(
        "n",
        _D.n,
        lo=1,
        hi=MAX_NODES,
        label="N: replicas per key",
        help="How many nodes own a copy of each key.",
    ),
    Param("r", _D.r, lo=1, hi=MAX_NODES, label="R: read quorum", help="A get answers after R replies."),
    Param(
        "w",
        _D.w,
        lo=1,
        hi=MAX_NODES,
        label="W: write quorum",
        help="A put is acknowledged after W acks (ANY: after one, hinted or not).",
    ),
    Param(
        "latency",
        _D.latency,
        options=LATENCY_CHOICES,
        labels={c: latency_label(c) for c in LATENCY_CHOICES},
        label="Message latency",
        help="Each message takes one random draw; a node's message to itself takes 0 ms.",
    ),
    Param(
        "timeout_ms",
        _D.timeout_ms,
        options=TIMEOUT_CHOICES,
        kind="select_slider",
        label="Timeout (ms)",
        help="A request unanswered this long after the client sent it fails.",
    ),
    Param(
        "sloppy_quorum",
        _D.sloppy_quorum,
        label="Sloppy quorum",
        help="On: writes and reads go to the first N reachable nodes, stand-ins keep hints. "
        "Off: only reachable owners; too few and the request is refused.",
    ),
    Param(
        "hint_rule",
        _D.hint_rule,
        options=HINT_CHOICES,
        labels=HINT_LABELS,
        kind="radio",
        label="Hinted writes",
        help="Does a stand-in's ack count toward W?",
    ),
    Param(
        "reconcile",
        _D.reconcile,
        options=tuple(RECONCILE_LABELS),
        labels=RECONCILE_LABELS,
        kind="radio",
        label="Siblings reconciled by",
        help="How the client turns siblings into one value.",
    ),
    Param(
        "seed",
        _D.seed,
        lo=0,
        hi=2**31 - 1,
        kind="number",
        label="Seed",
        help="Same seed, same message delays.",
    ),
    Param(
        "timeline",
        PRESETS[DEFAULT_PRESET].timeline,
        max_len=2000,
        kind="text_area",
        label="One step per line",
    ),
)
PAGE_PRESETS = tuple(Preset(name, s.description, s.params()) for name, s in PRESETS.items())
SETTINGS_FIELDS = tuple(ClusterSettings.__dataclass_fields__)


def settings_from(values: Mapping[str, object]) -> ClusterSettings:
    """The engine's frozen settings from the page's parameter values."""
    return ClusterSettings(**{f: values[f] for f in SETTINGS_FIELDS})


def headlines(run: ScenarioRun) -> tuple[Headline, ...]:
    k = run.summary()
    return (
        Headline(
            "Requests failed",
            f"{k['failed']} of {k['requests']}",
            help="Timed out or refused as unavailable.",
        ),
        Headline(
            "Stale gets", str(k["stale_gets"]), help="Gets that missed a put acknowledged before they began."
        ),
        Headline(
            "Most siblings in a get", str(k["max_siblings"]), help="Concurrent versions returned together."
        ),
        Headline(
            "Hints delivered",
            f"{k['hints_delivered']} of {k['hints_stored']}",
            help="Hinted writes handed off.",
        ),
        Headline(
            "Replicas read-repaired", str(k["repaired"]), help="Stale replicas a get's coordinator updated."
        ),
        Headline(
            "Messages lost", str(k["lost_messages"]), help="Sent to a crashed node or across the partition."
        ),
    )


CAPTIONS = MappingProxyType(
    {
        "sequence": "Time runs down: each arrow is a message, coloured by kind; dashed grey with a red cross is a "
        "lost message. Notice where the coordinator stops waiting (W acks, R replies) and what arrives late.",
        "ring": "Each key (★) and its N owners clockwise; a crashed node is grey. A stand-in is the next node on.",
        "hints": "A stand-in keeps a write for an owner it could not reach, and hands it off once it can.",
    }
)
REFERENCES = (
    Reference(
        "DeCandia et al. 2007, Dynamo",
        "https://www.allthingsdistributed.com/files/amazon-dynamo-sosp2007.pdf",
    ),
    Reference(
        "Lamport 1978, Time, clocks and the ordering of events",
        "https://lamport.azurewebsites.net/pubs/time-clocks.pdf",
    ),
    Reference(
        "Apache Cassandra: hinted handoff",
        "https://cassandra.apache.org/doc/latest/cassandra/managing/operating/hints.html",
    ),
    Reference(
        "Riak: vector clocks and siblings",
        "https://docs.riak.com/riak/kv/latest/learn/concepts/causal-context/",
    ),
)


MAX_ERRORS_SHOWN = 5


def error_lines(errors) -> list[str]:
    """The timeline's errors for the page: identical messages grouped ("… and 290 more lines like this"),
    at most MAX_ERRORS_SHOWN groups, then one line for the rest. Each line quotes the timeline as text."""
    groups: dict[str, list] = {}
    for e in errors:
        groups.setdefault(e.message, []).append(e)
    out = []
    for message, same in list(groups.items())[:MAX_ERRORS_SHOWN]:
        first = same[0]
        more = f" — and {plural(len(same) - 1, 'more line')} like this" if len(same) > 1 else ""
        out.append(f"Line {first.line}: {md_escape(message)} (“{md_escape(first.text.strip(), 80)}”){more}")
    if len(groups) > MAX_ERRORS_SHOWN:
        rest = sum(len(v) for v in list(groups.values())[MAX_ERRORS_SHOWN:])
        out.append(f"… and {plural(rest, 'more line')} with other mistakes.")
    return out
