/* bench_study.c -- CPU microseconds per dcmp_study_decide: a usual study, a large one, and one
 * whose header values are hostile to the patterns (bench_study [REPEATS], default 20). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "study.h"

#define NSERIES 1024

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine may be shared */
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* n series whose SeriesDescription is desc(i); all ready; decided `repeats` times. */
static void run(const char *name, const char *entry, int n, const char *desc, int repeats)
{
    static dcmp_study_series s[NSERIES];
    static cJSON *fields[NSERIES];
    static char uids[NSERIES][32], ids[NSERIES][32];
    const char *field = NULL;
    char why[DCMP_ERR_LEN], err[DCMP_ERR_LEN];
    cJSON *e = cJSON_Parse(entry);
    dcmp_study_verdict out;
    dcmp_study_view v;
    dcmp_trigger t;
    double t0, t1;
    int i, r;

    if (e == NULL || dcmp_trigger_read(e, &t, &field, why) < 0) {
        fprintf(stderr, "%s: bad entry: %s\n", name, why);
        exit(1);
    }
    memset(&v, 0, sizeof v);
    for (i = 0; i < n; i++) {
        fields[i] = cJSON_CreateObject();
        cJSON_AddStringToObject(fields[i], "Modality", "MR");
        cJSON_AddStringToObject(fields[i], "SeriesDescription", desc);
        cJSON_AddNumberToObject(fields[i], "SeriesNumber", i + 1);
        snprintf(uids[i], sizeof uids[i], "1.2.840.%d", i);
        snprintf(ids[i], sizeof ids[i], "s-%d", i);
        memset(&s[i], 0, sizeof s[i]);
        s[i].id = ids[i];
        s[i].uid = uids[i];
        s[i].dcmpath = ids[i];
        s[i].fields = fields[i];
        s[i].instances = 100;
        s[i].last_update = "20261205T120000";
        s[i].stable = s[i].planned = s[i].ended = 1;
    }
    v.series = s;
    v.nseries = n;
    t0 = now_us();
    for (r = 0; r < repeats; r++)
        if (dcmp_study_decide(&t, &v, 1000, &out, err) < 0) {
            fprintf(stderr, "%s: %s\n", name, err);
            exit(1);
        }
    t1 = now_us();
    printf("%-44s %5d series  %12.1f us per decision  (%s)\n", name, n, (t1 - t0) / repeats,
           dcmp_study_decisions[out.decision]);
    for (i = 0; i < n; i++)
        cJSON_Delete(fields[i]);
    cJSON_Delete(e);
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20;
    const char *usual = "{\"trigger\":\"study\",\"requires\":[{\"Modality\":\"MR\","
                        "\"SeriesDescription\":[\"*T1*\",\"*MPRAGE*\"]},"
                        "{\"SeriesDescription\":\"*FLAIR*\"}]}";
    char *hostile = malloc(DCMP_TRIGGER_VALUE_MAX + 1);

    if (repeats < 1 || hostile == NULL)
        return 2;
    /* "FLAIFLAI...": every position starts a near match of "*FLAIR*" */
    for (int i = 0; i < DCMP_TRIGGER_VALUE_MAX; i++)
        hostile[i] = "FLAI"[i % 4];
    hostile[DCMP_TRIGGER_VALUE_MAX] = '\0';
    run("usual study, requires unmet", usual, 20, "AX T2", repeats);
    run("usual study, requires met", usual, 20, "AX T1 FLAIR", repeats);
    run("large study, requires unmet", usual, NSERIES, "AX T2", repeats);
    run("large study, 4 KB values near a pattern", usual, NSERIES, hostile, repeats);
    free(hostile);
    return 0;
}
