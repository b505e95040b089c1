"""Loaded by a server under test (PYTHONPATH): records every socket connect and name lookup the process
makes, through Python's audit hooks, one JSON line each in $SDS_NET_LOG."""

import json
import os
import sys

_LOG = os.environ.get("SDS_NET_LOG")


def _hook(event, args):
    if event not in ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.gethostbyname"):
        return
    try:
        target = args[1] if event in ("socket.connect", "socket.sendto") else args[0]
        with open(_LOG, "a") as f:
            f.write(json.dumps({"event": event, "target": repr(target)}) + "\n")
    except Exception:  # noqa: BLE001 - a hook must never break the process it watches
        pass


if _LOG:
    sys.addaudithook(_hook)
