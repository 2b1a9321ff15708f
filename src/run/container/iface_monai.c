/* iface_monai.c -- the `monai` container interface: a MONAI Application Package run as the
 * MAP specification says (the series at HOLOSCAN_INPUT_PATH, outputs at HOLOSCAN_OUTPUT_PATH,
 * the older MONAI_INPUTPATH/MONAI_OUTPUTPATH too; docs/containers.md). Pure. */
#include "iface.h"

#include <stdio.h>

/* the specification's defaults (its Table of Environment Variables), bound there as well so
 * that a MAP reading its manifest's defaults finds them */
#define IN_MOUNT  "/var/holoscan/input"
#define OUT_MOUNT "/var/holoscan/output"

static const char *const not_results[] = {"result.json", NULL};

static int prepare(const dcmp_iface_job *job, dcmp_iface_setup *s, char *err)
{
    return dcmp_iface_folders(job, s, 1, err) < 0 ||
                   dcmp_iface_add_bind(s, s->in, NULL, IN_MOUNT, 0, err) < 0 ||
                   dcmp_iface_add_bind(s, s->out, NULL, OUT_MOUNT, 1, err) < 0 ||
                   dcmp_iface_add_env(s, "HOLOSCAN_INPUT_PATH", IN_MOUNT, err) < 0 ||
                   dcmp_iface_add_env(s, "HOLOSCAN_OUTPUT_PATH", OUT_MOUNT, err) < 0 ||
                   dcmp_iface_add_env(s, "MONAI_INPUTPATH", IN_MOUNT, err) < 0 ||
                   dcmp_iface_add_env(s, "MONAI_OUTPUTPATH", OUT_MOUNT, err) < 0
               ? -1
               : 0;
}

/* one folder of the series' files, named by SOP Instance UID (a study's series cannot clash) */
static int input_name(const cJSON *headers, const char *sop_uid, char *out, size_t size)
{
    int n = snprintf(out, size, "%s.dcm", sop_uid);

    (void)headers;
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* the user MONAI Deploy's runner starts a MAP as unless told (`monai-deploy run --uid 1000`),
 * the packager's default user in the image */
const dcmp_iface dcmp_iface_monai = {"monai",    "1000:1000", not_results, prepare,
                                     input_name, NULL,        NULL};
