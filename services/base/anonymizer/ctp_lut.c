/* ctp_lut.c -- the lookup table of @lookup: a Java properties file read as CTP reads it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctp_int.h"

#define LUT_MAX_KEYS 1000000

typedef struct entry {
    char *key, *value;
} entry;

struct ctp_lut {
    entry *e; /* sorted by key */
    size_t n, cap;
};

ctp_lut *ctp_lut_new(void)
{
    return calloc(1, sizeof(ctp_lut));
}

void ctp_lut_free(ctp_lut *lut)
{
    size_t i;

    if (lut == NULL)
        return;
    for (i = 0; i < lut->n; i++) {
        free(lut->e[i].key);
        free(lut->e[i].value);
    }
    free(lut->e);
    free(lut);
}

/* Index of key, or where it would go (*found = 0). */
static size_t find(const ctp_lut *lut, const char *key, int *found)
{
    size_t lo = 0, hi = lut->n;

    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(lut->e[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ctp_lut_set(ctp_lut *lut, const char *key, const char *value)
{
    int found;
    size_t i = find(lut, key, &found);
    char *v = strdup(value), *k;

    if (v == NULL)
        return -1;
    if (found) {
        free(lut->e[i].value);
        lut->e[i].value = v;
        return 0;
    }
    if (lut->n >= LUT_MAX_KEYS || (k = strdup(key)) == NULL) {
        free(v);
        return -1;
    }
    if (lut->n == lut->cap) {
        size_t cap = lut->cap ? lut->cap * 2 : 16;
        entry *e = realloc(lut->e, cap * sizeof *e);
        if (e == NULL) {
            free(k);
            free(v);
            return -1;
        }
        lut->e = e;
        lut->cap = cap;
    }
    memmove(lut->e + i + 1, lut->e + i, (lut->n - i) * sizeof *lut->e);
    lut->e[i].key = k;
    lut->e[i].value = v;
    lut->n++;
    return 0;
}

const char *ctp_lut_get(const ctp_lut *lut, const char *key)
{
    int found;
    size_t i = find(lut, key, &found);

    return found ? lut->e[i].value : NULL;
}

size_t ctp_lut_size(const ctp_lut *lut)
{
    return lut->n;
}

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_utf8(ctp_buf *b, unsigned cp)
{
    char u[3];

    if (cp < 0x80) {
        u[0] = (char)cp;
        ctp_buf_add(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        ctp_buf_add(b, u, 2);
    } else {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        ctp_buf_add(b, u, 3);
    }
}

/* java.util.Properties.load: logical lines (a line ending in an odd number of backslashes
 * goes on), comments (# or ! first), key up to an unescaped '=', ':' or blank, escapes
 * \t \n \r \f \uXXXX and \x = x. Text is taken as UTF-8 (Java reads ISO 8859-1 here). */
int ctp_lut_parse(ctp_lut *lut, const char *text, size_t len, const char *name,
                  char err[CTP_ERR_LEN])
{
    size_t i = 0;
    int line = 1;

    while (i < len) {
        ctp_buf key = {0}, val = {0};
        ctp_buf *cur = &key;
        int start_line = line, in_key = 1, sep_seen = 0, skipping_ws = 1;

        /* leading blanks */
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\f'))
            i++;
        if (i < len && (text[i] == '\n' || text[i] == '\r')) {
            if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
                i++;
            i++;
            line++;
            continue;
        }
        if (i < len && (text[i] == '#' || text[i] == '!')) {
            while (i < len && text[i] != '\n' && text[i] != '\r')
                i++;
            continue;
        }
        skipping_ws = 0;
        while (i < len && text[i] != '\n' && text[i] != '\r') {
            char c = text[i++];
            if (skipping_ws) {
                if (c == ' ' || c == '\t' || c == '\f')
                    continue;
                skipping_ws = 0;
                if (!in_key && !sep_seen && (c == '=' || c == ':')) {
                    sep_seen = 1;
                    skipping_ws = 1;
                    continue;
                }
            }
            if (c == '\\') {
                if (i >= len)
                    break;
                c = text[i++];
                if (c == '\n' || c == '\r') {
                    /* a continuation: the next line's leading blanks are skipped */
                    if (c == '\r' && i < len && text[i] == '\n')
                        i++;
                    line++;
                    skipping_ws = 1;
                    continue;
                }
                if (c == 'u') {
                    unsigned cp = 0;
                    int k;
                    for (k = 0; k < 4; k++) {
                        int h = i < len ? hexdigit(text[i]) : -1;
                        if (h < 0) {
                            ctp_buf_free(&key);
                            ctp_buf_free(&val);
                            return snprintf(err, CTP_ERR_LEN, "%s:%d: malformed \\uXXXX escape",
                                            name, line),
                                   -1;
                        }
                        cp = cp * 16 + (unsigned)h;
                        i++;
                    }
                    put_utf8(cur, cp);
                    continue;
                }
                c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
                ctp_buf_addc(cur, c);
                continue;
            }
            if (in_key && (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f')) {
                in_key = 0;
                cur = &val;
                sep_seen = c == '=' || c == ':';
                skipping_ws = 1;
                continue;
            }
            ctp_buf_addc(cur, c);
        }
        ctp_buf_add(&key, "", 0);
        ctp_buf_add(&val, "", 0);
        if (key.failed || val.failed || ctp_lut_set(lut, key.data, val.data) < 0) {
            ctp_buf_free(&key);
            ctp_buf_free(&val);
            return snprintf(err, CTP_ERR_LEN, "%s:%d: entry too long, or out of memory", name,
                            start_line),
                   -1;
        }
        ctp_buf_free(&key);
        ctp_buf_free(&val);
    }
    return 0;
}

int ctp_lut_load(ctp_lut *lut, const char *path, char err[CTP_ERR_LEN])
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return snprintf(err, CTP_ERR_LEN, "%s: %s", path, strerror(errno)), -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > CTP_LUT_MAX) {
        close(fd);
        return snprintf(err, CTP_ERR_LEN, "%s: not a regular file of at most %u bytes", path,
                        CTP_LUT_MAX),
               -1;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return snprintf(err, CTP_ERR_LEN, "out of memory"), -1;
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
    rc = ctp_lut_parse(lut, buf, got, path, err);
    free(buf);
    return rc;
}
