"""rq_noop.py -- the no-op job of the benchmark: RQ's `rq worker` imports it, and dcmp-worker's
Python runner runs the same function from MODULES=bench/ (bench/run.sh)."""


def noop(**kwargs):
    """Does nothing, like testmods.noop. dcmp calls it with the original's keywords (jobName,
    headers, params, added_params); RQ with none."""
    return None
