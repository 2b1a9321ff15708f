/* test_manifest.c -- a MAP's manifest (manifest.c): the command as words, the environment,
 * the paths made absolute, the timeout, the errors naming the key; one file out of a tar
 * stream (tar.c); and the monai interface's run from a manifest: binds at its paths, its
 * command with the entrypoint reset, its environment under the entry's, its timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "manifest.h"
#include "spec.h"
#include "tar.h"

/* Parses text; returns the error ("" when it parsed). */
static const char *parse(const char *text, dcmp_manifest *m)
{
    static char err[DCMP_ERR_LEN];

    err[0] = '\0';
    if (dcmp_manifest_parse(text, strlen(text), m, err) == 0)
        err[0] = '\0';
    return err;
}

static void holoscan_manifest(void)
{
    dcmp_manifest m;

    /* what the Holoscan packager writes: the command as the JSON text of a list */
    CHECK_STR(parse("{\"apiVersion\":\"1.0.0\",\"command\":\"[\\\"python3\\\", \\\"/opt/holoscan/"
                    "app\\\"]\",\"environment\":{\"HOLOSCAN_INPUT_PATH\":\"/var/holoscan/input\","
                    "\"MODEL\":\"fast\"},\"input\":{\"path\":\"input/\",\"formats\":null},"
                    "\"output\":{\"path\":\"output/\"},\"timeout\":30,\"workingDirectory\":"
                    "\"/var/holoscan/\"}",
                    &m),
              "");
    CHECK(m.nwords == 2);
    CHECK_STR(m.words[0], "python3");
    CHECK_STR(m.words[1], "/opt/holoscan/app");
    CHECK(m.nenv == 2);
    CHECK_STR(m.env_name[1], "MODEL");
    CHECK_STR(m.env_value[1], "fast");
    CHECK_STR(m.workdir, "/var/holoscan");
    CHECK_STR(m.input, "/var/holoscan/input");
    CHECK_STR(m.output, "/var/holoscan/output");
    CHECK(m.timeout == 30);
    dcmp_manifest_free(&m);

    /* the older App SDK's: a shell-quoted string, working-directory; absent paths: defaults */
    CHECK_STR(parse("{\"command\":\"python3 -u '/opt/monai/app/my app.py' --x \\\"a \\\\\\\"b\\\" "
                    "c\\\\ d\",\"working-directory\":\"/var/monai\",\"input\":{\"path\":"
                    "\"/in/./dicom/\"}}",
                    &m),
              "");
    CHECK(m.nwords == 6);
    CHECK_STR(m.words[2], "/opt/monai/app/my app.py");
    CHECK_STR(m.words[4], "a \"b");
    CHECK_STR(m.words[5], "c d");
    CHECK_STR(m.input, "/in/dicom");
    CHECK_STR(m.output, "/var/monai/output");
    CHECK(m.timeout == 0);
    dcmp_manifest_free(&m);

    /* no command, no working directory: the specification's defaults */
    CHECK_STR(parse("{\"command\":[\"/bin/run\"]}", &m), "");
    CHECK(m.nwords == 1);
    CHECK_STR(m.workdir, "");
    CHECK_STR(m.input, "/var/holoscan/input");
    dcmp_manifest_free(&m);
    CHECK_STR(parse("{}", &m), "");
    CHECK(m.nwords == 0);
    dcmp_manifest_free(&m);
}

