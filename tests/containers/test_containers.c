/* test_containers.c -- container jobs end to end: test images built FROM the base image, real
 * dcmp-worker processes and redis-server, the real Docker engine: a result with files, DICOM
 * and result.json, given to the C job that depends on it; exit code 3; a timeout (container gone);
 * an OOM; a missing image; no network by default; a worker SIGKILLed mid-job (its container removed
 * once the job is reaped); WORKER_CONTAINER_SLOTS=1 (a second container job waits for the slot,
 * never overlapping the first); the worker never loading the engine client (its sweeps run in
 * children); `dcm-processor validate` checking that the engine stores an entry's image; a
 * mercure module (with each file's tags read with DCMTK) and a MONAI Application Package (run
 * from its manifest: command, environment, working directory, paths) reading a series made
 * with dump2dcm as their contracts say; MAP manifests whose timeout ends the job or that are
 * not JSON; the inputs refused without dcmpath or through a link out of DATA.
 * Skips (77) when no engine answers, unless DCMP_REQUIRE_DOCKER=1. */
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
static char image[128], mercure_image[128], monai_image[128], docker[PATH_MAX];
static char monai_old[128], monai_bad[128];
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
    "gate)\n"
    "  date +%s.%N > /out/start; i=0\n"
    "  while [ ! -e /data/go ] && [ $i -lt 900 ]; do sleep 0.2; i=$((i+1)); done\n"
    "  date +%s.%N > /out/end ;;\n"
    "stamp) date +%s.%N > /out/start; date +%s.%N > /out/end ;;\n"
    "esac\n";

/* A mercure module: what it saw in MERCURE_IN_DIR, its uid and task.json, and a copy of the
 * first input (a DICOM file) in MERCURE_OUT_DIR. */
static const char mercure_sh[] =
    "#!/bin/sh\n"
    "set -e\n"
    "cd \"$MERCURE_IN_DIR\"\n"
    "ls > \"$MERCURE_OUT_DIR/seen.txt\"\n"
    "id -u > \"$MERCURE_OUT_DIR/uid\"\n"
    "cp task.json \"$MERCURE_OUT_DIR/task-seen.json\"\n"
    "cat *.tags > \"$MERCURE_OUT_DIR/tags-seen.json\"\n"
    "for f in *.dcm; do cp \"$f\" \"$MERCURE_OUT_DIR/seg-$f\"; break; done\n"
    "touch written 2>/dev/null || echo read-only > \"$MERCURE_OUT_DIR/in-ro\"\n"
    "echo mercure module done\n";

/* A MAP: its manifest where the specification puts it, whose command (not the entrypoint's)
 * the runner runs: it lists its input and copies each DICOM file to its output, and says
 * what it was given (its argument, environment, working directory); "slow" sleeps. */
static const char monai_sh[] =
    "#!/bin/sh\n"
    "set -e\n"
    "[ \"$1\" = slow ] && exec sleep 60\n"
    "ls \"$HOLOSCAN_INPUT_PATH\" > \"$HOLOSCAN_OUTPUT_PATH/seen.txt\"\n"
    "echo \"$MONAI_INPUTPATH $MONAI_OUTPUTPATH $1 $MAP_MODEL $MAP_LEVEL $(pwd)\" > "
    "\"$HOLOSCAN_OUTPUT_PATH/env.txt\"\n"
    "id -u > \"$HOLOSCAN_OUTPUT_PATH/uid\"\n"
    "mkdir \"$HOLOSCAN_OUTPUT_PATH/seg\"\n"
    "cp \"$HOLOSCAN_INPUT_PATH\"/*.dcm \"$HOLOSCAN_OUTPUT_PATH/seg/\"\n"
    "echo map done\n";
