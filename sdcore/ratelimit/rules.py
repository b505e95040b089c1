"""Throttle rules in the spirit of Lyft's / Envoy's rate-limit service configuration.

A rules text (YAML, or JSON, which YAML reads too) names a domain, a deny-list, an allow-list and a tree of
descriptors. A descriptor matches a request that carries its ``key`` (and, if given, exactly its
``value``); a nested descriptor matches only below a matching parent, so ``endpoint: /login`` then
``user_id`` is "per user on /login". Every matching descriptor that has a ``rate_limit`` applies, each with
its own counter per distinct value (per IP, per user, ...):

.. code-block:: yaml

    domain: api
    deny_list:
      - remote_address: 203.0.113.0/24     # CIDR ranges work for addresses
    allow_list:
      - api_key: partner-key
    descriptors:
      - key: remote_address
        rate_limit: {unit: second, requests_per_unit: 10}
      - key: endpoint
        value: /login
        descriptors:
          - key: user_id
            rate_limit: {unit: minute, requests_per_unit: 5, algorithm: sliding_window_counter}

Evaluation: the deny-list first (always rejected, 403), then the allow-list (never limited; deny wins if
both match), then every matching rule counts the request and it is rejected (429) if any rule's limit is
exceeded. Errors name the line and the field; unknown fields and impossible limits are errors.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import yaml

from sdcore.ratelimit.limiters import LIMIT_ALGORITHMS, Limiter, make_limiter
from sdcore.ratelimit.store import Store
from sdcore.ratelimit.units import MAX_COUNT

UNITS: Mapping[str, int] = MappingProxyType({"second": 1, "minute": 60, "hour": 3600, "day": 86400})
RULE_ALGORITHMS: tuple[str, ...] = LIMIT_ALGORITHMS
ATTRIBUTES: tuple[str, ...] = ("remote_address", "user_id", "api_key", "endpoint", "method")
MAX_RULES_TEXT = 50_000
MAX_RULES = 200
MAX_DEPTH = 8  # nested descriptors: Envoy's own examples go three deep
MAX_DESCRIPTORS = 2_000  # descriptors walked in all, checked while walking (not after expanding)


class RulesError(ValueError):
    """A rules text that cannot be used; ``problems`` lists ``(line, message)`` pairs, lines from 1."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__("\n".join(f"line {line}: {msg}" if line else msg for line, msg in problems))


@dataclass(frozen=True)
class RateLimit:
    requests_per_unit: int
    unit: str
    algorithm: str = "fixed_window"

    @property
    def window(self) -> int:
        """The unit in seconds."""
        return UNITS[self.unit]

    def describe(self) -> str:
        return f"{self.requests_per_unit}/{self.unit} ({self.algorithm.replace('_', ' ')})"

    def make_limiter(self, store: Store | None = None) -> Limiter:
        return make_limiter(self.algorithm, self.requests_per_unit, float(self.window), store)


@dataclass(frozen=True)
class Rule:
    """One descriptor chain with a limit, e.g. ``(("endpoint", "/login"), ("user_id", None))``."""

    chain: tuple[tuple[str, str | None], ...]
    limit: RateLimit
    line: int

    @property
    def name(self) -> str:
        return " > ".join(k if v is None else f"{k}={v}" for k, v in self.chain)

    def bucket(self, attributes: Mapping[str, str]) -> str | None:
        """The counter this request goes to under this rule, or None if the rule does not match it."""
        parts = []
        for key, value in self.chain:
            got = attributes.get(key)
            if got is None or (value is not None and got != value):
                return None
            parts.append(f"{key}={got}")
        return "|".join(parts)


@dataclass(frozen=True)
class ListEntry:
    """One deny- or allow-list entry: an attribute and a value (a CIDR range for ``remote_address``)."""

    key: str
    value: str
    line: int

    def matches(self, attributes: Mapping[str, str]) -> bool:
        got = attributes.get(self.key)
        if got is None:
            return False
        if self.key == "remote_address" and "/" in self.value:
            try:
                return ipaddress.ip_address(got) in ipaddress.ip_network(self.value, strict=False)
            except ValueError:
                return False
        return got == self.value


