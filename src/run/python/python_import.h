/* python_import.h -- dotted names to Python callables under a root; changed services forgotten. */
#ifndef DCMP_PYTHON_IMPORT_H
#define DCMP_PYTHON_IMPORT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>

/* Longest dotted name, as for C libraries; services watched for changes. */
#define DCMP_PYTHON_IMPORT_DOTTED_MAX 255
#define DCMP_PYTHON_IMPORT_SERVICES   1024

/* Records the roots (DCMP_PYTHON_WORKER: modules, DCMP_PYTHON_CALLBACK: registry; NULL: not
 * run here) as real paths; each goes first on sys.path when a name is looked up under it.
 * Needs no interpreter. Returns 0, or -1 with err (naming the root) when one is not a folder. */
int dcmp_python_import_setup(const char *modules, const char *registry, char *err, size_t errlen);

/* The callable `dotted` names under kind's root, importing its module when needed. Returns 1
 * with *fn a new reference; 0 when no module file exists for the first part (err lists the
 * files tried); -1 with err otherwise (import error, missing attribute, not callable, module
 * of that name imported from elsewhere, bad name). No exception is left pending. */
int dcmp_python_import_find(int kind, const char *dotted, PyObject **fn, char *err, size_t errlen);

/* Drops from sys.modules the modules of every service whose files changed since it was
 * imported (a service beyond DCMP_PYTHON_IMPORT_SERVICES is not watched). Returns the count,
 * or -1 with err. */
int dcmp_python_import_reload(char *err, size_t errlen);

#endif
