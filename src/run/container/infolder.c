/* infolder.c -- a container interface's input folder: the series' DICOM files hard-linked (or
 * copied) under the names the interface gives, with its tags files beside them. */
#include "infolder.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

/* The state of one walk (nftw passes none). */
static struct {
    const dcmp_iface *f;
    const cJSON *headers;
    dcmp_infolder_reader read; /* NULL: tags from the headers */
    const char *in;
    char data[PATH_MAX]; /* DATA, its links resolved */
    size_t data_len;
    char *err;
    int n, seen;
    unsigned char head[DCMP_INFOLDER_HEAD];
} walk;

/* dcmpath must name a place under DATA: relative, no "..", no empty name. */
static int relpath_ok(const char *p)
{
    const char *c = p;

    if (p == NULL || *p == '\0' || *p == '/' || strlen(p) >= PATH_MAX / 2)
        return 0;
    while (*c) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n + (c[n] == '/');
    }
    return 1;
}

static int copy_file(const char *from, const char *to, char *err)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out;
    ssize_t n = 0;

    if (in < 0)
        return dcmp_seterr(err, "%s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0) {
        close(in);
        return dcmp_seterr(err, "%s: %s", to, strerror(errno));
    }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (dcmp_fdio_write(out, buf, (size_t)n) < 0) {
            n = -1;
            break;
        }
    close(in);
    if (close(out) < 0 || n < 0)
        return dcmp_seterr(err, "copying %s to %s: %s", from, to, strerror(errno));
    return 0;
}

static int write_text(const char *path, const char *text, char *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);

    if (fd < 0)
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    /* readable by the container's user whatever this process' umask (owner-only in the
     * daemons): the folder, given to that user alone, is what keeps others out */
    if (fchmod(fd, 0644) < 0 || dcmp_fdio_write(fd, text, strlen(text)) < 0) {
        close(fd);
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    }
    if (close(fd) < 0)
        return dcmp_seterr(err, "%s: %s", path, strerror(errno));
    return 0;
}

/* The tags file of an input: its name with the interface's suffix for ".dcm". */
static int write_tags(const char *src, const char *dst, const char *uid, const char *file_name,
                      char *err)
{
    char path[PATH_MAX + 16], why[DCMP_ERR_LEN], *text;
    size_t n = strlen(dst);
    cJSON *file = NULL;
    int rc;

    if (n > 4 && strcmp(dst + n - 4, ".dcm") == 0)
        n -= 4;
    if ((size_t)snprintf(path, sizeof path, "%.*s%s", (int)n, dst, walk.f->tags_suffix) >=
        sizeof path)
        return dcmp_seterr(err, "%s: path too long", dst);
    if (walk.read && walk.read(src, &file, why) < 0)
        fprintf(stderr, "%s: tags from the series' header: %s\n", file_name, why);
    text = walk.f->input_tags(walk.headers, file, uid, file_name);
    cJSON_Delete(file);
    if (text == NULL)
        return dcmp_seterr(err, "%s: out of memory", path);
    rc = write_text(path, text, err);
    free(text);
    return rc;
}

static int on_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    char uid[DCMP_IFACE_UID_LEN], name[DCMP_IFACE_UID_LEN * 3 + 16], dst[PATH_MAX + 256];
    char real[PATH_MAX], file_name[NAME_MAX + 1];
    ssize_t got;
    int fd;

    if (type == FTW_DNR || type == FTW_NS)
        return dcmp_seterr(walk.err, "%s: cannot be read", path);
    if (type != FTW_F || !S_ISREG(st->st_mode) || path[ftw->base] == '.')
        return 0;
    if (++walk.seen > DCMP_INFOLDER_MAX)
        return dcmp_seterr(walk.err, "more than %d files under the series' folder",
                           DCMP_INFOLDER_MAX);
    /* a study's series are links: what they lead to must be under DATA, and is what is
     * linked (link() would link the symbolic link itself) */
    if (realpath(path, real) == NULL)
        return dcmp_seterr(walk.err, "%s: %s", path, strerror(errno));
    if (strncmp(real, walk.data, walk.data_len) != 0 || real[walk.data_len] != '/')
        return dcmp_seterr(walk.err, "%s: leads to %s, outside DATA", path, real);
    dcmp_strlcpy(file_name, path + ftw->base, sizeof file_name);
    path = real;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
        return dcmp_seterr(walk.err, "%s: %s", path, strerror(errno));
    got = pread(fd, walk.head, sizeof walk.head, 0);
    close(fd);
    if (got < 0)
        return dcmp_seterr(walk.err, "%s: %s", path, strerror(errno));
    if (dcmp_iface_sop_uid(walk.head, (size_t)got, uid) < 0)
        return 0; /* not DICOM Part 10 */
    if (walk.f->input_name(walk.headers, uid, name, sizeof name) < 0 ||
        (size_t)snprintf(dst, sizeof dst, "%s/%s", walk.in, name) >= sizeof dst)
        return dcmp_seterr(walk.err, "%s: input name too long", path);
    if (link(path, dst) < 0) {
        if (errno == EEXIST) {
            fprintf(stderr, "%s: SOP Instance UID %s twice: passed over\n", path, uid);
            return 0;
        }
        if (copy_file(path, dst, walk.err) < 0)
            return -1;
    }
    if (walk.f->input_tags && write_tags(path, dst, uid, file_name, walk.err) < 0)
        return -1;
    walk.n++;
    return 0;
}

int dcmp_infolder_link(const dcmp_iface *f, const cJSON *headers, const char *data_dir,
                       const char *in, dcmp_infolder_reader read, char *err)
{
    const char *rel = dcmp_iface_header(headers, "dcmpath");
    char src[PATH_MAX];

    if (!relpath_ok(rel))
        return dcmp_seterr(err,
                           "headers.dcmpath: %s%.200s%s (the %s interface needs the series: "
                           "add dcmpath to headerFields)",
                           rel ? "\"" : "missing", rel ? rel : "",
                           rel ? "\" is not a path under DATA" : "", f->name);
    if ((size_t)snprintf(src, sizeof src, "%s/%s", data_dir, rel) >= sizeof src)
        return dcmp_seterr(err, "headers.dcmpath: %.80s...: path too long", rel);
    if (realpath(data_dir, walk.data) == NULL)
        return dcmp_seterr(err, "%s: %s", data_dir, strerror(errno));
    walk.data_len = strlen(walk.data);
    walk.f = f;
    walk.headers = headers;
    walk.read = read;
    walk.in = in;
    walk.err = err;
    walk.n = walk.seen = 0;
    err[0] = '\0';
    if (nftw(src, on_file, 16, 0) != 0) {
        if (err[0] == '\0')
            dcmp_seterr(err, "%s: %s", src, strerror(errno));
        return -1;
    }
    if (walk.n == 0)
        return dcmp_seterr(err, "%s: no DICOM file", src);
    return walk.n;
}
