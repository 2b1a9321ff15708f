/* test_settings.c -- unit tests of settings parsing (JSON and YAML), loading, registry scan. */
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "settings.h"

/* Parses text and returns its compact JSON (free), or NULL with err set. */
static char *parsed(const char *text, int yaml, char *err)
{
    cJSON *root = NULL;
    char *s;

    if (dcmp_settings_parse(text, strlen(text), "t", yaml, &root, err) < 0) {
        CHECK(root == NULL);
        return NULL;
    }
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* Checks that text parses to the compact JSON want. */
static void check_parse(const char *text, int yaml, const char *want)
{
    char err[DCMP_ERR_LEN] = "", *got = parsed(text, yaml, err);

    if (got == NULL)
        fprintf(stderr, "  parse error: %s\n", err);
    CHECK_STR(got, want);
    free(got);
}

/* Checks that text fails with a message holding each of the NULL-terminated needles. */
static void check_error(const char *text, int yaml, ...)
{
    char err[DCMP_ERR_LEN] = "", *got = parsed(text, yaml, err);
    const char *needle;
    va_list ap;

    CHECK(got == NULL);
    free(got);
    va_start(ap, yaml);
    while ((needle = va_arg(ap, const char *)) != NULL)
        CHECK_CONTAINS(err, needle);
    va_end(ap);
}

/* A text of depth nested lists: "[[...]]" in JSON, the same in YAML flow style. */
static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 1);
    int i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < depth; i++) {
        s[i] = '[';
        s[depth * 2 - 1 - i] = ']';
    }
    s[depth * 2] = '\0';
    return s;
}

/* ---- JSON ---- */

static void test_json_ok(void)
{
    check_parse("{\"a\": [1, 2.5, \"x\", true, null], \"b\": {}}", 0,
                "{\"a\":[1,2.5,\"x\",true,null],\"b\":{}}");
    check_parse("\xEF\xBB\xBF [ {\"jobName\": \"x\"} ] \n\t", 0, "[{\"jobName\":\"x\"}]");
}

static void test_json_errors(void)
{
    check_error("{\n  \"a\": 1,\n  \"b\": x\n}\n", 0, "t:3:8: not valid JSON", NULL);
    check_error("{\"a\": 1,}", 0, "t:1:9: not valid JSON", NULL);
    check_error("{\"a\": \"unterminated\n", 0, "t:", "not valid JSON", NULL);
    check_error("{}\n x", 0, "t:2:2: text after the JSON value", NULL);
    check_error(" \n\t", 0, "t: empty", NULL);
    check_error("", 0, "t: empty", NULL);
    check_error("\"just a string\"", 0, "t: the top level must be an object or an array", NULL);
    check_error("{ab}", 0, "t:1:2: not valid JSON (at 'a')", NULL);
    check_error("{\"a\": 1,\n  b: 2}", 0, "t:2:3: not valid JSON (at 'b')", NULL);
    check_error("[1,2x]", 0, "t:1:5: not valid JSON (at 'x')", NULL);
    check_error("{\"a\": 1, \"b\" 2}", 0, "t:1:14: not valid JSON (at '2')", NULL);
    check_error("{\"a\": 1,}\n", 0, "t:1:9: not valid JSON (at '}')", NULL);
    check_error("{\"a\": [1, 2,]}", 0, "t:1:13: not valid JSON (at ']')", NULL);
    check_error("{\"big\": 1e400}", 0, "t: number out of range (key \"big\")", NULL);
    check_error("{\"a\":\n  [{\"b\": \"\xc3\xa9\", \"c\" 1}]}", 0, "t:2:19: not valid JSON", NULL);
}

