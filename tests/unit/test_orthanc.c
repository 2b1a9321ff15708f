/* test_orthanc.c -- unit tests of the Orthanc client's pure parts: ids, base URLs and paths,
 * the /changes parser, the instance order, and what fetch refuses before any request. */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "orthanc.h"

#define SID "7f68b3bb-66c5197f-d0029899-47e5b846-d3c0adab"

/* The answer of a real Orthanc 1.10.1 to GET /changes?since=0&limit=3 (Date and Path kept). */
static const char changes_page[] =
    "{\n"
    "   \"Changes\" : [\n"
    "      {\"ChangeType\" : \"NewInstance\", \"Date\" : \"20261125T172451\",\n"
    "       \"ID\" : \"38e9e943-eca8fcf3-4a78dd90-491f0a62-a1f64be6\",\n"
    "       \"Path\" : \"/instances/38e9e943-eca8fcf3-4a78dd90-491f0a62-a1f64be6\",\n"
    "       \"ResourceType\" : \"Instance\", \"Seq\" : 1},\n"
    "      {\"ChangeType\" : \"NewSeries\", \"Date\" : \"20261125T172451\",\n"
    "       \"ID\" : \"" SID "\", \"Path\" : \"/series/" SID "\",\n"
    "       \"ResourceType\" : \"Series\", \"Seq\" : 2},\n"
    "      {\"ChangeType\" : \"StableSeries\", \"Date\" : \"20261125T172454\",\n"
    "       \"ID\" : \"" SID "\", \"Path\" : \"/series/" SID "\",\n"
    "       \"ResourceType\" : \"Series\", \"Seq\" : 9}\n"
    "   ],\n"
    "   \"Done\" : false,\n"
    "   \"Last\" : 9\n"
    "}\n";

static void test_id_ok(void)
{
    char long_id[80];

    CHECK(dcmp_orthanc_id_ok(SID));
    CHECK(dcmp_orthanc_id_ok("a"));
    CHECK(dcmp_orthanc_id_ok("ABC-def-019"));
    memset(long_id, 'a', 64);
    long_id[64] = '\0';
    CHECK(dcmp_orthanc_id_ok(long_id));
    long_id[64] = 'a';
    long_id[65] = '\0';
    CHECK(!dcmp_orthanc_id_ok(long_id));
    CHECK(!dcmp_orthanc_id_ok(NULL));
    CHECK(!dcmp_orthanc_id_ok(""));
    CHECK(!dcmp_orthanc_id_ok("../x"));
    CHECK(!dcmp_orthanc_id_ok("a/b"));
    CHECK(!dcmp_orthanc_id_ok("a b"));
    CHECK(!dcmp_orthanc_id_ok("a%2e"));
    CHECK(!dcmp_orthanc_id_ok("a?b"));
    CHECK(!dcmp_orthanc_id_ok("a_b"));
    CHECK(!dcmp_orthanc_id_ok("caf\xc3\xa9"));
}

/* Creates a client for url and expects the full URL of path. */
static void url_is(const char *base, const char *path, const char *want)
{
    char err[DCMP_ERR_LEN] = "", url[DCMP_ORTHANC_URL_MAX] = "";
    dcmp_orthanc *o = dcmp_orthanc_new(base, "test", "secret", err);

    CHECK(o != NULL);
    if (o == NULL) {
        fprintf(stderr, "  %s: %s\n", base, err);
        return;
    }
    CHECK(dcmp_orthanc_url(o, path, url, sizeof url, err) == 0);
    CHECK_STR(url, want);
    dcmp_orthanc_free(o);
}

static void new_fails(const char *url, const char *user, const char *password, const char *why)
{
    char err[DCMP_ERR_LEN] = "";
    dcmp_orthanc *o = dcmp_orthanc_new(url, user, password, err);

    CHECK(o == NULL);
    CHECK_CONTAINS(err, why);
    dcmp_orthanc_free(o);
}