@dataclass(frozen=True)
class RuleSet:
    domain: str
    rules: tuple[Rule, ...]
    deny_list: tuple[ListEntry, ...] = ()
    allow_list: tuple[ListEntry, ...] = ()

    def denied_by(self, attributes: Mapping[str, str]) -> ListEntry | None:
        return next((e for e in self.deny_list if e.matches(attributes)), None)

    def allowed_by(self, attributes: Mapping[str, str]) -> ListEntry | None:
        return next((e for e in self.allow_list if e.matches(attributes)), None)

    def matching(self, attributes: Mapping[str, str]) -> list[tuple[Rule, str]]:
        out = []
        for rule in self.rules:
            bucket = rule.bucket(attributes)
            if bucket is not None:
                out.append((rule, bucket))
        return out


# --- parsing ------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self) -> None:
        self.problems: list[tuple[int, str]] = []
        self.walked = 0

    def bad(self, node: yaml.Node | None, msg: str) -> None:
        self.problems.append((node.start_mark.line + 1 if node is not None else 0, msg))

    def mapping(self, node: yaml.Node, where: str, allowed: tuple[str, ...]) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.bad(node, f"{where} must be a mapping of fields (got {_kind(node)})")
            return None
        out: dict[str, yaml.Node] = {}
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else None
            if name not in allowed:
                self.bad(k, f"unknown field {name!r} in {where} (allowed: {', '.join(allowed)})")
            elif name in out:
                self.bad(k, f"field {name!r} appears twice in {where}")
            else:
                out[name] = v
        return out

    def text(self, node: yaml.Node, field: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.value == "" or node.tag.endswith(":null"):
            self.bad(node, f"{field} must be a non-empty text value (got {_kind(node)})")
            return None
        return node.value

    def whole(self, node: yaml.Node, field: str) -> int | None:
        raw = node.value if isinstance(node, yaml.ScalarNode) else None
        try:
            n = int(raw) if raw is not None and raw.strip().lstrip("-").isdigit() else None
        except ValueError:
            n = None
        if n is None:
            self.bad(
                node, f"{field} must be a whole number (got {raw if raw is not None else _kind(node)!r})"
            )
            return None
        if not 1 <= n <= MAX_COUNT:
            why = "; a limit of 0 would block everyone (use the deny_list for that)" if n == 0 else ""
            self.bad(node, f"{field} must be between 1 and {MAX_COUNT:,} (got {n:,}){why}")
            return None
        return n

    def rate_limit(self, node: yaml.Node) -> RateLimit | None:
        fields = self.mapping(node, "rate_limit", ("unit", "requests_per_unit", "algorithm"))
        if fields is None:
            return None
        for need in ("unit", "requests_per_unit"):
            if need not in fields:
                self.bad(node, f"rate_limit needs {need!r}")
        unit = self.text(fields["unit"], "unit") if "unit" in fields else None
        if unit is not None and unit not in UNITS:
            self.bad(fields["unit"], f"unit must be one of {', '.join(UNITS)} (got {unit!r})")
            unit = None
        n = (
            self.whole(fields["requests_per_unit"], "requests_per_unit")
            if "requests_per_unit" in fields
            else None
        )
        algorithm = "fixed_window"
        if "algorithm" in fields:
            algorithm = self.text(fields["algorithm"], "algorithm") or algorithm
            if algorithm not in RULE_ALGORITHMS:
                self.bad(
                    fields["algorithm"],
                    f"algorithm must be one of {', '.join(RULE_ALGORITHMS)} (got {algorithm!r})",
                )
                return None
        if unit is None or n is None:
            return None
        return RateLimit(n, unit, algorithm)

    def descriptors(self, node: yaml.Node, parent: tuple, rules: list[Rule]) -> None:
        if not isinstance(node, yaml.SequenceNode):
            self.bad(node, f"descriptors must be a list (got {_kind(node)})")
            return
        if len(parent) >= MAX_DEPTH:
            self.bad(
                node,
                f"descriptors are nested more than {MAX_DEPTH} deep; the sandbox handles at most {MAX_DEPTH}",
            )
            return
        seen: set[tuple] = set()
        for item in node.value:
            self.walked += 1
            if self.walked > MAX_DESCRIPTORS:
                self.bad(
                    item,
                    f"more than {MAX_DESCRIPTORS:,} descriptors; the sandbox handles at most {MAX_DESCRIPTORS:,}",
                )
                return
            fields = self.mapping(item, "a descriptor", ("key", "value", "rate_limit", "descriptors"))
            if fields is None:
                continue
            if "key" not in fields:
                self.bad(
                    item, "a descriptor needs a 'key' (such as remote_address, user_id, api_key, endpoint)"
                )
                continue
            key = self.text(fields["key"], "key")
            value = self.text(fields["value"], "value") if "value" in fields else None
            if key is None:
                continue
            chain = (*parent, (key, value))
            if chain in seen:
                self.bad(item, f"descriptor {key}{'=' + value if value else ''} appears twice at this level")
            seen.add(chain)
            if "rate_limit" in fields:
                limit = self.rate_limit(fields["rate_limit"])
                if limit is not None:
                    rules.append(Rule(chain, limit, item.start_mark.line + 1))
            elif "descriptors" not in fields:
                self.bad(
                    item,
                    f"descriptor {key!r} has neither a rate_limit nor nested descriptors, so it does nothing",
                )
            if "descriptors" in fields:
                self.descriptors(fields["descriptors"], chain, rules)

    def entries(self, node: yaml.Node, which: str) -> list[ListEntry]:
        if not isinstance(node, yaml.SequenceNode):
            self.bad(node, f"{which} must be a list of 'attribute: value' entries (got {_kind(node)})")
            return []
        out = []
        for item in node.value:
            fields = self.mapping(item, f"a {which} entry", ATTRIBUTES)
            if fields is None:
                continue
            if len(fields) != 1:
                self.bad(
                    item,
                    f"each {which} entry names exactly one attribute, e.g. '- remote_address: 203.0.113.7'",
                )
                continue
            ((key, vnode),) = fields.items()
            value = self.text(vnode, key)
            if value is None:
                continue
            if key == "remote_address":
                try:
                    ipaddress.ip_network(value, strict=False)
                except ValueError:
                    self.bad(vnode, f"{value!r} is not an IP address or CIDR range")
                    continue
            out.append(ListEntry(key, value, item.start_mark.line + 1))
        return out


def _kind(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node is None or node.tag.endswith(":null") or node.value == "":
        return "nothing"
    return repr(node.value)


def _refuse_aliases(text: str) -> None:
    """YAML aliases (``*name``) let a short text stand for an exponentially large one (a "billion laughs"
    bomb): refuse them before anything is composed, with the line of the first one."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise RulesError(
                [(event.start_mark.line + 1, f"YAML aliases (*{event.anchor}) are not allowed in rules: write each "
                  "descriptor out in full")]
            )  # fmt: skip


def parse_rules(text: str) -> RuleSet:
    """Parse a YAML or JSON rules text; raise :class:`RulesError` (a ValueError) naming every problem."""
    if len(text) > MAX_RULES_TEXT:
        raise RulesError(
            [(0, f"the rules text is {len(text):,} characters; the limit is {MAX_RULES_TEXT:,}")]
        )
    try:
        _refuse_aliases(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise RulesError(
            [(mark.line + 1 if mark else 0, f"not valid YAML or JSON: {e.problem or e}")]
        ) from None
    except yaml.YAMLError as e:
        raise RulesError([(0, f"not valid YAML or JSON: {e}")]) from None
    p = _Parser()
    if root is None:
        raise RulesError([(0, "the rules text is empty; it needs at least a domain and descriptors")])
    fields = p.mapping(root, "the rules", ("domain", "descriptors", "deny_list", "allow_list"))
    if fields is None:
        raise RulesError(p.problems)
    domain = p.text(fields["domain"], "domain") if "domain" in fields else None
    if "domain" not in fields:
        p.bad(root, "the rules need a 'domain' (a name for this set of limits)")
    rules: list[Rule] = []
    if "descriptors" in fields:
        p.descriptors(fields["descriptors"], (), rules)
    deny = p.entries(fields["deny_list"], "deny_list") if "deny_list" in fields else []
    allow = p.entries(fields["allow_list"], "allow_list") if "allow_list" in fields else []
    if not rules and not deny and not p.problems:
        p.bad(root, "no rule has a rate_limit and the deny-list is empty: nothing would ever be limited")
    if len(rules) > MAX_RULES:
        p.bad(root, f"{len(rules)} rules; the sandbox handles at most {MAX_RULES}")
    if p.problems:
        raise RulesError(sorted(p.problems))
    return RuleSet(domain or "", tuple(rules), tuple(deny), tuple(allow))
