/* enginelib.h -- the Docker engine client (libdcmp_container.so), loaded on first use. */
#ifndef DCMP_ENGINELIB_H
#define DCMP_ENGINELIB_H

#include "engine.h"

#define DCMP_ENGINELIB_NAME "libdcmp_container.so" /* beside libdcmp.so */

/*
 * Fills *e with the engine's socket (DOCKER_HOST=unix://PATH, else DCMP_ENGINE_SOCKET) and,
 * when that socket exists, loads the client (once per process; it stays loaded) into *ops.
 * Returns 1 with *ops; 0 when there is no socket, or CONTAINER_JOBS=0 in the environment
 * turns container jobs off (no engine: err says which, *ops NULL); -1 with err when
 * DOCKER_HOST is not a unix:// socket or the client cannot be loaded.
 */
int dcmp_enginelib_open(dcmp_engine *e, const dcmp_engine_ops **ops, char *err);

/* Whether the engine's socket (as dcmp_enginelib_open finds it) exists and CONTAINER_JOBS is
 * not 0; loads nothing. The worker starts no sweep without it. */
int dcmp_enginelib_present(void);

#endif
