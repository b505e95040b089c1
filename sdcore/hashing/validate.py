"""Checks shared by every placement scheme: clear sentences for a student, never a bare KeyError."""

from __future__ import annotations

import math


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
