/* settings.c -- settings files (JSON or YAML) read into cJSON trees, and the registry scan. */
#include "settings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_MAP "tag:yaml.org,2002:map"
#define TAG_SEQ "tag:yaml.org,2002:seq"

/* ---- common ---- */

/* The 1-based line and column (in characters, as libyaml counts) of byte off of text. */
static void position(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    if (off > len)
        off = len;
    for (i = 0; i < off; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            (*line)++;
            *col = 1;
        } else if ((c & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

typedef struct keyed {
    cJSON *item;
    size_t index;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->item->string, y->item->string);

    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Makes a key given twice in obj keep its first position and its last value,
 * as a Python dict built from the pairs would. Only the public cJSON list
 * calls are used: the members are detached and appended again. Returns -1 on
 * out of memory (obj unchanged).
 */
static int dedupe_object(cJSON *obj)
{
    keyed *sorted;
    cJSON **slot, *c;
    size_t n = 0, i, j, k;
    int dups = 0;

    for (c = obj->child; c; c = c->next)
        n++;
    if (n < 2)
        return 0;
    if ((sorted = malloc(n * sizeof *sorted)) == NULL)
        return -1;
    for (c = obj->child, i = 0; c; c = c->next, i++) {
        sorted[i].item = c;
        sorted[i].index = i;
    }
    qsort(sorted, n, sizeof *sorted, keyed_cmp);
    for (i = 1; i < n && !dups; i++)
        dups = strcmp(sorted[i - 1].item->string, sorted[i].item->string) == 0;
    if (!dups) {
        free(sorted);
        return 0;
    }
    if ((slot = calloc(n, sizeof *slot)) == NULL) {
        free(sorted);
        return -1;
    }
    /* slot[position] = the member that goes there; the others are dropped. */
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && strcmp(sorted[i].item->string, sorted[j].item->string) == 0; j++)
            ;
        slot[sorted[i].index] = sorted[j - 1].item;
    }
    while (obj->child)
        cJSON_DetachItemViaPointer(obj, obj->child);
    for (i = 0; i < n; i++)
        if (slot[i])
            cJSON_AddItemToArray(obj, slot[i]);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && strcmp(sorted[i].item->string, sorted[j].item->string) == 0; j++)
            ;
        for (k = i; k + 1 < j; k++)
            cJSON_Delete(sorted[k].item);
    }
    free(slot);
    free(sorted);
    return 0;
}

/* ---- JSON ---- */

static int json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The offset of the first bracket nested deeper than the cap, or SIZE_MAX. Exact for valid
 * JSON; for invalid JSON it only matters before the syntax error. */
static size_t json_too_deep(const char *text, size_t len)
{
    size_t i, depth = 0;
    int in_string = 0;

    for (i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > DCMP_SETTINGS_MAX_DEPTH)
                return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return SIZE_MAX;
}

/*
 * Whether a key is expected at pos (outside strings, in an object, after '{' or ','). cJSON
 * reports a key that does not start with '"' one byte past it; this puts the column back.
 */
static int json_expects_key(const char *text, size_t pos)
{
    unsigned char object[DCMP_SETTINGS_MAX_DEPTH];
    size_t i, depth = 0;
    int in_string = 0, key = 0;

    for (i = 0; i < pos; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_string = 1;
            key = 0;
            break;
        case '{':
        case '[':
            if (depth == DCMP_SETTINGS_MAX_DEPTH)
                return 0;
            object[depth++] = c == '{';
            key = c == '{';
            break;
        case '}':
        case ']':
            depth -= depth > 0;
            key = 0;
            break;
        case ',': key = depth > 0 && object[depth - 1]; break;
        default:
            if (!json_ws(c))
                key = 0;
        }
    }
    return !in_string && key;
}

