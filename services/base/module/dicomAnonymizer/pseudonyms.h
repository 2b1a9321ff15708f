/* pseudonyms.h -- the dicomAnonymizer's pseudonym tables: the user's pseudonyms.csv, earlier
 * assignments in hash_table.csv, new pseudonyms made with HMAC-SHA-256. */
#ifndef DCMP_PSEUDONYMS_H
#define DCMP_PSEUDONYMS_H

#include <stddef.h>

#include "ctp.h"

#define PN_ERR_LEN   512
#define PN_CSV_MAX   (64u << 20) /* largest table file read */
#define PN_FIELD_MAX 1024        /* longest PatientID or pseudonym */

/* Parses CSV rows "PatientID,Pseudonym" (RFC 4180 quoting; a first row that is the header
 * "PatientID,Pseudonym" is skipped; blank lines are ignored; fields are trimmed) into t
 * (keys PatientID, which may be empty: ",P" is the pseudonym of files without a PatientID;
 * a later row replaces an earlier one; an empty pseudonym is an error). Returns 0, or -1 with err
 * naming the file and line. */
int pn_parse_csv(ctp_lut *t, const char *text, size_t len, const char *name, char err[PN_ERR_LEN]);

/* Reads a table file into t. Returns 1 when read, 0 when the file does not exist, -1 with
 * err. */
int pn_load_csv(ctp_lut *t, const char *path, char err[PN_ERR_LEN]);

/* The new pseudonym of a PatientID: the first 32 hex digits of HMAC-SHA-256(secret, id).
 * Returns 0 or -1. */
int pn_make(const char *secret, const char *id, char out[33]);

/* Writes the CSV row "id,pseudonym\n" (fields quoted where needed) into out. Returns its
 * length, or -1 when it does not fit. */
int pn_csv_row(char *out, size_t size, const char *id, const char *pseudonym);

/* Where pn_assign found a pseudonym. */
enum {
    PN_FROM_USER,        /* DIR/pseudonyms.csv or psudonyms.csv */
    PN_FROM_HASH,        /* DIR/hash_table.csv */
    PN_FROM_LEGACY_USER, /* LEGACY/pseudonyms.csv or psudonyms.csv (copied to DIR) */
    PN_FROM_LEGACY_HASH, /* LEGACY/hash_table.csv (copied to DIR) */
    PN_FROM_NEW          /* made with pn_make (appended to DIR) */
};

/*
 * The pseudonyms of `n` PatientIDs, as the original dcm-processor chose them: from
 * DIR/pseudonyms.csv (or the original's misspelt psudonyms.csv), else from DIR/hash_table.csv,
 * else from the same tables in LEGACY (the original's config/ folder; NULL: none; read only),
 * else made with pn_make. What DIR/hash_table.csv lacked is appended to it under an exclusive
 * lock (flock), so that workers running at once agree, never write a row twice, and a
 * pseudonym found in LEGACY outlives that folder.
 * out[i] is a new string (free each with free()); from[i] is a PN_FROM_*; *created counts the
 * new pseudonyms. Returns 0, or -1 with err (nothing is returned then).
 */
int pn_assign(const char *dir, const char *legacy, const char *secret, const char *const *ids,
              size_t n, char **out, int *from, int *created, char err[PN_ERR_LEN]);

#endif
