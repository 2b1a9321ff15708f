/* cgroup.c -- a cgroup v2 per job process, where this process may make one: everything a job
 * started is found and killed at once (cgroup.kill), whatever became of its parents. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Writes text to path; 0 or -1 (errno set). */
static int write_file(const char *path, const char *text)
{
    size_t len = strlen(text);
    int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

    if (fd < 0)
        return -1;
    ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

/* Reads path line by line until pick takes one (returns 0: it filled out). Returns 0 or -1. */
static int pick_line(const char *path, int (*pick)(char *line, char *out, size_t size), char *out,
                     size_t size)
{
    char line[4096];
    FILE *fp = fopen(path, "re");
    int found = -1;

    if (fp == NULL)
        return -1;
    while (found < 0 && fgets(line, sizeof line, fp) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        found = pick(line, out, size);
    }
    fclose(fp);
    return found;
}

/* A mountinfo line of the unified hierarchy's root (a container's namespaced view is one too):
 * its mount point. ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER */
static int cgroup2_mount(char *line, char *out, size_t size)
{
    char root[1024], point[1024], *dash = strstr(line, " - ");

    if (dash == NULL || strncmp(dash + 3, "cgroup2 ", 8) != 0 ||
        sscanf(line, "%*s %*s %*s %1023s %1023s", root, point) != 2 || strcmp(root, "/") != 0)
        return -1;
    return snprintf(out, size, "%s", point) < (int)size ? 0 : -1;
}

/* The "0::PATH" line of /proc/self/cgroup: this process' cgroup v2. */
static int own_cgroup(char *line, char *out, size_t size)
{
    if (strncmp(line, "0::", 3) != 0)
        return -1;
    return snprintf(out, size, "%s", line + 3) < (int)size ? 0 : -1;
}

/* Ends what a process that died without cleaning up (SIGKILL) left under dir: the cgroups
 * dcmp-<name>-<pid> of a pid that no longer runs, with whatever its jobs left running. */
static void end_stale(const char *dir, const char *name)
{
    char prefix[64], path[PATH_MAX], job[PATH_MAX];
    struct dirent *e, *j;
    DIR *d, *sub;
    size_t plen;

    snprintf(prefix, sizeof prefix, "dcmp-%s-", name);
    plen = strlen(prefix);
    if ((d = opendir(dir)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid;
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        pid = strtol(e->d_name + plen, &end, 10);
        if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH ||
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if ((sub = opendir(path)) != NULL) {
            while ((j = readdir(sub)) != NULL)
                if (strncmp(j->d_name, "job-", 4) == 0 &&
                    snprintf(job, sizeof job, "%s/%s", path, j->d_name) < (int)sizeof job)
                    dcmp_cgroup_end(job);
            closedir(sub);
        }
        rmdir(path);
    }
    closedir(d);
}

int dcmp_cgroup_init(dcmp_cgroup *g, const char *name)
{
    char mount[PATH_MAX], own[PATH_MAX], probe[PATH_MAX + 32];

    memset(g, 0, sizeof *g);
    if (pick_line("/proc/self/mountinfo", cgroup2_mount, mount, sizeof mount) < 0) {
        snprintf(g->why, sizeof g->why, "no cgroup2 hierarchy is mounted");
        return -1;
    }
    if (pick_line("/proc/self/cgroup", own_cgroup, own, sizeof own) < 0) {
        snprintf(g->why, sizeof g->why, "/proc/self/cgroup names no cgroup v2");
        return -1;
    }
    if (snprintf(probe, sizeof probe, "%s%s", mount, own) < (int)sizeof probe)
        end_stale(probe, name);
    if (snprintf(g->base, sizeof g->base, "%s%s%sdcmp-%s-%ld", mount, own,
                 own[strlen(own) - 1] == '/' ? "" : "/", name,
                 (long)getpid()) >= (int)sizeof g->base ||
        mkdir(g->base, 0755) < 0) {
        snprintf(g->why, sizeof g->why, "cannot make a cgroup under %.100s%.100s: %s", mount, own,
                 strerror(errno));
        g->base[0] = '\0';
        return -1;
    }
    snprintf(probe, sizeof probe, "%s/cgroup.kill", g->base);
    if (access(probe, W_OK) < 0) {
        snprintf(g->why, sizeof g->why, "%.150s: %s (Linux 5.14 or later has it)", probe,
                 strerror(errno));
        rmdir(g->base);
        g->base[0] = '\0';
        return -1;
    }
    return 0;
}

int dcmp_cgroup_new(dcmp_cgroup *g, char *path)
{
    path[0] = '\0';
    if (g == NULL || g->base[0] == '\0')
        return -1;
    if (snprintf(path, PATH_MAX, "%s/job-%lu", g->base, ++g->next) >= PATH_MAX ||
        mkdir(path, 0755) < 0) {
        path[0] = '\0';
        return -1;
    }
    return 0;
}

int dcmp_cgroup_enter(const char *path, pid_t pid)
{
    char procs[PATH_MAX + 16], text[32];

    if (path == NULL || path[0] == '\0')
        return -1;
    snprintf(procs, sizeof procs, "%s/cgroup.procs", path);
    snprintf(text, sizeof text, "%ld", (long)pid);
    return write_file(procs, text);
}

/* Whether the cgroup still holds a living process (cgroup.events "populated 1"). */
static int populated(const char *path)
{
    char events[PATH_MAX + 16], buf[256];
    ssize_t n;
    int fd;

    snprintf(events, sizeof events, "%s/cgroup.events", path);
    if ((fd = open(events, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strstr(buf, "populated 1") != NULL;
}

void dcmp_cgroup_end(const char *path)
{
    char kill_file[PATH_MAX + 16];
    int i;

    if (path == NULL || path[0] == '\0')
        return;
    snprintf(kill_file, sizeof kill_file, "%s/cgroup.kill", path);
    if (write_file(kill_file, "1") < 0)
        dcmp_log_warn("%s: %s", kill_file, strerror(errno));
    for (i = 0; i < 100 && populated(path); i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rmdir(path) < 0 && errno != ENOENT)
        dcmp_log_warn("cannot remove the job cgroup %s: %s", path, strerror(errno));
}

void dcmp_cgroup_free(dcmp_cgroup *g)
{
    if (g->base[0] != '\0')
        rmdir(g->base);
    g->base[0] = '\0';
}