/* Counts the values, refuses numbers JSON cannot hold and settles duplicate keys. */
static int json_walk(cJSON *node, int depth, size_t *nodes, const char *origin, char *err)
{
    cJSON *c;

    if (++*nodes > DCMP_SETTINGS_MAX_NODES)
        return dcmp_seterr(err, "%s: more than %d values", origin, DCMP_SETTINGS_MAX_NODES);
    if (depth > DCMP_SETTINGS_MAX_DEPTH)
        return dcmp_seterr(err, "%s: nested deeper than %d levels", origin,
                           DCMP_SETTINGS_MAX_DEPTH);
    if (cJSON_IsNumber(node) && !isfinite(node->valuedouble))
        return dcmp_seterr(err, "%s: number out of range%s%.64s%s", origin,
                           node->string ? " (key \"" : "", node->string ? node->string : "",
                           node->string ? "\")" : "");
    if (cJSON_IsObject(node) && dedupe_object(node) < 0)
        return dcmp_seterr(err, "%s: out of memory", origin);
    for (c = node->child; c; c = c->next)
        if (json_walk(c, depth + 1, nodes, origin, err) < 0)
            return -1;
    return 0;
}

static int parse_json(const char *text, size_t len, const char *origin, cJSON **out, char *err)
{
    const char *end = NULL;
    size_t deep = json_too_deep(text, len), off, line, col, nodes = 0;
    cJSON *root;

    off = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (off < len && json_ws(text[off]))
        off++;
    if (off == len)
        return dcmp_seterr(err, "%s: empty", origin);
    /* The end pointer is cJSON_GetErrorPtr's, without its global. */
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    off = end && end >= text ? (size_t)(end - text) : 0;
    if (deep != SIZE_MAX && (root != NULL || deep <= off)) {
        cJSON_Delete(root);
        position(text, len, deep, &line, &col);
        return dcmp_seterr(err, "%s:%zu:%zu: nested deeper than %d levels", origin, line, col,
                           DCMP_SETTINGS_MAX_DEPTH);
    }
    if (root == NULL) {
        if (off > 0 && off <= len && !json_ws(text[off - 1]) && text[off - 1] != '"' &&
            json_expects_key(text, off - 1))
            off--;
        position(text, len, off, &line, &col);
        if (off < len && text[off] > ' ' && text[off] < 0x7f)
            return dcmp_seterr(err, "%s:%zu:%zu: not valid JSON (at '%c')", origin, line, col,
                               text[off]);
        return dcmp_seterr(err, "%s:%zu:%zu: not valid JSON", origin, line, col);
    }
    while (off < len && json_ws(text[off]))
        off++;
    if (off < len) {
        cJSON_Delete(root);
        position(text, len, off, &line, &col);
        return dcmp_seterr(err, "%s:%zu:%zu: text after the JSON value", origin, line, col);
    }
    if (!cJSON_IsObject(root) && !cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return dcmp_seterr(err, "%s: the top level must be an object or an array", origin);
    }
    if (json_walk(root, 1, &nodes, origin, err) < 0) {
        cJSON_Delete(root);
        return -1;
    }
    *out = root;
    return 0;
}

/* ---- YAML ---- */

typedef struct frame {
    cJSON *node; /* borrowed: attached to its parent or the root */
    char *key;   /* owned: a mapping's key waiting for its value, else NULL */
} frame;

typedef struct builder {
    const char *text, *origin;
    size_t len;
    char *err;
    cJSON *root; /* owned */
    frame stack[DCMP_SETTINGS_MAX_DEPTH];
    int depth;
    int documents;
    size_t nodes;
} builder;

static int mark_err(builder *b, const yaml_mark_t *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "origin:line:column: message" at a libyaml mark (0-based there). */
static int mark_err(builder *b, const yaml_mark_t *mark, const char *fmt, ...)
{
    char msg[DCMP_ERR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dcmp_seterr(b->err, "%s:%zu:%zu: %s", b->origin, mark->line + 1, mark->column + 1, msg);
}

static int parser_err(builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "syntax error";
    size_t line, col;

    switch (p->error) {
    case YAML_MEMORY_ERROR: return dcmp_seterr(b->err, "%s: out of memory", b->origin);
    case YAML_READER_ERROR:
        position(b->text, b->len, p->problem_offset, &line, &col);
        if (p->problem_value != -1)
            return dcmp_seterr(b->err, "%s:%zu:%zu: %s (#x%X)", b->origin, line, col, problem,
                               (unsigned)p->problem_value);
        return dcmp_seterr(b->err, "%s:%zu:%zu: %s", b->origin, line, col, problem);
    default:
        if (p->context)
            return mark_err(b, &p->problem_mark, "%s (%s at line %zu)", problem, p->context,
                            p->context_mark.line + 1);
        return mark_err(b, &p->problem_mark, "%s", problem);
    }
}

static int all_of(const char *s, size_t n, const char *set)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] == '\0' || strchr(set, s[i]) == NULL)
            return 0;
    return 1;
}

