/* engine.h -- the Docker Engine API over its Unix socket (libcurl): containers and images. */
#ifndef DCMP_ENGINE_H
#define DCMP_ENGINE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define DCMP_ENGINE_SOCKET   "/var/run/docker.sock" /* unless DOCKER_HOST=unix://PATH */
#define DCMP_ENGINE_API      "/v1.41"               /* Engine 20.10 and later */
#define DCMP_ENGINE_REPLY    (1 << 20)  /* bytes of an answer kept (logs are streamed) */
#define DCMP_ENGINE_LOG_MAX  (16 << 20) /* bytes of a container's log copied to the job's */
#define DCMP_ENGINE_ID_LEN   72
#define DCMP_ENGINE_LIST_MAX 1024 /* containers one sweep looks at */
#define DCMP_ENGINE_URL_LEN  1024 /* bytes of a request path */

typedef struct dcmp_engine {
    char socket[PATH_MAX]; /* the engine's Unix socket */
} dcmp_engine;

/* The socket from DOCKER_HOST (unix://PATH; any other scheme is refused) or the default.
 * Returns 0, or -1 with err. */
int dcmp_engine_init(dcmp_engine *e, char *err);

/* Whether the engine answers /_ping. Returns 0, or -1 with err (no socket, no answer). */
int dcmp_engine_ping(const dcmp_engine *e, char *err);

/* Whether image is stored locally: 1 yes, 0 no, -1 with err when the engine cannot tell. */
int dcmp_engine_image_exists(const dcmp_engine *e, const char *image, char *err);

/* Creates a container from a create body (spec.h); id gets its id. Returns 0, or -1 with err
 * (the engine's message, "no such image" for a missing one). */
int dcmp_engine_create(const dcmp_engine *e, const char *body, char id[DCMP_ENGINE_ID_LEN],
                       char *err);

int dcmp_engine_start(const dcmp_engine *e, const char *id, char *err);

/*
 * Waits until the container ends, at most timeout_ms (-1: no limit). Returns 1 with *code its
 * exit code, 0 when the time ran out (still running), -1 with err.
 */
int dcmp_engine_wait(const dcmp_engine *e, const char *id, int64_t timeout_ms, int *code,
                     char *err);

/* Stops it: SIGTERM, SIGKILL after grace_s; then a kill in case the stop failed. */
void dcmp_engine_stop(const dcmp_engine *e, const char *id, int grace_s);

/* Whether the kernel's OOM killer ended it: 1, 0, or -1 with err. */
int dcmp_engine_oom_killed(const dcmp_engine *e, const char *id, char *err);

/* Copies its stdout and stderr (demultiplexed) to fd, at most DCMP_ENGINE_LOG_MAX bytes.
 * Returns 0, or -1 with err. */
int dcmp_engine_logs(const dcmp_engine *e, const char *id, int fd, char *err);

/* Removes it, killing it first when it runs, with its anonymous volumes. Returns 0, or -1
 * with err (a container already gone counts as removed). */
int dcmp_engine_remove(const dcmp_engine *e, const char *id, char *err);

/* One container a job started, as listed. */
typedef struct dcmp_engine_labelled {
    char id[DCMP_ENGINE_ID_LEN];
    char job[64], worker[160]; /* its dcmp.job and dcmp.worker labels */
} dcmp_engine_labelled;

/*
 * The containers (running or not) labelled dcmp.job, at most max; with job non-NULL only
 * those of that job. Returns how many were written to out, or -1 with err.
 */
int dcmp_engine_list(const dcmp_engine *e, const char *job, dcmp_engine_labelled *out, int max,
                     char *err);

#endif
