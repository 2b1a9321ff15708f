/* queue.c -- the Redis job protocol: enqueue graphs, fetch, finish, fail, requeue, reap. */
#include "queue.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "jsonw.h"

/* The scripts, embedded from src/queue/lua/ at build time (lua_scripts.c). */
extern const char dcmp_lua_common[], dcmp_lua_enqueue[], dcmp_lua_fetch[], dcmp_lua_finish[],
    dcmp_lua_fail[], dcmp_lua_giveback[], dcmp_lua_heartbeat[], dcmp_lua_recover[], dcmp_lua_reap[],
    dcmp_lua_unregister[], dcmp_lua_promote[], dcmp_lua_requeue[], dcmp_lua_cancel[],
    dcmp_lua_delete[], dcmp_lua_event_accept[], dcmp_lua_event_done[], dcmp_lua_finish_fetch[],
    dcmp_lua_event_take[], dcmp_lua_event_claim[];

enum script {
    S_ENQUEUE,
    S_FETCH,
    S_FINISH,
    S_FAIL,
    S_GIVEBACK,
    S_HEARTBEAT,
    S_RECOVER,
    S_REAP,
    S_UNREGISTER,
    S_PROMOTE,
    S_REQUEUE,
    S_CANCEL,
    S_DELETE,
    S_EVENT_ACCEPT,
    S_EVENT_DONE,
    S_FINISH_FETCH,
    S_EVENT_TAKE,
    S_COUNT
};

static const char *const script_body[S_COUNT] = {
    dcmp_lua_enqueue,    dcmp_lua_fetch,        dcmp_lua_finish,     dcmp_lua_fail,
    dcmp_lua_giveback,   dcmp_lua_heartbeat,    dcmp_lua_recover,    dcmp_lua_reap,
    dcmp_lua_unregister, dcmp_lua_promote,      dcmp_lua_requeue,    dcmp_lua_cancel,
    dcmp_lua_delete,     dcmp_lua_event_accept, dcmp_lua_event_done, dcmp_lua_finish_fetch,
    dcmp_lua_event_take,
};

#define QUEUE_CMD_TIMEOUT_MS 10000
#define QUEUE_MAX_ARGS       (4 + 5 * DCMP_QUEUE_EVENT_BATCH)

struct dcmp_queue {
    redisContext *ctx; /* NULL while disconnected */
    char host[256];
    int port;
    char password[256];
    int64_t ttl_finished, ttl_failed, max_crashes, heartbeat_ttl_ms;
    int64_t event_max_takes; /* takes of an unfinished event before it is quarantined */
    int connect_timeout_ms;
    int err;
    char errstr[DCMP_ERR_LEN];
    const char *script[S_COUNT]; /* common.lua + the body (script_text) */
    char sha[S_COUNT][41];       /* "" until loaded on this connection */
    /* scripts of the rest of libdcmp (dcmp_queue_script), made and loaded on first use */
    struct {
        const char *body; /* borrowed: a dcmp_lua_* array, which lives forever */
        const char *text; /* common.lua + body (script_text) */
        char sha[41];
    } extra[DCMP_QUEUE_EXTRA_SCRIPTS];
};

/* The scripts' texts, common.lua + a body, made once per process and shared by its connections:
 * they never change, and a copy per connection (17 texts of about 22 KB) held 2.24 MB of an
 * idle scheduler's heap (docs/performance.md). Kept for the life of the process, as the bodies. */
#define SCRIPT_TEXTS 64 /* more than src/queue/lua/ holds */
static struct {
    const char *body;
    char *text;
} texts[SCRIPT_TEXTS];
static pthread_mutex_t texts_lock = PTHREAD_MUTEX_INITIALIZER;

/* Returns body's text, made on first use; NULL when out of memory or the table is full. */
static const char *script_text(const char *body)
{
    const char *text = NULL;
    size_t clen, blen;
    int i;

    pthread_mutex_lock(&texts_lock);
    for (i = 0; i < SCRIPT_TEXTS && texts[i].body != NULL && texts[i].body != body; i++)
        ;
    if (i < SCRIPT_TEXTS && texts[i].body == body) {
        text = texts[i].text;
    } else if (i < SCRIPT_TEXTS) {
        clen = strlen(dcmp_lua_common);
        blen = strlen(body);
        if ((texts[i].text = malloc(clen + blen + 2)) != NULL) {
            memcpy(texts[i].text, dcmp_lua_common, clen);
            texts[i].text[clen] = '\n';
            memcpy(texts[i].text + clen + 1, body, blen + 1);
            texts[i].body = body;
            text = texts[i].text;
        }
    }
    pthread_mutex_unlock(&texts_lock);
    return text;
}

dcmp_queue *dcmp_queue_new(const dcmp_queue_opts *o)
{
    dcmp_queue *q = calloc(1, sizeof *q);
    int i;

    if (q == NULL)
        return NULL;
    dcmp_strlcpy(q->host, o->host ? o->host : "127.0.0.1", sizeof q->host);
    q->port = o->port ? o->port : 6379;
    dcmp_strlcpy(q->password, o->password ? o->password : "", sizeof q->password);
    q->ttl_finished = o->ttl_finished > 0 ? o->ttl_finished : 86400;
    q->ttl_failed = o->ttl_failed > 0 ? o->ttl_failed : 30 * 86400;
    q->max_crashes = o->max_crashes > 0 ? o->max_crashes : 3;
    q->event_max_takes = o->event_max_takes > 0 ? o->event_max_takes : 3;
    q->heartbeat_ttl_ms = o->heartbeat_ttl_ms > 0 ? o->heartbeat_ttl_ms : 5000;
    q->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
    for (i = 0; i < S_COUNT; i++)
        if ((q->script[i] = script_text(script_body[i])) == NULL) {
            dcmp_queue_free(q);
            return NULL;
        }
    return q;
}

