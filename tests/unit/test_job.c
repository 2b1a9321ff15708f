/* test_job.c -- unit tests of job ids, job graph encoding and job hash decoding. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "job.h"

/* ---- dcmp_job_new_id ---- */

static int is_lower_hex(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static void test_new_id(void)
{
    enum { N = 200 };
    static char ids[N][DCMP_ID_LEN];
    int i, k, dups = 0, bad = 0;

    for (i = 0; i < N; i++) {
        memset(ids[i], 'Z', DCMP_ID_LEN);
        CHECK(dcmp_job_new_id(ids[i]) == 0);
        if (strlen(ids[i]) != 32 || !is_lower_hex(ids[i]))
            bad++;
    }
    CHECK(bad == 0);
    CHECK(ids[0][32] == '\0');
    CHECK(strcmp(ids[0], ids[1]) != 0);
    for (i = 0; i < N; i++)
        for (k = i + 1; k < N; k++)
            dups += strcmp(ids[i], ids[k]) == 0;
    CHECK(dups == 0);
}

/* ---- dcmp_job_encode_graph ---- */

/* kwargs with everything JSON escaping could alter: quotes, backslashes, escapes written
 * as such, raw UTF-8, a raw newline and tab, a slash. */
static const char kwargs_tricky[] =
    "{\"jobName\":\"a\",\"headers\":{\"PatientName\":\"M\\u00fcller^J\xc3\xb6rg\",\n"
    "\t\"Path\":\"C:\\\\dicom\\/x\",\"Q\":\"say \\\"hi\\\"\"},\"params\":null,"
    "\"added_params\":{}}";

static const char *deps_b[] = {"job-a"};
static const char *deps_c[] = {"job-a", "job-b", "external_1"};

static void fill_specs(dcmp_job_spec specs[3])
{
    memset(specs, 0, 3 * sizeof specs[0]);
    specs[0].id = "job-a";
    specs[0].name = "first";
    specs[0].func = "dcm2nii.worker";
    specs[0].queue = "default";
    specs[0].kwargs = kwargs_tricky;
    specs[0].timeout = 3600;
    specs[1].id = "job-b";
    specs[1].name = "second";
    specs[1].func = "base.storageManager.worker";
    specs[1].queue = "high";
    specs[1].kwargs = "{}";
    specs[1].timeout = -1;
    specs[1].deps = deps_b;
    specs[1].ndeps = 1;
    specs[1].retry_max = 3;
    specs[1].retry_interval = 60;
    specs[2].id = "job-c";
    specs[2].name = "third";
    specs[2].func = "x.y";
    specs[2].queue = "low";
    specs[2].kwargs = "";
    specs[2].timeout = 1;
    specs[2].deps = deps_c;
    specs[2].ndeps = 3;
}

static double number_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : -12345.0;
}

static const char *string_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Checks job j of the parsed graph against its spec. */
static void check_job(const cJSON *j, const dcmp_job_spec *s)
{
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(j, "deps");
    int k;

    CHECK(cJSON_IsObject(j));
    CHECK_STR(string_of(j, "id"), s->id);
    CHECK_STR(string_of(j, "name"), s->name);
    CHECK_STR(string_of(j, "func"), s->func);
    CHECK_STR(string_of(j, "queue"), s->queue);
    CHECK_STR(string_of(j, "kwargs"), s->kwargs);
    CHECK(number_of(j, "timeout") == (double)s->timeout);
    CHECK(number_of(j, "retry_max") == (double)s->retry_max);
    CHECK(number_of(j, "retry_interval") == (double)s->retry_interval);
    CHECK(cJSON_IsArray(deps));
    CHECK(cJSON_GetArraySize(deps) == s->ndeps);
    for (k = 0; k < s->ndeps && k < cJSON_GetArraySize(deps); k++) {
        const cJSON *d = cJSON_GetArrayItem(deps, k);
        CHECK(cJSON_IsString(d));
        CHECK_STR(cJSON_IsString(d) ? d->valuestring : NULL, s->deps[k]);
    }
}

