/* netns.c -- test support: hosts made of Linux network namespaces, each with a veth pair. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis.h"

extern char **environ;

static fixture *guarded;
static netns_host *guarded_hosts;
static int nguarded;

int netns_run(const char *dir, char *const argv[], const char *out)
{
    char log[PATH_MAX + 32];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = 0, rc;

    snprintf(log, sizeof log, "%s/commands.log", dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out ? out : log,
                                     O_WRONLY | O_CREAT | (out ? O_TRUNC : O_APPEND), 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Runs argv into DIR/<name> and returns the first `cap` bytes of its output as a new string
 * (free it), or NULL. */
static char *output_of(const char *dir, char *const argv[], const char *name, size_t cap)
{
    char out[PATH_MAX + 64], *text;
    size_t n;
    FILE *fp;

    snprintf(out, sizeof out, "%s/%s", dir, name);
    if (netns_run(dir, argv, out) < 0 || (fp = fopen(out, "r")) == NULL)
        return NULL;
    if ((text = malloc(cap + 1)) != NULL) {
        n = fread(text, 1, cap, fp);
        text[n] = '\0';
    }
    fclose(fp);
    return text;
}

/* A third octet X for 10.251.X.0/30 that no address of the root namespace uses (another
 * host, or another run at the same time), tried from one the pid gives; -1 if none. */
static int free_subnet(const char *dir)
{
    char net[32], *text;
    int k, x, used;

    for (k = 0; k < 240; k++) {
        /* runs started at once have pids close together: two octets apart each */
        x = 10 + (int)((2 * (getpid() % 120) + k) % 240);
        snprintf(net, sizeof net, "10.251.%d.0/24", x);
        char *show[] = {"ip", "-o", "-4", "addr", "show", "to", net, NULL};
        if ((text = output_of(dir, show, "addr.out", 4096)) == NULL)
            return -1;
        used = text[0] != '\0';
        free(text);
        if (!used)
            return x;
    }
    return -1;
}

int netns_host_make(netns_host *h, const char *dir, int i)
{
    int x = free_subnet(dir);
    char peer[20], cidr_root[32], cidr_host[32];

    memset(h, 0, sizeof *h);
    snprintf(h->ns, sizeof h->ns, "dcmp-t%d-%c", (int)getpid(), 'a' + i % 26);
    snprintf(h->veth, sizeof h->veth, "dv%d%c", (int)(getpid() % 10000000), 'a' + i % 26);
    snprintf(peer, sizeof peer, "%.13sh", h->veth);
    snprintf(h->root_ip, sizeof h->root_ip, "10.251.%d.1", x);
    snprintf(h->host_ip, sizeof h->host_ip, "10.251.%d.2", x);
    snprintf(cidr_root, sizeof cidr_root, "%s/30", h->root_ip);
    snprintf(cidr_host, sizeof cidr_host, "%s/30", h->host_ip);
    char *add_ns[] = {"ip", "netns", "add", h->ns, NULL};
    char *add_link[] = {"ip", "link", "add", h->veth, "type", "veth", "peer", "name", peer, NULL};
    char *move[] = {"ip", "link", "set", peer, "netns", h->ns, NULL};
    char *addr_root[] = {"ip", "addr", "add", cidr_root, "dev", h->veth, NULL};
    char *up_root[] = {"ip", "link", "set", h->veth, "up", NULL};
    char *addr_host[] = {"ip", "-n", h->ns, "addr", "add", cidr_host, "dev", peer, NULL};
    char *up_host[] = {"ip", "-n", h->ns, "link", "set", peer, "up", NULL};
    char *up_lo[] = {"ip", "-n", h->ns, "link", "set", "lo", "up", NULL};

    if (x < 0) {
        fprintf(stderr, "no free 10.251.X.0/24 for host %d\n", i);
        return -1;
    }
    if (netns_run(dir, add_ns, NULL) < 0)
        return -1;
    h->made = 1;
    if (netns_run(dir, add_link, NULL) < 0 || netns_run(dir, move, NULL) < 0 ||
        netns_run(dir, addr_root, NULL) < 0 || netns_run(dir, up_root, NULL) < 0 ||
        netns_run(dir, addr_host, NULL) < 0 || netns_run(dir, up_host, NULL) < 0 ||
        netns_run(dir, up_lo, NULL) < 0) {
        fprintf(stderr, "host %s: cannot set up its veth (see %s/commands.log)\n", h->ns, dir);
        return -1;
    }
    return 0;
}

int netns_host_link(netns_host *h, const char *dir, const char *state)
{
    char *argv[] = {"ip", "link", "set", h->veth, (char *)state, NULL};
    return netns_run(dir, argv, NULL);
}

int netns_host_pids(const netns_host *h, const char *dir, long *pids, int max)
{
    char *argv[] = {"ip", "netns", "pids", (char *)h->ns, NULL};
    char *text, *p, *end;
    int n = 0;

    /* a pid is at most 7 digits and a newline */
    if ((text = output_of(dir, argv, "pids.out", (size_t)NETNS_MAX_PIDS * 8)) == NULL)
        return -1;
    for (p = text; *p && n < max; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p) {
            end = p + 1;
            continue;
        }
        if (pid > 1)
            pids[n++] = pid;
    }
    free(text);
    return n;
}

void netns_host_remove(netns_host *h, const char *dir)
{
    char *del_link[] = {"ip", "link", "del", h->veth, NULL};
    char *del_ns[] = {"ip", "netns", "del", h->ns, NULL};

    if (!h->made)
        return;
    netns_run(dir, del_link, NULL);
    netns_run(dir, del_ns, NULL);
    h->made = 0;
}

void netns_teardown(void)
{
    int i;

    for (i = 0; guarded && i < guarded->nworkers; i++)
        if (guarded->workers[i] > 0) {
            kill(guarded->workers[i], SIGCONT);
            kill(guarded->workers[i], SIGKILL);
            waitpid(guarded->workers[i], NULL, 0);
            guarded->workers[i] = -1;
        }
    if (guarded)
        guarded->nworkers = 0;
    for (i = 0; i < nguarded; i++)
        netns_host_remove(&guarded_hosts[i], guarded->dir);
}

static void on_signal(int sig)
{
    (void)sig;
    netns_teardown();
    if (guarded && guarded->redis > 0)
        kill(guarded->redis, SIGKILL);
    _exit(1);
}

void netns_guard(struct fixture *f, netns_host *hosts, int n)
{
    guarded = f;
    guarded_hosts = hosts;
    nguarded = n;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, on_signal);
}
