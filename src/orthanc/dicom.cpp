/* dicom.cpp -- DICOM headers read with DCMTK up to the pixel data, as Orthanc's simplified tags. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrma.h>
#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvr.h>
#include <dcmtk/dcmdata/dcvrat.h>
#include <dcmtk/dcmdata/dcvrfd.h>
#include <dcmtk/dcmdata/dcvrfl.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/oflog/oflog.h>

#include "dicom.h"

namespace
{

/* (0020,0014): the first tag after InstanceNumber; reading stops before it. */
const DcmTagKey after_instance_number(0x0020, 0x0014);

/* Where the bytes come from: a file (read through DCMTK's file stream, so that long values
 * stay on disk until asked for) or memory. */
struct source {
    const char *name; /* for messages: the path, or "(memory, N bytes)" */
    const char *path; /* NULL for memory */
    const void *data;
    size_t len;
};

/* A file's bytes in memory, read by DCMTK like a file. DCMTK's own buffer stream cannot make a
 * factory (re-read a value later), so it allocates every value at its declared length before
 * the bytes arrive: 4 GB for a 100-byte input. With a factory, values longer than
 * DCM_MaxReadLength are skipped over and loaded only when asked for, as from a file. The data
 * are borrowed: the stream, its factories and the DcmFileFormat reading them must not outlive
 * the caller's buffer. */
class memory_producer : public DcmProducer
{
  public:
    memory_producer(const unsigned char *data, offile_off_t len, offile_off_t pos)
        : data_(data), len_(len), pos_(pos < len ? pos : len), status_(EC_Normal)
    {
    }
    OFBool good() const override
    {
        return status_.good();
    }
    OFCondition status() const override
    {
        return status_;
    }
    OFBool eos() override
    {
        return pos_ >= len_;
    }
    offile_off_t avail() override
    {
        return status_.good() ? len_ - pos_ : 0;
    }
    offile_off_t read(void *buf, offile_off_t n) override
    {
        n = clamp(n);
        if (n > 0)
            memcpy(buf, data_ + pos_, static_cast<size_t>(n));
        pos_ += n;
        return n;
    }
    offile_off_t skip(offile_off_t n) override
    {
        n = clamp(n);
        pos_ += n;
        return n;
    }
    void putback(offile_off_t n) override
    {
        if (n < 0 || n > pos_)
            status_ = EC_PutbackFailed;
        else
            pos_ -= n;
    }

  private:
    offile_off_t clamp(offile_off_t n)
    {
        if (status_.bad() || n < 0)
            return 0;
        return n < len_ - pos_ ? n : len_ - pos_;
    }
    const unsigned char *data_;
    offile_off_t len_, pos_;
    OFCondition status_;
};

class memory_stream : public DcmInputStream
{
  public:
    memory_stream(const unsigned char *data, offile_off_t len, offile_off_t offset)
        : DcmInputStream(&producer_), producer_(data, len, offset), data_(data), len_(len),
          offset_(offset)
    {
    }
    DcmInputStreamFactory *newFactory() const override;

  private:
    memory_producer producer_; /* constructed after the base, which only stores its address */
    const unsigned char *data_;
    offile_off_t len_, offset_;
};

class memory_factory : public DcmInputStreamFactory
{
  public:
    memory_factory(const unsigned char *data, offile_off_t len, offile_off_t offset)
        : data_(data), len_(len), offset_(offset)
    {
    }
    DcmInputStream *create() const override
    {
        return new memory_stream(data_, len_, offset_);
    }
    DcmInputStreamFactory *clone() const override
    {
        return new memory_factory(data_, len_, offset_);
    }
    /* DCMTK 3.6.7 knows two kinds and never looks at the kind of a factory it reads with. */
    DcmInputStreamFactoryType ident() const override
    {
        return DFT_DcmInputFileStreamFactory;
    }

  private:
    const unsigned char *data_;
    offile_off_t len_, offset_;
};

DcmInputStreamFactory *memory_stream::newFactory() const
{
    /* not through a (deflate) filter: its output cannot be found again by offset */
    if (currentProducer() != &producer_)
        return NULL;
    return new memory_factory(data_, len_, offset_ + tell());
}

