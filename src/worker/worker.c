/* worker.c -- the dcmp-worker loop: fetch in priority order, run, report, heartbeat, reap. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "executor.h"
#include "inputs.h"
#include "sweeper.h"

extern char **environ;

int worker_init(worker *w, const dcmp_config *cfg, const char *queues, const char *name,
                volatile sig_atomic_t *stop, char *err)
{
    unsigned char rnd[2] = {0, 0};
    char exe[PATH_MAX];
    int n;

    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    w->stop = stop;
    n = dcmp_config_split_queues(queues ? queues : cfg->worker_jobs, w->queue_buf,
                                 sizeof w->queue_buf, w->queues, WORKER_MAX_QUEUES, err);
    if (n < 0)
        return -1;
    w->nqueues = n;
    if (gethostname(w->host, sizeof w->host) < 0)
        dcmp_strlcpy(w->host, "localhost", sizeof w->host);
    w->host[sizeof w->host - 1] = '\0';
    if (name) {
        if (dcmp_strlcpy(w->name, name, sizeof w->name) < 0 || strpbrk(name, " \t\r\n") != NULL)
            return dcmp_seterr(err, "worker name \"%s\": no blanks, at most %d characters", name,
                               DCMP_WORKER_LEN - 1);
    } else {
        if (getrandom(rnd, sizeof rnd, 0) < 0)
            rnd[0] = rnd[1] = 0;
        snprintf(w->name, sizeof w->name, "%.100s.%ld.%02x%02x", w->host, (long)getpid(), rnd[0],
                 rnd[1]);
    }
    if ((w->q = dcmp_queue_from_config(cfg)) == NULL)
        return dcmp_seterr(err, "out of memory");
    /* 0: Redis stamps the registration with its own clock (a host's clock may be off) */
    w->birth_ms = 0;
    w->use_pool = strcmp(cfg->executor, "pool") == 0;
    if (w->use_pool && dcmp_pool_executor(exe, sizeof exe, err) < 0)
        return -1;
    dcmp_pool_init(&w->pool, cfg->modules, cfg->data, (long)cfg->recycle);
    w->confine.extra = cfg->job_env;
    w->confine.limits.memory = cfg->job_memory;
    w->confine.limits.cpu = cfg->job_cpu;
    w->confine.limits.files = cfg->job_files;
    w->pool.confine = &w->confine;
    if (dcmp_cgroup_init(&w->cgroup, "worker") == 0)
        w->confine.cgroup = &w->cgroup;
    return 0;
}

void worker_free(worker *w)
{
    dcmp_pool_stop(&w->pool);
    dcmp_cgroup_free(&w->cgroup);
    dcmp_queue_free(w->q);
    w->q = NULL;
}

static int stopping(worker *w)
{
    if (*w->stop && w->stop_seen == 0) {
        w->stop_seen = dcmp_clock_mono_ms();
        dcmp_log_info("stopping: %s", w->current[0] ? "the running job may finish first" : "idle");
    }
    return *w->stop != 0;
}

/* Registers (heartbeat) and puts back stale entries of our processing list. */
static int announce(worker *w)
{
    int64_t back = 0, sent = dcmp_clock_mono_ms();
    char joined[1024];
    int i;
    size_t used = 0;

    joined[0] = '\0';
    for (i = 0; i < w->nqueues; i++)
        used += (size_t)snprintf(joined + used, sizeof joined - used, "%s%s", i ? " " : "",
                                 w->queues[i]);
    if (dcmp_queue_heartbeat(w->q, w->name, joined, (long)getpid(), w->host, w->birth_ms) < 0)
        return -1;
    /* the lease runs from when this beat was sent: Redis set its TTL later than that */
    w->beat_ok = sent;
    if (dcmp_queue_recover(w->q, w->name, w->current, &back) < 0)
        return -1;
    if (back > 0)
        dcmp_log_warn("put back %lld job(s) left in this worker's processing list",
                      (long long)back);
    return 0;
}

/* Waits for Redis with backoff until it answers or the worker stops.
 * Returns 0 when connected and registered. */
