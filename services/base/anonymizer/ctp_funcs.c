/* ctp_funcs.c -- CTP's value functions: decimal MD5, UID hashing; strings. */
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
