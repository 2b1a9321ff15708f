/* glob.c -- shell-style patterns (* ? and \ escapes) matched in bounded time, ASCII case folded. */
#include "glob.h"

#include <string.h>

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int dcmp_glob_match(const char *pattern, const char *value, size_t *steps)
{
    size_t plen = strlen(pattern), vlen = strlen(value);
    size_t px = 0, vx = 0, star_px = 0, star_vx = 0, n = 0;
    int starred = 0;

    /* The matcher of Russ Cox's "Glob Matching Can Be Simple And Fast Too": on a mismatch
     * only the last star is retried, one character further; the earlier stars never need to
     * be, since the last star can absorb whatever they would have. */
    while (px < plen || vx < vlen) {
        n++;
        if (px < plen) {
            char c = pattern[px];
            size_t width = 1;
            if (c == '*') {
                starred = 1;
                star_px = px;
                star_vx = vx + 1;
                px++;
                continue;
            }
            if (c == '?') {
                if (vx < vlen) {
                    px++;
                    vx++;
                    continue;
                }
            } else {
                if (c == '\\' && px + 1 < plen) {
                    c = pattern[px + 1];
                    width = 2;
                }
                if (vx < vlen && fold((unsigned char)c) == fold((unsigned char)value[vx])) {
                    px += width;
                    vx++;
                    continue;
                }
            }
        }
        if (starred && star_vx <= vlen) {
            px = star_px + 1;
            vx = star_vx++;
            continue;
        }
        if (steps)
            *steps = n;
        return 0;
    }
    if (steps)
        *steps = n;
    return 1;
}
