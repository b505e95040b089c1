"""Message latency models for the WARS model of a replicated write and read (Bailis et al., VLDB 2012).

Every message between the coordinator and a replica takes a random time, in milliseconds, drawn from one
distribution per *leg*:

- **W**: the write request travelling to a replica (and being applied there),
- **A**: the write acknowledgement coming back,
- **R**: the read request travelling to a replica,
- **S**: the read response coming back.

Distributions are small frozen dataclasses with ``sample(rng, size)``, an analytic ``mean()`` and ``cdf(x)``
and a one-line ``describe()``. ``LATENCY_PRESETS`` holds the production fits published in the paper
(LinkedIn's Voldemort on SSDs and on spinning disks, Yammer's Riak): mixtures of a Pareto body and an
exponential tail.

Sampling uses only the ``numpy.random.Generator`` it is given. A Pareto sample is drawn as
``x_m * exp(E / alpha)`` with ``E`` a standard exponential: the same distribution as numpy's
``x_m * (1 + rng.pareto(alpha))`` (Pareto with support starting at ``x_m``), one transcendental per draw.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from sdcore.checks import number_text
from sdcore.kvstore._checks import positive_finite, real_number

LEG_NAMES: tuple[str, ...] = ("W", "A", "R", "S")
LEG_DESCRIPTIONS = types.MappingProxyType(
    {
        "W": "write request reaches a replica",
        "A": "write acknowledgement returns",
        "R": "read request reaches a replica",
        "S": "read response returns",
    }
)


@runtime_checkable
class LatencyDistribution(Protocol):
    """What a leg's latency model provides (all times in milliseconds)."""

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray: ...

    def mean(self) -> float: ...

    def cdf(self, x: float | np.ndarray) -> np.ndarray: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Exponential:
    """Exponential latency with ``rate`` events per ms: mean ``1 / rate`` ms, support from 0."""

    rate: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", positive_finite("rate", self.rate, " per ms"))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        return rng.standard_exponential(size) / self.rate

    def mean(self) -> float:
        return 1.0 / self.rate

    def cdf(self, x: float | np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, -np.expm1(-self.rate * np.maximum(x, 0.0)), 0.0)

    def describe(self) -> str:
        return f"exponential, rate {number_text(self.rate)}/ms (mean {number_text(self.mean(), 3)} ms)"


