/* loader.h -- dlopen a service library, check its descriptor, find a function. */
#ifndef DCMP_LOADER_H
#define DCMP_LOADER_H

#include <limits.h>

#include "dcmp/service.h"
#include "log.h"
#include "resolve.h"

typedef struct dcmp_loaded {
    void *handle;              /* from dlopen; closed by dcmp_loader_close */
    const dcmp_module *module; /* borrowed from the library while it is open */
    dcmp_fn fn;                /* the named function */
    char path[PATH_MAX];       /* the file that was loaded */
} dcmp_loaded;

/*
 * Checks a descriptor read from `path`: ABI version, size, a function table.
 * Pure. Returns 0 or -1 with err naming the path and the problem.
 */
int dcmp_loader_check(const dcmp_module *m, const char *path, char *err);

/*
 * Looks `name` up in a checked descriptor. Returns the function or NULL with
 * err listing the functions the library has.
 */
dcmp_fn dcmp_loader_function(const dcmp_module *m, const char *path, const char *name, char *err);

/*
 * Resolves `dotted` under `root` (see resolve.h), dlopens the library with
 * RTLD_NOW|RTLD_LOCAL, checks its descriptor and finds the function. On
 * success fills *out (close it with dcmp_loader_close). On failure undoes
 * everything and returns -1 with err saying what failed with which path.
 */
int dcmp_loader_open(const char *root, const char *dotted, dcmp_loaded *out, char *err);

/* dcmp_loader_open for a name already resolved: candidate `found` of r, which exists. */
int dcmp_loader_open_found(const dcmp_resolved *r, int found, dcmp_loaded *out, char *err);

/*
 * dlopens the library file `path` and checks its descriptor, with no function looked up
 * (out->fn is NULL): whether a file is a loadable service library. Returns 0 (close it with
 * dcmp_loader_close) or -1 with err, everything undone.
 */
int dcmp_loader_open_file(const char *path, dcmp_loaded *out, char *err);

/* Loads library `name` from beside libdcmp.so, in the same lib folder (the build tree's
 * build/lib, an installation's lib): where the runners' own libraries are, and returns its
 * `symbol` (the caller checks the table's version), with the file in path; NULL with err. */
const void *dcmp_loader_sibling(const char *name, const char *symbol, char path[PATH_MAX],
                                char *err);

/* Closes what dcmp_loader_open or dcmp_loader_open_file opened. Safe on a zeroed struct. */
void dcmp_loader_close(dcmp_loaded *l);

#endif
