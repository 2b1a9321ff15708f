/* holds.h -- the paths under DATA held for a study's (patient's) pending events, in Redis.
 * Every function works on level L (level.h), "study" in the words below. */
#ifndef DCMP_HOLDS_H
#define DCMP_HOLDS_H

#include <stdint.h>

#include "level.h"
#include "queue.h"

#define DCMP_HOLDS_MAX      2048 /* paths held for one study (a study has at most 1,024 series) */
#define DCMP_HOLDS_PATH_LEN 513  /* a held path, relative to DATA: at most 512 bytes */

/* What is held for a study, from dcmp_holds_load. */
typedef struct dcmp_holds {
    char (*paths)[DCMP_HOLDS_PATH_LEN]; /* owned: free with dcmp_holds_clear */
    int n;
    int ended;            /* 1: every study event planned for the study has all its jobs ended */
    int64_t state_ttl_ms; /* what the study's state has left to live; -2: gone (expired) */
} dcmp_holds;

/*
 * Holds `path` (relative to DATA) for study `study`, at Redis' time: kept 2 x ttl seconds after
 * its last hold, so it outlives the study's state. Returns 0 or -1 (the handle's error).
 */
int dcmp_holds_add(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path,
                   int64_t ttl);

/*
 * What is held for study `study`: its paths held at or before since_ms (Redis' time: the time
 * its state was read at; at most DCMP_HOLDS_MAX, longer ones left out),
 * whether the jobs of its planned study events have all ended, and its state's time to live.
 * Returns 0 with *h filled (h->n 0: nothing held), or -1.
 */
int dcmp_holds_load(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t since_ms,
                    dcmp_holds *h);

/* Releases `path` of study `study` (removed from its holds). Returns 0 or -1. */
int dcmp_holds_drop(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path);

/* Frees what dcmp_holds_load filled. */
void dcmp_holds_clear(dcmp_holds *h);

#endif
