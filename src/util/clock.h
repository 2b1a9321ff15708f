/* clock.h -- milliseconds: monotonic for timeouts, wall for records, and sleeping. */
#ifndef DCMP_CLOCK_H
#define DCMP_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
int64_t dcmp_clock_mono_ms(void);

/* Milliseconds since the epoch: for what is stored or shown. */
int64_t dcmp_clock_wall_ms(void);

/* Sleeps ms milliseconds; a signal cuts it short (what a stopping daemon wants). */
void dcmp_clock_sleep_ms(int64_t ms);

#endif