static void test_new(void)
{
    char long_url[700], long_cred[300];

    url_is("http://127.0.0.1:8042", "/system", "http://127.0.0.1:8042/system");
    url_is("http://127.0.0.1:8042/", "/system", "http://127.0.0.1:8042/system");
    url_is("http://orthanc:8042///", "/changes?since=3&limit=100",
           "http://orthanc:8042/changes?since=3&limit=100");
    url_is("https://pacs.example.org/orthanc/", "/series/" SID,
           "https://pacs.example.org/orthanc/series/" SID);
    new_fails(NULL, NULL, NULL, "empty");
    new_fails("", NULL, NULL, "empty");
    new_fails("ftp://host", NULL, NULL, "\"ftp://host\" must start with http");
    new_fails("127.0.0.1:8042", NULL, NULL, "must start with http");
    new_fails("http://", NULL, NULL, "no host");
    new_fails("http:///system", NULL, NULL, "no host");
    new_fails("http://test:secret@orthanc:8042", NULL, NULL, "credentials");
    new_fails("http://orthanc:8042/a b", NULL, NULL, "character 22");
    new_fails("http://orthanc:8042/?x=1", NULL, NULL, "not allowed");
    new_fails("http://orthanc:8042/#x", NULL, NULL, "not allowed");
    memset(long_url, 'a', sizeof long_url - 1);
    long_url[sizeof long_url - 1] = '\0';
    memcpy(long_url, "http://", 7);
    new_fails(long_url, NULL, NULL, "longer than 511 bytes");
    new_fails("http://orthanc:8042", "a:b", "c", "must not contain ':'");
    memset(long_cred, 'x', sizeof long_cred - 1);
    long_cred[sizeof long_cred - 1] = '\0';
    new_fails("http://orthanc:8042", long_cred, "c", "username is longer");
    new_fails("http://orthanc:8042", "u", long_cred, "password is longer");
    /* no user: no auth, still a client */
    url_is("http://h:1", "/x", "http://h:1/x");
    dcmp_orthanc_free(NULL);
}

static void test_url(void)
{
    char err[DCMP_ERR_LEN] = "", url[32];
    dcmp_orthanc *o = dcmp_orthanc_new("http://127.0.0.1:8042", NULL, NULL, err);

    CHECK(o != NULL);
    if (o == NULL)
        return;
    CHECK(dcmp_orthanc_url(o, "system", url, sizeof url, err) == -1);
    CHECK_CONTAINS(err, "\"system\" must start with '/'");
    CHECK(dcmp_orthanc_url(o, NULL, url, sizeof url, err) == -1);
    CHECK(dcmp_orthanc_url(o, "/a b", url, sizeof url, err) == -1);
    CHECK_CONTAINS(err, "\"/a b\": character 3 is not allowed");
    CHECK(dcmp_orthanc_url(o, "/a\nb", url, sizeof url, err) == -1);
    CHECK(dcmp_orthanc_url(o, "/a#b", url, sizeof url, err) == -1);
    CHECK(dcmp_orthanc_url(o, "/a\\b", url, sizeof url, err) == -1);
    CHECK(dcmp_orthanc_url(o, "/123456789", url, sizeof url, err) == 0);
    CHECK_STR(url, "http://127.0.0.1:8042/123456789");
    CHECK(dcmp_orthanc_url(o, "/1234567890", url, sizeof url, err) == -1);
    CHECK_CONTAINS(err, "longer than 31 bytes");
    dcmp_orthanc_set_timeouts(o, 100, 200);
    dcmp_orthanc_set_timeouts(o, 0, -1); /* ignored */
    dcmp_orthanc_free(o);
}

