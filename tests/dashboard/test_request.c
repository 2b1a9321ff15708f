/* test_request.c -- unit tests of dcmp-dashboard's request reading (request.c): route patterns,
 * the Basic login, the secret comparison, Origin/Referer, query parameters. */
#include <string.h>

#include "harness.h"
#include "request.h"

static void test_match(void)
{
    char caps[REQUEST_MAX_CAPS][REQUEST_SEGMENT_LEN];
    char long_id[300];

    CHECK(request_match("/", "/", caps, 2) == 1);
    CHECK(request_match("/api/queues", "/api/queues", caps, 2) == 1);
    CHECK(request_match("/api/queues", "/api/queues/", caps, 2) == 0);
    CHECK(request_match("/api/queues", "/api/queue", caps, 2) == 0);
    CHECK(request_match("/api/jobs/{}", "/api/jobs/ab12-x_y", caps, 2) == 1);
    CHECK_STR(caps[0], "ab12-x_y");
    CHECK(request_match("/api/jobs/{}", "/api/jobs/", caps, 2) == 0);
    CHECK(request_match("/api/jobs/{}", "/api/jobs/a/b", caps, 2) == 0);
    CHECK(request_match("/api/jobs/{}/requeue", "/api/jobs/x1/requeue", caps, 2) == 1);
    CHECK_STR(caps[0], "x1");
    CHECK(request_match("/api/jobs/{}/requeue", "/api/jobs/x1/cancel", caps, 2) == 0);
    CHECK(request_match("/api/queues/{}/empty", "/api/queues/high.prio:1/empty", caps, 2) == 1);
    CHECK_STR(caps[0], "high.prio:1");
    CHECK(request_match("/api/jobs/{}", "/api/jobs/a b", caps, 2) == 0);
    CHECK(request_match("/api/jobs/{}", "/api/jobs/a%2f", caps, 2) == 0);
    CHECK(request_match("/api/jobs/{}", "/api/jobs/x", caps, 0) == 0);
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    memcpy(long_id, "/api/jobs/", 10);
    CHECK(request_match("/api/jobs/{}", long_id, caps, 2) == 0);
}

static void test_secret(void)
{
    CHECK(request_secret_eq("s3cret", "s3cret") == 1);
    CHECK(request_secret_eq("s3cre", "s3cret") == 0);
    CHECK(request_secret_eq("s3crett", "s3cret") == 0);
    CHECK(request_secret_eq("", "s3cret") == 0);
    CHECK(request_secret_eq("S3cret", "s3cret") == 0);
    CHECK(request_secret_eq("", "") == 1);
}

static void test_basic(void)
{
    char user[REQUEST_CRED_LEN], pass[REQUEST_CRED_LEN], big[2048];
    size_t i;

    CHECK(request_basic_auth("Basic YWRtaW46c2VjcmV0", user, pass) == 0); /* admin:secret */
    CHECK_STR(user, "admin");
    CHECK_STR(pass, "secret");
    CHECK(request_basic_auth("basic   YWRtaW46c2VjcmV0", user, pass) == 0);
    CHECK(request_basic_auth("Basic YTpiOmM=", user, pass) == 0); /* a:b:c */
    CHECK_STR(user, "a");
    CHECK_STR(pass, "b:c");
    CHECK(request_basic_auth("Basic OnB3", user, pass) == 0); /* :pw */
    CHECK_STR(user, "");
    CHECK_STR(pass, "pw");
    CHECK(request_basic_auth("Basic YWRtaW4=", user, pass) == -1); /* admin: no colon */
    CHECK(request_basic_auth("Bearer YWRtaW46c2VjcmV0", user, pass) == -1);
    CHECK(request_basic_auth("Basic YWRt!W46c2VjcmV0", user, pass) == -1);
    CHECK(request_basic_auth("Basic YWRtaW46c2VjcmV0 extra", user, pass) == -1);
    CHECK(request_basic_auth("Basic Y", user, pass) == -1);
    CHECK(request_basic_auth("Basic YQ=x", user, pass) == -1);
    CHECK(request_basic_auth("Basic AGE6Yg==", user, pass) == -1); /* a NUL inside */
    CHECK(request_basic_auth("Basic ", user, pass) == -1);
    CHECK(request_basic_auth(NULL, user, pass) == -1);
    memcpy(big, "Basic ", 6);
    for (i = 6; i < sizeof big - 1; i++)
        big[i] = 'Q';
    big[sizeof big - 1] = '\0';
    CHECK(request_basic_auth(big, user, pass) == -1);
}