/* A cJSON tree freed on every way out, exceptions included. */
typedef std::unique_ptr<cJSON, void (*)(cJSON *)> json;

/* The state of one conversion to JSON. */
struct convert {
    const char *name;
    char *err;
    size_t nodes;
};

/* Process-wide DCMTK settings, made once on first use. */
void setup_dcmtk()
{
    static std::once_flag once;
    std::call_once(once, [] {
        /* Every failure is reported through err; DCMTK would also print its parser's
         * complaints about each broken file on stderr. */
        OFLog::getLogger("dcmtk.dcmdata").setLogLevel(OFLogger::FATAL_LOG_LEVEL);
        /* Elements the dictionary knows but a sender wrote as UN (explicit VR, defined length)
         * are read with their dictionary VR, so that their values come out as Orthanc shows
         * them instead of being left out as binary. */
        dcmEnableUnknownVRConversion.set(OFTrue);
    });
}

/* The length of the UTF-8 sequence starting at s (n bytes left), or 0 when it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF are not). */
size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* The value as cJSON can carry it: valid UTF-8 without NUL. Other bytes become U+FFFD. */
std::string to_utf8(const char *s, size_t n)
{
    std::string out;
    const unsigned char *u = reinterpret_cast<const unsigned char *>(s);

    out.reserve(n);
    for (size_t i = 0; i < n;) {
        size_t len = u[i] == 0 ? 0 : utf8_sequence(u + i, n - i);
        if (len == 0) {
            out += "\xef\xbf\xbd";
            i++;
        } else {
            out.append(s + i, len);
            i += len;
        }
    }
    return out;
}

/* A binary number as Orthanc 1.10 writes it: "%.17g" of the value as a double (a float is
 * widened first, so FL 0.1 gives "0.10000000149011612"). The decimal point stays '.' whatever
 * LC_NUMERIC says. */
std::string format_real(double v)
{
    char buf[64];

    snprintf(buf, sizeof buf, "%.17g", v);
    for (char *c = buf; *c != '\0'; c++)
        if (*c == ',')
            *c = '.';
    return buf;
}

int item_to_json(DcmItem *item, cJSON *obj, int depth, convert *cv);

/* "(gggg,eeee) Keyword" for messages. */
std::string tag_text(DcmElement *el, const char *keyword)
{
    char buf[128];
    const DcmTag &tag = el->getTag();

    snprintf(buf, sizeof buf, "(%04x,%04x) %s", tag.getGTag(), tag.getETag(), keyword);
    return buf;
}

enum leaf { LEAF_ERROR = -1, LEAF_SKIP, LEAF_TEXT, LEAF_NULL };

/* Lengths below are the length fields as read: DCMTK's getLength() loads the value first. */

/* The value of a leaf element: LEAF_TEXT with *text set, LEAF_NULL (a binary number without
 * a value, or a value longer than DCMP_DICOM_MAX_VALUE), LEAF_SKIP (binary VRs), or
 * LEAF_ERROR with the message in cv->err. */
leaf leaf_value(DcmElement *el, const char *keyword, std::string *text, convert *cv)
{
    OFCondition cond = EC_Normal;
    OFString value;
    DcmEVR vr = el->ident();
    unsigned long vm;

    switch (vr) {
    case EVR_AE:
    case EVR_AS:
    case EVR_CS:
    case EVR_DA:
    case EVR_DS:
    case EVR_DT:
    case EVR_IS:
    case EVR_LO:
    case EVR_LT:
    case EVR_PN:
    case EVR_SH:
    case EVR_ST:
    case EVR_TM:
    case EVR_UC:
    case EVR_UI:
    case EVR_UR:
    case EVR_UT:
        if (el->getLengthField() > DCMP_DICOM_MAX_VALUE)
            return LEAF_NULL;
        cond = el->getOFStringArray(value, OFFalse);
        if (cond.good())
            *text = to_utf8(value.c_str(), value.length());
        break;
    case EVR_US:
    case EVR_SS:
    case EVR_UL:
    case EVR_SL:
    case EVR_SV:
    case EVR_UV:
    case EVR_FL:
    case EVR_FD:
    case EVR_AT:
        if (el->getLengthField() == 0 || el->getLengthField() > DCMP_DICOM_MAX_VALUE)
            return LEAF_NULL;
        if (vr != EVR_FL && vr != EVR_FD && vr != EVR_AT) {
            cond = el->getOFStringArray(value);
            if (cond.good())
                *text = value.c_str();
            break;
        }
        vm = el->getVM();
        text->clear();
        for (unsigned long i = 0; i < vm && cond.good(); i++) {
            if (i > 0)
                *text += '\\';
            if (vr == EVR_FL) {
                Float32 f = 0;
                cond = el->getFloat32(f, i);
                *text += format_real(f);
            } else if (vr == EVR_FD) {
                Float64 d = 0;
                cond = el->getFloat64(d, i);
                *text += format_real(d);
            } else {
                DcmTagKey key;
                char buf[16];
                cond = static_cast<DcmAttributeTag *>(el)->getTagVal(key, i);
                snprintf(buf, sizeof buf, "%04x,%04x", key.getGroup(), key.getElement());
                *text += buf;
            }
        }
        break;
    default: return LEAF_SKIP;
    }
    if (cond.bad()) {
        dcmp_seterr(cv->err, "%s: %s: unreadable value (%s)", cv->name,
                    tag_text(el, keyword).c_str(), cond.text());
        return LEAF_ERROR;
    }
    return LEAF_TEXT;
}

