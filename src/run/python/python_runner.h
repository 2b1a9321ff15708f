/* python_runner.h -- the Python runner's function table, exported by libdcmp_python.so. */
#ifndef DCMP_PYTHON_RUNNER_H
#define DCMP_PYTHON_RUNNER_H

/*
 * libdcmp_python.so embeds CPython (Debian's libpython3). A process that must run a Python
 * service function dlopen()s it (RTLD_NOW | RTLD_LOCAL), looks up the one exported symbol
 * DCMP_PYTHON_RUNNER_SYMBOL, a const dcmp_python_table, and checks its version and size before
 * calling anything. Daemons and sites with only C services never load it, so they never map
 * libpython.
 *
 * One interpreter per process: init is called once, then resolve, call and reload any number
 * of times, all from the thread that called init (it keeps the GIL). Nothing is shared with
 * the caller but NUL-terminated UTF-8 JSON text and error text.
 *
 * Names, as the original dcm-processor: a dotted name `a.b.fn` is the attribute `fn` of the
 * module `a.b`, imported from MODULES for workers (the original's `rq worker --path MODULES`)
 * and from REGISTRY for callbacks (its PYTHONPATH=REGISTRY). Every part must match
 * [A-Za-z0-9_-]+, as for C libraries.
 */

#include <stddef.h>
#include <stdint.h>

#include <dcmp/service.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the table this header describes; members are only ever appended. */
#define DCMP_PYTHON_RUNNER_VERSION 1u

/* The one symbol libdcmp_python.so exports. */
#define DCMP_PYTHON_RUNNER_SYMBOL "dcmp_python_runner"

/* Caps: a call's kwargs text, a result or injection stored, an error text (a traceback). */
#define DCMP_PYTHON_KWARGS_MAX (16u * 1024u * 1024u)
#define DCMP_PYTHON_RESULT_MAX (1024u * 1024u)
#define DCMP_PYTHON_ERROR_MAX  (16u * 1024u)

/* Which root a name is imported from, and how the function's return value is read. */
#define DCMP_PYTHON_WORKER   0 /* from MODULES; the return value is the job's result */
#define DCMP_PYTHON_CALLBACK 1 /* from REGISTRY; the return value is the callback's answer */

typedef struct dcmp_python_table {
    uint32_t version; /* DCMP_PYTHON_RUNNER_VERSION of the library */
    uint32_t size;    /* sizeof(dcmp_python_table) as the library built it */

    /*
     * Starts the interpreter. venv: a virtual environment's folder (with pyvenv.cfg and
     * bin/python3), whose site-packages (and the system's, when it was made with
     * --system-site-packages) are importable; NULL for the system's Python. modules, registry:
     * the roots of workers and callbacks; either may be NULL when that kind is not run here.
     * A root goes first on sys.path when a name is looked up under it, as the original put
     * it there. One process runs one kind in practice: a service folder named alike in both
     * roots (temp/) is one module name, so the second is refused. Returns 0, or -1 with err set
     * (a root that is not a folder, a bad venv, a second init in the process).
     */
    int32_t (*init)(const char *venv, const char *modules, const char *registry, char *err,
                    size_t errlen);

    /*
     * Whether `dotted` names a callable of a module importable from kind's root. The module is
     * imported (and stays imported). Returns 1 when it does; 0 when no module file exists for
     * its first part (err lists the files tried, so the caller can add its own candidates);
     * -1 when the module exists but the name does not resolve (err says which module and file,
     * the ImportError's text or the missing attribute).
     */
    int32_t (*resolve)(int32_t kind, const char *dotted, char *err, size_t errlen);

    /*
     * Calls `dotted` by keyword with the members of kwargs, a JSON object text (jobName,
     * headers, params, added_params), read with Python's json module. Returns a dcmp_status:
     *   worker: DCMP_OK, with *result the return value as JSON (NULL when it returned None, or
     *     when the value is not JSON-serializable or over DCMP_PYTHON_RESULT_MAX: then a line
     *     on stderr says why it was not stored);
     *   callback: DCMP_OK (schedule), *result the injected object as JSON ("{}" when nothing
     *     or a non-dict was injected), or DCMP_SKIP (do not schedule), *result NULL;
     *   either: DCMP_ERROR, err holds the reason; for an exception "Type: message" on the
     *     first line, then the traceback as Python prints it, cut (keeping its end) to fit.
     * *result is new, free with free(). stdout and stderr are flushed before it returns.
     * errlen: DCMP_PYTHON_ERROR_MAX is enough for any error.
     */
    int32_t (*call)(int32_t kind, const char *dotted, const char *kwargs, char **result, char *err,
                    size_t errlen);

    /*
     * Forgets the modules of every service whose files changed since they were imported (a
     * reinstall): the next resolve or call imports them afresh. A service is the first part of
     * a dotted name, its files those under ROOT/<first part>/ or ROOT/<first part>.py.
     * Returns the number of services forgotten, or -1 with err set.
     */
    int32_t (*reload)(char *err, size_t errlen);
} dcmp_python_table;

#ifdef __cplusplus
}
#endif

#endif
