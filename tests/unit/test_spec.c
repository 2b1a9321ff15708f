/* test_spec.c -- a settings entry's `container` object: parsing with errors naming the key,
 * the normalized text a job carries, the engine's create body with the strict defaults, the
 * interfaces' binds, environment, task.json, input names and tags (iface*.c), the SOP
 * Instance UID read from a file's meta group, and the planner turning such an entry into a
 * "container:IMAGE" job. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

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
        {"{\"image\":\"x\",\"interface\":\"MONAI\"}", "container.interface: must be"},
        {"{\"image\":\"x\",\"env\":{\"HOLOSCAN_INPUT_PATH\":\"/\"}}",
         "container.env: HOLOSCAN_INPUT_PATH"},
        {"{\"image\":\"x\",\"user\":\"workers\"}", "container.user"},
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
    CHECK(s.iface == &dcmp_iface_dcmp);
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

/* The setup of iface for a job of DATA /srv/data, id job1, the kwargs and params given. */
static int setup_of(const dcmp_iface *f, const char *kwargs, dcmp_iface_setup *setup, cJSON **kw,
                    char *err)
{
    dcmp_iface_job job = {"job1", "seg", "/srv/data", "/srv/data/containers/job1",
                          kwargs, NULL,  NULL,        NULL};

    *kw = cJSON_Parse(kwargs);
    job.headers = cJSON_GetObjectItem(*kw, "headers");
    job.params = cJSON_GetObjectItem(*kw, "params");
    memset(setup, 0, sizeof *setup);
    return f->prepare(&job, setup, err);
}

static void create_body_is_strict(void)
{
    const char *kwargs = "{\"jobName\":\"seg\",\"params\":{\"q\":\"a\\\"b\"}}";
    dcmp_iface_setup setup;
    dcmp_spec_run run = {"job1", "w1", "65534:65534", &setup};
    char err[DCMP_ERR_LEN];
    dcmp_spec s;
    cJSON *t, *body, *kw;
    char *text;

    CHECK_STR(parse("{\"image\":\"seg:1\",\"memory\":\"1g\",\"cpus\":2}", &s, &t), "");
    CHECK(setup_of(s.iface, kwargs, &setup, &kw, err) == 0);
    CHECK(setup.nfile == 1);
    CHECK_STR(setup.file[0].name, "kwargs.json");
    CHECK_STR(setup.file[0].text, kwargs);
    CHECK_STR(setup.in, ""); /* no input folder */
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
    CHECK_CONTAINS(text, "\"DCMP_OUT=/out\"");
    CHECK(strstr(text, "DeviceRequests") == NULL);
    /* a body over its cap is refused, not cut */
    CHECK(dcmp_spec_create_body(&s, &run, 64) == NULL);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(t);
    cJSON_Delete(kw);
    dcmp_iface_setup_free(&setup);
}