static int one_of(const char *s, const char *const *words)
{
    size_t i;

    for (i = 0; words[i]; i++)
        if (strcmp(s, words[i]) == 0)
            return 1;
    return 0;
}

#define DIGITS "0123456789"

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int is_float(const char *s)
{
    size_t n;
    int mantissa = 0;

    if (*s == '-' || *s == '+')
        s++;
    n = strspn(s, DIGITS);
    mantissa = n > 0;
    s += n;
    if (*s == '.') {
        n = strspn(++s, DIGITS);
        mantissa |= n > 0;
        s += n;
    }
    if (!mantissa)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if ((n = strspn(s, DIGITS)) == 0)
            return 0;
        s += n;
    }
    return *s == '\0';
}

/* A plain scalar per the YAML 1.2 core schema; s is NUL-free and n long. */
static cJSON *plain_scalar(builder *b, const yaml_mark_t *mark, const char *s, size_t n)
{
    static const char *const nulls[] = {"null", "Null", "NULL", "~", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const specials[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                           "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                                           ".NaN",  ".NAN",  NULL};
    const char *digits = s + (*s == '-' || *s == '+');
    double d;
    cJSON *item;

    if (n == 0 || one_of(s, nulls))
        return cJSON_CreateNull();
    if (one_of(s, trues))
        return cJSON_CreateTrue();
    if (one_of(s, falses))
        return cJSON_CreateFalse();
    if (one_of(s, specials)) {
        mark_err(b, mark, "%s: JSON has no such number", s);
        return NULL;
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o') &&
        all_of(s + 2, n - 2, s[1] == 'x' ? DIGITS "abcdefABCDEF" : "01234567")) {
        unsigned long long v;
        errno = 0;
        v = strtoull(s + 2, NULL, s[1] == 'x' ? 16 : 8);
        if (errno == ERANGE) {
            mark_err(b, mark, "%.64s: number out of range", s);
            return NULL;
        }
        d = (double)v;
    } else if (all_of(digits, n - (size_t)(digits - s), DIGITS) || is_float(s)) {
        d = strtod(s, NULL);
        if (!isfinite(d)) {
            mark_err(b, mark, "%.64s: number out of range", s);
            return NULL;
        }
    } else {
        return cJSON_CreateString(s);
    }
    if ((item = cJSON_CreateNumber(d)) == NULL)
        dcmp_seterr(b->err, "%s: out of memory", b->origin);
    return item;
}

/* The value of a scalar event; NULL with b->err set on error. */
static cJSON *scalar(builder *b, const yaml_event_t *ev)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    size_t n = ev->data.scalar.length;
    char *s;
    cJSON *item;

    if (memchr(ev->data.scalar.value, '\0', n) != NULL) {
        mark_err(b, &ev->start_mark, "a string holds a NUL character");
        return NULL;
    }
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, TAG_STR) != 0) {
        mark_err(b, &ev->start_mark, "tag %.64s is not supported", tag);
        return NULL;
    }
    if ((s = strndup((const char *)ev->data.scalar.value, n)) == NULL) {
        dcmp_seterr(b->err, "%s: out of memory", b->origin);
        return NULL;
    }
    /* Quoted, block and explicitly tagged scalars are strings whatever they read. */
    if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        item = cJSON_CreateString(s);
    else
        item = plain_scalar(b, &ev->start_mark, s, n);
    if (item == NULL && b->err && b->err[0] == '\0')
        dcmp_seterr(b->err, "%s: out of memory", b->origin);
    free(s);
    return item;
}

/* Whether the next node is a mapping key. */
static int at_key(const builder *b)
{
    return b->depth > 0 && cJSON_IsObject(b->stack[b->depth - 1].node) &&
           b->stack[b->depth - 1].key == NULL;
}