dcmp_queue *dcmp_queue_from_config(const dcmp_config *cfg)
{
    dcmp_queue_opts o = {0};

    o.host = cfg->redis_host;
    o.port = cfg->redis_port;
    o.password = cfg->redis_password;
    o.ttl_finished = cfg->ttl_finished;
    o.ttl_failed = cfg->ttl_failed;
    o.max_crashes = cfg->max_crashes;
    o.event_max_takes = cfg->event_max_takes;
    o.heartbeat_ttl_ms = cfg->heartbeat_ttl_ms;
    return dcmp_queue_new(&o);
}

static void disconnect(dcmp_queue *q)
{
    if (q->ctx)
        redisFree(q->ctx);
    q->ctx = NULL;
}

void dcmp_queue_free(dcmp_queue *q)
{
    if (q == NULL)
        return;
    disconnect(q);
    free(q);
}

int dcmp_queue_err(const dcmp_queue *q)
{
    return q->err;
}

const char *dcmp_queue_errstr(const dcmp_queue *q)
{
    return q->errstr;
}

int dcmp_queue_connected(const dcmp_queue *q)
{
    return q->ctx != NULL;
}

static struct timeval ms_tv(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

/* Runs a plain command; returns the reply (free it) or NULL with q->err set. */
static redisReply *command(dcmp_queue *q, int argc, const char **argv, const size_t *lens)
{
    redisReply *r;

    if (dcmp_queue_connect(q) < 0)
        return NULL;
    r = redisCommandArgv(q->ctx, argc, argv, lens);
    if (r == NULL) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: %s", q->host, q->port,
                          q->ctx->errstr[0] ? q->ctx->errstr : "connection lost");
        disconnect(q);
        return NULL;
    }
    return r;
}

int dcmp_queue_connect(dcmp_queue *q)
{
    struct timeval tv = ms_tv(q->connect_timeout_ms);
    redisReply *r;
    int i;

    if (q->ctx)
        return 0;
    q->ctx = redisConnectWithTimeout(q->host, q->port, tv);
    if (q->ctx == NULL)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: out of memory", q->host, q->port);
    if (q->ctx->err) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: %s", q->host, q->port, q->ctx->errstr);
        disconnect(q);
        return -1;
    }
    redisSetTimeout(q->ctx, ms_tv(QUEUE_CMD_TIMEOUT_MS));
    redisEnableKeepAlive(q->ctx);
    for (i = 0; i < S_COUNT; i++)
        q->sha[i][0] = '\0';
    if (q->password[0]) {
        r = redisCommand(q->ctx, "AUTH %s", q->password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            dcmp_queue_seterr(q, r ? DCMP_QUEUE_EREPLY : DCMP_QUEUE_EIO,
                              "redis %s:%d: AUTH failed: %s", q->host, q->port,
                              r ? r->str : q->ctx->errstr);
            if (r)
                freeReplyObject(r);
            disconnect(q);
            return -1;
        }
        freeReplyObject(r);
    }
    r = redisCommand(q->ctx, "PING");
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        /* LOADING (Redis replaying its AOF) lands here too: retry later. */
        dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: %s", q->host, q->port,
                          r ? r->str : q->ctx->errstr);
        if (r)
            freeReplyObject(r);
        disconnect(q);
        return -1;
    }
    freeReplyObject(r);
    q->err = DCMP_QUEUE_OK;
    q->errstr[0] = '\0';
    return 0;
}

/* Loads a script's text into Redis's cache and keeps its SHA in sha[41]. */
static int load_script(dcmp_queue *q, const char *text, char *sha)
{
    const char *argv[3] = {"SCRIPT", "LOAD", text};
    size_t lens[3] = {6, 4, strlen(text)};
    redisReply *r = command(q, 3, argv, lens);

    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: SCRIPT LOAD failed: %s",
                          r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    memcpy(sha, r->str, 41);
    freeReplyObject(r);
    return 0;
}

/* Runs a script's text (its SHA cached in sha[41], "" until loaded) with args; returns the
 * reply (free it) or NULL with q->err set. An error reply becomes NULL with the code its
 * first word names. */
