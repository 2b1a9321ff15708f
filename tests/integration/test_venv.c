/* test_venv.c -- Python services with their own virtual environment: two services pinning
 * dcmpdemo 1.0 and 2.0 (wheels the test builds, pip told by its own environment to use them,
 * nothing downloaded) installed with service.sh, each job seeing its version; a requirement
 * that does not exist fails the install with pip's message and leaves the old service working;
 * a worker started with an environment missing makes it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"

#define PYTHON "/usr/bin/python3" /* Debian's, with setuptools and wheel: offline builds */

static fixture f;
static char base[PATH_MAX], modules[PATH_MAX + 16], wheels[PATH_MAX + 16], bindir[PATH_MAX];
static char env_base[PATH_MAX + 16], env_links[PATH_MAX + 32], env_home[PATH_MAX + 16];
static char env_path[PATH_MAX + 16], env_bin[PATH_MAX + 16], env_logs[PATH_MAX + 16];
static char out[1 << 16];
static pid_t worker; /* the worker serving the jobs */

/* pip's own configuration, as a site without internet gives it: no index, a wheel folder */
static const char *const pip_env[] = {env_links, "PIP_NO_INDEX=1", env_home, env_logs, NULL};

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX * 2];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (fp == NULL)
        return;
    fputs(text, fp);
    fclose(fp);
}

static void make_dir(const char *path)
{
    CHECK(mkdir(path, 0700) == 0);
}

/* A source folder of dcmpdemo `version`, built into a wheel in `wheels` by Debian's pip. */
static void make_wheel(const char *version)
{
    char src[PATH_MAX + 32], pkg[PATH_MAX + 48], text[256];
    char *argv[] = {PYTHON,       "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w",  wheels,  src,         NULL};
    char *envp[] = {env_path, env_home, NULL};

    snprintf(src, sizeof src, "%s/dcmpdemo-%s", f.dir, version);
    snprintf(pkg, sizeof pkg, "%s/dcmpdemo", src);
    make_dir(src);
    make_dir(pkg);
    snprintf(text, sizeof text,
             "[build-system]\nrequires = [\"setuptools\"]\n"
             "build-backend = \"setuptools.build_meta\"\n"
             "[project]\nname = \"dcmpdemo\"\nversion = \"%s\"\n",
             version);
    write_file(src, "pyproject.toml", text);
    snprintf(text, sizeof text, "__version__ = \"%s\"\n", version);
    write_file(pkg, "__init__.py", text);
    if (fixture_run(&f, argv, envp, out, sizeof out) != 0) {
        fprintf(stderr, "pip wheel %s:\n%s\n", src, out);
        CHECK(!"the wheel was not built");
    }
}

/* A service folder NAME (registry/ and module/) whose requirements.txt is `requirements`; its
 * worker reports dcmpdemo's version and the interpreter's prefix. */
static void make_service(const char *name, const char *requirements, char *dir, size_t size)
{
    char part[PATH_MAX * 2], text[256];

    snprintf(dir, size, "%s/src-%s", f.dir, name);
    mkdir(dir, 0700); /* made again for a second version */
    snprintf(part, sizeof part, "%s/registry", dir);
    mkdir(part, 0700);
    snprintf(text, sizeof text, "{\"jobName\": \"%s\", \"worker\": \"%s.worker\"}\n", name, name);
    write_file(part, "settings.json", text);
    snprintf(part, sizeof part, "%s/module", dir);
    mkdir(part, 0700);
    write_file(part, "__init__.py",
               "import sys\nimport dcmpdemo\n\n"
               "def worker(**kwargs):\n"
               "    return {'version': dcmpdemo.__version__, 'prefix': sys.prefix}\n");
    write_file(part, "requirements.txt", requirements);
}

/* ./service.sh install NAME -p DIR --no-validate; its exit status, its output in out. */
static int install(const char *name, const char *dir)
{
    char script[PATH_MAX + 32];
    char *argv[] = {script, "install", (char *)name, "-p", (char *)dir, "--no-validate", NULL};
    char *envp[] = {env_base,  "DCMP_ENV=",      env_path, env_bin, env_home,
                    env_links, "PIP_NO_INDEX=1", env_logs, NULL};

    snprintf(script, sizeof script, "%s/service.sh", getenv("DCMP_SOURCE_DIR"));
    return fixture_run(&f, argv, envp, out, sizeof out);
}

/* Runs NAME.worker and checks its result names dcmpdemo `version` and NAME's environment. */
static void expect_version(const char *name, const char *version)
{
    char spec[128], want[PATH_MAX + 64], ids[1][DCMP_ID_LEN];
    const char *specs[1] = {spec};
    dcmp_job job;

    snprintf(spec, sizeof spec, "%s|%s.worker|default|", name, name);
    if (fixture_enqueue(&f, specs, 1, NULL, 120, ids) < 0 ||
        fixture_wait_state(&f, ids[0], "finished", 180000) < 0 ||
        dcmp_queue_job(f.q, ids[0], &job) != 1) {
        fprintf(stderr, "%s.worker did not finish\n", name);
        CHECK(!"job did not finish");
        return;
    }
    snprintf(want, sizeof want, "\"version\":\"%s\"", version);
    CHECK_CONTAINS(job.result, want);
    snprintf(want, sizeof want, "\"prefix\":\"%s/.venvs/%s\"", modules, name);
    CHECK_CONTAINS(job.result, want);
    dcmp_job_clear(&job);
}

