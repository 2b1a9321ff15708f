/* svc_test.h -- helpers of the service tests: files, copies, a job with any kwargs. */
#ifndef DCMP_SVC_TEST_H
#define DCMP_SVC_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "queue.h"
#include "redis.h"

extern char **environ;

/* Runs argv (no shell) and waits; returns its exit status, -1 when it could not run. Its
 * standard output goes to `out` when not NULL. */
static inline int st_run(char *const argv[], const char *out)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;

    posix_spawn_file_actions_init(&fa);
    if (out != NULL)
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int st_copy(const char *from, const char *to)
{
    char *argv[] = {"cp", "-r", (char *)from, (char *)to, NULL};
    return st_run(argv, NULL);
}

/* A whole file as a new string (NULL when it cannot be read). */
static inline char *st_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        size_t got = fread(buf, 1, (size_t)n, f);
        buf[got] = '\0';
        if (len)
            *len = got;
    }
    fclose(f);
    return buf;
}

static inline int st_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static inline int st_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* python3-pydicom's CT5N: five 16x16 CT slices of patient 98890234 ("Doe^Peter") */
#define ST_CT5N "/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N"

/* Copies CT5N's five files into `dir` (made when missing) as <name>.dcm. Returns 0 or -1. */
static inline int st_ct5n(const char *dir)
{
    const char *names[] = {"2062", "2392", "2693", "3023", "3353"};
    char *mk[] = {"mkdir", "-p", (char *)dir, NULL};
    int i;

    if (st_run(mk, NULL) != 0)
        return -1;
    for (i = 0; i < 5; i++) {
        char src[PATH_MAX], dst[PATH_MAX];
        snprintf(src, sizeof src, ST_CT5N "/%s", names[i]);
        snprintf(dst, sizeof dst, "%s/%s.dcm", dir, names[i]);
        if (st_copy(src, dst) != 0)
            return -1;
    }
    return 0;
}

/* A built service's part as service.sh installs it: makes the folder <f->dir>/<root> and links
 * <root>/<name> to DCMP_SERVICES_DIR/<name>/<part> (registry or module). Writes the folder's
 * path to `out` (PATH_MAX bytes). Returns 0 or -1. */
static inline int st_link_part(const fixture *f, const char *root, const char *name,
                               const char *part, char out[PATH_MAX])
{
    const char *services = getenv("DCMP_SERVICES_DIR");
    char link[PATH_MAX * 2], target[PATH_MAX * 2];

    if (services == NULL)
        return -1;
    snprintf(out, PATH_MAX, "%s/%s", f->dir, root);
    if (mkdir(out, 0755) < 0 && errno != EEXIST)
        return -1;
    snprintf(link, sizeof link, "%s/%s", out, name);
    snprintf(target, sizeof target, "%s/%s/%s", services, name, part);
    return symlink(target, link);
}

/* Enqueues one job of `func` with the given headers, params and added_params (JSON texts);
 * writes its id. Returns 0 or -1. */
static inline int st_enqueue(fixture *f, const char *name, const char *func, const char *queue,
                             const char *headers, const char *params, const char *added,
                             int64_t timeout, char id[DCMP_ID_LEN])
{
    char kwargs[8192], err[DCMP_ERR_LEN], *graph;
    dcmp_job_spec spec;
    int rc;

    if (dcmp_job_new_id(id) < 0)
        return -1;
    snprintf(kwargs, sizeof kwargs,
             "{\"jobName\":\"%s\",\"headers\":%s,\"params\":%s,\"added_params\":%s}", name,
             headers ? headers : "{}", params ? params : "null", added ? added : "{}");
    memset(&spec, 0, sizeof spec);
    spec.id = id;
    spec.name = name;
    spec.func = func;
    spec.queue = queue;
    spec.kwargs = kwargs;
    spec.timeout = timeout;
    if ((graph = dcmp_job_encode_graph("svc-test", &spec, 1, err)) == NULL) {
        fprintf(stderr, "st_enqueue: %s\n", err);
        return -1;
    }
    rc = dcmp_queue_enqueue(f->q, graph);
    free(graph);
    return rc;
}

/* Waits for job id to end (finished or failed) and copies it into *job (clear it after).
 * Returns 0, or -1 on a timeout. */
static inline int st_wait(fixture *f, const char *id, dcmp_job *job, int timeout_ms)
{
    char state[16];
    int waited;

    for (waited = 0; waited < timeout_ms; waited += 50) {
        if (fixture_state(f, id, state) == 0 &&
            (strcmp(state, "finished") == 0 || strcmp(state, "failed") == 0))
            return dcmp_queue_job(f->q, id, job) == 1 ? 0 : -1;
        usleep(50 * 1000);
    }
    return -1;
}

#endif