static void test_json_caps(void)
{
    char err[DCMP_ERR_LEN] = "", *text = nested(DCMP_SETTINGS_MAX_DEPTH), *got;
    cJSON *root = NULL;
    size_t big = DCMP_SETTINGS_MAX + 1, i;

    got = parsed(text, 0, err);
    CHECK(got != NULL);
    free(got);
    free(text);
    text = nested(DCMP_SETTINGS_MAX_DEPTH + 1);
    check_error(text, 0, "t:1:65: nested deeper than 64 levels", NULL);
    free(text);
    text = nested(5000); /* past cJSON's own limit too: still the depth message */
    check_error(text, 0, "t:1:65: nested deeper than 64 levels", NULL);
    free(text);
    /* brackets inside strings do not count */
    check_parse(
        "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"]", 0,
        "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"]");

    /* size: one byte past the cap */
    text = malloc(big + 1);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    memset(text, ' ', big);
    text[0] = '[';
    text[big - 1] = ']';
    text[big] = '\0';
    CHECK(dcmp_settings_parse(text, big, "big.json", 0, &root, err) == -1);
    CHECK(root == NULL);
    CHECK_CONTAINS(err, "big.json: larger than 1048576 bytes");
    CHECK(dcmp_settings_parse(text, big, "big.yaml", 1, &root, err) == -1);
    CHECK_CONTAINS(err, "big.yaml: larger than 1048576 bytes");

    /* values: 100,000 fit, 100,001 do not ("[0,0,...]" has one value per 0 and the list) */
    for (i = 0; i < DCMP_SETTINGS_MAX_NODES - 1; i++) {
        text[1 + 2 * i] = '0';
        text[2 + 2 * i] = ',';
    }
    text[2 * i] = ']';
    CHECK(dcmp_settings_parse(text, 2 * i + 1, "n.json", 0, &root, err) == 0);
    CHECK(cJSON_GetArraySize(root) == DCMP_SETTINGS_MAX_NODES - 1);
    cJSON_Delete(root);
    root = NULL;
    text[2 * i] = ',';
    text[2 * i + 1] = '0';
    text[2 * i + 2] = ']';
    CHECK(dcmp_settings_parse(text, 2 * i + 3, "n.json", 0, &root, err) == -1);
    CHECK_CONTAINS(err, "n.json: more than 100000 values");
    /* the same in YAML flow style */
    text[2 * i] = ']';
    CHECK(dcmp_settings_parse(text, 2 * i + 1, "n.yaml", 1, &root, err) == 0);
    cJSON_Delete(root);
    root = NULL;
    text[2 * i] = ',';
    CHECK(dcmp_settings_parse(text, 2 * i + 3, "n.yaml", 1, &root, err) == -1);
    CHECK_CONTAINS(err, "n.yaml:1:200000: more than 100000 values");
    free(text);

    /* NUL bytes */
    CHECK(dcmp_settings_parse("[1]\0x", 5, "nul.json", 0, &root, err) == -1);
    CHECK_CONTAINS(err, "nul.json: contains a NUL byte");
    CHECK(dcmp_settings_parse("[1]\0x", 5, "nul.yaml", 1, &root, err) == -1);
    CHECK_CONTAINS(err, "nul.yaml: contains a NUL byte");
    CHECK(dcmp_settings_parse(NULL, 0, "null.yaml", 1, &root, err) == -1);
    CHECK_CONTAINS(err, "null.yaml: empty");
}

/* A key given twice keeps its first position and its last value, as in Python. */
static void test_duplicate_keys(void)
{
    check_parse("{\"a\": 1, \"b\": 2, \"a\": 3}", 0, "{\"a\":3,\"b\":2}");
    check_parse("{\"b\": 0, \"a\": 1, \"a\": 2, \"c\": 5, \"a\": {\"x\": 1, \"x\": [2]}}", 0,
                "{\"b\":0,\"a\":{\"x\":[2]},\"c\":5}");
    check_parse("a: 1\nb: 2\na: 3\n", 1, "{\"a\":3,\"b\":2}");
    check_parse("b: 0\na: 1\na: 2\nc: 5\na: {x: 1, x: [2]}\n", 1,
                "{\"b\":0,\"a\":{\"x\":[2]},\"c\":5}");
    check_parse("- {k: 1, k: 2}\n- {k: 3}\n", 1, "[{\"k\":2},{\"k\":3}]");
}

/* ---- YAML ---- */

