/* test_scripts.c -- a worker runs every MODULES/<service>/script.sh once at start, in the
 * service's folder, logging its output, then serves jobs (as the original's worker did); the
 * script of a service installed or changed while it runs runs then. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"

static fixture f;

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

static void test_script_runs_once(void)
{
    char mods[PATH_MAX + 16], dir[PATH_MAX + 32], path[PATH_MAX + 48], lib[PATH_MAX + 48];
    char src[PATH_MAX + 32], ids[1][DCMP_ID_LEN], *out, *log;
    const char *jobs[] = {"after|svc.testmods.noop|default|"};
    pid_t w;

    snprintf(mods, sizeof mods, "%s/modules", f.dir);
    snprintf(dir, sizeof dir, "%s/svc", mods);
    CHECK(mkdir(mods, 0755) == 0 && mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/script.sh", dir);
    /* writes where it ran (its folder) into DATA, and a line to its output */
    CHECK(write_file(path, "pwd >> \"$DATA/script-ran\"\necho hello from script\n") == 0);
    snprintf(lib, sizeof lib, "%s/testmods.so", dir);
    snprintf(src, sizeof src, "%s/testmods.so", getenv("DCMP_TEST_MODULES"));
    CHECK(symlink(src, lib) == 0);
    f.modules = mods;
    f.scripts = 1;
    w = fixture_worker(&f, "default", NULL);
    CHECK(fixture_enqueue(&f, jobs, 1, NULL, 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[0], "finished", 20000) == 0);
    out = fixture_read_data(&f, "script-ran");
    CHECK(out != NULL);
    if (out) {
        CHECK_CONTAINS(out, "/modules/svc");
        CHECK(strchr(out, '\n') == out + strlen(out) - 1); /* exactly once */
        free(out);
    }
    fixture_worker_stop(&f, w, 15);
    snprintf(path, sizeof path, "../worker-0.log");
    log = fixture_read_data(&f, path);
    CHECK(log != NULL);
    if (log) {
        CHECK_CONTAINS(log, "script.sh: hello from script");
        free(log);
    }
}

/* Reads DATA/name and counts its lines (0 when absent). */
static int lines_of(const char *name)
{
    char *text = fixture_read_data(&f, name), *p;
    int n = 0;

    if (text == NULL)
        return 0;
    for (p = text; *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

/* Waits up to ms for DATA/name to have `want` lines. */
static int wait_lines(const char *name, int want, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        if (lines_of(name) >= want)
            return 0;
        usleep(50000);
    }
    return -1;
}

/* A service installed while the worker runs: its script.sh runs without a restart, once; a
 * changed script.sh (a reinstall) runs again; an unchanged one does not. */
static void test_script_of_new_service(void)
{
    char mods[PATH_MAX + 16], dir[PATH_MAX + 32], tmp[PATH_MAX + 32], path[PATH_MAX + 48];
    pid_t w;

    snprintf(mods, sizeof mods, "%s/modules2", f.dir);
    CHECK(mkdir(mods, 0755) == 0);
    f.modules = mods;
    f.scripts = 1;
    w = fixture_worker(&f, "default", NULL);
    usleep(300000);
    /* installed the way service.sh does it: written beside, then renamed into place */
    snprintf(tmp, sizeof tmp, "%s/.late.tmp", mods);
    snprintf(dir, sizeof dir, "%s/late", mods);
    CHECK(mkdir(tmp, 0755) == 0);
    snprintf(path, sizeof path, "%s/script.sh", tmp);
    CHECK(write_file(path, "echo first >> \"$DATA/late-ran\"\n") == 0);
    CHECK(rename(tmp, dir) == 0);
    CHECK(wait_lines("late-ran", 1, 20000) == 0);
    /* unchanged: not run again over a few scans */
    sleep(5);
    CHECK(lines_of("late-ran") == 1);
    /* reinstalled with another script: runs again */
    snprintf(path, sizeof path, "%s/script.sh", dir);
    CHECK(write_file(path, "echo second, changed >> \"$DATA/late-ran\"\n") == 0);
    CHECK(wait_lines("late-ran", 2, 20000) == 0);
    {
        char *text = fixture_read_data(&f, "late-ran");
        CHECK_CONTAINS(text, "first\nsecond, changed\n");
        free(text);
    }
    fixture_worker_stop(&f, w, 15);
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    RUN(test_script_runs_once);
    RUN(test_script_of_new_service);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
