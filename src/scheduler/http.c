/* http.c -- dcmp-scheduler's HTTP side: POST /stable-series, /stable-study and /stable-patient
 * store the event durably and answer at once; GET /health and GET /metrics. One libmicrohttpd
 * thread. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "listen.h"
#include "scheduler.h"
#include "webhook.h"

const double latency_bounds[LATENCY_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                0.05,  0.1,    0.5,   1.0};

/* Bytes of headers and read buffer per connection (MHD's default 32 KiB is cleared for every
 * request; a webhook's headers are well under 1 KiB, and its body is copied out as it comes,
 * so a smaller buffer only means more, smaller reads of a large body). */
#define HTTP_CONNECTION_MEMORY (8 * 1024)

/* The listener's caps (docs/scheduler.md). Orthanc posts one webhook at a time from one
 * address, so a client address gets HTTP_PER_ADDRESS connections (more are closed at once);
 * the total is HTTP_CONNECTIONS, or what the open-file limit leaves beside HTTP_FILES_SPARE
 * (Redis, the helpers' pipes, files). A connection idle for HTTP_IDLE_TIMEOUT s is closed: a
 * client that opens connections and says nothing holds its share that long at most. */
#define HTTP_CONNECTIONS   1024
#define HTTP_PER_ADDRESS   64
#define HTTP_IDLE_TIMEOUT  10
#define HTTP_FILES_SPARE   256
#define HTTP_RATE_BURST_S  10    /* a client may post 10 s worth of WEBHOOK_RATE at once */
#define HTTP_RATE_LOG_MS   60000 /* a throttled client is logged once a minute */
#define STUDY_BODY_MEMBERS 4     /* a /stable-study (-patient) body: its id, LastUpdate, room */

/* One request's state. */
typedef struct request {
    char *body;
    size_t len, cap;
    int too_big;
} request;

/* Sends text; header: one more header's name and value (NULL: none). */
static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *text, const char *header, const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (header)
        MHD_add_response_header(r, header, value);
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* {"key": value, ...} from pairs of (key, string value); NULL ends. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, ...)
{
    cJSON *o = cJSON_CreateObject();
    const char *k, *v;
    char *text;
    enum MHD_Result rc;
    va_list ap;

    va_start(ap, status);
    while ((k = va_arg(ap, const char *)) != NULL) {
        v = va_arg(ap, const char *);
        cJSON_AddStringToObject(o, k, v);
    }
    va_end(ap);
    text = o ? cJSON_PrintUnformatted(o) : NULL;
    rc = send_text(c, status, "application/json", text ? text : "{}", NULL, NULL);
    free(text);
    cJSON_Delete(o);
    return rc;
}

/* {"status": status, "event": id}: the answer to every stored webhook, written without a
 * JSON tree (an event id is 32 hex digits; the status one of two words). */
static enum MHD_Result send_event(struct MHD_Connection *c, unsigned code, const char *status,
                                  const char *id)
{
    char text[64 + DCMP_ID_LEN];

    snprintf(text, sizeof text, "{\"status\":\"%s\",\"event\":\"%s\"}", status, id);
    return send_text(c, code, "application/json", text, NULL, NULL);
}

static enum MHD_Result reject(scheduler *s, struct MHD_Connection *c, unsigned status,
                              const char *why)
{
    atomic_fetch_add(&s->m.rejected, 1);
    dcmp_log_limited(DCMP_WARN, "webhook refused (%u): %s", status, why);
    return send_json(c, status, "error", why, (const char *)NULL);
}

/* Compares without leaking where the first difference is. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char d = la != lb;

    for (i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Whether the request carries "Bearer <token>" for one of the tokens that are set (both
 * compared always). */
static int bearer(struct MHD_Connection *c, const char *token, const char *other)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    int ok;

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    ok = token[0] != '\0' && same_secret(h + 7, token);
    ok |= other[0] != '\0' && same_secret(h + 7, other);
    return ok;
}

