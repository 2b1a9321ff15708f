/* python_runner.c -- libdcmp_python.so's exported table: the interpreter, calls, reloads. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "python_answer.h"
#include "python_exc.h"
#include "python_import.h"
#include "python_json.h"
#include "python_runner.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int started; /* init succeeded: one interpreter per process, never finalized */

/* What the last resolve found, for the call that follows it (the executor resolves a name
 * right before calling it): that call does not look the name up again (7,000 instructions).
 * Taken by that call, or dropped by the next resolve or a reload that forgot a service. */
static PyObject *found_fn;
static int32_t found_kind;
static char found_name[DCMP_PYTHON_IMPORT_DOTTED_MAX + 1];

static void found_drop(void)
{
    Py_CLEAR(found_fn);
    found_name[0] = '\0';
}

/* Sets a PyConfig string member from UTF-8 text; 0 or -1 with err. */
static int set_text(PyConfig *config, wchar_t **member, const char *text, char *err, size_t errlen)
{
    PyStatus st = PyConfig_SetBytesString(config, member, text);

    if (PyStatus_Exception(st)) {
        snprintf(err, errlen, "python: configuring the interpreter: %s",
                 st.err_msg ? st.err_msg : "failed");
        return -1;
    }
    return 0;
}

/* The executable of venv, checked, into config; 0 or -1 with err. */
static int use_venv(PyConfig *config, const char *venv, char *err, size_t errlen)
{
    char cfg[PATH_MAX], exe[PATH_MAX];

    if (snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", venv) >= (int)sizeof cfg ||
        snprintf(exe, sizeof exe, "%s/bin/python3", venv) >= (int)sizeof exe) {
        snprintf(err, errlen, "python: virtual environment path too long: %.80s...", venv);
        return -1;
    }
    if (access(cfg, R_OK) != 0 || access(exe, X_OK) != 0) {
        snprintf(err, errlen, "python: %s is not a virtual environment (no %s or no %s)", venv,
                 "pyvenv.cfg", "bin/python3");
        return -1;
    }
    /* getpath reads pyvenv.cfg beside the executable: sys.prefix becomes the venv */
    return set_text(config, &config->executable, exe, err, errlen);
}

/* Makes libpython's symbols global: this library is dlopen()ed RTLD_LOCAL, and Debian's
 * extension modules (lib-dynload, numpy...) do not link libpython, they expect its symbols
 * to be there already, as in the python3 program. 0, or -1 with err. */
static int libpython_global(char *err, size_t errlen)
{
    Dl_info info;

    if (dladdr((void *)Py_None, &info) == 0 || info.dli_fname == NULL ||
        dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == NULL) {
        snprintf(err, errlen, "python: making libpython's symbols global: %s", dlerror());
        return -1;
    }
    return 0; /* the reference stays: libpython is never unloaded */
}

static int32_t runner_init(const char *venv, const char *modules, const char *registry, char *err,
                           size_t errlen)
{
    PyConfig config;
    PyStatus st;

    if (started || Py_IsInitialized()) {
        snprintf(err, errlen, "python: the interpreter is already started in this process");
        return -1;
    }
    if (dcmp_python_import_setup(modules, registry, err, errlen) < 0 ||
        libpython_global(err, errlen) < 0)
        return -1;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0; /* the executor owns signals (SIGTERM, SIGKILL) */
    config.parse_argv = 0;
    config.use_environment = 0;     /* PYTHONPATH, PYTHONHOME of the daemon do not apply */
    config.user_site_directory = 0; /* nor ~/.local: only the system's or the venv's */
    config.write_bytecode = 0;      /* never write __pycache__ into service folders */
    config.buffered_stdio = 0;      /* print() reaches fd 1 at once, even before a crash */
    config.configure_c_stdio = 0;   /* the host's own stdio stays as it was */
    if (set_text(&config, &config.stdio_errors, "backslashreplace", err, errlen) < 0 ||
        (venv != NULL && use_venv(&config, venv, err, errlen) < 0)) {
        PyConfig_Clear(&config);
        return -1;
    }
    st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        snprintf(err, errlen, "python: starting the interpreter: %s%s%s", st.func ? st.func : "",
                 st.func ? ": " : "", st.err_msg ? st.err_msg : "failed");
        return -1;
    }
    if (dcmp_python_json_init(err, errlen) < 0)
        return -1;
    started = 1;
    return 0;
}

static int32_t runner_resolve(int32_t kind, const char *dotted, char *err, size_t errlen)
{
    PyObject *fn;
    int rc;

    if (!started) {
        snprintf(err, errlen, "python: the runner is not started (init first)");
        return -1;
    }
    found_drop();
    rc = dcmp_python_import_find(kind, dotted, &fn, err, errlen);
    if (rc == 1 && strlen(dotted) < sizeof found_name) {
        found_fn = fn; /* the reference passes to the cache */
        found_kind = kind;
        memcpy(found_name, dotted, strlen(dotted) + 1);
    } else {
        Py_XDECREF(fn);
    }
    return rc;
}

