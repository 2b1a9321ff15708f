/* test_python_runner.c -- libdcmp_python.so through its table, with service folders it writes. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "python_runner.h"

extern char **environ;

static const dcmp_python_table *py;
static char dir[PATH_MAX], modules[PATH_MAX], registry[PATH_MAX];
static char err[DCMP_PYTHON_ERROR_MAX];

/* Writes text to base/rel, making the folders on the way. */
static void put(const char *base, const char *rel, const char *text)
{
    char path[PATH_MAX], *p;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", base, rel);
    for (p = path + strlen(base) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Reads a whole small file into buf. */
static const char *slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;

    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static const char *kwargs = "{\"jobName\":\"j1\",\"headers\":{\"n\":12345678901234567890,"
                            "\"f\":0.1},\"params\":{\"big\":1e308,\"list\":[1,2]},"
                            "\"added_params\":{\"prev\":{\"k\":\"v\"}}}";

/* Calls kind/dotted with kwargs, fd 1 and 2 going to out/errout files; returns the status. */
static int call_captured(int kind, const char *dotted, char **result, char *out, char *errout,
                         size_t len)
{
    char o[PATH_MAX], e[PATH_MAX];
    int so = dup(1), se = dup(2), fo, fe, rc;

    snprintf(o, sizeof o, "%s/out.txt", dir);
    snprintf(e, sizeof e, "%s/err.txt", dir);
    fflush(stdout);
    fflush(stderr);
    fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    rc = py->call(kind, dotted, kwargs, result, err, sizeof err);
    dup2(so, 1);
    dup2(se, 2);
    close(fo);
    close(fe);
    close(so);
    close(se);
    slurp(o, out, len);
    slurp(e, errout, len);
    return rc;
}

static void write_services(void)
{
    put(modules, "temp/__init__.py", "from .main import worker\n");
    put(modules, "temp/main.py",
        "def worker(jobName, headers, params, added_params, **kwargs):\n"
        "    print(f'hello {jobName}')\n"
        "    return {'job': jobName, 'n': headers['n'], 'f': headers['f'], 'big': params['big'],\n"
        "            'types': [type(headers).__name__, type(params['list']).__name__],\n"
        "            'prev': added_params['prev']['k']}\n");
    put(modules, "kw/__init__.py", "def worker(**kwargs):\n    return sorted(kwargs)\n");
    put(modules, "ms-sub/__init__.py", "def worker(jobName, **kw):\n    return jobName\n");
    put(modules, "odd/__init__.py",
        "import sys\n"
        "def aset(**kw):\n    return {1, 2}\n"
        "def nan(**kw):\n    return float('nan')\n"
        "def none(**kw):\n    print('nothing')\n"
        "def big(**kw):\n    return 'x' * (2 * 1024 * 1024)\n"
        "def inner(name):\n    raise ValueError('bad input ' + name)\n"
        "def boom(jobName, **kw):\n    inner(jobName)\n"
        "def huge(**kw):\n    raise RuntimeError('y' * 100000)\n"
        "def leave(**kw):\n    sys.exit(3)\n"
        "def noisy(**kw):\n    sys.stderr.write('to stderr')\n    return 5\n");
    put(modules, "broken/__init__.py", "import does_not_exist_xyz\n");
    put(modules, "notfn/__init__.py", "worker = 3\n");
    put(modules, "state/__init__.py",
        "n = 0\ndef worker(**kw):\n    global n\n    n += 1\n"
        "    return n\n");
    put(modules, "ver/__init__.py", "def worker(**kw):\n    return 1\n");
    put(registry, "temp/__init__.py", "from .main import callback\n");
    put(registry, "temp/main.py",
        "def callback(jobName, headers, params, added_params, **kwargs):\n"
        "    injected_params = {'custom-data': 'Some new data'}\n"
        "    return True, injected_params\n");
    put(registry, "vcheck/__init__.py",
        "import onlyvenv, pydicom\n"
        "def callback(**kw):\n    return True, {'venv': onlyvenv.X}\n");
    put(registry, "shapes/__init__.py",
        "import collections\n"
        "def t(**k): return True\n"
        "def f(**k): return False\n"
        "def t_dict(**k): return (True, {'a': 1})\n"
        "def l_dict(**k): return [True, {'a': 2}]\n"
        "def f_dict(**k): return (False, {'a': 3})\n"
        "def t_only(**k): return (True,)\n"
        "def one(**k): return 1\n"
        "def none(**k): return None\n"
        "def t_str(**k): return (True, 'not a dict')\n"
        "def zero(**k): return 0\n"
        "def empty_str(**k): return ''\n"
        "def x(**k): return 'x'\n"
        "def empty_list(**k): return []\n"
        "def empty_tuple(**k): return ()\n"
        "def empty_dict(**k): return {}\n"
        "def a_dict(**k): return {'a': 1}\n"
        "def zero_dict(**k): return [0, {'a': 4}]\n"
        "def list_first(**k): return [[0], {'a': 5}]\n"
        "def three(**k): return (True, {'a': 6}, 'ignored')\n"
        "def ordered(**k): return (1, collections.OrderedDict(b=2))\n"
        "Pair = collections.namedtuple('Pair', 'ok extra')\n"
        "def named(**k): return Pair(True, {'a': 7})\n"
        "class Odd:\n    def __bool__(self): raise TypeError('no truth here')\n"
        "def ambiguous(**k): return Odd()\n"
        "def unserial(**k): return (True, {'s': {1}})\n"
        "def echo(jobName, headers, params, added_params):\n"
        "    return True, {'job': jobName, 'params': params, 'prev': added_params}\n");
}

/* ---- resolution ---- */

static void test_resolve(void)
{
    char want[PATH_MAX + 64];

    CHECK(py->resolve(DCMP_PYTHON_WORKER, "temp.worker", err, sizeof err) == 1);
    CHECK(py->resolve(DCMP_PYTHON_WORKER, "ms-sub.worker", err, sizeof err) == 1);

    CHECK(py->resolve(DCMP_PYTHON_WORKER, "nosuch.worker", err, sizeof err) == 0);
    snprintf(want, sizeof want, "tried %s/nosuch/ and %s/nosuch.py", modules, modules);
    CHECK_CONTAINS(err, want);
    CHECK_CONTAINS(err, "no module nosuch under MODULES");

    /* a callback's module is not looked for under MODULES, though REGISTRY has it */
    CHECK(py->resolve(DCMP_PYTHON_WORKER, "shapes.t", err, sizeof err) == 0);
    CHECK(py->resolve(DCMP_PYTHON_CALLBACK, "shapes.t", err, sizeof err) == 1);

    CHECK(py->resolve(DCMP_PYTHON_WORKER, "broken.worker", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "importing broken (");
    snprintf(want, sizeof want, "%s/broken/__init__.py", modules);
    CHECK_CONTAINS(err, want);
    CHECK_CONTAINS(err, "ModuleNotFoundError: No module named 'does_not_exist_xyz'");
    CHECK_CONTAINS(err, "line 1");

    CHECK(py->resolve(DCMP_PYTHON_WORKER, "temp.nope", err, sizeof err) == -1);
    snprintf(want, sizeof want, "module temp (%s/temp/__init__.py) has no attribute nope", modules);
    CHECK_CONTAINS(err, want);

    CHECK(py->resolve(DCMP_PYTHON_WORKER, "temp.sub.worker", err, sizeof err) == -1);
    snprintf(want, sizeof want, "%s/temp/sub/__init__.py or %s/temp/sub.py", modules, modules);
    CHECK_CONTAINS(err, want);

    CHECK(py->resolve(DCMP_PYTHON_WORKER, "notfn.worker", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "worker of module notfn is a int, not a function");
    CHECK(py->resolve(DCMP_PYTHON_WORKER, "../x.worker", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "[A-Za-z0-9_-]+");
    CHECK(py->resolve(DCMP_PYTHON_WORKER, "noworker", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "no module part");
    CHECK(py->resolve(DCMP_PYTHON_WORKER, "json.dumps", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "a module named json is already imported from /");
    /* temp is the workers' here: the registry's temp is refused, saying why */
    CHECK(py->resolve(DCMP_PYTHON_CALLBACK, "temp.callback", err, sizeof err) == -1);
    snprintf(want, sizeof want, "already imported from %s/temp/__init__.py, not from %s", modules,
             registry);
    CHECK_CONTAINS(err, want);
    CHECK(py->resolve(7, "temp.worker", err, sizeof err) == -1);
}

/* ---- workers ---- */

static void test_worker(void)
{
    char out[4096], errout[4096];
    char *result = NULL;

    CHECK(call_captured(DCMP_PYTHON_WORKER, "temp.worker", &result, out, errout, sizeof out) ==
          DCMP_OK);
    CHECK_STR(result, "{\"job\":\"j1\",\"n\":12345678901234567890,\"f\":0.1,\"big\":1e+308,"
                      "\"types\":[\"dict\",\"list\"],\"prev\":\"v\"}");
    CHECK_STR(out, "hello j1\n");
    free(result);

    CHECK(py->call(DCMP_PYTHON_WORKER, "kw.worker",
                   "{\"jobName\":\"j\",\"headers\":{},"
                   "\"params\":null,\"added_params\":{},\"extra\":1}",
                   &result, err, sizeof err) == DCMP_OK);
    CHECK_STR(result, "[\"added_params\",\"extra\",\"headers\",\"jobName\",\"params\"]");
    free(result);
    CHECK(py->call(DCMP_PYTHON_WORKER, "ms-sub.worker", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    CHECK_STR(result, "\"j1\"");
    free(result);

    /* values that are not JSON: the job succeeds, nothing stored, a line on stderr */
    CHECK(call_captured(DCMP_PYTHON_WORKER, "odd.aset", &result, out, errout, sizeof out) ==
          DCMP_OK);
    CHECK(result == NULL);
    CHECK_CONTAINS(errout, "python: odd.aset: its return value (set) is not stored as the "
                           "result: not JSON-serializable: TypeError: Object of type set");
    CHECK(call_captured(DCMP_PYTHON_WORKER, "odd.nan", &result, out, errout, sizeof out) ==
          DCMP_OK);
    CHECK(result == NULL);
    CHECK_CONTAINS(errout, "ValueError: Out of range float values are not JSON compliant");
    CHECK(call_captured(DCMP_PYTHON_WORKER, "odd.big", &result, out, errout, sizeof out) ==
          DCMP_OK);
    CHECK(result == NULL);
    CHECK_CONTAINS(errout, "over the cap of 1048576");
    CHECK(call_captured(DCMP_PYTHON_WORKER, "odd.none", &result, out, errout, sizeof out) ==
          DCMP_OK);
    CHECK(result == NULL);
    CHECK_STR(out, "nothing\n");
    CHECK_STR(errout, "");
    CHECK(call_captured(DCMP_PYTHON_WORKER, "odd.noisy", &result, out, errout, sizeof out) ==
          DCMP_OK);
    CHECK_STR(errout, "to stderr");
    CHECK_STR(result, "5");
    free(result);

    /* modules stay imported between calls */
    CHECK(py->call(DCMP_PYTHON_WORKER, "state.worker", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    CHECK_STR(result, "1");
    free(result);
    CHECK(py->call(DCMP_PYTHON_WORKER, "state.worker", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    CHECK_STR(result, "2");
    free(result);

    /* bad arguments and names */
    CHECK(py->call(DCMP_PYTHON_WORKER, "kw.worker", "[1]", &result, err, sizeof err) == DCMP_ERROR);
    CHECK_CONTAINS(err, "the call's arguments are not a JSON object");
    CHECK(py->call(DCMP_PYTHON_WORKER, "kw.worker", "{", &result, err, sizeof err) == DCMP_ERROR);
    CHECK_CONTAINS(err, "not valid JSON: JSONDecodeError");
    /* read as json.loads reads it, whitespace, what follows and a BOM included */
    CHECK(py->call(DCMP_PYTHON_WORKER, "kw.worker", " \n{\"a\": 1} \t", &result, err, sizeof err) ==
          DCMP_OK);
    CHECK_STR(result, "[\"a\"]");
    free(result);
    CHECK(py->call(DCMP_PYTHON_WORKER, "kw.worker", "{} {}", &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "not valid JSON: JSONDecodeError: Extra data");
    CHECK(py->call(DCMP_PYTHON_WORKER, "kw.worker", "\xef\xbb\xbf{}", &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "not valid JSON: JSONDecodeError: Unexpected UTF-8 BOM");
    CHECK(py->call(DCMP_PYTHON_WORKER, "kw.worker", "{\"a\": NaN}", &result, err, sizeof err) ==
          DCMP_OK);
    free(result);
    CHECK(py->call(DCMP_PYTHON_WORKER, "nosuch.worker", kwargs, &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "no module nosuch");
    CHECK(result == NULL);
    /* a missing keyword is the function's TypeError, as under RQ */
    CHECK(py->call(DCMP_PYTHON_WORKER, "temp.worker", "{}", &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "TypeError: worker() missing 4 required positional arguments");
}

static void test_exceptions(void)
{
    char *result = NULL, want[PATH_MAX + 64];
    size_t len;

    CHECK(py->call(DCMP_PYTHON_WORKER, "odd.boom", kwargs, &result, err, sizeof err) == DCMP_ERROR);
    CHECK(result == NULL);
    CHECK(strncmp(err, "ValueError: bad input j1\nTraceback (most recent call last):\n", 60) == 0);
    snprintf(want, sizeof want, "  File \"%s/odd/__init__.py\", line 13, in boom\n", modules);
    CHECK_CONTAINS(err, want);
    CHECK_CONTAINS(err, "line 11, in inner\n    raise ValueError('bad input ' + name)\n");
    len = strlen(err);
    CHECK(len > 25 && strcmp(err + len - 25, "ValueError: bad input j1\n") == 0);

    /* capped: the end (the exception's last line) is kept */
    CHECK(py->call(DCMP_PYTHON_WORKER, "odd.huge", kwargs, &result, err, sizeof err) == DCMP_ERROR);
    len = strlen(err);
    CHECK(len < sizeof err && len > sizeof err - 200);
    CHECK(strncmp(err, "RuntimeError: yyy", 17) == 0);
    CHECK_CONTAINS(err, " bytes cut ...]");
    CHECK(len > 5 && strcmp(err + len - 5, "yyyy\n") == 0);
    /* a smaller buffer is respected too */
    {
        char small[64];

        CHECK(py->call(DCMP_PYTHON_WORKER, "odd.boom", kwargs, &result, small, sizeof small) ==
              DCMP_ERROR);
        CHECK(strlen(small) < sizeof small);
        CHECK(strncmp(small, "ValueError: bad", 15) == 0);
    }

    /* sys.exit() ends the call, not the process */
    CHECK(py->call(DCMP_PYTHON_WORKER, "odd.leave", kwargs, &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK(strncmp(err, "SystemExit: 3\n", 14) == 0);
    CHECK(py->call(DCMP_PYTHON_WORKER, "state.worker", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    free(result);
}

/* ---- callbacks: every answer shape, as the original read it ---- */

static void test_callbacks(void)
{
    static const struct {
        const char *fn;
        int status;
        const char *inject; /* NULL: none */
    } shapes[] = {
        {"t", DCMP_OK, "{}"},
        {"f", DCMP_SKIP, NULL},
        {"t_dict", DCMP_OK, "{\"a\":1}"},
        {"l_dict", DCMP_OK, "{\"a\":2}"},
        {"f_dict", DCMP_SKIP, NULL},
        {"t_only", DCMP_OK, "{}"},
        {"one", DCMP_OK, "{}"},
        {"none", DCMP_SKIP, NULL},
        {"t_str", DCMP_OK, "{}"},
        {"zero", DCMP_SKIP, NULL},
        {"empty_str", DCMP_SKIP, NULL},
        {"x", DCMP_OK, "{}"},
        {"empty_list", DCMP_SKIP, NULL},
        {"empty_tuple", DCMP_SKIP, NULL},
        {"empty_dict", DCMP_SKIP, NULL},
        {"a_dict", DCMP_OK, "{}"}, /* a dict is the answer itself, never an injection */
        {"zero_dict", DCMP_SKIP, NULL},
        {"list_first", DCMP_OK, "{\"a\":5}"}, /* [0] is a non-empty list: true */
        {"three", DCMP_OK, "{\"a\":6}"},
        {"ordered", DCMP_OK, "{\"b\":2}"},
        {"named", DCMP_OK, "{\"a\":7}"},
    };
    char dotted[64], *result;
    size_t i;

    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int before = harness_failed;

        snprintf(dotted, sizeof dotted, "shapes.%s", shapes[i].fn);
        result = NULL;
        CHECK(py->call(DCMP_PYTHON_CALLBACK, dotted, kwargs, &result, err, sizeof err) ==
              shapes[i].status);
        if (shapes[i].inject)
            CHECK_STR(result, shapes[i].inject);
        else
            CHECK(result == NULL);
        if (harness_failed != before)
            fprintf(stderr, "  after %s: %s\n", dotted, result ? result : "(none)");
        free(result);
    }
    CHECK(py->call(DCMP_PYTHON_CALLBACK, "shapes.ambiguous", kwargs, &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "python: shapes.ambiguous: reading the callback's answer: its truth "
                        "value: TypeError: no truth here");
    CHECK(py->call(DCMP_PYTHON_CALLBACK, "shapes.unserial", kwargs, &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "the dict it injected is not JSON-serializable: TypeError");
    CHECK(py->call(DCMP_PYTHON_CALLBACK, "shapes.echo", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    CHECK_STR(result, "{\"job\":\"j1\",\"params\":{\"big\":1e+308,\"list\":[1,2]},"
                      "\"prev\":{\"prev\":{\"k\":\"v\"}}}");
    free(result);
}

/* ---- reload ---- */

/* The worker `name` runs and returns the JSON text `want`. */
static void worker_returns(const char *name, const char *want)
{
    char *result = NULL;

    CHECK(py->call(DCMP_PYTHON_WORKER, name, kwargs, &result, err, sizeof err) == DCMP_OK);
    CHECK_STR(result, want);
    free(result);
}

static void test_reload(void)
{
    char *result = NULL;

    worker_returns("ver.worker", "1");
    CHECK(py->reload(err, sizeof err) == 0);
    /* a reinstall: a new file, and __init__.py rewritten to use it */
    put(modules, "ver/extra.py", "VALUE = 22\n");
    put(modules, "ver/__init__.py",
        "from .extra import VALUE\ndef worker(**kw):\n"
        "    return VALUE\n");
    CHECK(py->reload(err, sizeof err) == 1);
    worker_returns("ver.worker", "22");
    CHECK(py->reload(err, sizeof err) == 0);
    /* a service whose files did not change keeps its module (and state) */
    CHECK(py->call(DCMP_PYTHON_WORKER, "state.worker", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    CHECK(result != NULL && atoi(result) >= 3);
    free(result);
    /* only the files modules were loaded from are looked at: another file of the service
     * changes nothing; a submodule rewritten alone does */
    put(modules, "ver/notes.txt", "not Python\n");
    CHECK(py->reload(err, sizeof err) == 0);
    put(modules, "ver/extra.py", "VALUE = 333\n");
    CHECK(py->reload(err, sizeof err) == 1);
    worker_returns("ver.worker", "333");
    /* a module imported inside a call (after the service's import) is watched too */
    put(modules, "lazy/__init__.py",
        "def worker(**kw):\n    from . import late\n"
        "    return late.V\n");
    put(modules, "lazy/late.py", "V = 1\n");
    worker_returns("lazy.worker", "1");
    CHECK(py->reload(err, sizeof err) == 0);
    put(modules, "lazy/late.py", "V = 42\n");
    CHECK(py->reload(err, sizeof err) == 1);
    worker_returns("lazy.worker", "42");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- a virtual environment, in a process of its own (one interpreter per process) ---- */

static int venv_child(const char *venv)
{
    char *result = NULL;

    CHECK(py->init("/nonexistent-venv", NULL, registry, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "/nonexistent-venv is not a virtual environment");
    CHECK(py->init(venv, NULL, registry, err, sizeof err) == 0);
    /* the original's template callback, from REGISTRY/temp/__init__.py */
    CHECK(py->call(DCMP_PYTHON_CALLBACK, "temp.callback", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    CHECK_STR(result, "{\"custom-data\":\"Some new data\"}");
    free(result);
    /* the venv's own package, and the system's (pydicom) beside it */
    CHECK(py->call(DCMP_PYTHON_CALLBACK, "vcheck.callback", kwargs, &result, err, sizeof err) ==
          DCMP_OK);
    CHECK_STR(result, "{\"venv\":\"from the venv\"}");
    if (result == NULL)
        fprintf(stderr, "  vcheck: %s\n", err);
    free(result);
    CHECK(py->call(DCMP_PYTHON_WORKER, "temp.worker", kwargs, &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "no MODULES root was given");
    return harness_failed ? 1 : 0;
}

static void test_venv(void)
{
    const char *exe = getenv("DCMP_PYTHON_EXE");
    char venv[PATH_MAX];
    char *argv[8];
    pid_t pid;
    int status = -1;
    glob_t g;

    CHECK(exe != NULL);
    if (exe == NULL)
        return;
    snprintf(venv, sizeof venv, "%s/venv", dir);
    argv[0] = (char *)exe;
    argv[1] = "-m";
    argv[2] = "venv";
    argv[3] = "--without-pip";
    argv[4] = "--system-site-packages";
    argv[5] = venv;
    argv[6] = NULL;
    CHECK(posix_spawn(&pid, exe, NULL, NULL, argv, environ) == 0);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(venv, sizeof venv, "%s/venv/lib/python3*/site-packages", dir);
    CHECK(glob(venv, 0, NULL, &g) == 0 && g.gl_pathc == 1);
    if (g.gl_pathc == 1)
        put(g.gl_pathv[0], "onlyvenv.py", "X = 'from the venv'\n");
    globfree(&g);
    snprintf(venv, sizeof venv, "%s/venv", dir);
    fflush(stderr);
    pid = fork();
    if (pid == 0)
        _exit(venv_child(venv));
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const char *lib = getenv("DCMP_PYTHON_LIB"), *tmp = getenv("TMPDIR");
    void *h;
    char *result = NULL;

    snprintf(dir, sizeof dir, "%s/dcmp-python-XXXXXX", tmp ? tmp : "/tmp");
    if (lib == NULL || mkdtemp(dir) == NULL) {
        fprintf(stderr, "DCMP_PYTHON_LIB unset or no temp dir: %s\n", strerror(errno));
        return 1;
    }
    snprintf(modules, sizeof modules, "%s/modules", dir);
    snprintf(registry, sizeof registry, "%s/registry", dir);
    mkdir(modules, 0755);
    mkdir(registry, 0755);
    write_services();

    h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    py = h ? (const dcmp_python_table *)dlsym(h, DCMP_PYTHON_RUNNER_SYMBOL) : NULL;
    CHECK(py != NULL);
    if (py == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return HARNESS_RESULT();
    }
    CHECK(py->version == DCMP_PYTHON_RUNNER_VERSION);
    CHECK(py->size == sizeof(dcmp_python_table));

    RUN(test_venv); /* forks before this process starts its own interpreter */
    CHECK(py->call(DCMP_PYTHON_WORKER, "temp.worker", kwargs, &result, err, sizeof err) ==
          DCMP_ERROR);
    CHECK_CONTAINS(err, "not started");
    CHECK(py->init(NULL, "/nonexistent-modules", registry, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "MODULES root /nonexistent-modules is not a folder");
    CHECK(py->init(NULL, modules, registry, err, sizeof err) == 0);
    CHECK(py->init(NULL, modules, registry, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "already started");
    RUN(test_resolve);
    RUN(test_worker);
    RUN(test_exceptions);
    RUN(test_callbacks);
    RUN(test_reload);
    if (harness_failed == 0) /* kept to look at when something failed */
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return HARNESS_RESULT();
}
