/* main.c -- dcmp-dashboard: queues, jobs, workers and events in a browser, and the actions on
 * them, served with libmicrohttpd on DASHBOARD_BIND:DASHBOARD_PORT. */
#include <arpa/inet.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "dashboard.h"
#include "job.h"
#include "log.h"
#include "perms.h"

static volatile sig_atomic_t stop_requests;

static void on_stop(int sig)
{
    (void)sig;
    stop_requests = 1;
}

/* Whether addr is an IPv4 loopback address (127.0.0.0/8). */
static int is_loopback(const char *addr)
{
    struct in_addr a;

    return inet_pton(AF_INET, addr, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* The names the dashboard answers to, for --check and the log. */
static void hosts_text(const dashboard *d, char *out, size_t size)
{
    size_t used = 0;
    int i;

    out[0] = '\0';
    for (i = 0; i < d->nhosts && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "", d->hosts[i]);
    if (d->any_address && used < size)
        snprintf(out + used, size - used, " (and any address)");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"env", required_argument, NULL, 'e'},
                                         {"check", no_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *env = NULL;
    char err[DCMP_ERR_LEN], a[DCMP_ID_LEN], b[DCMP_ID_LEN], hosts[1024];
    struct timespec nap = {0, 100 * 1000000L};
    struct sigaction sa;
    dcmp_config cfg;
    dashboard d;
    pthread_t sampler;
    int c, i, check = 0, have_sampler = 0;

    while ((c = getopt_long(argc, argv, "e:ch", opts, NULL)) != -1) {
        switch (c) {
        case 'e': env = optarg; break;
        case 'c': check = 1; break;
        case 'h':
            printf("usage: dcmp-dashboard [--env FILE] [--check]\n"
                   "Serves the dashboard (page, JSON API, actions) on "
                   "DASHBOARD_BIND:DASHBOARD_PORT.\n");
            return 0;
        default: return 2;
        }
    }
    /* patient data and secrets: everything this program creates is its user's alone */
    dcmp_perms_owner_only();
    dcmp_log_init("dcmp-dashboard", NULL);
    if (dcmp_config_load(&cfg, env, err) < 0)
        dcmp_fatal("%s", err);
    dcmp_log_init(NULL, cfg.log_level);
    memset(&d, 0, sizeof d);
    d.cfg = &cfg;
    d.stop = &stop_requests;
    if ((cfg.dashboard_user[0] != '\0') != (cfg.dashboard_password[0] != '\0'))
        dcmp_fatal("DASHBOARD_USER and DASHBOARD_PASSWORD go together: set both (a login) or "
                   "neither (loopback only)");
    d.auth = cfg.dashboard_user[0] != '\0';
    dcmp_strlcpy(d.bind, cfg.dashboard_bind, sizeof d.bind);
    /* In a container the dashboard must listen on every address to be reached at all; what
     * the outside sees is the host address the port is published on (DASHBOARD_PUBLISHED):
     * loopback there keeps "no login: this machine only" true. */
    if (!d.auth && !is_loopback(d.bind) && cfg.dashboard_published[0] &&
        is_loopback(cfg.dashboard_published)) {
        dcmp_log_info("no login: listening on %s in a container whose port the host publishes "
                      "on %s only",
                      d.bind, cfg.dashboard_published);
    } else if (!d.auth && !is_loopback(d.bind)) {
        dcmp_log_warn("DASHBOARD_BIND=%s ignored: without DASHBOARD_USER and DASHBOARD_PASSWORD "
                      "the dashboard listens on 127.0.0.1 only",
                      cfg.dashboard_bind);
        dcmp_strlcpy(d.bind, "127.0.0.1", sizeof d.bind);
    }
    if (http_hosts(&d, err) < 0)
        dcmp_fatal("%s", err);
    hosts_text(&d, hosts, sizeof hosts);
    if (check) {
        printf("settings: %s\nredis: %s:%d\nlisten: %s:%lld\nlogin: %s\nactions: %s\n"
               "chart sample: every %llds\nhosts: %s\n",
               cfg.env_file[0] ? cfg.env_file : "(none)", cfg.redis_host, cfg.redis_port, d.bind,
               (long long)cfg.dashboard_port,
               d.auth ? "HTTP Basic (DASHBOARD_USER)" : "none (loopback only)",
               cfg.dashboard_readonly ? "off (DASHBOARD_READONLY)" : "on",
               (long long)cfg.dashboard_sample, hosts);
        return 0;
    }
    /* the CSRF token: 256 random bits, new with every start (a reload of the page takes it) */
    if (dcmp_job_new_id(a) < 0 || dcmp_job_new_id(b) < 0)
        dcmp_fatal("no randomness for the CSRF token");
    memcpy(d.csrf, a, 32); /* each id is 32 hex digits */
    memcpy(d.csrf + 32, b, 32);
    d.csrf[DASHBOARD_CSRF_LEN] = '\0';
    for (i = 0; i < DASHBOARD_HTTP_THREADS; i++)
        if ((d.redis[i] = dcmp_queue_from_config(&cfg)) == NULL)
            dcmp_fatal("out of memory");
    if (dcmp_queue_ping(d.redis[0]) < 0)
        dcmp_log_warn("%s: the dashboard starts anyway and shows it",
                      dcmp_queue_errstr(d.redis[0]));

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (http_start(&d, err) < 0)
        dcmp_fatal("%s", err);
    dcmp_log_info("listening on http://%s:%lld/; redis %s:%d; login %s; actions %s; hosts %s",
                  d.bind, (long long)cfg.dashboard_port, cfg.redis_host, cfg.redis_port,
                  d.auth ? "required" : "none (loopback only)",
                  cfg.dashboard_readonly ? "off (read-only)" : "on", hosts);
    if (pthread_create(&sampler, NULL, sampler_main, &d) == 0)
        have_sampler = 1;
    else
        dcmp_log_error("cannot start the sampling thread: no chart samples");
    while (!stop_requests)
        nanosleep(&nap, NULL);
    http_stop(&d);
    if (have_sampler)
        pthread_join(sampler, NULL);
    for (i = 0; i < DASHBOARD_HTTP_THREADS; i++)
        dcmp_queue_free(d.redis[i]);
    dcmp_log_info("stopped");
    return 0;
}
