/* python_json.h -- JSON text to Python objects and back, through Python's own json module. */
#ifndef DCMP_PYTHON_JSON_H
#define DCMP_PYTHON_JSON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>

/* Imports json and keeps its loads/dumps for the process's life. Returns 0, or -1 with err. */
int dcmp_python_json_init(char *err, size_t errlen);

/* json.loads(text), so numbers and strings are exactly what Python's json gives (ints of any
 * size, floats, str). Returns a new reference, or NULL with err set and no exception pending. */
PyObject *dcmp_python_json_load(const char *text, char *err, size_t errlen);

/* json.dumps(obj) as compact UTF-8 without NaN or Infinity (they are not JSON). Returns new
 * text (free with free()), or NULL with err set ("not JSON-serializable: TypeError: ...", or
 * over max bytes) and no exception pending. */
char *dcmp_python_json_dump(PyObject *obj, size_t max, char *err, size_t errlen);

#endif