/* A webhook needs WEBHOOK_TOKEN when it is set. */
static int authorized(scheduler *s, struct MHD_Connection *c)
{
    return s->cfg->webhook_token[0] == '\0' || bearer(c, s->cfg->webhook_token, "");
}

/* /metrics needs METRICS_TOKEN or WEBHOOK_TOKEN when either is set (a scraper is given the
 * metrics token, which cannot post webhooks). */
static int may_read_metrics(scheduler *s, struct MHD_Connection *c)
{
    const dcmp_config *cfg = s->cfg;

    return (cfg->metrics_token[0] == '\0' && cfg->webhook_token[0] == '\0') ||
           bearer(c, cfg->metrics_token, cfg->webhook_token);
}

/* WEBHOOK_RATE: takes one of the client's tokens. Returns 1 when the post may go on, else
 * answers 429 with Retry-After (logged once a minute per client) and returns 0. */
static int within_rate(scheduler *s, struct MHD_Connection *c, enum MHD_Result *answer)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[64], wait[32], text[160];
    dcmp_throttle_verdict v;

    if (s->rate == NULL)
        return 1;
    dcmp_listen_addr(ci ? ci->client_addr : NULL, addr, sizeof addr);
    v = dcmp_throttle_take(s->rate, addr, dcmp_clock_mono_ms());
    if (v.allowed)
        return 1;
    atomic_fetch_add(&s->m.throttled, 1);
    if (v.log)
        dcmp_log_warn("webhooks from %s refused (429): more than WEBHOOK_RATE=%lld a second; "
                      "its next refusals this minute are not logged",
                      addr, (long long)s->cfg->webhook_rate);
    snprintf(wait, sizeof wait, "%lld", (long long)((v.retry_ms + 999) / 1000));
    snprintf(text, sizeof text,
             "{\"error\":\"too many webhooks from this address (WEBHOOK_RATE=%lld a second): "
             "retry in %s s\"}",
             (long long)s->cfg->webhook_rate, wait);
    *answer =
        send_text(c, MHD_HTTP_TOO_MANY_REQUESTS, "application/json", text, "Retry-After", wait);
    return 0;
}

/* This HTTP thread's Redis connection: each thread of MHD's pool takes one the first time it
 * handles a request, and keeps it. */
static dcmp_queue *intake(scheduler *s)
{
    static __thread int slot = -1;

    if (slot < 0)
        slot = atomic_fetch_add(&s->intake_next, 1) % SCHEDULER_HTTP_THREADS;
    return s->intake[slot];
}

static enum MHD_Result stable_series(scheduler *s, struct MHD_Connection *c, request *req)
{
    char err[DCMP_ERR_LEN], id[DCMP_ID_LEN], dup[DCMP_ID_LEN] = "";
    dcmp_webhook w;
    int rc;

    if (req->too_big)
        return reject(s, c, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than SCHEDULER_MAX_BODY");
    /* checked here (bounded, linear); only what the planner builds the event's data from is
     * stored, not the whole body (Orthanc's series listing, anything nested) */
    if (dcmp_webhook_check(req->body ? req->body : "", req->len, &w, err) < 0)
        return reject(s, c, MHD_HTTP_BAD_REQUEST, err);
    if (dcmp_job_new_id(id) < 0) {
        dcmp_webhook_free(&w);
        return send_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "error", "no randomness",
                         (const char *)NULL);
    }
    rc = dcmp_queue_event_accept(intake(s), id, w.series, w.version, w.kept, strlen(w.kept),
                                 s->cfg->seen_ttl, dup);
    dcmp_webhook_free(&w);
    if (rc < 0) {
        atomic_fetch_add(&s->m.unavailable, 1);
        dcmp_log_limited(DCMP_ERROR_LEVEL, "webhook for series %s not stored: %s", w.series,
                         dcmp_queue_errstr(intake(s)));
        return send_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, "error",
                         "redis unavailable: the event was not stored", (const char *)NULL);
    }
    if (rc == 0) {
        atomic_fetch_add(&s->m.duplicates, 1);
        dcmp_log_limited(DCMP_INFO, "series %s version %s: duplicate of event %s", w.series,
                         w.version, dup);
        return send_event(c, MHD_HTTP_OK, "duplicate", dup);
    }
    atomic_fetch_add(&s->m.accepted, 1);
    dcmp_log_limited(DCMP_INFO, "series %s version %s: event %s accepted", w.series, w.version, id);
    return send_event(c, MHD_HTTP_ACCEPTED, "accepted", id);
}

