/* listen.c -- what the daemons' HTTP listeners share: a client's address as text, and the open
 * files their connection cap needs. */
#include "listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "log.h"

void dcmp_listen_addr(const struct sockaddr *sa, char *out, size_t size)
{
    const char *ok = NULL;

    if (size == 0)
        return;
    if (sa && sa->sa_family == AF_INET)
        ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                       (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                       (socklen_t)size);
    if (ok == NULL)
        dcmp_strlcpy(out, "?", size);
}

long dcmp_listen_files(long want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024; /* what a Linux process starts with */
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want > rl.rlim_cur) {
        rlim_t cur = rl.rlim_cur;
        rl.rlim_cur =
            rl.rlim_max == RLIM_INFINITY || (rlim_t)want < rl.rlim_max ? (rlim_t)want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            rl.rlim_cur = cur;
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)want ? want : (long)rl.rlim_cur;
}

void dcmp_listen_log(void *cls, const char *fmt, va_list ap)
{
    static _Atomic int64_t last_ms;
    int64_t now = dcmp_clock_mono_ms(), was = atomic_load(&last_ms);
    char text[256];
    size_t n;

    (void)cls;
    if ((was != 0 && now - was < 1000) || !atomic_compare_exchange_strong(&last_ms, &was, now))
        return;
    vsnprintf(text, sizeof text, fmt, ap);
    n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    dcmp_log_warn("http: %s (more such messages this second are not logged)", text);
}
