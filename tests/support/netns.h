/* netns.h -- test support: hosts made of Linux network namespaces, each with a veth pair. */
#ifndef DCMP_TEST_NETNS_H
#define DCMP_TEST_NETNS_H

#define NETNS_MAX_PIDS 256

/* One host: namespace `ns` with lo and a veth at host_ip/30, whose peer `veth` stays in the
 * root namespace at root_ip/30 (where a server for the host listens). */
typedef struct netns_host {
    char ns[32];
    char veth[16];
    char root_ip[20];
    char host_ip[20];
    int made; /* the namespace exists (netns_host_remove undoes it) */
} netns_host;

/* Runs argv (found on PATH), its output written to `out` (truncated) or, when out is NULL,
 * appended to DIR/commands.log. Returns 0 when it exits with status 0, else -1. */
int netns_run(const char *dir, char *const argv[], const char *out);

/* Makes host number i (0-25, a letter in its names) in 10.251.X.0/30, X a third octet no
 * address of the root namespace uses (tried from the caller's pid, so runs at the same time
 * differ). Commands' output goes to DIR/commands.log. Returns 0 or -1 (message printed); on
 * failure what was made is left for netns_host_remove. */
int netns_host_make(netns_host *h, const char *dir, int i);

/* Sets the root end of the host's link "up" or "down" (a down link cuts the host off). */
int netns_host_link(netns_host *h, const char *dir, const char *state);

/* The pids of the processes in the host's namespace right now, at most max (NETNS_MAX_PIDS),
 * into pids. Returns how many, or -1. */
int netns_host_pids(const netns_host *h, const char *dir, long *pids, int max);

/* Removes the veth pair and the namespace (when made). */
void netns_host_remove(netns_host *h, const char *dir);

struct fixture;

/* Remembers f and hosts[n] (borrowed until the process ends) for netns_teardown, and makes
 * SIGTERM, SIGINT and SIGHUP tear down, kill f's Redis and exit with status 1. */
void netns_guard(struct fixture *f, netns_host *hosts, int n);

/* SIGKILLs the workers of the guarded fixture (after a SIGCONT: a frozen one too) and waits for
 * them, then removes the guarded hosts. */
void netns_teardown(void);

#endif