static redisReply *run_text(dcmp_queue *q, const char *text, char *sha, int nargs,
                            const char **args, const size_t *arglens)
{
    const char *argv[QUEUE_MAX_ARGS + 3];
    size_t lens[QUEUE_MAX_ARGS + 3];
    redisReply *r;
    int i, tries;

    if (nargs > QUEUE_MAX_ARGS) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "too many script arguments (%d)", nargs);
        return NULL;
    }
    for (tries = 0; tries < 2; tries++) {
        if (dcmp_queue_connect(q) < 0)
            return NULL;
        if (sha[0] == '\0' && load_script(q, text, sha) < 0)
            return NULL;
        argv[0] = "EVALSHA";
        lens[0] = 7;
        argv[1] = sha;
        lens[1] = 40;
        argv[2] = "0";
        lens[2] = 1;
        for (i = 0; i < nargs; i++) {
            argv[3 + i] = args[i];
            lens[3 + i] = arglens ? arglens[i] : strlen(args[i]);
        }
        if ((r = command(q, nargs + 3, argv, lens)) == NULL)
            return NULL;
        if (r->type != REDIS_REPLY_ERROR)
            return r;
        if (strncmp(r->str, "NOSCRIPT", 8) == 0) {
            /* Redis restarted and lost its script cache: load again. */
            sha[0] = '\0';
            freeReplyObject(r);
            continue;
        }
        if (strncmp(r->str, "NOWORKER", 8) == 0)
            dcmp_queue_seterr(q, DCMP_QUEUE_ENOWORKER, "%s", r->str + 9);
        else if (strncmp(r->str, "NOJOB", 5) == 0)
            dcmp_queue_seterr(q, DCMP_QUEUE_ENOJOB, "%s", r->str + 6);
        else if (strncmp(r->str, "STATE", 5) == 0)
            dcmp_queue_seterr(q, DCMP_QUEUE_ESTATE, "%s", r->str + 6);
        else if (strncmp(r->str, "LOADING", 7) == 0 || strncmp(r->str, "BUSY", 4) == 0) {
            dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: %s", q->host, q->port, r->str);
            disconnect(q);
        } else
            dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: script keeps disappearing (NOSCRIPT twice)");
    return NULL;
}

/* Runs protocol script s (see run_text). */
static redisReply *run(dcmp_queue *q, enum script s, int nargs, const char **args,
                       const size_t *arglens)
{
    return run_text(q, q->script[s], q->sha[s], nargs, args, arglens);
}

static int reply_int(dcmp_queue *q, redisReply *r, int64_t *n)
{
    if (r->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: expected an integer reply");
    }
    if (n)
        *n = r->integer;
    freeReplyObject(r);
    return 0;
}

static int reply_status(dcmp_queue *q, redisReply *r, char outcome[16])
{
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: expected a status reply");
    }
    if (outcome)
        dcmp_strlcpy(outcome, r->str, 16);
    freeReplyObject(r);
    return 0;
}

/* The dependencies' results a fetch adds (fetch.lua's job_inputs: id, name, result, size per
 * dependency, raw) as the JSON dcmp_inputs_merge reads: [{"id","name","result"} or
 * {"id","name","size"}]. Made here, in the worker, so that Redis does not encode megabytes.
 * Returns new text or NULL (out of memory, or a malformed list). */
static char *inputs_json(const redisReply *a)
{
    dcmp_jsonw w;
    size_t i;

    if (a->elements % 4 != 0)
        return NULL;
    dcmp_jsonw_init(&w, DCMP_JSONW_MAX);
    dcmp_jsonw_lit(&w, "[");
    for (i = 0; i < a->elements; i += 4) {
        redisReply *const *e = a->element + i;
        int64_t size = 0;
        if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING ||
            e[2]->type != REDIS_REPLY_STRING || e[3]->type != REDIS_REPLY_STRING) {
            w.failed = 1;
            break;
        }
        dcmp_jsonw_lit(&w, i ? ",{\"id\":" : "{\"id\":");
        dcmp_jsonw_str(&w, e[0]->str);
        dcmp_jsonw_lit(&w, ",\"name\":");
        dcmp_jsonw_str(&w, e[1]->str);
        if (e[2]->len > 0) {
            dcmp_jsonw_lit(&w, ",\"result\":");
            dcmp_jsonw_str(&w, e[2]->str);
        } else {
            size = strtoll(e[3]->str, NULL, 10);
            dcmp_jsonw_lit(&w, ",\"size\":");
            dcmp_jsonw_int(&w, size);
        }
        dcmp_jsonw_lit(&w, "}");
    }
    dcmp_jsonw_lit(&w, "]");
    return dcmp_jsonw_finish(&w);
}

static int decode_job(dcmp_queue *q, redisReply *r, dcmp_job *job)
{
    const char *strs[128];
    size_t lens[128], i;
    char err[DCMP_ERR_LEN], *inputs = NULL;
    int rc = 0;

    if (r->elements > 128)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "job hash has %zu fields, more than 64",
                                 r->elements / 2);
    for (i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_ARRAY && i % 2 == 1 && inputs == NULL &&
            strcmp(strs[i - 1], "inputs") == 0) {
            if ((inputs = inputs_json(e)) == NULL) {
                rc = dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY,
                                       "job hash: its dependencies' results are malformed or "
                                       "too large for memory");
                break;
            }
            strs[i] = inputs;
            lens[i] = strlen(inputs);
            continue;
        }
        if (e->type != REDIS_REPLY_STRING) {
            rc = dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "job hash: non-string element");
            break;
        }
        strs[i] = e->str;
        lens[i] = e->len;
    }
    if (rc == 0 && dcmp_job_decode(job, r->elements, strs, lens, err) < 0) {
        dcmp_job_clear(job);
        rc = dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "%s", err);
    }
    free(inputs);
    return rc;
}

int dcmp_queue_enqueue(dcmp_queue *q, const char *graph_json)
{
    redisReply *r = run(q, S_ENQUEUE, 1, &graph_json, NULL);

    return r ? reply_int(q, r, NULL) : -1;
}

