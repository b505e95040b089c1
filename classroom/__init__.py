"""The classroom setup: app replicas behind one nginx with sticky sessions (see ``classroom/run.py``)."""