static void mercure_interface(void)
{
    const char *kwargs = "{\"jobName\":\"seg\",\"headers\":{\"SeriesInstanceUID\":\"1.2.3\","
                         "\"PatientID\":\"P1\",\"dcmpath\":\"dicom/s1\",\"Rows\":512,"
                         "\"Modality\":\"MR\",\"SeriesDescription\":\"a\\rb\\nc\\\"d\\\"\","
                         "\"SOPClassUID\":\"1.2.840.10008.5.1.4.1.1.4\",\"InstanceNumber\":\"3\"},"
                         "\"params\":{\"threshold\":0.5}}";
    dcmp_iface_setup setup;
    dcmp_spec_run run = {"job1", "w1", "1000:1000", &setup};
    char err[DCMP_ERR_LEN], name[256], *text, *tags;
    cJSON *t, *kw, *task;
    dcmp_spec s;

    CHECK_STR(parse("{\"image\":\"mod:1\",\"interface\":\"mercure\"}", &s, &t), "");
    CHECK(s.iface == &dcmp_iface_mercure);
    CHECK_STR(s.user, "worker"); /* mercure runs a module as its own user */
    text = dcmp_spec_json(&s);
    CHECK_CONTAINS(text, "\"interface\":\"mercure\"");
    CHECK_CONTAINS(text, "\"user\":\"worker\"");
    free(text);
    CHECK(setup_of(s.iface, kwargs, &setup, &kw, err) == 0);
    CHECK_STR(setup.in, "/srv/data/containers/job1/in");
    CHECK_STR(setup.out, "/srv/data/containers/job1/out");
    text = dcmp_spec_create_body(&s, &run, 1 << 20);
    CHECK_CONTAINS(text, "\"/srv/data/containers/job1/in:/tmp/data:ro\"");
    CHECK_CONTAINS(text, "\"/srv/data/containers/job1/out:/tmp/output:rw\"");
    CHECK_CONTAINS(text, "\"MERCURE_IN_DIR=/tmp/data\",\"MERCURE_OUT_DIR=/tmp/output\"");
    CHECK_CONTAINS(text, "\"User\":\"1000:1000\"");
    CHECK(strstr(text, "/srv/data:/data") == NULL); /* DATA itself is not bound */
    free(text);
    /* task.json: our params as process.settings */
    CHECK(setup.nfile == 1);
    CHECK_STR(setup.file[0].name, "in/task.json");
    task = cJSON_Parse(setup.file[0].text);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(task, "process"), "settings"),
                              "threshold") != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(task, "id")), "job1");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(task, "info"), "uid")),
              "1.2.3");
    cJSON_Delete(task);
    /* inputs as mercure names them, with their tags */
    CHECK(s.iface->input_name(cJSON_GetObjectItem(kw, "headers"), "1.2.3.4", name, sizeof name) ==
          0);
    CHECK_STR(name, "1.2.3#1.2.3.4.dcm");
    CHECK(s.iface->input_name(cJSON_GetObjectItem(kw, "headers"), "1.2.3.4", name, 8) < 0);
    tags = s.iface->input_tags(cJSON_GetObjectItem(kw, "headers"), NULL, "1.2.3.4", "0001.dcm");
    {
        /* getdcmtags' keys: each of its tags ("" when the header lacks it), the file's UIDs,
         * the header's SOPClassUID as MediaStorageSOPClassUID, its other values, Filename;
         * its value replacements; nothing that differs per instance */
        cJSON *j = cJSON_Parse(tags);
        static const char *const want[][2] = {
            {"SOPInstanceUID", "1.2.3.4"},
            {"SeriesInstanceUID", "1.2.3"},
            {"PatientID", "P1"},
            {"Modality", "MR"},
            {"BodyPartExamined", ""},
            {"SenderAET", ""},
            {"SeriesDescription", "a;b c'd'"},
            {"MediaStorageSOPClassUID", "1.2.840.10008.5.1.4.1.1.4"},
            {"Filename", "0001.dcm"},
            {"dcmpath", "dicom/s1"}};
        size_t i;
        for (i = 0; i < sizeof want / sizeof want[0]; i++)
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, want[i][0])), want[i][1]);
        CHECK(cJSON_GetObjectItem(j, "InstanceNumber") == NULL);
        /* 6 of its own, its 35 series-level tags, MediaStorageSOPClassUID, the header's
         * dcmpath and SOPClassUID (Rows is not a string), Filename */
        CHECK(cJSON_GetArraySize(j) == 6 + 35 + 1 + 2 + 1);
        cJSON_Delete(j);
    }
    free(tags);
    {
        /* with the file's own header: its values (the per-instance ones too), "" for what it
         * lacks even when the series header has it */
        cJSON *file = cJSON_Parse("{\"InstanceNumber\":\"7\",\"Modality\":\"CT\","
                                  "\"SOPClassUID\":\"1.2.840.10008.5.1.4.1.1.2\",\"Rows\":512}");
        cJSON *j;
        tags = s.iface->input_tags(cJSON_GetObjectItem(kw, "headers"), file, "1.2.3.4", "a.dcm");
        j = cJSON_Parse(tags);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "InstanceNumber")), "7");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "Modality")), "CT");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "PatientID")), "");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "AcquisitionTime")), "");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "MediaStorageSOPClassUID")),
                  "1.2.840.10008.5.1.4.1.1.2");
        CHECK(cJSON_GetArraySize(j) == 6 + 40 + 1 + 2 + 1);
        cJSON_Delete(j);
        cJSON_Delete(file);
        free(tags);
    }
    cJSON_Delete(t);
    cJSON_Delete(kw);
    dcmp_iface_setup_free(&setup);
}