int dcmp_queue_fetch(dcmp_queue *q, const char *worker, const char *const *queues, int n,
                     dcmp_job *job)
{
    const char *args[QUEUE_MAX_ARGS];
    redisReply *r;
    int i, rc;

    if (n < 1 || n >= QUEUE_MAX_ARGS)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "fetch: 1 to %d queues, not %d",
                                 QUEUE_MAX_ARGS - 1, n);
    args[0] = worker;
    for (i = 0; i < n; i++)
        args[i + 1] = queues[i];
    if ((r = run(q, S_FETCH, n + 1, args, NULL)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "fetch: unexpected reply");
    }
    rc = decode_job(q, r, job);
    freeReplyObject(r);
    return rc < 0 ? -1 : 1;
}

int dcmp_queue_wait(dcmp_queue *q, const char *const *queues, int n, int timeout_ms)
{
    const char *argv[QUEUE_MAX_ARGS + 2];
    char keys[QUEUE_MAX_ARGS][DCMP_QUEUE_LEN + 16], secs[32];
    redisReply *r;
    int i, woke;

    if (n < 1 || n > QUEUE_MAX_ARGS)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "wait: 1 to %d queues, not %d",
                                 QUEUE_MAX_ARGS, n);
    argv[0] = "BLPOP";
    for (i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "dcmp:signal:%s", queues[i]);
        argv[1 + i] = keys[i];
    }
    snprintf(secs, sizeof secs, "%d.%03d", timeout_ms / 1000, timeout_ms % 1000);
    argv[1 + n] = secs;
    if (dcmp_queue_connect(q) < 0)
        return -1;
    redisSetTimeout(q->ctx, ms_tv(timeout_ms + QUEUE_CMD_TIMEOUT_MS));
    r = command(q, n + 2, argv, NULL);
    if (q->ctx)
        redisSetTimeout(q->ctx, ms_tv(QUEUE_CMD_TIMEOUT_MS));
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: BLPOP: %s", r->str);
        freeReplyObject(r);
        return -1;
    }
    woke = r->type == REDIS_REPLY_ARRAY;
    freeReplyObject(r);
    return woke;
}

static int report(dcmp_queue *q, enum script s, const char *worker, const char *id,
                  const char *text, const char *log, int64_t ttl, char outcome[16])
{
    char ttls[32];
    const char *args[5] = {worker, id, text, log, ttls};
    redisReply *r;

    snprintf(ttls, sizeof ttls, "%lld", (long long)ttl);
    if ((r = run(q, s, 5, args, NULL)) == NULL)
        return -1;
    return reply_status(q, r, outcome);
}

int dcmp_queue_finish(dcmp_queue *q, const char *worker, const char *id, const char *result,
                      const char *log, char outcome[16])
{
    return report(q, S_FINISH, worker, id, result ? result : "", log ? log : "", q->ttl_finished,
                  outcome);
}

int dcmp_queue_finish_fetch(dcmp_queue *q, const char *worker, const char *id, const char *result,
                            const char *log, char outcome[16], const char *const *queues, int n,
                            dcmp_job *next)
{
    const char *args[QUEUE_MAX_ARGS];
    char ttl[32];
    redisReply *r;
    int i, rc;

    if (n < 1 || n + 5 > QUEUE_MAX_ARGS)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "finish_fetch: 1 to %d queues, not %d",
                                 QUEUE_MAX_ARGS - 5, n);
    snprintf(ttl, sizeof ttl, "%lld", (long long)q->ttl_finished);
    args[0] = worker;
    args[1] = id;
    args[2] = result ? result : "";
    args[3] = log ? log : "";
    args[4] = ttl;
    for (i = 0; i < n; i++)
        args[5 + i] = queues[i];
    if ((r = run(q, S_FINISH_FETCH, n + 5, args, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "finish_fetch: unexpected reply");
    }
    if (outcome)
        dcmp_strlcpy(outcome, r->element[0]->str, 16);
    if (r->element[1]->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    rc = r->element[1]->type == REDIS_REPLY_ARRAY ? decode_job(q, r->element[1], next)
                                                  : dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY,
                                                                      "finish_fetch: "
                                                                      "bad job");
    freeReplyObject(r);
    return rc < 0 ? -1 : 1;
}

int dcmp_queue_fail(dcmp_queue *q, const char *worker, const char *id, const char *error,
                    const char *log, char outcome[16])
{
    return report(q, S_FAIL, worker, id, error ? error : "failed", log ? log : "", q->ttl_failed,
                  outcome);
}

int dcmp_queue_giveback(dcmp_queue *q, const char *worker, const char *id, char outcome[16])
{
    const char *args[2] = {worker, id};
    redisReply *r = run(q, S_GIVEBACK, 2, args, NULL);

    return r ? reply_status(q, r, outcome) : -1;
}

int dcmp_queue_heartbeat(dcmp_queue *q, const char *worker, const char *queues, long pid,
                         const char *host, int64_t birth_ms)
{
    char ttl[32], spid[32], birth[32];
    const char *args[6] = {worker, ttl, queues, spid, host, birth};
    redisReply *r;

    snprintf(ttl, sizeof ttl, "%lld", (long long)q->heartbeat_ttl_ms);
    snprintf(spid, sizeof spid, "%ld", pid);
    snprintf(birth, sizeof birth, "%lld", (long long)birth_ms);
    if ((r = run(q, S_HEARTBEAT, 6, args, NULL)) == NULL)
        return -1;
    return reply_status(q, r, NULL);
}

int dcmp_queue_recover(dcmp_queue *q, const char *worker, const char *current, int64_t *n)
{
    const char *args[2] = {worker, current ? current : ""};
    redisReply *r = run(q, S_RECOVER, 2, args, NULL);

    return r ? reply_int(q, r, n) : -1;
}

