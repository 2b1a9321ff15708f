/* listen.h -- what the daemons' HTTP listeners share: a client's address as text, and the open
 * files their connection cap needs. */
#ifndef DCMP_LISTEN_H
#define DCMP_LISTEN_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

/* Writes sa's address (IPv4 or IPv6, no port) into out[size]; "?" when sa is NULL, of another
 * family, or does not fit. */
void dcmp_listen_addr(const struct sockaddr *sa, char *out, size_t size);

/* Raises this process's soft limit of open files toward `want` (never above the hard limit,
 * never lowers it). Returns the files it may open then, at most `want` (a connection cap must
 * fit in it). */
long dcmp_listen_files(long want);

/* libmicrohttpd's logger (MHD_OPTION_EXTERNAL_LOGGER; cls unused): its messages, a refused
 * connection among them, as warnings, at most one a second, so a flood of connections does
 * not become a flood of log lines. */
void dcmp_listen_log(void *cls, const char *fmt, va_list ap);

#endif