static const char settings_json[] =
    "[\n"
    "  {\n"
    "    \"jobName\": \"segmentation\",\n"
    "    \"worker\": \"seg.worker.run\",\n"
    "    \"callback\": \"seg.callbacks.should_run\",\n"
    "    \"dependsOn\": [\"anonymize\", \"convert\"],\n"
    "    \"queue\": \"gpu\",\n"
    "    \"timeout\": \"2h\",\n"
    "    \"retry\": {\"max\": 3, \"interval\": \"30s\"},\n"
    "    \"disabled\": false,\n"
    "    \"sortPosition\": 2,\n"
    "    \"params\": {\n"
    "      \"threshold\": 0.75,\n"
    "      \"labels\": [\"liver\", \"spleen\"],\n"
    "      \"modalities\": [{\"name\": \"CT\", \"weight\": 1.5e-3}, {\"name\": \"MR\", "
    "\"weight\": null}],\n"
    "      \"note\": \"multi\\nline\\n\",\n"
    "      \"version\": \"1.10\",\n"
    "      \"enabled\": \"true\",\n"
    "      \"hex\": 255,\n"
    "      \"comment\": \"a # not a comment\"\n"
    "    }\n"
    "  },\n"
    "  {\"jobName\": \"convert\", \"worker\": \"nii.convert\", \"callback\": \"nii.cb\"}\n"
    "]\n";

static const char settings_yaml[] = "# registry/seg/settings.yaml\n"
                                    "- jobName: segmentation\n"
                                    "  worker: seg.worker.run\n"
                                    "  callback: \"seg.callbacks.should_run\"\n"
                                    "  dependsOn:\n"
                                    "    - anonymize\n"
                                    "    - convert   # trailing comment\n"
                                    "  queue: 'gpu'\n"
                                    "  timeout: 2h\n"
                                    "  retry: {max: 3, interval: 30s}\n"
                                    "  disabled: false\n"
                                    "  sortPosition: 2\n"
                                    "  params:\n"
                                    "    threshold: 0.75\n"
                                    "    labels: [liver, spleen]\n"
                                    "    modalities:\n"
                                    "      - name: CT\n"
                                    "        weight: 1.5e-3\n"
                                    "      - name: MR\n"
                                    "        weight:\n"
                                    "    note: |\n"
                                    "      multi\n"
                                    "      line\n"
                                    "    version: \"1.10\"\n"
                                    "    enabled: \"true\"\n"
                                    "    hex: 0xff\n"
                                    "    comment: a # not a comment\n"
                                    "\n"
                                    "- {jobName: convert, worker: nii.convert, callback: nii.cb}\n";

static void test_yaml_equivalent(void)
{
    char err[DCMP_ERR_LEN] = "";
    cJSON *j = NULL, *y = NULL;

    CHECK(dcmp_settings_parse(settings_json, strlen(settings_json), "s.json", 0, &j, err) == 0);
    CHECK(dcmp_settings_parse(settings_yaml, strlen(settings_yaml), "s.yaml", 1, &y, err) == 0);
    CHECK(j != NULL && y != NULL);
    /* "a # not a comment": a '#' after a space starts a comment in YAML */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "params"), "comment",
                              cJSON_CreateString("a"));
    CHECK(cJSON_Compare(j, y, 1));
    if (!cJSON_Compare(j, y, 1)) {
        char *a = cJSON_PrintUnformatted(j), *b = cJSON_PrintUnformatted(y);
        fprintf(stderr, "  json: %s\n  yaml: %s\n", a, b);
        free(a);
        free(b);
    }
    cJSON_Delete(j);
    cJSON_Delete(y);
}

