"""Home: what the sandbox is and what each page teaches."""

from pathlib import Path

import streamlit as st

from ui import page  # noqa: E402

page.start(
    "System Design Sandbox",
    "Play with the building blocks of large systems instead of reading about them. Each page is an experiment: "
    "pick a scenario, predict what will happen, run it, and compare what you see with the theory. "
    "Everything is computed by a real engine (`sdcore`), seeded, so a shared link shows everyone the same numbers.",
)
ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    (
        "Foundations",
        "pages/consistent_hashing.py",
        "Consistent hashing",
        "Hash ring and virtual nodes; add and remove servers and watch exactly which keys move; compare with modulo, "
        "jump, rendezvous and bounded-load hashing; weighted servers.",
    ),
    (
        "Traffic control",
        "pages/rate_limiter.py",
        "Rate limiter",
        "Token bucket, leaking bucket, fixed window, sliding log and sliding window counter on the same traffic: "
        "bursts, the 2x burst across a window edge, an abusive client; step through time and watch each one's "
        "state; the counter's error against Cloudflare's 0.003%; two settings side by side.",
    ),
    (
        "Traffic control",
        "pages/api_gateway.py",
        "API gateway: throttle rules",
        "Throttle rules over many clients (per address, per user, per endpoint), a deny-list and an allow-list; "
        "who gets 200, 429 or 403 and which rule decided; the exact response and headers a client receives, with a "
        "Retry-After that is never optimistic; GCRA; what each algorithm costs in memory per client.",
    ),
    (
        "Traffic control",
        "pages/distributed_rate_limiting.py",
        "Distributed rate limiting",
        "Many servers, one counter in Redis: race them live and see check-then-act overshoot while a Lua script "
        "stops exactly at the limit (GET/SET, INCR, WATCH/MULTI, sorted-set logs); the measured round trip per "
        "decision; break the connection mid-run and compare fail-open with fail-closed, and the recovery.",
    ),
    (
        "Data",
        "pages/kv_quorum.py",
        "Key-value store: quorums",
        "N replicas, write quorum W, read quorum R: when W + R > N guarantees the latest write and how stale reads "
        "get when it does not; the closed form against a WARS simulation on published production latencies; "
        "Cassandra's ONE / QUORUM / ALL; preference lists on the ring; the latency–consistency trade-off.",
    ),
    (
        "Data",
        "pages/kv_cluster.py",
        "Key-value store: a cluster you can break",
        "A Dynamo-style cluster in virtual time: write and read keys, crash replicas, partition the network and step "
        "through every message; stale reads, siblings with their vector clocks, read repair, sloppy quorum and "
        "hinted handoff.",
    ),
]
for section in dict.fromkeys(p[0] for p in PAGES):  # sections in order, pages as cards three to a row
    st.subheader(section)
    cards = [p for p in PAGES if p[0] == section and (ROOT / p[1]).exists()]
    for row in range(0, len(cards), 3):
        for col, (_, path, title, teaches) in zip(st.columns(3), cards[row : row + 3], strict=False):
            with col, st.container(border=True, height="stretch"):
                st.page_link(path, label=f"**{title}**", icon=":material/arrow_forward:")
                st.markdown(teaches)
st.markdown(
    "**For teachers.** Every page mirrors its settings into the address bar: set up an experiment, copy the "
    "link, and the class opens the same one. **For interview prep.** Each page ends with *Try this* questions."
)
