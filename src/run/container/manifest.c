/* manifest.c -- a MONAI Application Package's manifest (app.json): the command split into
 * words, the environment, the working directory, the input and output paths, the timeout.
 * Pure: no I/O. */
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_IN  "input/"
#define DEFAULT_OUT "output/"

/* Appends c to the word being built; -1 when the buffer is full. */
static int put(char *buf, size_t cap, size_t *len, char c)
{
    if (*len + 1 >= cap)
        return -1;
    buf[(*len)++] = c;
    return 0;
}

/* Splits cmd into words as a POSIX shell's quoting does (what Python's shlex.split does, which
 * mercure's docker client applies to the manifest's command): ' and " quote, \ escapes outside
 * single quotes (inside double quotes only before " \ $ `). Nothing is expanded. */
static int split_words(const char *cmd, dcmp_manifest *m, char *err)
{
    size_t cap = strlen(cmd) + 1, len = 0;
    const char *p = cmd;

    if ((m->wordbuf = malloc(cap + 1)) == NULL)
        return dcmp_seterr(err, "command: out of memory");
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        if (m->nwords >= DCMP_MANIFEST_WORDS)
            return dcmp_seterr(err, "command: more than %d words", DCMP_MANIFEST_WORDS);
        m->words[m->nwords++] = m->wordbuf + len;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            if (*p == '\'') {
                const char *end = strchr(p + 1, '\'');
                if (end == NULL)
                    return dcmp_seterr(err, "command: a ' is not closed");
                for (p++; p < end; p++)
                    put(m->wordbuf, cap, &len, *p);
                p++;
            } else if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                        p++;
                    put(m->wordbuf, cap, &len, *p);
                }
                if (*p != '"')
                    return dcmp_seterr(err, "command: a \" is not closed");
                p++;
            } else if (*p == '\\') {
                if (p[1] == '\0')
                    return dcmp_seterr(err, "command: ends with a \\");
                put(m->wordbuf, cap, &len, p[1]);
                p += 2;
            } else {
                put(m->wordbuf, cap, &len, *p++);
            }
        }
        m->wordbuf[len++] = '\0';
    }
    if (m->nwords == 0)
        return dcmp_seterr(err, "command: empty");
    return 0;
}

/* The words of a JSON array of strings, copied into m->wordbuf. */
static int array_words(const cJSON *a, dcmp_manifest *m, char *err)
{
    const cJSON *w;
    size_t cap = 1, len = 0;

    cJSON_ArrayForEach(w, a)
    {
        if (!cJSON_IsString(w))
            return dcmp_seterr(err, "command: a list holding other than strings");
        cap += strlen(w->valuestring) + 1;
    }
    if ((m->wordbuf = malloc(cap)) == NULL)
        return dcmp_seterr(err, "command: out of memory");
    cJSON_ArrayForEach(w, a)
    {
        size_t n = strlen(w->valuestring) + 1;
        if (m->nwords >= DCMP_MANIFEST_WORDS)
            return dcmp_seterr(err, "command: more than %d words", DCMP_MANIFEST_WORDS);
        memcpy(m->wordbuf + len, w->valuestring, n);
        m->words[m->nwords++] = m->wordbuf + len;
        len += n;
    }
    if (m->nwords == 0 || m->words[0][0] == '\0')
        return dcmp_seterr(err, "command: empty");
    return 0;
}

static int read_command(const cJSON *c, dcmp_manifest *m, char *err)
{
    const char *s;
    cJSON *a;
    int rc;

    if (c == NULL || cJSON_IsNull(c))
        return 0;
    if (cJSON_IsArray(c))
        return array_words(c, m, err);
    if (!cJSON_IsString(c))
        return dcmp_seterr(err, "command: must be a string or a list of strings");
    for (s = c->valuestring; *s == ' '; s++)
        ;
    /* the Holoscan packager writes the command as the JSON text of a list */
    if (*s == '[' && (a = cJSON_Parse(s)) != NULL) {
        rc = array_words(a, m, err);
        cJSON_Delete(a);
        return rc;
    }
    return split_words(c->valuestring, m, err);
}

static int env_name_ok(const char *n)
{
    size_t i;

    if (!((n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= 'a' && n[0] <= 'z') || n[0] == '_'))
        return 0;
    for (i = 1; n[i]; i++)
        if (!((n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= 'a' && n[i] <= 'z') ||
              (n[i] >= '0' && n[i] <= '9') || n[i] == '_') ||
            i >= 128)
            return 0;
    return 1;
}

static int read_env(const cJSON *e, dcmp_manifest *m, char *err)
{
    const cJSON *v;

    if (e == NULL || cJSON_IsNull(e))
        return 0;
    if (!cJSON_IsObject(e))
        return dcmp_seterr(err, "environment: must be an object");
    cJSON_ArrayForEach(v, e)
    {
        if (!env_name_ok(v->string))
            return dcmp_seterr(err, "environment: %.80s: not a variable name", v->string);
        if (!cJSON_IsString(v))
            return dcmp_seterr(err, "environment.%.80s: must be a string", v->string);
        if (m->nenv >= DCMP_MANIFEST_ENV)
            return dcmp_seterr(err, "environment: more than %d variables", DCMP_MANIFEST_ENV);
        m->env_name[m->nenv] = v->string;
        m->env_value[m->nenv++] = v->valuestring;
    }
    return 0;
}

