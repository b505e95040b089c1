"""What a limiter answers for one request, and the HTTP headers that carry it to the client."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request.

    - ``allowed``: whether the request goes through.
    - ``limit``: the quota (capacity of a token bucket, queue size of a leaking bucket, requests per window).
    - ``remaining``: how many more requests would be admitted at this same instant.
    - ``retry_after``: seconds until a retry would succeed if nothing else arrived; ``None`` when allowed.
    - ``departure``: leaking bucket only: when an admitted request leaves the queue and is served (seconds);
      ``None`` for a rejected request and for every other limiter.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: float | None
    departure: float | None = None

    def headers(self) -> dict[str, str]:
        """The rate-limit headers a server sends back (the names most APIs use; Retry-After in whole
        seconds, rounded up, as HTTP requires)."""
        h = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        if self.retry_after is not None:
            h["Retry-After"] = str(math.ceil(self.retry_after))
        return h