int dcmp_queue_unregister(dcmp_queue *q, const char *worker)
{
    redisReply *r = run(q, S_UNREGISTER, 1, &worker, NULL);

    return r ? reply_status(q, r, NULL) : -1;
}

int dcmp_queue_reap(dcmp_queue *q, int64_t counts[3])
{
    char max[32], ttl[32];
    const char *args[2] = {max, ttl};
    redisReply *r;
    size_t i;

    snprintf(max, sizeof max, "%lld", (long long)q->max_crashes);
    snprintf(ttl, sizeof ttl, "%lld", (long long)q->ttl_failed);
    if ((r = run(q, S_REAP, 2, args, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "reap: unexpected reply");
    }
    for (i = 0; counts && i < 3; i++)
        counts[i] = r->element[i]->integer;
    freeReplyObject(r);
    return 0;
}

int dcmp_queue_promote(dcmp_queue *q, int64_t *n)
{
    redisReply *r = run(q, S_PROMOTE, 0, NULL, NULL);

    return r ? reply_int(q, r, n) : -1;
}

int dcmp_queue_requeue(dcmp_queue *q, const char *id)
{
    redisReply *r = run(q, S_REQUEUE, 1, &id, NULL);

    return r ? reply_status(q, r, NULL) : -1;
}

static int id_action(dcmp_queue *q, enum script s, const char *id, int64_t *n)
{
    char ttl[32];
    const char *args[2] = {id, ttl};
    redisReply *r;

    snprintf(ttl, sizeof ttl, "%lld", (long long)q->ttl_failed);
    if ((r = run(q, s, 2, args, NULL)) == NULL)
        return -1;
    return reply_int(q, r, n);
}

int dcmp_queue_cancel(dcmp_queue *q, const char *id, int64_t *n)
{
    return id_action(q, S_CANCEL, id, n);
}

int dcmp_queue_delete(dcmp_queue *q, const char *id, int64_t *n)
{
    return id_action(q, S_DELETE, id, n);
}

int dcmp_queue_job(dcmp_queue *q, const char *id, dcmp_job *job)
{
    char key[DCMP_ID_LEN + 16];
    const char *argv[2] = {"HGETALL", key};
    redisReply *r;
    int rc;

    snprintf(key, sizeof key, "dcmp:job:%s", id);
    if ((r = command(q, 2, argv, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "HGETALL %s: unexpected reply", key);
    }
    if (r->elements == 0) {
        freeReplyObject(r);
        return 0;
    }
    rc = decode_job(q, r, job);
    freeReplyObject(r);
    return rc < 0 ? -1 : 1;
}

int dcmp_queue_count(dcmp_queue *q, const char *queue, const char *state, int64_t *n)
{
    char key[DCMP_QUEUE_LEN + 64];
    const char *argv[2] = {"ZCARD", key};
    redisReply *r;

    if (strcmp(state, "queued") == 0) {
        argv[0] = "LLEN";
        snprintf(key, sizeof key, "dcmp:queue:%s", queue);
    } else {
        snprintf(key, sizeof key, "dcmp:reg:%s:%s", queue, state);
    }
    if ((r = command(q, 2, argv, NULL)) == NULL)
        return -1;
    return reply_int(q, r, n);
}

int dcmp_queue_event_accept(dcmp_queue *q, const char *id, const char *series, const char *version,
                            const char *body, size_t body_len, int64_t seen_ttl,
                            char dup_id[DCMP_ID_LEN])
{
    return dcmp_queue_event_accept_from(q, "webhook", id, series, version, body, body_len, seen_ttl,
                                        dup_id);
}

/* Reads an answer of the event scripts made of n strings ({word, text} pairs): returns r or
 * NULL (freed, error set). */
static redisReply *strings_reply(dcmp_queue *q, redisReply *r, size_t n, const char *what)
{
    size_t i;
    int ok;

    if (r == NULL)
        return NULL;
    ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;
    for (i = 0; ok && i < n; i++)
        ok = r->element[i]->type == REDIS_REPLY_STRING;
    if (!ok) {
        freeReplyObject(r);
        dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "%s: unexpected reply", what);
        return NULL;
    }
    return r;
}

int dcmp_queue_event_accept_from(dcmp_queue *q, const char *origin, const char *id,
                                 const char *series, const char *version, const char *body,
                                 size_t body_len, int64_t seen_ttl, char dup_id[DCMP_ID_LEN])
{
    char ttl[32];
    const char *args[6] = {id, series, version, body, ttl, origin};
    size_t lens[6] = {strlen(id), strlen(series), strlen(version), body_len, 0, strlen(origin)};
    redisReply *r;
    int rc;

    snprintf(ttl, sizeof ttl, "%lld", (long long)seen_ttl);
    lens[4] = strlen(ttl);
    if ((r = strings_reply(q, run(q, S_EVENT_ACCEPT, 6, args, lens), 2, "event_accept")) == NULL)
        return -1;
    rc = strcmp(r->element[0]->str, "accepted") == 0;
    if (!rc && dup_id)
        dcmp_strlcpy(dup_id, r->element[1]->str, DCMP_ID_LEN);
    freeReplyObject(r);
    return rc;
}

int dcmp_queue_event_claims(dcmp_queue *q, dcmp_queue_claim *c, int n, int64_t seen_ttl)
{
    const char *args[1 + 4 * DCMP_QUEUE_EVENT_BATCH];
    size_t lens[1 + 4 * DCMP_QUEUE_EVENT_BATCH];
    char ttl[32];
    redisReply *r;
    int i;

    if (n < 1 || n > DCMP_QUEUE_EVENT_BATCH)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "event_claim: %d claims (1 to %d)", n,
                                 DCMP_QUEUE_EVENT_BATCH);
    snprintf(ttl, sizeof ttl, "%lld", (long long)seen_ttl);
    args[0] = ttl;
    lens[0] = strlen(ttl);
    for (i = 0; i < n; i++) {
        args[1 + 4 * i] = c[i].id;
        args[2 + 4 * i] = c[i].series;
        args[3 + 4 * i] = c[i].version;
        args[4 + 4 * i] = c[i].stable ? "1" : "0";
        lens[1 + 4 * i] = strlen(c[i].id);
        lens[2 + 4 * i] = strlen(c[i].series);
        lens[3 + 4 * i] = strlen(c[i].version);
        lens[4 + 4 * i] = 1;
    }
    r = strings_reply(q, dcmp_queue_script(q, dcmp_lua_event_claim, 1 + 4 * n, args, lens),
                      2 * (size_t)n, "event_claim");
    if (r == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        const redisReply *what = r->element[2 * i], *who = r->element[2 * i + 1];
        c[i].result = strcmp(what->str, "claimed") == 0     ? 1
                      : strcmp(what->str, "duplicate") == 0 ? 0
                                                            : 2;
        dcmp_strlcpy(c[i].other, c[i].result == 0 ? who->str : "", DCMP_ID_LEN);
    }
    freeReplyObject(r);
    return 0;
}

