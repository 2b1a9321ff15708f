/* test_spec.c -- a settings entry's `container` object: parsing with errors naming the key,
 * the normalized text a job carries, the engine's create body with the strict defaults, and
 * the planner turning such an entry into a "container:IMAGE" job. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "harness.h"
#include "plan.h"
#include "slots.h"
#include "spec.h"

/* Parses text; returns the error ("" when it parsed). */
static const char *parse(const char *text, dcmp_spec *s, cJSON **tree)
{
    static char err[DCMP_ERR_LEN];

    err[0] = '\0';
    *tree = cJSON_Parse(text);
    if (dcmp_spec_parse(*tree, s, err) == 0)
        err[0] = '\0';
    return err;
}

static void errors_name_the_key(void)
{
    static const char *const bad[][2] = {
        {"{}", "container.image: missing"},
        {"{\"image\":\"a b\"}", "container.image: must be an image reference"},
        {"{\"image\":\"x\",\"interface\":\"rq\"}", "container.interface"},
        {"{\"image\":\"x\",\"interface\":\"mercure\"}",
         "container.interface: \"mercure\" is not supported yet"},
        {"{\"image\":\"x\",\"interface\":\"monai\"}",
         "container.interface: \"monai\" is not supported yet"},
        {"{\"image\":\"x\",\"memory\":\"lots\"}", "container.memory"},
        {"{\"image\":\"x\",\"memory\":1024}", "container.memory: must be from"},
        {"{\"image\":\"x\",\"cpus\":0}", "container.cpus"},
        {"{\"image\":\"x\",\"network\":\"host\"}", "container.network: \"host\""},
        {"{\"image\":\"x\",\"user\":\"root\"}", "container.user"},
        {"{\"image\":\"x\",\"env\":{\"DCMP_OUT\":\"/\"}}", "container.env: DCMP_OUT"},
        {"{\"image\":\"x\",\"env\":{\"A\":1}}", "container.env.A"},
        {"{\"image\":\"x\",\"command\":\"run\"}", "container.command"},
        {"{\"image\":\"x\",\"gpus\":0}", "container.gpus"},
        {"{\"image\":\"x\",\"memroy\":\"1g\"}", "container.memroy: unknown key"},
        {"[]", "container: must be an object"},
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dcmp_spec s;
        cJSON *t;
        const char *err = parse(bad[i][0], &s, &t);
        CHECK_CONTAINS(err, bad[i][1]);
        cJSON_Delete(t);
    }
}

static void defaults_and_round_trip(void)
{
    dcmp_spec s, again;
    cJSON *t, *t2;
    char *text, *text2;

    CHECK_STR(
        parse("{\"image\":\"reg.local/seg:1.2\",\"memory\":\"512m\",\"cpus\":1.5,"
              "\"shm_size\":\"64m\",\"env\":{\"MODE\":\"fast\"},\"command\":[\"/run\",\"-v\"],"
              "\"gpus\":\"all\"}",
              &s, &t),
        "");
    CHECK(s.interface == DCMP_SPEC_DCMP);
    CHECK(s.memory == 512LL << 20 && s.shm_size == 64LL << 20);
    CHECK_STR(s.network, "none");
    CHECK_STR(s.user, DCMP_SPEC_USER);
    text = dcmp_spec_json(&s);
    CHECK_STR(text,
              "{\"image\":\"reg.local/seg:1.2\",\"interface\":\"dcmp\",\"env\":{\"MODE\":"
              "\"fast\"},\"command\":[\"/run\",\"-v\"],\"gpus\":\"all\",\"memory\":536870912,"
              "\"shm_size\":67108864,\"cpus\":1.5,\"network\":\"none\",\"user\":\"65534:65534\"}");
    /* what a job carries is read back to the same */
    CHECK_STR(parse(text, &again, &t2), "");
    text2 = dcmp_spec_json(&again);
    CHECK_STR(text2, text);
    free(text);
    free(text2);
    cJSON_Delete(t);
    cJSON_Delete(t2);
}

static void create_body_is_strict(void)
{
    dcmp_spec_run run = {"job1",
                         "w1",
                         "/srv/data",
                         "/srv/data/containers/job1/out",
                         "{\"jobName\":\"seg\",\"params\":{\"q\":\"a\\\"b\"}}",
                         "/srv/data/containers/job1/kwargs.json"};
    dcmp_spec s;
    cJSON *t, *body;
    char *text;

    CHECK_STR(parse("{\"image\":\"seg:1\",\"memory\":\"1g\",\"cpus\":2}", &s, &t), "");
    text = dcmp_spec_create_body(&s, &run, 1 << 20);
    body = cJSON_Parse(text);
    CHECK(body != NULL);
    CHECK_CONTAINS(text, "\"NetworkMode\":\"none\"");
    CHECK_CONTAINS(text, "\"NetworkDisabled\":true");
    CHECK_CONTAINS(text, "\"CapDrop\":[\"ALL\"]");
    CHECK_CONTAINS(text, "\"SecurityOpt\":[\"no-new-privileges\"]");
    CHECK_CONTAINS(text, "\"User\":\"65534:65534\"");
    CHECK_CONTAINS(text, "\"/srv/data:/data:ro\"");
    CHECK_CONTAINS(text, "\"/srv/data/containers/job1/out:/out:rw\"");
    CHECK_CONTAINS(text, "\"/srv/data/containers/job1/kwargs.json:/dcmp/kwargs.json:ro\"");
    CHECK_CONTAINS(text, "\"Memory\":1073741824,\"MemorySwap\":1073741824");
    CHECK_CONTAINS(text, "\"NanoCpus\":2000000000");
    CHECK_CONTAINS(text, "\"Labels\":{\"dcmp.job\":\"job1\",\"dcmp.worker\":\"w1\"}");
    /* the kwargs travel escaped inside one environment string */
    CHECK_CONTAINS(text, "\"DCMP_KWARGS={\\\"jobName\\\":\\\"seg\\\"");
    CHECK(strstr(text, "DeviceRequests") == NULL);
    /* a body over its cap is refused, not cut */
    CHECK(dcmp_spec_create_body(&s, &run, 64) == NULL);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(t);
}

