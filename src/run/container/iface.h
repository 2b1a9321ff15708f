/* iface.h -- a container job's interface (dcmp, mercure, monai): what the image sees. Pure. */
#ifndef DCMP_IFACE_H
#define DCMP_IFACE_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "manifest.h"

#define DCMP_IFACE_BINDS   4                       /* folders and files bound into a container */
#define DCMP_IFACE_ENV     (8 + DCMP_MANIFEST_ENV) /* variables an interface sets */
#define DCMP_IFACE_FILES   2        /* files an interface writes under the job's folder */
#define DCMP_IFACE_UID_LEN 65       /* a DICOM UID (64 characters) and its NUL */
#define DCMP_IFACE_WORKER  "worker" /* container.user: the worker's own uid:gid (not root) */

/* One run of a job, as the interface sees it. All borrowed. */
typedef struct dcmp_iface_job {
    const char *job_id, *job_name;
    const char *data_dir;          /* DATA on the engine's host */
    const char *job_dir;           /* DATA/containers/<job id> on the engine's host */
    const char *kwargs;            /* the job's kwargs, JSON text */
    const cJSON *headers, *params; /* parsed from the kwargs; either may be NULL */
    const dcmp_manifest *manifest; /* the image's manifest (iface.manifests), NULL: none */
} dcmp_iface_job;

typedef struct dcmp_iface_bind {
    char host[PATH_MAX + 32]; /* on the engine's host */
    const char *inside;       /* in the container (static) */
    int rw;                   /* 0: read-only */
} dcmp_iface_bind;

typedef struct dcmp_iface_env {
    const char *name, *value; /* static, or borrowed from the job */
} dcmp_iface_env;

typedef struct dcmp_iface_file {
    const char *name; /* under the job's folder (static) */
    char *text;       /* new: dcmp_iface_setup_free frees it */
} dcmp_iface_file;

/* What an interface asks of one run: prepare fills it, the runner does the I/O. */
typedef struct dcmp_iface_setup {
    dcmp_iface_bind bind[DCMP_IFACE_BINDS];
    int nbind;
    dcmp_iface_env env[DCMP_IFACE_ENV];
    int nenv;
    dcmp_iface_file file[DCMP_IFACE_FILES];
    int nfile;
    char out[PATH_MAX + 32]; /* the output folder on the engine's host: job_dir/out */
    char in[PATH_MAX + 32];  /* the input folder (job_dir/in) when the interface has inputs */
    /* the command to run instead of the image's entrypoint and command (ncommand 0: the
     * image's), unless the entry gives `command`; borrowed from the job's manifest */
    const char *const *command;
    int ncommand;
    const char *workdir; /* the container's working directory, NULL: the image's */
    int64_t timeout;     /* seconds the container may run when under the job's, 0: the job's */
} dcmp_iface_setup;

typedef struct dcmp_iface {
    const char *name; /* as container.interface gives it */
    const char *user; /* the default container.user: "UID:GID" or DCMP_IFACE_WORKER */
    /* Names at the top of the output folder that are not results (NULL-ended). */
    const char *const *not_results;
    /* Fills *out for job (binds, environment, files). Returns 0, or -1 with err. */
    int (*prepare)(const dcmp_iface_job *job, dcmp_iface_setup *out, char *err);
    /* The name of an input file in setup.in, from the series' headers and the file's SOP
     * Instance UID; NULL: the interface takes no input folder. Returns 0, or -1 when it
     * does not fit in size. */
    int (*input_name)(const cJSON *headers, const char *sop_uid, char *out, size_t size);
    /* The text of the file written beside each input (mercure's ".tags") whose SOP Instance
     * UID is sop_uid, whose name in the series' folder is file_name and whose own header
     * (infolder.h's reader) is file (NULL: not read), new; NULL member: none. Returns NULL
     * out of memory. */
    char *(*input_tags)(const cJSON *headers, const cJSON *file, const char *sop_uid,
                        const char *file_name);
    const char *tags_suffix; /* that file's name: the input's name with this for ".dcm" */
    /* Files of the image the runner reads, the first found, as job.manifest (NULL-ended);
     * NULL: none. */
    const char *const *manifests;
} dcmp_iface;

extern const dcmp_iface dcmp_iface_dcmp, dcmp_iface_mercure, dcmp_iface_monai;

/* The interface of a name, or NULL. */
const dcmp_iface *dcmp_iface_find(const char *name);

/* Frees what prepare made (the files' texts); the setup is zeroed. */
void dcmp_iface_setup_free(dcmp_iface_setup *s);

/* Appends a bind / an environment variable to s. Return 0, or -1 with err when full or
 * when the host path does not fit. For the interfaces' prepare functions. */
int dcmp_iface_add_bind(dcmp_iface_setup *s, const char *dir, const char *name, const char *inside,
                        int rw, char *err);
int dcmp_iface_add_env(dcmp_iface_setup *s, const char *name, const char *value, char *err);

/* Sets s->out (and s->in when in_too) under job->job_dir. Returns 0, or -1 with err. */
int dcmp_iface_folders(const dcmp_iface_job *job, dcmp_iface_setup *s, int in_too, char *err);

/*
 * The SOP Instance UID of a DICOM Part 10 file from its first len bytes: "DICM" at 128,
 * then the file meta group (0002, always explicit VR little endian) holding
 * MediaStorageSOPInstanceUID (0002,0003). Writes it to uid, trailing NUL/space padding cut.
 * Returns 0, or -1 when the bytes are not such a file (no DICM, no (0002,0003) before the
 * meta group ends, a length past len, a UID over 64 characters or with other than digits
 * and dots). Never reads past len.
 */
int dcmp_iface_sop_uid(const unsigned char *buf, size_t len, char uid[DCMP_IFACE_UID_LEN]);

/* A header's string value, or NULL. */
const char *dcmp_iface_header(const cJSON *headers, const char *name);

#endif
