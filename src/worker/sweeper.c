/* sweeper.c -- the worker's container sweeps, each in a short-lived child process. */
#include "sweeper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "enginelib.h"
#include "executor.h"
#include "queue.h"
#include "sweep.h"

#define REPORT_MAX (DCMP_ERR_LEN + 32) /* "N ERROR" */

/* In the child: the sweep, then "N ERROR" on fd. Never returns. */
static void child(const dcmp_config *cfg, const char *job_id, const char *worker, int fd)
{
    char err[DCMP_ERR_LEN], line[REPORT_MAX];
    dcmp_queue *q = NULL;
    int n, len;

    err[0] = '\0';
    if (job_id)
        n = dcmp_sweep_job(job_id, worker, err);
    else if ((q = dcmp_queue_from_config(cfg)) == NULL)
        n = dcmp_seterr(err, "out of memory");
    else if (dcmp_queue_connect(q) < 0)
        n = dcmp_seterr(err, "%s", dcmp_queue_errstr(q));
    else
        n = dcmp_sweep_orphans(q, err);
    len = snprintf(line, sizeof line, "%d %s", n, err);
    if (len > 0)
        dcmp_executor_write_all(fd, line,
                                (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
    /* the worker's Redis connection, inherited, is left alone: _exit sends nothing on it */
    _exit(0);
}

int worker_sweeper_run(const dcmp_config *cfg, const char *job_id, const char *worker,
                       int64_t limit_ms, char *err)
{
    char line[REPORT_MAX], *end;
    int fds[2], status;
    ssize_t got;
    pid_t pid;
    long n;

    if (!dcmp_enginelib_present())
        return 0;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return dcmp_seterr(err, "sweep: pipe: %s", strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    if ((pid = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        return dcmp_seterr(err, "sweep: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child(cfg, job_id, worker, fds[1]);
    }
    close(fds[1]);
    got = dcmp_fdio_read_until(fds[0], line, sizeof line, dcmp_clock_mono_ms() + limit_ms);
    close(fds[0]);
    if (got < 0)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got < 0)
        return dcmp_seterr(err, "sweep: stopped after %lld ms (a slow engine or Redis)",
                           (long long)limit_ms);
    n = strtol(line, &end, 10);
    if (end == line || (*end != ' ' && *end != '\0'))
        return dcmp_seterr(err, "sweep: its process ended without a report");
    if (n < 0)
        return dcmp_seterr(err, "%s", *end ? end + 1 : "sweep failed");
    return (int)n;
}
