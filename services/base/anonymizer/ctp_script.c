/* ctp_script.c -- CTP anonymizer scripts: a strict small XML reader, the rules, element names. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctp_int.h"

#define MAX_ATTRS    8
#define MAX_CHILDREN 100000
#define MAX_NAME     64

/* ---- the XML reader: one root, children holding only text; line numbers for messages ---- */

typedef struct xml {
    const char *p, *end;
    int line;
    const char *file;
    char *err;
} xml;

typedef struct attr {
    char name[MAX_NAME];
    char *value; /* decoded; owned */
} attr;

typedef struct node {
    char name[MAX_NAME];
    attr attrs[MAX_ATTRS];
    int nattrs;
    int line;
} node;

static int fail(xml *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(xml *x, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(x->err, CTP_ERR_LEN, "%s:%d: ", x->file, x->line);

    if (n < 0 || n >= CTP_ERR_LEN)
        return -1;
    va_start(ap, fmt);
    vsnprintf(x->err + n, CTP_ERR_LEN - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void node_clear(node *n)
{
    int i;

    for (i = 0; i < n->nattrs; i++)
        free(n->attrs[i].value);
    n->nattrs = 0;
}

static const char *node_attr(const node *n, const char *name)
{
    int i;

    for (i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return n->attrs[i].value;
    return NULL;
}

static int at(const xml *x, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(x->end - x->p) >= n && memcmp(x->p, lit, n) == 0;
}

static void advance(xml *x, size_t n)
{
    while (n-- > 0 && x->p < x->end) {
        if (*x->p == '\n')
            x->line++;
        x->p++;
    }
}

/* Skips to just after `lit`; -1 when the text ends first. */
static int skip_past(xml *x, const char *lit)
{
    while (x->p < x->end) {
        if (at(x, lit)) {
            advance(x, strlen(lit));
            return 0;
        }
        advance(x, 1);
    }
    return -1;
}

static void skip_space(xml *x)
{
    while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\r' || *x->p == '\n'))
        advance(x, 1);
}

/* Whitespace, comments and processing instructions between elements. */
static int skip_misc(xml *x)
{
    for (;;) {
        skip_space(x);
        if (at(x, "<!--")) {
            int line = x->line;
            if (skip_past(x, "-->") < 0) {
                x->line = line;
                return fail(x, "comment not closed");
            }
        } else if (at(x, "<?")) {
            if (skip_past(x, "?>") < 0)
                return fail(x, "processing instruction not closed");
        } else if (at(x, "<!")) {
            return fail(x, "DOCTYPE and other declarations are not allowed");
        } else {
            return 0;
        }
    }
}

static int name_char(char c, int first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' ||
           (!first && (isdigit((unsigned char)c) || c == '-' || c == '.'));
}

static int read_name(xml *x, char out[MAX_NAME])
{
    size_t n = 0;

    if (x->p >= x->end || !name_char(*x->p, 1))
        return fail(x, "a name was expected");
    while (x->p < x->end && name_char(*x->p, 0)) {
        if (n + 1 >= MAX_NAME)
            return fail(x, "name too long");
        out[n++] = *x->p;
        advance(x, 1);
    }
    out[n] = '\0';
    return 0;
}

static void put_utf8(ctp_buf *b, unsigned long cp)
{
    char u[4];

    if (cp < 0x80) {
        u[0] = (char)cp;
        ctp_buf_add(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        ctp_buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        ctp_buf_add(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        ctp_buf_add(b, u, 4);
    }
}

/* Decodes the entity at x->p ('&') into b. */
static int entity(xml *x, ctp_buf *b)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t i;

    for (i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (at(x, named[i].name)) {
            ctp_buf_addc(b, named[i].c);
            advance(x, strlen(named[i].name));
            return 0;
        }
    }
    if (at(x, "&#")) {
        unsigned long cp = 0;
        int hex = 0, digits = 0;
        advance(x, 2);
        if (x->p < x->end && *x->p == 'x') {
            hex = 1;
            advance(x, 1);
        }
        while (x->p < x->end &&
               (hex ? isxdigit((unsigned char)*x->p) : isdigit((unsigned char)*x->p))) {
            int v = isdigit((unsigned char)*x->p) ? *x->p - '0'
                                                  : tolower((unsigned char)*x->p) - 'a' + 10;
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
            if (cp > 0x10FFFF)
                return fail(x, "character reference out of range");
            digits++;
            advance(x, 1);
        }
        if (digits == 0 || x->p >= x->end || *x->p != ';' || cp == 0 ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return fail(x, "bad character reference");
        advance(x, 1);
        put_utf8(b, cp);
        return 0;
    }
    return fail(x, "unknown entity (only &lt; &gt; &amp; &quot; &apos; &#N; are allowed)");
}

static int read_attrs(xml *x, node *n, int *empty)
{
    for (;;) {
        attr *a;
        char q;
        ctp_buf v = {0};

        skip_space(x);
        if (at(x, "/>")) {
            advance(x, 2);
            *empty = 1;
            return 0;
        }
        if (at(x, ">")) {
            advance(x, 1);
            *empty = 0;
            return 0;
        }
        if (n->nattrs == MAX_ATTRS)
            return fail(x, "<%s>: more than %d attributes", n->name, MAX_ATTRS);
        a = &n->attrs[n->nattrs];
        if (read_name(x, a->name) < 0)
            return -1;
        if (node_attr(n, a->name) != NULL)
            return fail(x, "<%s>: attribute %s given twice", n->name, a->name);
        skip_space(x);
        if (!at(x, "="))
            return fail(x, "<%s>: '=' expected after %s", n->name, a->name);
        advance(x, 1);
        skip_space(x);
        if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
            return fail(x, "<%s>: a quoted value expected for %s", n->name, a->name);
        q = *x->p;
        advance(x, 1);
        while (x->p < x->end && *x->p != q) {
            if (*x->p == '<') {
                ctp_buf_free(&v);
                return fail(x, "'<' in an attribute value");
            }
            if (*x->p == '&') {
                if (entity(x, &v) < 0) {
                    ctp_buf_free(&v);
                    return -1;
                }
                continue;
            }
            ctp_buf_addc(&v, *x->p);
            advance(x, 1);
        }
        if (x->p >= x->end) {
            ctp_buf_free(&v);
            return fail(x, "attribute value not closed");
        }
        advance(x, 1);
        if ((a->value = ctp_buf_take(&v)) == NULL)
            return fail(x, "out of memory");
        n->nattrs++;
    }
}

/* Reads the text content of element n up to its end tag. */
static int read_text(xml *x, const node *n, ctp_buf *text)
{
    char name[MAX_NAME];

    for (;;) {
        if (x->p >= x->end)
            return fail(x, "<%s> (line %d) not closed", n->name, n->line);
        if (at(x, "<!--")) {
            if (skip_past(x, "-->") < 0)
                return fail(x, "comment not closed");
        } else if (at(x, "<![CDATA[")) {
            const char *start;
            advance(x, 9);
            start = x->p;
            if (skip_past(x, "]]>") < 0)
                return fail(x, "CDATA section not closed");
            ctp_buf_add(text, start, (size_t)(x->p - start - 3));
        } else if (at(x, "</")) {
            advance(x, 2);
            if (read_name(x, name) < 0)
                return -1;
            if (strcmp(name, n->name) != 0)
                return fail(x, "</%s> closes <%s> (line %d)", name, n->name, n->line);
            skip_space(x);
            if (!at(x, ">"))
                return fail(x, "'>' expected");
            advance(x, 1);
            return text->failed ? fail(x, "text too long") : 0;
        } else if (at(x, "<")) {
            return fail(x, "<%s> may hold only text, not elements", n->name);
        } else if (*x->p == '&') {
            if (entity(x, text) < 0)
                return -1;
        } else {
            ctp_buf_addc(text, *x->p);
            advance(x, 1);
        }
    }
}

/* ---- the script ---- */

static int hexval(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    size_t i;

    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return -1;
        v = v * 16 + (uint32_t)(isdigit((unsigned char)s[i])
                                    ? s[i] - '0'
                                    : tolower((unsigned char)s[i]) - 'a' + 10);
    }
    *out = v;
    return 0;
}

static int add_param(ctp_script *s, const char *name, char *value)
{
    size_t i;
    ctp_param *p;

    for (i = 0; i < s->nparams; i++) {
        if (strcmp(s->params[i].name, name) == 0) { /* the last one wins, as in CTP */
            free(s->params[i].value);
            s->params[i].value = value;
            return 0;
        }
    }
    if ((p = realloc(s->params, (s->nparams + 1) * sizeof *p)) == NULL)
        return -1;
    s->params = p;
    if ((p[s->nparams].name = strdup(name)) == NULL)
        return -1;
    p[s->nparams++].value = value;
    return 0;
}

static int cmp_rule(const void *a, const void *b)
{
    const ctp_rule *x = a, *y = b;
    return x->tag < y->tag ? -1 : x->tag > y->tag ? 1 : x->line - y->line;
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Takes one child element of <script> (its text already read). */
static int take_child(xml *x, ctp_script *s, const node *n, char *text)
{
    const char *en = node_attr(n, "en"), *t = node_attr(n, "t"), *name = node_attr(n, "n");
    int enabled = en != NULL && strcmp(en, "T") == 0;

    x->line = n->line;
    if (strcmp(n->name, "p") == 0) {
        if (t == NULL || t[0] == '\0')
            return free(text), fail(x, "<p> without a t attribute (the parameter's name)");
        if (add_param(s, t, text) < 0)
            return free(text), fail(x, "out of memory");
        return 0;
    }
    if (strcmp(n->name, "e") == 0) {
        ctp_rule *r;
        const char *p = text;
        size_t len = strlen(text);
        uint32_t tag;

        if (!enabled)
            return free(text), 0;
        if (t == NULL || strlen(t) != 8 || hexval(t, 8, &tag) < 0)
            return free(text),
                   fail(x,
                        "<e t=\"%s\">: t must be 8 hex digits (group and element); private "
                        "block references are not supported there",
                        t ? t : "");
        if ((r = realloc(s->rules, (s->nrules + 1) * sizeof *r)) == NULL)
            return free(text), fail(x, "out of memory");
        s->rules = r;
        r = &s->rules[s->nrules];
        ctp_trim(&p, &len);
        memmove(text, p, len);
        text[len] = '\0';
        r->tag = tag;
        r->script = text;
        r->line = n->line;
        if ((r->name = strdup(name ? name : "")) == NULL)
            return fail(x, "out of memory");
        s->nrules++;
        return 0;
    }
    free(text);
    if (strcmp(n->name, "k") == 0) {
        uint32_t g;
        uint16_t *k;
        if (!enabled)
            return 0;
        if (t != NULL && strncmp(t, "safe", 4) == 0)
            return fail(x, "<k t=\"%s\">: keeping safe private elements is not supported", t);
        if (t == NULL || strlen(t) > 4 || hexval(t, strlen(t), &g) < 0)
            return fail(x, "<k t=\"%s\">: t must be a group in hex", t ? t : "");
        if ((k = realloc(s->keep, (s->nkeep + 1) * sizeof *k)) == NULL)
            return fail(x, "out of memory");
        s->keep = k;
        k[s->nkeep++] = (uint16_t)g;
        return 0;
    }
    if (strcmp(n->name, "r") == 0) {
        if (!enabled)
            return 0;
        if (t != NULL && strcmp(t, "privategroups") == 0)
            s->rpg = 1;
        else if (t != NULL && strcmp(t, "unspecifiedelements") == 0)
            s->rue = 1;
        else if (t != NULL && strcmp(t, "overlays") == 0)
            s->rol = 1;
        else if (t != NULL && strcmp(t, "curves") == 0)
            s->rc = 1;
        else
            return fail(x,
                        "<r t=\"%s\">: unknown removal (privategroups, unspecifiedelements, "
                        "overlays, curves)",
                        t ? t : "");
        return 0;
    }
    return fail(x, "<%s> is not a CTP script element (p, e, k, r)", n->name);
}

static int parse(xml *x, ctp_script *s)
{
    node root = {0}, child = {0};
    int empty, children = 0;
    size_t i;

    if (at(x, "\xEF\xBB\xBF"))
        advance(x, 3);
    if (skip_misc(x) < 0)
        return -1;
    if (!at(x, "<"))
        return fail(x, "<script> expected");
    advance(x, 1);
    root.line = x->line;
    if (read_name(x, root.name) < 0 || read_attrs(x, &root, &empty) < 0)
        return node_clear(&root), -1;
    node_clear(&root);
    if (strcmp(root.name, "script") != 0)
        return fail(x, "the root element is <%s>, not <script>", root.name);
    if (!empty) {
        for (;;) {
            ctp_buf text = {0};
            char *t;

            if (skip_misc(x) < 0)
                return -1;
            if (x->p >= x->end)
                return fail(x, "<script> not closed");
            if (at(x, "</")) {
                char name[MAX_NAME];
                advance(x, 2);
                if (read_name(x, name) < 0)
                    return -1;
                if (strcmp(name, "script") != 0)
                    return fail(x, "</%s> closes <script>", name);
                skip_space(x);
                if (!at(x, ">"))
                    return fail(x, "'>' expected");
                advance(x, 1);
                break;
            }
            if (!at(x, "<"))
                return fail(x, "text outside the rules");
            if (++children > MAX_CHILDREN)
                return fail(x, "more than %d rules", MAX_CHILDREN);
            advance(x, 1);
            memset(&child, 0, sizeof child);
            child.line = x->line;
            if (read_name(x, child.name) < 0 || read_attrs(x, &child, &empty) < 0 ||
                (!empty && read_text(x, &child, &text) < 0)) {
                node_clear(&child);
                ctp_buf_free(&text);
                return -1;
            }
            if ((t = ctp_buf_take(&text)) == NULL) {
                node_clear(&child);
                return fail(x, "out of memory");
            }
            {
                int line = x->line, rc = take_child(x, s, &child, t);
                x->line = line;
                node_clear(&child);
                if (rc < 0)
                    return -1;
            }
        }
    }
    if (skip_misc(x) < 0)
        return -1;
    if (x->p < x->end)
        return fail(x, "text after </script>");
    if (s->nrules > 1)
        qsort(s->rules, s->nrules, sizeof *s->rules, cmp_rule);
    for (i = 1; i < s->nrules; i++) {
        if (s->rules[i].tag == s->rules[i - 1].tag) {
            x->line = s->rules[i].line;
            return fail(x,
                        "<e t=\"%08x\">: a second rule for the element (the first is on line %d)",
                        s->rules[i].tag, s->rules[i - 1].line);
        }
    }
    if (s->nkeep > 1)
        qsort(s->keep, s->nkeep, sizeof *s->keep, cmp_u16);
    /* Every enabled rule must run: check its functions, parameters and names now. */
    for (i = 0; i < s->nrules; i++) {
        char why[CTP_ERR_LEN];
        if (ctp_check_script(s, s->rules[i].script, why) < 0) {
            x->line = s->rules[i].line;
            return fail(x, "<e t=\"%08x\" n=\"%s\">: %s", s->rules[i].tag, s->rules[i].name, why);
        }
    }
    return 0;
}

int ctp_script_parse(const char *text, size_t len, const char *name, ctp_script **out,
                     char err[CTP_ERR_LEN])
{
    ctp_script *s;
    xml x;

    *out = NULL;
    if (len > CTP_SCRIPT_MAX)
        return snprintf(err, CTP_ERR_LEN, "%s: larger than %u bytes", name, CTP_SCRIPT_MAX), -1;
    if (memchr(text, '\0', len) != NULL)
        return snprintf(err, CTP_ERR_LEN, "%s: holds a NUL byte: not a text file", name), -1;
    if ((s = calloc(1, sizeof *s)) == NULL || (s->name = strdup(name)) == NULL) {
        free(s);
        return snprintf(err, CTP_ERR_LEN, "out of memory"), -1;
    }
    x.p = text;
    x.end = text + len;
    x.line = 1;
    x.file = name;
    x.err = err;
    if (parse(&x, s) < 0) {
        ctp_script_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* Reads a whole file of at most max bytes into a new NUL-terminated buffer. */
static char *slurp(const char *path, size_t max, size_t *len, char *err)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return snprintf(err, CTP_ERR_LEN, "%s: %s", path, strerror(errno)), NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return snprintf(err, CTP_ERR_LEN, "%s: not a regular file of at most %zu bytes", path, max),
               NULL;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return snprintf(err, CTP_ERR_LEN, "out of memory"), NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
}

int ctp_script_load(const char *path, ctp_script **out, char err[CTP_ERR_LEN])
{
    size_t len;
    char *text = slurp(path, CTP_SCRIPT_MAX, &len, err);
    int rc;

    *out = NULL;
    if (text == NULL)
        return -1;
    rc = ctp_script_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void ctp_script_free(ctp_script *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->nparams; i++) {
        free(s->params[i].name);
        free(s->params[i].value);
    }
    for (i = 0; i < s->nrules; i++) {
        free(s->rules[i].name);
        free(s->rules[i].script);
    }
    free(s->params);
    free(s->rules);
    free(s->keep);
    free(s->name);
    free(s);
}

const char *ctp_script_param(const ctp_script *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->nparams; i++)
        if (strcmp(s->params[i].name, name) == 0)
            return s->params[i].value;
    return NULL;
}

size_t ctp_script_rules(const ctp_script *s)
{
    return s->nrules;
}

const ctp_rule *ctp_script_rule(const ctp_script *s, uint32_t tag)
{
    size_t lo = 0, hi = s->nrules;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->rules[mid].tag == tag)
            return &s->rules[mid];
        if (s->rules[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int ctp_script_keeps(const ctp_script *s, uint16_t group)
{
    size_t i;

    for (i = 0; i < s->nkeep; i++)
        if (s->keep[i] == group)
            return 1;
    return 0;
}

const char *ctp_param_ref(const ctp_script *s, const char *ref, size_t reflen, size_t *len)
{
    size_t i;

    ctp_trim(&ref, &reflen);
    if (reflen > 0 && (ref[0] == '@' || ref[0] == '$')) {
        for (i = 0; i < s->nparams; i++) {
            if (strlen(s->params[i].name) == reflen - 1 &&
                memcmp(s->params[i].name, ref + 1, reflen - 1) == 0) {
                *len = strlen(s->params[i].value);
                return s->params[i].value;
            }
        }
        return NULL;
    }
    *len = reflen;
    return ref;
}

/* ---- element names ---- */

int ctp_name_tag(const ctp_script *s, const ctp_source *src, const char *name, size_t n,
                 uint32_t *tag)
{
    char buf[MAX_NAME * 2];
    const char *comma, *lb, *rb;
    uint32_t g, e;
    size_t i;

    ctp_trim(&name, &n);
    if (n >= 2 &&
        ((name[0] == '[' && name[n - 1] == ']') || (name[0] == '(' && name[n - 1] == ')'))) {
        name++;
        n -= 2;
        ctp_trim(&name, &n);
    }
    if (n == 0 || n >= sizeof buf)
        return 0;
    /* hex: ggggeeee or g,e */
    if (n == 8 && hexval(name, 8, tag) == 0)
        return 1;
    comma = memchr(name, ',', n);
    lb = memchr(name, '[', n);
    if (comma != NULL && lb == NULL) {
        size_t gl = (size_t)(comma - name), el = n - gl - 1;
        if (gl >= 1 && gl <= 4 && el >= 1 && el <= 4 && hexval(name, gl, &g) == 0 &&
            hexval(comma + 1, el, &e) == 0) {
            *tag = g << 16 | e;
            return 1;
        }
        return 0;
    }
    /* a keyword of the dictionary */
    memcpy(buf, name, n);
    buf[n] = '\0';
    if (lb == NULL && ctp_dict_tag(buf, tag))
        return 1;
    /* the name of a private element rule of the script */
    for (i = 0; s != NULL && i < s->nrules; i++) {
        if ((s->rules[i].tag & 0x10000) && s->rules[i].name[0] != '\0' &&
            strcmp(s->rules[i].name, buf) == 0) {
            *tag = s->rules[i].tag;
            return 1;
        }
    }
    /* a private block reference: gggg[CREATOR]ee (a comma after the group is allowed) */
    if (lb != NULL && (rb = memchr(lb, ']', n - (size_t)(lb - name))) != NULL &&
        (size_t)(name + n - rb - 1) == 2 && hexval(rb + 1, 2, &e) == 0) {
        size_t gl = (size_t)(lb - name);
        char creator[MAX_NAME * 2];
        const char *c = lb + 1;
        size_t cl = (size_t)(rb - lb - 1);

        if (gl > 0 && name[gl - 1] == ',')
            gl--;
        if (gl > 4 || (gl > 0 && hexval(name, gl, &g) < 0) || gl == 0)
            return 0;
        if (!(g & 1))
            return 0;
        ctp_trim(&c, &cl);
        for (i = 0; i < cl; i++)
            creator[i] = (char)toupper((unsigned char)c[i]);
        creator[cl] = '\0';
        if (src == NULL)
            return 2; /* well-formed; what it means depends on the dataset */
        *tag = src->block(src->ds, (uint16_t)g, creator, (uint8_t)e);
        return *tag != 0;
    }
    return 0;
}