/* 1 when v is a string of 1 to max letters, digits and '-' (an Orthanc id; Orthanc's
 * LastUpdate is digits and 'T'), else 0 with why naming key. */
static int id_text(const cJSON *v, const char *key, size_t max, char *why)
{
    const char *p;

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > max) {
        snprintf(why, DCMP_ERR_LEN, "%s: expected a string of 1 to %zu characters", key, max);
        return 0;
    }
    for (p = v->valuestring; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-')) {
            snprintf(why, DCMP_ERR_LEN, "%s: letters, digits and '-' only", key);
            return 0;
        }
    return 1;
}

/* POST /stable-study {"studyId", "LastUpdate"}: Orthanc's OnStableStudy; POST /stable-patient
 * {"patientId", "LastUpdate"}: its OnStablePatient (L: the level of the path). Stored in the
 * inbox as an event of that level (study.c), unless one of the same study (patient) waits there
 * or the same version came before; the planner asks Orthanc whether it is stable, never the
 * body. */
static enum MHD_Result stable_level(scheduler *s, struct MHD_Connection *c, request *req,
                                    const dcmp_level *L)
{
    cJSON *b = req->too_big ? NULL : cJSON_ParseWithLength(req->body ? req->body : "", req->len);
    const cJSON *study = cJSON_GetObjectItemCaseSensitive(b, L->id_key);
    const cJSON *lu = cJSON_GetObjectItemCaseSensitive(b, "LastUpdate");
    char why[DCMP_ERR_LEN], id[DCMP_ID_LEN];
    int rc;

    if (req->too_big) {
        cJSON_Delete(b);
        return reject(s, c, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than SCHEDULER_MAX_BODY");
    }
    if (cJSON_IsObject(b) && cJSON_GetArraySize(b) > STUDY_BODY_MEMBERS) {
        snprintf(why, sizeof why, "a %s body has more than %d members (it takes %s and LastUpdate)",
                 L->webhook, STUDY_BODY_MEMBERS, L->id_key);
        cJSON_Delete(b);
        return reject(s, c, MHD_HTTP_BAD_REQUEST, why);
    }
    if (!cJSON_IsObject(b) || !id_text(study, L->id_key, 64, why) ||
        (lu && !id_text(lu, "LastUpdate", 39, why))) {
        if (!cJSON_IsObject(b))
            snprintf(why, sizeof why, "expected {\"%s\": an Orthanc id}", L->id_key);
        cJSON_Delete(b);
        return reject(s, c, MHD_HTTP_BAD_REQUEST, why);
    }
    if (!study_wanted(s, L)) {
        snprintf(why, sizeof why, "not stored: no %s-level entry in the registry", L->name);
        cJSON_Delete(b);
        return send_json(c, MHD_HTTP_OK, "status", why, (const char *)NULL);
    }
    rc =
        study_accept(s, intake(s), L, study->valuestring, lu ? lu->valuestring : "", "webhook", id);
    if (rc < 0) {
        atomic_fetch_add(&s->m.unavailable, 1);
        dcmp_log_limited(DCMP_ERROR_LEVEL, "webhook for %s %s not stored: %s", L->name,
                         study->valuestring, dcmp_queue_errstr(intake(s)));
        cJSON_Delete(b);
        return send_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, "error",
                         "redis unavailable: the event was not stored", (const char *)NULL);
    }
    atomic_fetch_add(rc ? &s->m.accepted : &s->m.duplicates, 1);
    dcmp_log_limited(DCMP_INFO, "%s %s: %s event %s", L->name, study->valuestring,
                     rc ? "accepted as" : "duplicate of", id);
    cJSON_Delete(b);
    return send_event(c, rc ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK, rc ? "accepted" : "duplicate", id);
}

