/* pseudonyms.c -- the dicomAnonymizer's pseudonym tables: CSV reading and writing, HMAC-SHA-256
 * pseudonyms, hash_table.csv appended under flock. */
#include "pseudonyms.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads an open file (at most PN_CSV_MAX bytes) from its start. */
static char *read_fd(int fd, size_t *len, const char *path, char *err)
{
    struct stat st;
    char *buf;
    size_t got = 0;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > PN_CSV_MAX)
        return snprintf(err, PN_ERR_LEN, "%s: not a regular file of at most %u bytes", path,
                        PN_CSV_MAX),
               NULL;
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
        return snprintf(err, PN_ERR_LEN, "out of memory"), NULL;
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

static void trim(char *s)
{
    size_t n = strlen(s), a = 0;

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

int pn_parse_csv(ctp_lut *t, const char *text, size_t len, const char *name, char err[PN_ERR_LEN])
{
    char field[2][PN_FIELD_MAX + 1];
    size_t i = 0, flen = 0;
    int line = 1, row_line = 1, nf = 0, quoted = 0, after_quote = 0, first = 1;

    while (i <= len) {
        char c = i < len ? text[i] : '\n';
        int end_of_text = i == len;

        i++;
        if (quoted) {
            if (end_of_text)
                return snprintf(err, PN_ERR_LEN, "%s:%d: a quoted field is not closed", name,
                                row_line),
                       -1;
            if (c == '"') {
                if (i < len && text[i] == '"') {
                    i++;
                } else {
                    quoted = 0;
                    after_quote = 1;
                    continue;
                }
            }
            if (c == '\n')
                line++;
            if (nf < 2) {
                if (flen >= PN_FIELD_MAX)
                    return snprintf(err, PN_ERR_LEN, "%s:%d: a field longer than %d bytes", name,
                                    row_line, PN_FIELD_MAX),
                           -1;
                field[nf][flen++] = c;
            }
            continue;
        }
        if (c == '\r' && i < len && text[i] == '\n')
            continue;
        if (c == ',' || c == '\n' || c == '\r') {
            if (nf < 2) {
                field[nf][flen] = '\0';
                trim(field[nf]);
            }
            nf++;
            flen = 0;
            after_quote = 0;
            if (c == ',')
                continue;
            /* end of a row */
            if (nf == 1 && field[0][0] == '\0') {
                /* a blank line */
            } else if (nf < 2) {
                return snprintf(err, PN_ERR_LEN,
                                "%s:%d: a row needs two fields, PatientID,Pseudonym", name,
                                row_line),
                       -1;
            } else if (first && strcasecmp(field[0], "PatientID") == 0 &&
                       strcasecmp(field[1], "Pseudonym") == 0) {
                /* the header */
            } else if (field[1][0] == '\0') {
                /* an empty PatientID is a key like any other (files without one) */
                return snprintf(err, PN_ERR_LEN, "%s:%d: an empty pseudonym", name, row_line), -1;
            } else if (ctp_lut_set(t, field[0], field[1]) < 0) {
                return snprintf(err, PN_ERR_LEN, "out of memory"), -1;
            }
            if (!(nf == 1 && field[0][0] == '\0'))
                first = 0;
            nf = 0;
            line++;
            row_line = line;
            continue;
        }
        if (after_quote)
            return snprintf(err, PN_ERR_LEN, "%s:%d: text after a closing quote", name, row_line),
                   -1;
        if (c == '"' && flen == 0) {
            quoted = 1;
            continue;
        }
        if (nf < 2) {
            if (flen >= PN_FIELD_MAX)
                return snprintf(err, PN_ERR_LEN, "%s:%d: a field longer than %d bytes", name,
                                row_line, PN_FIELD_MAX),
                       -1;
            field[nf][flen++] = c;
        }
    }
    return 0;
}

int pn_load_csv(ctp_lut *t, const char *path, char err[PN_ERR_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
    size_t len;
    char *text;

    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return snprintf(err, PN_ERR_LEN, "%s: %s", path, strerror(errno)), -1;
    }
    text = read_fd(fd, &len, path, err);
    close(fd);
    if (text == NULL)
        return -1;
    rc = pn_parse_csv(t, text, len, path, err);
    free(text);
    return rc < 0 ? -1 : 1;
}

int pn_make(const char *secret, const char *id, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)id, strlen(id), md,
             &len) == NULL ||
        len < 16)
        return -1;
    for (i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Writes one CSV field, quoted when it holds a comma, a quote, a line break or edge blanks. */
static int put_field(char *out, size_t size, size_t *k, const char *f)
{
    size_t n = strlen(f), i;
    int q = n > 0 && (strpbrk(f, ",\"\r\n") != NULL || f[0] == ' ' || f[n - 1] == ' ');

    if (q) {
        if (*k + 1 >= size)
            return -1;
        out[(*k)++] = '"';
    }
    for (i = 0; i < n; i++) {
        if (*k + 2 >= size)
            return -1;
        if (f[i] == '"')
            out[(*k)++] = '"';
        out[(*k)++] = f[i];
    }
    if (q) {
        if (*k + 1 >= size)
            return -1;
        out[(*k)++] = '"';
    }
    return 0;
}

int pn_csv_row(char *out, size_t size, const char *id, const char *pseudonym)
{
    size_t k = 0;

    if (put_field(out, size, &k, id) < 0 || k + 1 >= size)
        return -1;
    out[k++] = ',';
    if (put_field(out, size, &k, pseudonym) < 0 || k + 2 >= size)
        return -1;
    out[k++] = '\n';
    out[k] = '\0';
    return (int)k;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A folder's user table: pseudonyms.csv, else the original's misspelt psudonyms.csv. */
static int load_user(ctp_lut *t, const char *dir, char *err)
{
    char path[4096];
    int r;

    snprintf(path, sizeof path, "%s/pseudonyms.csv", dir);
    if ((r = pn_load_csv(t, path, err)) != 0)
        return r;
    snprintf(path, sizeof path, "%s/psudonyms.csv", dir);
    return pn_load_csv(t, path, err);
}

int pn_assign(const char *dir, const char *legacy, const char *secret, const char *const *ids,
              size_t n, char **out, int *from, int *created, char err[PN_ERR_LEN])
{
    char path[4096], row[2 * PN_FIELD_MAX * 2 + 8];
    ctp_lut *user = ctp_lut_new(), *hashed = ctp_lut_new(), *luser = ctp_lut_new(),
            *lhash = ctp_lut_new();
    size_t i, len;
    int rc = -1, fd = -1, wrote = 0;
    char *text = NULL;

    *created = 0;
    for (i = 0; i < n; i++) {
        out[i] = NULL;
        from[i] = PN_FROM_NEW;
    }
    if (user == NULL || hashed == NULL || luser == NULL || lhash == NULL) {
        snprintf(err, PN_ERR_LEN, "out of memory");
        goto done;
    }
    if (load_user(user, dir, err) < 0)
        goto done;
    if (legacy != NULL) {
        snprintf(path, sizeof path, "%s/hash_table.csv", legacy);
        if (load_user(luser, legacy, err) < 0 || pn_load_csv(lhash, path, err) < 0)
            goto done;
    }
    for (i = 0; i < n; i++) {
        const char *p = ctp_lut_get(user, ids[i]);
        if (p != NULL && (out[i] = strdup(p)) == NULL) {
            snprintf(err, PN_ERR_LEN, "out of memory");
            goto done;
        }
        if (p != NULL)
            from[i] = PN_FROM_USER;
    }
    for (i = 0; i < n && out[i] != NULL; i++)
        ;
    if (i == n) {
        rc = 0;
        goto done;
    }
    /* hash_table.csv: read and appended under one exclusive lock */
    snprintf(path, sizeof path, "%s/hash_table.csv", dir);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, PN_ERR_LEN, "%s: %s", path, strerror(errno));
        goto done;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            snprintf(err, PN_ERR_LEN, "%s: cannot lock: %s", path, strerror(errno));
            goto done;
        }
    }
    if ((text = read_fd(fd, &len, path, err)) == NULL ||
        pn_parse_csv(hashed, text, len, path, err) < 0)
        goto done;
    for (i = 0; i < n; i++) {
        const char *p;
        char made[33];
        int k;

        if (out[i] != NULL)
            continue;
        if ((p = ctp_lut_get(hashed, ids[i])) != NULL) {
            from[i] = PN_FROM_HASH;
        } else {
            /* the original's config/ tables, else a new pseudonym: either is appended here,
             * so that it outlives the module's folder */
            if ((p = ctp_lut_get(luser, ids[i])) != NULL) {
                from[i] = PN_FROM_LEGACY_USER;
            } else if ((p = ctp_lut_get(lhash, ids[i])) != NULL) {
                from[i] = PN_FROM_LEGACY_HASH;
            } else if (pn_make(secret, ids[i], made) < 0) {
                snprintf(err, PN_ERR_LEN, "HMAC-SHA-256 failed");
                goto done;
            } else {
                p = made;
                (*created)++;
            }
            if ((k = pn_csv_row(row, sizeof row, ids[i], p)) < 0) {
                snprintf(err, PN_ERR_LEN, "a PatientID longer than %d bytes", PN_FIELD_MAX);
                goto done;
            }
            if ((len == 0 && wrote == 0 && write_all(fd, "PatientID,Pseudonym\n", 20) < 0) ||
                (lseek(fd, 0, SEEK_END) < 0) || write_all(fd, row, (size_t)k) < 0 ||
                ctp_lut_set(hashed, ids[i], p) < 0) {
                snprintf(err, PN_ERR_LEN, "%s: cannot append: %s", path, strerror(errno));
                goto done;
            }
            wrote++;
            p = ctp_lut_get(hashed, ids[i]);
        }
        if ((out[i] = strdup(p)) == NULL) {
            snprintf(err, PN_ERR_LEN, "out of memory");
            goto done;
        }
    }
    if (wrote > 0 && fsync(fd) < 0) {
        snprintf(err, PN_ERR_LEN, "%s: fsync: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd); /* releases the lock */
    free(text);
    ctp_lut_free(user);
    ctp_lut_free(hashed);
    ctp_lut_free(luser);
    ctp_lut_free(lhash);
    if (rc < 0)
        for (i = 0; i < n; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    return rc;
}