static void test_parse_changes(void)
{
    dcmp_orthanc_change ch[8];
    char err[DCMP_ERR_LEN] = "";
    int64_t last = -1;
    int n = -1, done = -1;

    CHECK(dcmp_orthanc_parse_changes(changes_page, strlen(changes_page), ch, 8, &n, &last, &done,
                                     err) == 0);
    CHECK(n == 3);
    CHECK(last == 9);
    CHECK(done == 0);
    CHECK_STR(ch[0].type, "NewInstance");
    CHECK_STR(ch[0].id, "38e9e943-eca8fcf3-4a78dd90-491f0a62-a1f64be6");
    CHECK(ch[0].seq == 1);
    CHECK_STR(ch[1].type, "NewSeries");
    CHECK(ch[1].seq == 2);
    CHECK_STR(ch[2].type, "StableSeries");
    CHECK_STR(ch[2].id, SID);
    CHECK(ch[2].seq == 9);

    /* exactly max rows fit; one more is an error */
    CHECK(dcmp_orthanc_parse_changes(changes_page, strlen(changes_page), ch, 3, &n, &last, &done,
                                     err) == 0);
    CHECK(dcmp_orthanc_parse_changes(changes_page, strlen(changes_page), ch, 2, &n, &last, &done,
                                     err) == -1);
    CHECK_CONTAINS(err, "3 rows, more than the 2 expected");
    CHECK(n == 0);

    /* caught up: what 1.10.1 answers past the end (Last is its newest Seq) */
    const char *empty = "{\"Changes\":[],\"Done\":true,\"Last\":11}";
    CHECK(dcmp_orthanc_parse_changes(empty, strlen(empty), ch, 8, &n, &last, &done, err) == 0);
    CHECK(n == 0 && last == 11 && done == 1);

    /* a change without a resource */
    const char *noid = "{\"Changes\":[{\"ChangeType\":\"UpdatedModalities\",\"ID\":\"\",\"Seq\":"
                       "12}],\"Done\":true,\"Last\":12}";
    CHECK(dcmp_orthanc_parse_changes(noid, strlen(noid), ch, 8, &n, &last, &done, err) == 0);
    CHECK(n == 1 && ch[0].id[0] == '\0' && ch[0].seq == 12);

    /* the length given is the length used */
    CHECK(dcmp_orthanc_parse_changes(empty, 10, ch, 8, &n, &last, &done, err) == -1);
    CHECK_CONTAINS(err, "not JSON");
}

static void changes_fail(const char *json, const char *why)
{
    dcmp_orthanc_change ch[4];
    char err[DCMP_ERR_LEN] = "";
    int64_t last = -1;
    int n = -1, done = -1;

    CHECK(dcmp_orthanc_parse_changes(json, strlen(json), ch, 4, &n, &last, &done, err) == -1);
    CHECK_CONTAINS(err, why);
    CHECK(n == 0 && last == 0 && done == 0);
}

static void test_parse_changes_errors(void)
{
    changes_fail("", "not JSON");
    changes_fail("{\"Changes\":[", "not JSON");
    changes_fail("[]", "\"Changes\" is missing");
    changes_fail("{\"Done\":true,\"Last\":1}", "\"Changes\" is missing");
    changes_fail("{\"Changes\":{},\"Done\":true,\"Last\":1}", "\"Changes\" is missing");
    changes_fail("{\"Changes\":[],\"Last\":1}", "\"Done\"");
    changes_fail("{\"Changes\":[],\"Done\":1,\"Last\":1}", "\"Done\"");
    changes_fail("{\"Changes\":[],\"Done\":true}", "\"Last\"");
    changes_fail("{\"Changes\":[],\"Done\":true,\"Last\":-1}", "\"Last\"");
    changes_fail("{\"Changes\":[],\"Done\":true,\"Last\":1.5}", "\"Last\"");
    changes_fail("{\"Changes\":[],\"Done\":true,\"Last\":\"3\"}", "\"Last\"");
    changes_fail("{\"Changes\":[],\"Done\":true,\"Last\":1e300}", "\"Last\"");
    changes_fail("{\"Changes\":[1],\"Done\":true,\"Last\":1}", "row 1: \"ChangeType\"");
    changes_fail("{\"Changes\":[{\"ID\":\"a\",\"Seq\":1}],\"Done\":true,\"Last\":1}",
                 "row 1: \"ChangeType\"");
    changes_fail("{\"Changes\":[{\"ChangeType\":\"\",\"ID\":\"a\",\"Seq\":1}],\"Done\":true,"
                 "\"Last\":1}",
                 "row 1: \"ChangeType\"");
    changes_fail("{\"Changes\":[{\"ChangeType\":\"ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGH"
                 "\",\"ID\":\"a\",\"Seq\":1}],\"Done\":true,\"Last\":1}",
                 "1 to 47 bytes");
    changes_fail(
        "{\"Changes\":[{\"ChangeType\":\"NewSeries\",\"ID\":\"a\",\"Seq\":1},{\"ChangeType\":"
        "\"NewSeries\",\"ID\":\"../x\",\"Seq\":2}],\"Done\":true,\"Last\":2}",
        "row 2 (NewSeries): \"ID\"");
    changes_fail(
        "{\"Changes\":[{\"ChangeType\":\"NewSeries\",\"Seq\":1}],\"Done\":true,\"Last\":1}",
        "\"ID\"");
    changes_fail("{\"Changes\":[{\"ChangeType\":\"NewSeries\",\"ID\":\"a\",\"Seq\":1.5}],\"Done\":"
                 "true,\"Last\":1}",
                 "row 1 (NewSeries): \"Seq\"");
    changes_fail("{\"Changes\":[{\"ChangeType\":\"NewSeries\",\"ID\":\"a\"}],\"Done\":true,"
                 "\"Last\":1}",
                 "\"Seq\"");
}

