/* fdio.h -- whole reads and writes on a file descriptor. */
#ifndef DCMP_FDIO_H
#define DCMP_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all len bytes of buf to fd, retrying after signals and short writes. Returns 0, or
 * -1 with errno (a write that wrote nothing counts as failed). */
int dcmp_fdio_write(int fd, const void *buf, size_t len);

/* Reads exactly len bytes from fd into buf, retrying after signals and short reads. Returns
 * 0, or -1 at an error (errno) or at end of file before len bytes. */
int dcmp_fdio_read(int fd, void *buf, size_t len);

/* Reads what fd gives until its end of file, until size - 1 bytes are read, or until
 * `deadline` (dcmp_clock_mono_ms); buf is kept NUL-ended. Returns the bytes read, or -1 when
 * the deadline came first (a reader of a child that must not hang). */
ssize_t dcmp_fdio_read_until(int fd, char *buf, size_t size, int64_t deadline);

#endif
