/* spec.c -- a settings entry's `container` object: parsed, normalized, and turned into the
 * Docker Engine's create body. Pure: no I/O. */
#include "spec.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

/* the names the interfaces set for a MAP's paths (iface_monai.c) */
static const char *const reserved[] = {"HOLOSCAN_INPUT_PATH", "HOLOSCAN_OUTPUT_PATH",
                                       "MONAI_INPUTPATH", "MONAI_OUTPUTPATH"};

static int reserved_name(const char *name)
{
    size_t i;

    if (strncmp(name, "DCMP_", 5) == 0 || strncmp(name, "MERCURE_", 8) == 0)
        return 1;
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return 1;
    return 0;
}

static int chars_ok(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
            return 0;
    return 1;
}

static int env_name_ok(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    return chars_ok(s, "_");
}

/* "512", "512k", "64m", "2g" (1024-based, any case), or a number of bytes. */
static int read_size(const cJSON *v, const char *key, int64_t min, int64_t *out, char *err)
{
    double d;
    char *end;

    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring[0] != '\0' &&
               isdigit((unsigned char)v->valuestring[0])) {
        d = strtod(v->valuestring, &end);
        switch (tolower((unsigned char)*end)) {
        case '\0': break;
        case 'b': end++; break;
        case 'k':
            d *= 1024.0;
            end++;
            break;
        case 'm':
            d *= 1024.0 * 1024;
            end++;
            break;
        case 'g':
            d *= 1024.0 * 1024 * 1024;
            end++;
            break;
        default: end = NULL;
        }
        if (end == NULL || *end != '\0')
            return dcmp_seterr(err, "container.%s: \"%.64s\" is not a size such as \"512m\"", key,
                               v->valuestring);
    } else {
        return dcmp_seterr(err, "container.%s: must be bytes or a size such as \"512m\", \"2g\"",
                           key);
    }
    if (!isfinite(d) || d < (double)min || d > 1099511627776.0 * 64)
        return dcmp_seterr(err, "container.%s: must be from %lld bytes to 64 TiB", key,
                           (long long)min);
    *out = (int64_t)d;
    return 0;
}

/* A list of non-empty strings of at most DCMP_SPEC_STR_MAX bytes into out[*n]. */
static int read_strings(const cJSON *v, const char *key, const char **out, int *n, char *err)
{
    const cJSON *item;

    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return dcmp_seterr(err, "container.%s: must be a non-empty list of strings", key);
    cJSON_ArrayForEach(item, v)
    {
        if (!cJSON_IsString(item) || strlen(item->valuestring) >= DCMP_SPEC_STR_MAX)
            return dcmp_seterr(err,
                               "container.%s: must be a list of strings (each under %d "
                               "bytes)",
                               key, DCMP_SPEC_STR_MAX);
        if (*n >= DCMP_SPEC_LIST_MAX)
            return dcmp_seterr(err, "container.%s: more than %d items", key, DCMP_SPEC_LIST_MAX);
        out[(*n)++] = item->valuestring;
    }
    return 0;
}

static int read_env(const cJSON *v, dcmp_spec *s, char *err)
{
    const cJSON *item;

    if (!cJSON_IsObject(v))
        return dcmp_seterr(err, "container.env: must be an object of NAME: \"value\"");
    cJSON_ArrayForEach(item, v)
    {
        const char *name = item->string;
        if (!env_name_ok(name) || strlen(name) >= DCMP_SPEC_NAME_MAX)
            return dcmp_seterr(err, "container.env: \"%.64s\" is not a variable name", name);
        if (reserved_name(name))
            return dcmp_seterr(err,
                               "container.env: %.64s: names starting with DCMP_ or "
                               "MERCURE_, and the MAP paths HOLOSCAN_INPUT_PATH, "
                               "HOLOSCAN_OUTPUT_PATH, MONAI_INPUTPATH, MONAI_OUTPUTPATH are "
                               "set by the runner",
                               name);
        if (!cJSON_IsString(item) || strlen(item->valuestring) >= DCMP_SPEC_STR_MAX)
            return dcmp_seterr(err, "container.env.%.64s: must be a string under %d bytes", name,
                               DCMP_SPEC_STR_MAX);
        if (s->nenv >= DCMP_SPEC_LIST_MAX)
            return dcmp_seterr(err, "container.env: more than %d variables", DCMP_SPEC_LIST_MAX);
        s->env_name[s->nenv] = name;
        s->env_value[s->nenv++] = item->valuestring;
    }
    return 0;
}