static void test_encode_graph(void)
{
    dcmp_job_spec specs[3];
    char err[DCMP_ERR_LEN] = "", *out;
    cJSON *root, *jobs;
    int i;

    fill_specs(specs);
    out = dcmp_job_encode_graph("event-1", specs, 3, err);
    CHECK(out != NULL);
    CHECK_STR(err, "");
    if (out == NULL)
        return;
    root = cJSON_Parse(out);
    CHECK(root != NULL);
    if (root != NULL) {
        CHECK(number_of(root, "v") == 1.0);
        CHECK(number_of(root, "v") == (double)DCMP_WIRE_VERSION);
        CHECK_STR(string_of(root, "event"), "event-1");
        jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
        CHECK(cJSON_IsArray(jobs));
        CHECK(cJSON_GetArraySize(jobs) == 3);
        for (i = 0; i < 3 && i < cJSON_GetArraySize(jobs); i++)
            check_job(cJSON_GetArrayItem(jobs, i), &specs[i]);
        cJSON_Delete(root);
    }
    /* unformatted: one line, whatever newlines kwargs holds */
    CHECK(strchr(out, '\n') == NULL);
    free(out);
}

static void test_encode_graph_single(void)
{
    dcmp_job_spec spec;
    char err[DCMP_ERR_LEN] = "", id[DCMP_ID_LEN], *out;
    cJSON *root, *jobs;

    CHECK(dcmp_job_new_id(id) == 0);
    memset(&spec, 0, sizeof spec);
    spec.id = id;
    spec.name = "only";
    spec.func = "m.f";
    spec.queue = "q";
    spec.kwargs = "{\"jobName\":\"only\"}";
    spec.timeout = -1; /* no limit */
    out = dcmp_job_encode_graph(NULL, &spec, 1, err);
    CHECK(out != NULL);
    if (out == NULL)
        return;
    root = cJSON_Parse(out);
    CHECK(root != NULL);
    if (root != NULL) {
        CHECK_STR(string_of(root, "event"), "");
        jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
        CHECK(cJSON_GetArraySize(jobs) == 1);
        if (cJSON_GetArraySize(jobs) == 1)
            check_job(cJSON_GetArrayItem(jobs, 0), &spec);
        cJSON_Delete(root);
    }
    free(out);
}

/* The caps: DCMP_GRAPH_MAX jobs and DCMP_DEPS_MAX dependencies fit. */
static void test_encode_graph_caps(void)
{
    static dcmp_job_spec specs[DCMP_GRAPH_MAX + 1];
    static char ids[DCMP_GRAPH_MAX + 1][DCMP_ID_LEN];
    static const char *deps[DCMP_DEPS_MAX + 1];
    char err[DCMP_ERR_LEN] = "", *out;
    int i;

    for (i = 0; i <= DCMP_GRAPH_MAX; i++) {
        snprintf(ids[i], sizeof ids[i], "j%d", i);
        memset(&specs[i], 0, sizeof specs[i]);
        specs[i].id = ids[i];
        specs[i].name = "n";
        specs[i].func = "m.f";
        specs[i].queue = "q";
        specs[i].kwargs = "{}";
        specs[i].timeout = 60;
    }
    for (i = 0; i <= DCMP_DEPS_MAX; i++)
        deps[i] = ids[i % DCMP_GRAPH_MAX];
    specs[DCMP_GRAPH_MAX - 1].deps = deps;
    specs[DCMP_GRAPH_MAX - 1].ndeps = DCMP_GRAPH_MAX - 1;

    out = dcmp_job_encode_graph("e", specs, DCMP_GRAPH_MAX, err);
    CHECK(out != NULL);
    free(out);
    out = dcmp_job_encode_graph("e", specs, DCMP_GRAPH_MAX + 1, err);
    CHECK(out == NULL);
    CHECK_CONTAINS(err, "257");

    /* DCMP_DEPS_MAX dependencies (external ids), then one more */
    specs[0].deps = deps + 1;
    specs[0].ndeps = DCMP_DEPS_MAX;
    deps[DCMP_DEPS_MAX] = "ext";
    out = dcmp_job_encode_graph("e", specs, 1, err);
    CHECK(out != NULL);
    free(out);
    specs[0].ndeps = DCMP_DEPS_MAX + 1;
    err[0] = '\0';
    out = dcmp_job_encode_graph("e", specs, 1, err);
    CHECK(out == NULL);
    CHECK_CONTAINS(err, "dependency count");
}