static void planned_as_a_container_job(void)
{
    const char *settings =
        "[{\"jobName\":\"seg\",\"callback\":\"m.cb\",\"container\":{\"image\":"
        "\"seg:1\",\"memory\":\"256m\"},\"timeout\":\"30s\",\"params\":{\"k\":1}},"
        "{\"jobName\":\"both\",\"callback\":\"m.cb\",\"worker\":\"m.w\","
        "\"container\":{\"image\":\"x\"}},"
        "{\"jobName\":\"bad\",\"callback\":\"m.cb\",\"container\":{\"image\":"
        "\"x\",\"cpus\":-1}}]";
    cJSON *root = cJSON_Parse(settings), *data = cJSON_CreateObject(), *kw;
    dcmp_plan_file file = {"reg/seg/settings.json", root, NULL};
    dcmp_plan_input in;
    dcmp_plan plan;
    char err[DCMP_ERR_LEN], *json;
    int i, invalid = 0;

    memset(&in, 0, sizeof in);
    in.registry = &file;
    in.nregistry = 1;
    in.data = data;
    CHECK(dcmp_plan_make(&in, &plan, err) == 0);
    CHECK(plan.njobs == 1);
    if (plan.njobs == 1) {
        CHECK_STR(plan.jobs[0].worker, "container:seg:1");
        CHECK(plan.jobs[0].timeout == 30);
        kw = cJSON_Parse(plan.jobs[0].kwargs);
        CHECK_STR(cJSON_GetStringValue(
                      cJSON_GetObjectItem(cJSON_GetObjectItem(kw, "container"), "network")),
                  "none");
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(kw, "params"), "k") != NULL);
        cJSON_Delete(kw);
    }
    for (i = 0; i < plan.ndecisions; i++)
        if (strcmp(plan.decisions[i].decision, "invalid") == 0) {
            invalid++;
            if (strcmp(plan.decisions[i].job_name, "both") == 0)
                CHECK_CONTAINS(plan.decisions[i].reason, "either worker or container");
            else
                CHECK_CONTAINS(plan.decisions[i].reason, "container.cpus");
        }
    CHECK(invalid == 2);
    json = dcmp_plan_json(&plan);
    CHECK_CONTAINS(json, "\"worker\":\"container:seg:1\",\"container\":{\"image\":\"seg:1\"");
    free(json);
    dcmp_plan_free(&plan);
    cJSON_Delete(root);
    cJSON_Delete(data);
}

/* DATA's paths as the engine's host sees them (Docker mode: DCMP_DATA_HOST). */
static void host_paths_are_mapped(void)
{
    char out[64], err[DCMP_ERR_LEN];

    CHECK(dcmp_spec_host_path("/dcmp/data/containers/j/out", "/dcmp/data/", "/srv/b/data/", out,
                              sizeof out, err) == 0);
    CHECK_STR(out, "/srv/b/data/containers/j/out");
    CHECK(dcmp_spec_host_path("/dcmp/data", "/dcmp/data", "/srv/b/data", out, sizeof out, err) ==
          0);
    CHECK_STR(out, "/srv/b/data");
    /* natively (no DCMP_DATA_HOST) the path is the host's */
    CHECK(dcmp_spec_host_path("/x/data/k.json", "/x/data", NULL, out, sizeof out, err) == 0);
    CHECK_STR(out, "/x/data/k.json");
    CHECK(dcmp_spec_host_path("/x/data/k.json", "/x/data", "", out, sizeof out, err) == 0);
    CHECK_STR(out, "/x/data/k.json");
    /* a sibling that only starts like DATA, a relative host path, a result too long */
    CHECK(dcmp_spec_host_path("/dcmp/database/x", "/dcmp/data", "/srv", out, sizeof out, err) ==
          -1);
    CHECK_CONTAINS(err, "not under DATA");
    CHECK(dcmp_spec_host_path("/dcmp/data/x", "/dcmp/data", "srv/data", out, sizeof out, err) ==
          -1);
    CHECK_CONTAINS(err, "DCMP_DATA_HOST=srv/data: not an absolute path");
    CHECK(dcmp_spec_host_path(
              "/d/x", "/d",
              "/a-host-path-longer-than-the-64-byte-buffer-we-give-it-here/0123456789", out,
              sizeof out, err) == -1);
    CHECK_CONTAINS(err, "too long");
}

/* WORKER_CONTAINER_SLOTS read. */
static void slot_counts(void)
{
    char err[DCMP_ERR_LEN];

    CHECK(dcmp_slots_count(NULL, err) == 0);
    CHECK(dcmp_slots_count("", err) == 0);
    CHECK(dcmp_slots_count("1", err) == 1);
    CHECK(dcmp_slots_count("256", err) == 256);
    CHECK(dcmp_slots_count("257", err) == -1);
    CHECK_CONTAINS(err, "WORKER_CONTAINER_SLOTS=257: not a number from 0 to 256");
    CHECK(dcmp_slots_count("2x", err) == -1);
    CHECK(dcmp_slots_count("-1", err) == -1);
}

int main(void)
{
    RUN(errors_name_the_key);
    RUN(defaults_and_round_trip);
    RUN(create_body_is_strict);
    RUN(planned_as_a_container_job);
    RUN(host_paths_are_mapped);
    RUN(slot_counts);
    return HARNESS_RESULT();
}
