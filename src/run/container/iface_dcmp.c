/* iface_dcmp.c -- the `dcmp` container interface: DATA read-only at /data, the kwargs in a file
 * and in DCMP_KWARGS, the output folder at /out (docs/containers.md). Pure. */
#include "iface.h"

#include <stdlib.h>
#include <string.h>

#define DATA_MOUNT  "/data"
#define OUT_MOUNT   "/out"
#define KWARGS_FILE "/dcmp/kwargs.json"

static const char *const not_results[] = {"result.json", NULL};

static int prepare(const dcmp_iface_job *job, dcmp_iface_setup *s, char *err)
{
    if (dcmp_iface_folders(job, s, 0, err) < 0 ||
        dcmp_iface_add_bind(s, job->data_dir, NULL, DATA_MOUNT, 0, err) < 0 ||
        dcmp_iface_add_bind(s, s->out, NULL, OUT_MOUNT, 1, err) < 0 ||
        dcmp_iface_add_bind(s, job->job_dir, "kwargs.json", KWARGS_FILE, 0, err) < 0 ||
        dcmp_iface_add_env(s, "DCMP_KWARGS", job->kwargs, err) < 0 ||
        dcmp_iface_add_env(s, "DCMP_KWARGS_FILE", KWARGS_FILE, err) < 0 ||
        dcmp_iface_add_env(s, "DCMP_DATA", DATA_MOUNT, err) < 0 ||
        dcmp_iface_add_env(s, "DCMP_OUT", OUT_MOUNT, err) < 0)
        return -1;
    s->file[0].name = "kwargs.json";
    if ((s->file[0].text = strdup(job->kwargs)) == NULL)
        return dcmp_seterr(err, "out of memory");
    s->nfile = 1;
    return 0;
}

const dcmp_iface dcmp_iface_dcmp = {"dcmp", "65534:65534", not_results, prepare,
                                    NULL,   NULL,          NULL,        NULL};