/* POST /series-arriving {"seriesId"}: Orthanc's script saw the first instance of a series;
 * the arrival watch plans it once it has been still for STABLE_AGE (watch.c). */
static enum MHD_Result series_arriving(scheduler *s, struct MHD_Connection *c, request *req)
{
    cJSON *b = req->too_big ? NULL : cJSON_ParseWithLength(req->body ? req->body : "", req->len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(b, "seriesId");
    char why[DCMP_ERR_LEN];
    int rc;

    if (!id_text(id, "seriesId", 64, why)) {
        cJSON_Delete(b);
        return reject(s, c, MHD_HTTP_BAD_REQUEST, why);
    }
    if (!s->cfg->early_stable || !s->cfg->orthanc_url[0]) {
        cJSON_Delete(b);
        return send_json(c, MHD_HTTP_OK, "status", "not watched (EARLY_STABLE off)",
                         (const char *)NULL);
    }
    rc = watch_add(s, id->valuestring);
    if (rc > 0) {
        atomic_fetch_add(&s->m.arriving, 1);
        dcmp_log_debug("series %s arriving: watched", id->valuestring);
    } else if (rc < 0) {
        dcmp_log_warn("series %s arriving: %d series watched already: left to Orthanc's webhook",
                      id->valuestring, WATCH_MAX);
    }
    cJSON_Delete(b);
    return send_json(c, rc < 0 ? MHD_HTTP_OK : MHD_HTTP_ACCEPTED, "status",
                     rc < 0 ? "not watched (too many)" : "watched", (const char *)NULL);
}

static enum MHD_Result health(scheduler *s, struct MHD_Connection *c)
{
    char why[DCMP_ERR_LEN + 96];
    int failures = atomic_load(&s->plan_failures);

    if (dcmp_queue_ping(intake(s)) < 0)
        return send_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, "status", "degraded", "redis",
                         dcmp_queue_errstr(intake(s)), (const char *)NULL);
    if (failures >= HEALTH_PLAN_FAILURES) {
        /* Redis answers, but the planner cannot plan (settings or DATA unusable, Orthanc
         * down, every event failing): say so, with the last reason */
        pthread_mutex_lock(&s->health_lock);
        snprintf(why, sizeof why, "%d event(s) in a row not planned; last: %s", failures,
                 s->plan_error);
        pthread_mutex_unlock(&s->health_lock);
        return send_json(c, MHD_HTTP_SERVICE_UNAVAILABLE, "status", "degraded", "redis", "ok",
                         "planner", why, (const char *)NULL);
    }
    return send_json(c, MHD_HTTP_OK, "status", "ok", "redis", "ok", "planner", "ok",
                     (const char *)NULL);
}

