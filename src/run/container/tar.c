/* tar.c -- one regular file out of a tar stream (ustar, pax, GNU headers), bounded. Pure. */
#include "tar.h"

#include <stdint.h>
#include <string.h>

/* An octal field of n bytes (spaces before, NUL or space after). Returns 0, or -1 when it is
 * not one (base-256 sizes are refused: no member we read is that large). */
static int octal(const unsigned char *p, size_t n, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    int digits = 0;

    while (i < n && p[i] == ' ')
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++, digits++) {
        if (v > (UINT64_MAX >> 3))
            return -1;
        v = v << 3 | (uint64_t)(p[i] - '0');
    }
    if (digits == 0 || (i < n && p[i] != '\0' && p[i] != ' '))
        return -1;
    *out = v;
    return 0;
}

/* Whether the header's checksum (its bytes, the checksum field counted as spaces) holds. */
static int checksum_ok(const unsigned char *h)
{
    uint64_t want, sum = 0;
    size_t i;

    if (octal(h + 148, 8, &want) < 0)
        return 0;
    for (i = 0; i < DCMP_TAR_BLOCK; i++)
        sum += i >= 148 && i < 156 ? (uint64_t)' ' : h[i];
    return sum == want;
}

static int all_zero(const unsigned char *h)
{
    size_t i;

    for (i = 0; i < DCMP_TAR_BLOCK; i++)
        if (h[i])
            return 0;
    return 1;
}

static const char *type_name(unsigned char t)
{
    switch (t) {
    case '1': return "a hard link";
    case '2': return "a symbolic link";
    case '3':
    case '4': return "a device";
    case '5': return "a folder";
    case '6': return "a FIFO";
    default: return "not a regular file";
    }
}

int dcmp_tar_file(const unsigned char *buf, size_t len, size_t max, const unsigned char **data,
                  size_t *size, char *err)
{
    size_t pos = 0;

    for (;;) {
        const unsigned char *h = buf + pos;
        uint64_t n, padded;
        if (len - pos < DCMP_TAR_BLOCK)
            return dcmp_seterr(err, "the archive is cut short at byte %zu", pos);
        if (all_zero(h))
            return dcmp_seterr(err, "the archive holds no file");
        if (!checksum_ok(h) || octal(h + 124, 12, &n) < 0)
            return dcmp_seterr(err, "not a tar archive (a bad header at byte %zu)", pos);
        pos += DCMP_TAR_BLOCK;
        if (n > len - pos)
            return h[156] == '0' || h[156] == '\0'
                       ? dcmp_seterr(err, "over %zu bytes, or the archive is cut short", max)
                       : dcmp_seterr(err, "the archive is cut short at byte %zu", pos);
        if (h[156] == 'x' || h[156] == 'g' || h[156] == 'L' || h[156] == 'K') {
            padded = (n + DCMP_TAR_BLOCK - 1) / DCMP_TAR_BLOCK * DCMP_TAR_BLOCK;
            pos += padded > len - pos ? len - pos : (size_t)padded;
            continue;
        }
        if (h[156] != '0' && h[156] != '\0')
            return dcmp_seterr(err, "%s, not a regular file", type_name(h[156]));
        if (n > max)
            return dcmp_seterr(err, "%llu bytes: over %zu", (unsigned long long)n, max);
        *data = buf + pos;
        *size = (size_t)n;
        return 0;
    }
}
