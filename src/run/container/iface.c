/* iface.c -- the container interfaces by name and what they share: binds, environment,
 * folders, a DICOM file's SOP Instance UID from its meta group. Pure: no I/O. */
#include "iface.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const dcmp_iface *const all[] = {&dcmp_iface_dcmp, &dcmp_iface_mercure, &dcmp_iface_monai};

const dcmp_iface *dcmp_iface_find(const char *name)
{
    size_t i;

    for (i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

void dcmp_iface_setup_free(dcmp_iface_setup *s)
{
    int i;

    for (i = 0; i < s->nfile; i++)
        free(s->file[i].text);
    memset(s, 0, sizeof *s);
}

int dcmp_iface_add_bind(dcmp_iface_setup *s, const char *dir, const char *name, const char *inside,
                        int rw, char *err)
{
    dcmp_iface_bind *b;
    int n;

    if (s->nbind >= DCMP_IFACE_BINDS)
        return dcmp_seterr(err, "more than %d binds", DCMP_IFACE_BINDS);
    b = &s->bind[s->nbind];
    n = name ? snprintf(b->host, sizeof b->host, "%s/%s", dir, name)
             : snprintf(b->host, sizeof b->host, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof b->host)
        return dcmp_seterr(err, "%.80s...: path too long", dir);
    b->inside = inside;
    b->rw = rw;
    s->nbind++;
    return 0;
}

int dcmp_iface_add_env(dcmp_iface_setup *s, const char *name, const char *value, char *err)
{
    if (s->nenv >= DCMP_IFACE_ENV)
        return dcmp_seterr(err, "more than %d environment variables", DCMP_IFACE_ENV);
    s->env[s->nenv].name = name;
    s->env[s->nenv++].value = value;
    return 0;
}

int dcmp_iface_folders(const dcmp_iface_job *job, dcmp_iface_setup *s, int in_too, char *err)
{
    int n = snprintf(s->out, sizeof s->out, "%s/out", job->job_dir);

    if (n < 0 || (size_t)n >= sizeof s->out)
        return dcmp_seterr(err, "%.80s...: path too long", job->job_dir);
    if (in_too)
        snprintf(s->in, sizeof s->in, "%s/in", job->job_dir);
    return 0;
}

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static unsigned long rd32(const unsigned char *p)
{
    return (unsigned long)rd16(p) | (unsigned long)rd16(p + 2) << 16;
}

/* The VRs whose length takes 4 bytes after 2 reserved ones (PS3.5 7.1.2). */
static int long_vr(const unsigned char *vr)
{
    static const char longs[] = "OBODOFOLOVOWSQSVUCUNURUTUV";
    size_t i;

    for (i = 0; i + 1 < sizeof longs; i += 2)
        if (vr[0] == (unsigned char)longs[i] && vr[1] == (unsigned char)longs[i + 1])
            return 1;
    return 0;
}

int dcmp_iface_sop_uid(const unsigned char *buf, size_t len, char uid[DCMP_IFACE_UID_LEN])
{
    size_t pos = 132, vlen, i;

    if (len < pos || memcmp(buf + 128, "DICM", 4) != 0)
        return -1;
    /* explicit VR little endian: tag (4), VR (2), then a 2-byte length, or 2 reserved and a
     * 4-byte length for OB, OW, OF, SQ, UT, UN */
    while (pos + 8 <= len && rd16(buf + pos) == 0x0002) {
        unsigned elem = rd16(buf + pos + 2);
        int long_form = long_vr(buf + pos + 4);
        if (long_form) {
            if (pos + 12 > len)
                return -1;
            vlen = rd32(buf + pos + 8);
            pos += 12;
        } else {
            vlen = rd16(buf + pos + 6);
            pos += 8;
        }
        if (vlen > len - pos)
            return -1;
        if (elem == 0x0003) {
            while (vlen > 0 && (buf[pos + vlen - 1] == '\0' || buf[pos + vlen - 1] == ' '))
                vlen--;
            if (vlen == 0 || vlen >= DCMP_IFACE_UID_LEN)
                return -1;
            for (i = 0; i < vlen; i++)
                if (!((buf[pos + i] >= '0' && buf[pos + i] <= '9') || buf[pos + i] == '.'))
                    return -1;
            memcpy(uid, buf + pos, vlen);
            uid[vlen] = '\0';
            return 0;
        }
        pos += vlen;
    }
    return -1;
}

const char *dcmp_iface_header(const cJSON *headers, const char *name)
{
    const cJSON *v = headers ? cJSON_GetObjectItemCaseSensitive(headers, name) : NULL;

    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}
