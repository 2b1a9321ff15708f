/* jobs.c -- dcm-processor jobs, job, requeue, cancel, delete: the jobs of the queues and the
 * dashboard's actions on them, from a terminal, through the same library calls. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "browse.h"
#include "cli.h"

/* A connected queue handle, or NULL (the message printed). */
static dcmp_queue *connect_queue(const dcmp_config *cfg, const char *cmd)
{
    dcmp_queue *q = dcmp_queue_from_config(cfg);

    if (q == NULL) {
        fprintf(stderr, "dcm-processor %s: out of memory\n", cmd);
        return NULL;
    }
    if (dcmp_queue_connect(q) < 0) {
        fprintf(stderr, "dcm-processor %s: %s\n", cmd, dcmp_queue_errstr(q));
        dcmp_queue_free(q);
        return NULL;
    }
    return q;
}

#define JOBS_USAGE                                                                                 \
    "usage: dcm-processor jobs [--queue Q] [--state STATE] [--name JOBNAME] [--series ID] "        \
    "[--count N]\n"                                                                                \
    "  (default: the failed jobs of queue default, newest first; STATE: queued deferred blocked\n" \
    "  scheduled started finished failed canceled)\n"

/* dcm-processor jobs: one line per job, newest first: id, jobName, state, series, error. */
int cli_jobs(const dcmp_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"queue", required_argument, NULL, 'q'},
                                         {"state", required_argument, NULL, 's'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"series", required_argument, NULL, 'S'},
                                         {"count", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    dcmp_browse_filter f = {"default", "failed", NULL, NULL, 0, 20};
    dcmp_browse_page page;
    char err[DCMP_ERR_LEN], *end;
    dcmp_queue *q;
    int c, i;

    optind = 1;
    while ((c = getopt_long(argc, argv, "q:s:n:S:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'q': f.queue = optarg; break;
        case 's': f.state = optarg; break;
        case 'n': f.name = optarg; break;
        case 'S': f.series = optarg; break;
        case 'c':
            f.count = strtoll(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0') {
                fprintf(stderr, "dcm-processor jobs: --count %s: not a number\n", optarg);
                return 2;
            }
            break;
        case 'h': printf(JOBS_USAGE); return 0;
        default: fprintf(stderr, JOBS_USAGE); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, JOBS_USAGE);
        return 2;
    }
    if (dcmp_browse_check_filter(&f, err) < 0) {
        fprintf(stderr, "dcm-processor jobs: %s\n", err);
        return 2;
    }
    if ((q = connect_queue(cfg, "jobs")) == NULL)
        return 1;
    memset(&page, 0, sizeof page);
    if (dcmp_browse_jobs(q, &f, &page) < 0) {
        fprintf(stderr, "dcm-processor jobs: %s\n", dcmp_queue_errstr(q));
        dcmp_queue_free(q);
        return 1;
    }
    printf("%lld job(s)%s%s", (long long)page.total, page.exact ? "" : " among the newest ",
           page.exact ? "" : "scanned");
    printf(" in queue %s, state %s%s%s\n", f.queue ? f.queue : "any", f.state ? f.state : "any",
           f.name ? ", jobName " : "", f.name ? f.name : "");
    for (i = 0; i < page.n; i++) {
        const dcmp_browse_row *r = &page.rows[i];
        printf("%s  %-20s %-9s %s%s%s\n", r->id, r->name, r->state, r->series[0] ? r->series : "-",
               r->error[0] ? "  " : "", r->error);
    }
    dcmp_browse_page_free(&page);
    dcmp_queue_free(q);
    return 0;
}

/* dcm-processor job ID: everything about one job, its error and the tail of its log. */
int cli_job(const dcmp_config *cfg, int argc, char **argv)
{
    dcmp_browse_detail d;
    dcmp_queue *q;
    int rc, i;

    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: dcm-processor job ID\n");
        return 2;
    }
    if ((q = connect_queue(cfg, "job")) == NULL)
        return 1;
    memset(&d, 0, sizeof d);
    rc = dcmp_browse_job(q, argv[1], &d);
    if (rc <= 0) {
        fprintf(stderr, "dcm-processor job: %s: %s\n", argv[1],
                rc == 0 ? "no such job (never, or expired)" : dcmp_queue_errstr(q));
        dcmp_queue_free(q);
        return 1;
    }
    printf("job %s\n  jobName   %s\n  worker    %s\n  queue     %s\n  state     %s\n"
           "  attempts  %lld (retries allowed: %lld)\n  series    %s\n  event     %s\n",
           d.job.id, d.job.name, d.job.func, d.job.queue, d.job.state, (long long)d.job.attempts,
           (long long)d.job.retry_max, d.series[0] ? d.series : "-",
           d.job.event[0] ? d.job.event : "-");
    for (i = 0; i < d.ndeps; i++)
        printf("  after     %s %s (%s)\n", d.deps[i].id, d.deps[i].name, d.deps[i].state);
    for (i = 0; i < d.ndependents; i++)
        printf("  before    %s %s (%s)\n", d.dependents[i].id, d.dependents[i].name,
               d.dependents[i].state);
    if (d.job.error && d.job.error[0])
        printf("error:\n  %s\n", d.job.error);
    if (d.job.result && d.job.result[0])
        printf("result:\n  %s\n", d.job.result);
    if (d.job.log && d.job.log[0])
        printf("log (its tail):\n%s%s", d.job.log,
               d.job.log[strlen(d.job.log) - 1] == '\n' ? "" : "\n");
    dcmp_browse_detail_free(&d);
    dcmp_queue_free(q);
    return 0;
}

