/* python_import.c -- dotted names to Python callables under a root; changed services forgotten. */
#include "python_import.h"
#include "python_exc.h"
#include "python_runner.h"
#include "python_watch.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One imported service: the first part of its names under one root, and the files its
 * modules were loaded from. */
typedef struct service {
    int kind;
    char top[DCMP_PYTHON_IMPORT_DOTTED_MAX + 1];
    dcmp_python_watch_set files;
} service;

static const char *const kind_names[2] = {"MODULES", "REGISTRY"};
static char roots[2][PATH_MAX]; /* "" when that kind is not run here */
static service services[DCMP_PYTHON_IMPORT_SERVICES];
static int nservices;
static Py_ssize_t modules_seen = -1; /* sys.modules' size when the file sets were last filled */

static int part_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* Puts root first on sys.path (once), so a module of that name is found there first. */
static int path_first(const char *root)
{
    PyObject *path = PySys_GetObject("path"), *entry; /* borrowed */
    Py_ssize_t i;
    int rc;

    if (path == NULL || !PyList_Check(path) || (entry = PyUnicode_FromString(root)) == NULL)
        return -1;
    for (i = PyList_GET_SIZE(path) - 1; i >= 0; i--) {
        rc = PyObject_RichCompareBool(PyList_GET_ITEM(path, i), entry, Py_EQ);
        if (rc < 0 || (rc == 1 && PySequence_DelItem(path, i) < 0)) {
            Py_DECREF(entry);
            return -1;
        }
    }
    rc = PyList_Insert(path, 0, entry);
    Py_DECREF(entry);
    return rc;
}

int dcmp_python_import_setup(const char *modules, const char *registry, char *err, size_t errlen)
{
    const char *given[2] = {modules, registry};
    struct stat st;
    int k;

    for (k = 0; k < 2; k++) {
        roots[k][0] = '\0';
        if (given[k] == NULL)
            continue;
        if (realpath(given[k], roots[k]) == NULL || stat(roots[k], &st) != 0 ||
            !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "python: %s root %s is not a folder", kind_names[k], given[k]);
            roots[k][0] = '\0';
            return -1;
        }
    }
    return 0;
}

/* Whether a string attribute value starts with root + "/". */
static int str_under(PyObject *s, const char *root)
{
    const char *p = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
    size_t n = strlen(root);

    if (p == NULL) {
        PyErr_Clear();
        return 0;
    }
    return strncmp(p, root, n) == 0 && p[n] == '/';
}

/* Whether module mod was loaded from under root: its __file__, or one of its __path__. */
static int module_under(PyObject *mod, const char *root)
{
    PyObject *file = PyObject_GetAttrString(mod, "__file__"), *path, *item;
    int yes = str_under(file, root);
    Py_ssize_t i, n;

    Py_XDECREF(file);
    PyErr_Clear();
    if (yes || (path = PyObject_GetAttrString(mod, "__path__")) == NULL) {
        PyErr_Clear();
        return yes;
    }
    n = PySequence_Check(path) ? PySequence_Length(path) : 0; /* a namespace package's too */
    if (n < 0)
        n = 0;
    for (i = 0; i < n && !yes; i++) {
        item = PySequence_GetItem(path, i);
        yes = str_under(item, root);
        Py_XDECREF(item);
    }
    Py_DECREF(path);
    PyErr_Clear();
    return yes;
}

/* Where module mod was loaded from, for messages, into buf. */
static const char *module_file(PyObject *mod, char *buf, size_t len)
{
    PyObject *file = PyObject_GetAttrString(mod, "__file__");
    const char *p = file && PyUnicode_Check(file) ? PyUnicode_AsUTF8(file) : NULL;

    snprintf(buf, len, "%s", p ? p : "a namespace package or built in");
    Py_XDECREF(file);
    PyErr_Clear();
    return buf;
}

