/* manifest.h -- a MONAI Application Package's manifest (app.json): parsed and checked. Pure. */
#ifndef DCMP_MANIFEST_H
#define DCMP_MANIFEST_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define DCMP_MANIFEST_MAX         (256 << 10)     /* bytes of a manifest file read */
#define DCMP_MANIFEST_WORDS       64              /* words of its command */
#define DCMP_MANIFEST_ENV         64              /* entries of its environment */
#define DCMP_MANIFEST_PATH        1024            /* bytes of a path in the container */
#define DCMP_MANIFEST_WORKDIR     "/var/holoscan" /* the specification's default working directory */
#define DCMP_MANIFEST_TIMEOUT_MAX (366LL * 86400) /* seconds: a larger timeout is refused */

/* A parsed manifest. Strings are owned by it: dcmp_manifest_free. */
typedef struct dcmp_manifest {
    char *words[DCMP_MANIFEST_WORDS]; /* its command as words; nwords 0: it gave none */
    int nwords;
    const char *env_name[DCMP_MANIFEST_ENV], *env_value[DCMP_MANIFEST_ENV]; /* `environment` */
    int nenv;
    char workdir[DCMP_MANIFEST_PATH]; /* `workingDirectory` (or `working-directory`), "" none */
    char input[DCMP_MANIFEST_PATH];   /* `input.path` made absolute against the working dir */
    char output[DCMP_MANIFEST_PATH];  /* `output.path` likewise */
    int64_t timeout;                  /* `timeout` in seconds, 0: none */
    cJSON *tree;                      /* what env_* point into */
    char *wordbuf;                    /* what words point into */
} dcmp_manifest;

/*
 * Reads the manifest text[0..len) into *m, as the MAP specification's Application Manifest
 * says (monai-deploy guidelines/monai-application-package.md, "Table of Application Manifest
 * Fields"), the older App SDK's names too (`working-directory`):
 * - `command`: a string, split into words as a POSIX shell splits them (quotes and
 *   backslashes; nothing expanded, no shell runs), or, when it is the text of a JSON array of
 *   strings (what the Holoscan packager writes), those strings; a JSON array of strings too;
 * - `environment`: an object of string values whose names are [A-Za-z_][A-Za-z0-9_]*;
 * - `workingDirectory`: absolute; input.path and output.path relative to it (default
 *   DCMP_MANIFEST_WORKDIR) or absolute, defaults `input/` and `output/`; no `..`, `:` or `,`;
 * - `timeout`: seconds, a number from 0 (none) to DCMP_MANIFEST_TIMEOUT_MAX.
 * Every other key is ignored. Returns 0, or -1 with err naming the key (m is then freed).
 */
int dcmp_manifest_parse(const char *text, size_t len, dcmp_manifest *m, char *err);

/* Frees what parse made; m is zeroed. */
void dcmp_manifest_free(dcmp_manifest *m);

#endif
