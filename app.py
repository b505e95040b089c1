"""System Design Sandbox: entry point. Page config, grouped navigation and the shared sidebar."""

from pathlib import Path

import streamlit as st

# Import the engine's packages top-down, once, before any page runs: two first visits at the same moment
# could otherwise deadlock on the import locks (a page holding a submodule's lock waits for its package's
# __init__, which waits for that submodule).
import sdcore.feed  # noqa: E402, F401
import sdcore.hashing  # noqa: E402, F401
import sdcore.kvstore  # noqa: E402, F401
import sdcore.ratelimit  # noqa: E402, F401
import sdcore.resilience  # noqa: E402, F401
import sdcore.scale  # noqa: E402, F401
import sdcore.sharding  # noqa: E402, F401

HERE = Path(__file__).resolve().parent
st.set_page_config(page_title="System Design Sandbox", page_icon="🧱", layout="wide")

# Only pages that exist are listed; each section fills in as its pages are built.
SECTIONS = {
    "Start": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Foundations": [
        st.Page("pages/consistent_hashing.py", title="Consistent hashing", icon=":material/donut_large:"),
    ],
    "Traffic control": [
        st.Page("pages/rate_limiter.py", title="Rate limiter", icon=":material/speed:"),
        st.Page("pages/api_gateway.py", title="API gateway: throttle rules", icon=":material/router:"),
        st.Page(
            "pages/distributed_rate_limiting.py", title="Distributed rate limiting", icon=":material/hub:"
        ),
    ],
    "Data": [
        st.Page("pages/kv_quorum.py", title="Key-value store: quorums", icon=":material/database:"),
        st.Page("pages/kv_cluster.py", title="Key-value store: break a cluster", icon=":material/dns:"),
        ("pages/kv_health.py", "Key-value store: healthy replicas", ":material/monitor_heart:"),
        ("pages/kv_storage.py", "Key-value store: one node's disk", ":material/storage:"),
        ("pages/sharding.py", "Sharding", ":material/grid_view:"),
    ],
    "Applications": [
        ("pages/news_feed.py", "News feed", ":material/dynamic_feed:"),
        ("pages/resilience.py", "Resilience: circuit breaker", ":material/electrical_services:"),
        ("pages/scale.py", "Scale to millions", ":material/trending_up:"),
        ("pages/interview_recap.py", "Interview recap", ":material/checklist:"),
    ],
}
# A page still being built is listed once its script exists.
SECTIONS = {
    section: [
        p if isinstance(p, st.Page) else st.Page(p[0], title=p[1], icon=p[2])
        for p in pages
        if isinstance(p, st.Page) or (HERE / p[0]).exists()
    ]
    for section, pages in SECTIONS.items()
}
SECTIONS = {section: pages for section, pages in SECTIONS.items() if pages}
page = st.navigation(SECTIONS, expanded=True)

with st.sidebar:
    st.caption(
        "**System Design Sandbox** — experiments, not articles. Every number on these pages is computed by the "
        "`sdcore` engine, with a fixed seed: the same settings give the same figures for everyone."
    )
    st.caption("Tip: the address bar holds your settings. Copy it to share the exact experiment.")

page.run()