/* Attaches item (taking it) to the open container, or makes it the root. */
static int attach(builder *b, cJSON *item)
{
    frame *f;
    int ok;

    if (b->depth == 0) {
        b->root = item;
        return 0;
    }
    f = &b->stack[b->depth - 1];
    if (cJSON_IsArray(f->node)) {
        ok = cJSON_AddItemToArray(f->node, item);
    } else {
        ok = cJSON_AddItemToObject(f->node, f->key, item);
        free(f->key);
        f->key = NULL;
    }
    if (!ok) {
        cJSON_Delete(item);
        return dcmp_seterr(b->err, "%s: out of memory", b->origin);
    }
    return 0;
}

static int count_node(builder *b, const yaml_mark_t *mark)
{
    if (++b->nodes > DCMP_SETTINGS_MAX_NODES)
        return mark_err(b, mark, "more than %d values", DCMP_SETTINGS_MAX_NODES);
    return 0;
}

static int open_container(builder *b, const yaml_event_t *ev, int map)
{
    const char *tag =
        (const char *)(map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    cJSON *item;

    if (at_key(b))
        return mark_err(b, &ev->start_mark, "a mapping key must be a scalar");
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, map ? TAG_MAP : TAG_SEQ) != 0)
        return mark_err(b, &ev->start_mark, "tag %.64s is not supported", tag);
    if (count_node(b, &ev->start_mark) < 0)
        return -1;
    if (b->depth >= DCMP_SETTINGS_MAX_DEPTH)
        return mark_err(b, &ev->start_mark, "nested deeper than %d levels",
                        DCMP_SETTINGS_MAX_DEPTH);
    if ((item = map ? cJSON_CreateObject() : cJSON_CreateArray()) == NULL)
        return dcmp_seterr(b->err, "%s: out of memory", b->origin);
    if (attach(b, item) < 0)
        return -1;
    b->stack[b->depth].node = item;
    b->stack[b->depth].key = NULL;
    b->depth++;
    return 0;
}

static int close_container(builder *b)
{
    frame *f = &b->stack[--b->depth];

    free(f->key);
    f->key = NULL;
    if (cJSON_IsObject(f->node) && dedupe_object(f->node) < 0)
        return dcmp_seterr(b->err, "%s: out of memory", b->origin);
    return 0;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    cJSON *item;

    if (at_key(b)) {
        const char *v = (const char *)ev->data.scalar.value;
        frame *f = &b->stack[b->depth - 1];
        if (memchr(v, '\0', ev->data.scalar.length) != NULL)
            return mark_err(b, &ev->start_mark, "a key holds a NUL character");
        if ((f->key = strndup(v, ev->data.scalar.length)) == NULL)
            return dcmp_seterr(b->err, "%s: out of memory", b->origin);
        return 0;
    }
    if (b->depth == 0) {
        if (ev->data.scalar.length == 0 && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            ev->data.scalar.tag == NULL)
            return dcmp_seterr(b->err, "%s: empty", b->origin);
        return mark_err(b, &ev->start_mark, "the top level must be a mapping or a list");
    }
    if (count_node(b, &ev->start_mark) < 0)
        return -1;
    if ((item = scalar(b, ev)) == NULL)
        return -1;
    return attach(b, item);
}

/* Handles one event; sets *done at the stream's end. */
static int on_event(builder *b, const yaml_event_t *ev, int *done)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->documents++ > 0)
            return mark_err(b, &ev->start_mark, "more than one document");
        return 0;
    case YAML_ALIAS_EVENT: return mark_err(b, &ev->start_mark, "aliases are not supported");
    case YAML_SCALAR_EVENT: return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT: return open_container(b, ev, 0);
    case YAML_MAPPING_START_EVENT: return open_container(b, ev, 1);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return close_container(b);
    case YAML_STREAM_END_EVENT: *done = 1; return 0;
    default: return 0;
    }
}

