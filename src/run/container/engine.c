/* engine.c -- the Docker Engine API over its Unix socket (libcurl): containers and images.
 * Built into libdcmp_container.so, loaded by enginelib.c on first use. */
#include "engine.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "jsonw.h"
#include "tar.h"

#define CONNECT_MS 5000

/* What an answer's body goes to: a capped buffer, or a log being demultiplexed to fd. */
typedef struct sink {
    char *buf;
    size_t len, cap;
    size_t limit; /* bytes kept, 0: DCMP_ENGINE_REPLY */
    int over;
    int fd;               /* >= 0: demultiplex to it instead */
    unsigned char hdr[8]; /* the current frame's header */
    size_t hdr_len, frame_left, copied;
} sink;

static size_t to_buffer(sink *s, const char *p, size_t n)
{
    size_t limit = s->limit ? s->limit : DCMP_ENGINE_REPLY;

    if (s->len + n > s->cap) {
        size_t want = s->len + n;
        char *grown;
        if (want > limit) {
            s->over = 1;
            return 0;
        }
        want = want < 4096 ? 4096 : want * 2;
        if (want > limit)
            want = limit;
        if ((grown = realloc(s->buf, want + 1)) == NULL)
            return 0;
        s->buf = grown;
        s->cap = want;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

/* The logs of a container without a TTY: frames of an 8-byte header (stream, 0 0 0, size
 * big-endian) and that many bytes. */
static size_t to_fd(sink *s, const char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        if (s->frame_left == 0) {
            s->hdr[s->hdr_len++] = (unsigned char)p[i++];
            if (s->hdr_len == 8) {
                s->frame_left = (size_t)s->hdr[4] << 24 | (size_t)s->hdr[5] << 16 |
                                (size_t)s->hdr[6] << 8 | s->hdr[7];
                s->hdr_len = 0;
            }
            continue;
        }
        size_t take = n - i < s->frame_left ? n - i : s->frame_left;
        if (s->copied + take <= DCMP_ENGINE_LOG_MAX)
            dcmp_executor_write_all(s->fd, p + i, take);
        s->copied += take;
        s->frame_left -= take;
        i += take;
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    sink *s = arg;

    return s->fd >= 0 ? to_fd(s, p, size * nmemb) : to_buffer(s, p, size * nmemb);
}

/*
 * One request. body: JSON to send, or NULL. Returns the HTTP status (the answer in s->buf),
 * 0 when the time ran out, or -1 with err.
 */
static long request(const dcmp_engine *e, const char *method, const char *path, const char *body,
                    int64_t timeout_ms, sink *s, char *err)
{
    char url[DCMP_ENGINE_URL_LEN];
    struct curl_slist *headers = NULL;
    CURLcode rc;
    long status = -1;
    CURL *c;

    if ((size_t)snprintf(url, sizeof url, "http://localhost" DCMP_ENGINE_API "%s", path) >=
        sizeof url)
        return dcmp_seterr(err, "docker engine: request path too long");
    if ((c = curl_easy_init()) == NULL)
        return dcmp_seterr(err, "docker engine: out of memory");
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
    if (timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        status = 0;
    else if (rc != CURLE_OK)
        dcmp_seterr(err, "docker engine at %s: %s %s: %s", e->socket, method, path,
                    curl_easy_strerror(rc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return status;
}

/* The engine's {"message": ...} of an error answer, or the status. */
static int answer_err(const sink *s, long status, const char *what, char *err)
{
    cJSON *j = s->buf ? cJSON_Parse(s->buf) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");

    if (cJSON_IsString(m))
        dcmp_seterr(err, "%s: %s", what, m->valuestring);
    else
        dcmp_seterr(err, "%s: HTTP %ld from the docker engine", what, status);
    cJSON_Delete(j);
    return -1;
}

static int64_t call_ms(const dcmp_engine *e)
{
    return e->call_ms > 0 ? e->call_ms : DCMP_ENGINE_CALL_MS;
}

/* A request whose answer must be one of ok1, ok2. Returns the status, or -1 with err. */
static long call(const dcmp_engine *e, const char *method, const char *path, const char *body,
                 long ok1, long ok2, sink *s, const char *what, char *err)
{
    long status = request(e, method, path, body, call_ms(e), s, err);

    if (status < 0)
        return -1;
    if (status == 0)
        return dcmp_seterr(err, "%s: the docker engine did not answer within %lld ms", what,
                           (long long)call_ms(e));
    if (status != ok1 && status != ok2)
        return answer_err(s, status, what, err);
    return status;
}

static int e_ping(const dcmp_engine *e, char *err)
{
    sink s = {.fd = -1};
    long st;

    st = call(e, "GET", "/_ping", NULL, 200, 200, &s, "docker engine /_ping", err);
    free(s.buf);
    return st < 0 ? -1 : 0;
}

/* The "Id" of an answer's object into id. Returns 0, or -1 with err naming what. */
static int answer_id(const sink *s, const char *what, char id[DCMP_ENGINE_ID_LEN], char *err)
{
    cJSON *j = s->buf ? cJSON_Parse(s->buf) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "Id");
    int rc = cJSON_IsString(v) && dcmp_strlcpy(id, v->valuestring, DCMP_ENGINE_ID_LEN) == 0
                 ? 0
                 : dcmp_seterr(err, "%s: the engine's answer has no Id", what);

    cJSON_Delete(j);
    return rc;
}

static int e_image_id(const dcmp_engine *e, const char *image, char id[DCMP_ENGINE_ID_LEN],
                      char *err)
{
    char path[DCMP_ENGINE_URL_LEN], what[400];
    sink s = {.fd = -1};
    long st;
    int rc;

    snprintf(path, sizeof path, "/images/%s/json", image);
    snprintf(what, sizeof what, "image %s", image);
    st = call(e, "GET", path, NULL, 200, 404, &s, what, err);
    rc = st < 0 ? -1 : st == 404 ? 0 : answer_id(&s, what, id, err) < 0 ? -1 : 1;
    free(s.buf);
    return rc;
}

static int e_image_exists(const dcmp_engine *e, const char *image, char *err)
{
    char id[DCMP_ENGINE_ID_LEN];

    return e_image_id(e, image, id, err);
}

static int e_create(const dcmp_engine *e, const char *body, char id[DCMP_ENGINE_ID_LEN], char *err)
{
    sink s = {.fd = -1};
    int rc = -1;

    if (call(e, "POST", "/containers/create", body, 201, 201, &s, "creating the container", err) >=
        0)
        rc = answer_id(&s, "creating the container", id, err);
    free(s.buf);
    return rc;
}

static int e_start(const dcmp_engine *e, const char *id, char *err)
{
    char path[DCMP_ENGINE_URL_LEN];
    sink s = {.fd = -1};
    long st;

    snprintf(path, sizeof path, "/containers/%s/start", id);
    st = call(e, "POST", path, NULL, 204, 304, &s, "starting the container", err);
    free(s.buf);
    return st < 0 ? -1 : 0;
}

static int e_wait(const dcmp_engine *e, const char *id, int64_t timeout_ms, int *code, char *err)
{
    char path[DCMP_ENGINE_URL_LEN];
    sink s = {.fd = -1};
    const cJSON *v;
    cJSON *j;
    long st;
    int rc = -1;

    snprintf(path, sizeof path, "/containers/%s/wait", id);
    st = request(e, "POST", path, NULL, timeout_ms, &s, err);
    if (st == 0) {
        free(s.buf);
        return 0;
    }
    if (st < 0) {
        free(s.buf);
        return -1;
    }
    if (st != 200) {
        answer_err(&s, st, "waiting for the container", err);
        free(s.buf);
        return -1;
    }
    j = s.buf ? cJSON_Parse(s.buf) : NULL;
    v = cJSON_GetObjectItemCaseSensitive(j, "StatusCode");
    if (cJSON_IsNumber(v)) {
        *code = (int)v->valuedouble;
        rc = 1;
    } else {
        dcmp_seterr(err, "waiting for the container: no StatusCode in the engine's answer");
    }
    cJSON_Delete(j);
    free(s.buf);
    return rc;
}

static void e_stop(const dcmp_engine *e, const char *id, int grace_s)
{
    char path[DCMP_ENGINE_URL_LEN], err[DCMP_ERR_LEN];
    sink s = {.fd = -1};

    snprintf(path, sizeof path, "/containers/%s/stop?t=%d", id, grace_s);
    (void)call(e, "POST", path, NULL, 204, 304, &s, "stopping the container", err);
    free(s.buf);
    s.buf = NULL;
    s.len = s.cap = 0;
    snprintf(path, sizeof path, "/containers/%s/kill", id);
    /* 409: it is not running any more, which is what was wanted */
    (void)call(e, "POST", path, NULL, 204, 409, &s, "killing the container", err);
    free(s.buf);
}

static int e_oom_killed(const dcmp_engine *e, const char *id, char *err)
{
    char path[DCMP_ENGINE_URL_LEN];
    sink s = {.fd = -1};
    const cJSON *state, *oom;
    cJSON *j;
    int rc = -1;

    snprintf(path, sizeof path, "/containers/%s/json", id);
    if (call(e, "GET", path, NULL, 200, 200, &s, "inspecting the container", err) < 0) {
        free(s.buf);
        return -1;
    }
    j = s.buf ? cJSON_Parse(s.buf) : NULL;
    state = cJSON_GetObjectItemCaseSensitive(j, "State");
    oom = cJSON_GetObjectItemCaseSensitive(state, "OOMKilled");
    if (cJSON_IsBool(oom))
        rc = cJSON_IsTrue(oom);
    else
        dcmp_seterr(err, "inspecting the container: no State.OOMKilled");
    cJSON_Delete(j);
    free(s.buf);
    return rc;
}

static int e_logs(const dcmp_engine *e, const char *id, int fd, char *err)
{
    char path[DCMP_ENGINE_URL_LEN];
    sink s = {.fd = fd};
    long st;

    snprintf(path, sizeof path, "/containers/%s/logs?stdout=1&stderr=1", id);
    st = request(e, "GET", path, NULL, call_ms(e), &s, err);
    if (st == 200)
        return 0;
    if (st == 0)
        return dcmp_seterr(err, "reading the container's log: no answer within %lld ms",
                           (long long)call_ms(e));
    if (st > 0)
        dcmp_seterr(err, "reading the container's log: HTTP %ld", st);
    return -1;
}

static int e_remove(const dcmp_engine *e, const char *id, char *err)
{
    char path[DCMP_ENGINE_URL_LEN];
    sink s = {.fd = -1};
    long st;

    snprintf(path, sizeof path, "/containers/%s?force=1&v=1", id);
    st = request(e, "DELETE", path, NULL, call_ms(e), &s, err);
    /* 404: gone already; 409: a removal of it is under way (another sweep's) */
    if (st == 204 || st == 404 || st == 409)
        st = 0;
    else if (st == 0)
        st = dcmp_seterr(err, "removing the container: no answer within %lld ms",
                         (long long)call_ms(e));
    else if (st > 0)
        st = answer_err(&s, st, "removing the container", err);
    free(s.buf);
    return (int)st;
}

static void label(const cJSON *labels, const char *name, char *out, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, name);

    out[0] = '\0';
    if (cJSON_IsString(v))
        dcmp_strlcpy(out, v->valuestring, size);
}

static int e_list(const dcmp_engine *e, const char *job, dcmp_engine_labelled *out, int max,
                  char *err)
{
    char filter[256], path[DCMP_ENGINE_URL_LEN], *escaped;
    sink s = {.fd = -1};
    const cJSON *c;
    cJSON *j;
    int n = 0;

    if (job)
        snprintf(filter, sizeof filter, "{\"label\":[\"dcmp.job=%.64s\"]}", job);
    else
        snprintf(filter, sizeof filter, "{\"label\":[\"dcmp.job\"]}");
    if ((escaped = curl_easy_escape(NULL, filter, 0)) == NULL)
        return dcmp_seterr(err, "listing containers: out of memory");
    snprintf(path, sizeof path, "/containers/json?all=1&limit=%d&filters=%s", max, escaped);
    curl_free(escaped);
    if (call(e, "GET", path, NULL, 200, 200, &s, "listing containers", err) < 0) {
        free(s.buf);
        return -1;
    }
    j = s.buf ? cJSON_Parse(s.buf) : NULL;
    cJSON_ArrayForEach(c, j)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
        if (n >= max || !cJSON_IsString(id))
            continue;
        dcmp_strlcpy(out[n].id, id->valuestring, sizeof out[n].id);
        label(labels, "dcmp.job", out[n].job, sizeof out[n].job);
        label(labels, "dcmp.worker", out[n].worker, sizeof out[n].worker);
        n++;
    }
    if (j == NULL)
        n = dcmp_seterr(err, "listing containers: the engine's answer is not JSON");
    cJSON_Delete(j);
    free(s.buf);
    return n;
}

/* One file of a created container (archive): 1 with *text, 0 when it has none at path, -1. */
static int archive_file(const dcmp_engine *e, const char *id, const char *file, size_t max,
                        char **text, size_t *len, char *err)
{
    char path[DCMP_ENGINE_URL_LEN], why[DCMP_ERR_LEN], *escaped;
    const unsigned char *data;
    sink s = {.fd = -1};
    size_t size;
    long st;

    if ((escaped = curl_easy_escape(NULL, file, 0)) == NULL)
        return dcmp_seterr(err, "%s: out of memory", file);
    snprintf(path, sizeof path, "/containers/%s/archive?path=%s", id, escaped);
    curl_free(escaped);
    /* the tar: the file, a header or two (pax) and the end blocks */
    s.limit = max + 8 * DCMP_TAR_BLOCK;
    st = request(e, "GET", path, NULL, call_ms(e), &s, why);
    if (s.over) {
        free(s.buf);
        return dcmp_seterr(err, "%s: over %zu bytes", file, max);
    }
    if (st == 404) {
        free(s.buf);
        return 0;
    }
    if (st != 200) {
        if (st == 0)
            dcmp_seterr(why, "no answer within %lld ms", (long long)call_ms(e));
        else if (st > 0)
            answer_err(&s, st, "reading it", why);
        free(s.buf);
        return dcmp_seterr(err, "%s: %s", file, why);
    }
    if (dcmp_tar_file((const unsigned char *)(s.buf ? s.buf : ""), s.len, max, &data, &size, why) <
        0) {
        free(s.buf);
        return dcmp_seterr(err, "%s: %s", file, why);
    }
    if ((*text = malloc(size + 1)) == NULL) {
        free(s.buf);
        return dcmp_seterr(err, "%s: out of memory", file);
    }
    memcpy(*text, data, size);
    (*text)[size] = '\0';
    *len = size;
    free(s.buf);
    return 1;
}

static int e_read_file(const dcmp_engine *e, const char *image, const char *const *paths,
                       const char *job, const char *worker, size_t max, char **text, size_t *len,
                       int *which, char *err)
{
    char id[DCMP_ENGINE_ID_LEN], why[DCMP_ERR_LEN], *body;
    dcmp_jsonw w;
    int rc = 0, i;

    /* never started: the entrypoint is never run, the command is there for images without */
    dcmp_jsonw_init(&w, 8192);
    dcmp_jsonw_lit(&w, "{\"Image\":");
    dcmp_jsonw_str(&w, image);
    dcmp_jsonw_lit(&w, ",\"Entrypoint\":[\"/nonexistent\"],\"Cmd\":[],"
                       "\"NetworkDisabled\":true,\"Labels\":{\"dcmp.job\":");
    dcmp_jsonw_str(&w, job);
    dcmp_jsonw_lit(&w, ",\"dcmp.worker\":");
    dcmp_jsonw_str(&w, worker);
    dcmp_jsonw_lit(&w, "},\"HostConfig\":{\"NetworkMode\":\"none\"}}");
    if ((body = dcmp_jsonw_finish(&w)) == NULL)
        return dcmp_seterr(err, "reading %s of %s: out of memory", paths[0], image);
    if (e_create(e, body, id, why) < 0) {
        free(body);
        return dcmp_seterr(err, "reading files of %s: %s", image, why);
    }
    free(body);
    for (i = 0; paths[i] && rc == 0; i++)
        if ((rc = archive_file(e, id, paths[i], max, text, len, why)) == 1)
            *which = i;
    if (rc < 0)
        dcmp_seterr(err, "%s", why);
    if (e_remove(e, id, why) < 0 && rc >= 0)
        fprintf(stderr, "%s (the worker removes it later)\n", why);
    return rc;
}

/* The one exported symbol (the library is built with hidden visibility). */
__attribute__((visibility("default"))) const dcmp_engine_ops dcmp_engine_ops_v2 = {
    DCMP_ENGINE_OPS_VERSION,
    (uint32_t)sizeof(dcmp_engine_ops),
    e_ping,
    e_image_exists,
    e_create,
    e_start,
    e_wait,
    e_stop,
    e_oom_killed,
    e_logs,
    e_remove,
    e_list,
    e_image_id,
    e_read_file,
};