static void test_yaml_scalars(void)
{
    check_parse("a: null\nb: Null\nc: NULL\nd: ~\ne:\nf: nil\ng: \"null\"\n", 1,
                "{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null,\"f\":\"nil\","
                "\"g\":\"null\"}");
    check_parse("[true, True, TRUE, false, False, FALSE, \"true\", 'false', yes, no, on, tRUE]", 1,
                "[true,true,true,false,false,false,\"true\",\"false\",\"yes\",\"no\",\"on\","
                "\"tRUE\"]");
    check_parse("[123, -7, +8, 012, \"123\", '45', 0x1F, 0o17, 0x, 0o8, 1_000, -0x1]", 1,
                "[123,-7,8,12,\"123\",\"45\",31,15,\"0x\",\"0o8\",\"1_000\",\"-0x1\"]");
    check_parse("[1.5, -0.25, .5, 5., 1e3, 2.5E-1, +1.0e+2, \"1.5\", 1.2.3, 1e, e3, .]", 1,
                "[1.5,-0.25,0.5,5,1000,0.25,100,\"1.5\",\"1.2.3\",\"1e\",\"e3\",\".\"]");
    check_parse("[!!str 12, ! true, !!str , plain text, 'it''s', \"tab\\tx\", 2h, 10:30]", 1,
                "[\"12\",\"true\",\"\",\"plain text\",\"it's\",\"tab\\tx\",\"2h\",\"10:30\"]");
    check_parse("a: >\n  folded\n  text\nb: |-\n  kept\n  123\nc: |\n  true\n", 1,
                "{\"a\":\"folded text\\n\",\"b\":\"kept\\n123\",\"c\":\"true\\n\"}");
    /* keys are strings whatever they read */
    check_parse("1: a\ntrue: b\nnull: c\n~: d\n", 1,
                "{\"1\":\"a\",\"true\":\"b\",\"null\":\"c\",\"~\":\"d\"}");
    check_parse("name: \"caf\xc3\xa9\"\nu: \"\\u00e9\"\n", 1,
                "{\"name\":\"caf\xc3\xa9\",\"u\":\"\xc3\xa9\"}");
}

static void test_yaml_structure(void)
{
    check_parse(
        "services:\n"
        "  - name: a\n"
        "    deps: [x, y]\n"
        "    opts:\n"
        "      - {k: 1}\n"
        "      - k: 2\n"
        "        more:\n"
        "          - - deep\n"
        "            - 3\n"
        "  - name: b\n"
        "    deps: []\n"
        "    opts: {}\n",
        1,
        "{\"services\":[{\"name\":\"a\",\"deps\":[\"x\",\"y\"],\"opts\":[{\"k\":1},{\"k\":2,"
        "\"more\":[[\"deep\",3]]}]},{\"name\":\"b\",\"deps\":[],\"opts\":{}}]}");
    check_parse("[a, b]", 1, "[\"a\",\"b\"]");
    check_parse("{a: 1}", 1, "{\"a\":1}");
    check_parse("{a: [1, {b: c}], d: {e: [f, g]}}", 1,
                "{\"a\":[1,{\"b\":\"c\"}],\"d\":{\"e\":[\"f\",\"g\"]}}");
    check_parse("---\nkey: value\n...\n", 1, "{\"key\":\"value\"}");
    check_parse("%YAML 1.2\n---\n- x\n", 1, "[\"x\"]");
    check_parse("anchored: &a value\n", 1, "{\"anchored\":\"value\"}");
    check_parse("a: !!map {b: !!seq [c]}\n", 1, "{\"a\":{\"b\":[\"c\"]}}");
}

