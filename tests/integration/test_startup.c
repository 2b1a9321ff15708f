/* test_startup.c -- dcmp-worker at start: a broken settings file or value is refused with a
 * message naming it, --check prints what it would use, and a worker started before Redis
 * waits for it and then serves. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "redis.h"

extern char **environ;

static fixture f;

/* Runs dcmp-worker --check with `env_text` as its .env file and `extra` (K=V or NULL) in its
 * environment; returns its exit status and its output in out[size]. */
static int check_run(const char *env_text, const char *extra, char *out, size_t size)
{
    char envfile[PATH_MAX + 32], outfile[PATH_MAX + 32], envarg[PATH_MAX + 40];
    char *argv[] = {getenv("DCMP_WORKER_BIN"), "--check", "--env", envarg, NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", (char *)extra, NULL};
    posix_spawn_file_actions_t fa;
    FILE *fp;
    pid_t pid;
    int status = -1;
    size_t n;

    snprintf(envfile, sizeof envfile, "%s/test.env", f.dir);
    snprintf(outfile, sizeof outfile, "%s/check.out", f.dir);
    snprintf(envarg, sizeof envarg, "%s", envfile);
    if ((fp = fopen(envfile, "w")) == NULL)
        return -1;
    fputs(env_text, fp);
    fclose(fp);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, outfile, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0)
        return -1;
    posix_spawn_file_actions_destroy(&fa);
    waitpid(pid, &status, 0);
    out[0] = '\0';
    if ((fp = fopen(outfile, "r")) != NULL) {
        n = fread(out, 1, size - 1, fp);
        out[n] = '\0';
        fclose(fp);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_check_good(void)
{
    char out[4096];

    CHECK(check_run("# settings\nREDIS_HOST=127.0.0.9\nREDIS_PORT=6400\n"
                    "WORKER_JOBS='high default low'\nBASEDIR=/srv/dcmp\n",
                    NULL, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "redis: 127.0.0.9:6400");
    CHECK_CONTAINS(out, "queues: high default low");
    CHECK_CONTAINS(out, "modules: /srv/dcmp/modules");
}

static void test_check_bad(void)
{
    char out[4096];

    CHECK(check_run("REDIS_HOST=x\nthis line is wrong\n", NULL, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "test.env:2: expected KEY=VALUE");
    CHECK(check_run("REDIS_PORT=99999\n", NULL, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "REDIS_PORT");
    CHECK_CONTAINS(out, "99999");
    CHECK(check_run("WORKER_JOBS='default bad!name'\n", NULL, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "bad!name");
    CHECK(check_run("", "WORKER_EXECUTOR=threads", out, sizeof out) == 1);
    CHECK_CONTAINS(out, "WORKER_EXECUTOR");
    CHECK(check_run("", "DCMP_EXECUTOR=/nonexistent/dcmp-executor", out, sizeof out) == 1);
    CHECK_CONTAINS(out, "/nonexistent/dcmp-executor: No such file or directory");
    CHECK_CONTAINS(out, "DCMP_EXECUTOR");
    CHECK(check_run("JOB_TTL_FAILED=forever\n", NULL, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "JOB_TTL_FAILED");
}

/* A worker started while Redis is down retries with backoff and serves once it is up. */
static void test_redis_later(void)
{
    const char *jobs[] = {"late|testmods.noop|default|"};
    char ids[1][DCMP_ID_LEN], *log;
    int status;

    kill(f.redis, SIGTERM);
    waitpid(f.redis, &status, 0);
    f.redis = -1;
    fixture_worker(&f, "default", NULL);
    sleep(1);
    CHECK(fixture_redis_restart(&f) == 0);
    CHECK(fixture_enqueue(&f, jobs, 1, NULL, 60, ids) == 0);
    CHECK(fixture_wait_state(&f, ids[0], "finished", 20000) == 0);
    log = fixture_read_data(&f, "../worker-0.log");
    CHECK_CONTAINS(log, "retrying in");
    free(log);
}

int main(void)
{
    if (fixture_start(&f) < 0)
        return 1;
    RUN(test_check_good);
    RUN(test_check_bad);
    RUN(test_redis_later);
    fixture_stop(&f, harness_failed);
    return HARNESS_RESULT();
}
