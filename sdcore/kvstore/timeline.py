"""A cluster scenario's timeline: client requests and faults as text a person edits, parsed into steps.

A timeline is text a person edits, one step per line (``#`` starts a comment)::

    0     put cart {milk}               # p1: the first put (labels p1, p2, … and g1, g2, … by order)
    +10   get cart                      # g1: 10 ms after the line before it finished
    +0    put cart +eggs ctx g1 via C   # add eggs to what g1 read, with g1's vector clock, coordinator C
    100   partition A,B | C,D,E         # sides split by '|'; the nodes not named form one more side,
                                        # so "partition A,B" (no '|') cuts A and B off from the rest
    150   crash B
    200   recover B
    220   heal
    300   get cart via A as final       # name a request yourself with "as"

The time is absolute (ms) or ``+d``: d ms after the line before it finished (a request finishes when its
client has the answer or gave up; a fault when it happens). Lines run in the order written; a line whose
absolute time has already passed runs at once, with a note. Values: a word (``milk``), a set (``{milk,eggs}``,
``{}``), or ``+item`` / ``-item``: the value the ``ctx`` get returned (reconciled) with the item added or
removed — the shopping cart of the Dynamo paper. A line with a mistake is skipped and reported with its
line number; the rest still runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sdcore.checks import number_text
from sdcore.kvstore.cluster import union_merge

ACTIONS: tuple[str, ...] = ("put", "get", "crash", "recover", "partition", "heal")
NODE_NAMES: tuple[str, ...] = tuple("ABCDEFGHI")
MAX_LINES = 60
MAX_TIME_MS = 1_000_000.0
_TIME = re.compile(r"^(\+)?(\d+(?:\.\d+)?)$")
_NAME = re.compile(r"^[A-Za-z0-9_:.\-]+$")


@dataclass(frozen=True)
class Step:
    """One line of a timeline. ``at_ms`` is absolute, or after the previous line when ``relative``."""

    line: int
    at_ms: float
    relative: bool
    action: str
    key: str = ""
    value: str = ""
    via: str = ""
    ctx: str = ""
    label: str = ""
    nodes: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class TimelineError:
    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message} (“{self.text.strip()}”)"


@dataclass(frozen=True)
class Timeline:
    steps: tuple[Step, ...]
    errors: tuple[TimelineError, ...]


def parse_timeline(text: str) -> Timeline:
    """Every well-formed line as a ``Step``; every other line as a ``TimelineError`` with its number."""
    if not isinstance(text, str):
        raise ValueError(f"a timeline is text, one step per line (got {type(text).__name__})")
    steps: list[Step] = []
    errors: list[TimelineError] = []
    counts = {"put": 0, "get": 0}
    labels: dict[str, str] = {}  # label -> kind
    for number, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        if len(steps) + len(errors) >= MAX_LINES:  # good or bad, only the first MAX_LINES lines are read
            errors.append(
                TimelineError(
                    number, raw[:200], f"a timeline holds at most {MAX_LINES} steps; the rest is ignored"
                )
            )
            break
        try:
            step = _parse_line(number, body, counts, labels)
        except ValueError as e:
            errors.append(TimelineError(number, raw[:200], str(e)))
            continue
        steps.append(step)
    return Timeline(tuple(steps), tuple(errors))


def _parse_line(number: int, body: str, counts: dict[str, int], labels: dict[str, str]) -> Step:
    tokens = body.split()
    m = _TIME.match(tokens[0])
    if not m:
        raise ValueError(f"start with a time in ms, such as 120 or +10 (got {tokens[0]!r})")
    at = float(m.group(2))
    if at > MAX_TIME_MS:
        raise ValueError(f"times go up to {MAX_TIME_MS:,.0f} ms (got {number_text(at)})")
    if len(tokens) < 2:
        raise ValueError(f"say what happens after the time: one of {', '.join(ACTIONS)}")
    action, args = tokens[1].lower(), tokens[2:]
    base = {"line": number, "at_ms": at, "relative": bool(m.group(1)), "action": action}
    if action in ("crash", "recover"):
        if len(args) != 1:
            raise ValueError(f"{action} takes one node, e.g. '{action} B'")
        return Step(**base, nodes=(_node(args[0]),))
    if action == "heal":
        if args:
            raise ValueError("heal takes nothing after it")
        return Step(**base)
    if action == "partition":
        groups = tuple(
            tuple(_node(x) for x in side.split(",") if x.strip()) for side in " ".join(args).split("|")
        )
        if not groups or not all(groups):
            raise ValueError(
                "name the nodes on each side: 'partition A,B | C,D' (unnamed nodes form one more side)"
            )
        named = [x for g in groups for x in g]
        if len(set(named)) != len(named):
            raise ValueError("a node is on two sides of the partition")
        return Step(**base, groups=groups, nodes=tuple(named))
    if action not in ("put", "get"):
        raise ValueError(f"unknown action {tokens[1]!r}; use one of {', '.join(ACTIONS)}")
    need = 2 if action == "put" else 1
    if len(args) < need or args[need - 1] in ("via", "ctx", "as"):
        raise ValueError(
            "put takes a key and a value: 'put cart {milk}'"
            if action == "put"
            else "get takes a key: 'get cart'"
        )
    key, value, options = args[0], args[1] if action == "put" else "", args[need:]
    if not _NAME.match(key):
        raise ValueError(f"a key is letters, digits and _:.- (got {key!r})")
    opts: dict[str, str] = {}
    if len(options) % 2:
        raise ValueError(f"options come in pairs: via NODE, ctx GET, as LABEL (got {' '.join(options)!r})")
    for name, arg in zip(options[::2], options[1::2], strict=True):
        if name not in ("via", "ctx", "as") or (name == "ctx" and action == "get"):
            allowed = "via, ctx or as" if action == "put" else "via or as"
            raise ValueError(f"unknown option {name!r}; a {action} takes {allowed}")
        if name in opts:
            raise ValueError(f"{name} is given twice")
        opts[name] = arg
    gets = [name for name, kind in labels.items() if kind == "get"]  # in order of appearance
    _check_value(value, opts.get("ctx", ""), gets[-1] if gets else None)
    ctx = opts.get("ctx", "")
    if ctx and labels.get(ctx) != "get":
        hint = f"the latest get before this line is {gets[-1]}" if gets else "no get comes before this line"
        raise ValueError(f"ctx {ctx!r} must name a get on an earlier line ({hint})")
    counts[action] += 1
    label = opts.get("as") or f"{action[0]}{counts[action]}"
    if not _NAME.match(label):
        raise ValueError(f"a label is letters, digits and _:.- (got {label!r})")
    if label in labels:
        raise ValueError(f"the label {label!r} is used twice")
    labels[label] = action
    return Step(
        **base, key=key, value=value, via=_node(opts["via"]) if "via" in opts else "", ctx=ctx, label=label
    )


def _node(name: str) -> str:
    name = name.strip()
    if name.upper() not in NODE_NAMES:
        raise ValueError(f"nodes are named A to I (got {name!r})")
    return name.upper()


def _check_value(value: str, ctx: str, latest_get: str | None) -> None:
    if value.startswith(("+", "-")):
        if len(value) < 2:
            raise ValueError(f"say which item {value!r} adds or removes, e.g. +eggs")
        if not ctx and latest_get:
            raise ValueError(
                f"{value!r} changes the value a get read: add 'ctx {latest_get}' (the latest get before this line)"
            )
        if not ctx:
            raise ValueError(
                f"{value!r} changes the value a get read, and no get comes before this line: add one"
            )
    elif value.startswith("{") != value.endswith("}"):
        raise ValueError(f"a set is written {{milk,eggs}} without spaces (got {value!r})")


def resolve_value(value: str, base: object = None) -> object:
    """A timeline value: ``{a,b}`` is a frozenset, ``+x``/``-x`` change ``base`` (a set or a single value)."""
    if value.startswith("+"):
        return union_merge([base]) | {value[1:]}
    if value.startswith("-"):
        return union_merge([base]) - {value[1:]}
    if value.startswith("{"):
        return frozenset(x.strip() for x in value[1:-1].split(",") if x.strip())
    return value


# -- presets --------------------------------------------------------------------------------------------
