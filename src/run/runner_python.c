/* runner_python.c -- the Python runner: a worker of a module under MODULES, or a callback of a
 * module under REGISTRY, run by libdcmp_python.so (docs/python.md), dlopen()ed on the first
 * Python name only, in the worker's service's virtual environment when it has one (one per
 * process). */
#include "runner.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcmp/service.h"
#include "jsonw.h"
#include "loader.h"
#include "python/python_runner.h"
#include "venv.h"

#define LIBRARY "libdcmp_python.so"

static const dcmp_python_table *py;    /* the started runner, NULL until the first Python name */
static int kind;                       /* what it was started for: DCMP_PYTHON_WORKER/CALLBACK */
static int ran;                        /* a name was resolved since it started: reload first */
static uint64_t reloaded;              /* the batch of calls reload() last ran for */
static char unavailable[DCMP_ERR_LEN]; /* why it could not be started ("" when not tried) */
static char environment[PATH_MAX];     /* the venv it was started (or tried) with, "": none */

/* The kind of function a call is: a scheduler's callback (from REGISTRY, its answer read as
 * the original read it) or a worker (from MODULES). */
static int kind_of(const dcmp_executor_input *in)
{
    return in->callback ? DCMP_PYTHON_CALLBACK : DCMP_PYTHON_WORKER;
}

/* Loads the library, checks its table and starts the interpreter, in venv (NULL: the system's
 * Python), with in->modules as the root of in's kind: MODULES for workers, REGISTRY for
 * callbacks (the callback executor's root). Returns 0, or -1 with err. */
static int start(const dcmp_executor_input *in, const char *venv, char *err)
{
    char path[PATH_MAX], why[DCMP_PYTHON_ERROR_MAX];
    const dcmp_python_table *t;

    if ((t = dcmp_loader_sibling(LIBRARY, DCMP_PYTHON_RUNNER_SYMBOL, path, err)) == NULL)
        return -1;
    if (t->version != DCMP_PYTHON_RUNNER_VERSION || t->size < sizeof *t)
        return dcmp_seterr(err, "%s: table version %u size %u, this host needs version %u size %zu",
                           path, (unsigned)t->version, (unsigned)t->size,
                           (unsigned)DCMP_PYTHON_RUNNER_VERSION, sizeof *t);
    kind = kind_of(in);
    if (t->init(venv, kind == DCMP_PYTHON_WORKER ? in->modules : NULL,
                kind == DCMP_PYTHON_CALLBACK ? in->modules : NULL, why, sizeof why) < 0)
        return dcmp_seterr(err, "%s: %s", path, why);
    py = t;
    return 0;
}

/* Whether the environment venv is made (its pyvenv.cfg is there). */
static int made(const char *venv)
{
    char cfg[PATH_MAX];

    return snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", venv) < (int)sizeof cfg &&
           access(cfg, R_OK) == 0;
}

/* Whether in->modules may hold a Python module for in->func's first part: an entry of that
 * name (a package, a namespace folder) or one starting with it and a dot (a .py file, an
 * extension module). 1 when in doubt: the interpreter's finder decides then. An executor
 * that meets only C names (or a missing one) never starts the interpreter. */
static int may_hold(const dcmp_executor_input *in)
{
    size_t first = strcspn(in->func, ".");
    char path[PATH_MAX];
    struct dirent *de;
    struct stat st;
    DIR *d;
    int n, found = 0;

    n = snprintf(path, sizeof path, "%s/%.*s", in->modules, (int)first, in->func);
    if (n < 0 || (size_t)n >= sizeof path || lstat(path, &st) == 0 ||
        (d = opendir(in->modules)) == NULL)
        return 1;
    while (!found && (de = readdir(d)) != NULL)
        found = strncmp(de->d_name, in->func, first) == 0 && de->d_name[first] == '.';
    closedir(d);
    return found;
}

