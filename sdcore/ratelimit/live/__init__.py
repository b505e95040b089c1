"""What needs a real Redis, HTTP, ASGI, threads, subprocesses or a wall clock. Nothing outside ``live/``
imports this package, so ``import sdcore.ratelimit`` stays pure and light; every function here that reads
time takes ``clock=`` (and ``sleep=``) so a test can pass its own.

- ``redis_store`` (+ ``lua/*.lua``): every limiter's decision as one Lua script on Redis, bit-identical to
  the in-memory steps; ``aio_store`` the same for ``redis.asyncio``.
- ``connection``: where the Redis is (parse a URL, probe it, start a throwaway local ``redis-server``
  through ``redis_server``).
- ``race``: K threads race on one limit, weak variants (GET/SET, INCR, WATCH/MULTI) beside Lua.
- ``faults`` (a TCP proxy that drops, delays or refuses), ``resilient`` (fail open / fail closed) and
  ``fault_runs`` (the experiment that breaks the connection mid-run).
- ``sync``: the synchronization issue run live (threads or processes, a real Redis).
- ``middleware``: the throttle rules as ASGI middleware; ``burst``: the example API as a child process and
  an HTTP burst sent to it.
"""
