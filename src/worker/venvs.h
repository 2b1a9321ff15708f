/* venvs.h -- Python services' virtual environments, made when the worker starts. */
#ifndef DCMP_WORKER_VENVS_H
#define DCMP_WORKER_VENVS_H

#include <stdint.h>

/*
 * Makes, one after the other in name order, the virtual environment of every service
 * MODULES/NAME with a requirements.txt whose environment MODULES/.venvs/NAME is missing or was
 * made from another requirements.txt (venv.h), with the program dcmp-venv ($DCMP_VENV, else
 * beside this program; docs/python.md): pip's output is appended to LOGS/venv-NAME.log, and
 * dcmp-venv's own lines (pip's error when it failed) are logged. beat(arg) is called every beat_ms
 * while one is made (may be NULL). Never fails: a service whose environment could not be made fails
 * its jobs with a message saying so. Returns the number of environments that could not be made.
 */
int worker_venvs_make(const char *modules, const char *logs, void (*beat)(void *), void *arg,
                      int64_t beat_ms);

#endif
