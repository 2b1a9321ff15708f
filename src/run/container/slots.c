/* slots.c -- WORKER_CONTAINER_SLOTS: at most N container jobs at once on a host, one flock()ed
 * slot file each in a folder the host's workers share. */
#include "slots.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

int dcmp_slots_count(const char *value, char *err)
{
    char *end;
    long n;

    if (value == NULL || *value == '\0')
        return 0;
    errno = 0;
    n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < 0 || n > DCMP_SLOTS_MAX)
        return dcmp_seterr(err, "WORKER_CONTAINER_SLOTS=%.64s: not a number from 0 to %d", value,
                           DCMP_SLOTS_MAX);
    return (int)n;
}

/* Tries each slot once. Returns a locked descriptor, -2 when all are taken, or -1 with err. */
static int try_slots(const char *dir, int n, char *err)
{
    char path[4096];
    int i, fd;

    for (i = 0; i < n; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/slot-%d", dir, i) >= sizeof path)
            return dcmp_seterr(err, "WORKER_SLOTS_DIR=%.200s: path too long", dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return dcmp_seterr(err, "container slots: %s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        close(fd);
        if (errno != EWOULDBLOCK && errno != EINTR)
            return dcmp_seterr(err, "container slots: flock %s: %s", path, strerror(errno));
    }
    return -2;
}

int dcmp_slots_acquire(const char *dir, int n, int64_t deadline_ms, char *err)
{
    struct timespec poll = {0, DCMP_SLOTS_POLL_MS * 1000000L};
    int fd;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return dcmp_seterr(err, "container slots: %s: %s", dir, strerror(errno));
    for (;;) {
        if ((fd = try_slots(dir, n, err)) != -2)
            return fd;
        if (deadline_ms >= 0 && dcmp_clock_mono_ms() >= deadline_ms) {
            dcmp_seterr(err, "all %d container slot(s) in %s stayed taken", n, dir);
            return -2;
        }
        nanosleep(&poll, NULL);
    }
}

void dcmp_slots_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
