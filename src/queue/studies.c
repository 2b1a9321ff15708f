/* studies.c -- the scheduler's state of each study or patient in Redis: its series, Orthanc's
 * word that it is stable, the versions decided per entry, its events and when each is due. */
#include "studies.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scripts, embedded from src/queue/lua/ at build time (lua_scripts.c). */
extern const char dcmp_lua_study_series[], dcmp_lua_study_stable[], dcmp_lua_study_load[],
    dcmp_lua_study_accept[], dcmp_lua_study_decided[], dcmp_lua_study_due[], dcmp_lua_study_asked[];

#define STUDIES_MAX_ARGS (5 + 2 * 64) /* study_decided: entries decided in one event */

/* Runs a study script for level L: its Redis names (level.h) go first, as every script reads
 * them. The reply (free), or NULL with the handle's error set. */
static redisReply *script(dcmp_queue *q, const dcmp_level *L, const char *body, int n,
                          const char **args)
{
    const char *all[2 + STUDIES_MAX_ARGS];
    int i;

    if (n < 0 || n > STUDIES_MAX_ARGS) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "%s script: %d arguments: at most %d", L->name, n,
                          STUDIES_MAX_ARGS);
        return NULL;
    }
    all[0] = L->redis;
    all[1] = L->due;
    for (i = 0; i < n; i++)
        all[2 + i] = args[i];
    return dcmp_queue_script(q, body, 2 + n, all, NULL);
}

/* Runs a script whose reply is not kept; -1 with the handle's error set. */
static int run(dcmp_queue *q, const dcmp_level *L, const char *body, int n, const char **args)
{
    redisReply *r = script(q, L, body, n, args);

    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int dcmp_studies_series(dcmp_queue *q, const dcmp_level *L, const char *study, const char *series,
                        const char *series_json, const char *fields_json, int max, int64_t ttl)
{
    char nmax[24], nttl[24];
    const char *args[6] = {study, series, series_json, fields_json, nmax, nttl};

    snprintf(nmax, sizeof nmax, "%d", max);
    snprintf(nttl, sizeof nttl, "%" PRId64, ttl);
    return run(q, L, dcmp_lua_study_series, 6, args);
}

int dcmp_studies_stable(dcmp_queue *q, const dcmp_level *L, const char *study,
                        const char *expect_json, const char *fields_json, int64_t ttl)
{
    char nttl[24];
    const char *args[4] = {study, expect_json ? expect_json : "", fields_json ? fields_json : "",
                           nttl};

    snprintf(nttl, sizeof nttl, "%" PRId64, ttl);
    return run(q, L, dcmp_lua_study_stable, 4, args);
}

/* The JSON text of a reply element parsed, or NULL. */
static cJSON *parse_at(const redisReply *e)
{
    return e && e->type == REDIS_REPLY_STRING ? cJSON_ParseWithLength(e->str, e->len) : NULL;
}

/* Fills the object o from study_load's first element (HGETALL). */
static void read_hash(const redisReply *h, cJSON *o, cJSON *series, cJSON *decided)
{
    size_t i;

    for (i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
        const redisReply *k = h->element[i], *v = h->element[i + 1];
        cJSON *j;
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strncmp(k->str, "s:", 2) == 0 || strncmp(k->str, "d:", 2) == 0) {
            if ((j = parse_at(v)) == NULL)
                continue; /* not ours: left out */
            cJSON_AddItemToObject(k->str[0] == 's' ? series : decided, k->str + 2, j);
        } else if (strcmp(k->str, "fields") == 0 || strcmp(k->str, "expect") == 0) {
            if ((j = parse_at(v)) != NULL)
                cJSON_AddItemToObject(o, k->str, j);
        } else if (strcmp(k->str, "first") == 0 || strcmp(k->str, "joined") == 0 ||
                   strcmp(k->str, "asked") == 0) {
            cJSON_AddNumberToObject(o, k->str, strtod(v->str, NULL));
        } else if (strcmp(k->str, "stable") == 0) {
            cJSON_AddBoolToObject(o, "stable", strcmp(v->str, "1") == 0);
        } else if (strcmp(k->str, "pending") == 0) {
            cJSON_AddStringToObject(o, "pending", v->str);
        }
    }
}