static int read_gpus(const cJSON *v, dcmp_spec *s, char *err)
{
    if (cJSON_IsString(v) && strcmp(v->valuestring, "all") == 0) {
        s->gpus_all = 1;
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble < 1 || v->valuedouble > 64 ||
            v->valuedouble != (double)(int)v->valuedouble)
            return dcmp_seterr(err, "container.gpus: a count must be a whole number from 1 "
                                    "to 64");
        s->gpus_count = (int)v->valuedouble;
        return 0;
    }
    if (cJSON_IsArray(v)) {
        int i;
        if (read_strings(v, "gpus", s->gpu_ids, &s->ngpu_ids, err) < 0)
            return -1;
        for (i = 0; i < s->ngpu_ids; i++)
            if (!chars_ok(s->gpu_ids[i], "-_:.") || strlen(s->gpu_ids[i]) >= DCMP_SPEC_NAME_MAX)
                return dcmp_seterr(err, "container.gpus: \"%.64s\" is not a device id",
                                   s->gpu_ids[i]);
        return 0;
    }
    return dcmp_seterr(err, "container.gpus: must be \"all\", a count or a list of device ids");
}

/* "UID" or "UID:GID", digits only: the output folder is made for that id. */
static int user_ok(const char *u)
{
    const char *colon = strchr(u, ':');
    size_t n = strlen(u);

    if (n == 0 || n >= 24 || strspn(u, "0123456789:") != n || u[0] == ':' || u[n - 1] == ':')
        return 0;
    return colon == NULL || strchr(colon + 1, ':') == NULL;
}

static int read_key(const cJSON *v, dcmp_spec *s, char *err)
{
    const char *k = v->string;

    if (strcmp(k, "image") == 0) {
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
            strlen(v->valuestring) >= DCMP_SPEC_IMAGE_MAX || !chars_ok(v->valuestring, "._-/:@") ||
            v->valuestring[0] == '-')
            return dcmp_seterr(err,
                               "container.image: must be an image reference (letters, "
                               "digits, . _ - / : @; at most %d)",
                               DCMP_SPEC_IMAGE_MAX - 1);
        s->image = v->valuestring;
    } else if (strcmp(k, "interface") == 0) {
        if ((s->iface = dcmp_iface_find(cJSON_GetStringValue(v))) == NULL)
            return dcmp_seterr(err, "container.interface: must be \"dcmp\", \"mercure\" or "
                                    "\"monai\"");
    } else if (strcmp(k, "env") == 0) {
        return read_env(v, s, err);
    } else if (strcmp(k, "command") == 0) {
        return read_strings(v, "command", s->command, &s->ncommand, err);
    } else if (strcmp(k, "gpus") == 0) {
        return read_gpus(v, s, err);
    } else if (strcmp(k, "memory") == 0) {
        return read_size(v, "memory", 6 << 20, &s->memory, err);
    } else if (strcmp(k, "shm_size") == 0) {
        return read_size(v, "shm_size", 1 << 20, &s->shm_size, err);
    } else if (strcmp(k, "cpus") == 0) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 1024)
            return dcmp_seterr(err, "container.cpus: must be a number above 0 (1.5: one and a "
                                    "half CPUs)");
        s->cpus = v->valuedouble;
    } else if (strcmp(k, "network") == 0) {
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || !chars_ok(v->valuestring, "._-") ||
            strlen(v->valuestring) >= DCMP_SPEC_NAME_MAX)
            return dcmp_seterr(err, "container.network: must be a network name (letters, "
                                    "digits, . _ -)");
        if (strcmp(v->valuestring, "host") == 0)
            return dcmp_seterr(err, "container.network: \"host\" would share the host's "
                                    "network and its services: not allowed");
        s->network = v->valuestring;
    } else if (strcmp(k, "user") == 0) {
        if (!cJSON_IsString(v) ||
            (!user_ok(v->valuestring) && strcmp(v->valuestring, DCMP_IFACE_WORKER) != 0))
            return dcmp_seterr(err, "container.user: must be \"UID\" or \"UID:GID\" (numbers), "
                                    "or \"worker\"");
        s->user = v->valuestring;
    } else {
        return dcmp_seterr(err,
                           "container.%.64s: unknown key (image, interface, env, command, "
                           "gpus, memory, cpus, shm_size, network, user)",
                           k);
    }
    return 0;
}

