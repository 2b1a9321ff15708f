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
    int64_t call_ms;       /* the bound of each call but a wait, 0: DCMP_ENGINE_CALL_MS */
} dcmp_engine;

#define DCMP_ENGINE_CALL_MS  60000 /* a job's calls: the engine may be slow under load */
#define DCMP_ENGINE_SWEEP_MS 500   /* a worker's sweep calls: never long enough to miss a beat */

/* One container a job started, as listed. */
typedef struct dcmp_engine_labelled {
    char id[DCMP_ENGINE_ID_LEN];
    char job[64], worker[160]; /* its dcmp.job and dcmp.worker labels */
} dcmp_engine_labelled;

/*
 * The client's calls, in libdcmp_container.so (engine.c, linked with libcurl), which
 * dcmp_enginelib_open loads on first use so that no other process maps libcurl. Every call
 * returns -1 with err[DCMP_ERR_LEN] when the engine cannot be reached or refuses.
 */
typedef struct dcmp_engine_ops {
    uint32_t version, size; /* DCMP_ENGINE_OPS_VERSION, sizeof(dcmp_engine_ops) */
    /* Whether the engine answers /_ping. Returns 0, or -1. */
    int (*ping)(const dcmp_engine *e, char *err);
    /* Whether image is stored locally: 1 yes, 0 no, -1. */
    int (*image_exists)(const dcmp_engine *e, const char *image, char *err);
    /* Creates a container from a create body (spec.h); id gets its id. Returns 0, or -1
     * (the engine's message). */
    int (*create)(const dcmp_engine *e, const char *body, char id[DCMP_ENGINE_ID_LEN], char *err);
    int (*start)(const dcmp_engine *e, const char *id, char *err);
    /* Waits until it ends, at most timeout_ms (-1: no limit). Returns 1 with *code its exit
     * code, 0 when the time ran out (still running), -1. */
    int (*wait)(const dcmp_engine *e, const char *id, int64_t timeout_ms, int *code, char *err);
    /* Stops it: SIGTERM, SIGKILL after grace_s; then a kill in case the stop failed. */
    void (*stop)(const dcmp_engine *e, const char *id, int grace_s);
    /* Whether the kernel's OOM killer ended it: 1, 0, or -1. */
    int (*oom_killed)(const dcmp_engine *e, const char *id, char *err);
    /* Copies its stdout and stderr (demultiplexed) to fd, at most DCMP_ENGINE_LOG_MAX bytes. */
    int (*logs)(const dcmp_engine *e, const char *id, int fd, char *err);
    /* Removes it, killed first when it runs, with its anonymous volumes (one already gone
     * counts as removed). Returns 0, or -1. */
    int (*remove)(const dcmp_engine *e, const char *id, char *err);
    /* The containers (running or not) labelled dcmp.job (of that job when job is not NULL),
     * at most max. Returns how many were written to out, or -1. */
    int (*list)(const dcmp_engine *e, const char *job, dcmp_engine_labelled *out, int max,
                char *err);
    /* Whether image is stored locally: 1 with its id (GET /images/NAME/json), 0 no, -1. */
    int (*image_id)(const dcmp_engine *e, const char *image, char id[DCMP_ENGINE_ID_LEN],
                    char *err);
    /* The first of paths (NULL-ended, absolute) that the image holds as a regular file of at
     * most max bytes: a container created from it (never started; labelled dcmp.job=job and
     * dcmp.worker=worker, so a sweep removes it should this process die), GET
     * /containers/ID/archive?path=P (a tar, read by tar.c), then removed. Returns 1 with *text
     * (new, NUL-ended, free it), *len and *which (its index in paths); 0 when the image holds
     * none of them; -1 with err naming the path (not a regular file, over max, cut short). */
    int (*read_file)(const dcmp_engine *e, const char *image, const char *const *paths,
                     const char *job, const char *worker, size_t max, char **text, size_t *len,
                     int *which, char *err);
} dcmp_engine_ops;

#define DCMP_ENGINE_OPS_VERSION 2
#define DCMP_ENGINE_OPS_SYMBOL  "dcmp_engine_ops_v2"

#endif
