/* slots.h -- WORKER_CONTAINER_SLOTS: at most N container jobs at once on a host, one flock()ed
 * slot file each in a folder the host's workers share. */
#ifndef DCMP_SLOTS_H
#define DCMP_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define DCMP_SLOTS_MAX     256 /* WORKER_CONTAINER_SLOTS at most */
#define DCMP_SLOTS_POLL_MS 200 /* between two looks at the slots while all are taken */
#define DCMP_SLOTS_DIR     "containers/slots" /* under DATA unless WORKER_SLOTS_DIR says */

/*
 * The number of slots WORKER_CONTAINER_SLOTS asks for: 0 when unset or empty (no limit), else
 * 1 to DCMP_SLOTS_MAX. Returns it, or -1 with err naming the variable and its value.
 */
int dcmp_slots_count(const char *value, char *err);

/*
 * Takes one of `n` slot files (slot-0 .. slot-N-1, owner-only, in `dir`, which is made when
 * missing: the host's workers run as one user): an exclusive flock() on it, held until
 * dcmp_slots_release or the process ends (a killed executor frees its slot with it). While all are
 * taken, looks again every DCMP_SLOTS_POLL_MS until deadline_ms (dcmp_clock_mono_ms; -1: none).
 * Returns the slot's descriptor (>= 0); -2 at the deadline, with err saying so; -1 with err when
 * the folder or a file cannot be used.
 */
int dcmp_slots_acquire(const char *dir, int n, int64_t deadline_ms, char *err);

/* Frees the slot that dcmp_slots_acquire returned (fd < 0: nothing). */
void dcmp_slots_release(int fd);

#endif
