"""Latency models: parameters, sampling against analytic moments and CDFs, and the paper's presets.

The analytic formulas here are written out independently of ``sdcore.kvstore.latency``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdcore.kvstore import (
    LATENCY_PRESETS,
    Exponential,
    LegLatencies,
    Pareto,
    ParetoExponentialMixture,
    resolve_latency,
)

# (p, x_m, alpha, rate) as published in Bailis et al., VLDB 2012 (and as given in the spec).
SSD = (0.9122, 0.235, 10.0, 1.66)
DISK_W = (0.38, 1.05, 1.51, 0.183)
YAMMER_W = (0.939, 3.0, 3.35, 0.0028)
YAMMER_ARS = (0.982, 1.5, 3.8, 0.0217)
PRESET_LEGS = {
    "linkedin-ssd": (SSD, SSD, SSD, SSD),
    "linkedin-disk": (DISK_W, SSD, SSD, SSD),
    "yammer": (YAMMER_W, YAMMER_ARS, YAMMER_ARS, YAMMER_ARS),
}
ALL_FITS = {"ssd": SSD, "disk-w": DISK_W, "yammer-w": YAMMER_W, "yammer-ars": YAMMER_ARS}


def mixture_mean(p, x_m, alpha, rate):
    return p * alpha * x_m / (alpha - 1) + (1 - p) / rate


def mixture_second_moment(p, x_m, alpha, rate):
    """E[X^2]: Pareto alpha * x_m^2 / (alpha - 2) (alpha > 2), exponential 2 / rate^2."""
    return p * alpha * x_m**2 / (alpha - 2) + (1 - p) * 2 / rate**2


def mixture_cdf(x, p, x_m, alpha, rate):
    pareto = 1 - (x_m / x) ** alpha if x > x_m else 0.0
    return p * pareto + (1 - p) * (1 - math.exp(-rate * x))


def mixture_truncated_mean(c, p, x_m, alpha, rate):
    """E[min(X, c)] = integral from 0 to c of P(X > x) dx, for c > x_m (finite for every alpha)."""
    pareto = x_m + x_m**alpha * (c ** (1 - alpha) - x_m ** (1 - alpha)) / (1 - alpha)
    exponential = (1 - math.exp(-rate * c)) / rate
    return p * pareto + (1 - p) * exponential


def test_presets_hold_the_published_fits():
    """Each preset's legs carry the paper's (p, x_m, alpha, rate) in the order W, A, R, S, and each
    preset has a display name and a one-line source."""
    assert set(LATENCY_PRESETS) == {"linkedin-ssd", "linkedin-disk", "yammer"}
    for key, legs in PRESET_LEGS.items():
        preset = LATENCY_PRESETS[key]
        assert preset.key == key
        assert preset.name and preset.source and "\n" not in preset.source
        got = [(d.p, d.x_m, d.alpha, d.rate) for d in preset.latency.legs]
        assert got == list(legs)


def test_presets_are_immutable():
    """LATENCY_PRESETS is a read-only mapping of frozen objects: sessions cannot change it."""
    with pytest.raises(TypeError):
        LATENCY_PRESETS["mine"] = LATENCY_PRESETS["yammer"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        LATENCY_PRESETS["yammer"].name = "x"  # type: ignore[misc]


@pytest.mark.parametrize("fit", ["ssd", "yammer-w", "yammer-ars"])
def test_sampled_mean_matches_analytic_mean_finite_variance(fit):
    """For alpha > 2 the variance is finite: the mean of 1,000,000 draws is within 5 standard errors of
    p * alpha * x_m / (alpha - 1) + (1 - p) / rate, and ``mean()`` returns that value."""
    params = ALL_FITS[fit]
    d = ParetoExponentialMixture(*params)
    mean = mixture_mean(*params)
    assert d.mean() == pytest.approx(mean, rel=1e-12)
    x = d.sample(np.random.default_rng(11), 1_000_000)
    se = math.sqrt((mixture_second_moment(*params) - mean**2) / x.size)
    assert abs(x.mean() - mean) <= 5 * se


def test_sampled_mean_of_the_infinite_variance_disk_leg():
    """The LinkedIn disk W leg has alpha = 1.51: a finite mean but an infinite variance, so the sample
    mean converges slowly and has no standard error. Two checks: the mean of min(X, 1000 ms), which has
    a finite variance, within 5 standard errors of its analytic value; and the plain mean within a
    generous 10%."""
    d = ParetoExponentialMixture(*DISK_W)
    assert d.mean() == pytest.approx(mixture_mean(*DISK_W), rel=1e-12)
    x = d.sample(np.random.default_rng(12), 1_000_000)
    capped = np.minimum(x, 1000.0)
    se = capped.std(ddof=1) / math.sqrt(x.size)
    assert abs(capped.mean() - mixture_truncated_mean(1000.0, *DISK_W)) <= 5 * se
    assert x.mean() == pytest.approx(mixture_mean(*DISK_W), rel=0.10)


@pytest.mark.parametrize("fit", list(ALL_FITS))
def test_sampled_cdf_matches_analytic_cdf(fit):
    """Below x_m (only the exponential part), just above it, at 2 x_m and at 1 and 3 exponential means,
    the fraction of 200,000 draws <= x matches the CDF within 5 binomial standard errors, and ``cdf()``
    agrees with the formula."""
    params = ALL_FITS[fit]
    p, x_m, alpha, rate = params
    d = ParetoExponentialMixture(*params)
    x = d.sample(np.random.default_rng(13), 200_000)
    for point in (0.5 * x_m, 1.1 * x_m, 2 * x_m, 1 / rate, 3 / rate):
        expected = mixture_cdf(point, *params)
        assert float(d.cdf(point)) == pytest.approx(expected, rel=1e-12, abs=1e-15)
        sigma = math.sqrt(expected * (1 - expected) / x.size)
        assert abs((x <= point).mean() - expected) <= 5 * sigma
    # the Pareto part never goes below x_m, the exponential part can (down to 0)
    assert x.min() >= 0.0


def test_pareto_and_exponential_alone():
    """Pareto(x_m, alpha) never samples below x_m and its median is x_m * 2^(1/alpha); Exponential(rate)
    has median ln 2 / rate. Both within 5 standard errors of the sample median (delta method)."""
    rng = np.random.default_rng(14)
    n = 200_000
    pareto = Pareto(x_m=2.0, alpha=3.0)
    x = pareto.sample(rng, n)
    assert x.min() >= 2.0
    median = 2.0 * 2 ** (1 / 3)
    density = 3.0 * 2.0**3 / median**4
    assert abs(np.median(x) - median) <= 5 * math.sqrt(0.25 / n) / density
    assert pareto.mean() == pytest.approx(3.0)
    exponential = Exponential(rate=0.5)
    y = exponential.sample(rng, n)
    assert abs(np.median(y) - math.log(2) / 0.5) <= 5 * math.sqrt(0.25 / n) / (0.5 * 0.5)
    assert exponential.mean() == 2.0


def test_means_with_infinite_or_absent_parts():
    """Pareto with alpha <= 1 has an infinite mean; a mixture with p = 0 is just its exponential."""
    assert Pareto(1.0, 0.8).mean() == math.inf
    assert Pareto(1.0, 1.0).mean() == math.inf
    assert ParetoExponentialMixture(p=0.0, x_m=1.0, alpha=0.5, rate=4.0).mean() == 0.25
    assert ParetoExponentialMixture(p=1.0, x_m=1.0, alpha=2.0, rate=4.0).mean() == 2.0
    assert ParetoExponentialMixture(p=0.5, x_m=1.0, alpha=0.5, rate=4.0).mean() == math.inf


def test_describe_is_one_short_line():
    """Each distribution describes itself in one line; a LegLatencies in one line per leg."""
    for d in (Exponential(1.66), Pareto(0.235, 10), ParetoExponentialMixture(*SSD)):
        text = d.describe()
        assert "\n" not in text and 10 < len(text) < 120
    lines = LATENCY_PRESETS["linkedin-disk"].latency.describe().splitlines()
    assert [line[0] for line in lines] == ["W", "A", "R", "S"]
    assert "alpha=1.51" in lines[0] and "alpha=10" in lines[1]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: Exponential(0.0), "rate must be a finite number greater than 0 per ms (got rate=0.0)"),
        (lambda: Exponential(-1), "rate must be a finite number greater than 0 per ms (got rate=-1)"),
        (lambda: Exponential(math.inf), "rate must be a finite number greater than 0 per ms (got rate=inf)"),
        (lambda: Exponential(math.nan), "rate must be a finite number greater than 0 per ms (got rate=nan)"),
        (lambda: Exponential("1"), "rate must be a number (got rate='1')"),
        (lambda: Pareto(0.0, 2.0), "x_m must be a finite number greater than 0 ms (got x_m=0.0)"),
        (lambda: Pareto(1.0, 0.0), "alpha must be a finite number greater than 0 (got alpha=0.0)"),
        (lambda: Pareto(1.0, -2.0), "alpha must be a finite number greater than 0 (got alpha=-2.0)"),
        (
            lambda: ParetoExponentialMixture(1.2, 1.0, 2.0, 1.0),
            "p, the probability of the Pareto part, must be between 0 and 1 (got p=1.2)",
        ),
        (
            lambda: ParetoExponentialMixture(-0.1, 1.0, 2.0, 1.0),
            "p, the probability of the Pareto part, must be between 0 and 1 (got p=-0.1)",
        ),
        (
            lambda: ParetoExponentialMixture(0.5, 1.0, 2.0, 0.0),
            "rate must be a finite number greater than 0 per ms (got rate=0.0)",
        ),
        (
            lambda: LegLatencies(w=Exponential(1.0), a=Exponential(1.0), r=Exponential(1.0), s=3.0),
            "the S leg must be a latency distribution such as Exponential(rate=1.0) (got 3.0)",
        ),
    ],
)
def test_bad_distribution_parameters(make, words):
    """Impossible parameters raise a ValueError naming the parameter, its value and the allowed range."""
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == words


def test_resolve_latency_accepts_presets_keys_and_single_distributions():
    """A preset, its key, a LegLatencies or one distribution (on all four legs) all resolve; anything
    else is a clear error."""
    ssd = LATENCY_PRESETS["linkedin-ssd"]
    assert resolve_latency(ssd) == ssd.latency
    assert resolve_latency("linkedin-ssd") == ssd.latency
    assert resolve_latency(ssd.latency) is ssd.latency
    e = Exponential(2.0)
    assert resolve_latency(e) == LegLatencies(w=e, a=e, r=e, s=e) == LegLatencies.same(e)
    with pytest.raises(ValueError, match=r"linkedin-ssd, linkedin-disk, yammer \(got latency='ssd'\)"):
        resolve_latency("ssd")
    with pytest.raises(ValueError, match=r"got latency=5"):
        resolve_latency(5)  # type: ignore[arg-type]