static void processing_key(char *key, size_t size, const char *scheduler)
{
    snprintf(key, size, "dcmp:inbox:%s:processing", scheduler);
}

int dcmp_queue_event_take(dcmp_queue *q, const char *scheduler, int timeout_ms,
                          char id[DCMP_ID_LEN], char **body, int64_t *received)
{
    char proc[DCMP_WORKER_LEN + 32], secs[32], max[24], ttl[24];
    const char *argv[4] = {"BRPOPLPUSH", "dcmp:inbox", proc, secs};
    const char *take[4] = {proc, id, max, ttl};
    redisReply *r;
    int quarantined;

    *body = NULL;
    processing_key(proc, sizeof proc, scheduler);
    /* BRPOPLPUSH takes whole seconds in Redis < 6; 7 takes decimals */
    snprintf(secs, sizeof secs, "%d.%03d", timeout_ms / 1000, timeout_ms % 1000);
    if (dcmp_queue_connect(q) < 0)
        return -1;
    redisSetTimeout(q->ctx, ms_tv(timeout_ms + QUEUE_CMD_TIMEOUT_MS));
    r = command(q, 4, argv, NULL);
    if (q->ctx)
        redisSetTimeout(q->ctx, ms_tv(QUEUE_CMD_TIMEOUT_MS));
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (r->type != REDIS_REPLY_STRING || r->len >= DCMP_ID_LEN) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "event take: unexpected reply");
    }
    memcpy(id, r->str, r->len + 1);
    freeReplyObject(r);
    snprintf(max, sizeof max, "%lld", (long long)q->event_max_takes);
    snprintf(ttl, sizeof ttl, "%lld", (long long)q->ttl_failed);
    if ((r = run(q, S_EVENT_TAKE, 4, take, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "event_take: unexpected reply");
    }
    quarantined = r->element[2]->len > 0;
    *body = quarantined ? strndup(r->element[2]->str, r->element[2]->len)
                        : strndup(r->element[0]->str, r->element[0]->len);
    if (received)
        *received = strtoll(r->element[1]->str, NULL, 10);
    freeReplyObject(r);
    if (*body == NULL)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "out of memory");
    return quarantined ? 2 : 1;
}

/* event_done.lua's arguments: args[4 + 5 * DCMP_QUEUE_EVENT_BATCH] pointing into the three
 * buffers and done[]. Returns the count, or -1 (q->err) for a bad batch size. */
static int finish_args(dcmp_queue *q, const char *scheduler, const dcmp_queue_event_result *done,
                       int n, int take, const char **args, char proc[DCMP_WORKER_LEN + 32],
                       char ttl[32], char ntake[16], char max[24])
{
    int i;

    if (n < 0 || n > DCMP_QUEUE_EVENT_BATCH || take < 0 || take > DCMP_QUEUE_EVENT_BATCH)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "event_done: a batch holds 0 to %d events",
                                 DCMP_QUEUE_EVENT_BATCH);
    processing_key(proc, DCMP_WORKER_LEN + 32, scheduler);
    snprintf(ttl, 32, "%lld", (long long)q->ttl_failed);
    snprintf(ntake, 16, "%d", take);
    snprintf(max, 24, "%lld", (long long)q->event_max_takes);
    args[0] = proc;
    args[1] = ttl;
    args[2] = ntake;
    args[3] = max;
    for (i = 0; i < n; i++) {
        args[4 + 5 * i] = done[i].id;
        args[5 + 5 * i] = done[i].graph ? done[i].graph : "";
        args[6 + 5 * i] = done[i].plan ? done[i].plan : "{}";
        args[7 + 5 * i] = done[i].state;
        args[8 + 5 * i] = done[i].error ? done[i].error : "";
    }
    return 4 + 5 * n;
}

