/* http.c -- dcmp-dashboard's HTTP side: the Host check, the Basic login and its throttle, the
 * checks of every action (POST only, read-only mode, Origin, CSRF token), the route table, the
 * page and its files. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "dashboard.h"
#include "jsonw.h"
#include "listen.h"
#include "log.h"

/* The page and its files, embedded from src/dashboard/assets/ (cmake/embed_files.cmake). */
extern const unsigned char dashboard_asset_index_html[], dashboard_asset_app_js[],
    dashboard_asset_style_css[], dashboard_asset_favicon_svg[];
extern const unsigned long dashboard_asset_index_html_len, dashboard_asset_app_js_len,
    dashboard_asset_style_css_len, dashboard_asset_favicon_svg_len;

#define HTTP_CONFIG_MARK "{{CONFIG}}"

/* The listener's caps (docs/dashboard.md): a browser opens about 6 connections to a server,
 * and several people behind one proxy share an address. */
#define HTTP_CONNECTIONS  256
#define HTTP_PER_ADDRESS  32
#define HTTP_IDLE_TIMEOUT 10 /* s: the page asks every 3 s while it is shown */
#define HTTP_MEMORY       (64 * 1024)
#define HTTP_FILES_SPARE  64
#define HTTP_LOGIN_PERIOD 60000 /* ms: DASHBOARD_LOGIN_FAILURES counts a minute */

/* Served as they are. */
static const struct {
    const char *path, *type;
    const unsigned char *data;
    const unsigned long *len;
} assets[] = {
    {"/app.js", "text/javascript; charset=utf-8", dashboard_asset_app_js,
     &dashboard_asset_app_js_len},
    {"/style.css", "text/css; charset=utf-8", dashboard_asset_style_css,
     &dashboard_asset_style_css_len},
    {"/favicon.svg", "image/svg+xml", dashboard_asset_favicon_svg,
     &dashboard_asset_favicon_svg_len},
};

static void page(call *k, reply *r);
static void asset(call *k, reply *r);

/* Every route: method, path pattern ({} is one segment: an id or a queue name), handler. */
static const struct route {
    const char *method, *pattern;
    route_fn fn;
} routes[] = {
    {"GET", "/", page},
    {"GET", "/app.js", asset},
    {"GET", "/style.css", asset},
    {"GET", "/favicon.svg", asset},
    {"GET", "/health", api_health},
    {"GET", "/metrics", api_metrics},
    {"GET", "/api/queues", api_queues},
    {"GET", "/api/workers", api_workers},
    {"GET", "/api/jobs", api_jobs},
    {"GET", "/api/jobs/{}", api_job},
    {"GET", "/api/events", api_events},
    {"GET", "/api/events/{}", api_event},
    {"GET", "/api/history", api_history},
    {"GET", "/api/names", api_names},
    {"POST", "/api/jobs/{}/requeue", action_requeue},
    {"POST", "/api/jobs/{}/cancel", action_cancel},
    {"POST", "/api/jobs/{}/delete", action_delete},
    {"POST", "/api/queues/{}/requeue-failed", action_requeue_failed},
    {"POST", "/api/queues/{}/empty", action_empty},
};

#define NROUTES (sizeof routes / sizeof routes[0])

/* One request between MHD's calls. */
typedef struct pending {
    const struct route *route;
    call k;
    char url[REQUEST_MAX_URL + 1];
    char user[REQUEST_CRED_LEN];
    size_t body_len;
    int too_many_params;
} pending;

void reply_json(reply *r, unsigned status, cJSON *o)
{
    /* stored bytes that are not UTF-8 (old records) become U+FFFD: the answer stays JSON */
    char *text = o ? dcmp_jsonw_valid_utf8(cJSON_PrintUnformatted(o)) : NULL;

    cJSON_Delete(o);
    free(r->body);
    r->type = "application/json";
    if (text == NULL) {
        r->status = 500;
        r->body = strdup("{\"error\":\"out of memory\"}");
    } else {
        r->status = status;
        r->body = text;
    }
    r->len = r->body ? strlen(r->body) : 0;
}

