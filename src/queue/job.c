/* job.c -- a job as stored in Redis (wire version 1): decode, and encode a job graph. */
#include "job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "jsonw.h"

int dcmp_job_new_id(char id[DCMP_ID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t i;

    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -1;
    for (i = 0; i < sizeof raw; i++) {
        id[2 * i] = hex[raw[i] >> 4];
        id[2 * i + 1] = hex[raw[i] & 15];
    }
    id[2 * sizeof raw] = '\0';
    return 0;
}

static int parse_i64(const char *s, size_t len, int64_t *out)
{
    char buf[32], *end;
    long long v;

    if (len == 0) {
        *out = 0;
        return 0;
    }
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int copy_fixed(char *dst, size_t size, const char *s, size_t len)
{
    if (len >= size)
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static char *dup_len(const char *s, size_t len)
{
    char *p = malloc(len + 1);

    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

int dcmp_job_decode(dcmp_job *job, size_t n, const char *const *strs, const size_t *lens, char *err)
{
    static const struct {
        const char *name;
        size_t off;
    } nums[] = {
        {"v", offsetof(dcmp_job, wire)},
        {"timeout", offsetof(dcmp_job, timeout)},
        {"created", offsetof(dcmp_job, created)},
        {"enqueued", offsetof(dcmp_job, enqueued)},
        {"started", offsetof(dcmp_job, started)},
        {"ended", offsetof(dcmp_job, ended)},
        {"attempts", offsetof(dcmp_job, attempts)},
        {"crashes", offsetof(dcmp_job, crashes)},
        {"retry_max", offsetof(dcmp_job, retry_max)},
        {"retry_interval", offsetof(dcmp_job, retry_interval)},
        {"pending", offsetof(dcmp_job, pending)},
    };
    static const struct {
        const char *name;
        size_t off;
    } texts[] = {
        {"name", offsetof(dcmp_job, name)},     {"func", offsetof(dcmp_job, func)},
        {"kwargs", offsetof(dcmp_job, kwargs)}, {"error", offsetof(dcmp_job, error)},
        {"log", offsetof(dcmp_job, log)},       {"result", offsetof(dcmp_job, result)},
        {"deps", offsetof(dcmp_job, deps)},     {"inputs", offsetof(dcmp_job, inputs)},
    };
    static const struct {
        const char *name;
        size_t off, size;
    } fixed[] = {
        {"id", offsetof(dcmp_job, id), DCMP_ID_LEN},
        {"event", offsetof(dcmp_job, event), DCMP_ID_LEN * 2},
        {"state", offsetof(dcmp_job, state), 16},
        {"queue", offsetof(dcmp_job, queue), DCMP_QUEUE_LEN},
        {"worker", offsetof(dcmp_job, worker), DCMP_WORKER_LEN},
    };
    size_t i, k;

    memset(job, 0, sizeof *job);
    if (n % 2 != 0)
        return dcmp_seterr(err, "job hash has an odd number of strings (%zu)", n);
    for (i = 0; i < n; i += 2) {
        const char *f = strs[i], *v = strs[i + 1];
        size_t vlen = lens[i + 1];
        int done = 0;
        for (k = 0; !done && k < sizeof nums / sizeof nums[0]; k++)
            if (strcmp(f, nums[k].name) == 0) {
                if (parse_i64(v, vlen, (int64_t *)((char *)job + nums[k].off)) < 0)
                    return dcmp_seterr(err, "job field %s: \"%.*s\" is not a number", f,
                                       (int)(vlen > 40 ? 40 : vlen), v);
                done = 1;
            }
        for (k = 0; !done && k < sizeof texts / sizeof texts[0]; k++)
            if (strcmp(f, texts[k].name) == 0) {
                char **slot = (char **)((char *)job + texts[k].off);
                free(*slot);
                if ((*slot = dup_len(v, vlen)) == NULL)
                    return dcmp_seterr(err, "out of memory decoding job field %s", f);
                done = 1;
            }
        for (k = 0; !done && k < sizeof fixed / sizeof fixed[0]; k++)
            if (strcmp(f, fixed[k].name) == 0) {
                if (copy_fixed((char *)job + fixed[k].off, fixed[k].size, v, vlen) < 0)
                    return dcmp_seterr(err, "job field %s is longer than %zu bytes", f,
                                       fixed[k].size - 1);
                done = 1;
            }
    }
    if (job->wire > DCMP_WIRE_VERSION)
        return dcmp_seterr(err, "job %s has wire version %lld, this reader knows %d", job->id,
                           (long long)job->wire, DCMP_WIRE_VERSION);
    if (job->id[0] == '\0' || job->name == NULL || job->func == NULL || job->kwargs == NULL ||
        job->queue[0] == '\0' || job->state[0] == '\0')
        return dcmp_seterr(err, "job %s lacks one of id, name, func, kwargs, queue, state",
                           job->id[0] ? job->id : "(no id)");
    for (k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        char **slot = (char **)((char *)job + texts[k].off);
        if (*slot == NULL && (*slot = dup_len("", 0)) == NULL)
            return dcmp_seterr(err, "out of memory decoding a job");
    }
    return 0;
}

void dcmp_job_clear(dcmp_job *job)
{
    free(job->name);
    free(job->func);
    free(job->kwargs);
    free(job->error);
    free(job->log);
    free(job->result);
    free(job->deps);
    free(job->inputs);
    memset(job, 0, sizeof *job);
}

static int valid_id(const char *s)
{
    size_t len;

    if (s == NULL || (len = strlen(s)) == 0 || len >= DCMP_ID_LEN)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

char *dcmp_job_encode_graph(const char *event, const dcmp_job_spec *specs, int n, char *err)
{
    dcmp_jsonw w;
    char *out;
    int i, k;

    if (n <= 0 || n > DCMP_GRAPH_MAX) {
        dcmp_seterr(err, "a graph holds 1 to %d jobs, not %d", DCMP_GRAPH_MAX, n);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        const dcmp_job_spec *s = &specs[i];
        if (!valid_id(s->id) || !s->name || !*s->name || !s->func || !*s->func || !s->queue ||
            !*s->queue || strlen(s->queue) >= DCMP_QUEUE_LEN || !s->kwargs) {
            dcmp_seterr(err, "job %d (%s): id, name, func, queue and kwargs must be set", i,
                        s->name ? s->name : "?");
            return NULL;
        }
        if (s->ndeps < 0 || s->ndeps > DCMP_DEPS_MAX || (s->ndeps > 0 && s->deps == NULL)) {
            dcmp_seterr(err, "job %s: bad dependency count %d", s->name, s->ndeps);
            return NULL;
        }
        if (s->timeout == 0 || s->timeout < -1 || s->retry_max < 0 || s->retry_interval < 0) {
            dcmp_seterr(err, "job %s: bad timeout or retry", s->name);
            return NULL;
        }
        for (k = 0; k < i; k++)
            if (strcmp(specs[k].id, s->id) == 0) {
                dcmp_seterr(err, "job %s: id %s used twice", s->name, s->id);
                return NULL;
            }
        for (k = 0; k < s->ndeps; k++) {
            int m;
            if (!valid_id(s->deps[k]) || strcmp(s->deps[k], s->id) == 0) {
                dcmp_seterr(err, "job %s: bad dependency id \"%s\"", s->name,
                            s->deps[k] ? s->deps[k] : "(null)");
                return NULL;
            }
            for (m = 0; m < k; m++)
                if (strcmp(s->deps[m], s->deps[k]) == 0) {
                    dcmp_seterr(err, "job %s: dependency %s named twice", s->name, s->deps[k]);
                    return NULL;
                }
        }
    }
    /* With ids known unique: a dependency inside the graph must come before its dependent. */
    for (i = 0; i < n; i++)
        for (k = 0; k < specs[i].ndeps; k++)
            for (int m = i + 1; m < n; m++)
                if (strcmp(specs[m].id, specs[i].deps[k]) == 0) {
                    dcmp_seterr(err, "job %s: dependency %s comes later in the graph",
                                specs[i].name, specs[i].deps[k]);
                    return NULL;
                }
    /* written directly: the bytes cJSON would print, without a tree per job */
    dcmp_jsonw_init(&w, DCMP_JSONW_MAX);
    dcmp_jsonw_lit(&w, "{\"v\":");
    dcmp_jsonw_int(&w, DCMP_WIRE_VERSION);
    dcmp_jsonw_lit(&w, ",\"event\":");
    dcmp_jsonw_str(&w, event ? event : "");
    dcmp_jsonw_lit(&w, ",\"jobs\":[");
    for (i = 0; i < n; i++) {
        const dcmp_job_spec *s = &specs[i];
        dcmp_jsonw_lit(&w, i ? ",{\"id\":" : "{\"id\":");
        dcmp_jsonw_str(&w, s->id);
        dcmp_jsonw_lit(&w, ",\"name\":");
        dcmp_jsonw_str(&w, s->name);
        dcmp_jsonw_lit(&w, ",\"func\":");
        dcmp_jsonw_str(&w, s->func);
        dcmp_jsonw_lit(&w, ",\"queue\":");
        dcmp_jsonw_str(&w, s->queue);
        dcmp_jsonw_lit(&w, ",\"kwargs\":");
        dcmp_jsonw_str(&w, s->kwargs);
        dcmp_jsonw_lit(&w, ",\"timeout\":");
        dcmp_jsonw_int(&w, s->timeout);
        dcmp_jsonw_lit(&w, ",\"retry_max\":");
        dcmp_jsonw_int(&w, s->retry_max);
        dcmp_jsonw_lit(&w, ",\"retry_interval\":");
        dcmp_jsonw_int(&w, s->retry_interval);
        dcmp_jsonw_lit(&w, ",\"deps\":[");
        for (k = 0; k < s->ndeps; k++) {
            if (k)
                dcmp_jsonw_lit(&w, ",");
            dcmp_jsonw_str(&w, s->deps[k]);
        }
        dcmp_jsonw_lit(&w, "]}");
    }
    dcmp_jsonw_lit(&w, "]}");
    if ((out = dcmp_jsonw_finish(&w)) == NULL)
        dcmp_seterr(err, "out of memory encoding a job graph");
    return out;
}
