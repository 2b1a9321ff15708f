/* test_containers.c -- container jobs end to end: a test image built FROM the base image, real
 * dcmp-worker processes and redis-server, the real Docker engine: a result with files, DICOM
 * and result.json, given to the C job that depends on it; exit code 3; a timeout (container gone);
 * an OOM; a missing image; no network by default; a worker SIGKILLed mid-job (its container removed
 * once the job is reaped); `dcm-processor validate` checking that the engine stores an entry's
 * image. Skips (77) when no engine answers, unless DCMP_REQUIRE_DOCKER=1. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enginelib.h"
#include "harness.h"
#include "plan.h"
#include "redis.h"

extern char **environ;

static fixture f;
static char image[128], docker[PATH_MAX];
static dcmp_engine eng;
static const dcmp_engine_ops *ops;

/* What the image runs: the job's params.mode picks the case. */
static const char entry_sh[] =
    "#!/bin/sh\n"
    "mode=$(printf '%s' \"$DCMP_KWARGS\" | sed -n 's/.*\"mode\":\"\\([a-z]*\\)\".*/\\1/p')\n"
    "case \"$mode\" in\n"
    "ok)\n"
    "  echo \"hello from the container\"\n"
    "  cp \"$DCMP_KWARGS_FILE\" /out/kwargs-seen.json\n"
    "  id -u > /out/uid\n"
    "  touch /data/written 2>/dev/null || echo read-only > /out/data-ro\n"
    "  mkdir /out/seg && head -c 128 /dev/zero > /out/seg/x.dcm && printf DICM >> /out/seg/x.dcm\n"
    "  echo '{\"score\":7}' > /out/result.json ;;\n"
    "fail) echo \"failing on purpose\" >&2; exit 3 ;;\n"
    "sleep) echo sleeping; exec sleep 300 ;;\n"
    "oom) x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo \"${#x}\" ;;\n"
    "net)\n"
    "  ls /sys/class/net\n"
    "  bash -c 'echo > /dev/tcp/192.0.2.1/80' && exit 0\n"
    "  exit 4 ;;\n"
    "esac\n";

/* Runs docker with argv[1..] (fixed words, no shell); returns its exit status. */
static int run_docker(const char *const *args, char *out, size_t size)
{
    char *argv[16];
    int i;

    argv[0] = docker;
    for (i = 0; args[i] && i < 14; i++)
        argv[i + 1] = (char *)args[i];
    argv[i + 1] = NULL;
    return fixture_run(&f, argv, environ, out, size);
}

static int find_docker(void)
{
    const char *path = getenv("PATH");
    char dir[PATH_MAX];

    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s/docker", (int)n, path);
        if (access(dir, X_OK) == 0) {
            dcmp_strlcpy(docker, dir, sizeof docker);
            return 0;
        }
        path += n + (path[n] == ':');
    }
    return -1;
}

/* The test image, FROM the base image (made by scripts/base-image.sh when missing). */
static int build_image(void)
{
    char dir[PATH_MAX + 32], file[PATH_MAX + 64], out[8192], script[PATH_MAX + 64];
    const char *base[] = {"image", "inspect", "debian:bookworm-slim", NULL};
    FILE *fp;

    if (run_docker(base, out, sizeof out) != 0) {
        char *argv[] = {"/bin/bash", script, NULL};
        snprintf(script, sizeof script, "%s/scripts/base-image.sh", getenv("DCMP_SOURCE_DIR"));
        if (fixture_run(&f, argv, environ, out, sizeof out) != 0) {
            fprintf(stderr, "base image: %s\n", out);
            return -1;
        }
    }
    snprintf(dir, sizeof dir, "%s/image", f.dir);
    mkdir(dir, 0755);
    snprintf(file, sizeof file, "%s/entry.sh", dir);
    if ((fp = fopen(file, "w")) == NULL)
        return -1;
    fputs(entry_sh, fp);
    fclose(fp);
    snprintf(file, sizeof file, "%s/Dockerfile", dir);
    if ((fp = fopen(file, "w")) == NULL)
        return -1;
    fputs("FROM debian:bookworm-slim\nCOPY entry.sh /entry.sh\n"
          "ENTRYPOINT [\"/bin/sh\", \"/entry.sh\"]\n",
          fp);
    fclose(fp);
    {
        const char *args[] = {"build", "-q", "-t", image, dir, NULL};
        if (run_docker(args, out, sizeof out) != 0) {
            fprintf(stderr, "docker build: %s\n", out);
            return -1;
        }
    }
    return 0;
}

