"""Fallbacks: what a call site gives its caller when the dependency cannot answer (an error, a timeout, or a
breaker that rejects the call).

Each fallback is a small frozen description; ``serve(now, cache)`` says what the caller gets. ``cache`` is the
call site's :class:`LastGoodCache`, which it updates with every good response, so "the last good answer"
knows the value and its age. The four kinds, in the registry ``FALLBACKS``:

- ``fail_fast``: an error, at once (no fallback: the caller decides);
- ``default``: a fixed default value (an empty list, "recommended for everyone");
- ``last_good``: the last good response and how old it is (stale but specific), or an error if there is none
  yet or it is older than ``max_age``;
- ``degraded``: a call to an alternative service, slower or less specific, that answers after ``latency``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sdcore import checks
from sdcore.checks import number_text

__all__ = [
    "FALLBACKS",
    "Degraded",
    "DefaultValue",
    "FailFast",
    "FallbackKind",
    "FallbackResult",
    "LastGood",
    "LastGoodCache",
]


@dataclass(frozen=True)
class FallbackResult:
    """What the caller got: ``ok`` False is an error; ``age`` is how stale a cached answer is (else None);
    ``latency`` the extra time the fallback itself took."""

    ok: bool
    value: Any
    source: str
    age: float | None = None
    latency: float = 0.0


class LastGoodCache:
    """The call site's last good response and when it arrived."""

    __slots__ = ("value", "stored_at")

    def __init__(self) -> None:
        self.value: Any = None
        self.stored_at: float | None = None

    def store(self, now: float, value: Any) -> None:
        self.value, self.stored_at = value, now

    def age(self, now: float) -> float | None:
        return None if self.stored_at is None else now - self.stored_at


@dataclass(frozen=True)
class FailFast:
    error: str = "dependency unavailable"

    def serve(self, now: float, cache: LastGoodCache) -> FallbackResult:
        return FallbackResult(False, self.error, "error")


@dataclass(frozen=True)
class DefaultValue:
    value: Any = "default"

    def serve(self, now: float, cache: LastGoodCache) -> FallbackResult:
        return FallbackResult(True, self.value, "default")


@dataclass(frozen=True)
class LastGood:
    """The cached last good response; ``max_age`` (seconds, None: any age) bounds how stale it may be."""

    max_age: float | None = None

    def __post_init__(self) -> None:
        if self.max_age is not None:
            checks.number_between("max_age", self.max_age, 0.0, math.inf, unit=" seconds")

    def serve(self, now: float, cache: LastGoodCache) -> FallbackResult:
        age = cache.age(now)
        if age is None:
            return FallbackResult(False, "no good response cached yet", "error")
        if self.max_age is not None and age > self.max_age:
            return FallbackResult(
                False,
                f"cached response too old ({number_text(age)} s > {number_text(self.max_age)} s)",
                "error",
            )
        return FallbackResult(True, cache.value, "last_good", age=age)


@dataclass(frozen=True)
class Degraded:
    """An alternative service (a static list, a simpler model) that answers after ``latency`` seconds."""

    latency: float = 0.05
    value: Any = "degraded"

    def __post_init__(self) -> None:
        checks.number_between("latency", self.latency, 0.0, 60.0, unit=" seconds")

    def serve(self, now: float, cache: LastGoodCache) -> FallbackResult:
        return FallbackResult(True, self.value, "degraded", latency=self.latency)


@dataclass(frozen=True)
class FallbackKind:
    label: str
    description: str
    cls: type


FALLBACKS = MappingProxyType({
    "fail_fast": FallbackKind(
        "Fail fast (an error)", "No fallback: the caller gets an error at once and decides what to show.", FailFast),
    "default": FallbackKind(
        "Default value", "A fixed answer (an empty list, the best-sellers): always there, never specific.",
        DefaultValue),
    "last_good": FallbackKind(
        "Last good response (cached)", "The last good answer and its age: specific but stale, and only if one "
        "was ever cached.", LastGood),
    "degraded": FallbackKind(
        "Degraded alternative service", "A simpler service that answers more slowly or less well, and holds a "
        "worker while it does.", Degraded),
})  # fmt: skip
