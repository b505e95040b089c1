"""Words for the sharding page: parameters, presets, headlines, captions and the "why" computed from a run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lessons.base import Headline, Param, Preset, Reference, echo, num, pct, plural, preset_table, seconds
from sdcore.checks import number_text
from sdcore.sharding import (
    COUNTRIES,
    MAX_SHARDS,
    MITIGATIONS,
    QUERIES,
    SHARD_KEYS,
    SLOTS,
    STRATEGIES,
    ShardingConfig,
    ShardingResult,
    hash_tag,
    key_slot,
)
from sdcore.sharding.dataset import MAX_USERS, MIN_USERS, NOW_MS

TITLE = "Sharding"
IDEA = (
    "One database stops scaling at some point: too much data, too many writes. Sharding splits the table "
    "across S machines by a **shard key**. The key decides everything: whether the shards come out even, "
    "whether one celebrity melts a shard, which queries must ask every shard, and how much data moves when "
    "you add a machine. Here you shard a synthetic social network (users, posts, likes, a Zipf-law workload) "
    "and measure each choice."
)
D = ShardingConfig()
SCALES = (1, 10, 100, 1000, 10_000)

PARAMS: tuple[Param, ...] = (
    Param("shard_key", D.shard_key, options=tuple(SHARD_KEYS), labels={k: v.label for k, v in SHARD_KEYS.items()},
          label="Shard key", help="Which column of a post decides its shard. All posts with the same key value "
          "live together."),
    Param("strategy", D.strategy, options=tuple(STRATEGIES), labels={k: v.label for k, v in STRATEGIES.items()},
          label="Strategy", help="How key values map to shards: " + "; ".join(
              f"{v.label}: {v.description}" for v in STRATEGIES.values()) + "."),
    Param("shards", D.shards, lo=1, hi=MAX_SHARDS, step=1, label="Shards (S)", help="Machines the posts table "
          "is split across."),
    Param("new_shards", D.new_shards, lo=1, hi=MAX_SHARDS, step=1, label="Re-shard to (S′)", help="The shard "
          "count after re-sharding: what moves, and for how long."),
    Param("users", D.users, lo=MIN_USERS, hi=MAX_USERS, step=100, label="Users", help="Users in the synthetic "
          "network; each has at least one post."),
    Param("posts_per_user", D.posts_per_user, lo=1.0, hi=50.0, step=1.0, label="Posts per user (mean)",
          help="Posts are the rows being sharded; users × posts per user is at most 1,000,000."),
    Param("exponent", D.exponent, lo=0.0, hi=1.5, step=0.01, label="Zipf exponent s", help="Reads go to the "
          "user of popularity rank i in proportion to i^-s: 0 is uniform, 0.99 is YCSB's default, higher is "
          "more skewed."),
    Param("celebrity_share", D.celebrity_share, lo=0.0, hi=0.8, step=0.05, label="Celebrity's share of reads",
          help="A celebrity joins (the newest user) and takes this share of every read and like. 0: no celebrity."),
    Param("reads_per_s", D.reads_per_s, lo=1000.0, hi=500_000.0, step=1000.0, label="Reads per second",
          help="Total read rate on the posts table."),
    Param("writes_per_s", D.writes_per_s, lo=100.0, hi=100_000.0, step=100.0, label="Writes per second",
          help="Total writes: 75% likes (landing where reads do), 25% new posts."),
    Param("network_mb_per_s", D.network_mb_per_s, lo=1.0, hi=10_000.0, step=1.0, label="Network for moves (MB/s)",
          help="Bandwidth a migration may use: 100 MB/s is about a saturated 1 Gbit/s link."),
    Param("scale", D.scale, options=SCALES, labels={n: f"{n:,}×" for n in SCALES}, label="Production size (× rows)",
          help="Each generated post stands for this many production posts when timing a migration."),
    Param("vnodes", D.vnodes, lo=1, hi=1000, step=1, label="Virtual nodes per shard", help="Points per shard "
          "on the consistent-hash ring."),
    Param("salt_k", D.salt_k, lo=1, hi=64, step=1, label="Salt k", help="Split the hottest key into k "
          "sub-keys: writes spread, reads fan out to k."),
    Param("load_factor", D.load_factor, lo=1.0, hi=3.0, step=0.05, label="Bounded-load factor c",
          help="No shard takes more than c × the mean number of key values."),
    Param("cache_items", D.cache_items, lo=0, hi=10_000, step=10, label="Cache size (key values)",
          help="The most-read key values served from a cache in front of the shards."),
    Param("follows", D.follows, lo=1, hi=1000, step=1, label="Users a reader follows", help="For the feed join."),
    Param("seed", D.seed, lo=0, hi=2**31 - 1, step=1, kind="number", label="Seed", help="Same seed, same dataset."),
)  # fmt: skip
PARAM_NAMES = tuple(p.name for p in PARAMS)

PRESETS: tuple[Preset, ...] = (
    Preset("Shard by user id", "10,000 users, 100,000 posts on 8 shards of a consistent-hash ring by user id; "
           "re-shard to 9.", {}, "Even rows, uneven reads: the Zipf law puts a few popular users on a few "
           "shards. Adding one shard moves about 1/9 of the rows."),
    Preset("Shard by country (skewed)", "The same posts on 8 shards by the author's country, hash mod S.",
           {"shard_key": "country", "strategy": "modulo"}, "About 20 key values for 8 shards, one of them "
           "18% of all users: some shards get three countries, some none."),
    Preset("Time-range shards and the hot newest shard", "Posts by created time in 8 ranges of equal size.",
           {"shard_key": "created", "strategy": "range"}, "Every new post and most reads land on the last "
           "range: one shard takes the writes while seven sit idle."),
    Preset("A celebrity joins", "Sharded by user id; a newcomer takes 30% of every read and like.",
           {"celebrity_share": 0.3, "salt_k": 8}, "One key value is hotter than any shard can serve: only a "
           "cache (or read replicas) helps the reads, salting helps its writes."),
    Preset("Double the shards", "hash mod S by user id, from 8 to 16 shards.",
           {"strategy": "modulo", "new_shards": 16}, "Doubling is modulo's best case: a key stays or moves to "
           "exactly one new shard, so only half the rows move — as on a ring."),
)  # fmt: skip
DEFAULT_PRESET = PRESETS[0].name
PRESET_TABLE = preset_table(PRESETS)


def config(values: Mapping[str, Any]) -> ShardingConfig:
    """The page's parameter values -> the engine's frozen config (ValueError with a sentence if invalid)."""
    return ShardingConfig(**{name: values[name] for name in PARAM_NAMES if name in values})


# -- headlines ---------------------------------------------------------------------------------------------


def headlines(r: ShardingResult) -> tuple[Headline, ...]:
    c, loads, mv = r.config, r.loads, r.movement
    sk = loads.skews()
    hot = r.hot.option("none")
    moved_delta = (
        None
        if mv.expected is None
        else f"{100 * (mv.fraction - mv.expected):+.1f} pts vs theory {pct(mv.expected)}"
    )
    return (
        Headline("Busiest shard (reads)", f"{sk['reads'].max_over_mean:.2f}× mean",
                 f"rows {sk['rows'].max_over_mean:.2f}×, Gini {sk['reads'].gini:.2f}", delta_color="off",
                 help="Reads on the busiest shard over the mean; 1.00× is perfectly even."),  # fmt: skip
        Headline("Hot shard reads/s", num(hot.hot_reads), f"{pct(hot.hot_reads / c.read_capacity, 0)} of the "
                 f"{num(c.read_capacity)}/s cap", delta_color="inverse" if hot.hot_reads > c.read_capacity else "off",
                 help="DynamoDB caps each partition at 3,000 reads and 1,000 writes per second."),  # fmt: skip
        Headline("Hot shard writes/s", num(hot.hot_writes), f"{pct(hot.hot_writes / c.write_capacity, 0)} of the "
                 f"{num(c.write_capacity)}/s cap", delta_color="inverse" if hot.hot_writes > c.write_capacity else "off"),
        Headline(f"Rows moved, {c.shards} → {c.new_shards} shards", pct(mv.fraction), moved_delta, delta_color="off",
                 help=f"{num(mv.rows_moved)} of {num(mv.rows)} rows change shard."),  # fmt: skip
        Headline("Hottest key's share", pct(r.hot.top_shares[0][1]), f"key {echo(r.hot.hot_label, 24)}", delta_color="off",
                 help="Share of all requests (reads and writes) that go to the single hottest key value."),
    )  # fmt: skip


# -- captions and "why" ------------------------------------------------------------------------------------


def shard_caption(r: ShardingResult) -> str:
    c, loads = r.config, r.loads
    over_r = int((loads.reads > c.read_capacity).sum())
    over_w = int((loads.writes > c.write_capacity).sum())
    busiest = int(loads.reads.argmax())
    return (
        f"{plural(c.shards, 'shard')} by {SHARD_KEYS[c.shard_key].label} with {STRATEGIES[c.strategy].label}. "
        f"S{busiest} serves the most reads ({num(loads.reads[busiest])}/s). "
        f"{plural(over_r, 'shard')} over the read cap, {plural(over_w, 'shard')} over the write cap (dashed)."
    )


def skew_caption(r: ShardingResult, sample_posts: int | None = None) -> str:
    on = (
        ""
        if sample_posts in (None, r.dataset.posts)
        else f" (on {num(sample_posts)} posts of the same settings)"
    )
    return (
        f"Busiest shard's reads over the mean, for every key and strategy at the same shard count{on}: white is "
        f"even. Country has only {len(COUNTRIES)} values, so no strategy can spread it evenly; a growing key "
        "(time, a time-ordered id) under ranges puts the newest, hottest rows together."
    )


def movement_caption(r: ShardingResult) -> str:
    c = r.config
    mod = next(m for m in r.movements if m.strategy == "modulo")
    ring = next(m for m in r.movements if m.strategy == "ring")
    return (
        f"Rows moved going from {c.shards} to {c.new_shards} shards; the black tick is theory. Modulo moves "
        f"{pct(mod.fraction)}, the ring {pct(ring.fraction)}."
    )


def migration_caption(r: ShardingResult) -> str:
    m = r.migration
    if not m.steps:
        return "Nothing moves: the shard count is unchanged, so there is no migration."
    if not m.converges:
        return (
            f"Writes land on the moving rows at {num(m.write_mb_per_s, 1)} MB/s, faster than the "
            f"{num(m.network_mb_per_s)} MB/s copy: the replay never catches up. Slow the writes or move less."
        )
    return (
        f"{num(m.bytes_moved / 1e9, 1)} GB at {num(m.network_mb_per_s)} MB/s: the copy takes "
        f"{seconds(m.copy_s)}, the whole migration {seconds(m.total_s)}; the old shards serve throughout."
    )


def slot_caption(r: ShardingResult) -> str:
    n = r.movement.slots_moved or 0
    return (
        f"Each shard owns runs of the {num(SLOTS)} slots; re-sharding moved {plural(n, 'slot')} "
        f"({pct(n / SLOTS)}) in {plural(len(r.slot_moves), 'run')}, each slot with all its keys."
    )


def hot_caption(r: ShardingResult) -> str:
    h = r.hot
    s = h.settings
    fixes = [
        MITIGATIONS[o.name].label
        for o in h.options
        if o.name != "none" and o.hot_reads <= s.read_capacity and o.hot_writes <= s.write_capacity
    ]
    tail = (
        ("Within both caps: " + ", ".join(fixes) + ".")
        if fixes
        else "No single mitigation brings it within both caps."
    )
    return (
        f"The busiest shard under each mitigation, as a share of its capacity (dashed: 100%). The hottest "
        f"key alone takes {num(h.hot_reads)} reads/s and {num(h.hot_writes)} writes/s. {tail}"
    )


def join_caption(r: ShardingResult) -> str:
    f = r.feed
    return (
        f"A feed of the newest {f.feed_size} posts of {plural(f.follows, 'followed user')}, with author names: "
        f"the join asks {num(f.normalized_shards, 1)} shards, the de-normalized copy "
        f"{num(f.denormalized_shards, 1)}; a rename then rewrites {num(float(f.rename_rows.mean()), 1)} posts "
        "on average."
    )


def why(r: ShardingResult) -> str:
    c, mv, h = r.config, r.movement, r.hot
    sk = r.loads.skews()
    strat = STRATEGIES[c.strategy].label
    lines = [
        f"**The key decides the spread.** By {SHARD_KEYS[c.shard_key].label} there are {plural(r.column.n_groups, 'key value')} "
        f"for {plural(c.shards, 'shard')}. Rows come out at {sk['rows'].max_over_mean:.2f}× the mean on the fullest "
        f"shard, but reads at {sk['reads'].max_over_mean:.2f}×: rows are counted once, reads follow popularity, and "
        f"with Zipf s = {number_text(c.exponent)} the hottest {plural(h.top_shares[-1][0], 'key value')} take "
        f"{pct(h.top_shares[-1][1])} of all requests.",
    ]
    if mv.expected is not None:
        lines.append(
            f"**Re-sharding.** {strat} from {c.shards} to {c.new_shards}: expected to move {pct(mv.expected)} of "
            f"rows, moved {pct(mv.fraction)} ({num(mv.rows_moved)} rows, {num(mv.bytes_moved * c.scale / 1e9, 1)} GB "
            "in production). Modulo keeps a key only when h mod S = h mod S′, which holds for min(S, S′) of every "
            "lcm(S, S′) hashes; a ring, a directory or slots move only what the new shards take."
        )
    else:
        lines.append(
            f"**Re-sharding.** {strat} from {c.shards} to {c.new_shards} moved {pct(mv.fraction)} of rows: "
            "ranges split at their medians, so how much moves depends on which ranges split."
        )
    none = h.option("none")
    cache = h.option("cache")
    salt = h.option("salting")
    lines.append(
        f"**The hot key.** {echo(h.hot_label, 30)} alone needs {num(h.hot_reads)} reads/s against a cap of "
        f"{num(c.read_capacity)} per shard: no placement can split one key value, so more shards do not help. "
        f"Salting into {c.salt_k} cut the hot shard's writes from {num(none.hot_writes)} to {num(salt.hot_writes)}/s "
        f"but each read of the key now costs {num(salt.hot_read_requests / max(h.hot_reads, 1e-9), 1)} requests. "
        f"A cache of {plural(c.cache_items, 'key value')} serves {pct(cache.hit_ratio or 0)} of reads "
        f"(the Zipf law predicts {pct(cache.zipf_hit_ratio or 0)}"
        + (
            ")."
            if abs((cache.hit_ratio or 0) - (cache.zipf_hit_ratio or 0)) < 0.01
            else "; the workload here is not a pure Zipf law over these key values: a celebrity on top of it, or "
            "several values per user)."
        )
    )
    q = {x.query: x for x in r.queries}
    scatter = [QUERIES[k].label for k, x in q.items() if not x.routable]
    lines.append(
        "**Queries without the shard key** go to every shard: here "
        + (", ".join(scatter) if scatter else "none")
        + f" (each asks all {c.shards} with local indexes). A global secondary index asks one index partition plus "
        "the shards holding the matches instead."
    )
    f = r.feed
    lines.append(
        f"**Joins vs de-normalization.** The feed join ships {num(f.normalized_rows)} rows from "
        f"{num(f.normalized_shards, 1)} shards; copying author names into posts ships {num(f.denormalized_rows)} "
        f"from {num(f.denormalized_shards, 1)}. The price is on writes: a rename rewrites up to "
        f"{plural(int(f.rename_rows.max()) if len(f.rename_rows) else 0, 'post')} on "
        f"{plural(int(f.rename_shards.max()) if len(f.rename_shards) else 0, 'shard')}. Reads outnumber renames by "
        "orders of magnitude, which is why feeds de-normalize."
    )
    return "\n\n".join(lines)


def prediction_feedback(guess_pct: float, r: ShardingResult) -> str:
    mv = r.movement
    off = guess_pct - 100 * mv.fraction
    verdict = "spot on" if abs(off) < 3 else ("too high" if off > 0 else "too low")
    return (
        f"You predicted {num(guess_pct)}%; {STRATEGIES[r.config.strategy].label} moved {pct(mv.fraction)} "
        f"({verdict}, {off:+.1f} pts)."
    )


def keyslot_lines(key: str) -> tuple[str, ...]:
    """What the key-slot box prints for a typed key (shown with st.code: plain text, never markdown)."""
    key = key[:200]
    tag = hash_tag(key)
    slot = key_slot(key)
    shown = echo(key, 60)
    if tag is None:
        how = "no hash tag: the whole key is hashed"
    else:
        how = f"hash tag {{{echo(tag.decode('utf-8', errors='replace'), 40)}}}: only it is hashed"
    return (f"key   {shown}", f"rule  {how}", f"slot  CRC16(...) mod {SLOTS} = {slot}")


KEYSLOT_HELP = (
    "Redis Cluster hashes a key with CRC16 and keeps 14 bits: 16,384 slots. If the key has a {hash tag} — "
    "the bytes between the first { and the next } — only the tag is hashed, so {user1000}.following and "
    "{user1000}.followers share a slot and can be used together in one transaction. Check any key against a "
    "real cluster with CLUSTER KEYSLOT."
)

TRY_THIS: tuple[str, ...] = (
    "Predict first: going from 8 to 9 shards, what share of rows does hash mod S move? And the ring? "
    "Then pick 'Double the shards': why does modulo suddenly move only half?",
    "Pick 'Shard by country (skewed)' and raise the shard count to 32. Does the busiest shard get lighter? "
    "Now switch the key to (country, user id) with ranges: which queries still stay on one shard?",
    "Pick 'A celebrity joins'. Which mitigation brings the hot shard under the read cap, and what does salting "
    "cost each read? Interview question: how does a feed service serve a user with 100 million followers?",
    "Pick 'Time-range shards and the hot newest shard': where do the writes go? Why do Instagram's ids put time "
    "in the top bits yet shard by user, not by id range?",
)

REFERENCES: tuple[Reference, ...] = (
    Reference("Redis Cluster specification: key distribution and hash tags",
              "https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/"),
    Reference("Instagram Engineering: Sharding & IDs at Instagram",
              "https://instagram-engineering.com/sharding-ids-at-instagram-1cf5a71e5a5c"),
    Reference("Amazon DynamoDB: designing partition keys to distribute your workload",
              "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-uniform-load.html"),
    Reference("Amazon DynamoDB: write sharding",
              "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-sharding.html"),
    Reference("Cooper et al. 2010, Benchmarking cloud serving systems with YCSB",
              "https://dl.acm.org/doi/10.1145/1807128.1807152"),
    Reference("Mirrokni, Thorup & Zadimoghaddam 2018, Consistent hashing with bounded loads",
              "https://arxiv.org/abs/1608.01350"),
)  # fmt: skip


# -- tables for the page and the CSV ---------------------------------------------------------------------


def shard_rows(r: ShardingResult) -> list[dict]:
    a, b = r.loads, r.loads_after
    out = []
    for i in range(max(a.shards, b.shards)):
        out.append({
            "shard": f"S{i}",
            "rows": int(a.rows[i]) if i < a.shards else 0,
            "bytes": int(a.bytes[i]) if i < a.shards else 0,
            "reads/s": round(float(a.reads[i]), 1) if i < a.shards else 0.0,
            "writes/s": round(float(a.writes[i]), 1) if i < a.shards else 0.0,
            "rows after re-sharding": int(b.rows[i]) if i < b.shards else 0,
        })  # fmt: skip
    return out


def movement_rows(r: ShardingResult) -> list[dict]:
    return [{
        "strategy": STRATEGIES[m.strategy].label,
        "rows moved": m.rows_moved,
        "share moved": m.fraction,
        "theory": m.expected,
        "key values moved": m.keys_moved,
        "GB moved (production)": round(m.bytes_moved * r.config.scale / 1e9, 2),
        "time to copy": seconds(m.bytes_moved * r.config.scale / 1e6 / r.config.network_mb_per_s)
        if m.bytes_moved else "—",
        "slots moved": m.slots_moved,
    } for m in r.movements]  # fmt: skip


def mitigation_rows(r: ShardingResult) -> list[dict]:
    h, c = r.hot, r.config
    out = []
    for o in h.options:
        cost = {
            "none": "—",
            "salting": f"each read of the hot key costs {num(o.hot_read_requests / max(h.hot_reads, 1e-9), 1)} "
            f"requests; {plural(o.rows_moved, 'row')} re-keyed",
            "bounded": f"{plural(o.rows_moved, 'row')} placed off their natural shard",
            "dedicated": f"+1 shard; {plural(o.rows_moved, 'row')} moved; directory entries for the exceptions",
            "cache": f"{plural(c.cache_items, 'key value')} in memory; hit ratio {pct(o.hit_ratio or 0)} "
            f"(Zipf law: {pct(o.zipf_hit_ratio or 0)}); writes unchanged",
            "salt_cache": "both costs: the cache's memory, salting's re-keyed rows"
            + ("" if o.hot_read_requests == 0 else "; the hot key is not in the cache"),
        }[o.name]
        out.append({
            "mitigation": MITIGATIONS[o.name].label,
            "hot shard reads/s": round(o.hot_reads),
            "hot shard writes/s": round(o.hot_writes),
            "within read cap": o.hot_reads <= c.read_capacity,
            "within write cap": o.hot_writes <= c.write_capacity,
            "cost": cost,
        })  # fmt: skip
    return out


def query_rows(r: ShardingResult) -> list[dict]:
    return [{
        "query": QUERIES[q.query].label,
        "routed": q.routable,
        "shards holding": round(q.holding, 1),
        "asked: local idx": round(q.local_index, 1),
        "asked: global idx": round(q.global_index, 1),
    } for q in r.queries]  # fmt: skip


def id_rows(rows: list[dict]) -> list[dict]:
    """Sample ids, with their time shown as how long before now."""
    return [{"id": str(x["id"]), "logical shard": x["shard"], "seq": x["seq"],
             "created": seconds((NOW_MS - x["created_ms"]) / 1000) + " ago"} for x in rows]  # fmt: skip
