/* throttle.h -- per-client token buckets in a fixed table: the scheduler's webhook rate, the
 * dashboard's failed logins. */
#ifndef DCMP_THROTTLE_H
#define DCMP_THROTTLE_H

#include <stdint.h>

#define DCMP_THROTTLE_KEY_LEN 48 /* an IPv4 or IPv6 address as text, with room to spare */
#define DCMP_THROTTLE_SLOTS   4096
#define DCMP_THROTTLE_PROBE   8 /* slots looked at per key: the work per call is bounded */

typedef struct dcmp_throttle dcmp_throttle;

/* What dcmp_throttle_take and dcmp_throttle_check say about one request. */
typedef struct dcmp_throttle_verdict {
    int allowed;      /* 1: go on; 0: refuse */
    int64_t retry_ms; /* refused: when the next token comes */
    int log;          /* refused: 1 for the key's first refusal in a log window (log it once) */
} dcmp_throttle_verdict;

/*
 * A table of buckets, one per key (a client address): each holds at most `burst` tokens and
 * gets `count` back every `period_ms`; a refused key is to be logged at most once per `log_ms`.
 * `seed` scatters the keys (give it random bits, so a client cannot pick addresses that share
 * another's slots). A key not seen for a while shares a slot with another only when every
 * slot it may take is busy; the one whose bucket has refilled most is then reused (a full
 * bucket holds nothing worth keeping). Thread-safe. Pure: the caller gives the time (ms of a
 * monotonic clock). Returns the table (free with dcmp_throttle_free) or NULL (out of memory,
 * or count, period_ms or burst below 1 or too large).
 */
dcmp_throttle *dcmp_throttle_new(int64_t count, int64_t period_ms, int64_t burst, int64_t log_ms,
                                 uint64_t seed);
void dcmp_throttle_free(dcmp_throttle *t);

/* Takes one token from key's bucket at now_ms (a key longer than DCMP_THROTTLE_KEY_LEN - 1 is
 * cut): allowed when there was one. */
dcmp_throttle_verdict dcmp_throttle_take(dcmp_throttle *t, const char *key, int64_t now_ms);

/* Whether key's bucket holds a token at now_ms, without taking it (a login is checked before
 * its password, and a token taken only when the password was wrong). */
dcmp_throttle_verdict dcmp_throttle_check(dcmp_throttle *t, const char *key, int64_t now_ms);

#endif
