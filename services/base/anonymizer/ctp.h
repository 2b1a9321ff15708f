/* ctp.h -- a DICOM anonymizer driven by RSNA CTP DicomAnonymizer scripts, value for value. */
#ifndef DCMP_CTP_H
#define DCMP_CTP_H

/*
 * CTP (the RSNA Clinical Trial Processor) anonymizes DICOM with a script: an XML file of <p>
 * parameters, <e> element rules (a tag and a line of functions such as @hashuid(@UIDROOT,this)),
 * <k> groups to keep and <r> global removals (private groups, unspecified elements, curves,
 * overlays). This library reads such a script and applies it to files the way CTP's
 * DICOMAnonymizer does, so that a script a user already owns gives the same output here.
 * What is supported, and how our output differs where it does, is in docs/anonymizer.md.
 *
 * Thread safety: a loaded script and a lookup table are read-only and may be shared; every
 * call that anonymizes has its own state.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the error buffers the functions below fill. */
#define CTP_ERR_LEN 512

/* Hard caps: a script file, a lookup table file, one computed value. */
#define CTP_SCRIPT_MAX (4u << 20)
#define CTP_LUT_MAX    (16u << 20)
#define CTP_VALUE_MAX  (1u << 20)

/* What an anonymization ended with. */
typedef enum ctp_status {
    CTP_OK = 0,         /* written */
    CTP_QUARANTINE = 1, /* the script refused the file (a failed @lookup, @quarantine()) */
    CTP_SKIP = 2,       /* the script said @skip(): no output, not an error in CTP */
    CTP_ERROR = -1      /* the file could not be read or written, or out of memory */
} ctp_status;

typedef struct ctp_script ctp_script;
typedef struct ctp_lut ctp_lut;

/* Parses a script from memory; `name` (a path) is used in messages. Every enabled rule is
 * checked: an unknown or unsupported function, an undefined @parameter, an element name that
 * names nothing, or broken syntax is an error naming the line. Returns 0 and *out (new, free
 * with ctp_script_free) or -1 with err. */
int ctp_script_parse(const char *text, size_t len, const char *name, ctp_script **out,
                     char err[CTP_ERR_LEN]);

/* Reads and parses a script file (at most CTP_SCRIPT_MAX bytes). As ctp_script_parse. */
int ctp_script_load(const char *path, ctp_script **out, char err[CTP_ERR_LEN]);

void ctp_script_free(ctp_script *s);

/* Value of parameter `name` (without '@'), NULL when the script has none. Borrowed from s. */
const char *ctp_script_param(const ctp_script *s, const char *name);

/* Number of enabled element rules, keep groups and the global removal flags, for tests. */
size_t ctp_script_rules(const ctp_script *s);

/* A lookup table for @lookup: keys "keyType/key", as CTP's Java properties file
 * (lut.properties: `ptid/12345=SUBJ-001`). New and empty; free with ctp_lut_free.
 * Returns NULL when out of memory. */
ctp_lut *ctp_lut_new(void);
void ctp_lut_free(ctp_lut *lut);

/* Adds or replaces key -> value (both copied). Returns 0, or -1 when out of memory. */
int ctp_lut_set(ctp_lut *lut, const char *key, const char *value);

/* Parses Java properties text into lut (later keys replace earlier ones). `name` is for
 * messages. Returns 0 or -1 with err naming the line. */
int ctp_lut_parse(ctp_lut *lut, const char *text, size_t len, const char *name,
                  char err[CTP_ERR_LEN]);

/* Reads a properties file (at most CTP_LUT_MAX bytes) into lut. As ctp_lut_parse. */
int ctp_lut_load(ctp_lut *lut, const char *path, char err[CTP_ERR_LEN]);

/* The value stored for key, or NULL. Borrowed from lut until it changes. */
const char *ctp_lut_get(const ctp_lut *lut, const char *key);

/* Number of keys. */
size_t ctp_lut_size(const ctp_lut *lut);

/*
 * Anonymizes the DICOM file `in` into `out` (may be the same path: the result is written to a
 * temporary file beside `out` and renamed over it). `lut` may be NULL (every @lookup then
 * fails). `now` is the time @date() and @time() print (0: the current time).
 * Returns CTP_OK; CTP_QUARANTINE or CTP_SKIP with err saying which rule of which element said
 * so (nothing is written); CTP_ERROR with err.
 */
ctp_status ctp_anonymize_file(const ctp_script *s, const ctp_lut *lut, const char *in,
                              const char *out, time_t now, char err[CTP_ERR_LEN]);

/* Reads element `tag` of a DICOM file as the anonymizer sees it (values joined with '\\',
 * ISO_IR 100 text as UTF-8), e.g. the PatientID a @lookup will look for. Returns 1 and
 * *value (new, free with free()), 0 when the file lacks the element, -1 with err. */
int ctp_file_value(const char *path, uint32_t tag, char **value, char err[CTP_ERR_LEN]);

#ifdef __cplusplus
}
#endif

#endif