/* Plans settings (every callback says yes) and enqueues the graph; ids in plan order. */
static int enqueue_settings(const char *settings, char ids[][DCMP_ID_LEN], int max)
{
    cJSON *root = cJSON_Parse(settings), *data = cJSON_CreateObject();
    dcmp_plan_file file = {"test/settings.json", root, NULL};
    dcmp_job_spec specs[16];
    const char *dep_ids[16 * DCMP_DEPS_MAX];
    char err[DCMP_ERR_LEN], *graph;
    dcmp_plan_input in;
    dcmp_plan plan;
    int i, rc = -1;

    memset(&in, 0, sizeof in);
    in.registry = &file;
    in.nregistry = 1;
    in.data = data;
    if (dcmp_plan_make(&in, &plan, err) == 0 && plan.njobs <= max && plan.njobs <= 16) {
        for (i = 0; i < plan.nreports; i++)
            fprintf(stderr, "plan: %s\n", plan.reports[i]);
        dcmp_plan_specs(&plan, specs, dep_ids);
        if ((graph = dcmp_job_encode_graph("ctr-event", specs, plan.njobs, err)) != NULL) {
            rc = dcmp_queue_enqueue(f.q, graph) < 0 ? -1 : plan.njobs;
            free(graph);
        }
        for (i = 0; i < plan.njobs; i++)
            memcpy(ids[i], plan.jobs[i].id, DCMP_ID_LEN);
    }
    dcmp_plan_free(&plan);
    cJSON_Delete(root);
    cJSON_Delete(data);
    return rc;
}

/* The containers labelled with job id right now (running or not). */
static int containers_of(const char *id)
{
    dcmp_engine_labelled list[8];
    char err[DCMP_ERR_LEN];

    return ops->list(&eng, id, list, 8, err);
}

static void check_job(const char *id, const char *state, const char *error, const char *log)
{
    dcmp_job job;

    CHECK(fixture_wait_state(&f, id, state, 120000) == 0);
    CHECK(dcmp_queue_job(f.q, id, &job) == 1);
    if (error)
        CHECK_CONTAINS(job.error, error);
    if (log)
        CHECK_CONTAINS(job.log, log);
    if (strcmp(job.state, state) != 0)
        fprintf(stderr, "job %s: %s: %s\n%s\n", id, job.state, job.error, job.log);
    dcmp_job_clear(&job);
}

static void the_cases(void)
{
    char settings[4096], ids[8][DCMP_ID_LEN], path[256], *text;
    const char *const modes[] = {"ok", "fail", "sleep", "oom", "net"};
    dcmp_job job;
    int i, n;

    /* one entry per case, plus one whose image is missing, and a C job after the first */
    n = snprintf(settings, sizeof settings, "[");
    for (i = 0; i < 5; i++)
        n += snprintf(settings + n, sizeof settings - (size_t)n,
                      "{\"jobName\":\"%s\",\"callback\":\"m.cb\",\"params\":{\"mode\":\"%s\"},"
                      "\"timeout\":\"%s\",\"container\":{\"image\":\"%s\",\"memory\":\"32m\"}},",
                      modes[i], modes[i], i == 2 ? "12s" : "120s", image);
    snprintf(settings + n, sizeof settings - (size_t)n,
             "{\"jobName\":\"missing\",\"callback\":\"m.cb\",\"container\":{\"image\":"
             "\"dcmp-ctr-test-missing:none\"}},"
             "{\"jobName\":\"seen\",\"callback\":\"m.cb\",\"worker\":\"testmods.echo\","
             "\"dependsOn\":\"ok\"}]");
    CHECK(enqueue_settings(settings, ids, 8) == 7);

    check_job(ids[0], "finished", NULL, "hello from the container");
    CHECK(dcmp_queue_job(f.q, ids[0], &job) == 1);
    snprintf(path, sizeof path, "containers/%s/out/seg/x.dcm", ids[0]);
    CHECK_CONTAINS(job.result, path);
    CHECK_CONTAINS(job.result, "\"type\":\"dicom\"");
    CHECK_CONTAINS(job.result, "\"added_params\":{\"score\":7}");
    dcmp_job_clear(&job);
    /* the container's DICOM and result.json reached the job after it (docs/job-engine.md) */
    check_job(ids[6], "finished", NULL, NULL);
    CHECK(dcmp_queue_job(f.q, ids[6], &job) == 1);
    snprintf(path, sizeof path,
             "\"ok\":{\"score\":7,\"storage\":[{\"path\":\"containers/%s/out/seg/x.dcm\","
             "\"type\":\"dicom\"}]}",
             ids[0]);
    CHECK_CONTAINS(job.result, path);
    dcmp_job_clear(&job);
    snprintf(path, sizeof path, "containers/%s/out/uid", ids[0]);
    text = fixture_read_data(&f, path);
    CHECK_STR(text, "65534\n"); /* not root */
    free(text);
    snprintf(path, sizeof path, "containers/%s/out/data-ro", ids[0]);
    text = fixture_read_data(&f, path);
    CHECK_STR(text, "read-only\n");
    free(text);
    snprintf(path, sizeof path, "containers/%s/out/kwargs-seen.json", ids[0]);
    text = fixture_read_data(&f, path);
    CHECK_CONTAINS(text, "\"params\":{\"mode\":\"ok\"}");
    free(text);

    check_job(ids[1], "failed", "exited with code 3", "failing on purpose");
    check_job(ids[2], "failed", "timed out", "sleeping");
    check_job(ids[3], "failed", "OOM", NULL);
    check_job(ids[4], "failed", "exited with code 4", "Network is unreachable");
    check_job(ids[5], "failed", "dcmp-ctr-test-missing:none is not stored", NULL);
    /* none left (a removal under way may still be listed for a moment) */
    for (i = 0; i < 6; i++) {
        int k;
        for (k = 0; k < 600 && containers_of(ids[i]) != 0; k++)
            usleep(100000);
        CHECK(containers_of(ids[i]) == 0);
    }
}

