/* fdio.c -- whole reads and writes on a file descriptor. */
#include "fdio.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "clock.h"

/* One loop for both directions (writing: 1). */
static int whole(int fd, char *p, size_t len, int writing)
{
    while (len > 0) {
        ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int dcmp_fdio_write(int fd, const void *buf, size_t len)
{
    return whole(fd, (char *)(uintptr_t)buf, len, 1);
}

int dcmp_fdio_read(int fd, void *buf, size_t len)
{
    return whole(fd, buf, len, 0);
}

ssize_t dcmp_fdio_read_until(int fd, char *buf, size_t size, int64_t deadline)
{
    size_t got = 0;

    buf[0] = '\0';
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = deadline - dcmp_clock_mono_ms();
        ssize_t n;

        if (left <= 0)
            return -1;
        if (poll(&p, 1, (int)(left > 60000 ? 60000 : left)) <= 0)
            continue; /* a signal, or time left to check */
        n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (ssize_t)got;
        got += (size_t)n;
        buf[got] = '\0';
        if (got == size - 1)
            return (ssize_t)got;
    }
}