/* Encodes specs that must be refused; err must mention `what`. */
static void encode_rejects(const dcmp_job_spec *specs, int n, const char *what)
{
    char err[DCMP_ERR_LEN] = "", *out;

    out = dcmp_job_encode_graph("e", specs, n, err);
    CHECK(out == NULL);
    CHECK(err[0] != '\0');
    if (what != NULL)
        CHECK_CONTAINS(err, what);
    free(out);
}

static void test_encode_graph_errors(void)
{
    dcmp_job_spec s[3];
    const char *self[] = {"job-b"};
    const char *bad_dep[] = {"job-a", "not an id"};
    const char *null_dep[] = {NULL};
    const char *long_dep[] = {"0123456789012345678901234567890123456789"};
    char long_queue[DCMP_QUEUE_LEN + 1];

    fill_specs(s);
    encode_rejects(s, 0, "not 0");
    encode_rejects(s, -1, "not -1");
    encode_rejects(NULL, 0, NULL);

    /* the same id twice */
    fill_specs(s);
    s[2].id = "job-a";
    encode_rejects(s, 3, "used twice");

    /* a job depending on itself */
    fill_specs(s);
    s[1].deps = self;
    encode_rejects(s, 3, "job-b");

    /* bad dependency ids */
    fill_specs(s);
    s[1].deps = bad_dep;
    s[1].ndeps = 2;
    encode_rejects(s, 3, "not an id");
    fill_specs(s);
    s[1].deps = null_dep;
    encode_rejects(s, 3, "(null)");
    fill_specs(s);
    s[1].deps = long_dep;
    encode_rejects(s, 3, "dependency");
    fill_specs(s);
    s[1].deps = NULL;
    encode_rejects(s, 3, "dependency count");
    fill_specs(s);
    s[1].ndeps = -1;
    encode_rejects(s, 3, "dependency count");

    /* bad ids */
    fill_specs(s);
    s[0].id = "job a";
    encode_rejects(s, 3, "first");
    fill_specs(s);
    s[0].id = "job.a";
    encode_rejects(s, 3, NULL);
    fill_specs(s);
    s[0].id = "job:a";
    encode_rejects(s, 3, NULL);
    fill_specs(s);
    s[0].id = "j\xc3\xb6";
    encode_rejects(s, 3, NULL);
    fill_specs(s);
    s[0].id = "";
    encode_rejects(s, 3, NULL);
    fill_specs(s);
    s[0].id = NULL;
    encode_rejects(s, 3, NULL);
    fill_specs(s);
    s[0].id = "0123456789012345678901234567890123456789"; /* 40: one too many */
    encode_rejects(s, 3, NULL);

    /* timeouts and retries */
    fill_specs(s);
    s[0].timeout = 0;
    encode_rejects(s, 3, "timeout");
    fill_specs(s);
    s[0].timeout = -2;
    encode_rejects(s, 3, "timeout");
    fill_specs(s);
    s[1].retry_max = -1;
    encode_rejects(s, 3, "retry");
    fill_specs(s);
    s[1].retry_interval = -1;
    encode_rejects(s, 3, "retry");

    /* missing fields */
    fill_specs(s);
    s[1].name = NULL;
    encode_rejects(s, 3, "job 1");
    fill_specs(s);
    s[1].name = "";
    encode_rejects(s, 3, "job 1");
    fill_specs(s);
    s[1].func = NULL;
    encode_rejects(s, 3, "second");
    fill_specs(s);
    s[1].func = "";
    encode_rejects(s, 3, "second");
    fill_specs(s);
    s[1].queue = NULL;
    encode_rejects(s, 3, "second");
    fill_specs(s);
    s[1].queue = "";
    encode_rejects(s, 3, "second");
    fill_specs(s);
    s[2].kwargs = NULL;
    encode_rejects(s, 3, "third");
    fill_specs(s);
    memset(long_queue, 'q', DCMP_QUEUE_LEN);
    long_queue[DCMP_QUEUE_LEN] = '\0';
    s[1].queue = long_queue;
    encode_rejects(s, 3, "second");
}