/* Two services pinning two versions of one package, installed with service.sh. */
static void test_install(void)
{
    char dir[PATH_MAX + 32], cfg[PATH_MAX * 2];
    int rc;

    make_service("one", "dcmpdemo==1.0\n", dir, sizeof dir);
    if ((rc = install("one", dir)) != 0)
        fprintf(stderr, "install one:\n%s\n", out);
    CHECK(rc == 0);
    make_service("two", "dcmpdemo==2.0\n", dir, sizeof dir);
    if ((rc = install("two", dir)) != 0)
        fprintf(stderr, "install two:\n%s\n", out);
    CHECK(rc == 0);
    snprintf(cfg, sizeof cfg, "%s/.venvs/two/pyvenv.cfg", modules);
    CHECK(access(cfg, F_OK) == 0);
    snprintf(cfg, sizeof cfg, "%s/logs/venv-two.log", base);
    CHECK(access(cfg, F_OK) == 0); /* pip's output */
}

/* Each job in its own environment, one after the other and back (in the pool, the executor
 * is replaced for the other one). */
static void test_two_versions(void)
{
    expect_version("one", "1.0");
    expect_version("two", "2.0");
    expect_version("one", "1.0");
}

/* A requirement no index or folder has: the install fails with pip's message, the service
 * and environment installed before stay and keep working. */
static void test_failed_install(void)
{
    char dir[PATH_MAX + 32], req[PATH_MAX * 2];
    FILE *fp;

    make_service("one", "dcmpdemo==2.0\nnosuch-dcmp-package==9.9\n", dir, sizeof dir);
    CHECK(install("one", dir) == 1);
    CHECK_CONTAINS(out, "nosuch-dcmp-package==9.9");
    CHECK_CONTAINS(out, "No matching distribution found");
    CHECK_CONTAINS(out, "nothing was installed");
    snprintf(req, sizeof req, "%s/one/requirements.txt", modules);
    if ((fp = fopen(req, "r")) != NULL) {
        char line[128] = "";
        CHECK(fgets(line, sizeof line, fp) != NULL);
        CHECK_STR(line, "dcmpdemo==1.0\n");
        fclose(fp);
    } else {
        CHECK(!"the old requirements.txt is gone");
    }
    expect_version("one", "1.0");
}

/* A worker started while a service's environment is missing (copied in without service.sh,
 * a Docker worker) makes it before it runs jobs. */
static void test_missing(void)
{
    char venv[PATH_MAX + 32], cfg[PATH_MAX + 48];
    char *argv[] = {"/bin/rm", "-rf", "--", venv, NULL};
    char *envp[] = {NULL};

    fixture_worker_stop(&f, worker, SIGTERM);
    snprintf(venv, sizeof venv, "%s/.venvs/two", modules);
    CHECK(fixture_run(&f, argv, envp, out, sizeof out) == 0);
    snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", venv);
    CHECK(access(cfg, F_OK) != 0);
    worker = fixture_worker(&f, "default", pip_env);
    expect_version("two", "2.0");
    CHECK(access(cfg, F_OK) == 0);
}

int main(void)
{
    const char *bin = getenv("DCMP_WORKER_BIN");
    const char *path = getenv("PATH");

    if (bin == NULL || getenv("DCMP_SOURCE_DIR") == NULL || fixture_start(&f) < 0)
        return 1;
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "test_venv: %s is missing (Debian's python3, python3-venv)\n", PYTHON);
        return 1;
    }
    snprintf(bindir, sizeof bindir, "%s", bin);
    *strrchr(bindir, '/') = '\0';
    snprintf(base, sizeof base, "%s/base", f.dir);
    snprintf(modules, sizeof modules, "%s/modules", base);
    snprintf(wheels, sizeof wheels, "%s/wheels", f.dir);
    snprintf(env_base, sizeof env_base, "BASEDIR=%s", base);
    snprintf(env_links, sizeof env_links, "PIP_FIND_LINKS=%s", wheels);
    snprintf(env_home, sizeof env_home, "HOME=%s", f.dir);
    snprintf(env_path, sizeof env_path, "PATH=%s", path ? path : "/usr/bin:/bin");
    snprintf(env_bin, sizeof env_bin, "DCMP_BIN=%s", bindir);
    snprintf(env_logs, sizeof env_logs, "LOGS=%s/logs", base);
    make_dir(base);
    make_dir(wheels);
    make_wheel("1.0");
    make_wheel("2.0");
    f.modules = modules;
    RUN(test_install);
    worker = fixture_worker(&f, "default", pip_env);
    RUN(test_two_versions);
    RUN(test_failed_install);
    RUN(test_missing);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