static void manifest_errors(void)
{
    static const char *const bad[][2] = {
        {"not json{", "not valid JSON"},
        {"[1]", "not valid JSON (a JSON object)"},
        {"{\"command\":\"run 'x\"}", "command: a ' is not closed"},
        {"{\"command\":\"run \\\"x\"}", "command: a \" is not closed"},
        {"{\"command\":\"  \"}", "command: empty"},
        {"{\"command\":7}", "command: must be a string"},
        {"{\"command\":[\"a\",1]}", "command: a list holding other than strings"},
        {"{\"command\":\"[1]\"}", "command: a list holding other than strings"},
        {"{\"environment\":{\"A B\":\"x\"}}", "environment: A B: not a variable name"},
        {"{\"environment\":{\"A\":1}}", "environment.A: must be a string"},
        {"{\"environment\":[]}", "environment: must be an object"},
        {"{\"workingDirectory\":\"rel\"}", "workingDirectory: must be an absolute path"},
        {"{\"input\":{\"path\":\"../etc\"}}", "input.path: \"../etc\": \"..\" is refused"},
        {"{\"output\":{\"path\":\"/a:b\"}}", "output.path: \"/a:b\": no ':'"},
        {"{\"output\":{\"path\":\"/\"}}", "output.path: \"/\": the root folder is refused"},
        {"{\"output\":{\"path\":\"input\"}}", "the same folder, /var/holoscan/input"},
        {"{\"timeout\":-1}", "timeout: must be seconds"},
        {"{\"timeout\":\"30\"}", "timeout: must be seconds"},
    };
    char words[64 * 3 + 32] = "{\"command\":\"";
    size_t i;
    dcmp_manifest m;
    char *big;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_CONTAINS(parse(bad[i][0], &m), bad[i][1]);
    for (i = 0; i < 65; i++)
        memcpy(words + 12 + 2 * i, "a ", 2);
    memcpy(words + 12 + 2 * 65, "\"}", 3);
    CHECK_CONTAINS(parse(words, &m), "command: more than 64 words");
    big = malloc(DCMP_MANIFEST_MAX + 2);
    memset(big, ' ', DCMP_MANIFEST_MAX + 1);
    big[0] = '{';
    big[DCMP_MANIFEST_MAX] = '}';
    big[DCMP_MANIFEST_MAX + 1] = '\0';
    CHECK_CONTAINS(parse(big, &m), "over 262144 bytes");
    free(big);
}