int dcmp_spec_parse(const cJSON *obj, dcmp_spec *out, char *err)
{
    const cJSON *v;

    memset(out, 0, sizeof *out);
    out->network = "none";
    if (!cJSON_IsObject(obj))
        return dcmp_seterr(err, "container: must be an object such as {\"image\": \"name:tag\"}");
    cJSON_ArrayForEach(v, obj)
    {
        if (v->string == NULL || read_key(v, out, err) < 0)
            return -1;
    }
    if (out->image == NULL)
        return dcmp_seterr(err, "container.image: missing");
    if (out->iface == NULL)
        out->iface = &dcmp_iface_dcmp;
    if (out->user == NULL)
        out->user = out->iface->user;
    return 0;
}

static void write_strings(dcmp_jsonw *w, const char *const *list, int n)
{
    int i;

    dcmp_jsonw_lit(w, "[");
    for (i = 0; i < n; i++) {
        dcmp_jsonw_lit(w, i ? "," : "");
        dcmp_jsonw_str(w, list[i]);
    }
    dcmp_jsonw_lit(w, "]");
}

static void write_num(dcmp_jsonw *w, double d)
{
    char buf[64];

    snprintf(buf, sizeof buf, "%.17g", d);
    dcmp_jsonw_lit(w, buf);
}

char *dcmp_spec_json(const dcmp_spec *s)
{
    dcmp_jsonw w;
    int i;

    dcmp_jsonw_init(&w, DCMP_JSONW_MAX);
    dcmp_jsonw_lit(&w, "{\"image\":");
    dcmp_jsonw_str(&w, s->image);
    dcmp_jsonw_lit(&w, ",\"interface\":");
    dcmp_jsonw_str(&w, s->iface->name);
    dcmp_jsonw_lit(&w, ",\"env\":{");
    for (i = 0; i < s->nenv; i++) {
        dcmp_jsonw_lit(&w, i ? "," : "");
        dcmp_jsonw_str(&w, s->env_name[i]);
        dcmp_jsonw_lit(&w, ":");
        dcmp_jsonw_str(&w, s->env_value[i]);
    }
    dcmp_jsonw_lit(&w, "}");
    if (s->ncommand > 0) {
        dcmp_jsonw_lit(&w, ",\"command\":");
        write_strings(&w, s->command, s->ncommand);
    }
    if (s->gpus_all) {
        dcmp_jsonw_lit(&w, ",\"gpus\":\"all\"");
    } else if (s->gpus_count > 0) {
        dcmp_jsonw_lit(&w, ",\"gpus\":");
        dcmp_jsonw_int(&w, s->gpus_count);
    } else if (s->ngpu_ids > 0) {
        dcmp_jsonw_lit(&w, ",\"gpus\":");
        write_strings(&w, s->gpu_ids, s->ngpu_ids);
    }
    if (s->memory > 0) {
        dcmp_jsonw_lit(&w, ",\"memory\":");
        dcmp_jsonw_int(&w, s->memory);
    }
    if (s->shm_size > 0) {
        dcmp_jsonw_lit(&w, ",\"shm_size\":");
        dcmp_jsonw_int(&w, s->shm_size);
    }
    if (s->cpus > 0) {
        dcmp_jsonw_lit(&w, ",\"cpus\":");
        write_num(&w, s->cpus);
    }
    dcmp_jsonw_lit(&w, ",\"network\":");
    dcmp_jsonw_str(&w, s->network);
    dcmp_jsonw_lit(&w, ",\"user\":");
    dcmp_jsonw_str(&w, s->user);
    dcmp_jsonw_lit(&w, "}");
    return dcmp_jsonw_finish(&w);
}

