/* sweeper.h -- the worker's container sweeps, each in a short-lived child process. */
#ifndef DCMP_WORKER_SWEEPER_H
#define DCMP_WORKER_SWEEPER_H

#include <stdint.h>

#include "config.h"

/*
 * Runs a sweep of sweep.h in a child process, so that the engine client (libcurl and what it
 * links, about 8.6 MB resident) is loaded there and never in the long-lived worker: job_id
 * NULL, the containers of every job that no longer runs where it was started (the child
 * connects to Redis as cfg says); else the containers of job_id that `worker` started. No
 * engine socket on this host: nothing, and no child. The child is killed after limit_ms.
 * Returns the number of containers removed, or -1 with err.
 */
int worker_sweeper_run(const dcmp_config *cfg, const char *job_id, const char *worker,
                       int64_t limit_ms, char *err);

#endif
