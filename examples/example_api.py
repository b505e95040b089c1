"""A small API behind the rate-limiting middleware: the throttle rules of ``examples/rules.yaml`` in front
of three endpoints, served by uvicorn.

Scenario: a public API with a feed, an expensive search and a login. Every address may send 30 requests
a minute, search only 10, login 5 attempts a minute per user; a revoked API key and an attacking address
range get 403; the partner's key is never limited.

    .venv/bin/uvicorn examples.example_api:app --port 8000 --no-proxy-headers   # counters in this process
    REDIS_URL=redis://127.0.0.1:6379/0 POLICY=closed .venv/bin/python -m examples.example_api

Environment: ``REDIS_URL`` (share the counters through Redis; unset: in memory), ``POLICY`` (``open`` or
``closed``: what to do when Redis is unreachable), ``IDENTITY`` (``ip``, or a header set by a trusted
proxy such as ``X-Forwarded-For``), ``TRUSTED_PROXIES`` (comma-separated addresses or CIDR ranges of the
proxies whose header is believed; without it the header is ignored), ``RULES`` (another rules file),
``PORT`` (for ``python -m``).

Run uvicorn with ``--no-proxy-headers``: uvicorn's own proxy handling trusts ``X-Forwarded-For`` from
loopback by default and would rewrite the client address before the middleware sees it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sdcore.ratelimit.live.middleware import RateLimitMiddleware

RULES = Path(__file__).with_name("rules.yaml")

_PAGES = {
    "/": {"endpoints": ["/feed", "/search?q=...", "/login"], "rules": "examples/rules.yaml"},
    "/feed": {
        "feed": [{"id": 3, "text": "newest post"}, {"id": 2, "text": "older"}, {"id": 1, "text": "oldest"}]
    },
    "/search": {"results": []},
    "/login": {"ok": True},
}


async def api(scope, receive, send) -> None:
    """The application itself: plain ASGI, knows nothing about rate limits."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    page = _PAGES.get(scope["path"])
    status = 200 if page is not None else 404
    body = json.dumps(page if page is not None else {"error": "not found"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_app(environ: dict[str, str] | None = None) -> RateLimitMiddleware:
    """The API wrapped in the middleware, configured from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    return RateLimitMiddleware(
        api,
        Path(env.get("RULES") or RULES),
        store=env.get("REDIS_URL") or "memory",
        policy=env.get("POLICY", "open"),
        identity=env.get("IDENTITY", "ip"),
        trusted_proxies=tuple(p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()),
        prefix="sds:example_api:",
    )


app = build_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), proxy_headers=False)