/* An array with one object per item of the sequence. */
int sequence_to_json(DcmSequenceOfItems *seq, const char *keyword, cJSON **out, int depth,
                     convert *cv)
{
    if (depth >= DCMP_DICOM_MAX_DEPTH)
        return dcmp_seterr(cv->err, "%s: %s: sequences nested deeper than %d", cv->name,
                           tag_text(seq, keyword).c_str(), DCMP_DICOM_MAX_DEPTH);
    json arr(cJSON_CreateArray(), cJSON_Delete);
    if (arr == nullptr)
        return dcmp_seterr(cv->err, "%s: out of memory", cv->name);
    for (DcmObject *o = seq->nextInContainer(NULL); o != NULL; o = seq->nextInContainer(o)) {
        DcmItem *item = dynamic_cast<DcmItem *>(o);
        cJSON *child;

        if (++cv->nodes > DCMP_DICOM_MAX_NODES)
            return dcmp_seterr(cv->err, "%s: more than %d elements and items", cv->name,
                               DCMP_DICOM_MAX_NODES);
        if (item == NULL)
            return dcmp_seterr(cv->err, "%s: %s: holds something other than items", cv->name,
                               tag_text(seq, keyword).c_str());
        if ((child = cJSON_CreateObject()) == NULL)
            return dcmp_seterr(cv->err, "%s: out of memory", cv->name);
        cJSON_AddItemToArray(arr.get(), child);
        if (item_to_json(item, child, depth + 1, cv) != 0)
            return -1;
    }
    *out = arr.release();
    return 0;
}

/* Adds the elements of item (a data set or a sequence item) to obj. */
int item_to_json(DcmItem *item, cJSON *obj, int depth, convert *cv)
{
    std::unordered_set<std::string> seen; /* keywords already in obj */

    for (DcmObject *o = item->nextInContainer(NULL); o != NULL; o = item->nextInContainer(o)) {
        DcmElement *el = static_cast<DcmElement *>(o);
        DcmTag tag = el->getTag(); /* a copy: getTagName() caches the name in it */
        const char *keyword;
        cJSON *value = NULL;

        if (tag.getGroup() == 0x0002 || tag.getElement() == 0x0000 || tag.isPrivate())
            continue;
        keyword = tag.getTagName();
        if (keyword == NULL || strcmp(keyword, DcmTag_ERROR_TagName) == 0 ||
            !seen.insert(keyword).second)
            continue;
        if (++cv->nodes > DCMP_DICOM_MAX_NODES)
            return dcmp_seterr(cv->err, "%s: more than %d elements and items", cv->name,
                               DCMP_DICOM_MAX_NODES);
        if (el->ident() == EVR_SQ) {
            if (sequence_to_json(static_cast<DcmSequenceOfItems *>(o), keyword, &value, depth,
                                 cv) != 0)
                return -1;
        } else {
            std::string text;
            leaf r = leaf_value(el, keyword, &text, cv);
            if (r == LEAF_ERROR)
                return -1;
            if (r == LEAF_SKIP)
                continue;
            value = r == LEAF_NULL ? cJSON_CreateNull() : cJSON_CreateString(text.c_str());
            if (value == NULL)
                return dcmp_seterr(cv->err, "%s: out of memory", cv->name);
        }
        if (!cJSON_AddItemToObject(obj, keyword, value)) {
            cJSON_Delete(value);
            return dcmp_seterr(cv->err, "%s: out of memory", cv->name);
        }
    }
    return 0;
}

