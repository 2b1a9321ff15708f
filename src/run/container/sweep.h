/* sweep.h -- containers that outlived their job (a killed executor or worker): removed. */
#ifndef DCMP_SWEEP_H
#define DCMP_SWEEP_H

#include "queue.h"

/*
 * Removes the containers of job `job_id` that `worker` started (labels dcmp.job, dcmp.worker):
 * after its executor was killed mid-job (a timeout, a crash, a stop), which the runner could
 * not clean up. No engine (no socket): nothing to do. Returns the number removed, or -1 with
 * err.
 */
int dcmp_sweep_job(const char *job_id, const char *worker, char *err);

/*
 * Removes every container labelled dcmp.job whose job, held by this Redis, no longer runs
 * where it was started: not started, or started by another worker than its dcmp.worker label
 * (its worker died and the reaper gave the job back). A job this Redis does not hold is
 * another stack's on the same engine: its containers are left alone. At worker start and
 * with the reaper. No engine: nothing to do. Returns the number removed, or -1 with err.
 */
int dcmp_sweep_orphans(dcmp_queue *q, char *err);

#endif
