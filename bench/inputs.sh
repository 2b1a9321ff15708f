#!/bin/sh
# inputs.sh -- what fetch.lua's job_inputs (dependencies' results handed to a starting job,
# docs/job-engine.md) costs Redis: the fetch script's own run time (SLOWLOG, microseconds,
# median and p95 of 300 fetches) for jobs with 0 or 8 dependencies whose results are 1 kB or
# 100 kB, plain or with added_params/storage, and 4 of 1 MB. Needs redis-server and Debian's
# python3-redis. Usage: bench/inputs.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/redis.sh"
bench_redis_start inputs
cat "$root/src/queue/lua/common.lua" "$root/src/queue/lua/fetch.lua" >"$TMP/fetch.lua"
/usr/bin/python3 - "$PORT" "$TMP/fetch.lua" <<'PY'
import json, sys
import redis
r = redis.Redis(port=int(sys.argv[1]))
sha = r.script_load(open(sys.argv[2]).read())
r.set('dcmp:worker:w:hb', '1')
r.config_set('slowlog-log-slower-than', 0)
r.config_set('slowlog-max-len', 10000)
for tag, ndeps, size, keys in (("a", 0, 0, 0), ("b", 8, 1000, 0), ("c", 8, 1000, 1),
                               ("d", 8, 100000, 0), ("e", 8, 100000, 1), ("f", 4, 1000000, 1)):
    deps = []
    for i in range(ndeps):
        res = {"output": "x", "pad": "x" * size}
        if keys:
            res.update({"added_params": {"k": 1}, "storage": [{"path": "a.dcm", "type": "dicom"}]})
        d = '%s%d' % (tag, i)
        r.hset('dcmp:job:' + d, mapping={'state': 'finished', 'name': d, 'result': json.dumps(res)})
        deps.append(d)
    jid = 'job' + tag
    r.hset('dcmp:job:' + jid, mapping={'id': jid, 'queue': 'q', 'state': 'queued', 'name': jid,
                                       'func': 'f', 'kwargs': '{}', 'deps': json.dumps(deps)})
    r.slowlog_reset()
    for _ in range(300):
        r.lpush('dcmp:queue:q', jid)
        r.hset('dcmp:job:' + jid, 'state', 'queued')
        r.evalsha(sha, 0, 'w', 'q')
        r.delete('dcmp:worker:w:processing')
    ts = sorted(e['duration'] for e in r.slowlog_get(10000) if e['command'].startswith(b'EVALSHA'))
    print("%d deps, results of %7d B, %-18s fetch.lua median %6d us, p95 %6d us" % (
        ndeps, size, "added_params" if keys else "plain", ts[len(ts) // 2], ts[len(ts) * 95 // 100]))
PY