/* Valid ids: letters, digits, - and _, up to 39 characters. */
static void test_encode_graph_ids(void)
{
    dcmp_job_spec s[3];
    char err[DCMP_ERR_LEN] = "", *out;

    fill_specs(s);
    s[0].id = "012345678901234567890123456789012345678"; /* 39 */
    s[1].id = "A_b-9";
    s[1].deps = NULL;
    s[1].ndeps = 0;
    s[2].deps = NULL;
    s[2].ndeps = 0;
    out = dcmp_job_encode_graph("e", s, 3, err);
    CHECK(out != NULL);
    free(out);
}

/* ---- dcmp_job_decode ---- */

enum { MAX_FIELDS = 64 };

/* A job hash in HGETALL form. */
typedef struct hash {
    size_t n;
    const char *strs[MAX_FIELDS];
    size_t lens[MAX_FIELDS];
} hash;

static void hash_add_len(hash *h, const char *field, const char *value, size_t vlen)
{
    if (h->n + 2 > MAX_FIELDS)
        return;
    h->strs[h->n] = field;
    h->lens[h->n] = strlen(field);
    h->strs[h->n + 1] = value;
    h->lens[h->n + 1] = vlen;
    h->n += 2;
}

static void hash_add(hash *h, const char *field, const char *value)
{
    hash_add_len(h, field, value, strlen(value));
}

/* Every field a wire-1 writer sets, plus one this reader does not know. */
static void full_hash(hash *h)
{
    memset(h, 0, sizeof *h);
    hash_add(h, "v", "1");
    hash_add(h, "id", "0123456789abcdef0123456789abcdef");
    hash_add(h, "event", "ev-42");
    hash_add(h, "name", "dcm2nii");
    hash_add(h, "func", "dcm2nii.worker");
    hash_add(h, "queue", "default");
    hash_add(h, "kwargs", "{\"jobName\":\"dcm2nii\"}");
    hash_add(h, "timeout", "-1");
    hash_add(h, "deps", "[\"a\",\"b\"]");
    hash_add(h, "created", "1700000000000");
    hash_add(h, "enqueued", "1700000000001");
    hash_add(h, "started", "1700000000002");
    hash_add(h, "ended", "1700000000003");
    hash_add(h, "attempts", "2");
    hash_add(h, "crashes", "1");
    hash_add(h, "retry_max", "3");
    hash_add(h, "retry_interval", "60");
    hash_add(h, "pending", "0");
    hash_add(h, "error", "boom");
    hash_add(h, "log", "line 1\nline 2\n");
    hash_add(h, "result", "{\"ok\":true}");
    hash_add(h, "state", "finished");
    hash_add(h, "worker", "host:123:abc");
    hash_add(h, "a_future_field", "whatever");
}