/* ROOT/top as a folder when it is one, else ROOT/top.py: the service's files. */
static void service_path(int kind, const char *top, char *buf, size_t len)
{
    struct stat st;

    snprintf(buf, len, "%s/%s", roots[kind], top);
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(buf, len, "%s/%s.py", roots[kind], top);
}

/* The index of a watched service, or nservices. */
static int watched(int kind, const char *top)
{
    int i;

    for (i = 0; i < nservices; i++)
        if (services[i].kind == kind && strcmp(services[i].top, top) == 0)
            break;
    return i;
}

/* Adds to service s's set the file of every module of it in sys.modules (top and top.*,
 * loaded from under its root) that the set does not have yet. */
static void fill(service *s)
{
    PyObject *modules = PyImport_GetModuleDict(), *key, *m, *file;
    const char *k, *root = roots[s->kind], *p;
    size_t n = strlen(s->top);
    Py_ssize_t pos = 0;

    while (PyDict_Next(modules, &pos, &key, &m)) { /* borrowed; nothing here imports */
        if (!PyUnicode_Check(key) || (k = PyUnicode_AsUTF8(key)) == NULL) {
            PyErr_Clear();
            continue;
        }
        if (strncmp(k, s->top, n) != 0 || (k[n] != '\0' && k[n] != '.'))
            continue;
        file = PyObject_GetAttrString(m, "__file__");
        if (file != NULL && str_under(file, root) && (p = PyUnicode_AsUTF8(file)) != NULL)
            dcmp_python_watch_add(&s->files, p);
        Py_XDECREF(file);
        PyErr_Clear();
    }
}

/* Fills every service's set when sys.modules changed size since the last time: a module a
 * service imported lazily (inside a call) is watched from then on. */
static void fill_all(void)
{
    Py_ssize_t size = PyDict_Size(PyImport_GetModuleDict());
    int i;

    if (size == modules_seen)
        return;
    for (i = 0; i < nservices; i++)
        fill(&services[i]);
    modules_seen = size;
}

/* The watched service kind/top, added (with no file yet) when new; NULL past the cap. */
static service *watch(int kind, const char *top)
{
    char path[PATH_MAX];
    int i = watched(kind, top);

    if (i == DCMP_PYTHON_IMPORT_SERVICES)
        return NULL;
    if (i == nservices) {
        service_path(kind, top, path, sizeof path);
        services[i].kind = kind;
        snprintf(services[i].top, sizeof services[i].top, "%s", top);
        dcmp_python_watch_init(&services[i].files, path);
        nservices++;
    }
    return &services[i];
}

/* Whether a module named top exists under root (a namespace folder counts, as for Python):
 * 1, 0, or -1 with err. */
static int exists_under(const char *root, const char *top, char *err, size_t errlen)
{
    PyObject *mach = PyImport_ImportModule("importlib.machinery"), *finder = NULL, *spec = NULL;
    int found;

    if (mach != NULL)
        finder = PyObject_GetAttrString(mach, "PathFinder");
    if (finder != NULL)
        spec = PyObject_CallMethod(finder, "find_spec", "s[s]", top, root);
    Py_XDECREF(finder);
    Py_XDECREF(mach);
    if (spec == NULL) {
        dcmp_python_exc_summary(err, errlen);
        return -1;
    }
    found = spec != Py_None;
    Py_DECREF(spec);
    return found;
}

/* The module mod (a new reference) when it is in sys.modules already; NULL otherwise, with
 * an exception only when sys.modules could not be read. PyImport_ImportModule would find it
 * too, but through builtins.__import__ and importlib's Python code: about 15,000
 * instructions per call, most of a no-op job's cost (docs/performance.md). Called from C at
 * top level, never inside an import, so a module found here is fully initialized. */
static PyObject *imported(const char *mod)
{
    PyObject *name = PyUnicode_FromString(mod), *m;

    if (name == NULL)
        return NULL;
    m = PyImport_GetModule(name);
    Py_DECREF(name);
    return m;
}