static void test_origin(void)
{
    CHECK(request_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080") == 1);
    CHECK(request_same_origin("https://dash.example:443", "dash.example:443") == 1);
    CHECK(request_same_origin("http://127.0.0.1:8080/#/jobs", "127.0.0.1:8080") == 1);
    CHECK(request_same_origin("http://127.0.0.1:80800", "127.0.0.1:8080") == 0);
    CHECK(request_same_origin("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080") == 0);
    CHECK(request_same_origin("http://evil.example", "127.0.0.1:8080") == 0);
    CHECK(request_same_origin("null", "127.0.0.1:8080") == 0);
    CHECK(request_same_origin("ftp://127.0.0.1:8080", "127.0.0.1:8080") == 0);
    CHECK(request_same_origin("http://127.0.0.1:8080", "") == 0);
    CHECK(request_same_origin("http://127.0.0.1:8080", NULL) == 0);
}

/* DNS rebinding: only the dashboard's own names pass, with any port; addresses only when it
 * listens on every address. */
static void test_hosts(void)
{
    char names[REQUEST_MAX_HOSTS][REQUEST_HOST_LEN], err[DCMP_ERR_LEN];
    int n;

    n = request_hosts_parse("localhost 127.0.0.1,[::1]  Dash.Example.org,10.1.2.3", names,
                            REQUEST_MAX_HOSTS, err);
    CHECK(n == 5);
    CHECK_STR(names[3], "dash.example.org");
    CHECK(request_host_ok("localhost:8080", names, n, 0));
    CHECK(request_host_ok("LOCALHOST:8080", names, n, 0));
    CHECK(request_host_ok("127.0.0.1:1", names, n, 0));
    CHECK(request_host_ok("[::1]:8080", names, n, 0));
    CHECK(request_host_ok("dash.example.org", names, n, 0));
    CHECK(request_host_ok("10.1.2.3:65535", names, n, 0));
    CHECK(!request_host_ok("evil.example", names, n, 0));
    CHECK(!request_host_ok("evil.example:8080", names, n, 1));
    CHECK(!request_host_ok("dash.example.org.evil.example", names, n, 0));
    CHECK(!request_host_ok("localhost.", names, n, 0));
    CHECK(!request_host_ok("localhost:", names, n, 0));
    CHECK(!request_host_ok("localhost:0", names, n, 0));
    CHECK(!request_host_ok("localhost:65536", names, n, 0));
    CHECK(!request_host_ok("localhost:80x", names, n, 0));
    CHECK(!request_host_ok("localhost:8080:1", names, n, 0));
    CHECK(!request_host_ok("user@localhost", names, n, 0));
    CHECK(!request_host_ok("", names, n, 1));
    CHECK(!request_host_ok(NULL, names, n, 1));
    CHECK(!request_host_ok("[::1", names, n, 1));
    /* an address typed in the browser: only when the dashboard listens on every address */
    CHECK(!request_host_ok("192.0.2.7:8080", names, n, 0));
    CHECK(request_host_ok("192.0.2.7:8080", names, n, 1));
    CHECK(request_host_ok("[2001:db8::7]:8080", names, n, 1));
    CHECK(!request_host_ok("[2001:db8::zz]:8080", names, n, 1));
    CHECK(!request_host_ok("999.0.2.7", names, n, 1));
    /* a name with a port, an unbracketed IPv6 address, junk: refused at start, named */
    CHECK(request_hosts_parse("ok.example bad.example:8080", names, REQUEST_MAX_HOSTS, err) < 0);
    CHECK_CONTAINS(err, "\"bad.example:8080\"");
    CHECK(request_hosts_parse("::1", names, REQUEST_MAX_HOSTS, err) < 0);
    CHECK(request_hosts_parse("a/b", names, REQUEST_MAX_HOSTS, err) < 0);
    CHECK(request_hosts_parse("a b c", names, 2, err) < 0);
    CHECK_CONTAINS(err, "more than 2");
    CHECK(request_hosts_parse("  ", names, 2, err) == 0);
}

static void test_params(void)
{
    char err[DCMP_ERR_LEN];
    request_param p[] = {{"queue", "default"}, {"state", "failed"},   {"page", "3"},
                         {"perPage", "20"},    {"name", "seg model"}, {"series", "1.2-3"}};
    request_param dup[] = {{"page", "1"}, {"page", "2"}};
    request_param odd[] = {{"sort", "asc"}};
    request_param neg[] = {{"page", "-2"}};
    request_param many[REQUEST_MAX_PARAMS + 1];
    const char *const allowed[] = {"page", NULL};
    dcmp_browse_filter f;
    int64_t page, per, v;
    int i;

    CHECK(request_jobs_query(p, 6, &f, &page, &per, err) == 0);
    CHECK(page == 3 && per == 20 && f.offset == 40 && f.count == 20);
    CHECK_STR(f.queue, "default");
    CHECK_STR(f.name, "seg model");
    CHECK_STR(f.series, "1.2-3");
    CHECK(request_jobs_query(p, 2, &f, &page, &per, err) == 0);
    CHECK(page == 1 && per == 50 && f.offset == 0);
    CHECK(request_jobs_query(dup, 2, &f, &page, &per, err) == -1);
    CHECK_CONTAINS(err, "page: given more than once");
    CHECK(request_jobs_query(odd, 1, &f, &page, &per, err) == -1);
    CHECK_CONTAINS(err, "sort: unknown parameter");
    CHECK(request_jobs_query(neg, 1, &f, &page, &per, err) == -1);
    CHECK_CONTAINS(err, "page: expected a whole number");
    CHECK(request_jobs_query(p, 1, &f, &page, &per, err) == -1);
    CHECK_CONTAINS(err, "state: required");
    CHECK(request_events_query(neg, 1, &page, &per, err) == -1);
    CHECK(request_events_query(p + 2, 2, &page, &per, err) == 0 && page == 3 && per == 20);
    CHECK(request_events_query(p, 1, &page, &per, err) == -1);
    CHECK_CONTAINS(err, "queue: unknown");
    for (i = 0; i < REQUEST_MAX_PARAMS + 1; i++)
        many[i] = (request_param){"page", "1"};
    CHECK(request_check_keys(many, REQUEST_MAX_PARAMS + 1, allowed, err) == -1);
    CHECK_CONTAINS(err, "too many");
    CHECK(request_int(p, 6, "perPage", 1, 10, 5, &v, err) == -1);
    CHECK_CONTAINS(err, "perPage: expected a whole number from 1 to 10");
    CHECK(request_int(p, 6, "absent", 1, 10, 5, &v, err) == 0 && v == 5);
    CHECK(request_param_get(p, 6, "nope") == NULL);
}

int main(void)
{
    RUN(test_match);
    RUN(test_secret);
    RUN(test_basic);
    RUN(test_origin);
    RUN(test_hosts);
    RUN(test_params);
    return HARNESS_RESULT();
}