/* A tar header of type and size at h (512 bytes), its checksum set. */
static void header(unsigned char *h, const char *name, char type, size_t size)
{
    unsigned sum = 0;
    size_t i;

    memset(h, 0, DCMP_TAR_BLOCK);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 124, 12, "%011zo", size);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6);
    memset(h + 148, ' ', 8);
    for (i = 0; i < DCMP_TAR_BLOCK; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

static void tar_member(void)
{
    static unsigned char buf[8 * DCMP_TAR_BLOCK];
    const unsigned char *data;
    char err[DCMP_ERR_LEN];
    size_t size;

    /* a pax header, then the file */
    memset(buf, 0, sizeof buf);
    header(buf, "PaxHeaders/app.json", 'x', 20);
    memcpy(buf + DCMP_TAR_BLOCK, "20 path=app.json\n", 17);
    header(buf + 2 * DCMP_TAR_BLOCK, "app.json", '0', 11);
    memcpy(buf + 3 * DCMP_TAR_BLOCK, "{\"a\":\"b c\"}", 11);
    CHECK(dcmp_tar_file(buf, sizeof buf, 1024, &data, &size, err) == 0);
    CHECK(size == 11 && memcmp(data, "{\"a\":\"b c\"}", 11) == 0);
    /* over the cap; cut short; a link; a bad checksum; nothing in it */
    CHECK(dcmp_tar_file(buf, sizeof buf, 10, &data, &size, err) < 0);
    CHECK_CONTAINS(err, "11 bytes: over 10");
    CHECK(dcmp_tar_file(buf, 3 * DCMP_TAR_BLOCK + 5, 1024, &data, &size, err) < 0);
    CHECK_CONTAINS(err, "cut short");
    CHECK(dcmp_tar_file(buf, 700, 1024, &data, &size, err) < 0);
    CHECK_CONTAINS(err, "cut short");
    header(buf + 2 * DCMP_TAR_BLOCK, "app.json", '2', 0);
    CHECK(dcmp_tar_file(buf, sizeof buf, 1024, &data, &size, err) < 0);
    CHECK_CONTAINS(err, "a symbolic link, not a regular file");
    buf[2 * DCMP_TAR_BLOCK + 1] ^= 1;
    CHECK(dcmp_tar_file(buf, sizeof buf, 1024, &data, &size, err) < 0);
    CHECK_CONTAINS(err, "not a tar archive");
    memset(buf, 0, sizeof buf);
    CHECK(dcmp_tar_file(buf, sizeof buf, 1024, &data, &size, err) < 0);
    CHECK_CONTAINS(err, "holds no file");
}

/* The monai interface prepared with manifest text for an entry spec; the create body. */
static char *monai_body(const char *entry, const char *manifest, dcmp_iface_setup *setup)
{
    static dcmp_manifest m;
    dcmp_iface_job job = {"job1", "seg", "/srv/data", "/srv/data/containers/job1",
                          "{}",   NULL,  NULL,        NULL};
    dcmp_spec_run run = {"job1", "w1", "1000:1000", setup};
    char err[DCMP_ERR_LEN], *body = NULL;
    cJSON *t = cJSON_Parse(entry);
    dcmp_spec s;

    memset(setup, 0, sizeof *setup);
    if (manifest) {
        CHECK(dcmp_manifest_parse(manifest, strlen(manifest), &m, err) == 0);
        job.manifest = &m;
    }
    if (dcmp_spec_parse(t, &s, err) == 0 && s.iface->prepare(&job, setup, err) == 0)
        body = dcmp_spec_create_body(&s, &run, 1 << 20);
    CHECK(body != NULL);
    cJSON_Delete(t);
    if (manifest)
        dcmp_manifest_free(&m);
    dcmp_iface_setup_free(setup);
    return body;
}

static void monai_from_manifest(void)
{
    static const char manifest[] =
        "{\"command\":\"/bin/sh /entry.sh map\",\"environment\":{\"MODEL\":\"m\",\"MONAI_"
        "INPUTPATH\":\"/x\",\"LEVEL\":\"1\"},\"workingDirectory\":\"/opt/app\",\"input\":{"
        "\"path\":\"in\"},\"output\":{\"path\":\"/results\"},\"timeout\":7}";
    dcmp_iface_setup setup;
    dcmp_manifest m;
    char *body;

    body = monai_body("{\"image\":\"map:1\",\"interface\":\"monai\",\"env\":{\"LEVEL\":\"2\"}}",
                      manifest, &setup);
    CHECK_CONTAINS(body, "\"Entrypoint\":[],\"Cmd\":[\"/bin/sh\",\"/entry.sh\",\"map\"]");
    CHECK_CONTAINS(body, "\"WorkingDir\":\"/opt/app\"");
    CHECK_CONTAINS(body, "\"/srv/data/containers/job1/in:/opt/app/in:ro\"");
    CHECK_CONTAINS(body, "\"/srv/data/containers/job1/out:/results:rw\"");
    CHECK_CONTAINS(body, "\"HOLOSCAN_INPUT_PATH=/opt/app/in\"");
    CHECK_CONTAINS(body, "\"MONAI_INPUTPATH=/opt/app/in\""); /* the bind's, not the manifest's */
    CHECK(strstr(body, "MONAI_INPUTPATH=/x") == NULL);
    CHECK_CONTAINS(body, "\"MODEL=m\"");
    CHECK_CONTAINS(body, "\"LEVEL=2\""); /* the entry's env wins */
    CHECK(strstr(body, "LEVEL=1") == NULL);
    free(body);
    /* the entry's command wins over the manifest's, the image's entrypoint kept */
    body = monai_body("{\"image\":\"map:1\",\"interface\":\"monai\",\"command\":[\"go\"]}",
                      manifest, &setup);
    CHECK_CONTAINS(body, "\"Cmd\":[\"go\"]");
    CHECK(strstr(body, "Entrypoint") == NULL);
    free(body);
    /* no manifest: as before, the image's entrypoint and the specification's folders */
    body = monai_body("{\"image\":\"map:1\",\"interface\":\"monai\"}", NULL, &setup);
    CHECK(strstr(body, "Entrypoint") == NULL && strstr(body, "WorkingDir") == NULL);
    CHECK_CONTAINS(body, "/in:/var/holoscan/input:ro\"");
    free(body);
    /* the timeout and the command reach the setup */
    {
        dcmp_iface_job job = {"job1", "seg", "/srv/data", "/srv/data/containers/job1",
                              "{}",   NULL,  NULL,        &m};
        char err[DCMP_ERR_LEN];
        CHECK(dcmp_manifest_parse(manifest, strlen(manifest), &m, err) == 0);
        memset(&setup, 0, sizeof setup);
        CHECK(dcmp_iface_monai.prepare(&job, &setup, err) == 0);
        CHECK(setup.timeout == 7 && setup.ncommand == 3);
        dcmp_iface_setup_free(&setup);
        dcmp_manifest_free(&m);
    }
    /* the other interfaces read no manifest */
    CHECK(dcmp_iface_dcmp.manifests == NULL && dcmp_iface_mercure.manifests == NULL);
    CHECK_STR(dcmp_iface_monai.manifests[0], "/etc/holoscan/app.json");
    CHECK_STR(dcmp_iface_monai.manifests[1], "/etc/monai/app.json");
}

int main(void)
{
    RUN(holoscan_manifest);
    RUN(manifest_errors);
    RUN(tar_member);
    RUN(monai_from_manifest);
    return HARNESS_RESULT();
}
