/* jsonw.h -- writes JSON text directly into a growing buffer, byte for byte as cJSON's
 * cJSON_PrintUnformatted would print the same values, without building a tree. */
#ifndef DCMP_JSONW_H
#define DCMP_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define DCMP_JSONW_MAX (64u << 20) /* the largest text the planner and the graph encoder write */

typedef struct dcmp_jsonw {
    char *buf;  /* owned until dcmp_jsonw_finish */
    size_t len; /* bytes written, without the NUL */
    size_t cap;
    size_t max; /* the cap: past it the writer fails */
    int failed; /* out of memory or past max: every later call does nothing */
} dcmp_jsonw;

/* Starts an empty text of at most max bytes. */
void dcmp_jsonw_init(dcmp_jsonw *w, size_t max);

/* Appends bytes as they are (JSON text made elsewhere, punctuation). */
void dcmp_jsonw_raw(dcmp_jsonw *w, const char *s, size_t n);
void dcmp_jsonw_lit(dcmp_jsonw *w, const char *s);

/* Appends s as a JSON string, quoted and escaped as cJSON does (\" \\ \b \f \n \r \t, other
 * bytes below 0x20 as \u00xx, valid UTF-8 as it is), except that each byte that is not part of
 * valid UTF-8 becomes U+FFFD: the text written is always valid UTF-8 (cJSON copies such bytes,
 * and a client's JSON parser then refuses the whole answer). */
void dcmp_jsonw_str(dcmp_jsonw *w, const char *s);

/* The length (1 to 4) of the valid UTF-8 sequence at p[0..n), or 0 when p does not start one
 * (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short). */
size_t dcmp_jsonw_utf8(const unsigned char *p, size_t n);

/* JSON text made elsewhere (cJSON_PrintUnformatted), made valid UTF-8 as dcmp_jsonw_str makes
 * its strings: takes text (may be NULL), returns it, or a new copy with each invalid byte
 * replaced by U+FFFD (text freed), or NULL when out of memory (text freed). Invalid bytes can
 * only be inside strings (the rest of JSON is ASCII), so the result is still the same JSON. */
char *dcmp_jsonw_valid_utf8(char *text);

/* Appends an integer as cJSON prints the same number held as a double. */
void dcmp_jsonw_int(dcmp_jsonw *w, int64_t v);

/* The text (new, NUL-terminated: free it), or NULL when the writer failed (its buffer is
 * freed either way). */
char *dcmp_jsonw_finish(dcmp_jsonw *w);

#endif