static void test_yaml_errors(void)
{
    char *text;

    /* bad indentation: c is less indented than its siblings */
    check_error("a:\n  b: 1\n c: 2\n", 1, "t:3:2: ", "did not find expected key", NULL);
    check_error("a: 1\n  b: 2\n", 1, "t:2:4: mapping values are not allowed", NULL);
    check_error("a: [1, 2\n", 1, "t:2:1: ", NULL);
    check_error("a:\n\t- x\n", 1, "t:2:1: found character that cannot start any token", NULL);
    check_error("a: 'open\n", 1, "t:2:1: found unexpected end of stream", NULL);
    check_error("base: &b {x: 1}\nother: *b\n", 1, "t:2:8: aliases are not supported", NULL);
    check_error("a: 1\n---\nb: 2\n", 1, "t:2:1: more than one document", NULL);
    check_error("- 1\n...\n---\n- 2\n", 1, "t:3:1: more than one document", NULL);
    check_error("x: .inf\n", 1, "t:1:4: .inf: JSON has no such number", NULL);
    check_error("x: [1, -.Inf]\n", 1, "t:1:8: -.Inf: JSON has no such number", NULL);
    check_error("x: .nan\n", 1, "t:1:4: .nan: JSON has no such number", NULL);
    check_error("x: 1e999\n", 1, "t:1:4: 1e999: number out of range", NULL);
    check_error("x: 0xffffffffffffffffff\n", 1, "t:1:4: 0xffffffffffffffffff: number out of range",
                NULL);
    check_error("", 1, "t: empty", NULL);
    check_error("# only a comment\n\n", 1, "t: empty", NULL);
    check_error("---\n", 1, "t: empty", NULL);
    check_error("just text\n", 1, "t:1:1: the top level must be a mapping or a list", NULL);
    check_error("~\n", 1, "t:1:1: the top level must be a mapping or a list", NULL);
    check_error("? [a, b]\n: c\n", 1, "t:1:3: a mapping key must be a scalar", NULL);
    check_error("{[a]: 1}\n", 1, "t:1:2: a mapping key must be a scalar", NULL);
    check_error("a: !!int 12\n", 1, "t:1:4: tag tag:yaml.org,2002:int is not supported", NULL);
    check_error("a: !custom {b: 1}\n", 1, "t:1:4: tag !custom is not supported", NULL);
    check_error("a: \"x\\0y\"\n", 1, "t:1:4: a string holds a NUL character", NULL);
    check_error("\"x\\0\": 1\n", 1, "t:1:1: a key holds a NUL character", NULL);
    check_error("a: \x01\n", 1, "t:1:4: control characters are not allowed (#x1)", NULL);
    check_error("a: \xff\xfe\n", 1, "t:1:4: invalid leading UTF-8 octet (#xFF)", NULL);

    /* depth: 64 levels parse, 65 do not, in flow and in block style */
    text = nested(DCMP_SETTINGS_MAX_DEPTH);
    check_parse(text, 1, text);
    free(text);
    text = nested(DCMP_SETTINGS_MAX_DEPTH + 1);
    check_error(text, 1, "t:1:65: nested deeper than 64 levels", NULL);
    free(text);
    {
        char block[8192];
        size_t used = 0;
        int i;
        for (i = 0; i <= DCMP_SETTINGS_MAX_DEPTH; i++)
            used += (size_t)snprintf(block + used, sizeof block - used, "%*sk%d:\n", i, "", i);
        check_error(block, 1, "t:65:", "nested deeper than 64 levels", NULL);
    }
}

/* ---- files ---- */

static char tmp_dir[64];

