/* tar.h -- one regular file out of a tar stream (the engine's archive answer). Pure. */
#ifndef DCMP_TAR_H
#define DCMP_TAR_H

#include <stddef.h>

#include "log.h"

#define DCMP_TAR_BLOCK 512

/*
 * The first member of the tar stream buf[0..len) that is a file, skipping the pax ('x', 'g')
 * and GNU long-name ('L', 'K') headers before it. Every header's checksum is checked. Returns
 * 0 with *data (into buf) and *size; -1 with err when the stream is cut or not a tar, holds
 * no member, its first member is not a regular file (a link, a folder: named by its type), or
 * that file is over max bytes. Never reads past len.
 */
int dcmp_tar_file(const unsigned char *buf, size_t len, size_t max, const unsigned char **data,
                  size_t *size, char *err);

#endif