/*
 * path (relative to dir, or absolute) as a clean absolute path into out: no "." or empty
 * components, no trailing '/'. Refused: "..", characters that would break a bind ("HOST:
 * INSIDE:MODE") or are not printable, "/" itself, and a result over DCMP_MANIFEST_PATH.
 */
static int clean_path(const char *dir, const char *path, char out[DCMP_MANIFEST_PATH],
                      const char *key, char *err)
{
    char joined[2 * DCMP_MANIFEST_PATH];
    const char *p;
    size_t len = 0;

    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", path[0] == '/' ? "" : dir, path) >=
        sizeof joined)
        return dcmp_seterr(err, "%s: too long", key);
    for (p = joined; *p; p++)
        if (*p == ':' || *p == ',' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return dcmp_seterr(err, "%s: \"%.200s\": no ':', ',' or control characters", key, path);
    for (p = joined; *p;) {
        size_t n;
        while (*p == '/')
            p++;
        n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return dcmp_seterr(err, "%s: \"%.200s\": \"..\" is refused", key, path);
        if (len + 1 + n >= DCMP_MANIFEST_PATH)
            return dcmp_seterr(err, "%s: too long", key);
        out[len++] = '/';
        memcpy(out + len, p, n);
        len += n;
        p += n;
    }
    out[len] = '\0';
    if (len == 0)
        return dcmp_seterr(err, "%s: \"%.200s\": the root folder is refused", key, path);
    return 0;
}

/* obj.path of the manifest's `input` or `output` (absent: dflt), made absolute. */
static int read_io(const cJSON *root, const char *key, const char *dflt, const char *dir,
                   char out[DCMP_MANIFEST_PATH], char *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    const cJSON *p = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "path") : NULL;
    char what[32];

    snprintf(what, sizeof what, "%s.path", key);
    if (o != NULL && !cJSON_IsNull(o) && !cJSON_IsObject(o))
        return dcmp_seterr(err, "%s: must be an object", key);
    if (p != NULL && !cJSON_IsNull(p) && (!cJSON_IsString(p) || p->valuestring[0] == '\0'))
        return dcmp_seterr(err, "%s: must be a path", what);
    return clean_path(dir, cJSON_IsString(p) ? p->valuestring : dflt, out, what, err);
}

int dcmp_manifest_parse(const char *text, size_t len, dcmp_manifest *m, char *err)
{
    const cJSON *wd, *t;
    char why[DCMP_ERR_LEN];

    memset(m, 0, sizeof *m);
    if (len > DCMP_MANIFEST_MAX)
        return dcmp_seterr(err, "over %d bytes", DCMP_MANIFEST_MAX);
    m->tree = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(m->tree)) {
        dcmp_manifest_free(m);
        return dcmp_seterr(err, "not valid JSON (a JSON object)");
    }
    wd = cJSON_GetObjectItemCaseSensitive(m->tree, "workingDirectory");
    if (wd == NULL)
        wd = cJSON_GetObjectItemCaseSensitive(m->tree, "working-directory");
    t = cJSON_GetObjectItemCaseSensitive(m->tree, "timeout");
    if (wd != NULL && !cJSON_IsNull(wd) &&
        (!cJSON_IsString(wd) || wd->valuestring[0] != '/' ||
         clean_path("", wd->valuestring, m->workdir, "workingDirectory", why) < 0)) {
        if (!cJSON_IsString(wd) || wd->valuestring[0] != '/')
            dcmp_seterr(why, "workingDirectory: must be an absolute path");
    } else if (t != NULL && !cJSON_IsNull(t) &&
               (!cJSON_IsNumber(t) || t->valuedouble < 0 ||
                t->valuedouble > (double)DCMP_MANIFEST_TIMEOUT_MAX)) {
        dcmp_seterr(why, "timeout: must be seconds from 0 to %lld", DCMP_MANIFEST_TIMEOUT_MAX);
    } else if (read_command(cJSON_GetObjectItemCaseSensitive(m->tree, "command"), m, why) == 0 &&
               read_env(cJSON_GetObjectItemCaseSensitive(m->tree, "environment"), m, why) == 0 &&
               read_io(m->tree, "input", DEFAULT_IN,
                       m->workdir[0] ? m->workdir : DCMP_MANIFEST_WORKDIR, m->input, why) == 0 &&
               read_io(m->tree, "output", DEFAULT_OUT,
                       m->workdir[0] ? m->workdir : DCMP_MANIFEST_WORKDIR, m->output, why) == 0) {
        if (strcmp(m->input, m->output) == 0) {
            dcmp_seterr(why, "input.path and output.path: the same folder, %.200s", m->input);
        } else {
            m->timeout = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : 0;
            return 0;
        }
    }
    dcmp_manifest_free(m);
    return dcmp_seterr(err, "%s", why);
}

void dcmp_manifest_free(dcmp_manifest *m)
{
    cJSON_Delete(m->tree);
    free(m->wordbuf);
    memset(m, 0, sizeof *m);
}