static void test_decode_full(void)
{
    hash h;
    dcmp_job job;
    char err[DCMP_ERR_LEN] = "";

    full_hash(&h);
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
    CHECK_STR(err, "");
    CHECK(job.wire == 1);
    CHECK_STR(job.id, "0123456789abcdef0123456789abcdef");
    CHECK_STR(job.event, "ev-42");
    CHECK_STR(job.name, "dcm2nii");
    CHECK_STR(job.func, "dcm2nii.worker");
    CHECK_STR(job.queue, "default");
    CHECK_STR(job.kwargs, "{\"jobName\":\"dcm2nii\"}");
    CHECK(job.timeout == -1);
    CHECK_STR(job.deps, "[\"a\",\"b\"]");
    CHECK(job.created == 1700000000000LL);
    CHECK(job.enqueued == 1700000000001LL);
    CHECK(job.started == 1700000000002LL);
    CHECK(job.ended == 1700000000003LL);
    CHECK(job.attempts == 2);
    CHECK(job.crashes == 1);
    CHECK(job.retry_max == 3);
    CHECK(job.retry_interval == 60);
    CHECK(job.pending == 0);
    CHECK_STR(job.error, "boom");
    CHECK_STR(job.log, "line 1\nline 2\n");
    CHECK_STR(job.result, "{\"ok\":true}");
    CHECK_STR(job.state, "finished");
    CHECK_STR(job.worker, "host:123:abc");
    dcmp_job_clear(&job);
}

/* Only the required fields: the optional strings are "" and the numbers 0. */
static void test_decode_minimal(void)
{
    hash h;
    dcmp_job job;
    char err[DCMP_ERR_LEN] = "";

    memset(&h, 0, sizeof h);
    hash_add(&h, "state", "queued");
    hash_add(&h, "id", "abc");
    hash_add(&h, "name", "n");
    hash_add(&h, "func", "m.f");
    hash_add(&h, "kwargs", "{}");
    hash_add(&h, "queue", "q");
    memset(&job, 'x', sizeof job); /* decode must not read what was there */
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
    CHECK_STR(job.id, "abc");
    CHECK_STR(job.event, "");
    CHECK_STR(job.worker, "");
    CHECK_STR(job.error, "");
    CHECK_STR(job.log, "");
    CHECK_STR(job.result, "");
    CHECK_STR(job.deps, "");
    CHECK(job.wire == 0);
    CHECK(job.timeout == 0 && job.created == 0 && job.attempts == 0 && job.pending == 0);
    dcmp_job_clear(&job);
}

/* Values are taken by length, not up to a NUL. */
static void test_decode_lengths(void)
{
    hash h;
    dcmp_job job;
    char err[DCMP_ERR_LEN] = "";

    full_hash(&h);
    hash_add_len(&h, "log", "a\0b", 3);
    hash_add_len(&h, "attempts", "1234567", 3);
    hash_add_len(&h, "queue", "highXXXX", 4);
    hash_add(&h, "error", "");
    hash_add(&h, "crashes", "");
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
    CHECK(job.log != NULL && memcmp(job.log, "a\0b", 4) == 0);
    CHECK(job.attempts == 123);
    CHECK_STR(job.queue, "high");
    /* a field given twice: the last wins */
    CHECK_STR(job.error, "");
    CHECK(job.crashes == 0);
    dcmp_job_clear(&job);
}

/* Decodes a hash that must be refused; err must mention `what`. */
static void decode_rejects(const hash *h, const char *what)
{
    dcmp_job job;
    char err[DCMP_ERR_LEN] = "";

    CHECK(dcmp_job_decode(&job, h->n, h->strs, h->lens, err) == -1);
    CHECK(err[0] != '\0');
    if (what != NULL)
        CHECK_CONTAINS(err, what);
    dcmp_job_clear(&job);
}

static void test_decode_bad_numbers(void)
{
    static const char *const fields[] = {"v",         "timeout",        "created",  "enqueued",
                                         "started",   "ended",          "attempts", "crashes",
                                         "retry_max", "retry_interval", "pending",  NULL};
    hash h;
    size_t i;

    for (i = 0; fields[i]; i++) {
        full_hash(&h);
        hash_add(&h, fields[i], "abc");
        decode_rejects(&h, fields[i]);
        full_hash(&h);
        hash_add(&h, fields[i], "12abc");
        decode_rejects(&h, "\"12abc\"");
        full_hash(&h);
        hash_add(&h, fields[i], "1.5");
        decode_rejects(&h, "not a number");
    }
    full_hash(&h);
    hash_add(&h, "timeout", "99999999999999999999");
    decode_rejects(&h, "timeout");
    full_hash(&h);
    hash_add(&h, "timeout", "123456789012345678901234567890123");
    decode_rejects(&h, "timeout");
}

