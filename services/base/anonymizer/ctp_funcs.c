/* ctp_funcs.c -- CTP's value functions: decimal MD5, UID hashing, date arithmetic; strings. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctp_int.h"

/* ---- strings ---- */

void ctp_buf_add(ctp_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > CTP_VALUE_MAX) {
        b->failed = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->data, cap)) == NULL) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ctp_buf_adds(ctp_buf *b, const char *s)
{
    ctp_buf_add(b, s, strlen(s));
}

void ctp_buf_addc(ctp_buf *b, char c)
{
    ctp_buf_add(b, &c, 1);
}

void ctp_buf_free(ctp_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *ctp_buf_take(ctp_buf *b)
{
    char *s;

    if (b->failed) {
        ctp_buf_free(b);
        return NULL;
    }
    if (b->data == NULL)
        ctp_buf_add(b, "", 0);
    s = b->data;
    memset(b, 0, sizeof *b);
    return s;
}

void ctp_trim(const char **s, size_t *n)
{
    while (*n > 0 && (unsigned char)(*s)[0] <= ' ') {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && (unsigned char)(*s)[*n - 1] <= ' ')
        (*n)--;
}

/* ---- MD5 as a decimal number ---- */

int ctp_md5_decimal(const char *s, size_t n, char out[40])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char rev[40];
    size_t k = 0;
    int nonzero;

    if (!EVP_Digest(s, n, md, &mdlen, EVP_md5(), NULL) || mdlen != 16)
        return -1;
    /* Long division of the 128-bit big-endian number by 10, digit by digit. */
    do {
        unsigned rem = 0;
        nonzero = 0;
        for (i = 0; i < 16; i++) {
            unsigned cur = (rem << 8) | md[i];
            md[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
            nonzero |= md[i];
        }
        rev[k++] = (char)('0' + rem);
    } while (nonzero && k < sizeof rev - 1);
    for (i = 0; i < k; i++)
        out[i] = rev[k - 1 - i];
    out[k] = '\0';
    return 0;
}

int ctp_hashuid(const char *prefix, size_t plen, const char *uid, size_t ulen, ctp_buf *b)
{
    char hash[40];
    size_t start = b->len;

    ctp_trim(&prefix, &plen);
    if (ctp_md5_decimal(uid, ulen, hash) < 0)
        return -1;
    ctp_buf_add(b, prefix, plen);
    if (plen > 0 && prefix[plen - 1] != '.')
        ctp_buf_addc(b, '.');
    if (hash[0] == '0')
        ctp_buf_addc(b, '9');
    ctp_buf_adds(b, hash);
    if (!b->failed && b->len - start > 64) {
        b->len = start + 64;
        b->data[b->len] = '\0';
    }
    return b->failed ? -1 : 0;
}

/* ---- dates: java.util.GregorianCalendar, lenient, Julian before 15 October 1582 ---- */

#define GREGORIAN_START 2299161L /* Julian day number of 1582-10-15 */

static long floordiv(long a, long b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static long jdn_gregorian(long y, long m, long d)
{
    long a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3;

    return d + (153 * mm + 2) / 5 + 365 * yy + floordiv(yy, 4) - floordiv(yy, 100) +
           floordiv(yy, 400) - 32045;
}

static long jdn_julian(long y, long m, long d)
{
    long a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3;

    return d + (153 * mm + 2) / 5 + 365 * yy + floordiv(yy, 4) - 32083;
}

/* Day number of year y, month m (1-12, already normalized), day d (may overflow). */
static long day_of(long y, long m, long d)
{
    int julian = y < 1582 || (y == 1582 && m < 10);

    return (julian ? jdn_julian(y, m, 1) : jdn_gregorian(y, m, 1)) + (d - 1);
}

static void ymd_of(long jdn, long *y, long *m, long *d)
{
    long b, c, dd, e, mm;

    if (jdn >= GREGORIAN_START) {
        long a = jdn + 32044;
        b = floordiv(4 * a + 3, 146097);
        c = a - floordiv(146097 * b, 4);
    } else {
        b = 0;
        c = jdn + 32082;
    }
    dd = floordiv(4 * c + 3, 1461);
    e = c - floordiv(1461 * dd, 4);
    mm = floordiv(5 * e + 2, 153);
    *d = e - floordiv(153 * mm + 2, 5) + 1;
    *m = mm + 3 - 12 * floordiv(mm, 10);
    *y = 100 * b + dd - 4800 + floordiv(mm, 10);
}

/* new GregorianCalendar(y, month0, d), lenient: the month may be out of 0..11. */
static long calendar(long y, long month0, long d)
{
    y += floordiv(month0, 12);
    month0 -= 12 * floordiv(month0, 12);
    return day_of(y, month0 + 1, d);
}

int ctp_date_day(const char *date, size_t n, long *day)
{
    char digits[9];
    size_t k = 0, i;
    long y, m, d;

    for (i = 0; i < n; i++) {
        if (date[i] >= '0' && date[i] <= '9') {
            if (k == 8)
                return -1;
            digits[k++] = date[i];
        }
    }
    if (k != 8)
        return -1;
    if (digits[0] == '0' && digits[1] == '0') {
        digits[0] = '1';
        digits[1] = '9';
    }
    y = (digits[0] - '0') * 1000 + (digits[1] - '0') * 100 + (digits[2] - '0') * 10 +
        (digits[3] - '0');
    m = (digits[4] - '0') * 10 + (digits[5] - '0');
    d = (digits[6] - '0') * 10 + (digits[7] - '0');
    *day = calendar(y, m - 1, d);
    return 0;
}

/* Appends yyyymmdd of day (zero-padded as CTP's intToString) and date[8..]. */
static int put_date(long day, const char *date, size_t n, ctp_buf *b)
{
    char s[32];
    long y, m, d;
    int len;

    ymd_of(day, &y, &m, &d);
    if (y < 0 || y > 9999)
        return -1; /* Java would print an era-relative year; no DICOM date gets here */
    len = snprintf(s, sizeof s, "%04ld%02ld%02ld", y, m, d);
    ctp_buf_add(b, s, (size_t)len);
    if (n > 8)
        ctp_buf_add(b, date + 8, n - 8);
    return b->failed ? -1 : 0;
}

int ctp_date_increment(const char *date, size_t n, long inc, ctp_buf *b)
{
    long day;

    if (ctp_date_day(date, n, &day) < 0)
        return -1;
    return put_date(day + inc, date, n, b);
}

int ctp_date_modify(const char *date, size_t n, int y, int m, int d, ctp_buf *b)
{
    long day, cy, cm, cd;

    if (ctp_date_day(date, n, &day) < 0)
        return -1;
    ymd_of(day, &cy, &cm, &cd);
    return put_date(calendar(y < 0 ? cy : y, m < 0 ? cm - 1 : m - 1, d < 0 ? cd : d), date, n, b);
}
