/* fdio.c -- whole reads and writes on a file descriptor. */
#include "fdio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

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