void reply_error(reply *r, unsigned status, const char *fmt, ...)
{
    char msg[DCMP_ERR_LEN];
    cJSON *o = cJSON_CreateObject();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o && !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        o = NULL;
    }
    reply_json(r, status, o);
}

void reply_queue_error(reply *r, dcmp_queue *q)
{
    switch (dcmp_queue_err(q)) {
    case DCMP_QUEUE_ENOJOB: reply_error(r, 404, "%s", dcmp_queue_errstr(q)); break;
    case DCMP_QUEUE_ESTATE: reply_error(r, 409, "%s", dcmp_queue_errstr(q)); break;
    case DCMP_QUEUE_EIO: reply_error(r, 503, "redis unavailable: %s", dcmp_queue_errstr(q)); break;
    default: reply_error(r, 500, "%s", dcmp_queue_errstr(q)); break;
    }
}

static void page(call *k, reply *r)
{
    r->status = 200;
    r->type = "text/html; charset=utf-8";
    if ((r->body = malloc(k->d->page_len)) == NULL) {
        reply_error(r, 500, "out of memory");
        return;
    }
    memcpy(r->body, k->d->page, k->d->page_len);
    r->len = k->d->page_len;
}

static void asset(call *k, reply *r)
{
    size_t i;

    for (i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (strcmp(k->path, assets[i].path) == 0) {
            if ((r->body = malloc(*assets[i].len)) == NULL) {
                reply_error(r, 500, "out of memory");
                return;
            }
            memcpy(r->body, assets[i].data, *assets[i].len);
            r->len = *assets[i].len;
            r->status = 200;
            r->type = assets[i].type;
            return;
        }
    reply_error(r, 404, "no such path");
}

/* The client's address, for the log. */
static void peer(struct MHD_Connection *c, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    dcmp_listen_addr(ci ? ci->client_addr : NULL, out, size);
}

/* Sends r (its body handed to MHD) with the headers every answer carries; header and value:
 * one more (NULL: none). */
static enum MHD_Result send_reply(dashboard *d, struct MHD_Connection *c, reply *r,
                                  const char *header, const char *value, int challenge)
{
    struct MHD_Response *resp;
    enum MHD_Result rc;
    int html = r->type && strncmp(r->type, "text/html", 9) == 0;

    if (r->body == NULL)
        reply_error(r, 500, "no answer");
    resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(r->body);
        return MHD_NO;
    }
    r->body = NULL;
    MHD_add_response_header(resp, "Content-Type", r->type ? r->type : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    if (html)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'");
    if (header)
        MHD_add_response_header(resp, header, value);
    if (challenge)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                "Basic realm=\"dcm-processor dashboard\", charset=\"UTF-8\"");
    if (r->status >= 100 && r->status < 600)
        atomic_fetch_add(&d->m.requests[r->status / 100], 1);
    rc = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Refuses with {"error": why}; header and value: one more header (NULL: none). A 429 is
 * logged by its throttle, once a minute per client. */
static enum MHD_Result refuse(dashboard *d, struct MHD_Connection *c, unsigned status,
                              atomic_long *counter, const char *header, const char *value,
                              int challenge, const char *why)
{
    char addr[64];
    reply r = {0};

    if (counter)
        atomic_fetch_add(counter, 1);
    peer(c, addr, sizeof addr);
    if (status != 404 && status != 429)
        dcmp_log_warn("refused %u to %s: %s", status, addr, why);
    reply_error(&r, status, "%s", why);
    return send_reply(d, c, &r, header, value, challenge);
}

/* This HTTP thread's Redis connection: each thread of MHD's pool takes one the first time it
 * handles a request, and keeps it. */
static dcmp_queue *thread_redis(dashboard *d)
{
    static __thread int slot = -1;

    if (slot < 0)
        slot = atomic_fetch_add(&d->redis_next, 1) % DASHBOARD_HTTP_THREADS;
    return d->redis[slot];
}

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    pending *p = cls;

    (void)kind;
    if (p->k.nparams >= REQUEST_MAX_PARAMS) {
        p->too_many_params = 1;
        return MHD_NO;
    }
    p->k.params[p->k.nparams].key = key;
    p->k.params[p->k.nparams].value = value ? value : "";
    p->k.nparams++;
    return MHD_YES;
}

