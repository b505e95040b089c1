"""The API gateway page's words: its parameters and presets (the scenarios' rules texts), who sends traffic,
the headline counts, the captions, the request inspector's states in words, the "why" text with the measured
Retry-After, try-this and references.

>>> run = SCENARIOS["Crawler vs users"].run()   # 60 s: a per-address limit halves the crawler
>>> served_line(run)
'**crawler**: 51% served · **users**: 100% served'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from lessons.base import Headline, Param, Preset, Reference, md_escape, md_text, num, plural, preset_table
from sdcore.checks import number_text
from sdcore.ratelimit.gateway import PROFILES, GatewayConfig, GatewayRun, Inspection
from sdcore.ratelimit.limiters import ALGORITHMS
from sdcore.ratelimit.statecost import StateCost

# -- the scenarios: the rules and who sends traffic --------------------------------------------------------

_BASE_LISTS = """deny_list:
  - remote_address: 198.18.0.0/15     # a range seen attacking last week
allow_list:
  - api_key: partner-key              # the partner's integration is never limited
"""

SCENARIOS: Mapping[str, GatewayConfig] = MappingProxyType(
    {
        "API gateway with per-endpoint rules": GatewayConfig(
            "domain: api_gateway\n"
            + _BASE_LISTS
            + """descriptors:
  - key: remote_address                # everyone: 10 requests a second per address
    rate_limit: {unit: second, requests_per_unit: 10, algorithm: token_bucket}
  - key: endpoint
    value: /login
    descriptors:
      - key: user_id                   # 20 logins a minute per user
        rate_limit: {unit: minute, requests_per_unit: 20, algorithm: sliding_window_counter}
  - key: endpoint
    value: /search
    descriptors:
      - key: remote_address            # search is expensive: 5 a second per address
        rate_limit: {unit: second, requests_per_unit: 5, algorithm: gcra}
""",
            ("users", "crawler", "abuser", "partner", "attacker"),
        ),
        "Crawler vs users": GatewayConfig(
            "domain: api_gateway\ndescriptors:\n  - key: remote_address\n"
            "    rate_limit: {unit: second, requests_per_unit: 6, algorithm: sliding_window_counter}\n",
            ("users", "crawler"),
        ),
        "Partner on the allow-list": GatewayConfig(
            "domain: api_gateway\n"
            + _BASE_LISTS
            + """descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 8, algorithm: token_bucket}
""",
            ("users", "crawler", "partner"),
        ),
        "Deny-listed attacker": GatewayConfig(
            "domain: api_gateway\n"
            + _BASE_LISTS
            + """descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 5, algorithm: fixed_window}