static const char monai_layout[] =
    "RUN mkdir -p /etc/holoscan /opt/holoscan/app /opt/holoscan/models /var/holoscan && "
    "echo '{\"apiVersion\":\"1.0.0\",\"command\":\"[\\\"/bin/sh\\\", \\\"/entry.sh\\\", "
    "\\\"from-manifest\\\"]\",\"environment\":{\"MAP_MODEL\":\"manifest\",\"MAP_LEVEL\":\"1\","
    "\"HOLOSCAN_INPUT_PATH\":\"/var/holoscan/input\"},\"input\":{\"path\":\"dicom-in/\","
    "\"formats\":null},\"output\":{\"path\":\"/results\",\"format\":null},\"timeout\":600,"
    "\"workingDirectory\":\"/var/holoscan\"}' > /etc/holoscan/app.json\n";
/* an older MAP (/etc/monai/app.json) whose manifest's timeout is shorter than its entry's */
static const char monai_old_layout[] =
    "RUN mkdir -p /etc/monai /var/monai && echo '{\"command\":\"/bin/sh /entry.sh slow\","
    "\"timeout\":3,\"working-directory\":\"/var/monai\"}' > /etc/monai/app.json\n";
/* a MAP whose manifest is not JSON */
static const char monai_bad_layout[] =
    "RUN mkdir -p /etc/holoscan && echo 'not json {' > /etc/holoscan/app.json\n";

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

/* The program name found in PATH, into out[PATH_MAX]. Returns 0, or -1. */
static int find_program(const char *name, char *out)
{
    const char *path = getenv("PATH");
    char dir[PATH_MAX];

    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s/%s", (int)n, path, name);
        if (access(dir, X_OK) == 0) {
            dcmp_strlcpy(out, dir, PATH_MAX);
            return 0;
        }
        path += n + (path[n] == ':');
    }
    return -1;
}

/* A test image `name`, FROM the base image (made by scripts/base-image.sh when missing): the
 * Dockerfile lines `extra`, then entry_script as its entrypoint. */