/* Splits and checks dotted into module (a.b), attribute (fn) and first part (a). */
static int split(const char *dotted, char *mod, char *attr, char *top, char *err, size_t errlen)
{
    size_t len = dotted ? strlen(dotted) : 0;
    const char *last, *p, *dot;

    if (len == 0 || len > DCMP_PYTHON_IMPORT_DOTTED_MAX) {
        snprintf(err, errlen, "python: function name \"%.40s\" is empty or longer than %d",
                 dotted ? dotted : "", DCMP_PYTHON_IMPORT_DOTTED_MAX);
        return -1;
    }
    if ((last = strrchr(dotted, '.')) == NULL) {
        snprintf(err, errlen,
                 "python: function name \"%s\" has no module part: expected "
                 "module.function",
                 dotted);
        return -1;
    }
    for (p = dotted;; p = dot + 1) {
        dot = strchr(p, '.');
        if (!part_ok(p, dot ? (size_t)(dot - p) : strlen(p))) {
            snprintf(err, errlen,
                     "python: function name \"%s\": each part must match "
                     "[A-Za-z0-9_-]+",
                     dotted);
            return -1;
        }
        if (dot == NULL)
            break;
    }
    memcpy(mod, dotted, (size_t)(last - dotted));
    mod[last - dotted] = '\0';
    snprintf(attr, DCMP_PYTHON_IMPORT_DOTTED_MAX + 1, "%s", last + 1);
    snprintf(top, DCMP_PYTHON_IMPORT_DOTTED_MAX + 1, "%s", mod);
    top[strcspn(top, ".")] = '\0';
    return 0;
}

/* The files module a.b may come from, for messages: "ROOT/a/b/__init__.py or ROOT/a/b.py". */
static void candidates(const char *root, const char *mod, char *buf, size_t len)
{
    char rel[DCMP_PYTHON_IMPORT_DOTTED_MAX + 1];
    size_t i;

    snprintf(rel, sizeof rel, "%s", mod);
    for (i = 0; rel[i]; i++)
        if (rel[i] == '.')
            rel[i] = '/';
    snprintf(buf, len, "%s/%s/__init__.py or %s/%s.py", root, rel, root, rel);
}

