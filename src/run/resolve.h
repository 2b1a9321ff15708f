/* resolve.h -- dotted service names ("base.storageManager.worker") to library paths. */
#ifndef DCMP_RESOLVE_H
#define DCMP_RESOLVE_H

#include <limits.h>
#include <sys/stat.h>

#include "log.h"

#define DCMP_RESOLVE_CANDIDATES 3
#define DCMP_NAME_LEN           128
#define DCMP_DOTTED_MAX         512

/* Where a dotted name may live, in the order they are tried. */
typedef struct dcmp_resolved {
    char paths[DCMP_RESOLVE_CANDIDATES][PATH_MAX]; /* candidate library files */
    char function[DCMP_NAME_LEN];                  /* the function's name */
} dcmp_resolved;

/*
 * Splits `dotted` ("a.b.fn") into the function name ("fn") and the library
 * candidates under `root`: ROOT/a/b.so, ROOT/a/b/b.so, ROOT/a/b/libb.so.
 * Pure: touches no file. Returns 0, or -1 when the name has fewer than two
 * parts, an empty part, a part with a character outside [A-Za-z0-9_-], or is
 * too long (err says which).
 */
int dcmp_resolve_name(const char *root, const char *dotted, dcmp_resolved *out, char *err);

/*
 * Finds the first candidate that exists as a regular file. Returns its index,
 * or -1 with err naming every path tried.
 */
int dcmp_resolve_find(const dcmp_resolved *r, const char *dotted, char *err);

/* dcmp_resolve_find, giving the found file's stat in *st. */
int dcmp_resolve_find_stat(const dcmp_resolved *r, const char *dotted, struct stat *st, char *err);

/* dcmp_resolve_find's error (none of r's candidates exists), without looking again: -1. */
int dcmp_resolve_missing(const dcmp_resolved *r, const char *dotted, char *err);

#endif
