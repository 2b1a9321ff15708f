/* test_status.c -- dcm-processor status against a real redis-server holding jobs in every state,
 * a real dcmp-worker and two protocol-level workers: the table, --json, and Redis down. */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "browse.h"
#include "harness.h"
#include "jobs.h"

static fixture f;
static jobs_states st;

/* Runs dcm-processor status with args against redis_port; stdout + stderr into out.
 * Returns the exit status. */
static int run_status(int redis_port, const char *arg, char *out, size_t size)
{
    char port[32];
    char *argv[] = {getenv("DCMP_CLI_BIN"), "status", (char *)arg, NULL};
    char *envp[] = {port, "REDIS_HOST=127.0.0.1", "DCMP_ENV=", NULL};

    snprintf(port, sizeof port, "REDIS_PORT=%d", redis_port);
    return fixture_run(&f, argv, envp, out, size);
}

static void test_table(void)
{
    static char out[65536];
    char *line;

    CHECK(run_status(f.port, NULL, out, sizeof out) == 0);
    CHECK_CONTAINS(out, "QUEUE");
    CHECK_CONTAINS(out, "finished");
    line = strstr(out, "\ndefault ");
    CHECK(line != NULL);
    if (line) {
        /* one job in each of the eight states */
        int n = 0, k;
        long v;
        char *p = line + 8, *end;
        for (k = 0; k < 8; k++) {
            v = strtol(p, &end, 10);
            n += end != p && v == 1;
            p = end;
        }
        CHECK(n == 8);
    }
    CHECK_CONTAINS(out, "holder");
    CHECK_CONTAINS(out, st.started); /* holder's current job */
    CHECK_CONTAINS(out, "runner");
    CHECK_CONTAINS(out, "other"); /* the real worker's queue */
}

static void test_json(void)
{
    static char out[65536];
    cJSON *root, *q, *w;
    int busy = 0, real = 0;

    CHECK(run_status(f.port, "--json", out, sizeof out) == 0);
    root = cJSON_Parse(out);
    CHECK(root != NULL);
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(root, "queues"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(q, "name")), "default") != 0)
            continue;
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(q, "failed")) == 1);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(q, "blocked")) == 1);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(q, "queued")) == 1);
    }
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(root, "workers"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(w, "name"));
        const char *queues = cJSON_GetStringValue(cJSON_GetObjectItem(w, "queues"));
        if (name && strcmp(name, "holder") == 0) {
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(w, "state")), "busy");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(w, "currentJob")), st.started);
            busy++;
        }
        if (queues && strcmp(queues, "other") == 0) {
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(w, "state")), "idle");
            CHECK(cJSON_IsNull(cJSON_GetObjectItem(w, "currentJob")));
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(w, "lastHeartbeat")) > 1e12);
            real++;
        }
    }
    CHECK(busy == 1 && real == 1);
    cJSON_Delete(root);
}

static void test_errors(void)
{
    static char out[4096];

    CHECK(run_status(fixture_free_port(), NULL, out, sizeof out) == 1);
    CHECK_CONTAINS(out, "dcm-processor status: redis 127.0.0.1:");
    CHECK(run_status(f.port, "--bogus", out, sizeof out) == 2);
    CHECK_CONTAINS(out, "unknown argument");
}

int main(void)
{
    dcmp_browse_worker *ws = NULL;
    int i, n = 0;

    if (fixture_start(&f) < 0)
        return 1;
    CHECK(jobs_every_state(&f, "default", &st) == 0);
    CHECK(fixture_worker(&f, "other", NULL) > 0);
    for (i = 0; i < 200 && n < 3; i++) { /* until the real worker registered */
        free(ws);
        ws = NULL;
        dcmp_browse_workers(f.q, &ws, &n, NULL);
        usleep(25000);
    }
    free(ws);
    CHECK(n == 3);
    RUN(test_table);
    RUN(test_json);
    RUN(test_errors);
    fixture_stop(&f, harness_failed > 0);
    return HARNESS_RESULT();
}