static enum MHD_Result metrics_text(scheduler *s, struct MHD_Connection *c)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"events_received_total",
         "Webhook requests to /stable-series, /stable-study and /stable-patient.",
         offsetof(metrics, received)},
        {"events_accepted_total", "Events stored as new.", offsetof(metrics, accepted)},
        {"events_duplicate_total", "Webhooks for a series version already accepted.",
         offsetof(metrics, duplicates)},
        {"events_rejected_total", "Webhooks refused with 400, 401 or 413.",
         offsetof(metrics, rejected)},
        {"events_throttled_total", "Webhooks refused with 429 (WEBHOOK_RATE).",
         offsetof(metrics, throttled)},
        {"events_unavailable_total", "Webhooks answered 503 (Redis down).",
         offsetof(metrics, unavailable)},
        {"events_planned_total", "Events planned with jobs.", offsetof(metrics, planned)},
        {"events_ignored_total", "Events planned with no job.", offsetof(metrics, ignored)},
        {"events_failed_total", "Events whose plan could not be written.",
         offsetof(metrics, failed)},
        {"callback_errors_total", "Callbacks that failed, crashed or overran.",
         offsetof(metrics, callback_errors)},
        {"events_caught_up_total", "Events made by the /changes catch-up.",
         offsetof(metrics, caught_up)},
        {"series_arriving_total", "Series Orthanc's script said are arriving (watched).",
         offsetof(metrics, arriving)},
        {"events_early_total", "Events made by the arrival watch, before Orthanc's webhook.",
         offsetof(metrics, early)},
    };
    char text[8192];
    size_t used = 0, i;

#define OUT(...) used += (size_t)snprintf(text + used, sizeof text - used, __VA_ARGS__)
    for (i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        atomic_long *v = (atomic_long *)((char *)&s->m + counters[i].off);
        OUT("# HELP dcmp_scheduler_%s %s\n# TYPE dcmp_scheduler_%s counter\n"
            "dcmp_scheduler_%s %ld\n",
            counters[i].name, counters[i].help, counters[i].name, counters[i].name, atomic_load(v));
    }
    OUT("# HELP dcmp_scheduler_enqueue_latency_seconds From webhook received to jobs "
        "enqueued.\n# TYPE dcmp_scheduler_enqueue_latency_seconds histogram\n");
    for (i = 0; i < LATENCY_BUCKETS; i++)
        OUT("dcmp_scheduler_enqueue_latency_seconds_bucket{le=\"%g\"} %ld\n", latency_bounds[i],
            atomic_load(&s->m.latency[i]));
    OUT("dcmp_scheduler_enqueue_latency_seconds_bucket{le=\"+Inf\"} %ld\n",
        atomic_load(&s->m.latency_count));
    OUT("dcmp_scheduler_enqueue_latency_seconds_sum %.6f\n",
        (double)atomic_load(&s->m.latency_sum_us) / 1e6);
    OUT("dcmp_scheduler_enqueue_latency_seconds_count %ld\n", atomic_load(&s->m.latency_count));
#undef OUT
    return send_text(c, MHD_HTTP_OK, "text/plain; version=0.0.4", text, NULL, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    scheduler *s = cls;
    request *req = *con_cls;
    int is_post = strcmp(method, "POST") == 0, is_get = strcmp(method, "GET") == 0;

    (void)version;
    if (req == NULL) {
        const char *cl;
        if ((req = calloc(1, sizeof *req)) == NULL)
            return MHD_NO;
        *con_cls = req;
        if ((strcmp(url, "/stable-series") == 0 || strcmp(url, "/series-arriving") == 0 ||
             dcmp_level_webhook(url) != NULL) &&
            is_post) {
            enum MHD_Result answer;
            atomic_fetch_add(&s->m.received, 1);
            if (!within_rate(s, c, &answer))
                return answer;
            if (!authorized(s, c))
                return reject(s, c, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
            cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoll(cl, NULL, 10) > s->cfg->max_body)
                return reject(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
                              "body larger than SCHEDULER_MAX_BODY");
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        /* Bodies are kept whole up to the cap; the rest is read and dropped. */
        if (!req->too_big && req->len + *upload_size <= (size_t)s->cfg->max_body) {
            if (req->len + *upload_size + 1 > req->cap) {
                size_t cap = req->cap ? req->cap : 4096;
                char *p;
                while (cap < req->len + *upload_size + 1)
                    cap *= 2;
                if ((p = realloc(req->body, cap)) == NULL)
                    return MHD_NO;
                req->body = p;
                req->cap = cap;
            }
            memcpy(req->body + req->len, upload, *upload_size);
            req->len += *upload_size;
            req->body[req->len] = '\0';
        } else {
            req->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/stable-series") == 0) {
        if (!is_post)
            return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                             "{\"error\":\"use POST\"}", "Allow", "POST");
        return stable_series(s, c, req);
    }
    if (dcmp_level_webhook(url) != NULL) {
        if (!is_post)
            return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                             "{\"error\":\"use POST\"}", "Allow", "POST");
        return stable_level(s, c, req, dcmp_level_webhook(url));
    }
    if (strcmp(url, "/series-arriving") == 0) {
        if (!is_post)
            return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                             "{\"error\":\"use POST\"}", "Allow", "POST");
        return series_arriving(s, c, req);
    }
    if (strcmp(url, "/health") == 0 || strcmp(url, "/metrics") == 0) {
        if (!is_get)
            return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                             "{\"error\":\"use GET\"}", "Allow", "GET");
        if (url[1] == 'h')
            return health(s, c);
        if (!may_read_metrics(s, c))
            return send_json(c, MHD_HTTP_UNAUTHORIZED, "error",
                             "missing or wrong bearer token (METRICS_TOKEN or WEBHOOK_TOKEN)",
                             (const char *)NULL);
        return metrics_text(s, c);
    }
    return send_json(c, MHD_HTTP_NOT_FOUND, "error", "no such path", (const char *)NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    request *req = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (req) {
        free(req->body);
        free(req);
    }
    *con_cls = NULL;
}

