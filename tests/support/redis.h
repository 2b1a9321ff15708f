/* redis.h -- test fixture: a real redis-server and real dcmp-worker processes in a temp dir. */
#ifndef DCMP_TEST_REDIS_H
#define DCMP_TEST_REDIS_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "job.h"
#include "queue.h"

#define FIXTURE_MAX_WORKERS 32

typedef struct fixture {
    char dir[PATH_MAX];       /* temp dir: redis data, logs, DATA */
    char data[PATH_MAX + 16]; /* DATA for the workers */
    int port;
    pid_t redis;
    pid_t workers[FIXTURE_MAX_WORKERS];
    int nworkers;
    dcmp_queue *q;          /* a client for the test itself */
    const char *worker_ttl; /* WORKER_TTL given to workers, default "2s" */
    const char *modules;    /* MODULES given to workers, default $DCMP_TEST_MODULES */
    int scripts;            /* run MODULES/<service>/script.sh at start (default: no) */
    const char *netns;      /* run workers in this network namespace (ip netns exec), or NULL */
    const char *redis_host; /* REDIS_HOST given to workers, default 127.0.0.1 */
    const char *password;   /* REDIS_PASSWORD given to workers, or NULL */
} fixture;

/* Starts redis-server (AOF on, fsync always) on a free loopback port in a new
 * temp dir and connects f->q. Returns 0 or -1 (message printed). */
int fixture_start(fixture *f);

/* A TCP port free on 127.0.0.1 right now (another process may take it before use). */
int fixture_free_port(void);

/* VmRSS of a process in kB, -1 when it cannot be read (the process ended). */
long fixture_rss_kb(pid_t pid);

/* A field in kB of /proc/PID/status ("VmRSS", "RssAnon"), -1 when it cannot be read. */
long fixture_status_kb(pid_t pid, const char *field);

/* CPU time (user + system, all threads, in clock ticks turned into us) a process used so far,
 * -1 when it cannot be read. */
long long fixture_cpu_us(pid_t pid);

/* The processes whose parent is `parent`, right now: their number, and the sums of their
 * VmRSS (kB) into *rss_kb and of their CPU time (us) into *cpu_us, which also counts the
 * children `parent` already waited for (either may be NULL). */
int fixture_children(pid_t parent, long *rss_kb, long long *cpu_us);

/* Stops redis (SIGTERM, waits) and starts it again on the same port and data. */
int fixture_redis_restart(fixture *f);

/* CONFIG SET name value on f's Redis (with f->password when set), through redis-cli, whose
 * output goes to DIR/redis-cli.log. Returns 0 or -1 (message printed). */
int fixture_redis_config(fixture *f, const char *name, const char *value);

/* Makes f's Redis listen also on `binds` (addresses split by spaces; 127.0.0.1 stays) and
 * require `password` (borrowed: it must outlive f), which f->q and the workers started
 * afterwards use. Returns 0 or -1 (message printed). */
int fixture_redis_open(fixture *f, const char *binds, const char *password);

/* Starts a dcmp-worker serving `queues` with extra "K=V" environment entries
 * (NULL-terminated, may be NULL). Its log goes to DIR/worker-N.log. */
pid_t fixture_worker(fixture *f, const char *queues, const char *const *env);

/* Starts $DCMP_SCHEDULER_BIN on 127.0.0.1:port against f's Redis: REGISTRY base/registry,
 * SETTINGS base/settings.json, DATA f->data, no .env, and the extra "K=V" entries
 * (NULL-terminated, at most 16, may be NULL; they win over the ones above). Its output is
 * appended to log. Returns its pid, or -1. */
pid_t fixture_scheduler(fixture *f, int port, const char *base, const char *const *extra,
                        const char *log);

/* Sends sig to a worker and waits for it (SIGKILL: no cleanup at all). */
void fixture_worker_stop(fixture *f, pid_t pid, int sig);

/* Waits (polling, up to timeout_ms) until job `id` is in `state`. Returns 0 or -1. */
int fixture_wait_state(fixture *f, const char *id, const char *state, int timeout_ms);

/* Waits until `n` jobs of `queue` are finished. Returns 0 or -1. */
int fixture_wait_count(fixture *f, const char *queue, const char *state, int64_t n, int timeout_ms);

/* Reads a job's state into state[16] ("" when the job does not exist). */
int fixture_state(fixture *f, const char *id, char state[16]);

/* Enqueues a graph. jobs[i] = "name|func|queue|deps" with deps a comma list of
 * indexes into jobs ("" for none); params is the kwargs' params for all.
 * Writes the ids into ids[i]. Returns 0 or -1. */
int fixture_enqueue(fixture *f, const char *const *jobs, int n, const char *params, int64_t timeout,
                    char ids[][DCMP_ID_LEN]);

/*
 * Runs argv (argv[0] a path, NULL-terminated) with exactly the environment envp, only fds 0-2
 * open (as from a shell), its stdout and stderr together into out[size] (cut, NUL-terminated).
 * Waits for it. Returns its exit status, or -1 when it could not start or was killed.
 */
int fixture_run(fixture *f, char *const *argv, char *const *envp, char *out, size_t size);

/* Writes text to path as an install does: into path.new, then renamed over path (a new
 * file, never a half-written one). Returns 0, or -1 (reported on stderr). */
int fixture_write_new(const char *path, const char *text);

/* Reads DATA/<name> into a new string (free it) or NULL. */
char *fixture_read_data(fixture *f, const char *name);

/* Kills every worker and redis by pid, removes the temp dir unless the
 * test failed (then it is kept and named). */
void fixture_stop(fixture *f, int failed);

#endif
