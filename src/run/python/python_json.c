/* python_json.c -- JSON text to Python objects and back, through Python's own json module. */
#include "python_json.h"
#include "python_exc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Owned for the process's life (the interpreter is never finalized). scan_once is json.loads'
 * own scanner (json.decoder._default_decoder.scan_once: the C one of _json when present).
 * encode is the encode method of one json.JSONEncoder made with the options below: what
 * json.dumps(obj, **those options) does, without making an encoder per call (json.dumps makes
 * one whenever an option is given: 21,000 instructions per dump, most of a callback's answer;
 * an encoder keeps no state between calls: its circular-reference markers are per call). */
static PyObject *loads_fn, *encode_fn, *scan_once;

int dcmp_python_json_init(char *err, size_t errlen)
{
    PyObject *mod = PyImport_ImportModule("json"), *decoder = NULL, *cls = NULL, *kw = NULL;
    PyObject *args = NULL, *encoder = NULL;

    if (mod != NULL) {
        loads_fn = PyObject_GetAttrString(mod, "loads");
        cls = PyObject_GetAttrString(mod, "JSONEncoder");
        decoder = PyObject_GetAttrString(mod, "_default_decoder");
    }
    if (decoder != NULL)
        scan_once = PyObject_GetAttrString(decoder, "scan_once");
    kw = Py_BuildValue("{s:O,s:O,s:(ss)}", "allow_nan", Py_False, "ensure_ascii", Py_False,
                       "separators", ",", ":");
    args = PyTuple_New(0);
    if (cls != NULL && kw != NULL && args != NULL)
        encoder = PyObject_Call(cls, args, kw);
    if (encoder != NULL)
        encode_fn = PyObject_GetAttrString(encoder, "encode");
    Py_XDECREF(encoder);
    Py_XDECREF(args);
    Py_XDECREF(kw);
    Py_XDECREF(cls);
    Py_XDECREF(decoder);
    Py_XDECREF(mod);
    if (loads_fn == NULL || encode_fn == NULL || scan_once == NULL) {
        char why[512];

        dcmp_python_exc_summary(why, sizeof why);
        snprintf(err, errlen, "python: the json module: %s", why);
        return -1;
    }
    return 0;
}

/* The scanner alone on the whole of str: the value when it spans all of it (then it is what
 * json.loads gives: json.loads skips whitespace around one scan_once from 0 and refuses what
 * follows), else NULL with no exception: json.loads decides. Skips json.loads' Python frames
 * and regular expressions: about 10,000 instructions of the 16,000 a job's kwargs took. */
static PyObject *scan_whole(PyObject *str)
{
    PyObject *zero = PyLong_FromLong(0), *pair = NULL, *obj = NULL, *end;
    Py_ssize_t at;

    if (zero != NULL)
        pair = PyObject_CallFunctionObjArgs(scan_once, str, zero, NULL);
    Py_XDECREF(zero);
    if (pair != NULL && PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2 &&
        PyLong_Check(end = PyTuple_GET_ITEM(pair, 1)) &&
        (at = PyLong_AsSsize_t(end)) == PyUnicode_GET_LENGTH(str)) {
        obj = PyTuple_GET_ITEM(pair, 0);
        Py_INCREF(obj);
    }
    Py_XDECREF(pair);
    PyErr_Clear();
    return obj;
}

PyObject *dcmp_python_json_load(const char *text, char *err, size_t errlen)
{
    PyObject *str = PyUnicode_FromString(text), *obj = NULL;

    if (str != NULL && (obj = scan_whole(str)) == NULL)
        obj = PyObject_CallOneArg(loads_fn, str);
    Py_XDECREF(str);
    if (obj == NULL) {
        char why[512];

        dcmp_python_exc_summary(why, sizeof why);
        snprintf(err, errlen, "not valid JSON: %s", why);
    }
    return obj;
}

char *dcmp_python_json_dump(PyObject *obj, size_t max, char *err, size_t errlen)
{
    PyObject *str = NULL;
    const char *utf8 = NULL;
    Py_ssize_t len = 0;
    char *out = NULL, why[512];

    /* a callback's yes without a dict injects {}: its text without a call into Python */
    if (PyDict_CheckExact(obj) && PyDict_GET_SIZE(obj) == 0 && max >= 2) {
        if ((out = malloc(3)) == NULL)
            snprintf(err, errlen, "out of memory for 2 bytes of JSON");
        else
            memcpy(out, "{}", 3);
        return out;
    }
    str = PyObject_CallOneArg(encode_fn, obj);
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
    return out;
}