/* Reads event_done.lua's answer r (freed here) into done[n] and next[take]. */
static int finish_reply(dcmp_queue *q, redisReply *r, dcmp_queue_event_result *done, int n,
                        int take, dcmp_queue_event *next, int *nnext)
{
    size_t at;
    int i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 + 2 * (size_t)n ||
        (r->elements - 1 - 2 * (size_t)n) % 4 != 0 ||
        (r->elements - 1 - 2 * (size_t)n) / 4 > (size_t)take) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "event_done: unexpected reply");
    }
    for (i = 0; i < n; i++) {
        const redisReply *jobs = r->element[1 + 2 * i], *why = r->element[2 + 2 * i];
        done[i].jobs = jobs->type == REDIS_REPLY_INTEGER ? (int64_t)jobs->integer : -1;
        snprintf(done[i].refused, sizeof done[i].refused, "%s",
                 why->type == REDIS_REPLY_STRING ? why->str : "");
    }
    for (at = 1 + 2 * (size_t)n; at + 3 < r->elements; at += 4) {
        const redisReply *id = r->element[at], *body = r->element[at + 1],
                         *rcv = r->element[at + 2], *why = r->element[at + 3];
        dcmp_queue_event *e = &next[*nnext];
        if (id->type != REDIS_REPLY_STRING || id->len >= DCMP_ID_LEN ||
            body->type != REDIS_REPLY_STRING || rcv->type != REDIS_REPLY_STRING ||
            why->type != REDIS_REPLY_STRING)
            continue; /* cannot happen; the event stays in the list, planned after a restart */
        memcpy(e->id, id->str, id->len + 1);
        e->received = strtoll(rcv->str, NULL, 10);
        e->quarantined = why->len > 0;
        if (e->quarantined)
            body = why;
        if ((e->body = strndup(body->str, body->len)) == NULL) {
            freeReplyObject(r);
            return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "out of memory");
        }
        (*nnext)++;
    }
    freeReplyObject(r);
    return 0;
}

int dcmp_queue_event_finish(dcmp_queue *q, const char *scheduler, dcmp_queue_event_result *done,
                            int n, int take, dcmp_queue_event *next, int *nnext)
{
    char proc[DCMP_WORKER_LEN + 32], ttl[32], ntake[16], max[24];
    const char *args[4 + 5 * DCMP_QUEUE_EVENT_BATCH];
    redisReply *r;
    int nargs;

    *nnext = 0;
    if ((nargs = finish_args(q, scheduler, done, n, take, args, proc, ttl, ntake, max)) < 0)
        return -1;
    if ((r = run(q, S_EVENT_DONE, nargs, args, NULL)) == NULL)
        return -1;
    return finish_reply(q, r, done, n, take, next, nnext);
}

int dcmp_queue_event_finish_send(dcmp_queue *q, const char *scheduler,
                                 const dcmp_queue_event_result *done, int n, int take)
{
    char proc[DCMP_WORKER_LEN + 32], ttl[32], ntake[16], max[24];
    const char *argv[7 + 5 * DCMP_QUEUE_EVENT_BATCH];
    int nargs, written = 0;

    if ((nargs = finish_args(q, scheduler, done, n, take, argv + 3, proc, ttl, ntake, max)) < 0)
        return -1;
    if (dcmp_queue_connect(q) < 0)
        return -1;
    if (q->sha[S_EVENT_DONE][0] == '\0' &&
        load_script(q, q->script[S_EVENT_DONE], q->sha[S_EVENT_DONE]) < 0)
        return -1;
    argv[0] = "EVALSHA";
    argv[1] = q->sha[S_EVENT_DONE];
    argv[2] = "0";
    /* formatted into hiredis's buffer, then written at once: Redis runs it while we go on */
    if (redisAppendCommandArgv(q->ctx, nargs + 3, argv, NULL) != REDIS_OK) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: %s", q->host, q->port, q->ctx->errstr);
        disconnect(q);
        return -1;
    }
    while (!written)
        if (redisBufferWrite(q->ctx, &written) != REDIS_OK) {
            dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: %s", q->host, q->port,
                              q->ctx->errstr[0] ? q->ctx->errstr : "connection lost");
            disconnect(q);
            return -1;
        }
    return 0;
}

int dcmp_queue_event_finish_recv(dcmp_queue *q, dcmp_queue_event_result *done, int n, int take,
                                 dcmp_queue_event *next, int *nnext)
{
    redisReply *r = NULL;

    *nnext = 0;
    if (q->ctx == NULL)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: not connected", q->host, q->port);
    if (redisGetReply(q->ctx, (void **)&r) != REDIS_OK || r == NULL) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis %s:%d: %s", q->host, q->port,
                          q->ctx->errstr[0] ? q->ctx->errstr : "connection lost");
        disconnect(q);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* the steps sent after this one are still on the wire: the connection is dropped, and
         * the caller finds where things stand (NOSCRIPT: loaded again on the next connect) */
        dcmp_queue_seterr(q, DCMP_QUEUE_EIO, "redis: %s", r->str);
        freeReplyObject(r);
        disconnect(q);
        return -1;
    }
    return finish_reply(q, r, done, n, take, next, nnext);
}

int dcmp_queue_event_done(dcmp_queue *q, const char *scheduler, const char *id, const char *graph,
                          const char *plan, const char *state, const char *error)
{
    dcmp_queue_event_result d;
    int n;

    memset(&d, 0, sizeof d);
    d.id = id;
    d.graph = graph;
    d.plan = plan;
    d.state = state;
    d.error = error;
    if (dcmp_queue_event_finish(q, scheduler, &d, 1, 0, NULL, &n) < 0)
        return -1;
    if (d.jobs == -1)
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: %s", d.refused);
    return 0;
}