/* Returns the full hash without `field`. */
static void hash_without(hash *out, const char *field)
{
    hash full;
    size_t i;

    full_hash(&full);
    memset(out, 0, sizeof *out);
    for (i = 0; i < full.n; i += 2)
        if (strcmp(full.strs[i], field) != 0)
            hash_add_len(out, full.strs[i], full.strs[i + 1], full.lens[i + 1]);
}

static void test_decode_missing(void)
{
    static const char *const required[] = {"id", "name", "func", "kwargs", "queue", "state", NULL};
    static const char *const optional[] = {"v",    "event",   "worker",  "error",   "log", "result",
                                           "deps", "timeout", "created", "pending", NULL};
    hash h;
    dcmp_job job;
    char err[DCMP_ERR_LEN];
    size_t i;

    for (i = 0; required[i]; i++) {
        hash_without(&h, required[i]);
        decode_rejects(&h, "lacks");
    }
    hash_without(&h, "id");
    decode_rejects(&h, "(no id)");
    hash_without(&h, "name");
    decode_rejects(&h, "0123456789abcdef0123456789abcdef");
    /* an empty id, queue or state counts as missing */
    full_hash(&h);
    hash_add(&h, "queue", "");
    decode_rejects(&h, "lacks");
    full_hash(&h);
    hash_add(&h, "state", "");
    decode_rejects(&h, "lacks");
    /* no fields at all */
    decode_rejects(&(hash){0}, "lacks");

    for (i = 0; optional[i]; i++) {
        hash_without(&h, optional[i]);
        CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
        dcmp_job_clear(&job);
    }
}

static void test_decode_wire_version(void)
{
    hash h;
    dcmp_job job;
    char err[DCMP_ERR_LEN] = "";

    full_hash(&h);
    hash_add(&h, "v", "2");
    decode_rejects(&h, "wire version 2");
    full_hash(&h);
    hash_add(&h, "v", "2");
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == -1);
    CHECK_CONTAINS(err, "0123456789abcdef0123456789abcdef");
    dcmp_job_clear(&job);
    full_hash(&h);
    hash_add(&h, "v", "1000");
    decode_rejects(&h, "1000");
    /* older versions are read */
    full_hash(&h);
    hash_add(&h, "v", "0");
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
    dcmp_job_clear(&job);
}

static void test_decode_odd_and_long(void)
{
    hash h;
    char id[DCMP_ID_LEN + 1], state[17], worker[DCMP_WORKER_LEN + 1];

    full_hash(&h);
    CHECK(h.n > 0);
    h.n--;
    decode_rejects(&h, "odd");
    h.n = 1;
    decode_rejects(&h, "odd");

    memset(id, 'i', DCMP_ID_LEN);
    id[DCMP_ID_LEN] = '\0';
    full_hash(&h);
    hash_add(&h, "id", id);
    decode_rejects(&h, "id is longer than 39");

    memset(state, 's', 16);
    state[16] = '\0';
    full_hash(&h);
    hash_add(&h, "state", state);
    decode_rejects(&h, "state");

    memset(worker, 'w', DCMP_WORKER_LEN);
    worker[DCMP_WORKER_LEN] = '\0';
    full_hash(&h);
    hash_add(&h, "worker", worker);
    decode_rejects(&h, "worker");

    /* one less fits */
    {
        dcmp_job job;
        char err[DCMP_ERR_LEN];
        id[DCMP_ID_LEN - 1] = '\0';
        full_hash(&h);
        hash_add(&h, "id", id);
        CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
        CHECK(strlen(job.id) == DCMP_ID_LEN - 1);
        dcmp_job_clear(&job);
    }
}