static int build_image(const char *name, const char *script, const char *extra)
{
    char dir[PATH_MAX + 32], file[PATH_MAX + 64], out[8192], base_sh[PATH_MAX + 64];
    const char *base[] = {"image", "inspect", "debian:bookworm-slim", NULL};
    FILE *fp;

    if (run_docker(base, out, sizeof out) != 0) {
        char *argv[] = {"/bin/bash", base_sh, NULL};
        snprintf(base_sh, sizeof base_sh, "%s/scripts/base-image.sh", getenv("DCMP_SOURCE_DIR"));
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
    fputs(script, fp);
    fclose(fp);
    snprintf(file, sizeof file, "%s/Dockerfile", dir);
    if ((fp = fopen(file, "w")) == NULL)
        return -1;
    fprintf(fp,
            "FROM debian:bookworm-slim\n%sCOPY entry.sh /entry.sh\n"
            "ENTRYPOINT [\"/bin/sh\", \"/entry.sh\"]\n",
            extra);
    fclose(fp);
    {
        const char *args[] = {"build", "-q", "-t", name, dir, NULL};
        if (run_docker(args, out, sizeof out) != 0) {
            fprintf(stderr, "docker build: %s\n", out);
            return -1;
        }
    }
    return 0;
}

/* Plans settings (every callback says yes) for an event of data (NULL: none; every field a
 * header) and enqueues the graph; ids in plan order. */
static int enqueue_event(const char *settings, const char *data_text, char ids[][DCMP_ID_LEN],
                         int max)
{
    cJSON *root = cJSON_Parse(settings), *system = cJSON_Parse("{\"fullTags\":true}");
    cJSON *data = data_text ? cJSON_Parse(data_text) : cJSON_CreateObject();
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
    in.system = system;
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
    cJSON_Delete(system);
    return rc;
}

static int enqueue_settings(const char *settings, char ids[][DCMP_ID_LEN], int max)
{
    return enqueue_event(settings, NULL, ids, max);
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

/* Whether process pid maps a file whose path holds `name` (/proc/PID/maps). */
static int maps_file(pid_t pid, const char *name)
{
    char path[64], line[1024];
    FILE *fp;
    int found = 0;

    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    while (!found && fgets(line, sizeof line, fp))
        found = strstr(line, name) != NULL;
    fclose(fp);
    return found;
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

#define SERIES "1.2.826.0.1.3680043.99.1" /* the series made for the interfaces */

/* DATA/dicom/ifs: two instances of SERIES made by dump2dcm, and a file that is not DICOM. */
static int make_series(void)
{
    char dump2dcm[PATH_MAX], txt[PATH_MAX + 32], dcm[PATH_MAX + 32], out[4096];
    FILE *fp;
    int i;

    if (find_program("dump2dcm", dump2dcm) < 0) {
        fprintf(stderr, "no dump2dcm (dcmtk) in PATH\n");
        return -1;
    }
    snprintf(dcm, sizeof dcm, "%s/dicom", f.data);
    mkdir(dcm, 0755);
    snprintf(dcm, sizeof dcm, "%s/dicom/ifs", f.data);
    mkdir(dcm, 0755);
    snprintf(txt, sizeof txt, "%s/dicom/ifs/notes.txt", f.data);
    if ((fp = fopen(txt, "w")) == NULL)
        return -1;
    fputs("not DICOM\n", fp);
    fclose(fp);
    for (i = 1; i <= 2; i++) {
        char *argv[] = {dump2dcm, "-q", txt, dcm, NULL};
        snprintf(txt, sizeof txt, "%s/dump.txt", f.dir);
        snprintf(dcm, sizeof dcm, "%s/dicom/ifs/%04d.dcm", f.data, i);
        if ((fp = fopen(txt, "w")) == NULL)
            return -1;
        fprintf(fp,
                "(0008,0016) UI =SecondaryCaptureImageStorage\n"
                "(0008,0018) UI [" SERIES ".%d]\n(0008,0060) CS [OT]\n(0010,0020) LO [P99]\n"
                "(0020,000d) UI [1.2.826.0.1.3680043.99]\n(0020,000e) UI [" SERIES "]\n"
                "(0020,0013) IS [%d]\n",
                i, i);
        fclose(fp);
        if (fixture_run(&f, argv, environ, out, sizeof out) != 0) {
            fprintf(stderr, "dump2dcm: %s\n", out);
            return -1;
        }
    }
    return 0;
}

/* A file of the job's output folder (new text). */
static char *out_file(const char *id, const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "containers/%s/out/%s", id, name);
    return fixture_read_data(&f, path);
}

/* The job's result names DATA/containers/<id>/out/name as a DICOM file to store. */
static void check_stored(const char *id, const char *name)
{
    char want[512];
    dcmp_job job;

    snprintf(want, sizeof want, "{\"path\":\"containers/%s/out/%s\",\"type\":\"dicom\"}", id, name);
    CHECK(dcmp_queue_job(f.q, id, &job) == 1);
    CHECK_CONTAINS(job.result, want);
    CHECK(strstr(job.result, "task.json") == NULL); /* the interface's, not a result */
    dcmp_job_clear(&job);
}

/* A mercure module and a MAP, each on the series as its contract says. */
static void interfaces(void)
{
    static const char data[] = "{\"SeriesInstanceUID\":\"" SERIES "\",\"PatientID\":\"P99\","
                               "\"dcmpath\":\"dicom/ifs\"}";
    char settings[1024], ids[2][DCMP_ID_LEN], want[256], *text;

    if (make_series() < 0) {
        CHECK(0);
        return;
    }
    snprintf(
        settings, sizeof settings,
        "[{\"jobName\":\"mod\",\"callback\":\"m.cb\",\"params\":{\"threshold\":0.5},"
        "\"timeout\":\"120s\",\"container\":{\"image\":\"%s\",\"interface\":\"mercure\"}},"
        "{\"jobName\":\"map\",\"callback\":\"m.cb\",\"timeout\":\"120s\","
        "\"container\":{\"image\":\"%s\",\"interface\":\"monai\",\"env\":{\"MAP_LEVEL\":\"2\"}}}]",
        mercure_image, monai_image);
    CHECK(enqueue_event(settings, data, ids, 2) == 2);

    /* mercure: the inputs named <series>#<sop>.dcm with .tags beside, task.json with our
     * params as process.settings, its own user, a read-only input, its DICOM stored */
    check_job(ids[0], "finished", NULL, "mercure module done");
    text = out_file(ids[0], "seen.txt");
    CHECK_STR(text, SERIES "#" SERIES ".1.dcm\n" SERIES "#" SERIES ".1.tags\n" SERIES "#" SERIES
                           ".2.dcm\n" SERIES "#" SERIES ".2.tags\ntask.json\n");
    free(text);
    /* each file's tags as getdcmtags writes them, read from the file with DCMTK (the event's
     * headers hold no Modality and no InstanceNumber), the job's headers after them */
    text = out_file(ids[0], "tags-seen.json");
    CHECK_CONTAINS(text, "\"SOPInstanceUID\":\t\"" SERIES ".1\",");
    CHECK_CONTAINS(text, "\"Modality\":\t\"OT\",");
    CHECK_CONTAINS(text, "\"InstanceNumber\":\t\"1\",");
    CHECK_CONTAINS(text, "\"InstanceNumber\":\t\"2\",");
    CHECK_CONTAINS(text, "\"PatientID\":\t\"P99\",");
    CHECK_CONTAINS(text, "\"MediaStorageSOPClassUID\":\t\"1.2.840.10008.5.1.4.1.1.7\",");
    CHECK_CONTAINS(text, "\"Filename\":\t\"0002.dcm\"");
    free(text);
    text = out_file(ids[0], "task-seen.json");
    CHECK_CONTAINS(text, "\"settings\":{\"threshold\":0.5}");
    CHECK_CONTAINS(text, "\"module_name\":\"mod\"");
    free(text);
    snprintf(want, sizeof want, "%u\n", (unsigned)geteuid());
    text = out_file(ids[0], "uid");
    CHECK_STR(text, geteuid() == 0 ? "65534\n" : want); /* the worker's own, never root */
    free(text);
    text = out_file(ids[0], "in-ro");
    CHECK_STR(text, "read-only\n");
    free(text);
    check_stored(ids[0], "seg-" SERIES "#" SERIES ".1.dcm");

    /* monai: its manifest's command, environment (the entry's env winning), working folder
     * and paths; the series by SOP Instance UID, uid 1000, its DICOM stored */
    check_job(ids[1], "finished", NULL, "manifest /etc/holoscan/app.json of");
    check_job(ids[1], "finished", NULL, "map done");
    text = out_file(ids[1], "seen.txt");
    CHECK_STR(text, SERIES ".1.dcm\n" SERIES ".2.dcm\n");
    free(text);
    text = out_file(ids[1], "env.txt");
    CHECK_STR(text, "/var/holoscan/dicom-in /results from-manifest manifest 2 /var/holoscan\n");
    free(text);
    text = out_file(ids[1], "uid");
    CHECK_STR(text, "1000\n");
    free(text);
    check_stored(ids[1], "seg/" SERIES ".2.dcm");
}

/* MAPs whose manifest bounds the job (an older MAP's /etc/monai/app.json, timeout 3 s under
 * the entry's 120 s) or is not JSON (the job fails naming the image and the path); the
 * containers that read the manifests are gone. */
static void map_manifests(void)
{
    static const char data[] = "{\"SeriesInstanceUID\":\"" SERIES "\",\"dcmpath\":\"dicom/ifs\"}";
    char settings[1024], ids[2][DCMP_ID_LEN], want[256];

    snprintf(settings, sizeof settings,
             "[{\"jobName\":\"old\",\"callback\":\"m.cb\",\"timeout\":\"120s\","
             "\"container\":{\"image\":\"%s\",\"interface\":\"monai\"}},"
             "{\"jobName\":\"bad\",\"callback\":\"m.cb\",\"timeout\":\"120s\","
             "\"container\":{\"image\":\"%s\",\"interface\":\"monai\"}}]",
             monai_old, monai_bad);
    CHECK(enqueue_event(settings, data, ids, 2) == 2);
    check_job(ids[0], "failed", "timed out after 3s (the timeout of its manifest)",
              "manifest /etc/monai/app.json of");
    snprintf(want, sizeof want, "%s: /etc/holoscan/app.json: not valid JSON", monai_bad);
    check_job(ids[1], "failed", want, NULL);
    CHECK(containers_of(ids[0]) == 0);
    CHECK(containers_of(ids[1]) == 0);
}

/* A job of image under interface for an event of data fails with error. */
static void refused(const char *interface, const char *img, const char *data, const char *error)
{
    char settings[512], ids[1][DCMP_ID_LEN];

    snprintf(settings, sizeof settings,
             "{\"jobName\":\"in\",\"callback\":\"m.cb\",\"container\":{\"image\":\"%s\","
             "\"interface\":\"%s\"}}",
             img, interface);
    CHECK(enqueue_event(settings, data, ids, 1) == 1);
    check_job(ids[0], "failed", error, NULL);
}

/* The interfaces' inputs refused: no dcmpath in the headers; a link leading outside DATA. */
static void inputs_refused(void)
{
    char link_path[PATH_MAX + 32], outside[PATH_MAX + 32];
    FILE *fp;

    refused("mercure", mercure_image, "{\"SeriesInstanceUID\":\"1.2\"}",
            "headers.dcmpath: missing (the mercure interface needs");
    snprintf(link_path, sizeof link_path, "%s/dicom/evil", f.data);
    mkdir(link_path, 0755);
    snprintf(link_path, sizeof link_path, "%s/dicom/evil/0001.dcm", f.data);
    snprintf(outside, sizeof outside, "%s/outside.dcm", f.dir); /* f.dir holds DATA */
    if ((fp = fopen(outside, "w")) != NULL)
        fclose(fp);
    CHECK(symlink(outside, link_path) == 0);
    refused("monai", monai_image, "{\"dcmpath\":\"dicom/evil\"}", "/outside.dcm, outside DATA");
}

/* A job's container's own timestamp (its out/start or out/end), 0 when none. */
static double stamp(const char *id, const char *which)
{
    char path[160], *text;
    double t;

    snprintf(path, sizeof path, "containers/%s/out/%s", id, which);
    text = fixture_read_data(&f, path);
    t = text ? strtod(text, NULL) : 0;
    free(text);
    return t;
}

/* WORKER_CONTAINER_SLOTS=1 on two workers: while one container job holds the slot (a gate
 * the test opens), another waits, fails at its timeout without a container, and a third runs
 * only after the first's container ended (the images' own timestamps). */
static void one_slot(void)
{
    const char *const env[] = {"WORKER_CONTAINER_SLOTS=1", NULL};
    char settings[1024], hold[1][DCMP_ID_LEN], late[1][DCMP_ID_LEN], next[1][DCMP_ID_LEN];
    char go[PATH_MAX + 8];
    const char *fmt = "{\"jobName\":\"%s\",\"callback\":\"m.cb\",\"priority\":\"slotq\","
                      "\"params\":{\"mode\":\"%s\"},\"timeout\":\"%s\",\"container\":"
                      "{\"image\":\"%s\"}}";
    int i, seen = 0;
    FILE *fp;

    CHECK(fixture_worker(&f, "slotq", env) > 0);
    CHECK(fixture_worker(&f, "slotq", env) > 0);
    snprintf(settings, sizeof settings, fmt, "hold", "gate", "300s", image);
    CHECK(enqueue_settings(settings, hold, 1) == 1);
    for (i = 0; i < 1200 && !seen; i++) {
        seen = containers_of(hold[0]) == 1;
        usleep(100000);
    }
    CHECK(seen);
    /* the slot is held: this one waits, and its wait counts against its 12 s */
    snprintf(settings, sizeof settings, fmt, "late", "stamp", "12s", image);
    CHECK(enqueue_settings(settings, late, 1) == 1);
    check_job(late[0], "failed", "timed out after 12s waiting for a container slot",
              "waiting for a container slot: all 1 taken (WORKER_CONTAINER_SLOTS=1");
    CHECK(stamp(late[0], "start") == 0); /* its image never ran */
    snprintf(settings, sizeof settings, fmt, "next", "stamp", "120s", image);
    CHECK(enqueue_settings(settings, next, 1) == 1);
    CHECK(fixture_wait_state(&f, next[0], "started", 60000) == 0);
    snprintf(go, sizeof go, "%s/go", f.data);
    if ((fp = fopen(go, "w")) != NULL)
        fclose(fp);
    check_job(hold[0], "finished", NULL, NULL);
    check_job(next[0], "finished", NULL, NULL);
    CHECK(stamp(hold[0], "end") > 0);
    CHECK(stamp(next[0], "start") >= stamp(hold[0], "end"));
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
    pid_t first = -1;
    int failed;

    if (dcmp_enginelib_open(&eng, &ops, err) <= 0 || ops->ping(&eng, err) < 0 ||
        find_program("docker", docker) < 0) {
        const char *must = getenv("DCMP_REQUIRE_DOCKER");
        fprintf(stderr, "skipped: no Docker engine answers (%s)\n",
                docker[0] ? err : "no docker client in PATH");
        return must && strcmp(must, "1") == 0 ? 1 : 77;
    }
    tag = tag && *tag ? tag : "test";
    snprintf(image, sizeof image, "dcmp-ctr-test:%s", tag);
    snprintf(mercure_image, sizeof mercure_image, "dcmp-ctr-test-mercure:%s", tag);
    snprintf(monai_image, sizeof monai_image, "dcmp-ctr-test-monai:%s", tag);
    snprintf(monai_old, sizeof monai_old, "dcmp-ctr-test-monai-old:%s", tag);
    snprintf(monai_bad, sizeof monai_bad, "dcmp-ctr-test-monai-bad:%s", tag);
    if (fixture_start(&f) < 0)
        return 1;
    /* the container's user (65534) reads DATA through these folders */
    chmod(f.dir, 0755);
    chmod(f.data, 0755);
    if (build_image(image, entry_sh, "") < 0 || build_image(mercure_image, mercure_sh, "") < 0 ||
        build_image(monai_image, monai_sh, monai_layout) < 0 ||
        build_image(monai_old, monai_sh, monai_old_layout) < 0 ||
        build_image(monai_bad, monai_sh, monai_bad_layout) < 0) {
        fixture_stop(&f, 1);
        return 1;
    }
    CHECK((first = fixture_worker(&f, "default", NULL)) > 0);
    CHECK(fixture_worker(&f, "default", NULL) > 0);
    RUN(the_cases);
    /* its sweeps ran (at start and every beat) in children: the engine client, libcurl and
     * what it links were never loaded into the worker itself */
    CHECK(maps_file(first, "libdcmp_container") == 0);
    CHECK(maps_file(first, "libcurl") == 0);
    RUN(killed_worker);
    RUN(one_slot);
    RUN(validate_images);
    RUN(interfaces);
    RUN(map_manifests);
    RUN(inputs_refused);
    /* the tags files' DCMTK reader (libdcmp_dicom) was loaded by an executor, never by the
     * worker itself */
    CHECK(maps_file(first, "libdcmp_dicom") == 0);
    failed = harness_failed > 0;
    fixture_stop(&f, failed);
    return HARNESS_RESULT();
}