int dcmp_queue_event_recover(dcmp_queue *q, const char *scheduler, int64_t *n)
{
    char proc[DCMP_WORKER_LEN + 32];
    const char *argv[3] = {"RPOPLPUSH", proc, "dcmp:inbox"};
    redisReply *r;
    int64_t moved = 0;

    processing_key(proc, sizeof proc, scheduler);
    for (;;) {
        if ((r = command(q, 3, argv, NULL)) == NULL)
            return -1;
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            break;
        }
        freeReplyObject(r);
        moved++;
    }
    if (n)
        *n = moved;
    return 0;
}

int dcmp_queue_event_field(dcmp_queue *q, const char *id, const char *field, char **value)
{
    char key[DCMP_ID_LEN + 16];
    const char *argv[3] = {"HGET", key, field};
    redisReply *r;

    *value = NULL;
    snprintf(key, sizeof key, "dcmp:event:%s", id);
    if ((r = command(q, 3, argv, NULL)) == NULL)
        return -1;
    if (r->type == REDIS_REPLY_STRING)
        *value = strndup(r->str, r->len);
    freeReplyObject(r);
    return *value != NULL;
}

int dcmp_queue_ping(dcmp_queue *q)
{
    const char *argv[1] = {"PING"};
    redisReply *r = command(q, 1, argv, NULL);
    int ok;

    if (r == NULL)
        return -1;
    ok = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return ok ? 0 : dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "redis: PING failed");
}

int dcmp_queue_catchup_get(dcmp_queue *q, int64_t *since)
{
    const char *argv[2] = {"GET", "dcmp:catchup:since"};
    redisReply *r = command(q, 2, argv, NULL);

    if (r == NULL)
        return -1;
    *since = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return 0;
}

int dcmp_queue_catchup_set(dcmp_queue *q, int64_t since)
{
    char val[32];
    const char *argv[3] = {"SET", "dcmp:catchup:since", val};
    redisReply *r;

    snprintf(val, sizeof val, "%lld", (long long)since);
    if ((r = command(q, 3, argv, NULL)) == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

struct redisReply *dcmp_queue_command(dcmp_queue *q, int argc, const char **argv,
                                      const size_t *lens)
{
    return command(q, argc, argv, lens);
}

struct redisReply *dcmp_queue_script(dcmp_queue *q, const char *body, int nargs, const char **args,
                                     const size_t *lens)
{
    int i;

    for (i = 0; i < DCMP_QUEUE_EXTRA_SCRIPTS && q->extra[i].body != NULL; i++)
        if (q->extra[i].body == body)
            return run_text(q, q->extra[i].text, q->extra[i].sha, nargs, args, lens);
    if (i == DCMP_QUEUE_EXTRA_SCRIPTS) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "more than %d extra scripts",
                          DCMP_QUEUE_EXTRA_SCRIPTS);
        return NULL;
    }
    if ((q->extra[i].text = script_text(body)) == NULL) {
        dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY, "out of memory, or more than %d scripts",
                          SCRIPT_TEXTS);
        return NULL;
    }
    q->extra[i].sha[0] = '\0';
    q->extra[i].body = body;
    return run_text(q, q->extra[i].text, q->extra[i].sha, nargs, args, lens);
}

int dcmp_queue_seterr(dcmp_queue *q, int code, const char *fmt, ...)
{
    va_list ap;

    q->err = code;
    va_start(ap, fmt);
    vsnprintf(q->errstr, sizeof q->errstr, fmt, ap);
    va_end(ap);
    return -1;
}

int dcmp_queue_catchup_pending(dcmp_queue *q, const char *series, int64_t seen_ms)
{
    char score[32];
    const char *argv[5] = {"ZADD", "dcmp:catchup:pending", "NX", score, series};
    redisReply *r;

    snprintf(score, sizeof score, "%lld", (long long)seen_ms);
    if ((r = command(q, 5, argv, NULL)) == NULL)
        return -1;
    return reply_int(q, r, NULL);
}

int dcmp_queue_catchup_settled(dcmp_queue *q, const char *series)
{
    const char *argv[3] = {"ZREM", "dcmp:catchup:pending", series};
    redisReply *r;

    if ((r = command(q, 3, argv, NULL)) == NULL)
        return -1;
    return reply_int(q, r, NULL);
}

int dcmp_queue_catchup_waiting(dcmp_queue *q, int max, char ids[][DCMP_QUEUE_SERIES_LEN], int *n)
{
    char stop[16];
    const char *argv[4] = {"ZRANGE", "dcmp:catchup:pending", "0", stop};
    redisReply *r;
    size_t i;

    *n = 0;
    if (max <= 0)
        return 0;
    snprintf(stop, sizeof stop, "%d", max - 1);
    if ((r = command(q, 4, argv, NULL)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return dcmp_queue_seterr(q, DCMP_QUEUE_EREPLY,
                                 "ZRANGE dcmp:catchup:pending: unexpected reply");
    }
    for (i = 0; i < r->elements && *n < max; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len < DCMP_QUEUE_SERIES_LEN)
            memcpy(ids[(*n)++], r->element[i]->str, r->element[i]->len + 1);
    freeReplyObject(r);
    return 0;
}