@dataclass(frozen=True)
class Pareto:
    """Pareto latency with scale ``x_m`` ms (the minimum) and shape ``alpha``: P(X > x) = (x_m / x)^alpha.

    The mean ``alpha * x_m / (alpha - 1)`` is finite only for ``alpha > 1`` (``mean()`` returns ``inf``
    otherwise); the variance is finite only for ``alpha > 2``.
    """

    x_m: float
    alpha: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "x_m", positive_finite("x_m", self.x_m, " ms"))
        object.__setattr__(self, "alpha", positive_finite("alpha", self.alpha))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        return self._from_standard_exponential(rng.standard_exponential(size))

    def _from_standard_exponential(self, e: np.ndarray) -> np.ndarray:
        # If E ~ Exp(1) then P(x_m * exp(E / alpha) > x) = P(E > alpha * ln(x / x_m)) = (x_m / x)^alpha.
        with np.errstate(over="ignore"):
            return self.x_m * np.exp(e * (1.0 / self.alpha))

    def mean(self) -> float:
        return self.alpha * self.x_m / (self.alpha - 1.0) if self.alpha > 1 else math.inf

    def cdf(self, x: float | np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.where(x > self.x_m, 1.0 - (self.x_m / np.maximum(x, self.x_m)) ** self.alpha, 0.0)

    def describe(self) -> str:
        return f"Pareto, x_m={number_text(self.x_m)} ms, alpha={number_text(self.alpha)} (mean {number_text(self.mean(), 3)} ms)"


@dataclass(frozen=True)
class ParetoExponentialMixture:
    """With probability ``p`` a ``Pareto(x_m, alpha)`` sample, otherwise an ``Exponential(rate)`` one.

    The form of the production latency fits in Bailis et al. (VLDB 2012): a Pareto body for the common
    case and an exponential for the rest.
    """

    p: float
    x_m: float
    alpha: float
    rate: float

    def __post_init__(self) -> None:
        p = real_number("p", self.p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"p, the probability of the Pareto part, must be between 0 and 1 (got p={self.p!r})"
            )
        object.__setattr__(self, "p", p)
        # Building the parts validates x_m, alpha and rate with their own messages.
        object.__setattr__(self, "x_m", self.pareto.x_m)
        object.__setattr__(self, "alpha", self.pareto.alpha)
        object.__setattr__(self, "rate", self.exponential.rate)

    @property
    def pareto(self) -> Pareto:
        return Pareto(self.x_m, self.alpha)

    @property
    def exponential(self) -> Exponential:
        return Exponential(self.rate)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        choose_pareto = rng.random(size) < self.p
        e = rng.standard_exponential(size)
        return np.where(choose_pareto, self.pareto._from_standard_exponential(e), e / self.rate)

    def mean(self) -> float:
        # Skip a part with zero weight: 0 * inf would be nan for a Pareto part with alpha <= 1.
        pareto_part = self.p * self.pareto.mean() if self.p > 0 else 0.0
        exponential_part = (1.0 - self.p) * self.exponential.mean() if self.p < 1 else 0.0
        return pareto_part + exponential_part

    def cdf(self, x: float | np.ndarray) -> np.ndarray:
        return self.p * self.pareto.cdf(x) + (1.0 - self.p) * self.exponential.cdf(x)

    def describe(self) -> str:
        return (
            f"{self.p:.1%} Pareto (x_m={number_text(self.x_m)} ms, alpha={number_text(self.alpha)}), "
            f"else exponential (rate {number_text(self.rate)}/ms); mean {number_text(self.mean(), 3)} ms"
        )


@dataclass(frozen=True)
class LegLatencies:
    """One latency distribution per WARS leg: ``w`` write request, ``a`` write ack, ``r`` read request,
    ``s`` read response. ``LegLatencies.same(d)`` puts ``d`` on all four legs."""

    w: LatencyDistribution
    a: LatencyDistribution
    r: LatencyDistribution
    s: LatencyDistribution

    def __post_init__(self) -> None:
        for leg in LEG_NAMES:
            distribution = getattr(self, leg.lower())
            if not isinstance(distribution, LatencyDistribution):
                raise ValueError(
                    f"the {leg} leg must be a latency distribution such as Exponential(rate=1.0) "
                    f"(got {distribution!r})"
                )

    @classmethod
    def same(cls, distribution: LatencyDistribution) -> LegLatencies:
        """The same distribution on all four legs."""
        return cls(w=distribution, a=distribution, r=distribution, s=distribution)

    @property
    def legs(self) -> tuple[LatencyDistribution, ...]:
        """The four distributions in the order W, A, R, S."""
        return (self.w, self.a, self.r, self.s)

    def describe(self) -> str:
        """One line per leg, e.g. ``"W (write request reaches a replica): exponential, rate 1/ms ..."``."""
        return "\n".join(
            f"{leg} ({LEG_DESCRIPTIONS[leg]}): {distribution.describe()}"
            for leg, distribution in zip(LEG_NAMES, self.legs, strict=True)
        )


@dataclass(frozen=True)
class LatencyPreset:
    """A named latency model for the page's selector: ``name`` to show, ``source`` in one line."""

    key: str
    name: str
    source: str
    latency: LegLatencies

    def describe(self) -> str:
        return self.latency.describe()


_LINKEDIN_SSD = ParetoExponentialMixture(p=0.9122, x_m=0.235, alpha=10.0, rate=1.66)
_YAMMER_OTHER_LEGS = ParetoExponentialMixture(p=0.982, x_m=1.5, alpha=3.8, rate=0.0217)

LATENCY_PRESETS = types.MappingProxyType(
    {
        "linkedin-ssd": LatencyPreset(
            key="linkedin-ssd",
            name="LinkedIn Voldemort, SSD",
            source="Fit to LinkedIn's production Voldemort latencies on SSDs (Bailis et al., PBS, VLDB 2012).",
            latency=LegLatencies.same(_LINKEDIN_SSD),
        ),
        "linkedin-disk": LatencyPreset(
            key="linkedin-disk",
            name="LinkedIn Voldemort, spinning disk",
            source=(
                "LinkedIn's Voldemort with writes to spinning disks: slow, heavy-tailed write leg W, "
                "SSD fit on the other legs (Bailis et al., PBS, VLDB 2012)."
            ),
            latency=LegLatencies(
                w=ParetoExponentialMixture(p=0.38, x_m=1.05, alpha=1.51, rate=0.183),
                a=_LINKEDIN_SSD,
                r=_LINKEDIN_SSD,
                s=_LINKEDIN_SSD,
            ),
        ),
        "yammer": LatencyPreset(
            key="yammer",
            name="Yammer Riak",
            source="Fit to Yammer's production Riak latencies (Bailis et al., PBS, VLDB 2012).",
            latency=LegLatencies(
                w=ParetoExponentialMixture(p=0.939, x_m=3.0, alpha=3.35, rate=0.0028),
                a=_YAMMER_OTHER_LEGS,
                r=_YAMMER_OTHER_LEGS,
                s=_YAMMER_OTHER_LEGS,
            ),
        ),
    }
)


def resolve_latency(latency: LegLatencies | LatencyPreset | LatencyDistribution | str) -> LegLatencies:
    """The four leg distributions for ``latency``: a ``LegLatencies``, a preset (object or key such as
    ``"linkedin-ssd"``) or a single distribution used on all four legs."""
    if isinstance(latency, LegLatencies):
        return latency
    if isinstance(latency, LatencyPreset):
        return latency.latency
    if isinstance(latency, str):
        if latency not in LATENCY_PRESETS:
            raise ValueError(
                f"latency preset must be one of {', '.join(LATENCY_PRESETS)} (got latency={latency!r})"
            )
        return LATENCY_PRESETS[latency].latency
    if isinstance(latency, LatencyDistribution):
        return LegLatencies.same(latency)
    raise ValueError(
        "latency must be a LegLatencies, a latency preset, a preset name or one distribution for all "
        f"four legs (got latency={latency!r})"
    )
