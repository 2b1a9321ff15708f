/* config.h -- settings from the .env file and the environment, with the original's names. */
#ifndef DCMP_CONFIG_H
#define DCMP_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define DCMP_ENV_MAX_ITEMS 512
#define DCMP_ENV_MAX_FILE  (256 * 1024)
#define DCMP_ENV_MAX_VALUE 4096

/* The key/value pairs of one .env file. */
typedef struct dcmp_env {
    size_t n;
    char *keys[DCMP_ENV_MAX_ITEMS];   /* owned */
    char *values[DCMP_ENV_MAX_ITEMS]; /* owned */
} dcmp_env;

/*
 * Parses .env text: `KEY=VALUE` lines, an optional `export ` before the key,
 * `#` comments and blank lines, values in '...' (taken as is) or "..." or
 * bare (where `${NAME}` and `$NAME` expand from earlier keys of the same text,
 * then from the environment). A later key overrides an earlier one. Pure
 * apart from reading the environment for expansion. `origin` names the text
 * in errors ("path/.env:12: ..."). Returns 0 or -1 with err; on error env
 * holds the lines before the bad one (free it either way).
 */
int dcmp_config_parse_env(dcmp_env *env, const char *text, const char *origin, char *err);

/* Reads and parses a .env file (at most DCMP_ENV_MAX_FILE bytes). */
int dcmp_config_load_env(dcmp_env *env, const char *path, char *err);

/* Frees what the env holds; the struct may be reused after. */
void dcmp_config_free_env(dcmp_env *env);

/*
 * The value of the first of `names` (NULL-terminated) that is set: each name
 * is looked up in the process environment first, then in env (which may be
 * NULL). Returns the borrowed value or NULL.
 */
const char *dcmp_config_lookup(const dcmp_env *env, const char *const *names);