/* What load() fills. A deflated data set is inflated into memory, from which DCMTK reads the
 * long values on demand: it must live as long as ff. */
struct loaded {
    DcmFileFormat ff;
    std::vector<unsigned char> inflated;
};

/* A new stream over src, from its start. */
std::unique_ptr<DcmInputStream> open_stream(const source &src)
{
    if (src.path != NULL)
        return std::unique_ptr<DcmInputStream>(new DcmInputFileStream(src.path));
    return std::unique_ptr<DcmInputStream>(new memory_stream(
        static_cast<const unsigned char *>(src.data), static_cast<offile_off_t>(src.len), 0));
}

/* Reads the first bytes of src (at most size) into head; returns how many, or -1 with err. */
ssize_t read_head(const source &src, unsigned char *head, size_t size, char *err)
{
    struct stat st;
    size_t nhead = 0;
    ssize_t n = 0;
    int fd;

    if (src.path == NULL) {
        nhead = src.len < size ? src.len : size;
        if (nhead > 0)
            memcpy(head, src.data, nhead);
        return (ssize_t)nhead;
    }
    if ((fd = open(src.path, O_RDONLY | O_CLOEXEC)) < 0)
        return dcmp_seterr(err, "%s: %s", src.name, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dcmp_seterr(err, "%s: %s", src.name, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode))
            return dcmp_seterr(err, "%s: is a directory, not a DICOM file", src.name);
        return dcmp_seterr(err, "%s: not a regular file", src.name);
    }
    while (nhead < size) {
        n = pread(fd, head + nhead, size - nhead, (off_t)nhead);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        nhead += (size_t)n;
    }
    if (n < 0) {
        int e = errno;
        close(fd);
        return dcmp_seterr(err, "%s: %s", src.name, strerror(e));
    }
    close(fd);
    return (ssize_t)nhead;
}

/* Reads a data set stored deflated (transfer syntax 1.2.840.10008.1.2.1.99), with or without
 * the preamble. DCMTK reads it through a filter that cannot go back for a value later, so it
 * would allocate every value at its declared length before reading it (4 GB for a few bytes
 * of input); inflated into memory first (at most DCMP_DICOM_MAX_INFLATED bytes), the data set
 * is read like any other. Returns 1 when src is not deflated (nothing done), 0 when it is
 * (*cond: how the data set read went; *cut: the inflated data were cut at the cap), -1 with
 * err when it cannot be inflated. */
