/* jobs.c -- test fixture: jobs in every state and events, made with the real protocol scripts
 * (enqueue, fetch, finish, fail, cancel; event accept and done), no worker process needed. */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "level.h"
#include "studies.h"

#define JOBS_MAX 64

/* The parts of one "name|func|queue|deps" line. */
typedef struct parsed {
    char name[64], func[128], queue[64], kwargs[512];
    const char *deps[16];
} parsed;

static int parse_specs(const char *const *lines, int n, char ids[][DCMP_ID_LEN], parsed *p,
                       dcmp_job_spec *specs)
{
    int i;

    if (n < 1 || n > JOBS_MAX)
        return -1;
    for (i = 0; i < n; i++)
        if (dcmp_job_new_id(ids[i]) < 0)
            return -1;
    for (i = 0; i < n; i++) {
        char depl[128] = "", *tok, *save, *end;
        memset(&specs[i], 0, sizeof specs[i]);
        if (sscanf(lines[i], "%63[^|]|%127[^|]|%63[^|]|%127s", p[i].name, p[i].func, p[i].queue,
                   depl) < 3) {
            fprintf(stderr, "jobs: bad line \"%s\"\n", lines[i]);
            return -1;
        }
        snprintf(p[i].kwargs, sizeof p[i].kwargs,
                 "{\"jobName\":\"%s\",\"headers\":{\"Modality\":\"CT\"},\"params\":{\"until\":2},"
                 "\"added_params\":{}}",
                 p[i].name);
        specs[i].id = ids[i];
        specs[i].name = p[i].name;
        specs[i].func = p[i].func;
        specs[i].queue = p[i].queue;
        specs[i].kwargs = p[i].kwargs;
        specs[i].timeout = 60;
        specs[i].deps = p[i].deps;
        for (tok = strtok_r(depl, ",", &save); tok && specs[i].ndeps < 16;
             tok = strtok_r(NULL, ",", &save)) {
            long k = strtol(tok, &end, 10);
            if (*end != '\0' || k < 0 || k >= i)
                return -1;
            p[i].deps[specs[i].ndeps++] = ids[k];
        }
    }
    return 0;
}

int jobs_graph(fixture *f, const char *event, const jobs_spec *js, int n, char ids[][DCMP_ID_LEN])
{
    static parsed p[JOBS_MAX];
    const char *lines[JOBS_MAX];
    dcmp_job_spec specs[JOBS_MAX];
    char err[DCMP_ERR_LEN], *graph;
    int i, rc;

    if (n < 1 || n > JOBS_MAX)
        return -1;
    for (i = 0; i < n; i++)
        lines[i] = js[i].line;
    if (parse_specs(lines, n, ids, p, specs) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        specs[i].retry_max = js[i].retry_max;
        specs[i].retry_interval = js[i].retry_interval;
    }
    if ((graph = dcmp_job_encode_graph(event, specs, n, err)) == NULL) {
        fprintf(stderr, "jobs: %s\n", err);
        return -1;
    }
    rc = dcmp_queue_enqueue(f->q, graph);
    if (rc < 0)
        fprintf(stderr, "jobs: enqueue: %s\n", dcmp_queue_errstr(f->q));
    free(graph);
    return rc;
}

int jobs_take(fixture *f, const char *worker, const char *queue, char id[DCMP_ID_LEN])
{
    dcmp_queue_opts o = {.host = "127.0.0.1", .port = f->port, .heartbeat_ttl_ms = 60000};
    dcmp_queue *long_q = dcmp_queue_new(&o);
    const char *queues[1] = {queue};
    dcmp_job job;
    int rc;

    /* a heartbeat of 60 s (the fixture's handle gives 2 s): a held job outlives the test */
    rc = long_q ? dcmp_queue_heartbeat(long_q, worker, queue, (long)getpid(), "test-host", 1) : -1;
    dcmp_queue_free(long_q);
    if (rc < 0)
        return -1;
    rc = dcmp_queue_fetch(f->q, worker, queues, 1, &job);
    if (rc == 1) {
        dcmp_strlcpy(id, job.id, DCMP_ID_LEN);
        dcmp_job_clear(&job);
    }
    if (rc < 0)
        fprintf(stderr, "jobs: fetch: %s\n", dcmp_queue_errstr(f->q));
    return rc;
}

int jobs_run(fixture *f, const char *worker, const char *queue, int ok, const char *error)
{
    char id[DCMP_ID_LEN], outcome[16];

    if (jobs_take(f, worker, queue, id) != 1)
        return -1;
    if (ok)
        return dcmp_queue_finish(f->q, worker, id, "{\"ok\":true}", "ran fine\n", outcome);
    return dcmp_queue_fail(f->q, worker, id, error, "Traceback: it broke\n", outcome);
}

