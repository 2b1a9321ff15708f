/* fuzz_request.c -- libFuzzer target: dcmp-dashboard's reading of outside input (request.c)
 * takes any bytes without crashing: the input is used as a path against every route pattern,
 * as an Authorization header, as an Origin, as a Host header and a DASHBOARD_HOSTS list, and
 * split at '&' and '=' into query parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const patterns[] = {"/", "/api/jobs/{}", "/api/jobs/{}/requeue",
                                           "/api/queues/{}/empty", "/{}/{}"};
    char caps[REQUEST_MAX_CAPS][REQUEST_SEGMENT_LEN], user[REQUEST_CRED_LEN],
        pass[REQUEST_CRED_LEN], err[DCMP_ERR_LEN], hosts[REQUEST_MAX_HOSTS][REQUEST_HOST_LEN];
    request_param params[REQUEST_MAX_PARAMS + 2];
    dcmp_browse_filter f;
    int64_t page, per;
    char *text, *p, *save;
    size_t i;
    int n = 0;

    if (size > 8192 || (text = malloc(size + 1)) == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* what MHD hands over is a C string */
    for (i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        request_match(patterns[i], text, caps, REQUEST_MAX_CAPS);
    request_basic_auth(text, user, pass);
    request_secret_eq(text, "expected-secret");
    request_same_origin(text, "127.0.0.1:8080");
    n = request_hosts_parse(text, hosts, REQUEST_MAX_HOSTS, err);
    request_host_ok(text, hosts, n < 0 ? 0 : n, 1);
    n = 0;
    for (p = strtok_r(text, "&", &save); p && n < REQUEST_MAX_PARAMS + 2;
         p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        params[n].key = p;
        params[n].value = eq ? eq + 1 : "";
        n++;
    }
    request_jobs_query(params, n, &f, &page, &per, err);
    request_events_query(params, n, &page, &per, err);
    free(text);
    return 0;
}
