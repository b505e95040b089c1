"""Checks shared by every placement scheme: clear sentences for a student, never a bare KeyError."""

from __future__ import annotations

import math
import re

NODE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,24}$")  # what a share link can carry (see experiment.Change)
NODE_NAME_RULE = "letters, digits, '_', '.' and '-', at most 24 characters"


def check_node_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a node name must be a non-empty string (got {name!r})")
    return name


def check_weight(name: str, weight: object) -> float:
    try:
        w = float(weight)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"the weight of node {name!r} must be a number (got {weight!r})") from None
    if not math.isfinite(w) or w <= 0:
        raise ValueError(f"the weight of node {name!r} must be greater than 0 (got {weight!r})")
    return w


def check_new_node(name: object, existing) -> str:
    name = check_node_name(name)
    if not NODE_NAME.match(name):
        shown = name if len(name) <= 40 else name[:39] + "…"
        raise ValueError(f"a node name may use {NODE_NAME_RULE} (got {shown!r})")
    if name in existing:
        raise ValueError(f"node {name!r} is already in the cluster; node names must be unique")
    return name


def check_known_node(name: object, existing) -> str:
    if name not in existing:
        known = ", ".join(map(str, existing)) or "none"
        raise ValueError(f"there is no node {name!r} to remove (nodes: {known})")
    return name  # type: ignore[return-value]


def check_not_empty(nodes) -> None:
    if len(nodes) == 0:
        raise ValueError("the cluster has no nodes, so no key can be placed; add a node first")