static int py_resolve(const dcmp_executor_input *in, char *err, size_t errlen)
{
    char why[DCMP_ERR_LEN], venv[PATH_MAX];
    int rc;

    if (py == NULL && !may_hold(in)) {
        /* the library's words for it (python_import.c), without starting the interpreter */
        size_t first = strcspn(in->func, ".");
        char abs[PATH_MAX];
        const char *root = realpath(in->modules, abs) ? abs : in->modules;
        snprintf(err, errlen,
                 "python: %s: no module %.*s under %s %s (tried %s/%.*s/ and %s/%.*s.py)", in->func,
                 (int)first, in->func, in->callback ? "REGISTRY" : "MODULES", root, root,
                 (int)first, in->func, root, (int)first, in->func);
        return 0;
    }
    /* one interpreter per process, in the environment of the first Python name it runs; a
     * callback runs in the system's Python, as the original's scheduler container did */
    if (in->callback || dcmp_venv_of(in->modules, in->func, venv, why) < 0)
        venv[0] = '\0'; /* not a service's name: the runner's resolve says why */
    if ((py != NULL || unavailable[0] != '\0') && strcmp(venv, environment) != 0) {
        snprintf(err, errlen, "python: %s runs in %s, this process in %s", in->func,
                 venv[0] ? venv : "the system's Python",
                 environment[0] ? environment : "the system's Python");
        return DCMP_RUNNER_ELSEWHERE;
    }
    if (venv[0] != '\0' && !made(venv) && in->system_python)
        venv[0] = '\0';
    if (venv[0] != '\0' && !made(venv)) {
        snprintf(err, errlen,
                 "python: %s: its service has a requirements.txt but no virtual environment "
                 "%s (made by service.sh install, or by dcmp-worker when it starts)",
                 in->func, venv);
        return -1;
    }
    if (py == NULL) {
        /* tried once per process: a failed start is not retried for every job */
        if (unavailable[0] == '\0') {
            dcmp_strlcpy(environment, venv, sizeof environment);
            (void)start(in, venv[0] ? venv : NULL, unavailable);
        }
        if (py == NULL) {
            snprintf(err, errlen, "no Python runner (%s)", unavailable);
            return venv[0] ? -1 : 0; /* a service with an environment is Python's */
        }
    } else if (ran && (in->batch == 0 || in->batch != reloaded)) {
        /* a module changed on disk is imported afresh by the next resolve: looked for before
         * each job, and once for the callbacks of one event (one walk of every imported
         * service's files, not one per callback) */
        reloaded = in->batch;
        if (py->reload(why, sizeof why) < 0) {
            snprintf(err, errlen, "python: reloading changed services: %s", why);
            return -1;
        }
    }
    /* one root per process, as the original's scheduler and RQ workers were apart: the pool
     * gives an executor only callbacks (dcmp_pool.callbacks) or only jobs */
    if (kind_of(in) != kind) {
        snprintf(err, errlen, "python: %s: this process runs Python %s only", in->func,
                 kind == DCMP_PYTHON_CALLBACK ? "callbacks" : "workers");
        return -1;
    }
    ran = 1;
    rc = py->resolve(kind, in->func, err, errlen);
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
    rc = py->call(kind, in->func, kwargs, result, err, errlen);
    free(kwargs);
    return rc;
}

/* resolve imported the module and found a callable: names the file of its first part, as
 * the original's import found it (a package's __init__.py, or a single file). */
static int py_describe(const dcmp_executor_input *in, char *out, size_t outlen)
{
    size_t first = strcspn(in->func, ".");
    struct stat st;
    int n;

    n = snprintf(out, outlen, "%s/%.*s/__init__.py", in->modules, (int)first, in->func);
    if (n >= 0 && (size_t)n < outlen && stat(out, &st) == 0)
        return 0;
    n = snprintf(out, outlen, "%s/%.*s.py", in->modules, (int)first, in->func);
    if (n >= 0 && (size_t)n < outlen && stat(out, &st) == 0)
        return 0;
    /* a folder without __init__.py: a namespace package */
    snprintf(out, outlen, "%s/%.*s/", in->modules, (int)first, in->func);
    return 0;
}

const dcmp_runner dcmp_runner_python = {"Python module", py_resolve, py_run, py_describe};