int http_start(scheduler *s, char *err)
{
    struct sockaddr_in addr;
    uint64_t seed = 0;
    long files;
    unsigned limit;

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)s->cfg->scheduler_port);
    if (inet_pton(AF_INET, s->cfg->scheduler_bind, &addr.sin_addr) != 1)
        return dcmp_seterr(err, "SCHEDULER_BIND=\"%s\": not an IPv4 address",
                           s->cfg->scheduler_bind);
    if (s->cfg->webhook_rate > 0) {
        if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
            return dcmp_seterr(err, "no randomness for the WEBHOOK_RATE table");
        s->rate =
            dcmp_throttle_new(s->cfg->webhook_rate, 1000, s->cfg->webhook_rate * HTTP_RATE_BURST_S,
                              HTTP_RATE_LOG_MS, seed);
        if (s->rate == NULL)
            return dcmp_seterr(err, "WEBHOOK_RATE=%lld: cannot make its table",
                               (long long)s->cfg->webhook_rate);
    }
    files = dcmp_listen_files(HTTP_CONNECTIONS + HTTP_FILES_SPARE);
    limit = files - HTTP_FILES_SPARE >= HTTP_CONNECTIONS ? HTTP_CONNECTIONS
            : files > 2 * HTTP_FILES_SPARE               ? (unsigned)(files - HTTP_FILES_SPARE)
                                                         : (unsigned)(files / 2);
    if (limit < HTTP_CONNECTIONS)
        dcmp_log_warn("open files limited to %ld (ulimit -n): at most %u connections at once",
                      files, limit);
    s->http = MHD_start_daemon(
        /* AUTO: epoll on Linux (was select, one call per request) */
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)s->cfg->scheduler_port, NULL,
        NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, dcmp_listen_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
        limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_ADDRESS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SCHEDULER_HTTP_THREADS, MHD_OPTION_END);
    if (s->http == NULL) {
        dcmp_throttle_free(s->rate);
        s->rate = NULL;
        return dcmp_seterr(err, "cannot listen on %s:%lld (in use?)", s->cfg->scheduler_bind,
                           (long long)s->cfg->scheduler_port);
    }
    return 0;
}

void http_stop(scheduler *s)
{
    if (s->http)
        MHD_stop_daemon(s->http);
    s->http = NULL;
    dcmp_throttle_free(s->rate);
    s->rate = NULL;
}
