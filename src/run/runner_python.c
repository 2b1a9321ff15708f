/* runner_python.c -- the Python runner: a worker function of a module under MODULES, run by
 * libdcmp_python.so (docs/python.md), which is dlopen()ed on the first Python name only. */
#include "runner.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcmp/service.h"
#include "jsonw.h"
#include "loader.h"
#include "python/python_runner.h"

#define LIBRARY "libdcmp_python.so"

static const dcmp_python_table *py;    /* the started runner, NULL until the first Python name */
static int ran;                        /* a name was resolved since it started: reload first */
static char unavailable[DCMP_ERR_LEN]; /* why it could not be started ("" when not tried) */

/* Loads the library, checks its table and starts the interpreter with MODULES as the
 * workers' root (the system's Python). Returns 0, or -1 with err. */
static int start(const char *modules, char *err)
{
    char path[PATH_MAX], why[DCMP_PYTHON_ERROR_MAX];
    const dcmp_python_table *t;
    void *h;

    if (dcmp_loader_sibling(LIBRARY, path, sizeof path, err) < 0)
        return -1;
    if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        const char *e = dlerror();
        return dcmp_seterr(err, "cannot load %s: %s", path, e ? e : "unknown error");
    }
    t = dlsym(h, DCMP_PYTHON_RUNNER_SYMBOL);
    if (t == NULL)
        return dcmp_seterr(err, "%s: no symbol " DCMP_PYTHON_RUNNER_SYMBOL, path);
    if (t->version != DCMP_PYTHON_RUNNER_VERSION || t->size < sizeof *t)
        return dcmp_seterr(err, "%s: table version %u size %u, this host needs version %u size %zu",
                           path, (unsigned)t->version, (unsigned)t->size,
                           (unsigned)DCMP_PYTHON_RUNNER_VERSION, sizeof *t);
    if (t->init(NULL, modules, NULL, why, sizeof why) < 0)
        return dcmp_seterr(err, "%s: %s", path, why);
    py = t;
    return 0;
}

static int py_resolve(const dcmp_executor_input *in, char *err, size_t errlen)
{
    char why[DCMP_ERR_LEN];
    int rc;

    /* callbacks run from REGISTRY with their own answer: a later step (docs/python.md) */
    if (in->callback) {
        dcmp_strlcpy(err, "Python callbacks are not run yet", errlen);
        return 0;
    }
    if (py == NULL) {
        /* tried once per process: a failed start is not retried for every job */
        if (unavailable[0] == '\0')
            (void)start(in->modules, unavailable);
        if (py == NULL) {
            snprintf(err, errlen, "no Python runner (%s)", unavailable);
            return 0;
        }
    } else if (ran && py->reload(why, sizeof why) < 0) {
        /* a module changed on disk is imported afresh by the next resolve */
        snprintf(err, errlen, "python: reloading changed services: %s", why);
        return -1;
    }
    ran = 1;
    rc = py->resolve(DCMP_PYTHON_WORKER, in->func, err, errlen);
    return rc > 0 ? 1 : rc;
}

static int32_t py_run(const dcmp_executor_input *in, char loaded[PATH_MAX], char **result,
                      char *err, size_t errlen)
{
    dcmp_jsonw w;
    char *kwargs;
    int32_t rc;

    (void)loaded; /* nothing for the pool to watch: the runner reloads changed modules */
    *result = NULL;
    /* the original's keywords: jobName, headers, params, added_params */
    dcmp_jsonw_init(&w, DCMP_PYTHON_KWARGS_MAX);
    dcmp_jsonw_lit(&w, "{\"jobName\":");
    dcmp_jsonw_str(&w, in->job_name ? in->job_name : "");
    dcmp_jsonw_lit(&w, ",\"headers\":");
    dcmp_jsonw_lit(&w, in->headers);
    dcmp_jsonw_lit(&w, ",\"params\":");
    dcmp_jsonw_lit(&w, in->params);
    dcmp_jsonw_lit(&w, ",\"added_params\":");
    dcmp_jsonw_lit(&w, in->added_params);
    dcmp_jsonw_lit(&w, "}");
    if ((kwargs = dcmp_jsonw_finish(&w)) == NULL) {
        snprintf(err, errlen, "%s: its arguments are over %u bytes", in->func,
                 (unsigned)DCMP_PYTHON_KWARGS_MAX);
        return DCMP_ERROR;
    }
    rc = py->call(DCMP_PYTHON_WORKER, in->func, kwargs, result, err, errlen);
    free(kwargs);
    return rc;
}

const dcmp_runner dcmp_runner_python = {"Python module", py_resolve, py_run};