static int parse_yaml(const char *text, size_t len, const char *origin, cJSON **out, char *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    builder b;
    int done = 0, rc = 0;

    memset(&b, 0, sizeof b);
    b.text = text;
    b.len = len;
    b.origin = origin;
    b.err = err;
    if (!yaml_parser_initialize(&parser))
        return dcmp_seterr(err, "%s: out of memory", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = parser_err(&b, &parser);
            break;
        }
        rc = on_event(&b, &ev, &done);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    while (b.depth > 0)
        free(b.stack[--b.depth].key);
    if (rc == 0 && b.root == NULL)
        rc = dcmp_seterr(err, "%s: empty", origin);
    if (rc < 0) {
        cJSON_Delete(b.root);
        return -1;
    }
    *out = b.root;
    return 0;
}

/* ---- the API ---- */

const char *const dcmp_settings_names[DCMP_SETTINGS_NAMES] = {"settings.json", "settings.yaml",
                                                              "settings.yml"};

int dcmp_settings_parse(const char *text, size_t len, const char *origin, int yaml, cJSON **out,
                        char *err)
{
    *out = NULL;
    if (err)
        err[0] = '\0';
    if (text == NULL) { /* read as empty: libyaml asserts on a NULL input */
        text = "";
        len = 0;
    }
    if (len > DCMP_SETTINGS_MAX)
        return dcmp_seterr(err, "%s: larger than %d bytes", origin, DCMP_SETTINGS_MAX);
    if (len > 0 && memchr(text, '\0', len) != NULL)
        return dcmp_seterr(err, "%s: contains a NUL byte: not a text file", origin);
    return yaml ? parse_yaml(text, len, origin, out, err) : parse_json(text, len, origin, out, err);
}

int dcmp_settings_read(const char *path, char **text, size_t *len, struct stat *st, char *err)
{
    size_t used = 0, size;
    ssize_t got;
    char *buf, extra;
    int fd, rc;

    *text = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO in place of the file must not hang the scan. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return dcmp_seterr(err, "%s: not a regular file", path);
    }
    if (st->st_size > DCMP_SETTINGS_MAX) {
        close(fd);
        return dcmp_seterr(err, "%s: larger than %d bytes", path, DCMP_SETTINGS_MAX);
    }
    size = (size_t)st->st_size;
    if ((buf = malloc(size + 1)) == NULL) {
        close(fd);
        return dcmp_seterr(err, "%s: out of memory", path);
    }
    while (used < size) {
        got = read(fd, buf + used, size - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = dcmp_seterr(err, "%s: %s", path, strerror(errno));
            close(fd);
            free(buf);
            return rc;
        }
        if (got == 0)
            break;
        used += (size_t)got;
    }
    while ((got = read(fd, &extra, 1)) < 0 && errno == EINTR)
        ;
    close(fd);
    if (got > 0) {
        free(buf);
        return dcmp_seterr(err, "%s: changed while being read", path);
    }
    buf[used] = '\0';
    *text = buf;
    *len = used;
    return 0;
}

int dcmp_settings_is_yaml(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(slash ? slash : path, '.');

    return dot && (strcasecmp(dot, ".yaml") == 0 || strcasecmp(dot, ".yml") == 0);
}

int dcmp_settings_load(const char *path, cJSON **out, char *err)
{
    struct stat st;
    size_t len;
    char *text;
    int rc;

    *out = NULL;
    if (dcmp_settings_read(path, &text, &len, &st, err) < 0)
        return -1;
    rc = dcmp_settings_parse(text, len, path, dcmp_settings_is_yaml(path), out, err);
    free(text);
    return rc;
}

/* A folder that holds a settings file: its name, which file, and why it cannot be stat'ed. */
typedef struct service {
    char *name;
    int file;
    int stat_errno;
} service;

static int service_cmp(const void *a, const void *b)
{
    return strcmp(((const service *)a)->name, ((const service *)b)->name);
}

