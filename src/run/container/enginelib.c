/* enginelib.c -- the Docker engine client (libdcmp_container.so), loaded on first use: libcurl
 * and what it links add about 6 MB to a process's resident memory, which the scheduler, the
 * dashboard and every worker on a host without an engine do not pay. */
#include "enginelib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

static const dcmp_engine_ops *loaded; /* the client, once loaded */

/* Loads the client library beside libdcmp.so and checks its table. Returns 0, or -1 with
 * err. */
static int load(char *err)
{
    char path[PATH_MAX];
    const dcmp_engine_ops *t;

    if ((t = dcmp_loader_sibling(DCMP_ENGINELIB_NAME, DCMP_ENGINE_OPS_SYMBOL, path, err)) == NULL)
        return -1;
    if (t->version != DCMP_ENGINE_OPS_VERSION || t->size < sizeof *t)
        return dcmp_seterr(err, "%s: no " DCMP_ENGINE_OPS_SYMBOL " of version %d", path,
                           DCMP_ENGINE_OPS_VERSION);
    loaded = t;
    return 0;
}

/* CONTAINER_JOBS=0: container jobs off on this host, whether an engine answers or not. */
static int turned_off(void)
{
    const char *cj = getenv("CONTAINER_JOBS");

    return cj != NULL && strcmp(cj, "0") == 0;
}

/* "no docker engine": with CONTAINER_JOBS=0 (Docker mode's default: the worker container is
 * not given the engine's socket) the error says so. */
static void no_engine(const char *socket, char *err)
{
    const char *cj = getenv("CONTAINER_JOBS");
    int e = errno;

    if (turned_off())
        dcmp_seterr(err,
                    "no docker engine: container jobs are off on this host (CONTAINER_JOBS=0 "
                    "in .env or the environment; in Docker mode the worker is given the "
                    "engine's socket only with CONTAINER_JOBS=1; natively, leave it empty to use "
                    "the host's engine at %s; docs/containers.md)",
                    socket);
    else if (cj && strcmp(cj, "1") != 0)
        dcmp_seterr(err,
                    "no docker engine: %s: %s (CONTAINER_JOBS=%.16s: in Docker mode the worker "
                    "is given the engine's socket only with CONTAINER_JOBS=1 in .env; "
                    "docs/containers.md)",
                    socket, strerror(e), cj);
    else
        dcmp_seterr(err, "no docker engine: %s: %s", socket, strerror(e));
}

/* The engine's socket into e->socket: DOCKER_HOST=unix://PATH, else DCMP_ENGINE_SOCKET.
 * Returns 0, or -1 with err. */
static int socket_path(dcmp_engine *e, char *err)
{
    const char *host = getenv("DOCKER_HOST");
    const char *path = DCMP_ENGINE_SOCKET;

    if (host && *host) {
        if (strncmp(host, "unix://", 7) != 0)
            return dcmp_seterr(err, "DOCKER_HOST=%.200s: only a unix:// socket is supported", host);
        path = host + 7;
    }
    e->call_ms = 0;
    if (dcmp_strlcpy(e->socket, path, sizeof e->socket) < 0)
        return dcmp_seterr(err, "DOCKER_HOST: path too long");
    return 0;
}

int dcmp_enginelib_present(void)
{
    char err[DCMP_ERR_LEN];
    dcmp_engine e;

    return !turned_off() && socket_path(&e, err) == 0 && access(e.socket, F_OK) == 0;
}

int dcmp_enginelib_open(dcmp_engine *e, const dcmp_engine_ops **ops, char *err)
{
    *ops = NULL;
    if (socket_path(e, err) < 0)
        return -1;
    if (turned_off() || access(e->socket, F_OK) < 0) {
        no_engine(e->socket, err);
        return 0;
    }
    if (loaded == NULL && load(err) < 0)
        return -1;
    *ops = loaded;
    return 1;
}
