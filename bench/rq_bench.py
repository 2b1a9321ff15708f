#!/usr/bin/python3
"""rq_bench.py -- the same no-op benchmark with RQ (default Worker: one fork per job).

Run with Debian's /usr/bin/python3, which has python3-rq. Prints the same
'|'-separated lines as bench_worker (see bench_worker.c) for bench/run.sh:
  T|rq|burst|workers|jobs|seconds|jobs_per_s
  L|rq|what|runs|client_median_ms|client_p95_ms|server_median_ms|server_p95_ms
  M|rq|what|kB
  C|rq|what|jobs|cpu_us_per_job
Each phase uses its own queue and counts from what its finished registry held
before, so a Redis used before does not matter.
"""

import argparse
import math
import os
import resource
import subprocess
import sys
import time

from redis import Redis
from rq import Queue
from rq.job import Job

HERE = os.path.dirname(os.path.abspath(__file__))
WAIT_LIMIT_S = 300


def rq_command():
    """The `rq` console script of python3-rq, or the module under /usr/bin/python3."""
    if os.access("/usr/bin/rq", os.X_OK):
        return ["/usr/bin/rq"]
    return ["/usr/bin/python3", "-m", "rq.cli"]


def children_cpu_us():
    """CPU time (user + system) of this process's reaped children, in us."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * 1e6


def proc_cpu_us(pid):
    """CPU time (user + system) of a process from /proc, in us; -1 when unknown."""
    if not pid:
        return -1
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1e6 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return -1


def rss_kb(pid):
    """VmRSS of a process in kB, -1 when it cannot be read."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Bench:
    def __init__(self, port, logdir, redis_pid):
        self.port = port
        self.redis_pid = redis_pid
        self.url = "redis://127.0.0.1:%d" % port
        self.redis = Redis(host="127.0.0.1", port=port)
        self.logdir = logdir
        self.nlogs = 0

    def spawn_worker(self, queue, burst):
        """Starts `rq worker` (--quiet, as dcmp-worker runs with LOG_LEVEL=warn)."""
        argv = rq_command() + ["worker", "--url", self.url, "--quiet", "--name",
                               "bench-%s-%d" % (queue, self.nlogs)]
        if burst:
            argv.append("--burst")
        argv.append(queue)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": HERE,
               "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        log = open(os.path.join(self.logdir, "rq-worker-%d.log" % self.nlogs), "ab")
        self.nlogs += 1
        proc = subprocess.Popen(argv, cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return proc

    def finished(self, queue):
        # The registry's zset, read directly: Registry.count also runs a cleanup.
        return self.redis.zcard("rq:finished:%s" % queue)

    def wait_finished(self, queue, target, poll_s, procs=(), rss=None):
        start = time.monotonic()
        next_rss = start
        while True:
            t = time.monotonic()
            if self.finished(queue) >= target:
                return time.monotonic()
            if t - start > WAIT_LIMIT_S:
                sys.exit("rq_bench: %s: %d of %d jobs finished after %d s; see %s" %
                         (queue, self.finished(queue), target, WAIT_LIMIT_S, self.logdir))
            if rss is not None and t >= next_rss:
                next_rss = t + 0.01
                for p in procs:
                    rss[0] = max(rss[0], rss_kb(p.pid))
            time.sleep(poll_s)

    def throughput_burst(self, workers, jobs, rss_busy):
        queue = "rqburst%d" % workers
        q = Queue(queue, connection=self.redis)
        base = self.finished(queue)
        with self.redis.pipeline() as pipe:
            q.enqueue_many([Queue.prepare_data("rq_noop.noop") for _ in range(jobs)],
                           pipeline=pipe)
            pipe.execute()
        cpu0, rcpu0 = children_cpu_us(), proc_cpu_us(self.redis_pid)
        t0 = time.monotonic()
        procs = [self.spawn_worker(queue, True) for _ in range(workers)]
        t1 = self.wait_finished(queue, base + jobs, 0.005, procs, rss_busy)
        rcpu = proc_cpu_us(self.redis_pid)
        for p in procs:
            p.wait(timeout=60)
        cpu = children_cpu_us() - cpu0  # the workers and every work horse they reaped
        s = t1 - t0
        print("T|rq|burst|%d|%d|%.3f|%.0f" % (workers, jobs, s, jobs / s))
        print("C|rq|CPU: worker + its work horses, burst, %d worker(s)|%d|%.1f" %
              (workers, jobs, cpu / jobs))
        if rcpu0 >= 0 and rcpu >= 0:
            print("C|rq|CPU: redis-server (10 ms ticks), burst, %d worker(s)|%d|%.1f" %
                  (workers, jobs, (rcpu - rcpu0) / jobs))
        sys.stdout.flush()

    def latency(self, what, length, runs):
        queue = "rqlat-%s" % what
        q = Queue(queue, connection=self.redis)
        proc = self.spawn_worker(queue, False)

        def enqueue():
            jobs = [q.enqueue("rq_noop.noop")]
            for _ in range(length - 1):
                jobs.append(q.enqueue("rq_noop.noop", depends_on=jobs[-1]))
            return jobs

        base = self.finished(queue) + 3 * length
        for _ in range(3):  # warm-up: the worker is up and has imported the job's module
            enqueue()
        self.wait_finished(queue, base, 0.005)
        time.sleep(0.1)
        idle = rss_kb(proc.pid)
        client, server = [], []
        for _ in range(runs):
            time.sleep(0.003)
            t0 = time.monotonic()
            jobs = enqueue()
            t1 = self.wait_finished(queue, base + length, 0.0001)
            base += length
            client.append((t1 - t0) * 1000)
            first = Job.fetch(jobs[0].id, connection=self.redis)
            last = Job.fetch(jobs[-1].id, connection=self.redis)
            server.append((last.ended_at - first.enqueued_at).total_seconds() * 1000)
        proc.terminate()
        proc.wait(timeout=60)
        print("L|rq|%s|%d|%.2f|%.2f|%.1f|%.1f" % (what, runs, median(client), p95(client),
                                                 median(server), p95(server)), flush=True)
        return idle


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def p95(v):
    v = sorted(v)
    return v[max(0, math.ceil(0.95 * len(v)) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True, help="where the workers' logs go")
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--redis-pid", type=int, default=0, help="to count its CPU time")
    a = ap.parse_args()
    b = Bench(a.port, a.dir, a.redis_pid)
    rss_busy = [-1]
    print("rq: throughput, burst, 1 and 2 workers, %d jobs each" % a.jobs, file=sys.stderr)
    b.throughput_burst(1, a.jobs, rss_busy)
    b.throughput_burst(2, a.jobs, rss_busy)
    print("rq: latency, %d runs each" % a.runs, file=sys.stderr)
    idle = max(b.latency("single", 1, a.runs), b.latency("chain3", 3, a.runs))
    print("M|rq|worker idle (max of the waiting workers)|%d" % idle)
    print("M|rq|worker running jobs (max sampled every 10 ms)|%d" % rss_busy[0])


if __name__ == "__main__":
    main()
