/* python_answer.h -- a Python callback's return value read as the original scheduler read it. */
#ifndef DCMP_PYTHON_ANSWER_H
#define DCMP_PYTHON_ANSWER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>

/*
 * The original's rule: a list or tuple (or a subclass) gives its first item as the answer
 * (False when empty) and its second item, when it is a dict (or a subclass), as the
 * injection; any other value is the answer itself. The answer is tested with Python's truth
 * (bool()), so 1, "x" and [0] say yes; 0, "", None, [] and {} say no.
 *
 * Returns DCMP_OK (yes) with *inject a new reference to the dict to store, an empty dict when
 * nothing or a non-dict was injected; DCMP_SKIP (no), *inject NULL; or DCMP_ERROR when reading
 * the value raised (a bool() that raises, as numpy arrays do), with err set and no exception
 * pending (the original logged it and did not schedule the job).
 */
int dcmp_python_answer_read(PyObject *ret, PyObject **inject, char *err, size_t errlen);

#endif