/* The plan of an event of `level` (series or study): headers, the jobs of the graph, their
 * decisions ("scheduled") and `extra` decisions, then `tail` (more members, "" for none), in
 * the scheduler's record format (dcmp_plan_json; study.c's add_summary for "study"). Returns
 * the bytes written, or sizeof plan or more when it did not fit. */
static size_t plan_text(char *plan, size_t size, const char *level, const char *headers,
                        const parsed *p, const dcmp_job_spec *specs, int n, char ids[][DCMP_ID_LEN],
                        const char *extra, const char *tail)
{
    size_t used;
    int i, k;

    used = (size_t)snprintf(plan, size, "{\"headers\":%s,\"added_params\":{},\"jobs\":[", headers);
    for (i = 0; i < n && used < size; i++) {
        used += (size_t)snprintf(plan + used, size - used,
                                 "%s{\"id\":\"%s\",\"jobName\":\"%s\",\"group\":\"registry\","
                                 "\"worker\":\"%s\",\"queue\":\"%s\",\"trigger\":\"%s\","
                                 "\"timeout\":60,\"dependsOnIds\":[",
                                 i ? "," : "", ids[i], p[i].name, p[i].func, p[i].queue, level);
        for (k = 0; k < specs[i].ndeps && used < size; k++)
            used += (size_t)snprintf(plan + used, size - used, "%s\"%s\"", k ? "," : "",
                                     specs[i].deps[k]);
        if (used < size)
            used += (size_t)snprintf(plan + used, size - used, "]}");
    }
    if (used < size)
        used += (size_t)snprintf(plan + used, size - used, "],\"decisions\":[");
    for (i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(plan + used, size - used,
                                 "%s{\"jobName\":\"%s\",\"source\":\"registry/%s/settings.json\","
                                 "\"group\":\"registry\",\"trigger\":\"%s\",\"decision\":"
                                 "\"scheduled\",\"reason\":\"\",\"jobId\":\"%s\"}",
                                 i ? "," : "", p[i].name, p[i].name, level, ids[i]);
    if (used < size)
        used += (size_t)snprintf(plan + used, size - used, "%s%s],\"reports\":[]%s%s}",
                                 extra && *extra && n ? "," : "", extra ? extra : "",
                                 tail && *tail ? "," : "", tail ? tail : "");
    return used;
}

/* Takes the event just accepted and records it done with its graph and plan, as a planner. */
static int take_and_plan(fixture *f, const char *event, const char *level, const char *headers,
                         const char *const *jobs, int n, const char *extra, const char *tail,
                         char ids[][DCMP_ID_LEN])
{
    static parsed p[JOBS_MAX];
    dcmp_job_spec specs[JOBS_MAX];
    char err[DCMP_ERR_LEN], taken[DCMP_ID_LEN], *graph = NULL, *got = NULL;
    static char plan[65536];
    int rc = -1;

    if (parse_specs(jobs, n, ids, p, specs) < 0)
        return -1;
    if (dcmp_queue_event_take(f->q, "test-scheduler", 1000, taken, &got, NULL) != 1 ||
        strcmp(taken, event) != 0) {
        fprintf(stderr, "jobs: event take: %s\n", dcmp_queue_errstr(f->q));
        goto out;
    }
    if (plan_text(plan, sizeof plan, level, headers, p, specs, n, ids, extra, tail) >=
        sizeof plan) {
        fprintf(stderr, "jobs: the plan of event %s is longer than %zu bytes\n", event,
                sizeof plan);
        goto out;
    }
    if ((graph = dcmp_job_encode_graph(event, specs, n, err)) == NULL) {
        fprintf(stderr, "jobs: %s\n", err);
        goto out;
    }
    if (dcmp_queue_event_done(f->q, "test-scheduler", event, graph, plan, "planned", "") < 0) {
        fprintf(stderr, "jobs: event done: %s\n", dcmp_queue_errstr(f->q));
        goto out;
    }
    rc = 0;
out:
    free(graph);
    free(got);
    return rc;
}

int jobs_event(fixture *f, const char *series, const char *body, const char *const *jobs, int n,
               const char *extra, char event[DCMP_ID_LEN], char ids[][DCMP_ID_LEN])
{
    char version[64];

    if (dcmp_job_new_id(event) < 0)
        return -1;
    snprintf(version, sizeof version, "v-%s", event);
    if (dcmp_queue_event_accept(f->q, event, series, version, body, strlen(body), 3600, NULL) !=
        1) {
        fprintf(stderr, "jobs: event accept: %s\n", dcmp_queue_errstr(f->q));
        return -1;
    }
    return take_and_plan(f, event, "series", "{\"Modality\":\"CT\"}", jobs, n, extra, "", ids);
}

int jobs_level_event(fixture *f, const char *level, const char *id, const char *headers,
                     const char *summary, const char *const *jobs, int n, const char *extra,
                     char event[DCMP_ID_LEN], char ids[][DCMP_ID_LEN])
{
    const dcmp_level *L = dcmp_level_named(level);
    char body[256], dup[DCMP_ID_LEN], tail[16384];

    if (L == NULL || dcmp_job_new_id(event) < 0)
        return -1;
    /* the body study_accept writes (src/scheduler/study.c, LEVEL_BODY_PREFIX) */
    snprintf(body, sizeof body, "{\"level\":\"%s\",\"%s\":\"%s\",\"origin\":\"watch\"}", L->name,
             L->id_key, id);
    if (dcmp_studies_accept(f->q, L, event, id, "", body, "watch", 3600, dup) != 1) {
        fprintf(stderr, "jobs: %s accept: %s\n", L->name, dcmp_queue_errstr(f->q));
        return -1;
    }
    if ((size_t)snprintf(tail, sizeof tail, "\"%s\":%s", L->name, summary) >= sizeof tail)
        return -1;
    return take_and_plan(f, event, L->name, headers, jobs, n, extra, tail, ids);
}

int jobs_every_state(fixture *f, const char *queue, jobs_states *s)
{
    char line[8][128], ids[2][DCMP_ID_LEN], got[DCMP_ID_LEN], outcome[16];
    jobs_spec one[2] = {{line[0], 0, 0}, {line[1], 0, 0}};

    snprintf(line[0], sizeof line[0], "s-finished|testmods.noop|%s|", queue);
    if (jobs_graph(f, "", one, 1, ids) < 0 || jobs_run(f, "runner", queue, 1, NULL) < 0)
        return -1;
    memcpy(s->finished, ids[0], DCMP_ID_LEN);

    snprintf(line[0], sizeof line[0], "s-failed|testmods.fail|%s|", queue);
    snprintf(line[1], sizeof line[1], "s-blocked|testmods.noop|%s|0", queue);
    if (jobs_graph(f, "", one, 2, ids) < 0 ||
        jobs_run(f, "runner", queue, 0, "failed on purpose: the input had no pixels") < 0)
        return -1;
    memcpy(s->failed, ids[0], DCMP_ID_LEN);
    memcpy(s->blocked, ids[1], DCMP_ID_LEN);

    snprintf(line[0], sizeof line[0], "s-canceled|testmods.noop|%s|", queue);
    if (jobs_graph(f, "", one, 1, ids) < 0 || dcmp_queue_cancel(f->q, ids[0], NULL) < 0)
        return -1;
    memcpy(s->canceled, ids[0], DCMP_ID_LEN);

    snprintf(line[0], sizeof line[0], "s-scheduled|testmods.fail|%s|", queue);
    one[0].retry_max = 1;
    one[0].retry_interval = 3600;
    if (jobs_graph(f, "", one, 1, ids) < 0 || jobs_take(f, "runner", queue, got) != 1 ||
        dcmp_queue_fail(f->q, "runner", got, "not yet", "", outcome) < 0 ||
        strcmp(outcome, "retry") != 0)
        return -1;
    one[0].retry_max = one[0].retry_interval = 0;
    memcpy(s->scheduled, ids[0], DCMP_ID_LEN);

    snprintf(line[0], sizeof line[0], "s-started|testmods.noop|%s|", queue);
    snprintf(line[1], sizeof line[1], "s-deferred|testmods.noop|%s|0", queue);
    if (jobs_graph(f, "", one, 2, ids) < 0 || jobs_take(f, "holder", queue, got) != 1 ||
        strcmp(got, ids[0]) != 0)
        return -1;
    memcpy(s->started, ids[0], DCMP_ID_LEN);
    memcpy(s->deferred, ids[1], DCMP_ID_LEN);

    snprintf(line[0], sizeof line[0], "s-queued|testmods.noop|%s|", queue);
    if (jobs_graph(f, "", one, 1, ids) < 0)
        return -1;
    memcpy(s->queued, ids[0], DCMP_ID_LEN);
    return 0;
}
