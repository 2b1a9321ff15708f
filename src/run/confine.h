/* confine.h -- what a job's process gets: an allow-listed environment, resource limits, and
 * the end of every process it started. */
#ifndef DCMP_CONFINE_H
#define DCMP_CONFINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

#define DCMP_CONFINE_ENV_MAX    256               /* variables a job's environment holds at most */
#define DCMP_CONFINE_SCOPED_MAX 4096              /* bytes of the variables given to one job only */
#define DCMP_CONFINE_LIMITS_ENV "DCMP_JOB_LIMITS" /* how an executor learns its limits */

/* The worker-wide limits of one job's process; 0: no limit. */
typedef struct dcmp_confine_limits {
    int64_t memory; /* JOB_MEMORY_LIMIT: bytes of address space (RLIMIT_AS) */
    int64_t cpu;    /* JOB_CPU_LIMIT: seconds of CPU time per job (RLIMIT_CPU) */
    int64_t files;  /* JOB_FILES_LIMIT: open descriptors (RLIMIT_NOFILE) */
} dcmp_confine_limits;

/* What the caller of an executor confines its jobs with (borrowed strings). */
typedef struct dcmp_confine {
    const char *extra; /* JOB_ENV: more variable names every job gets, blank separated */
    dcmp_confine_limits limits;
    dcmp_cgroup *cgroup; /* where each job process gets a cgroup; NULL: none (subreaper only) */
} dcmp_confine;

/*
 * The environment of a process that runs service code: the variables of `env` whose names are
 * on the allow-list (system ones such as PATH, HOME, LANG, TZ; the stack's folders; Orthanc's
 * REST address and login; storageManager's default destination), or named in c->extra, plus
 * DCMP_JOB_LIMITS carrying c->limits. Never the dashboard's or Redis' password, the webhook
 * token or a variable given to one service only (ANONYMIZER_SECRET). Returns a NULL-ended
 * array (new: free with dcmp_confine_free_env), NULL when out of memory. c may be NULL.
 */
char **dcmp_confine_env(char *const *env, const dcmp_confine *c);

/*
 * dcmp_confine_env for a process that runs the service code found under `root` (borrowed; NULL:
 * as dcmp_confine_env): it also gets the root under the name the original's containers gave
 * it, REGISTRY for a scheduler's callbacks (callbacks nonzero), MODULES for workers, in place
 * of any such variable of `env`.
 */
char **dcmp_confine_env_root(char *const *env, const dcmp_confine *c, int callbacks,
                             const char *root);

/* Frees what dcmp_confine_env returned (NULL is fine). */
void dcmp_confine_free_env(char **env);

/*
 * The variables only the functions of one service get, for a job of `func` (dotted), taken
 * from this process' environment: "NAME=VALUE" lines, each ended by '\n', into out (size
 * bytes; "" when none). Today: ANONYMIZER_SECRET and ANONYMIZER_TABLES for
 * base.dicomAnonymizer.* (which reads them with getenv). A value holding a newline is left
 * out. Returns the length written.
 */
size_t dcmp_confine_scoped(const char *func, char *out, size_t size);

/* In the job's process: puts the "NAME=VALUE\n" lines of `scoped` into the environment (set
 * 1), or takes those names out again (set 0). */
void dcmp_confine_apply_scoped(const char *scoped, int set);

/* Reads DCMP_JOB_LIMITS ("MEMORY CPU FILES", whole numbers) into *l; all 0 when unset. Returns
 * 0, or -1 with err when the text is malformed. */
int dcmp_confine_limits_from_env(dcmp_confine_limits *l, char *err);

/*
 * In a process about to run jobs: applies the memory and open-file limits (soft and hard: a
 * job cannot raise them) and makes the process a child subreaper, so that every process a job
 * starts, even one that leaves its session (setsid) and its parent, stays a descendant of
 * this process and can be found and killed. Returns 0, or -1 with err.
 */
int dcmp_confine_enter(const dcmp_confine_limits *l, char *err);

/* Before each job in such a process: its CPU time limit, counted from the CPU time used so
 * far (the process may have run other jobs). */
void dcmp_confine_job_cpu(const dcmp_confine_limits *l);

/*
 * Kills every descendant of `root` (not root itself) with SIGKILL, found through /proc, round
 * after round until none is left (a process forked meanwhile is found in the next round), at
 * most `rounds` rounds. Returns the number of processes killed.
 */
int dcmp_confine_kill_descendants(pid_t root, int rounds);

/* Reads /proc/PID/stat into buf (size bytes) and returns where the fields after the command
 * name begin (state ppid pgrp ...: the name is in parentheses and may hold blanks and
 * parentheses), or NULL when the process is gone. */
const char *dcmp_confine_proc_stat(pid_t pid, char *buf, size_t size);

/* Reaps every ended child of this process without waiting. */
void dcmp_confine_reap(void);

/* Makes err say more about a job's process that died of `sig` under these limits ("used its
 * CPU time limit", "its memory limit ..."); err unchanged otherwise. */
void dcmp_confine_explain(int sig, const dcmp_confine_limits *l, char *err, size_t size);

#endif