/* Orders the instances of `list` with `slices` (NULL: none) and expects the ids of `want`
 * (a space-separated list) and the order's name. */
static void orders(const char *list, const char *slices, const char *want, const char *how_want)
{
    cJSON *l = cJSON_Parse(list), *s = slices ? cJSON_Parse(slices) : NULL;
    char err[DCMP_ERR_LEN] = "", got[512] = "";
    dcmp_orthanc_instance *ids = NULL;
    const char *how = NULL;
    int n = -1, i;
    size_t len = 0;

    CHECK(l != NULL && (slices == NULL || s != NULL));
    CHECK(dcmp_orthanc_order_instances(l, s, &ids, &n, &how, err) == 0);
    for (i = 0; i < n && len < sizeof got - 80; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? " " : "", ids[i].id);
    CHECK_STR(got, want);
    CHECK_STR(how, how_want);
    if (err[0])
        fprintf(stderr, "  %s\n", err);
    free(ids);
    cJSON_Delete(l);
    cJSON_Delete(s);
}

static void order_fails(const char *list, const char *why)
{
    cJSON *l = cJSON_Parse(list);
    char err[DCMP_ERR_LEN] = "";
    dcmp_orthanc_instance *ids = (dcmp_orthanc_instance *)1;
    int n = -1;

    CHECK(dcmp_orthanc_order_instances(l, NULL, &ids, &n, NULL, err) == -1);
    CHECK(ids == NULL && n == 0);
    CHECK_CONTAINS(err, why);
    cJSON_Delete(l);
}