/* Writes text (len bytes) to tmp_dir/rel and puts its path in out. */
static void write_file(char *out, const char *rel, const char *text, size_t len)
{
    FILE *f;

    CHECK(snprintf(out, PATH_MAX, "%s/%s", tmp_dir, rel) < PATH_MAX);
    f = fopen(out, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    CHECK(fwrite(text, 1, len, f) == len);
    fclose(f);
}

static void test_load(void)
{
    char path[PATH_MAX], err[DCMP_ERR_LEN] = "", *s;
    cJSON *root = NULL;

    write_file(path, "a.yaml", "a: [1, x]\n", 10);
    CHECK(dcmp_settings_load(path, &root, err) == 0);
    s = cJSON_PrintUnformatted(root);
    CHECK_STR(s, "{\"a\":[1,\"x\"]}");
    free(s);
    cJSON_Delete(root);
    write_file(path, "b.YML", "- 1\n", 4);
    CHECK(dcmp_settings_load(path, &root, err) == 0);
    CHECK(cJSON_IsArray(root));
    cJSON_Delete(root);
    write_file(path, "c.json", "{\"a\": 1}", 8);
    CHECK(dcmp_settings_load(path, &root, err) == 0);
    CHECK(cJSON_IsObject(root));
    cJSON_Delete(root);
    /* YAML in a file not named .yaml is read as JSON */
    write_file(path, "d.json", "a: 1\n", 5);
    CHECK(dcmp_settings_load(path, &root, err) == -1);
    CHECK(root == NULL);
    CHECK_CONTAINS(err, "/d.json:1:1: not valid JSON");
    write_file(path, "e.yaml.json", "a: 1\n", 5);
    CHECK(dcmp_settings_load(path, &root, err) == -1);
    write_file(path, "nul.yaml", "a: 1\n\0", 6);
    CHECK(dcmp_settings_load(path, &root, err) == -1);
    CHECK_CONTAINS(err, "/nul.yaml: contains a NUL byte");
    write_file(path, "bad.yaml", "a: b: c\n", 8);
    CHECK(dcmp_settings_load(path, &root, err) == -1);
    CHECK_CONTAINS(err, "/bad.yaml:1:5: mapping values are not allowed");
    CHECK(snprintf(path, sizeof path, "%s/missing.json", tmp_dir) < (int)sizeof path);
    CHECK(dcmp_settings_load(path, &root, err) == -1);
    CHECK_CONTAINS(err, "/missing.json: No such file or directory");
    CHECK(dcmp_settings_load(tmp_dir, &root, err) == -1);
    CHECK_CONTAINS(err, ": not a regular file");
    {
        /* a file past the cap is refused before it is read */
        FILE *f;
        write_file(path, "big.json", "[", 1);
        f = fopen(path, "r+");
        CHECK(f != NULL);
        if (f) {
            CHECK(fseek(f, DCMP_SETTINGS_MAX, SEEK_SET) == 0);
            fputc(']', f);
            fclose(f);
        }
        CHECK(dcmp_settings_load(path, &root, err) == -1);
        CHECK_CONTAINS(err, "/big.json: larger than 1048576 bytes");
    }
}

static void test_registry(void)
{
    char path[PATH_MAX], reg_dir[PATH_MAX], err[DCMP_ERR_LEN] = "";
    dcmp_settings_files reg;
    static const char *const dirs[] = {"reg",      "reg/b",    "reg/a",   "reg/.hidden", "reg/c",
                                       "reg/none", "reg/both", "reg/yml", "reg/ydup",    NULL};
    int i;

    CHECK(snprintf(reg_dir, sizeof reg_dir, "%s/reg", tmp_dir) < (int)sizeof reg_dir);
    for (i = 0; dirs[i]; i++) {
        CHECK(snprintf(path, sizeof path, "%s/%s", tmp_dir, dirs[i]) < (int)sizeof path);
        CHECK(mkdir(path, 0700) == 0);
    }
    write_file(path, "reg/b/settings.json", "[{\"jobName\": \"b\"}]", 18);
    write_file(path, "reg/a/settings.yaml", "jobName: a\nworker: m.a\n", 23);
    write_file(path, "reg/.hidden/settings.json", "{}", 2);
    write_file(path, "reg/c/settings.json", "{\n  \"jobName\": \"c\",\n  oops\n}\n", 29);
    write_file(path, "reg/none/README", "no settings here", 16);
    write_file(path, "reg/both/settings.json", "{\"from\": \"json\"}", 16);
    write_file(path, "reg/both/settings.yaml", "from: yaml\n", 11);
    write_file(path, "reg/both/settings.yml", "from: yml\n", 10);
    write_file(path, "reg/yml/settings.yml", "- x\n", 4);
    write_file(path, "reg/ydup/settings.yaml", "from: yaml\n", 11);
    write_file(path, "reg/ydup/settings.yml", "from: yml\n", 10);
    write_file(path, "reg/settings.json", "{}", 2); /* a file, not a folder: ignored */

    CHECK(dcmp_settings_registry(reg_dir, &reg, err) == 0);
    CHECK(reg.n == 6);
    if (reg.n == 6) {
        static const char *const names[] = {"a", "b", "both", "c", "ydup", "yml"};
        static const char *const files[] = {"a/settings.yaml",    "b/settings.json",
                                            "both/settings.json", "c/settings.json",
                                            "ydup/settings.yaml", "yml/settings.yml"};
        char *s;
        for (i = 0; i < 6; i++) {
            CHECK(snprintf(path, sizeof path, "%s/%s", reg_dir, files[i]) < (int)sizeof path);
            CHECK_STR(reg.files[i].path, path);
            CHECK_STR(reg.names[i], names[i]);
        }
        s = cJSON_PrintUnformatted(reg.files[0].root);
        CHECK_STR(s, "{\"jobName\":\"a\",\"worker\":\"m.a\"}");
        free(s);
        CHECK(reg.files[0].load_error == NULL);
        CHECK(cJSON_IsArray(reg.files[1].root) && reg.files[1].load_error == NULL);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(reg.files[2].root, "from")), "json");
        CHECK(reg.files[3].root == NULL);
        CHECK_CONTAINS(reg.files[3].load_error, "/reg/c/settings.json:3:3: not valid JSON");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(reg.files[4].root, "from")), "yaml");
        CHECK(cJSON_IsArray(reg.files[5].root));
    }
    dcmp_settings_registry_free(&reg);
    CHECK(reg.n == 0 && reg.files == NULL);

    /* a trailing slash does not double in the paths */
    CHECK(snprintf(path, sizeof path, "%s/", reg_dir) < (int)sizeof path);
    CHECK(dcmp_settings_registry(path, &reg, err) == 0);
    CHECK(reg.n == 6);
    if (reg.n > 0) {
        CHECK(snprintf(path, sizeof path, "%s/a/settings.yaml", reg_dir) < (int)sizeof path);
        CHECK_STR(reg.files[0].path, path);
    }
    dcmp_settings_registry_free(&reg);

    /* an empty registry, a missing one, a file */
    CHECK(snprintf(path, sizeof path, "%s/reg/none", tmp_dir) < (int)sizeof path);
    CHECK(dcmp_settings_registry(path, &reg, err) == 0);
    CHECK(reg.n == 0);
    dcmp_settings_registry_free(&reg);
    CHECK(snprintf(path, sizeof path, "%s/nowhere", tmp_dir) < (int)sizeof path);
    CHECK(dcmp_settings_registry(path, &reg, err) == -1);
    CHECK_CONTAINS(err, "/nowhere: No such file or directory");
    CHECK(reg.n == 0);
    dcmp_settings_registry_free(&reg);
    CHECK(snprintf(path, sizeof path, "%s/reg/none/README", tmp_dir) < (int)sizeof path);
    CHECK(dcmp_settings_registry(path, &reg, err) == -1);
    CHECK_CONTAINS(err, "/reg/none/README: Not a directory");
    dcmp_settings_registry_free(&reg);
}