/* The login, when one is configured. Returns 1 when the request may go on, 0 when it lacks
 * the right credentials, -1 when its address gave DASHBOARD_LOGIN_FAILURES wrong ones within
 * the last minute (retry[24]: the seconds until it may try again). */
static int logged_in(dashboard *d, struct MHD_Connection *c, pending *p, char *retry)
{
    char user[REQUEST_CRED_LEN], pass[REQUEST_CRED_LEN], addr[64];
    dcmp_throttle_verdict v;
    const char *h;
    int ok;

    if (!d->auth)
        return 1;
    peer(c, addr, sizeof addr);
    if (d->logins) {
        /* checked before the password: a guess while refused tells nothing */
        v = dcmp_throttle_check(d->logins, addr, dcmp_clock_mono_ms());
        if (!v.allowed) {
            if (v.log)
                dcmp_log_warn("logins from %s refused (429) for %llds: more than "
                              "DASHBOARD_LOGIN_FAILURES=%lld wrong ones a minute; its next "
                              "refusals this minute are not logged",
                              addr, (long long)(v.retry_ms + 999) / 1000,
                              (long long)d->cfg->dashboard_login_failures);
            snprintf(retry, 24, "%lld", (long long)(v.retry_ms + 999) / 1000);
            return -1;
        }
    }
    h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL)
        return 0; /* a browser's first request: not a failed login */
    if (request_basic_auth(h, user, pass) < 0) {
        ok = 0;
    } else {
        /* both compared, whatever the first gives: the time says nothing about which was
         * wrong */
        ok = request_secret_eq(user, d->cfg->dashboard_user);
        ok &= request_secret_eq(pass, d->cfg->dashboard_password);
    }
    if (ok)
        dcmp_strlcpy(p->user, user, sizeof p->user);
    else if (d->logins)
        dcmp_throttle_take(d->logins, addr, dcmp_clock_mono_ms());
    return ok;
}

/* An action must come from this page: Origin (or Referer) naming this server when the
 * browser sends one, and the page's CSRF token. Returns NULL or the reason to refuse. */
static const char *csrf_problem(dashboard *d, struct MHD_Connection *c, atomic_long **counter)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *referer = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Referer");
    const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");

    *counter = &d->m.refused_origin;
    if (origin && !request_same_origin(origin, host))
        return "Origin is not this dashboard";
    if (!origin && referer && !request_same_origin(referer, host))
        return "Referer is not this dashboard";
    *counter = &d->m.refused_csrf;
    if (token == NULL || !request_secret_eq(token, d->csrf))
        return "missing or wrong X-CSRF-Token (reload the page)";
    return NULL;
}

static enum MHD_Result dispatch(dashboard *d, struct MHD_Connection *c, pending *p)
{
    char addr[64];
    reply r = {0};
    int post = strcmp(p->route->method, "POST") == 0, stale;