int dcmp_python_import_find(int kind, const char *dotted, PyObject **fn, char *err, size_t errlen)
{
    char mod[DCMP_PYTHON_IMPORT_DOTTED_MAX + 1], attr[DCMP_PYTHON_IMPORT_DOTTED_MAX + 1];
    char top[DCMP_PYTHON_IMPORT_DOTTED_MAX + 1], files[2 * PATH_MAX], why[2048];
    PyObject *loaded, *m, *f;
    const char *root;
    service *svc;
    int rc;

    *fn = NULL;
    if (kind != DCMP_PYTHON_WORKER && kind != DCMP_PYTHON_CALLBACK) {
        snprintf(err, errlen, "python: unknown kind %d of function", kind);
        return -1;
    }
    root = roots[kind];
    if (root[0] == '\0') {
        snprintf(err, errlen, "python: %s: no %s root was given to this runner",
                 dotted ? dotted : "", kind_names[kind]);
        return -1;
    }
    if (split(dotted, mod, attr, top, err, errlen) < 0)
        return -1;
    loaded = PyDict_GetItemString(PyImport_GetModuleDict(), top); /* borrowed */
    if (loaded != NULL && !module_under(loaded, root)) {
        snprintf(err, errlen,
                 "python: %s: a module named %s is already imported from %s, not "
                 "from %s",
                 dotted, top, module_file(loaded, files, sizeof files), root);
        return -1;
    }
    if (loaded == NULL) {
        if ((rc = exists_under(root, top, why, sizeof why)) <= 0) {
            if (rc == 0)
                snprintf(err, errlen,
                         "python: %s: no module %s under %s %s (tried %s/%s/ and "
                         "%s/%s.py)",
                         dotted, top, kind_names[kind], root, root, top, root, top);
            else
                snprintf(err, errlen, "python: %s: looking for %s under %s: %s", dotted, top, root,
                         why);
            return rc;
        }
    }
    /* watched from its first import on (or when another service's import brought it) */
    if ((m = imported(mod)) == NULL) {
        svc = watch(kind, top);
        if (!PyErr_Occurred() && path_first(root) == 0)
            m = PyImport_ImportModule(mod);
        if (svc != NULL) { /* even after a failed import: its submodules loaded stay */
            PyObject *type, *value, *tb;

            PyErr_Fetch(&type, &value, &tb); /* fill clears what it meets */
            fill(svc);
            PyErr_Restore(type, value, tb);
        }
    } else if (watched(kind, top) == nservices && (svc = watch(kind, top)) != NULL) {
        fill(svc);
    }
    if (m == NULL) {
        dcmp_python_exc_summary(why, sizeof why);
        candidates(root, mod, files, sizeof files);
        snprintf(err, errlen, "python: %s: importing %s (%s) failed: %s", dotted, mod, files, why);
        return -1;
    }
    if (!module_under(m, root)) {
        snprintf(err, errlen, "python: %s: module %s was imported from %s, not from %s", dotted,
                 mod, module_file(m, files, sizeof files), root);
        Py_DECREF(m);
        return -1;
    }
    if ((f = PyObject_GetAttrString(m, attr)) == NULL) {
        PyErr_Clear();
        snprintf(err, errlen, "python: %s: module %s (%s) has no attribute %s", dotted, mod,
                 module_file(m, files, sizeof files), attr);
        Py_DECREF(m);
        return -1;
    }
    Py_DECREF(m);
    if (!PyCallable_Check(f)) {
        snprintf(err, errlen, "python: %s: %s of module %s is a %s, not a function", dotted, attr,
                 mod, Py_TYPE(f)->tp_name);
        Py_DECREF(f);
        return -1;
    }
    *fn = f;
    return 1;
}

/* Drops top and top.* from sys.modules, when loaded from under root. */
static int forget(const char *top, const char *root)
{
    PyObject *modules = PyImport_GetModuleDict(), *keys = PyDict_Keys(modules), *m;
    size_t n = strlen(top);
    Py_ssize_t i;
    const char *k;

    if (keys == NULL)
        return -1;
    for (i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);

        if (!PyUnicode_Check(key) || (k = PyUnicode_AsUTF8(key)) == NULL) {
            PyErr_Clear();
            continue;
        }
        if (strncmp(k, top, n) != 0 || (k[n] != '\0' && k[n] != '.'))
            continue;
        m = PyDict_GetItem(modules, key); /* borrowed */
        if (m != NULL && module_under(m, root) && PyDict_DelItem(modules, key) < 0) {
            Py_DECREF(keys);
            return -1;
        }
    }
    Py_DECREF(keys);
    return 0;
}

int dcmp_python_import_reload(char *err, size_t errlen)
{
    PyObject *importlib, *r;
    int i = 0, count = 0;

    fill_all();
    while (i < nservices) {
        if (!dcmp_python_watch_changed(&services[i].files)) {
            i++;
            continue;
        }
        if (forget(services[i].top, roots[services[i].kind]) < 0) {
            dcmp_python_exc_summary(err, errlen);
            return -1;
        }
        dcmp_python_watch_free(&services[i].files);
        services[i] = services[--nservices]; /* the next import records it afresh */
        count++;
    }
    if (count == 0)
        return 0;
    /* the finders cache folder listings: a file added by the reinstall must be seen */
    importlib = PyImport_ImportModule("importlib");
    r = importlib ? PyObject_CallMethod(importlib, "invalidate_caches", NULL) : NULL;
    Py_XDECREF(importlib);
    if (r == NULL) {
        dcmp_python_exc_summary(err, errlen);
        return -1;
    }
    Py_DECREF(r);
    return count;
}