static void monai_interface(void)
{
    dcmp_iface_setup setup;
    dcmp_spec_run run = {"job1", "w1", "1000:1000", &setup};
    char err[DCMP_ERR_LEN], name[128], *text;
    cJSON *t, *kw;
    dcmp_spec s;

    CHECK_STR(parse("{\"image\":\"map:1\",\"interface\":\"monai\"}", &s, &t), "");
    CHECK_STR(s.user, "1000:1000"); /* the user MONAI Deploy's runner gives a MAP */
    CHECK(setup_of(s.iface, "{\"jobName\":\"seg\",\"params\":null}", &setup, &kw, err) == 0);
    CHECK(setup.nfile == 0);
    text = dcmp_spec_create_body(&s, &run, 1 << 20);
    CHECK_CONTAINS(text, "\"/srv/data/containers/job1/in:/var/holoscan/input:ro\"");
    CHECK_CONTAINS(text, "\"/srv/data/containers/job1/out:/var/holoscan/output:rw\"");
    CHECK_CONTAINS(text, "\"HOLOSCAN_INPUT_PATH=/var/holoscan/input\"");
    CHECK_CONTAINS(text, "\"HOLOSCAN_OUTPUT_PATH=/var/holoscan/output\"");
    CHECK_CONTAINS(text, "\"MONAI_INPUTPATH=/var/holoscan/input\"");
    CHECK_CONTAINS(text, "\"MONAI_OUTPUTPATH=/var/holoscan/output\"");
    free(text);
    CHECK(s.iface->input_name(NULL, "1.2.3.4", name, sizeof name) == 0);
    CHECK_STR(name, "1.2.3.4.dcm");
    CHECK(s.iface->input_tags == NULL);
    cJSON_Delete(t);
    cJSON_Delete(kw);
    dcmp_iface_setup_free(&setup);
}

/* A meta group of explicit VR little endian elements after the preamble and "DICM". */
static size_t meta(unsigned char *buf, const char *uid, int with_ob)
{
    size_t n = 132, len = strlen(uid) + (strlen(uid) & 1);

    memset(buf, 0, 512);
    memcpy(buf + 128, "DICM", 4);
    if (with_ob) { /* (0002,0001) OB, 2 reserved bytes and a 4-byte length */
        memcpy(buf + n, "\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01", 14);
        n += 14;
    }
    memcpy(buf + n, "\x02\x00\x03\x00UI", 6);
    buf[n + 6] = (unsigned char)len;
    buf[n + 7] = 0;
    memcpy(buf + n + 8, uid, strlen(uid)); /* odd: padded with NUL by the memset */
    return n + 8 + len;
}

static void sop_uid_from_meta(void)
{
    unsigned char buf[512];
    char uid[DCMP_IFACE_UID_LEN];
    size_t n;

    n = meta(buf, "1.2.840.10008.99.1", 1);
    CHECK(dcmp_iface_sop_uid(buf, n, uid) == 0);
    CHECK_STR(uid, "1.2.840.10008.99.1");
    n = meta(buf, "1.2.3", 0); /* odd length, NUL padded */
    CHECK(dcmp_iface_sop_uid(buf, n, uid) == 0);
    CHECK_STR(uid, "1.2.3");
    CHECK(dcmp_iface_sop_uid(buf, n - 2, uid) < 0); /* cut inside the value */
    CHECK(dcmp_iface_sop_uid(buf, 100, uid) < 0);   /* shorter than the preamble */
    n = meta(buf, "1.2.x", 0);
    CHECK(dcmp_iface_sop_uid(buf, n, uid) < 0); /* not a UID: never a file name */
    n = meta(buf, "1.2.3", 0);
    buf[128] = 'X';
    CHECK(dcmp_iface_sop_uid(buf, n, uid) < 0); /* no DICM */
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
    RUN(mercure_interface);
    RUN(monai_interface);
    RUN(sop_uid_from_meta);
    RUN(planned_as_a_container_job);
    RUN(host_paths_are_mapped);
    RUN(slot_counts);
    return HARNESS_RESULT();
}
