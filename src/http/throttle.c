/* throttle.c -- per-client token buckets in a fixed table: the scheduler's webhook rate, the
 * dashboard's failed logins. */
#include "throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A bucket counts units: one token is period_ms units, and count units come back every ms,
 * so the arithmetic stays in whole numbers. */
typedef struct slot {
    char key[DCMP_THROTTLE_KEY_LEN]; /* "" = free */
    int64_t units;                   /* what the bucket held at last_ms */
    int64_t last_ms;                 /* when units was computed */
    int64_t logged_ms;               /* when a refusal was last logged; -1: never */
} slot;

struct dcmp_throttle {
    int64_t count, period_ms, cap; /* cap = burst * period_ms units */
    int64_t log_ms;
    uint64_t seed;
    pthread_mutex_t lock;
    slot slots[DCMP_THROTTLE_SLOTS];
};

dcmp_throttle *dcmp_throttle_new(int64_t count, int64_t period_ms, int64_t burst, int64_t log_ms,
                                 uint64_t seed)
{
    dcmp_throttle *t;

    /* bounds that keep every product below 2^62 */
    if (count < 1 || period_ms < 1 || burst < 1 || count > 1000000000 ||
        period_ms > 86400000LL * 366 || burst > 1000000000 || burst > INT64_MAX / 4 / period_ms)
        return NULL;
    if ((t = calloc(1, sizeof *t)) == NULL)
        return NULL;
    t->count = count;
    t->period_ms = period_ms;
    t->cap = burst * period_ms;
    t->log_ms = log_ms;
    t->seed = seed;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void dcmp_throttle_free(dcmp_throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* FNV-1a over the seed and the key. */
static uint64_t hash(uint64_t seed, const char *key)
{
    uint64_t h = 1469598103934665603ULL ^ seed;

    for (; *key; key++) {
        h ^= (unsigned char)*key;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

/* What s holds at now_ms (s->units refilled, not stored). */
static int64_t refilled(const dcmp_throttle *t, const slot *s, int64_t now_ms)
{
    int64_t elapsed = now_ms - s->last_ms;

    if (elapsed <= 0)
        return s->units;
    if (elapsed >= (t->cap - s->units) / t->count + 1)
        return t->cap;
    return s->units + elapsed * t->count;
}

/* key's slot, made (a full bucket) when it had none. Called with the lock held. */
static slot *find(dcmp_throttle *t, const char *key, int64_t now_ms)
{
    char k[DCMP_THROTTLE_KEY_LEN];
    size_t start, i;
    slot *best = NULL;
    int64_t best_units = -1;

    strncpy(k, key, sizeof k - 1);
    k[sizeof k - 1] = '\0';
    start = (size_t)(hash(t->seed, k) % DCMP_THROTTLE_SLOTS);
    for (i = 0; i < DCMP_THROTTLE_PROBE; i++) {
        slot *s = &t->slots[(start + i) % DCMP_THROTTLE_SLOTS];
        int64_t u;
        if (strcmp(s->key, k) == 0 && s->key[0] != '\0')
            return s;
        u = s->key[0] == '\0' ? t->cap + 1 : refilled(t, s, now_ms);
        if (u > best_units) {
            best = s;
            best_units = u;
        }
    }
    memcpy(best->key, k, sizeof k);
    best->units = t->cap;
    best->last_ms = now_ms;
    best->logged_ms = -1;
    return best;
}

static dcmp_throttle_verdict decide(dcmp_throttle *t, const char *key, int64_t now_ms, int take)
{
    dcmp_throttle_verdict v = {1, 0, 0};
    slot *s;

    pthread_mutex_lock(&t->lock);
    s = find(t, key, now_ms);
    s->units = refilled(t, s, now_ms);
    if (now_ms > s->last_ms)
        s->last_ms = now_ms;
    if (s->units >= t->period_ms) {
        if (take)
            s->units -= t->period_ms;
    } else {
        v.allowed = 0;
        v.retry_ms = (t->period_ms - s->units + t->count - 1) / t->count;
        if (s->logged_ms < 0 || now_ms - s->logged_ms >= t->log_ms) {
            v.log = 1;
            s->logged_ms = now_ms;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return v;
}

dcmp_throttle_verdict dcmp_throttle_take(dcmp_throttle *t, const char *key, int64_t now_ms)
{
    return decide(t, key, now_ms, 1);
}

dcmp_throttle_verdict dcmp_throttle_check(dcmp_throttle *t, const char *key, int64_t now_ms)
{
    return decide(t, key, now_ms, 0);
}
