"""rq_noop.py -- the no-op job the RQ side of the benchmark runs (imported by `rq worker`)."""


def noop():
    """Does nothing, like testmods.noop."""
    return None
