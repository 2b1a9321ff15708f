/* ctp_int.h -- internals of the CTP anonymizer shared by its files (not installed). */
#ifndef DCMP_CTP_INT_H
#define DCMP_CTP_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ctp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the script ---- */

typedef struct ctp_param {
    char *name;  /* without '@' */
    char *value; /* the text of <p>, untrimmed as CTP keeps it */
} ctp_param;

typedef struct ctp_rule {
    uint32_t tag;
    char *name;   /* the n attribute ("" when absent) */
    char *script; /* the trimmed text of <e> */
    int line;     /* where the rule is in the script file */
} ctp_rule;

struct ctp_script {
    char *name; /* path, for messages */
    ctp_param *params;
    size_t nparams;
    ctp_rule *rules; /* enabled <e>, sorted by tag */
    size_t nrules;
    uint16_t *keep; /* enabled <k> groups, sorted */
    size_t nkeep;
    int rpg; /* remove private groups */
    int rue; /* remove unspecified elements */
    int rol; /* remove overlays */
    int rc;  /* remove curves */
};

/* The rule for tag, or NULL. */
const ctp_rule *ctp_script_rule(const ctp_script *s, uint32_t tag);

/* True when group is a <k> group. */
int ctp_script_keeps(const ctp_script *s, uint16_t group);

/* The value of a parameter reference, as CTP's getParam: the text is trimmed; "@X" or "$X"
 * gives parameter X (NULL when undefined), anything else is returned as it is. The result
 * is borrowed from s or from ref. `len` receives its length. */
const char *ctp_param_ref(const ctp_script *s, const char *ref, size_t reflen, size_t *len);

/* ---- growable strings with a hard cap ---- */

typedef struct ctp_buf {
    char *data; /* NUL-terminated; owned */
    size_t len, cap;
    int failed; /* out of memory or over CTP_VALUE_MAX */
} ctp_buf;

void ctp_buf_add(ctp_buf *b, const char *s, size_t n);
void ctp_buf_adds(ctp_buf *b, const char *s);
void ctp_buf_addc(ctp_buf *b, char c);
void ctp_buf_free(ctp_buf *b);
/* Gives up the string (never NULL unless failed); the buffer is empty after. */
char *ctp_buf_take(ctp_buf *b);

/* Java's String.trim: the span of s[0..n) without characters <= ' ' at both ends. */
void ctp_trim(const char **s, size_t *n);

/* ---- element names ---- */

/* A tag from a DCMTK dictionary keyword, with the dcm4che spellings CTP scripts use
 * ("RefSOPInstanceUID", "OtherPatientIDsSeq"). Returns 1 and *tag, 0 when unknown. */
int ctp_dict_tag(const char *keyword, uint32_t *tag);

/* The VR letters of a tag in the dictionary ("SH" when unknown). */
void ctp_dict_vr(uint32_t tag, char vr[3]);

/* ---- the data an evaluation reads ---- */

typedef struct ctp_source {
    /* The value of tag in the current input dataset (File Meta Information for groups below
     * 0008): returns 1 and *value (new, free with free(); values joined with '\'), 0 when the
     * element is absent, -1 when out of memory. */
    int (*get)(void *ds, uint32_t tag, char **value);
    /* True when the element is in the dataset (a sequence too, whose value `get` cannot
     * give: CTP's getStrings throws for it and counts it as absent). */
    int (*has)(void *ds, uint32_t tag);
    /* The number of values of tag (0 when absent or empty). */
    int (*vm)(void *ds, uint32_t tag);
    /* The tag of private element `elem` of the block of `group` reserved by `creator`
     * (upper case, trimmed); 0 when the dataset has no such block. */
    uint32_t (*block)(void *ds, uint16_t group, const char *creator, uint8_t elem);
    void *ds;
    int root; /* the root dataset (not an item of a sequence), for @select */
} ctp_source;

/* Resolves an element name as CTP's getElementTag: "this" is not handled here; hex
 * ("00100020", "0010,0020", "(0010,0020)", "[0010,0020]"), a keyword, a name of a private
 * <e> rule of the script, or a block reference "0009[CREATOR]02". src may be NULL (block
 * references then resolve to 0). Returns 1 and *tag, 0 when the name means nothing. */
int ctp_name_tag(const ctp_script *s, const ctp_source *src, const char *name, size_t n,
                 uint32_t *tag);

/* ---- evaluation ---- */

typedef struct ctp_eval {
    const ctp_script *script;
    const ctp_lut *lut;
    const ctp_source *src;
    time_t now;            /* for @date() and @time() */
    ctp_status status;     /* CTP_OK until a function quarantines, skips or fails */
    char why[CTP_ERR_LEN]; /* the reason when status != CTP_OK */
    int extra_runs;        /* rules run for @hashuid third elements in this element */
} ctp_eval;

/* Computes the replacement of `cmd` (a rule's script) for element this_tag, as CTP's
 * makeReplacement. Returns a new string (free it), or NULL with ev->status and ev->why set. */
char *ctp_eval_script(ctp_eval *ev, const char *cmd, uint32_t this_tag);

/* Checks that cmd parses and uses only supported functions, defined parameters and element
 * names that resolve. Returns 0, or -1 with err (no line: the caller adds it). */
int ctp_check_script(const ctp_script *s, const char *cmd, char err[CTP_ERR_LEN]);

/* ---- CTP's functions (AnonymizerFunctions) ---- */

/* MD5 of the bytes as an unsigned decimal number (Java's new BigInteger(1, md5).toString()).
 * out must hold 40 bytes. Returns 0, -1 on failure. */
int ctp_md5_decimal(const char *s, size_t n, char out[40]);

/* Java's Long.parseLong of s[0..n) (a sign, ASCII digits), accepted only within lo..hi as
 * Integer.parseInt is within the int range. Returns 0 and *out, -1 when Java throws. */
int ctp_date_parse_long(const char *s, size_t n, long long lo, long long hi, long long *out);

/* AnonymizerFunctions.incrementDate of one value, as the CTP the original shipped: the value
 * is read by DateUtil.getCalendar ('@' ':' 'T' '-' and blanks dropped, a year "00xx" read as
 * "19xx", yyyyMMdd, then HHmm and float seconds that carry into the date), moved by inc days
 * and written yyyyMMdd (yyyy-MM-dd when the value has a '-') followed by the value's own
 * characters after the 8th (10th). Appends to b; returns 0, -1 when CTP would throw. */
int ctp_date_increment(const char *date, size_t n, int32_t inc, ctp_buf *b);

/* AnonymizerFunctions.modifyDate of one value: the year, month and day set (a negative one
 * keeps the field), lenient; written as ctp_date_increment. */
int ctp_date_modify(const char *date, size_t n, int32_t y, int32_t m, int32_t d, ctp_buf *b);

/* True when dcm4che 1.4 stores `value` (values separated by '\') in an element of VR `vr`:
 * DA, TM and DT values must parse as its DAFormat, TMFormat and DTFormat; every other VR
 * accepts anything. CTP leaves the element as it was when the store is refused. */
int ctp_date_vr_accepts(const char *vr, const char *value);

/* AnonymizerFunctions.hashUID: prefix + "." + decimal MD5 of uid, cut at 64 characters. */
int ctp_hashuid(const char *prefix, size_t plen, const char *uid, size_t ulen, ctp_buf *b);

#ifdef __cplusplus
}
#endif

#endif