""",
            ("users", "abuser", "attacker"),
        ),
    }
)
_DESCRIPTIONS = {
    "API gateway with per-endpoint rules": "Per address, per user on /login, and a tighter cap on the expensive "
    "/search: every matching rule applies, so the abuser hammering /login is contained while users browse "
    "freely.",
    "Crawler vs users": "A search crawler sends 12 requests a second from one address; a per-address limit of 6 "
    "a second halves it and leaves the users untouched.",
    "Partner on the allow-list": "The partner sends 25 requests a second, far above the public limit; its API "
    "key is on the allow-list, so it is never limited while the same limit stops the crawler.",
    "Deny-listed attacker": "An address range on the deny-list gets 403 on every request, before any counter "
    "is touched; the abuser, not on the list, is only slowed to the per-address limit.",
}
PRESETS = preset_table(
    tuple(
        Preset(name, _DESCRIPTIONS[name], {"rules": s.rules, "clients": list(s.clients)})
        for name, s in SCENARIOS.items()
    )
)
DEFAULT_PRESET = "API gateway with per-endpoint rules"

# -- the page: title, parameters ---------------------------------------------------------------------------

TITLE = "API gateway: throttle rules"
IDEA = (
    "A limiter in front of an API applies rules to many clients at once: per address, per user, per "
    "endpoint, with a deny-list for known attackers and an allow-list for partners. What each client "
    "sees is a status code and headers that say how long to wait."
)
MAX_REQUEST = 200_000  # the largest trace gateway_traffic makes, less one
PARAMS = (
    Param("rules", SCENARIOS[DEFAULT_PRESET].rules, max_len=5000, kind="text_area", label="Rules (YAML or JSON)",
          help="Envoy-style descriptors: a key (remote_address, user_id, api_key, endpoint, method), an optional "
          "value, a rate_limit {unit, requests_per_unit, algorithm} and nested descriptors. deny_list and "
          "allow_list take 'attribute: value' entries."),
    Param("clients", list(SCENARIOS[DEFAULT_PRESET].clients), options=tuple(PROFILES), multi=True,
          label="Who sends traffic", help="Client profiles, each a seeded Poisson stream."),
    Param("duration", 60, lo=5, hi=600, label="Seconds of traffic", help="How long the run lasts."),
    Param("seed", 0, lo=0, hi=2**31 - 1, kind="number", label="Seed", help="Same seed, same traffic."),
    Param("ietf", False, label="Also send the IETF draft's RateLimit headers",
          help="RateLimit-Policy and RateLimit, as in draft-ietf-httpapi-ratelimit-headers."),
    Param("request", 0, lo=0, hi=MAX_REQUEST, defines_experiment=False, label="Request number",
          help="Pick one request: its rules' state before and after, and the response the client gets."),
)  # fmt: skip


def settings_from(values: Mapping[str, Any], rules: str) -> GatewayConfig:
    """The engine's config from the page's values, with ``rules``: the last rules text that parsed."""
    return GatewayConfig(rules, tuple(values["clients"]), values["duration"], values["seed"])


def clients_caption(names: Sequence[str]) -> str:
    """What each chosen profile sends: ``crawler: 1× 12/s → /search``."""
    p = [PROFILES[n] for n in names]
    return " · ".join(f"{c.name}: {c.count}× {number_text(c.rate)}/s → {', '.join(c.endpoints)}" for c in p)


STALE_RULES = "The results below use the last rules that were valid; fix the lines above to apply your edit."
NO_CLIENTS = "Choose at least one client profile to send traffic."

# -- the run -----------------------------------------------------------------------------------------------


def status_counts(run: GatewayRun) -> dict[int, int]:
    """Requests per status: 200 served, 429 limited, 403 denied."""
    statuses = np.array([d.status for d in run.decisions])
    return {s: int((statuses == s).sum()) for s in (200, 429, 403)}


def headlines(run: GatewayRun, config: GatewayConfig | None = None) -> tuple[Headline, ...]:
    """Requests sent (from whom, for how long), then how many were served, limited and denied: each a count, with
    its share of the requests beside it (one kind of number per row)."""
    counts, n = status_counts(run), len(run.requests)
    sent = f"{num(config.duration)} s from {', '.join(config.clients)}." if config else None
    return (
        Headline("Requests", f"{n:,}", help=sent),
        *(
            Headline(
                label,
                f"{counts[status]:,}",
                f"{counts[status] / n:.1%} of requests" if n else None,
                delta_color="off",
            )  # fmt: skip
            for label, status in (("Served (200)", 200), ("Limited (429)", 429), ("Denied (403)", 403))
        ),
    )


def served_line(run: GatewayRun) -> str:
    """Each client's share served, in bold names: ``**users**: 100% served · **abuser**: 13% served``."""
    return " · ".join(f"**{r['who']}**: {r['share served']:.0%} served" for r in run.by_client())


def limited_rows(run: GatewayRun) -> list[dict[str, Any]]:
    """Which rule (or list) turned whom away; one row saying so when nothing was."""
    return run.limited_by() or [
        {"client": "-", "decided by": "nothing was limited", "requests turned away": 0}
    ]