/* Flushes Python's and C's stdout and stderr, so the job's log has everything. */
static void flush_stdio(void)
{
    static const char *const names[] = {"stdout", "stderr"};
    static PyObject *flush; /* the method's name, interned once for the process's life */
    PyObject *stream, *r;
    size_t i;

    if (flush == NULL && (flush = PyUnicode_InternFromString("flush")) == NULL) {
        PyErr_Clear();
        return;
    }
    for (i = 0; i < 2; i++) {
        stream = PySys_GetObject(names[i]); /* borrowed; None when closed by the code */
        r = stream && stream != Py_None ? PyObject_CallMethodNoArgs(stream, flush) : NULL;
        Py_XDECREF(r);
    }
    PyErr_Clear();
    fflush(stdout);
    fflush(stderr);
}

/* A worker's return value, stored when it is JSON (None stores nothing). */
static void worker_result(const char *dotted, PyObject *ret, char **result)
{
    char why[512];

    if (ret == Py_None)
        return;
    *result = dcmp_python_json_dump(ret, DCMP_PYTHON_RESULT_MAX, why, sizeof why);
    if (*result == NULL)
        fprintf(stderr, "python: %s: its return value (%s) is not stored as the result: %s\n",
                dotted, Py_TYPE(ret)->tp_name, why);
}

/* A callback's answer; DCMP_OK sets *result to the injected object. */
static int32_t callback_answer(const char *dotted, PyObject *ret, char **result, char *err,
                               size_t errlen)
{
    PyObject *inject;
    char why[1024];
    int rc = dcmp_python_answer_read(ret, &inject, why, sizeof why);

    if (rc == DCMP_ERROR) {
        snprintf(err, errlen, "python: %s: %s", dotted, why);
        return DCMP_ERROR;
    }
    if (rc == DCMP_OK) {
        *result = dcmp_python_json_dump(inject, DCMP_PYTHON_RESULT_MAX, why, sizeof why);
        Py_DECREF(inject);
        if (*result == NULL) {
            snprintf(err, errlen, "python: %s: the dict it injected is %s", dotted, why);
            return DCMP_ERROR;
        }
    }
    return rc;
}

static int32_t runner_call(int32_t kind, const char *dotted, const char *kwargs, char **result,
                           char *err, size_t errlen)
{
    PyObject *fn = NULL, *kw = NULL, *args = NULL, *ret = NULL;
    char why[512];
    int32_t rc = DCMP_ERROR;
    int flushed = 0;

    *result = NULL;
    err[0] = '\0';
    if (!started) {
        snprintf(err, errlen, "python: the runner is not started (init first)");
        return DCMP_ERROR;
    }
    if (kwargs == NULL || strnlen(kwargs, DCMP_PYTHON_KWARGS_MAX + 1) > DCMP_PYTHON_KWARGS_MAX) {
        snprintf(err, errlen, "python: %s: the call's arguments are missing or over %u bytes",
                 dotted ? dotted : "", DCMP_PYTHON_KWARGS_MAX);
        return DCMP_ERROR;
    }
    if (found_fn != NULL && kind == found_kind && dotted != NULL &&
        strcmp(dotted, found_name) == 0) {
        fn = found_fn; /* the reference passes to this call */
        found_fn = NULL;
        found_name[0] = '\0';
    } else if (dcmp_python_import_find(kind, dotted, &fn, err, errlen) != 1) {
        goto out;
    }
    if ((kw = dcmp_python_json_load(kwargs, why, sizeof why)) == NULL || !PyDict_Check(kw)) {
        snprintf(err, errlen, "python: %s: the call's arguments are %s", dotted,
                 kw ? "not a JSON object" : why);
        goto out;
    }
    if ((args = PyTuple_New(0)) == NULL) {
        dcmp_python_exc_summary(err, errlen);
        goto out;
    }
    ret = PyObject_Call(fn, args, kw);
    if (ret == NULL) {
        dcmp_python_exc_traceback(err, errlen); /* SystemExit too: the process stays */
        goto out;
    }
    flush_stdio(); /* before a line of ours about the result; once per call (they cost) */
    flushed = 1;
    if (kind == DCMP_PYTHON_WORKER) {
        worker_result(dotted, ret, result);
        rc = DCMP_OK;
    } else {
        rc = callback_answer(dotted, ret, result, err, errlen);
    }
out:
    Py_XDECREF(ret);
    Py_XDECREF(args);
    Py_XDECREF(kw);
    Py_XDECREF(fn);
    PyErr_Clear();
    if (!flushed)
        flush_stdio();
    return rc;
}

static int32_t runner_reload(char *err, size_t errlen)
{
    if (!started) {
        snprintf(err, errlen, "python: the runner is not started (init first)");
        return -1;
    }
    found_drop(); /* a reload runs before a resolve: nothing found is pending */
    return dcmp_python_import_reload(err, errlen);
}

__attribute__((visibility("default"))) extern const dcmp_python_table dcmp_python_runner;
const dcmp_python_table dcmp_python_runner = {DCMP_PYTHON_RUNNER_VERSION,
                                              (uint32_t)sizeof(dcmp_python_table),
                                              runner_init,
                                              runner_resolve,
                                              runner_call,
                                              runner_reload};