/* A worker SIGKILLed while its container runs: once the reaper gave the job back, the other
 * workers' sweep removes the container. */
static void killed_worker(void)
{
    char settings[512], ids[1][DCMP_ID_LEN];
    pid_t victim;
    int i, seen = 0;

    victim = fixture_worker(&f, "killq", NULL);
    snprintf(settings, sizeof settings,
             "{\"jobName\":\"victim\",\"callback\":\"m.cb\",\"priority\":\"killq\",\"params\":"
             "{\"mode\":\"sleep\"},\"timeout\":\"300s\",\"container\":{\"image\":\"%s\"}}",
             image);
    CHECK(enqueue_settings(settings, ids, 1) == 1);
    CHECK(fixture_wait_state(&f, ids[0], "started", 60000) == 0);
    for (i = 0; i < 600 && !seen; i++) {
        seen = containers_of(ids[0]) == 1;
        usleep(100000);
    }
    CHECK(seen);
    fixture_worker_stop(&f, victim, SIGKILL);
    /* reaped after WORKER_TTL (2 s): queued again in killq, which no worker serves now */
    CHECK(fixture_wait_state(&f, ids[0], "queued", 60000) == 0);
    for (i = 0; i < 600 && containers_of(ids[0]) != 0; i++)
        usleep(100000);
    CHECK(containers_of(ids[0]) == 0);
    CHECK(dcmp_queue_cancel(f.q, ids[0], NULL) == 0);
}

/* validate says which entry's image the engine stores and which it does not. */
static void validate_images(void)
{
    char file[PATH_MAX + 32], out[16384], *cli = getenv("DCMP_CLI_BIN");
    char *argv[] = {cli, "validate", file, NULL};
    char *envp[] = {"DCMP_ENV=", NULL};
    FILE *fp;

    snprintf(file, sizeof file, "%s/settings.json", f.dir);
    if ((fp = fopen(file, "w")) == NULL || cli == NULL) {
        CHECK(0);
        return;
    }
    fprintf(fp,
            "[{\"jobName\":\"here\",\"callback\":\"m.cb\",\"container\":{\"image\":\"%s\"}},"
            "{\"jobName\":\"gone\",\"callback\":\"m.cb\",\"container\":{\"image\":"
            "\"dcmp-ctr-test-missing:none\"}},"
            "{\"jobName\":\"bad\",\"callback\":\"m.cb\",\"container\":{\"image\":\"x\","
            "\"memory\":\"lots\"}}]",
            image);
    fclose(fp);
    CHECK(fixture_run(&f, argv, envp, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "ok     entry 1 (here): container image dcmp-ctr-test:");
    CHECK_CONTAINS(out, "error  entry 2 (gone): container image dcmp-ctr-test-missing:none: not "
                        "stored by the docker engine");
    CHECK_CONTAINS(out, "entry 3 (bad): invalid: container.memory: must be bytes or a size");
}

int main(void)
{
    char err[DCMP_ERR_LEN];
    const char *tag = getenv("DCMP_IMAGE_TAG");
    int failed;

    if (dcmp_enginelib_open(&eng, &ops, err) <= 0 || ops->ping(&eng, err) < 0 ||
        find_docker() < 0) {
        const char *must = getenv("DCMP_REQUIRE_DOCKER");
        fprintf(stderr, "skipped: no Docker engine answers (%s)\n",
                docker[0] ? err : "no docker client in PATH");
        return must && strcmp(must, "1") == 0 ? 1 : 77;
    }
    snprintf(image, sizeof image, "dcmp-ctr-test:%s", tag && *tag ? tag : "test");
    if (fixture_start(&f) < 0)
        return 1;
    /* the container's user (65534) reads DATA through these folders */
    chmod(f.dir, 0755);
    chmod(f.data, 0755);
    if (build_image() < 0) {
        fixture_stop(&f, 1);
        return 1;
    }
    CHECK(fixture_worker(&f, "default", NULL) > 0);
    CHECK(fixture_worker(&f, "default", NULL) > 0);
    RUN(the_cases);
    RUN(killed_worker);
    RUN(validate_images);
    failed = harness_failed > 0;
    fixture_stop(&f, failed);
    return HARNESS_RESULT();
}