def explain_state(algorithm: str, state: tuple | None) -> str:
    """A stored state in words, for the request inspector (the store keeps integers in µs and µ-tokens)."""
    if state is None:
        return "nothing stored yet (first request of this client under this rule)"

    def s(us: int) -> str:
        return f"{us / 1e6:.3f} s"

    match algorithm:
        case "token_bucket":
            tokens, carry, last = state
            return f"{(tokens * 1_000_000 + carry) / 1e12:.3f} tokens, as of {s(last)}"
        case "leaking_bucket":
            last, dep = state
            return "queue empty" if dep is None else f"last queued request leaves at {s(dep)}"
        case "fixed_window":
            last, count = state
            return f"{count} counted in the window that holds {s(last)}"
        case "sliding_log":
            last, log = state
            tail = ", ".join(s(t) for t in log[-3:])
            return f"{len(log)} timestamps in the log" + (f" (latest: {tail})" if log else "")
        case "sliding_window_counter":
            last, k, cur, prev = state
            return f"window #{k}: {cur} this window, {prev} in the previous one"
        case "gcra":
            last, tat = state
            return f"theoretical arrival time {s(tat)} (seen {s(last)})"
    return repr(state)


def inspector_title(ins: Inspection) -> str:
    r = ins.request
    return f"**Request {ins.index}** at t = {r.time:.3f} s from **{r.client}**"


def decided_line(ins: Inspection) -> str:
    return f"Decided by: **{ins.decision.decided_by}**"


def inspector_rows(ins: Inspection) -> list[dict[str, str]]:
    """Each matching rule's counter around the request: its state before and after, and its verdict."""
    return [
        {
            "rule": s.rule,
            "counter": s.bucket,
            "algorithm": ALGORITHMS.get(s.algorithm, s.algorithm),
            "state before": explain_state(s.algorithm, s.before),
            "state after": explain_state(s.algorithm, s.after),
            "verdict": "admitted" if c.decision.allowed else "over the limit",
        }
        for s, c in zip(ins.states, ins.decision.checks, strict=False)
    ]


def decision_rows(run: GatewayRun) -> list[dict[str, Any]]:
    """Every request and its decision (for a CSV)."""
    return [
        {
            "time": r.time,
            "client": r.client,
            **r.attributes,
            "status": d.status,
            "decided_by": d.decided_by,
            "retry_after": d.retry_after,
        }
        for r, d in zip(run.requests, run.decisions, strict=True)
    ]


COST_LIMITS = (10, 100, 1_000, 10_000, 70_000)
COST_LABELS = MappingProxyType(dict(ALGORITHMS) | {"gcra": "GCRA"})


def cost_caption(costs: Sequence[StateCost]) -> str:
    """The measured memory of a sliding log at 70,000 a day, against a counter's two numbers."""
    log = next(c for c in costs if c.algorithm == "sliding_log" and c.limit == 70_000)
    return (
        f"Measured on the stored state: a sliding log at 70,000 a day holds {log.numbers:,} timestamps "
        f"({log.python_bytes / 1e6:.1f} MB in Python) per busy client; a counter or GCRA holds two numbers."
    )


CAPTIONS = MappingProxyType(
    {
        "by_endpoint": "The same requests by endpoint: per-endpoint rules protect the expensive ones.",
        "inspector": "Every matching rule counts the request; a rule that admits it still spends a token or a "
        "slot.",
    }
)


def _names(names: list[str]) -> str:
    """Client names in bold, as the served line writes them: ``**crawler** and **abuser**``."""
    bold = [f"**{n}**" for n in names]
    return bold[0] if len(bold) == 1 else f"{', '.join(bold[:-1])} and {bold[-1]}"


def _turned_away(run: GatewayRun) -> tuple[list[str], list[str], list[str]]:
    """The clients some of whose requests were limited (429), those denied (403), and those served in full."""
    rows = run.by_client()
    return (
        [r["who"] for r in rows if r["429"]],
        [r["who"] for r in rows if r["403"]],
        [r["who"] for r in rows if r["200"] == r["sent"]],
    )