/* Everything the daemons read, resolved. */
typedef struct dcmp_config {
    char env_file[PATH_MAX];    /* the .env file read, "" when none */
    char redis_host[256];       /* REDIS_HOST, default 127.0.0.1 */
    int redis_port;             /* REDIS_PORT, default 6379 */
    char redis_password[256];   /* REDIS_PSWD (alias REDIS_PASSWORD), default none */
    char worker_jobs[1024];     /* WORKER_JOBS: queues in priority order, default "default" */
    char default_priority[128]; /* DEFUALT_PRIORITY (alias DEFAULT_PRIORITY), default "default" */
    char basedir[PATH_MAX];     /* BASEDIR, default "." */
    char modules[PATH_MAX];     /* MODULES, default $BASEDIR/modules */
    char registry[PATH_MAX];    /* REGISTRY, default $BASEDIR/registry */
    char data[PATH_MAX];        /* DATA, default $BASEDIR/data */
    char logs[PATH_MAX];        /* LOGS, default $BASEDIR/logs */
    char settings[PATH_MAX];    /* SETTINGS: the system settings file, default settings.json in
                                 * the folder that holds REGISTRY */
    char log_level[16];         /* LOG_LEVEL: debug, info, warn, error */
    int64_t ttl_finished;       /* JOB_TTL_FINISHED, seconds, default 1 day */
    int64_t ttl_failed;         /* JOB_TTL_FAILED, seconds, default 30 days */
    int64_t max_crashes;        /* WORKER_MAX_CRASHES, default 3 */
    int64_t heartbeat_ttl_ms;   /* WORKER_TTL: a worker silent this long is dead, default 5s */
    int64_t stop_grace; /* WORKER_STOP_GRACE: seconds a job may finish after SIGTERM, default 8 */
    char executor[8];   /* WORKER_EXECUTOR: "pool" (default) or "fork" (a child per job) */
    int64_t recycle;    /* WORKER_RECYCLE: jobs a pool executor runs before it is replaced */
    char job_env[1024]; /* JOB_ENV: more variable names every job's environment gets */
    int64_t job_memory; /* JOB_MEMORY_LIMIT: bytes of address space per job, 0 = none */
    int64_t job_cpu;    /* JOB_CPU_LIMIT: seconds of CPU time per job, 0 = none */
    int64_t job_files;  /* JOB_FILES_LIMIT: open descriptors per job, 0 = none */
    int64_t callback_timeout;   /* CALLBACK_TIMEOUT: seconds a callback may take, default 10 */
    int64_t callback_recycle;   /* CALLBACK_RECYCLE: events a callback executor serves before it
                                 * is replaced, default 10000 */
    int64_t scheduler_port;     /* SCHEDULER_PORT, default 5000 (the original's) */
    char scheduler_bind[64];    /* SCHEDULER_BIND: address the scheduler listens on, 127.0.0.1 */
    char scheduler_name[64];    /* SCHEDULER_NAME: this scheduler's processing list, "scheduler" */
    char webhook_token[256];    /* WEBHOOK_TOKEN: when set, webhooks need "Bearer <token>" */
    char metrics_token[256];    /* METRICS_TOKEN: when set, GET /metrics needs "Bearer <it>" (the
                                 * webhook token works too); "" = the webhook token's rule */
    int64_t webhook_rate;       /* WEBHOOK_RATE: webhook posts a second per client address,
                                 * 10 s of them at once; 0 = no limit; default 200 */
    int64_t max_body;           /* SCHEDULER_MAX_BODY: bytes of a webhook body, default 8 MiB */
    int64_t seen_ttl;           /* EVENT_DEDUP_TTL: how long a series version is remembered, 30d */
    int64_t event_max_takes;    /* EVENT_MAX_TAKES: an event taken this often without being
                                 * finished is failed (quarantined), default 3 */
    int64_t plan_timeout;       /* PLAN_TIMEOUT: seconds planning one event may take, 30 min */
    char orthanc_url[512];      /* ORTHANC_REST_URL: where series are fetched from; "" = never */
    char orthanc_user[256];     /* ORTHANC_REST_USERNAME */
    char orthanc_password[256]; /* ORTHANC_REST_PASSWORD */
    int64_t catchup_interval;   /* CATCHUP_INTERVAL: seconds between /changes scans, default 60 */
    int64_t catchup_stable_after; /* CATCHUP_STABLE_AFTER: a series without StableSeries whose
                                   * LastUpdate is this old is planned anyway, default 120 s */
    int64_t planners;             /* SCHEDULER_PLANNERS: planning threads, 1 to 8, default 1 */
    int64_t stable_age;           /* STABLE_AGE: seconds without a new instance: series stable, 5 */
    int early_stable;             /* EARLY_STABLE: plan a series from its arrival watch, 1 */
    int64_t min_instances;        /* MIN_INSTANCES: smaller series are not processed, default 4 */
    char supported_modality[256]; /* SUPPORTED_MODALITY: blank/comma list; "" = every one */
    int64_t dashboard_port;       /* DASHBOARD_PORT, default 8080 */
    char dashboard_bind[64];      /* DASHBOARD_BIND: the address it listens on, default 127.0.0.1 */
    char dashboard_user[256];     /* DASHBOARD_USER: HTTP Basic login; "" = none (loopback only) */
    char dashboard_password[256]; /* DASHBOARD_PASSWORD */
    int dashboard_readonly;       /* DASHBOARD_READONLY: 1 = no actions (shown nor accepted) */
    int64_t dashboard_sample;     /* DASHBOARD_SAMPLE_INTERVAL: seconds between chart samples */
    char dashboard_published[64]; /* DASHBOARD_PUBLISHED: in a container, the host address its
                                   * port is published on (docker-compose.yml passes
                                   * BIND_ADDRESS); "" = not in a container */
    char dashboard_hosts[1024];   /* DASHBOARD_HOSTS: more names (or addresses) browsers may
                                   * reach it by, blank or comma separated */
    int64_t dashboard_login_failures; /* DASHBOARD_LOGIN_FAILURES: wrong logins a minute per
                                       * client address before 429; 0 = no limit; default 10 */
    int container_jobs; /* CONTAINER_JOBS: 0 = container jobs off on this worker (natively too),
                         * 1 = on (Docker mode: the workers get the engine's socket), -1 = unset:
                         * natively on when the engine's socket exists, off in Docker mode */
} dcmp_config;

/*
 * Fills *cfg from the .env file at `env_path` (NULL: $DCMP_ENV, else ./.env
 * when it exists, else none; "" means none) and the environment, which overrides the file.
 * Returns 0, or -1 with err naming the file or the variable that is wrong.
 */
int dcmp_config_load(dcmp_config *cfg, const char *env_path, char *err);

/*
 * Whether `modality` (may be NULL) is one of SUPPORTED_MODALITY (blank or comma separated,
 * compared without case); an empty list allows every modality. Pure. Returns 1 or 0.
 */
int dcmp_config_modality_ok(const dcmp_config *cfg, const char *modality);

/*
 * Splits a WORKER_JOBS-style list (blank or comma separated) into at most
 * `max` names stored in buf (NUL-separated) with pointers in names[].
 * Returns the count, or -1 (err) when a name is not [A-Za-z0-9_.:-]+ or
 * there are too many.
 */
int dcmp_config_split_queues(const char *list, char *buf, size_t bufsize, const char **names,
                             int max, char *err);

#endif
