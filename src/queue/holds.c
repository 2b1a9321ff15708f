/* holds.c -- the paths under DATA held for a study's (patient's) pending events, in Redis. */
#include "holds.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The script, embedded from src/queue/lua/ at build time (lua_scripts.c). */
extern const char dcmp_lua_hold_load[], dcmp_lua_hold_add[], dcmp_lua_hold_state[],
    dcmp_lua_hold_pin[];

/* The key of the study's held paths (a sorted set: path -> Redis' time it was last held). */
static void holds_key(const dcmp_level *L, const char *study, char key[96])
{
    snprintf(key, 96, "dcmp:holds:%s:%.64s", L->redis, study);
}

int dcmp_holds_add(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path,
                   int64_t ttl)
{
    char nttl[24];
    const char *args[4] = {L->redis, study, path, nttl};
    redisReply *r;

    if (strlen(path) >= DCMP_HOLDS_PATH_LEN)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY,
                                 "%s %s: held path %.64s...: longer than %d bytes", L->name, study,
                                 path, DCMP_HOLDS_PATH_LEN - 1);
    snprintf(nttl, sizeof nttl, "%" PRId64, 2 * ttl);
    if ((r = dcmp_queue_script(q, dcmp_lua_hold_add, 4, args, NULL)) == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int dcmp_holds_load(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t since_ms,
                    dcmp_holds *h)
{
    char since[24];
    const char *args[3] = {L->redis, study, since};
    const redisReply *paths;
    redisReply *r;
    size_t i;

    memset(h, 0, sizeof *h);
    snprintf(since, sizeof since, "%" PRId64, since_ms);
    if ((r = dcmp_queue_script(q, dcmp_lua_hold_load, 3, args, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_INTEGER || r->element[3]->type != REDIS_REPLY_STRING ||
        r->element[4]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "holds of %s %s: unexpected reply", L->name,
                                 study);
    }
    paths = r->element[0];
    h->ended = r->element[1]->str[0] == '1';
    h->state_ttl_ms = r->element[2]->integer;
    h->releasing = r->element[3]->str[0] == '1';
    h->quiet_ms = strtoll(r->element[4]->str, NULL, 10);
    if (paths->elements > 0 &&
        (h->paths = calloc(paths->elements < DCMP_HOLDS_MAX ? paths->elements : DCMP_HOLDS_MAX,
                           sizeof *h->paths)) == NULL) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "holds of %s %s: out of memory", L->name,
                                 study);
    }
    for (i = 0; i < paths->elements && h->n < DCMP_HOLDS_MAX; i++) {
        const redisReply *e = paths->element[i];
        if (e->type == REDIS_REPLY_STRING && e->len > 0 && e->len < DCMP_HOLDS_PATH_LEN)
            memcpy(h->paths[h->n++], e->str, e->len + 1);
    }
    freeReplyObject(r);
    return 0;
}

int dcmp_holds_drop(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path)
{
    char key[96];
    const char *zrem[3] = {"ZREM", key, path};
    redisReply *r;

    holds_key(L, study, key);
    if ((r = dcmp_queue_command(q, 3, zrem, NULL)) == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int dcmp_holds_again(dcmp_queue *q, const dcmp_level *L, const char *study, const char *path,
                     int64_t since_ms)
{
    char key[96];
    const char *zscore[3] = {"ZSCORE", key, path};
    redisReply *r;
    int again;

    holds_key(L, study, key);
    if ((r = dcmp_queue_command(q, 3, zscore, NULL)) == NULL)
        return -1;
    again = r->type == REDIS_REPLY_STRING && strtoll(r->str, NULL, 10) > since_ms;
    freeReplyObject(r);
    return again;
}

/* Runs hold_state.lua in `mode` at since_ms; its integer reply into *out. Returns 0 or -1. */
static int step(dcmp_queue *q, const dcmp_level *L, const char *study, const char *mode,
                int64_t since_ms, long long *out)
{
    char since[24];
    const char *args[4] = {L->redis, study, mode, since};
    redisReply *r;

    snprintf(since, sizeof since, "%" PRId64, since_ms);
    if ((r = dcmp_queue_script(q, dcmp_lua_hold_state, 4, args, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "%s %s: %s: unexpected reply", L->name,
                                 study, mode);
    }
    *out = r->integer;
    freeReplyObject(r);
    return 0;
}

int dcmp_holds_quiet(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t since_ms,
                     int64_t *quiet_ms)
{
    long long v = 0;
    int rc = step(q, L, study, "quiet", since_ms, &v);

    *quiet_ms = v;
    return rc;
}

int dcmp_holds_unquiet(dcmp_queue *q, const dcmp_level *L, const char *study)
{
    long long v;

    return step(q, L, study, "unquiet", 0, &v);
}

int dcmp_holds_claim(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t since_ms)
{
    long long v = 0;

    return step(q, L, study, "claim", since_ms, &v) < 0 ? -1 : v == 1;
}

int dcmp_holds_released(dcmp_queue *q, const dcmp_level *L, const char *study)
{
    long long v;

    return step(q, L, study, "done", 0, &v);
}

int dcmp_holds_pin(dcmp_queue *q, const dcmp_level *L, const char *study, const char *event)
{
    const char *args[3] = {L->redis, study, event};
    redisReply *r;
    int pinned;

    if ((r = dcmp_queue_script(q, dcmp_lua_hold_pin, 3, args, NULL)) == NULL)
        return -1;
    pinned = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return pinned;
}

void dcmp_holds_clear(dcmp_holds *h)
{
    free(h->paths);
    memset(h, 0, sizeof *h);
}