static void test_order(void)
{
    const char *list = "[{\"ID\":\"c\",\"IndexInSeries\":3},{\"ID\":\"a\",\"IndexInSeries\":1},"
                       "{\"ID\":\"e\",\"IndexInSeries\":5},{\"ID\":\"b\",\"IndexInSeries\":2},"
                       "{\"ID\":\"d\",\"IndexInSeries\":4}]";
    const char *slices = "{\"Type\":\"Volume\",\"SlicesShort\":[[\"e\",0,1],[\"d\",0,1],"
                         "[\"c\",0,1],[\"b\",0,1],[\"a\",0,1]]}";

    /* ordered-slices wins when it names every instance once */
    orders(list, slices, "e d c b a", "ordered-slices");
    /* else IndexInSeries */
    orders(list, NULL, "a b c d e", "IndexInSeries");
    orders(list, "{\"SlicesShort\":[[\"e\",0,1],[\"d\",0,1],[\"c\",0,1],[\"b\",0,1]]}", "a b c d e",
           "IndexInSeries");
    orders(list, "{\"SlicesShort\":[[\"e\",0,1],[\"d\",0,1],[\"c\",0,1],[\"b\",0,1],[\"b\",0,1]]}",
           "a b c d e", "IndexInSeries");
    orders(list, "{\"SlicesShort\":[[\"e\",0,1],[\"d\",0,1],[\"c\",0,1],[\"b\",0,1],[\"x\",0,1]]}",
           "a b c d e", "IndexInSeries");
    orders(list, "{\"SlicesShort\":[[\"e\"],[\"d\"],[\"c\"],[\"b\"],[\"../a\"]]}", "a b c d e",
           "IndexInSeries");
    orders(list, "{\"Dicom\":[]}", "a b c d e", "IndexInSeries");
    orders(list, "[]", "a b c d e", "IndexInSeries");
    /* ties keep the list's order; instances without an index go last */
    orders("[{\"ID\":\"x\"},{\"ID\":\"b\",\"IndexInSeries\":2},{\"ID\":\"a\",\"IndexInSeries\":2},"
           "{\"ID\":\"c\",\"IndexInSeries\":1},{\"ID\":\"y\",\"IndexInSeries\":null}]",
           NULL, "c b a x y", "IndexInSeries");
    /* no index at all: the list's order */
    orders("[{\"ID\":\"z\"},{\"ID\":\"y\"},{\"ID\":\"x\"}]", NULL, "z y x", "list");
    orders("[{\"ID\":\"" SID "\"}]", NULL, SID, "list");

    order_fails("[]", "no instances");
    order_fails("{}", "not a JSON array");
    order_fails("[{\"ID\":\"a\"},{\"ID\":\"../b\"}]", "instance 2 of the list");
    order_fails("[{\"ID\":\"a\"},{\"Id\":\"b\"}]", "instance 2 of the list");
    order_fails("[{\"ID\":\"a\"},\"b\"]", "instance 2 of the list");
    order_fails("[{\"ID\":\"a\"},{\"ID\":\"b\"},{\"ID\":\"a\"}]", "instance a is listed twice");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Refusals that come before any request: the client points at a port nothing listens on, so
 * a request would say "Couldn't connect" or name the URL. */
static void test_fetch_refuses(void)
{
    const char *tmp = getenv("TMPDIR");
    char err[DCMP_ERR_LEN], dir[PATH_MAX - 16], dicom[PATH_MAX];
    char dcmpath[128] = "unchanged", small[8], long_id[80];
    const char *bad[] = {"../x", "", "a/b", "a b", "..", "x\n", NULL};
    dcmp_orthanc_change ch[4];
    dcmp_orthanc *o;
    struct stat st;
    int64_t last;
    int i, n = -1, done;

    snprintf(dir, sizeof dir, "%s/dcmp-orthanc-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    o = dcmp_orthanc_new("http://127.0.0.1:1", "test", "secret", err);
    CHECK(o != NULL);
    CHECK(mkdtemp(dir) != NULL);
    if (o == NULL)
        return;
    snprintf(dicom, sizeof dicom, "%s/dicom", dir);
    for (i = 0; i < (int)(sizeof bad / sizeof *bad); i++) {
        err[0] = '\0';
        n = 7;
        CHECK(dcmp_orthanc_fetch_series(o, bad[i], dir, dcmpath, sizeof dcmpath, &n, err) == -1);
        CHECK_CONTAINS(err, "must be 1 to 64 letters, digits or '-'");
        CHECK(strstr(err, "127.0.0.1") == NULL);
        CHECK(n == 0);
    }
    CHECK(dcmp_orthanc_fetch_series(o, "../x", dir, dcmpath, sizeof dcmpath, &n, err) == -1);
    CHECK_CONTAINS(err, "series id \"../x\"");
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    CHECK(dcmp_orthanc_fetch_series(o, long_id, dir, dcmpath, sizeof dcmpath, &n, err) == -1);
    CHECK_STR(dcmpath, "unchanged");
    /* dcmpath too small, DATA not set */
    CHECK(dcmp_orthanc_fetch_series(o, SID, dir, small, sizeof small, &n, err) == -1);
    CHECK_CONTAINS(err, "dcmpath needs 51 bytes, has 8");
    CHECK(dcmp_orthanc_fetch_series(o, SID, "", dcmpath, sizeof dcmpath, &n, err) == -1);
    CHECK_CONTAINS(err, "DATA folder is not set");
    CHECK(stat(dicom, &st) == -1); /* nothing was created */

    /* /changes arguments */
    CHECK(dcmp_orthanc_changes(o, 0, 0, ch, 4, &n, &last, &done, err) == -1);
    CHECK_CONTAINS(err, "limit 0 must be 1 to 4");
    CHECK(dcmp_orthanc_changes(o, 0, 5, ch, 4, &n, &last, &done, err) == -1);
    CHECK(dcmp_orthanc_changes(o, -1, 4, ch, 4, &n, &last, &done, err) == -1);
    CHECK_CONTAINS(err, "since -1");
    dcmp_orthanc_free(o);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    RUN(test_id_ok);
    RUN(test_new);
    RUN(test_url);
    RUN(test_parse_changes);
    RUN(test_parse_changes_errors);
    RUN(test_order);
    RUN(test_fetch_refuses);
    return HARNESS_RESULT();
}