int load_deflated(const source &src, const DcmTagKey &stop, loaded &out, OFCondition *cond,
                  bool *cut, char *err)
{
#ifdef WITH_ZLIB
    std::unique_ptr<DcmInputStream> in = open_stream(src);
    DcmMetaInfo meta;
    DcmElement *uid_element = NULL;
    OFString uid;
    OFCondition c = in->status();

    if (c.good()) {
        meta.transferInit();
        c = meta.read(*in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
        meta.transferEnd();
    }
    /* Also when the meta header is broken: DCMTK must never read deflated data itself. But
     * then the UID's length may be a lie, and loading a value allocates its declared length. */
    if (meta.findAndGetElement(DCM_TransferSyntaxUID, uid_element).bad() ||
        uid_element->getLengthField() > 64 || uid_element->getOFString(uid, 0).bad() ||
        DcmXfer(uid.c_str()).getStreamCompression() != ESC_zlib)
        return 1;
    if (c.bad())
        return dcmp_seterr(err, "%s: corrupt DICOM file (file meta information: %s)", src.name,
                           c.text());
    /* the stream is now at the start of the data set */
    if ((c = in->installCompressionFilter(ESC_zlib)).bad())
        return dcmp_seterr(err, "%s: corrupt deflated DICOM file (%s)", src.name, c.text());
    while (!in->eos()) {
        unsigned char buf[65536];
        offile_off_t n = in->read(buf, sizeof buf);
        size_t room = DCMP_DICOM_MAX_INFLATED - out.inflated.size();
        if (n <= 0)
            break;
        if ((size_t)n > room) {
            out.inflated.insert(out.inflated.end(), buf, buf + room);
            *cut = true;
            break;
        }
        out.inflated.insert(out.inflated.end(), buf, buf + n);
    }
    if ((c = in->status()).bad())
        return dcmp_seterr(err, "%s: corrupt deflated DICOM file (%s)", src.name, c.text());
    memory_stream data(out.inflated.data(), static_cast<offile_off_t>(out.inflated.size()), 0);
    DcmDataset *ds = out.ff.getDataset();
    ds->transferInit();
    *cond = ds->readUntilTag(data, EXS_LittleEndianExplicit, EGL_noChange, DCM_MaxReadLength, stop);
    ds->transferEnd();
    return 0;
#else
    (void)src, (void)stop, (void)out, (void)cond, (void)cut, (void)err;
    return 1;
#endif
}

/* Reads src into out up to (not including) the tag stop. The checks and messages are the
 * same for files and memory. */
int load(const source &src, const DcmTagKey &stop, loaded &out, char *err)
{
    unsigned char head[132];
    ssize_t nhead;
    bool magic, cut = false;
    OFCondition cond;
    int r;

    if (!dcmDataDict.isDictionaryLoaded())
        return dcmp_seterr(err, "%s: the DICOM data dictionary is not loaded (DCMDICTPATH)",
                           src.name);
    if ((nhead = read_head(src, head, sizeof head, err)) < 0)
        return -1;
    if (nhead == 0)
        return dcmp_seterr(err, "%s: empty file, not a DICOM file", src.name);
    magic = nhead == (ssize_t)sizeof head && memcmp(head + 128, "DICM", 4) == 0;
    if ((r = load_deflated(src, stop, out, &cond, &cut, err)) < 0)
        return -1;
    if (r == 1) {
        std::unique_ptr<DcmInputStream> in = open_stream(src);
        if ((cond = in->status()).good()) {
            out.ff.transferInit();
            cond = out.ff.readUntilTag(*in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, stop);
            out.ff.transferEnd();
        }
    }
    DcmDataset *ds = out.ff.getDataset();
    if (!magic && (cond.bad() || ds == NULL ||
                   !(ds->tagExists(DCM_SOPClassUID) || ds->tagExists(DCM_SOPInstanceUID))))
        return dcmp_seterr(err, "%s: not a DICOM file (no DICM preamble and no readable dataset)",
                           src.name);
    if (cond.bad())
        return dcmp_seterr(err, "%s: corrupt or truncated DICOM file (%s)%s", src.name, cond.text(),
                           cut ? "; its deflated data set inflates to more than "
                                 "DCMP_DICOM_MAX_INFLATED bytes"
                               : "");
    if (ds == NULL || ds->card() == 0)
        return dcmp_seterr(err, "%s: DICOM file without a dataset (truncated?)", src.name);
    return 0;
}

int header(const source &src, cJSON **out, char *err)
{
    loaded file;
    convert cv = {src.name, err, 0};

    *out = NULL;
    setup_dcmtk();
    if (load(src, DCM_PixelData, file, err) != 0)
        return -1;
    json obj(cJSON_CreateObject(), cJSON_Delete);
    if (obj == nullptr)
        return dcmp_seterr(err, "%s: out of memory", src.name);
    if (item_to_json(file.ff.getDataset(), obj.get(), 0, &cv) != 0)
        return -1;
    *out = obj.release();
    return 0;
}

/* The best candidate so far of a series scan. */
struct candidate {
    bool found;
    bool has_number;
    Sint32 number;
    std::string name;
};

/* True when (has, number, name) comes before the candidate. */
bool before(bool has, Sint32 number, const char *name, const candidate &c)
{
    if (!c.found)
        return true;
    if (has != c.has_number)
        return has;
    if (has && number != c.number)
        return number < c.number;
    return strcmp(name, c.name.c_str()) < 0;
}

/* Makes the instance read up to InstanceNumber, file `name`, the series' best candidate for
 * its first instance when it comes before it. */
void consider(loaded &instance, const char *name, candidate &best)
{
    DcmElement *el = NULL;
    Sint32 number = 0;
    bool has = instance.ff.getDataset()->findAndGetElement(DCM_InstanceNumber, el).good() &&
               el->getLengthField() <= 64 && el->getSint32(number).good();

    if (before(has, number, name, best)) {
        best.found = true;
        best.has_number = has;
        best.number = has ? number : 0;
        best.name = name;
    }
}

int series_first(const char *dir, char *path, size_t size, char *err)
{
    DIR *d;
    struct dirent *de;
    candidate best = {false, false, 0, std::string()};
    std::string first_error;
    size_t nfiles = 0;

    setup_dcmtk();
    if ((d = opendir(dir)) == NULL)
        return dcmp_seterr(err, "%s: %s", dir, strerror(errno));
    std::unique_ptr<DIR, int (*)(DIR *)> close_d(d, closedir); /* also on exceptions */
    for (;;) {
        struct stat st;
        std::string file;
        char ferr[DCMP_ERR_LEN] = "";

        errno = 0; /* readdir's only way to tell an error from the end */
        if ((de = readdir(d)) == NULL) {
            if (errno != 0)
                return dcmp_seterr(err, "%s: %s", dir, strerror(errno));
            break;
        }
        if (de->d_name[0] == '.')
            continue;
        /* a symbolic link is never followed: it may lead out of DATA */
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (++nfiles > DCMP_DICOM_MAX_FILES)
            return dcmp_seterr(err, "%s: more than %d files", dir, DCMP_DICOM_MAX_FILES);
        file = std::string(dir) + "/" + de->d_name;
        loaded instance;
        source src = {file.c_str(), file.c_str(), NULL, 0};
        if (load(src, after_instance_number, instance, ferr) != 0) {
            if (first_error.empty())
                first_error = ferr;
            continue;
        }
        consider(instance, de->d_name, best);
    }
    close_d.reset();
    if (!best.found) {
        if (nfiles == 0)
            return dcmp_seterr(err, "%s: no files, no DICOM series", dir);
        return dcmp_seterr(err, "%s: no DICOM file among %zu files (%s)", dir, nfiles,
                           first_error.c_str());
    }
    if ((size_t)snprintf(path, size, "%s/%s", dir, best.name.c_str()) >= size)
        return dcmp_seterr(err, "%s: the path of %s is longer than %zu bytes", dir,
                           best.name.c_str(), size);
    return 0;
}

/* An open regular file read through the link /proc/self/fd/N, which names the file the
 * descriptor holds, whatever its name points to now. */
struct opened {
    int fd;
    char path[64];
    opened() : fd(-1), path()
    {
    }
    ~opened()
    {
        if (fd >= 0)
            close(fd);
    }
};

/* Opens dir's entry `name` (relative to dfd) without following a symbolic link, as a regular
 * file. Returns 0, or -1 with err naming it. */
int open_entry(int dfd, const char *dir, const char *name, opened &f, char *err)
{
    struct stat st;

    f.fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (f.fd < 0)
        return dcmp_seterr(err, "%s/%s: %s", dir, name,
                           errno == ELOOP ? "a symbolic link (not followed)" : strerror(errno));
    if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return dcmp_seterr(err, "%s/%s: not a regular file", dir, name);
    snprintf(f.path, sizeof f.path, "/proc/self/fd/%d", f.fd);
    return 0;
}

int series_check(int dfd, const char *dir, const char *uid, long expected, cJSON **out, char *err)
{
    DIR *d;
    struct dirent *de;
    candidate best = {false, false, 0, std::string()};
    size_t nfiles = 0;
    int fd2;

    setup_dcmtk();
    if ((fd2 = dup(dfd)) < 0 || (d = fdopendir(fd2)) == NULL) {
        if (fd2 >= 0)
            close(fd2);
        return dcmp_seterr(err, "%s: %s", dir, strerror(errno));
    }
    std::unique_ptr<DIR, int (*)(DIR *)> close_d(d, closedir); /* also on exceptions */
    rewinddir(d);
    for (;;) {
        struct stat st;
        std::string file;

        errno = 0;
        if ((de = readdir(d)) == NULL) {
            if (errno != 0)
                return dcmp_seterr(err, "%s: %s", dir, strerror(errno));
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return dcmp_seterr(err, "%s/%s: %s", dir, de->d_name, strerror(errno));
        /* the services' workers take every entry of the folder: anything but a file of the
         * series (a link, a folder, a device) means it is not the series' folder */
        if (!S_ISREG(st.st_mode))
            return dcmp_seterr(err, "%s/%s: %s, not a file of the series", dir, de->d_name,
                               S_ISLNK(st.st_mode)   ? "a symbolic link"
                               : S_ISDIR(st.st_mode) ? "a folder"
                                                     : "not a regular file");
        if (de->d_name[0] == '.')
            continue;
        if (++nfiles > DCMP_DICOM_MAX_FILES || (long)nfiles > expected)
            return dcmp_seterr(err, "%s: more files than the series' %ld instance(s)", dir,
                               expected);
        opened f;
        if (open_entry(dfd, dir, de->d_name, f, err) != 0)
            return -1;
        file = std::string(dir) + "/" + de->d_name;
        loaded instance;
        source src = {file.c_str(), f.path, NULL, 0};
        if (load(src, after_instance_number, instance, err) != 0)
            return -1;
        OFString value;
        if (instance.ff.getDataset()->findAndGetOFString(DCM_SeriesInstanceUID, value).bad() ||
            value != uid)
            return dcmp_seterr(err, "%s: SeriesInstanceUID %.80s, not the series' %.80s",
                               file.c_str(), value.c_str(), uid);
        consider(instance, de->d_name, best);
    }
    if ((long)nfiles != expected)
        return dcmp_seterr(err, "%s: %zu file(s), not the series' %ld instance(s)", dir, nfiles,
                           expected);
    opened f;
    if (open_entry(dfd, dir, best.name.c_str(), f, err) != 0)
        return -1;
    std::string file = std::string(dir) + "/" + best.name;
    source src = {file.c_str(), f.path, NULL, 0};
    return header(src, out, err);
}

} /* namespace */

extern "C" int dcmp_dicom_read_header(const char *path, cJSON **out, char *err)
{
    try {
        source src = {path, path, NULL, 0};
        return header(src, out, err);
    } catch (const std::bad_alloc &) {
        *out = NULL;
        return dcmp_seterr(err, "%s: out of memory", path);
    } catch (...) {
        *out = NULL;
        return dcmp_seterr(err, "%s: unexpected exception in the DICOM reader", path);
    }
}

extern "C" int dcmp_dicom_parse_header(const void *data, size_t len, cJSON **out, char *err)
{
    char name[64];

    snprintf(name, sizeof name, "(memory, %zu bytes)", len);
    try {
        source src = {name, NULL, data, len};
        return header(src, out, err);
    } catch (const std::bad_alloc &) {
        *out = NULL;
        return dcmp_seterr(err, "%s: out of memory", name);
    } catch (...) {
        *out = NULL;
        return dcmp_seterr(err, "%s: unexpected exception in the DICOM reader", name);
    }
}

extern "C" int dcmp_dicom_series_first(const char *dir, char *path, size_t size, char *err)
{
    try {
        return series_first(dir, path, size, err);
    } catch (const std::bad_alloc &) {
        return dcmp_seterr(err, "%s: out of memory", dir);
    } catch (...) {
        return dcmp_seterr(err, "%s: unexpected exception in the DICOM reader", dir);
    }
}

extern "C" int dcmp_dicom_series_header(const char *dir, cJSON **out, char *err)
{
    char path[4096];

    *out = NULL;
    if (dcmp_dicom_series_first(dir, path, sizeof path, err) != 0)
        return -1;
    return dcmp_dicom_read_header(path, out, err);
}

extern "C" int dcmp_dicom_series_check(int dirfd, const char *dir, const char *series_uid,
                                       long instances, cJSON **out, char *err)
{
    *out = NULL;
    try {
        return series_check(dirfd, dir, series_uid, instances, out, err);
    } catch (const std::bad_alloc &) {
        return dcmp_seterr(err, "%s: out of memory", dir);
    } catch (...) {
        return dcmp_seterr(err, "%s: unexpected exception in the DICOM reader", dir);
    }
}