/* The service cap: 1024 folders with settings are read, one more is an error. */
static void test_registry_cap(void)
{
    char path[PATH_MAX], rel[64], err[DCMP_ERR_LEN] = "";
    dcmp_settings_files reg;
    int i;

    CHECK(snprintf(path, sizeof path, "%s/many", tmp_dir) < (int)sizeof path);
    CHECK(mkdir(path, 0700) == 0);
    for (i = 0; i <= DCMP_SETTINGS_MAX_SERVICES; i++) {
        snprintf(rel, sizeof rel, "many/s%04d", i);
        CHECK(snprintf(path, sizeof path, "%s/%s", tmp_dir, rel) < (int)sizeof path);
        CHECK(mkdir(path, 0700) == 0);
        if (i < DCMP_SETTINGS_MAX_SERVICES) {
            snprintf(rel, sizeof rel, "many/s%04d/settings.json", i);
            write_file(path, rel, "{}", 2);
        }
    }
    CHECK(snprintf(path, sizeof path, "%s/many", tmp_dir) < (int)sizeof path);
    CHECK(dcmp_settings_registry(path, &reg, err) == 0);
    CHECK(reg.n == DCMP_SETTINGS_MAX_SERVICES);
    if (reg.n == DCMP_SETTINGS_MAX_SERVICES)
        CHECK_STR(reg.names[DCMP_SETTINGS_MAX_SERVICES - 1], "s1023");
    dcmp_settings_registry_free(&reg);
    snprintf(rel, sizeof rel, "many/s%04d/settings.yml", DCMP_SETTINGS_MAX_SERVICES);
    write_file(path, rel, "{}", 2);
    CHECK(snprintf(path, sizeof path, "%s/many", tmp_dir) < (int)sizeof path);
    CHECK(dcmp_settings_registry(path, &reg, err) == -1);
    CHECK_CONTAINS(err, "/many: more than 1024 services");
    CHECK(reg.n == 0 && reg.files == NULL);
    dcmp_settings_registry_free(&reg);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything under it, without following links. */
static void remove_tree(const char *dir)
{
    CHECK(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

int main(void)
{
    CHECK(snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dcmp-settings-XXXXXX") < (int)sizeof tmp_dir);
    CHECK(mkdtemp(tmp_dir) != NULL);
    RUN(test_json_ok);
    RUN(test_json_errors);
    RUN(test_json_caps);
    RUN(test_duplicate_keys);
    RUN(test_yaml_equivalent);
    RUN(test_yaml_scalars);
    RUN(test_yaml_structure);
    RUN(test_yaml_errors);
    RUN(test_load);
    RUN(test_registry);
    RUN(test_registry_cap);
    remove_tree(tmp_dir);
    return HARNESS_RESULT();
}
