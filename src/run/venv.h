/* venv.h -- a Python service's virtual environment: where it lives, whether it is current. */
#ifndef DCMP_VENV_H
#define DCMP_VENV_H

#include <limits.h>
#include <stddef.h>

/* The folder of the environments, under MODULES: MODULES/.venvs/NAME is the service NAME's. */
#define DCMP_VENV_DIR ".venvs"

/* The copy of requirements.txt an environment was made from (dcmp-venv keeps it). */
#define DCMP_VENV_MADE_FROM "dcmp-requirements.txt"

/* The largest requirements.txt compared: a bigger one is never current. */
#define DCMP_VENV_REQ_MAX (1 << 20)

/*
 * The environment of the service whose dotted name (or folder name) is `name`: its first part
 * NAME. Returns 1 when MODULES/NAME/requirements.txt exists (the service has an environment,
 * MODULES/.venvs/NAME, into venv, whether made or not), 0 when it does not (the system's
 * Python serves it; venv ""), -1 with err when a path is too long or the name is empty.
 */
int dcmp_venv_of(const char *modules, const char *name, char venv[PATH_MAX], char *err);

/*
 * Whether the environment of the service folder `name` is made and current: venv/pyvenv.cfg
 * and venv/bin/python3 (its interpreter, resolved) exist and venv/dcmp-requirements.txt holds
 * the bytes of MODULES/NAME/requirements.txt. Returns 1 or 0.
 */
int dcmp_venv_current(const char *modules, const char *name);

#endif
