/* iface_monai.c -- the `monai` container interface: a MONAI Application Package run as the
 * MAP specification says (the series at HOLOSCAN_INPUT_PATH, outputs at HOLOSCAN_OUTPUT_PATH,
 * the older MONAI_INPUTPATH/MONAI_OUTPUTPATH too; docs/containers.md). Pure. */
#include "iface.h"

#include <stdio.h>
#include <string.h>

/* the specification's defaults (its Table of Environment Variables), bound there as well so
 * that a MAP reading its manifest's defaults finds them */
#define IN_MOUNT  "/var/holoscan/input"
#define OUT_MOUNT "/var/holoscan/output"

static const char *const not_results[] = {"result.json", NULL};

/* where a MAP keeps its manifest: the specification's ("Manifests"), then the older App SDK's
 * (MAPs made before its Holoscan-based packager; mercure reads that one) */
static const char *const manifests[] = {"/etc/holoscan/app.json", "/etc/monai/app.json", NULL};

/* The manifest's environment, but for names already set (the paths, which follow the binds). */
static int manifest_env(const dcmp_manifest *m, dcmp_iface_setup *s, char *err)
{
    int i, j;

    for (i = 0; i < m->nenv; i++) {
        for (j = 0; j < s->nenv && strcmp(s->env[j].name, m->env_name[i]) != 0; j++)
            ;
        if (j == s->nenv && dcmp_iface_add_env(s, m->env_name[i], m->env_value[i], err) < 0)
            return -1;
    }
    return 0;
}

/* The series at the manifest's input path and the outputs at its output path (the
 * specification's defaults without a manifest), the paths' variables set to them; with a
 * manifest, its command, environment, working directory and timeout ("Hosting Environment"). */
static int prepare(const dcmp_iface_job *job, dcmp_iface_setup *s, char *err)
{
    const dcmp_manifest *m = job->manifest;
    const char *in = m ? m->input : IN_MOUNT, *out = m ? m->output : OUT_MOUNT;

    if (dcmp_iface_folders(job, s, 1, err) < 0 ||
        dcmp_iface_add_bind(s, s->in, NULL, in, 0, err) < 0 ||
        dcmp_iface_add_bind(s, s->out, NULL, out, 1, err) < 0 ||
        dcmp_iface_add_env(s, "HOLOSCAN_INPUT_PATH", in, err) < 0 ||
        dcmp_iface_add_env(s, "HOLOSCAN_OUTPUT_PATH", out, err) < 0 ||
        dcmp_iface_add_env(s, "MONAI_INPUTPATH", in, err) < 0 ||
        dcmp_iface_add_env(s, "MONAI_OUTPUTPATH", out, err) < 0)
        return -1;
    if (m == NULL)
        return 0;
    s->command = (const char *const *)m->words;
    s->ncommand = m->nwords;
    s->workdir = m->workdir[0] ? m->workdir : DCMP_MANIFEST_WORKDIR;
    s->timeout = m->timeout;
    return manifest_env(m, s, err);
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
                                     input_name, NULL,        NULL,        manifests};
