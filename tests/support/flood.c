/* flood.c -- test support: many idle TCP connections to a loopback port, as a client that
 * opens connections and says nothing would hold them. */
#include "flood.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int flood_open(flood *f, const char *source, int port, int n)
{
    struct sockaddr_in from, to;
    struct rlimit rl;
    int i;

    f->n = 0;
    if (n > FLOOD_MAX)
        n = FLOOD_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 256) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 256 ? rl.rlim_max : (rlim_t)n + 256;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(&from, 0, sizeof from);
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    for (i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            break;
        if (bind(fd, (struct sockaddr *)&from, sizeof from) < 0 ||
            (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS)) {
            close(fd);
            break;
        }
        f->fds[f->n++] = fd;
    }
    return f->n;
}

int flood_closed_by_server(flood *f, int wait_ms)
{
    char c;
    int i, closed = 0;

    usleep((useconds_t)wait_ms * 1000);
    for (i = 0; i < f->n; i++) {
        struct pollfd p = {f->fds[i], POLLIN, 0};
        if (poll(&p, 1, 0) == 1 &&
            ((p.revents & (POLLHUP | POLLERR)) || recv(f->fds[i], &c, 1, MSG_DONTWAIT) <= 0))
            closed++;
    }
    return closed;
}

void flood_close(flood *f)
{
    int i;

    for (i = 0; i < f->n; i++)
        close(f->fds[i]);
    f->n = 0;
}
