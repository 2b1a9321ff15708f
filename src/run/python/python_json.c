/* python_json.c -- JSON text to Python objects and back, through Python's own json module. */
#include "python_json.h"
#include "python_exc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Owned for the process's life (the interpreter is never finalized). */
static PyObject *loads_fn, *dumps_fn, *dumps_kw;

int dcmp_python_json_init(char *err, size_t errlen)
{
    PyObject *mod = PyImport_ImportModule("json");

    if (mod != NULL) {
        loads_fn = PyObject_GetAttrString(mod, "loads");
        dumps_fn = PyObject_GetAttrString(mod, "dumps");
    }
    dumps_kw = Py_BuildValue("{s:O,s:O,s:(ss)}", "allow_nan", Py_False, "ensure_ascii", Py_False,
                             "separators", ",", ":");
    Py_XDECREF(mod);
    if (loads_fn == NULL || dumps_fn == NULL || dumps_kw == NULL) {
        char why[512];

        dcmp_python_exc_summary(why, sizeof why);
        snprintf(err, errlen, "python: the json module: %s", why);
        return -1;
    }
    return 0;
}

PyObject *dcmp_python_json_load(const char *text, char *err, size_t errlen)
{
    PyObject *obj = PyObject_CallFunction(loads_fn, "s", text);

    if (obj == NULL) {
        char why[512];

        dcmp_python_exc_summary(why, sizeof why);
        snprintf(err, errlen, "not valid JSON: %s", why);
    }
    return obj;
}

char *dcmp_python_json_dump(PyObject *obj, size_t max, char *err, size_t errlen)
{
    PyObject *args = PyTuple_Pack(1, obj), *str = NULL;
    const char *utf8 = NULL;
    Py_ssize_t len = 0;
    char *out = NULL, why[512];

    if (args != NULL)
        str = PyObject_Call(dumps_fn, args, dumps_kw);
    if (str != NULL)
        utf8 = PyUnicode_AsUTF8AndSize(str, &len); /* fails on lone surrogates */
    if (utf8 == NULL) {
        dcmp_python_exc_summary(why, sizeof why);
        snprintf(err, errlen, "not JSON-serializable: %s", why);
    } else if ((size_t)len > max) {
        snprintf(err, errlen, "%zd bytes of JSON, over the cap of %zu", len, max);
    } else if ((out = malloc((size_t)len + 1)) == NULL) {
        snprintf(err, errlen, "out of memory for %zd bytes of JSON", len);
    } else {
        memcpy(out, utf8, (size_t)len + 1);
    }
    Py_XDECREF(str);
    Py_XDECREF(args);
    return out;
}
