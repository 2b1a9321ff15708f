/* python_exc.c -- the pending Python exception as text: one line, or with its traceback. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "python_exc.h"

#include <stdio.h>
#include <string.h>

/* The pending exception, normalized, with its traceback attached; new reference or NULL. */
static PyObject *take(void)
{
    PyObject *type = NULL, *value = NULL, *tb = NULL;

    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

/* "Type: message", or "Type" when the message is empty, into err. */
static void summary_of(PyObject *exc, char *err, size_t errlen)
{
    PyObject *str = PyObject_Str(exc);
    const char *msg = str ? PyUnicode_AsUTF8(str) : NULL;
    const char *type = strrchr(Py_TYPE(exc)->tp_name, '.');

    type = type ? type + 1 : Py_TYPE(exc)->tp_name;

    if (msg == NULL) {
        PyErr_Clear();
        msg = "";
    }
    if (msg[0])
        snprintf(err, errlen, "%s: %s", type, msg);
    else
        snprintf(err, errlen, "%s", type);
    Py_XDECREF(str);
}

/* Appends " (at FILE, line N)" for the innermost frame of exc's traceback. */
static void append_where(PyObject *exc, char *err, size_t errlen)
{
    PyObject *tb = PyException_GetTraceback(exc);
    PyObject *frame = NULL, *code = NULL, *file = NULL, *line = NULL;
    size_t len = strlen(err);
    const char *f;

    while (tb != NULL) {
        PyObject *next = PyObject_GetAttrString(tb, "tb_next");

        if (next == NULL || next == Py_None) {
            Py_XDECREF(next);
            break;
        }
        Py_DECREF(tb);
        tb = next;
    }
    if (tb == NULL || (frame = PyObject_GetAttrString(tb, "tb_frame")) == NULL ||
        (code = PyObject_GetAttrString(frame, "f_code")) == NULL ||
        (file = PyObject_GetAttrString(code, "co_filename")) == NULL ||
        (line = PyObject_GetAttrString(tb, "tb_lineno")) == NULL ||
        (f = PyUnicode_AsUTF8(file)) == NULL) {
        PyErr_Clear();
    } else if (len + 1 < errlen) {
        snprintf(err + len, errlen - len, " (at %s, line %ld)", f, PyLong_AsLong(line));
    }
    Py_XDECREF(line);
    Py_XDECREF(file);
    Py_XDECREF(code);
    Py_XDECREF(frame);
    Py_XDECREF(tb);
}

void dcmp_python_exc_summary(char *err, size_t errlen)
{
    PyObject *exc = take();

    if (exc == NULL) {
        snprintf(err, errlen, "unknown error");
        return;
    }
    summary_of(exc, err, errlen);
    append_where(exc, err, errlen);
    Py_DECREF(exc);
    PyErr_Clear();
}

/* traceback.format_exception(exc) joined, as a new str, or NULL. */
static PyObject *formatted(PyObject *exc)
{
    PyObject *mod = PyImport_ImportModule("traceback"), *lines = NULL, *sep = NULL, *text = NULL;

    if (mod != NULL)
        lines = PyObject_CallMethod(mod, "format_exception", "O", exc);
    if (lines != NULL && (sep = PyUnicode_FromString("")) != NULL)
        text = PyUnicode_Join(sep, lines);
    Py_XDECREF(sep);
    Py_XDECREF(lines);
    Py_XDECREF(mod);
    return text;
}

void dcmp_python_exc_traceback(char *err, size_t errlen)
{
    PyObject *exc = take(), *text;
    const char *tb;
    Py_ssize_t tblen = 0;
    size_t len, room, cut;

    if (exc == NULL) {
        snprintf(err, errlen, "unknown error");
        return;
    }
    summary_of(exc, err, errlen / 4 > 0 ? errlen / 4 : errlen);
    text = formatted(exc);
    tb = text ? PyUnicode_AsUTF8AndSize(text, &tblen) : NULL;
    len = strlen(err);
    if (tb == NULL) {
        PyErr_Clear();
    } else if (len + 2 < errlen) {
        room = errlen - len - 2; /* the newline and the NUL */
        cut = (size_t)tblen > room ? (size_t)tblen - room + 40 : 0;
        while (cut > 0 && cut < (size_t)tblen && ((unsigned char)tb[cut] & 0xC0) == 0x80)
            cut++; /* never start inside a UTF-8 sequence */
        if (cut == 0)
            snprintf(err + len, errlen - len, "\n%s", tb);
        else if (cut < (size_t)tblen)
            snprintf(err + len, errlen - len, "\n[... %zu bytes cut ...]%s", cut, tb + cut);
    }
    Py_XDECREF(text);
    Py_DECREF(exc);
    PyErr_Clear();
}