int dcmp_settings_registry(const char *registry_dir, dcmp_settings_files *reg, char *err)
{
    const char *const *files = dcmp_settings_names;
    char rel[NAME_MAX + 32], path[PATH_MAX], lerr[DCMP_ERR_LEN];
    service *found = NULL;
    struct dirent *de;
    struct stat st;
    size_t dlen = strlen(registry_dir);
    int n = 0, i, k, e, dfd, rc = -1;
    DIR *d;

    memset(reg, 0, sizeof *reg);
    while (dlen > 1 && registry_dir[dlen - 1] == '/')
        dlen--;
    if (dlen + 1 + NAME_MAX + 1 + sizeof "settings.yaml" > sizeof path)
        return dcmp_seterr(err, "%s: path too long", registry_dir);
    if ((d = opendir(registry_dir)) == NULL)
        return dcmp_seterr(err, "%s: %s", registry_dir, strerror(errno));
    if ((found = calloc(DCMP_SETTINGS_MAX_SERVICES, sizeof *found)) == NULL) {
        dcmp_seterr(err, "%s: out of memory", registry_dir);
        goto out;
    }
    dfd = dirfd(d);
    for (;;) {
        errno = 0;
        if ((de = readdir(d)) == NULL) {
            if (errno != 0) {
                dcmp_seterr(err, "%s: %s", registry_dir, strerror(errno));
                goto out;
            }
            break;
        }
        if (de->d_name[0] == '.' || fstatat(dfd, de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
            continue;
        /* A file that exists but cannot be stat'ed (an unreadable folder) is still listed, so
         * that its error is reported rather than the service silently missing. */
        for (k = 0, e = 0; k < DCMP_SETTINGS_NAMES; k++) {
            snprintf(rel, sizeof rel, "%s/%s", de->d_name, files[k]);
            if (fstatat(dfd, rel, &st, 0) == 0)
                break;
            if (errno != ENOENT) {
                e = errno;
                break;
            }
        }
        if (k == DCMP_SETTINGS_NAMES)
            continue;
        if (n >= DCMP_SETTINGS_MAX_SERVICES) {
            dcmp_seterr(err, "%s: more than %d services", registry_dir, DCMP_SETTINGS_MAX_SERVICES);
            goto out;
        }
        found[n].file = k;
        found[n].stat_errno = e;
        if ((found[n].name = strdup(de->d_name)) == NULL) {
            dcmp_seterr(err, "%s: out of memory", registry_dir);
            goto out;
        }
        n++;
    }
    qsort(found, (size_t)n, sizeof *found, service_cmp);
    if (n > 0 && ((reg->files = calloc((size_t)n, sizeof *reg->files)) == NULL ||
                  (reg->names = calloc((size_t)n, sizeof *reg->names)) == NULL)) {
        dcmp_seterr(err, "%s: out of memory", registry_dir);
        goto out;
    }
    for (i = 0; i < n; i++) {
        dcmp_plan_file *f = &reg->files[i];
        cJSON *root = NULL;
        const char *why = NULL;
        char *p;
        snprintf(path, sizeof path, "%.*s/%s/%s", (int)dlen, registry_dir, found[i].name,
                 files[found[i].file]);
        if ((p = strdup(path)) == NULL) {
            dcmp_seterr(err, "%s: out of memory", registry_dir);
            goto out;
        }
        reg->names[i] = found[i].name;
        found[i].name = NULL;
        f->path = p;
        reg->n = i + 1;
        if (found[i].stat_errno != 0) {
            dcmp_seterr(lerr, "%s: %s", path, strerror(found[i].stat_errno));
            why = lerr;
        } else if (dcmp_settings_load(path, &root, lerr) < 0) {
            why = lerr;
        }
        f->root = root;
        if (why && (f->load_error = strdup(why)) == NULL) {
            dcmp_seterr(err, "%s: out of memory", registry_dir);
            goto out;
        }
    }
    rc = 0;
out:
    closedir(d);
    if (found)
        for (i = 0; i < n; i++)
            free(found[i].name);
    free(found);
    if (rc < 0)
        dcmp_settings_registry_free(reg);
    return rc;
}

void dcmp_settings_registry_free(dcmp_settings_files *reg)
{
    int i;

    /* The registry allocated what its const-qualified plan files point to. */
    for (i = 0; i < reg->n; i++) {
        free((void *)reg->files[i].path);
        cJSON_Delete((cJSON *)reg->files[i].root);
        free((void *)reg->files[i].load_error);
        free(reg->names[i]);
    }
    free(reg->files);
    free(reg->names);
    memset(reg, 0, sizeof *reg);
}