def client_caption(run: GatewayRun) -> str:
    """The per-client chart's caption, naming the clients this run limited and spared (a preset without an
    abuser has none to name)."""
    limited, denied, spared = _turned_away(run)
    if not limited and not denied:
        return "Each client's requests by outcome: no rule turned anyone away, so every request was served."
    parts = [
        f"the rules slow {_names(limited)}" if limited else "",
        f"deny {_names(denied)}" if denied else "",
    ]
    text = f"Each client's requests by outcome: {' and '.join(p for p in parts if p)}"
    return text + (f", and serve {_names(spared)} in full." if spared else ".")


def timeline_caption(run: GatewayRun) -> str:
    """The timeline's caption: whose orange (429) band starts when its counter fills, whose bars stay green."""
    limited, denied, spared = _turned_away(run)
    if not limited:
        text = "Requests per second over time, per client: no request was limited (429)"
        return text + (
            f"; {_names(denied)} {'is' if len(denied) == 1 else 'are'} denied (403) throughout."
            if denied
            else "."
        )
    band = (
        "band starts as soon as its counter fills"
        if len(limited) == 1
        else "bands start as their counters fill"
    )
    text = f"Requests per second over time, per client: the orange (429) {band} for {_names(limited)}"
    return text + (f", while the bars of {_names(spared)} stay green." if spared else ".")


def explanation(run: GatewayRun) -> str:
    """Why: how the rules are evaluated, and Retry-After with the run's measured waits."""
    retry = np.array([d.retry_after for d in run.decisions if d.retry_after is not None])
    median = float(np.median(retry)) if len(retry) else 0.0
    return (
        "Rules are evaluated like Envoy's rate-limit service: the deny-list first (403, no counter touched), "
        "then the allow-list (never limited; deny wins when both match), then **every** matching descriptor "
        "counts the request and any one of them can reject it (429). Counters are per distinct value — per "
        "address, per user — so rotating user ids does not help an abuser caught by a per-address rule.\n\n"
        "Retry-After is never optimistic: after a 429 the gateway tries every matching rule ahead of time on "
        "a copy of its state and reports the first instant all would admit, rounded up to whole seconds. Here "
        f"{len(retry):,} limited responses; the exact wait had a median of {median:.2f} s, sent as "
        f"Retry-After: {math.ceil(median)}. GCRA keeps one timestamp per client and makes the token bucket's "
        "decisions."
    )


TRY_THIS: tuple[str, ...] = (
    "Predict: the abuser rotates user ids on /login. Which rule stops it? Delete the remote_address rule and see.",
    "Move the partner's key off the allow-list: how much of its traffic survives the public limit?",
    "Switch a rule to sliding_log and compare its memory per client above with the counter's.",
    "Interview question: where would you put this limiter — in each service, in the gateway, or both — and why?",
)
REFERENCES = (
    Reference("Envoy rate limit service config", "https://github.com/envoyproxy/ratelimit#configuration"),
    Reference(
        "IETF RateLimit headers draft",
        "https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/",
    ),
    Reference("redis-cell (GCRA)", "https://github.com/brandur/redis-cell"),
    Reference("Stripe: scaling your API with rate limiters", "https://stripe.com/blog/rate-limiters"),
)


def coverage_warnings(coverage, carried: Sequence[str]) -> list[str]:
    """A sentence for each rule that cannot have limited anyone in this run: a key no client's requests
    carry (probably a typo), or a rule that never matched. Shown as warnings beside the rules."""
    keys = ", ".join(md_text(k, 40) for k in sorted(carried)) or "none"
    out = []
    for c in coverage:
        where = f"the rule on line {c.rule.line} ({md_escape(c.rule.name, 120)})"
        if c.missing_keys:
            missing = ", ".join(md_text(k, 40) for k in c.missing_keys)
            out.append(
                f"No client's requests carry {missing}, so {where} never applies: a typo? The requests carry {keys}."
            )
        elif c.matched == 0:
            out.append(f"{where.capitalize()} matched no request in this run, so it limited no one.")
    return out


def request_clamped(asked: int, count: int) -> str:
    return (
        f"The link asks for request {num(asked)}, but this run has {plural(count, 'request')}: showing the last "
        "one."
    )