/* "NAME=VALUE" as one JSON string. */
static void write_env(dcmp_jsonw *w, const char *name, const char *value, int *first)
{
    size_t nlen = strlen(name), vlen = strlen(value);
    char *pair = malloc(nlen + vlen + 2);

    if (pair == NULL) {
        w->failed = 1;
        return;
    }
    memcpy(pair, name, nlen);
    pair[nlen] = '=';
    memcpy(pair + nlen + 1, value, vlen + 1);
    dcmp_jsonw_lit(w, *first ? "" : ",");
    *first = 0;
    dcmp_jsonw_str(w, pair);
    free(pair);
}

int dcmp_spec_host_path(const char *path, const char *data_dir, const char *data_host, char *out,
                        size_t size, char *err)
{
    size_t dlen = strlen(data_dir), hlen = data_host ? strlen(data_host) : 0;
    int n;

    while (dlen > 1 && data_dir[dlen - 1] == '/')
        dlen--;
    while (hlen > 1 && data_host[hlen - 1] == '/')
        hlen--;
    if (data_host == NULL || *data_host == '\0')
        n = snprintf(out, size, "%s", path);
    else if (data_host[0] != '/')
        return dcmp_seterr(err, "DCMP_DATA_HOST=%.200s: not an absolute path", data_host);
    else if (strncmp(path, data_dir, dlen) != 0 || (path[dlen] != '/' && path[dlen] != '\0'))
        return dcmp_seterr(err, "%.200s: not under DATA (%.200s)", path, data_dir);
    else
        n = snprintf(out, size, "%.*s%s", (int)hlen, data_host, path + dlen);
    if (n < 0 || (size_t)n >= size)
        return dcmp_seterr(err, "%.200s: the engine's path is too long", path);
    return 0;
}

/* "HOST:CONTAINER:MODE" as one JSON string. */
static void write_bind(dcmp_jsonw *w, const char *host, const char *inside, const char *mode)
{
    char bind[PATH_MAX + 64];
    int n = snprintf(bind, sizeof bind, "%s:%s:%s", host, inside, mode);

    if (n < 0 || (size_t)n >= sizeof bind) {
        w->failed = 1;
        return;
    }
    dcmp_jsonw_str(w, bind);
}

/* Whether the entry's env sets name. */
static int entry_sets(const dcmp_spec *s, const char *name)
{
    int i;

    for (i = 0; i < s->nenv; i++)
        if (strcmp(s->env_name[i], name) == 0)
            return 1;
    return 0;
}

