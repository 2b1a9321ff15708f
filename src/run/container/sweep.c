/* sweep.c -- containers that outlived their job (a killed executor or worker): removed. */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enginelib.h"

/* The labelled containers (of job, when not NULL): returns how many, with *list and *drop
 * (all 0) new when above 0; 0 when there is no engine or none; -1 with err. */
static int listing(dcmp_engine *e, const dcmp_engine_ops **ops, const char *job,
                   dcmp_engine_labelled **list, char **drop, char *err)
{
    int rc, n;

    if ((rc = dcmp_enginelib_open(e, ops, err)) <= 0)
        return rc;
    /* the worker sweeps between heartbeats: a slow engine must not make it miss one */
    e->call_ms = DCMP_ENGINE_SWEEP_MS;
    *list = calloc(DCMP_ENGINE_LIST_MAX, sizeof **list);
    *drop = calloc(DCMP_ENGINE_LIST_MAX, 1);
    if (*list == NULL || *drop == NULL)
        n = dcmp_seterr(err, "out of memory");
    else
        n = (*ops)->list(e, job, *list, DCMP_ENGINE_LIST_MAX, err);
    if (n <= 0) {
        free(*list);
        free(*drop);
    }
    return n;
}

/* Removes out[i] for each i where drop[i]; returns how many, or -1 at the first failure. */
static int remove_listed(const dcmp_engine *e, const dcmp_engine_ops *ops,
                         const dcmp_engine_labelled *list, const char *drop, int n, char *err)
{
    int i, removed = 0;

    for (i = 0; i < n; i++) {
        if (!drop[i])
            continue;
        if (ops->remove(e, list[i].id, err) < 0)
            return -1;
        removed++;
    }
    return removed;
}

int dcmp_sweep_job(const char *job_id, const char *worker, char *err)
{
    const dcmp_engine_ops *ops;
    dcmp_engine_labelled *list;
    dcmp_engine e;
    char *drop;
    int n, i, rc;

    if ((rc = listing(&e, &ops, job_id, &list, &drop, err)) <= 0)
        return rc;
    n = rc;
    for (i = 0; i < n; i++)
        drop[i] = strcmp(list[i].worker, worker) == 0;
    rc = remove_listed(&e, ops, list, drop, n, err);
    free(list);
    free(drop);
    return rc;
}

int dcmp_sweep_orphans(dcmp_queue *q, char *err)
{
    const dcmp_engine_ops *ops;
    dcmp_engine_labelled *list;
    dcmp_engine e;
    dcmp_job job;
    char *drop;
    int n, i, rc;

    if ((rc = listing(&e, &ops, NULL, &list, &drop, err)) <= 0)
        return rc;
    n = rc;
    for (i = 0; i < n && rc >= 0; i++) {
        int got = dcmp_queue_job(q, list[i].job, &job);
        if (got < 0) {
            rc = dcmp_seterr(err, "job %s: %s", list[i].job, dcmp_queue_errstr(q));
            break;
        }
        /* a job this Redis does not hold is another stack's (ids are random 128-bit): left
         * alone, so that stacks sharing an engine never remove each other's containers */
        drop[i] = got == 1 &&
                  (strcmp(job.state, "started") != 0 || strcmp(job.worker, list[i].worker) != 0);
        if (got > 0)
            dcmp_job_clear(&job);
    }
    if (rc >= 0)
        rc = remove_listed(&e, ops, list, drop, n, err);
    free(list);
    free(drop);
    return rc;
}
