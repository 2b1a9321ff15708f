/* status.c -- dcm-processor status: every queue's jobs per state and every worker, read through
 * the same library calls as the dashboard's /api/queues and /api/workers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "browse.h"
#include "cli.h"

static int64_t now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* "3s", "5m", "2h", "4d" ago; "-" when never. */
static void ago(char *out, size_t size, int64_t ms)
{
    int64_t s = ms > 0 ? (now_ms() - ms) / 1000 : -1;

    if (s < 0)
        snprintf(out, size, "-");
    else if (s < 120)
        snprintf(out, size, "%llds ago", (long long)s);
    else if (s < 7200)
        snprintf(out, size, "%lldm ago", (long long)(s / 60));
    else if (s < 172800)
        snprintf(out, size, "%lldh ago", (long long)(s / 3600));
    else
        snprintf(out, size, "%lldd ago", (long long)(s / 86400));
}

static void print_text(const dcmp_browse_queue *qs, int nq, int allq, const dcmp_browse_worker *ws,
                       int nw, int allw)
{
    int i, k;

    printf("%-24s", "QUEUE");
    for (k = 0; k < DCMP_BROWSE_NSTATES; k++)
        printf(" %9s", dcmp_browse_states[k]);
    printf("\n");
    for (i = 0; i < nq; i++) {
        printf("%-24s", qs[i].name);
        for (k = 0; k < DCMP_BROWSE_NSTATES; k++)
            printf(" %9lld", (long long)qs[i].count[k]);
        printf("\n");
    }
    if (nq == 0)
        printf("(no queue yet)\n");
    if (allq > nq)
        printf("(%d more queues not shown)\n", allq - nq);
    printf("\n%-32s %-5s %-32s %-24s %-10s %9s %7s\n", "WORKER", "STATE", "CURRENT JOB", "QUEUES",
           "HEARTBEAT", "PROCESSED", "FAILED");
    for (i = 0; i < nw; i++) {
        char beat[32];
        ago(beat, sizeof beat, ws[i].beat);
        printf("%-32s %-5s %-32s %-24s %-10s %9lld %7lld\n", ws[i].name, ws[i].state,
               ws[i].current[0] ? ws[i].current : "-", ws[i].queues, beat,
               (long long)ws[i].processed, (long long)ws[i].failed);
    }
    if (nw == 0)
        printf("(no worker registered)\n");
    if (allw > nw)
        printf("(%d more workers not shown)\n", allw - nw);
}

/* The same JSON as the dashboard's /api/queues and /api/workers, in one object. */
static int print_json(const dcmp_browse_queue *qs, int nq, const dcmp_browse_worker *ws, int nw)
{
    cJSON *root = cJSON_CreateObject(), *queues = dcmp_browse_queues_json(qs, nq),
          *workers = dcmp_browse_workers_json(ws, nw);
    char *text = NULL;

    if (root && queues && cJSON_AddItemToObject(root, "queues", queues)) {
        queues = NULL;
        if (workers && cJSON_AddItemToObject(root, "workers", workers)) {
            workers = NULL;
            text = cJSON_Print(root);
        }
    }
    cJSON_Delete(root);
    cJSON_Delete(queues);
    cJSON_Delete(workers);
    if (text == NULL) {
        fprintf(stderr, "dcm-processor status: out of memory\n");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

int cli_status(const dcmp_config *cfg, int argc, char **argv)
{
    dcmp_browse_queue *qs = NULL;
    dcmp_browse_worker *ws = NULL;
    int nq = 0, nw = 0, allq = 0, allw = 0, json = 0, i, rc = 1;
    dcmp_queue *q;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr, "dcm-processor status: unknown argument \"%s\"\n", argv[i]);
            return 2;
        }
    }
    if ((q = dcmp_queue_from_config(cfg)) == NULL) {
        fprintf(stderr, "dcm-processor status: out of memory\n");
        return 1;
    }
    if (dcmp_browse_queues(q, &qs, &nq, &allq) < 0 || dcmp_browse_workers(q, &ws, &nw, &allw) < 0) {
        fprintf(stderr, "dcm-processor status: %s\n", dcmp_queue_errstr(q));
        goto out;
    }
    if (json)
        rc = print_json(qs, nq, ws, nw);
    else {
        print_text(qs, nq, allq, ws, nw, allw);
        rc = 0;
    }
out:
    free(qs);
    free(ws);
    dcmp_queue_free(q);
    return rc;
}