/* A graph's job written the way enqueue.lua writes it decodes to its spec. */
static void test_encode_then_decode(void)
{
    dcmp_job_spec specs[3];
    char err[DCMP_ERR_LEN] = "", *out;
    cJSON *root, *j;
    hash h;
    dcmp_job job;

    fill_specs(specs);
    out = dcmp_job_encode_graph("event-1", specs, 3, err);
    CHECK(out != NULL);
    root = out ? cJSON_Parse(out) : NULL;
    free(out);
    CHECK(root != NULL);
    if (root == NULL)
        return;
    j = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "jobs"), 0);
    memset(&h, 0, sizeof h);
    hash_add(&h, "v", "1");
    hash_add(&h, "id", string_of(j, "id"));
    hash_add(&h, "event", string_of(root, "event"));
    hash_add(&h, "name", string_of(j, "name"));
    hash_add(&h, "func", string_of(j, "func"));
    hash_add(&h, "queue", string_of(j, "queue"));
    hash_add(&h, "kwargs", string_of(j, "kwargs"));
    hash_add(&h, "timeout", "3600");
    hash_add(&h, "state", "queued");
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
    CHECK_STR(job.kwargs, kwargs_tricky);
    CHECK_STR(job.id, "job-a");
    CHECK_STR(job.event, "event-1");
    CHECK(job.timeout == 3600);
    dcmp_job_clear(&job);
    cJSON_Delete(root);
}

/* ---- dcmp_job_clear ---- */

static void test_clear(void)
{
    hash h;
    dcmp_job job, zero;
    char err[DCMP_ERR_LEN];

    memset(&zero, 0, sizeof zero);
    full_hash(&h);
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == 0);
    dcmp_job_clear(&job);
    CHECK(memcmp(&job, &zero, sizeof job) == 0);
    CHECK(job.name == NULL && job.kwargs == NULL && job.log == NULL);
    /* clearing again, or a zeroed job, is safe */
    dcmp_job_clear(&job);
    CHECK(memcmp(&job, &zero, sizeof job) == 0);

    /* after a failed decode that had allocated some strings */
    full_hash(&h);
    hash_add(&h, "pending", "nope");
    CHECK(dcmp_job_decode(&job, h.n, h.strs, h.lens, err) == -1);
    dcmp_job_clear(&job);
    CHECK(memcmp(&job, &zero, sizeof job) == 0);
}

/* A dependency named twice, or one that comes later in the graph, is refused. */
static void test_encode_dependency_order(void)
{
    const char *twice[] = {"aaaa", "aaaa"}, *later[] = {"cccc"};
    dcmp_job_spec s[3];
    char err[DCMP_ERR_LEN] = "";

    memset(s, 0, sizeof s);
    s[0] = (dcmp_job_spec){"aaaa", "a", "m.f", "q", "{}", 60, NULL, 0, 0, 0};
    s[1] = (dcmp_job_spec){"bbbb", "b", "m.f", "q", "{}", 60, twice, 2, 0, 0};
    CHECK(dcmp_job_encode_graph("ev", s, 2, err) == NULL);
    CHECK_CONTAINS(err, "named twice");
    s[1] = (dcmp_job_spec){"bbbb", "b", "m.f", "q", "{}", 60, later, 1, 0, 0};
    s[2] = (dcmp_job_spec){"cccc", "c", "m.f", "q", "{}", 60, NULL, 0, 0, 0};
    CHECK(dcmp_job_encode_graph("ev", s, 3, err) == NULL);
    CHECK_CONTAINS(err, "comes later in the graph");
}

int main(void)
{
    RUN(test_new_id);
    RUN(test_encode_graph);
    RUN(test_encode_graph_single);
    RUN(test_encode_graph_caps);
    RUN(test_encode_graph_errors);
    RUN(test_encode_graph_ids);
    RUN(test_decode_full);
    RUN(test_decode_minimal);
    RUN(test_decode_lengths);
    RUN(test_decode_bad_numbers);
    RUN(test_decode_missing);
    RUN(test_decode_wire_version);
    RUN(test_decode_odd_and_long);
    RUN(test_encode_then_decode);
    RUN(test_clear);
    RUN(test_encode_dependency_order);
    return HARNESS_RESULT();
}