    p->k.d = d;
    p->k.c = c;
    p->k.q = thread_redis(d);
    p->k.user = p->user;
    p->k.path = p->url;
    stale = dcmp_queue_connected(p->k.q);
    p->route->fn(&p->k, &r);
    if (!post && r.status == 503 && stale) {
        /* the thread's connection had broken since its last use (Redis restarted): a read is
         * tried once more on a new one */
        free(r.body);
        memset(&r, 0, sizeof r);
        p->route->fn(&p->k, &r);
    }
    if (post) {
        peer(c, addr, sizeof addr);
        atomic_fetch_add(r.status < 400 ? &d->m.actions : &d->m.action_errors, 1);
        dcmp_log_info("action %s by %s%s%s: %u", p->url, p->user[0] ? p->user : "",
                      p->user[0] ? "@" : "", addr, r.status);
    }
    return send_reply(d, c, &r, NULL, NULL, 0);
}

/* Finds the route of url and method; *allow gets the methods the path takes when another. */
static const struct route *find_route(const char *url, const char *method, pending *p, char *allow,
                                      size_t size)
{
    const struct route *hit = NULL;
    size_t i;
    int any = 0;

    allow[0] = '\0';
    for (i = 0; i < NROUTES; i++) {
        char caps[REQUEST_MAX_CAPS][REQUEST_SEGMENT_LEN];
        if (!request_match(routes[i].pattern, url, caps, REQUEST_MAX_CAPS))
            continue;
        any = 1;
        if (strcmp(routes[i].method, method) == 0 && hit == NULL) {
            hit = &routes[i];
            memcpy(p->k.cap, caps, sizeof caps);
        } else if (strstr(allow, routes[i].method) == NULL) {
            size_t used = strlen(allow);
            snprintf(allow + used, size - used, "%s%s", used ? ", " : "", routes[i].method);
        }
    }
    if (!any)
        allow[0] = '\0';
    return hit;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    dashboard *d = cls;
    pending *p = *con_cls;
    const struct route *route;
    char allow[64], retry[24], why_host[REQUEST_HOST_LEN + 128];
    atomic_long *counter;
    const char *why, *cl, *host;
    int login;

    (void)version;
    (void)upload;
    if (p == NULL) {
        if ((p = calloc(1, sizeof *p)) == NULL)
            return MHD_NO;
        *con_cls = p;
        if (strlen(url) > REQUEST_MAX_URL)
            return refuse(d, c, 414, NULL, NULL, NULL, 0, "path longer than 2048 bytes");
        dcmp_strlcpy(p->url, url, sizeof p->url);
        host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        /* before the login: a page of another site must not even make the browser ask for it */
        if (strcmp(url, "/health") != 0 &&
            !request_host_ok(host, d->hosts, d->nhosts, d->any_address)) {
            size_t i, n = snprintf(why_host, sizeof why_host, "Host \"%.128s", host ? host : "");
            for (i = 6; i < n && i < sizeof why_host; i++)
                if ((unsigned char)why_host[i] < 0x20 || (unsigned char)why_host[i] >= 0x7f ||
                    why_host[i] == '"')
                    why_host[i] = '?'; /* it goes into the log */
            snprintf(why_host + strlen(why_host), sizeof why_host - strlen(why_host),
                     "\" is not a name of this dashboard (add it to DASHBOARD_HOSTS)");
            return refuse(d, c, 421, &d->m.refused_host, NULL, NULL, 0, why_host);
        }
        if (strcmp(url, "/health") != 0 && (login = logged_in(d, c, p, retry)) != 1) {
            if (login < 0)
                return refuse(d, c, 429, &d->m.refused_throttled, "Retry-After", retry, 0,
                              "too many failed logins from this address (DASHBOARD_LOGIN_"
                              "FAILURES): try again later");
            return refuse(d, c, 401, &d->m.refused_auth, NULL, NULL, 1,
                          "authentication required (HTTP Basic: DASHBOARD_USER, "
                          "DASHBOARD_PASSWORD)");
        }
        if ((route = find_route(url, method, p, allow, sizeof allow)) == NULL) {
            if (allow[0])
                return refuse(d, c, 405, NULL, "Allow", allow, 0, "method not allowed here");
            return refuse(d, c, 404, NULL, NULL, NULL, 0, "no such path");
        }
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, p);
        if (p->too_many_params)
            return refuse(d, c, 400, NULL, NULL, NULL, 0, "too many query parameters (at most 16)");
        if (strcmp(method, "POST") != 0) {
            p->route = route;
            return dispatch(d, c, p);
        }
        if (d->cfg->dashboard_readonly)
            return refuse(d, c, 403, &d->m.refused_readonly, NULL, NULL, 0,
                          "read-only dashboard (DASHBOARD_READONLY=1): actions are refused");
        if ((why = csrf_problem(d, c, &counter)) != NULL)
            return refuse(d, c, 403, counter, NULL, NULL, 0, why);
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoll(cl, NULL, 10) > REQUEST_MAX_BODY)
            return refuse(d, c, 413, NULL, NULL, NULL, 0, "body larger than 4096 bytes");
        p->route = route; /* accepted: it runs once the body, if any, has been read */
        return MHD_YES;
    }
    if (p->route == NULL) {
        *upload_size = 0; /* refused already: the rest is dropped */
        return MHD_YES;
    }
    if (*upload_size > 0) {
        /* actions take no body: it is counted and dropped */
        p->body_len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (p->body_len > REQUEST_MAX_BODY)
        return refuse(d, c, 413, NULL, NULL, NULL, 0, "body larger than 4096 bytes");
    return dispatch(d, c, p);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

/* index.html with HTTP_CONFIG_MARK replaced by the page's settings as JSON ('<' escaped, so
 * it cannot end the <script> element that holds it). */
static int build_page(dashboard *d, char *err)
{
    const char *html = (const char *)dashboard_asset_index_html, *mark;
    cJSON *o = cJSON_CreateObject();
    char *json = NULL, listen[128];
    size_t jlen = 0, i, used = 0, hlen = dashboard_asset_index_html_len;
    const char *published = d->cfg->dashboard_published;
    int loopback = strncmp(d->bind, "127.", 4) == 0;

    if (published[0] != '\0') {
        /* in a container: what counts is the host address the port is published on */
        loopback = strncmp(published, "127.", 4) == 0;
        snprintf(listen, sizeof listen, "%.60s (the port the host publishes)", published);
    } else {
        snprintf(listen, sizeof listen, "%s:%lld", d->bind, (long long)d->cfg->dashboard_port);
    }
    if (o == NULL || !cJSON_AddStringToObject(o, "csrf", d->csrf) ||
        !cJSON_AddBoolToObject(o, "readonly", d->cfg->dashboard_readonly) ||
        !cJSON_AddBoolToObject(o, "auth", d->auth) ||
        !cJSON_AddBoolToObject(o, "loopbackOnly", loopback) ||
        !cJSON_AddStringToObject(o, "listen", listen) ||
        !cJSON_AddNumberToObject(o, "sampleInterval", (double)d->cfg->dashboard_sample * 1000) ||
        (json = cJSON_PrintUnformatted(o)) == NULL) {
        cJSON_Delete(o);
        return dcmp_seterr(err, "out of memory");
    }
    cJSON_Delete(o);
    for (i = 0; json[i]; i++)
        jlen += json[i] == '<' ? 6 : 1;
    mark = strstr(html, HTTP_CONFIG_MARK);
    if (mark == NULL || (d->page = malloc(hlen + jlen + 1)) == NULL) {
        free(json);
        return dcmp_seterr(err, mark ? "out of memory" : "index.html lacks " HTTP_CONFIG_MARK);
    }
    memcpy(d->page, html, (size_t)(mark - html));
    used = (size_t)(mark - html);
    for (i = 0; json[i]; i++) {
        if (json[i] == '<') {
            memcpy(d->page + used, "\\u003c", 6);
            used += 6;
        } else {
            d->page[used++] = json[i];
        }
    }
    free(json);
    i = strlen(HTTP_CONFIG_MARK);
    memcpy(d->page + used, mark + i, hlen - (size_t)(mark - html) - i);
    used += hlen - (size_t)(mark - html) - i;
    d->page[used] = '\0';
    d->page_len = used;
    return 0;
}

/* Adds name to d->hosts when it is an address of its own (not 0.0.0.0, not there yet). */
static void add_host(dashboard *d, const char *name)
{
    int i;

    if (name[0] == '\0' || strcmp(name, "0.0.0.0") == 0 || d->nhosts >= REQUEST_MAX_HOSTS)
        return;
    for (i = 0; i < d->nhosts; i++)
        if (strcmp(d->hosts[i], name) == 0)
            return;
    dcmp_strlcpy(d->hosts[d->nhosts++], name, REQUEST_HOST_LEN);
}

int http_hosts(dashboard *d, char *err)
{
    char extra[REQUEST_MAX_HOSTS][REQUEST_HOST_LEN];
    const char *published = d->cfg->dashboard_published;
    int n, i;

    if ((n = request_hosts_parse(d->cfg->dashboard_hosts, extra, REQUEST_MAX_HOSTS - 5, err)) < 0)
        return -1;
    d->nhosts = 0;
    add_host(d, "localhost");
    add_host(d, "127.0.0.1");
    add_host(d, "[::1]");
    add_host(d, d->bind);
    add_host(d, published);
    for (i = 0; i < n; i++)
        add_host(d, extra[i]);
    /* on every address of a machine (or a container published on every one), the addresses
     * a browser may type are not known here; an address cannot be rebound, a name can */
    d->any_address = strcmp(d->bind, "0.0.0.0") == 0 &&
                     (published[0] == '\0' || strcmp(published, "0.0.0.0") == 0);
    return 0;
}

int http_start(dashboard *d, char *err)
{
    struct sockaddr_in addr;
    uint64_t seed = 0;
    long files;
    unsigned limit;

    if (build_page(d, err) < 0)
        return -1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)d->cfg->dashboard_port);
    if (inet_pton(AF_INET, d->bind, &addr.sin_addr) != 1)
        return dcmp_seterr(err, "DASHBOARD_BIND=\"%s\": not an IPv4 address", d->bind);
    if (d->auth && d->cfg->dashboard_login_failures > 0) {
        if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
            return dcmp_seterr(err, "no randomness for the DASHBOARD_LOGIN_FAILURES table");
        d->logins = dcmp_throttle_new(d->cfg->dashboard_login_failures, HTTP_LOGIN_PERIOD,
                                      d->cfg->dashboard_login_failures, HTTP_LOGIN_PERIOD, seed);
        if (d->logins == NULL)
            return dcmp_seterr(err, "DASHBOARD_LOGIN_FAILURES=%lld: cannot make its table",
                               (long long)d->cfg->dashboard_login_failures);
    }
    files = dcmp_listen_files(HTTP_CONNECTIONS + HTTP_FILES_SPARE);
    limit = files >= HTTP_CONNECTIONS + HTTP_FILES_SPARE ? HTTP_CONNECTIONS : (unsigned)(files / 2);
    d->http = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)d->cfg->dashboard_port, NULL,
        NULL, handle, d, MHD_OPTION_EXTERNAL_LOGGER, dcmp_listen_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, completed, d,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
        limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_ADDRESS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)DASHBOARD_HTTP_THREADS, MHD_OPTION_END);
    if (d->http == NULL) {
        dcmp_throttle_free(d->logins);
        d->logins = NULL;
        return dcmp_seterr(err, "cannot listen on %s:%lld (in use?)", d->bind,
                           (long long)d->cfg->dashboard_port);
    }
    return 0;
}

void http_stop(dashboard *d)
{
    if (d->http)
        MHD_stop_daemon(d->http);
    d->http = NULL;
    free(d->page);
    d->page = NULL;
    dcmp_throttle_free(d->logins);
    d->logins = NULL;
}