/* requeue, cancel, delete: one job by id; requeue --failed QUEUE: every failed job of it. */
int cli_action(const dcmp_config *cfg, int argc, char **argv)
{
    const char *cmd = argv[0];
    int64_t n = 0;
    dcmp_queue *q;
    int rc;

    if (argc == 3 && strcmp(cmd, "requeue") == 0 && strcmp(argv[1], "--failed") == 0) {
        if ((q = connect_queue(cfg, cmd)) == NULL)
            return 1;
        rc = dcmp_browse_requeue_failed(q, argv[2], &n);
        if (rc == 0)
            printf("requeued %lld failed job(s) of queue %s\n", (long long)n, argv[2]);
    } else if (argc == 2 && argv[1][0] != '-') {
        if ((q = connect_queue(cfg, cmd)) == NULL)
            return 1;
        if (strcmp(cmd, "requeue") == 0)
            rc = dcmp_queue_requeue(q, argv[1]);
        else if (strcmp(cmd, "cancel") == 0)
            rc = dcmp_queue_cancel(q, argv[1], &n);
        else
            rc = dcmp_queue_delete(q, argv[1], &n);
        if (rc == 0 && strcmp(cmd, "requeue") == 0)
            printf("requeued %s: it runs again; the jobs it blocked follow when it succeeds\n",
                   argv[1]);
        else if (rc == 0 && strcmp(cmd, "cancel") == 0)
            printf("canceled %s: %lld job(s) canceled in all (it and its dependents not yet "
                   "run; their working files stay in DATA)\n",
                   argv[1], (long long)n);
        else if (rc == 0)
            printf("deleted %s: %lld job(s) canceled with it (its dependents not yet run)\n",
                   argv[1], (long long)n);
    } else {
        fprintf(stderr, "usage: dcm-processor %s ID%s\n", cmd,
                strcmp(cmd, "requeue") == 0 ? "\n       dcm-processor requeue --failed QUEUE" : "");
        return 2;
    }
    if (rc < 0)
        fprintf(stderr, "dcm-processor %s: %s\n", cmd, dcmp_queue_errstr(q));
    dcmp_queue_free(q);
    return rc < 0 ? 1 : 0;
}