static int reconnect(worker *w)
{
    int64_t delay = 100;
    int logged = 0;

    for (;;) {
        if (dcmp_queue_connect(w->q) == 0 && announce(w) == 0) {
            if (logged)
                dcmp_log_info("redis %s:%d is back", w->cfg->redis_host, w->cfg->redis_port);
            return 0;
        }
        if (!logged || delay >= 5000) {
            dcmp_log_warn("%s; retrying in %lld ms", dcmp_queue_errstr(w->q), (long long)delay);
            logged = 1;
        }
        if (*w->stop >= 2 || (stopping(w) && w->current[0] == '\0'))
            return -1;
        dcmp_clock_sleep_ms(delay);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
}

/* A script's heartbeat: the worker stays registered while a long script.sh runs. */
static void script_beat(void *arg)
{
    worker *w = arg;

    if (dcmp_queue_connected(w->q) && announce(w) < 0)
        dcmp_log_warn("heartbeat: %s", dcmp_queue_errstr(w->q));
}

/* How long a sweep's child may take: one beat interval, so that a slow engine or Redis delays
 * the sweep to a later beat but never makes the worker miss its heartbeat (the engine's calls
 * are bounded at DCMP_ENGINE_SWEEP_MS each in it too). */
static int64_t sweep_limit(const worker *w)
{
    return w->cfg->heartbeat_ttl_ms / 4;
}

/* Removes the containers of jobs that no longer run (docs/containers.md): their worker died,
 * and the reaper gave the job back. */
static void sweep_orphans(worker *w)
{
    char err[DCMP_ERR_LEN];
    int n = worker_sweeper_run(w->cfg, NULL, w->name, sweep_limit(w), err);

    if (n < 0)
        dcmp_log_warn("containers of ended jobs: %s", err);
    else if (n > 0)
        dcmp_log_warn("removed %d container(s) of jobs that no longer run", n);
}

/* Heartbeat, reaping of dead workers, due retries: once per beat interval. */
static void maintain(worker *w)
{
    int64_t now = dcmp_clock_mono_ms(), counts[3] = {0, 0, 0}, promoted = 0;

    if (w->scripts_on && now >= w->next_scan) {
        worker_scripts_run(&w->scripts, w->cfg->modules, script_beat, w,
                           w->cfg->heartbeat_ttl_ms / 4);
        now = dcmp_clock_mono_ms();
        w->next_scan = now + WORKER_SCRIPT_SCAN_MS;
    }

    if (now < w->next_beat)
        return;
    w->next_beat = now + w->cfg->heartbeat_ttl_ms / 4;
    if (announce(w) < 0 || dcmp_queue_reap(w->q, counts) < 0 ||
        dcmp_queue_promote(w->q, &promoted) < 0) {
        dcmp_log_warn("maintenance: %s", dcmp_queue_errstr(w->q));
        return;
    }
    if (counts[0] > 0)
        dcmp_log_warn("reaped %lld dead worker(s): %lld job(s) put back, %lld failed for good",
                      (long long)counts[0], (long long)counts[1], (long long)counts[2]);
    /* once per WORKER_TTL, not every beat: a sweep's child costs about 25 ms of CPU (it loads
     * the engine client), and a job is reaped only after WORKER_TTL anyway */
    if (now >= w->next_sweep) {
        w->next_sweep = now + w->cfg->heartbeat_ttl_ms;
        sweep_orphans(w);
    }
}

/* True once no heartbeat has reached Redis for WORKER_TTL (this host's monotonic clock): the
 * reaper may have given the running job to another worker, so it must not run on here. */
static int lease_lost(worker *w)
{
    int64_t silent = dcmp_clock_mono_ms() - w->beat_ok;

    if (silent <= w->cfg->heartbeat_ttl_ms)
        return 0;
    dcmp_log_error("job %s: no heartbeat reached redis %s:%d for %lld ms (WORKER_TTL %lld ms): "
                   "this worker counts as dead and the job may run elsewhere; killing it, its "
                   "end is not reported",
                   w->current, w->cfg->redis_host, w->cfg->redis_port, (long long)silent,
                   (long long)w->cfg->heartbeat_ttl_ms);
    w->cut_off = 1;
    return 1;
}

/* Called by the executor once a second while a job runs. */
static int tick(void *arg)
{
    worker *w = arg;

    /* before and after the heartbeat: a beat to a cut-off Redis blocks until it times out */
    if (lease_lost(w))
        return 1;
    if (dcmp_queue_connected(w->q) || dcmp_queue_connect(w->q) == 0)
        maintain(w);
    if (lease_lost(w))
        return 1;
    if (!stopping(w))
        return 0;
    if (*w->stop >= 2)
        return 1;
    return dcmp_clock_mono_ms() - w->stop_seen >= w->cfg->stop_grace * 1000;
}

/* Records the end of `job`. After a success it also takes the next job in the same round
 * trip when it can: returns 1 with *next filled, else 0. */
static int report(worker *w, const dcmp_job *job, const dcmp_executor_outcome *o, dcmp_job *next)
{
    char outcome[16] = "";
    int rc, got = 0;

    if (o->status == DCMP_EXEC_OK && next && !*w->stop) {
        got = dcmp_queue_finish_fetch(w->q, w->name, job->id, o->result, o->log, outcome, w->queues,
                                      w->nqueues, next);
        if (got < 0 && dcmp_queue_err(w->q) == DCMP_QUEUE_ENOWORKER) {
            /* the finish was recorded (or stale); only the fetch needs a registration */
            w->next_beat = 0;
            got = 0;
        }
    }
    for (; got < 0 || outcome[0] == '\0';) {
        if (o->status == DCMP_EXEC_OK)
            rc = dcmp_queue_finish(w->q, w->name, job->id, o->result, o->log, outcome);
        else if (o->status == DCMP_EXEC_STOPPED)
            rc = dcmp_queue_giveback(w->q, w->name, job->id, outcome);
        else
            rc = dcmp_queue_fail(w->q, w->name, job->id, o->error, o->log, outcome);
        if (rc == 0) {
            got = 0;
            break;
        }
        if (dcmp_queue_err(w->q) != DCMP_QUEUE_EIO) {
            dcmp_log_error("job %s: cannot record its end: %s", job->id, dcmp_queue_errstr(w->q));
            return 0;
        }
        dcmp_log_warn("job %s: cannot record its end yet: %s", job->id, dcmp_queue_errstr(w->q));
        if (reconnect(w) < 0) {
            dcmp_log_error("job %s: stopping before its end was recorded: it will run again",
                           job->id);
            return 0;
        }
    }
    if (strcmp(outcome, "stale") == 0)
        dcmp_log_warn("job %s %s: was given to another worker meanwhile; this run's end is "
                      "not recorded",
                      job->id, job->name);
    else if (o->status == DCMP_EXEC_OK)
        dcmp_log_info("job %s %s: finished in %lld ms", job->id, job->name, (long long)o->ms);
    else if (o->status == DCMP_EXEC_STOPPED)
        dcmp_log_info("job %s %s: given back to queue %s", job->id, job->name, job->queue);
    else
        /* "its process ended abnormally": a crash or a timeout, which ended the job's process
         * (the worker itself is untouched), as opposed to the function returning an error */
        dcmp_log_warn("job %s %s: failed after %lld ms%s; %s: %s", job->id, job->name,
                      (long long)o->ms,
                      o->status == DCMP_EXEC_FAILED ? "" : ", its process ended abnormally",
                      strcmp(outcome, "retry") == 0 ? "it will run again (retry)" : "no retry left",
                      o->error);
    if (o->status == DCMP_EXEC_OK)
        w->done++;
    else if (o->status != DCMP_EXEC_STOPPED)
        w->failed++;
    return got;
}

/* The worker's log line for one dependency's result (dcmp_inputs_merge). */
static void input_note(void *arg, int warn, const char *msg)
{
    const dcmp_job *job = arg;

    if (warn)
        dcmp_log_warn("job %s %s: %s", job->id, job->name, msg);
    else
        dcmp_log_info("job %s %s: %s", job->id, job->name, msg);
}

/* What the job's finished dependencies gave becomes part of its added_params, for this run
 * (docs/job-engine.md, "Results to dependents"); the job in Redis keeps its planned kwargs. */
static void take_inputs(dcmp_job *job)
{
    char err[DCMP_ERR_LEN], *kwargs = NULL;
    int rc = dcmp_inputs_merge(job->kwargs, job->inputs, &kwargs, input_note, job, err);

    if (rc < 0) {
        dcmp_log_warn("job %s %s: its dependencies' results: %s: it runs with its planned kwargs",
                      job->id, job->name, err);
    } else if (rc > 0) {
        free(job->kwargs);
        job->kwargs = kwargs;
    }
}

/* Runs a job and records its end; returns 1 when *next holds the next job. */
static int run_job(worker *w, dcmp_job *job, dcmp_job *next)
{
    dcmp_executor_outcome o;
    int rc, got, cut;

    dcmp_strlcpy(w->current, job->id, sizeof w->current);
    dcmp_log_info("job %s %s: started (%s, queue %s, attempt %lld)", job->id, job->name, job->func,
                  job->queue, (long long)job->attempts);
    take_inputs(job);
    rc = w->use_pool
             ? dcmp_pool_run(&w->pool, job, tick, w, &o)
             : dcmp_executor_run(job, w->cfg->modules, w->cfg->data, &w->confine, tick, w, &o);
    cut = w->cut_off;
    w->cut_off = 0;
    if (o.status == DCMP_EXEC_TIMEOUT || o.status == DCMP_EXEC_CRASHED ||
        o.status == DCMP_EXEC_STOPPED) {
        /* its process was killed: a container it ran was not removed by it */
        char err[DCMP_ERR_LEN];
        if (worker_sweeper_run(w->cfg, job->id, w->name, sweep_limit(w), err) < 0)
            dcmp_log_warn("job %s: its containers: %s", job->id, err);
    }
    if (cut && o.status == DCMP_EXEC_STOPPED) {
        /* Killed for a lost lease: no report. Left in our processing list, it is put back by
         * the reaper, or by dcmp_queue_recover when this worker registers again first. */
        got = 0;
    } else if (rc < 0) {
        /* No child: the job did not run. Give it back and slow down. */
        dcmp_log_error("job %s: %s", job->id, o.error);
        o.status = DCMP_EXEC_STOPPED;
        got = report(w, job, &o, NULL);
        dcmp_clock_sleep_ms(1000);
    } else {
        got = report(w, job, &o, next);
    }
    free(o.result);
    /* A job fetched with the report is in our processing list already: it is ours from now
     * on, so that a heartbeat before it starts does not put it back (recover keeps only
     * w->current), where another worker would take it and it would run twice. */
    if (got > 0)
        dcmp_strlcpy(w->current, next->id, sizeof w->current);
    else
        w->current[0] = '\0';
    return got;
}

int worker_run(worker *w)
{
    char queues[1024];
    dcmp_job job, next;
    size_t used = 0;
    int i, have = 0;

    for (i = 0; i < w->nqueues; i++)
        used += (size_t)snprintf(queues + used, sizeof queues - used, "%s%s", i ? ", " : "",
                                 w->queues[i]);
    if (reconnect(w) < 0)
        return 1;
    dcmp_log_info("worker %s serving %s (redis %s:%d, modules %s, executor %s)", w->name, queues,
                  w->cfg->redis_host, w->cfg->redis_port, w->cfg->modules, w->cfg->executor);
    /* how what a job starts is found and killed (docs/job-engine.md) */
    if (w->confine.cgroup)
        dcmp_log_info("jobs are contained by a cgroup each, under %s", w->cgroup.base);
    else
        dcmp_log_info("jobs are contained as descendants of their process (subreaper): no "
                      "cgroup, %s",
                      w->cgroup.why);
    sweep_orphans(w);
    while (!stopping(w)) {
        int got;

        maintain(w);
        if (have) {
            /* fetched with the last job's report */
            have = run_job(w, &job, &next);
            dcmp_job_clear(&job);
            job = next;
            continue;
        }
        got = dcmp_queue_fetch(w->q, w->name, w->queues, w->nqueues, &job);
        if (got > 0) {
            have = run_job(w, &job, &next);
            dcmp_job_clear(&job);
            job = next;
            continue;
        }
        if (got == 0) {
            if (w->burst)
                break;
            int64_t wait = w->next_beat - dcmp_clock_mono_ms();
            if (wait > 1000)
                wait = 1000;
            if (wait < 1)
                wait = 1;
            if (dcmp_queue_wait(w->q, w->queues, w->nqueues, (int)wait) >= 0)
                continue;
        }
        if (dcmp_queue_err(w->q) == DCMP_QUEUE_ENOWORKER) {
            dcmp_log_warn("this worker was reaped as dead (missed heartbeats): registering again");
            w->next_beat = 0;
            continue;
        }
        dcmp_log_warn("%s", dcmp_queue_errstr(w->q));
        if (dcmp_queue_err(w->q) == DCMP_QUEUE_EIO) {
            if (reconnect(w) < 0)
                break;
        } else {
            dcmp_clock_sleep_ms(1000);
        }
    }
    if (have) {
        /* taken with the last report, then the stop came: back to the front of its queue */
        if (dcmp_queue_giveback(w->q, w->name, job.id, NULL) < 0)
            dcmp_log_warn("job %s: %s (it will be put back)", job.id, dcmp_queue_errstr(w->q));
        dcmp_job_clear(&job);
    }
    if (dcmp_queue_unregister(w->q, w->name) < 0)
        dcmp_log_warn("could not unregister: %s", dcmp_queue_errstr(w->q));
    dcmp_log_info("worker %s stopped: %ld job(s) finished, %ld failed", w->name, w->done,
                  w->failed);
    return 0;
}

void worker_run_scripts(worker *w)
{
    worker_scripts_run(&w->scripts, w->cfg->modules, NULL, NULL, 0);
    w->next_scan = dcmp_clock_mono_ms() + WORKER_SCRIPT_SCAN_MS;
}