char *dcmp_spec_create_body(const dcmp_spec *s, const dcmp_spec_run *run, size_t max)
{
    dcmp_jsonw w;
    int i, first = 1;

    dcmp_jsonw_init(&w, max);
    dcmp_jsonw_lit(&w, "{\"Image\":");
    dcmp_jsonw_str(&w, s->image);
    if (s->ncommand > 0) {
        dcmp_jsonw_lit(&w, ",\"Cmd\":");
        write_strings(&w, s->command, s->ncommand);
    } else if (run->setup->ncommand > 0) {
        /* the interface's command (a MAP's manifest) replaces the entrypoint too, as mercure
         * runs it: an empty Entrypoint resets the image's */
        dcmp_jsonw_lit(&w, ",\"Entrypoint\":[],\"Cmd\":");
        write_strings(&w, run->setup->command, run->setup->ncommand);
    }
    if (run->setup->workdir) {
        dcmp_jsonw_lit(&w, ",\"WorkingDir\":");
        dcmp_jsonw_str(&w, run->setup->workdir);
    }
    dcmp_jsonw_lit(&w, ",\"Env\":[");
    for (i = 0; i < s->nenv; i++)
        write_env(&w, s->env_name[i], s->env_value[i], &first);
    /* the entry's env wins over the interface's (a manifest's environment) */
    for (i = 0; i < run->setup->nenv; i++)
        if (!entry_sets(s, run->setup->env[i].name))
            write_env(&w, run->setup->env[i].name, run->setup->env[i].value, &first);
    dcmp_jsonw_lit(&w, "],\"User\":");
    dcmp_jsonw_str(&w, run->user);
    dcmp_jsonw_lit(&w, ",\"Labels\":{\"dcmp.job\":");
    dcmp_jsonw_str(&w, run->job_id);
    dcmp_jsonw_lit(&w, ",\"dcmp.worker\":");
    dcmp_jsonw_str(&w, run->worker);
    dcmp_jsonw_lit(&w, "},\"NetworkDisabled\":");
    dcmp_jsonw_lit(&w, strcmp(s->network, "none") == 0 ? "true" : "false");
    dcmp_jsonw_lit(&w, ",\"HostConfig\":{\"NetworkMode\":");
    dcmp_jsonw_str(&w, s->network);
    dcmp_jsonw_lit(&w, ",\"CapDrop\":[\"ALL\"],\"SecurityOpt\":[\"no-new-privileges\"],"
                       "\"PidsLimit\":");
    dcmp_jsonw_int(&w, DCMP_SPEC_PIDS_LIMIT);
    dcmp_jsonw_lit(&w, ",\"Binds\":[");
    for (i = 0; i < run->setup->nbind; i++) {
        const dcmp_iface_bind *b = &run->setup->bind[i];
        dcmp_jsonw_lit(&w, i ? "," : "");
        write_bind(&w, b->host, b->inside, b->rw ? "rw" : "ro");
    }
    dcmp_jsonw_lit(&w, "]");
    if (s->memory > 0) {
        dcmp_jsonw_lit(&w, ",\"Memory\":");
        dcmp_jsonw_int(&w, s->memory);
        dcmp_jsonw_lit(&w, ",\"MemorySwap\":");
        dcmp_jsonw_int(&w, s->memory);
    }
    if (s->cpus > 0) {
        dcmp_jsonw_lit(&w, ",\"NanoCpus\":");
        dcmp_jsonw_int(&w, (int64_t)(s->cpus * 1e9));
    }
    if (s->shm_size > 0) {
        dcmp_jsonw_lit(&w, ",\"ShmSize\":");
        dcmp_jsonw_int(&w, s->shm_size);
    }
    if (s->gpus_all || s->gpus_count > 0 || s->ngpu_ids > 0) {
        dcmp_jsonw_lit(&w, ",\"DeviceRequests\":[{\"Driver\":\"nvidia\",\"Count\":");
        dcmp_jsonw_int(&w, s->gpus_all ? -1 : s->gpus_count);
        if (s->ngpu_ids > 0) {
            dcmp_jsonw_lit(&w, ",\"DeviceIDs\":");
            write_strings(&w, s->gpu_ids, s->ngpu_ids);
        }
        dcmp_jsonw_lit(&w, ",\"Capabilities\":[[\"gpu\"]]}]");
    }
    dcmp_jsonw_lit(&w, "}}");
    return dcmp_jsonw_finish(&w);
}
