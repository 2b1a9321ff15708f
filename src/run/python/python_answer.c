/* python_answer.c -- a Python callback's return value read as the original scheduler read it. */
#include "python_answer.h"
#include "python_exc.h"

#include <dcmp/service.h>

#include <stdio.h>

/* Sets err from the pending exception and gives DCMP_ERROR. */
static int failed(const char *what, char *err, size_t errlen)
{
    char why[1024];

    dcmp_python_exc_summary(why, sizeof why);
    snprintf(err, errlen, "reading the callback's answer: %s: %s", what, why);
    return DCMP_ERROR;
}

int dcmp_python_answer_read(PyObject *ret, PyObject **inject, char *err, size_t errlen)
{
    PyObject *answer = NULL, *second = NULL;
    Py_ssize_t n = 0;
    int truth;

    *inject = NULL;
    if (PyList_Check(ret) || PyTuple_Check(ret)) {
        if ((n = PyObject_Length(ret)) < 0)
            return failed("len()", err, errlen);
        if (n > 0 && (answer = PySequence_GetItem(ret, 0)) == NULL)
            return failed("its first item", err, errlen);
        if (n > 1 && (second = PySequence_GetItem(ret, 1)) == NULL) {
            Py_XDECREF(answer);
            return failed("its second item", err, errlen);
        }
        if (answer == NULL)
            answer = Py_NewRef(Py_False);
    } else {
        answer = Py_NewRef(ret);
    }
    truth = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    if (truth < 0) {
        Py_XDECREF(second);
        return failed("its truth value", err, errlen);
    }
    if (truth == 0) {
        Py_XDECREF(second);
        return DCMP_SKIP;
    }
    if (second != NULL && PyDict_Check(second)) {
        *inject = second;
        return DCMP_OK;
    }
    Py_XDECREF(second);
    if ((*inject = PyDict_New()) == NULL)
        return failed("an empty dict", err, errlen);
    return DCMP_OK;
}
