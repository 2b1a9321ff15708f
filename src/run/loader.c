/* loader.c -- dlopen a service library, check its descriptor, find a function. */
#include "loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "resolve.h"

int dcmp_loader_check(const dcmp_module *m, const char *path, char *err)
{
    if (m->abi_version != DCMP_ABI_VERSION)
        return dcmp_seterr(err,
                           "%s: service ABI version %u, this host speaks version %u: rebuild "
                           "the service against this release's include/dcmp/service.h",
                           path, (unsigned)m->abi_version, (unsigned)DCMP_ABI_VERSION);
    if (m->size < sizeof(dcmp_module))
        return dcmp_seterr(err, "%s: module descriptor is %u bytes, expected at least %zu", path,
                           (unsigned)m->size, sizeof(dcmp_module));
    if (m->functions == NULL)
        return dcmp_seterr(err, "%s: module descriptor lists no functions", path);
    return 0;
}

dcmp_fn dcmp_loader_function(const dcmp_module *m, const char *path, const char *name, char *err)
{
    char have[256];
    size_t used = 0;
    const dcmp_function *f;

    for (f = m->functions; f->name != NULL; f++)
        if (strcmp(f->name, name) == 0 && f->fn != NULL)
            return f->fn;
    have[0] = '\0';
    for (f = m->functions; f->name != NULL && used < sizeof have; f++) {
        int n = snprintf(have + used, sizeof have - used, "%s%s", used ? ", " : "", f->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    dcmp_seterr(err, "%s: no function \"%s\" (the library has: %s)", path, name,
                have[0] ? have : "none");
    return NULL;
}

/* dlopens out->path and checks its descriptor; undoes everything on failure. */
static int open_checked(dcmp_loaded *out, char *err)
{
    out->handle = dlopen(out->path, RTLD_NOW | RTLD_LOCAL);
    if (out->handle == NULL) {
        const char *why = dlerror();
        return dcmp_seterr(err, "cannot load %s: %s", out->path, why ? why : "unknown error");
    }
    out->module = dlsym(out->handle, DCMP_MODULE_SYMBOL);
    if (out->module == NULL) {
        dcmp_seterr(err,
                    "%s: no symbol %s: not a dcm-processor service (build it with DCMP_MODULE)",
                    out->path, DCMP_MODULE_SYMBOL);
        goto fail;
    }
    if (dcmp_loader_check(out->module, out->path, err) < 0)
        goto fail;
    return 0;
fail:
    dcmp_loader_close(out);
    return -1;
}

int dcmp_loader_open(const char *root, const char *dotted, dcmp_loaded *out, char *err)
{
    dcmp_resolved r;
    int i;

    memset(out, 0, sizeof *out);
    if (dcmp_resolve_name(root, dotted, &r, err) < 0)
        return -1;
    if ((i = dcmp_resolve_find(&r, dotted, err)) < 0)
        return -1;
    return dcmp_loader_open_found(&r, i, out, err);
}

int dcmp_loader_open_found(const dcmp_resolved *r, int found, dcmp_loaded *out, char *err)
{
    memset(out, 0, sizeof *out);
    memcpy(out->path, r->paths[found], sizeof out->path);
    if (open_checked(out, err) < 0)
        return -1;
    out->fn = dcmp_loader_function(out->module, out->path, r->function, err);
    if (out->fn == NULL) {
        dcmp_loader_close(out);
        return -1;
    }
    return 0;
}

int dcmp_loader_open_file(const char *path, dcmp_loaded *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (dcmp_strlcpy(out->path, path, sizeof out->path) < 0)
        return dcmp_seterr(err, "%s: path too long", path);
    return open_checked(out, err);
}

void dcmp_loader_close(dcmp_loaded *l)
{
    if (l->handle)
        dlclose(l->handle);
    l->handle = NULL;
    l->module = NULL;
    l->fn = NULL;
}

/* An object of libdcmp.so, whose address dladdr() maps to the library's file. */
static const char anchor = 0;

const void *dcmp_loader_sibling(const char *name, const char *symbol, char path[PATH_MAX],
                                char *err)
{
    Dl_info info;
    const char *slash;
    const void *sym;
    void *h;
    int n;

    if (dladdr(&anchor, &info) == 0 || info.dli_fname == NULL ||
        (slash = strrchr(info.dli_fname, '/')) == NULL) {
        dcmp_seterr(err, "cannot tell the folder of libdcmp.so to find %s", name);
        return NULL;
    }
    n = snprintf(path, PATH_MAX, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname, name);
    if (n < 0 || n >= PATH_MAX) {
        dcmp_seterr(err, "the path of %s is too long", name);
        return NULL;
    }
    if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        const char *e = dlerror();
        dcmp_seterr(err, "cannot load %s: %s", path, e ? e : "unknown error");
        return NULL;
    }
    if ((sym = dlsym(h, symbol)) == NULL) {
        dlclose(h);
        dcmp_seterr(err, "%s: no symbol %s", path, symbol);
    }
    return sym;
}