int dcmp_studies_load(dcmp_queue *q, const dcmp_level *L, const char *study, cJSON **out)
{
    const char *args[1] = {study};
    redisReply *r = script(q, L, dcmp_lua_study_load, 1, args);
    cJSON *o, *series, *decided;
    size_t i;

    *out = NULL;
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "%s %s: unexpected reply", L->name, study);
    }
    o = cJSON_CreateObject();
    series = cJSON_AddObjectToObject(o, "series");
    decided = cJSON_AddObjectToObject(o, "decided");
    if (o == NULL || series == NULL || decided == NULL) {
        cJSON_Delete(o);
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "%s %s: out of memory", L->name, study);
    }
    read_hash(r->element[0], o, series, decided);
    cJSON_AddNumberToObject(o, "loaded", (double)r->element[1]->integer);
    for (i = 2; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        cJSON *s;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 3 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_STRING || e->element[2]->type != REDIS_REPLY_STRING)
            continue;
        if ((s = cJSON_GetObjectItemCaseSensitive(series, e->element[0]->str)) == NULL)
            continue;
        cJSON_AddBoolToObject(s, "planned", e->element[1]->str[0] == '1');
        cJSON_AddBoolToObject(s, "ended", e->element[2]->str[0] == '1');
    }
    freeReplyObject(r);
    *out = o;
    return 0;
}

int dcmp_studies_accept(dcmp_queue *q, const dcmp_level *L, const char *id, const char *study,
                        const char *version, const char *body, const char *origin, int64_t ttl,
                        char dup_id[DCMP_ID_LEN])
{
    char nttl[24];
    const char *args[6] = {id, study, body, origin, nttl, version ? version : ""};
    redisReply *r;
    int rc;

    snprintf(nttl, sizeof nttl, "%" PRId64, ttl);
    if ((r = script(q, L, dcmp_lua_study_accept, 6, args)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[1]->len >= DCMP_ID_LEN) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "study event: unexpected reply");
    }
    rc = strcmp(r->element[0]->str, "accepted") == 0;
    if (!rc)
        memcpy(dup_id, r->element[1]->str, r->element[1]->len + 1);
    freeReplyObject(r);
    return rc;
}

int dcmp_studies_decided(dcmp_queue *q, const dcmp_level *L, const char *study, const char *event,
                         const char *const *names, const char *const *versions, int n, int max,
                         int64_t ttl)
{
    const char *args[STUDIES_MAX_ARGS];
    char nmax[24], nttl[24];
    int i;

    if (n < 0 || 5 + 2 * n > STUDIES_MAX_ARGS)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY,
                                 "%s %s: %d entries decided in one event: at most %d", L->name,
                                 study, n, (STUDIES_MAX_ARGS - 5) / 2);
    snprintf(nmax, sizeof nmax, "%d", max);
    snprintf(nttl, sizeof nttl, "%" PRId64, ttl);
    args[0] = study;
    args[1] = event;
    args[2] = "";
    args[3] = nmax;
    args[4] = nttl;
    for (i = 0; i < n; i++) {
        args[5 + 2 * i] = names[i];
        args[6 + 2 * i] = versions[i];
    }
    return run(q, L, dcmp_lua_study_decided, 5 + 2 * n, args);
}

int dcmp_studies_schedule(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t due_ms,
                          int64_t since_ms)
{
    char ndue[24], nsince[24];
    const char *args[3] = {study, ndue, nsince};

    snprintf(ndue, sizeof ndue, "%" PRId64, due_ms);
    snprintf(nsince, sizeof nsince, "%" PRId64, since_ms);
    return run(q, L, dcmp_lua_study_due, 3, args);
}

int dcmp_studies_asked(dcmp_queue *q, const dcmp_level *L, const char *study, int64_t at_ms)
{
    char at[24];
    const char *args[2] = {study, at};

    snprintf(at, sizeof at, "%" PRId64, at_ms);
    return run(q, L, dcmp_lua_study_asked, 2, args);
}

int dcmp_studies_due(dcmp_queue *q, const dcmp_level *L, int64_t now_ms, int max,
                     char ids[][DCMP_STUDIES_ID_LEN], int *n)
{
    char key[64], upto[24], count[16];
    const char *argv[7] = {"ZRANGEBYSCORE", key, "-inf", upto, "LIMIT", "0", count};
    redisReply *r;
    size_t i;

    *n = 0;
    if (max <= 0)
        return 0;
    snprintf(key, sizeof key, "dcmp:%s", L->due);
    snprintf(upto, sizeof upto, "%" PRId64, now_ms);
    snprintf(count, sizeof count, "%d", max);
    if ((r = dcmp_queue_command(q, 7, argv, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "ZRANGEBYSCORE %s: unexpected reply", key);
    }
    for (i = 0; i < r->elements && *n < max; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len < DCMP_STUDIES_ID_LEN)
            memcpy(ids[(*n)++], r->element[i]->str, r->element[i]->len + 1);
    freeReplyObject(r);
    return 0;
}
