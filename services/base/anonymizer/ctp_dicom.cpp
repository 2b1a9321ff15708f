/* ctp_dicom.cpp -- applies a CTP script to a DICOM file with DCMTK, as DICOMAnonymizer does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <new>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvrlo.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/oflog/oflog.h>

#include "ctp_int.h"

namespace
{

/* ---- dictionary ---- */

int dict_lookup(const char *name, uint32_t *tag)
{
    const DcmDataDictionary &dict = dcmDataDict.rdlock();
    const DcmDictEntry *e = dict.findEntry(name);
    int found = e != NULL && !e->isRepeating();

    if (found)
        *tag = (uint32_t)e->getGroup() << 16 | e->getElement();
    dcmDataDict.rdunlock();
    return found;
}

/* ---- character sets: CTP decodes values to Java strings and hashes their UTF-8 ---- */

/* True for the VRs whose text depends on SpecificCharacterSet. */
bool text_vr(DcmEVR vr)
{
    return vr == EVR_PN || vr == EVR_LO || vr == EVR_SH || vr == EVR_ST || vr == EVR_LT ||
           vr == EVR_UT || vr == EVR_UC;
}

std::string latin1_to_utf8(const std::string &s)
{
    std::string out;

    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c < 0x80) {
            out += (char)c;
        } else {
            out += (char)(0xC0 | (c >> 6));
            out += (char)(0x80 | (c & 0x3F));
        }
    }
    return out;
}

std::string utf8_to_latin1(const std::string &s)
{
    std::string out;
    size_t i = 0;

    while (i < s.size()) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out += (char)c;
            i++;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
            unsigned cp = (unsigned)(c & 0x1F) << 6 | ((unsigned char)s[i + 1] & 0x3F);
            out += cp < 0x100 ? (char)cp : '?';
            i += 2;
        } else {
            out += '?'; /* not in ISO 8859-1: Java's encoder writes '?' */
            i += (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        }
    }
    return out;
}

/* ---- the dataset an evaluation reads ---- */

struct reader {
    DcmItem *item;
    DcmMetaInfo *meta;
    bool latin1; /* SpecificCharacterSet is ISO_IR 100 (CTP's default when absent) */
};

DcmElement *find(reader *r, uint32_t tag)
{
    DcmElement *e = NULL;
    DcmItem *where = (tag >> 16) < 0x0008 ? (DcmItem *)r->meta : r->item;

    if (where == NULL)
        return NULL;
    if (where->findAndGetElement(DcmTagKey((Uint16)(tag >> 16), (Uint16)(tag & 0xFFFF)), e, OFFalse)
            .bad())
        return NULL;
    return e;
}

extern "C" int src_get(void *ds, uint32_t tag, char **value)
{
    reader *r = (reader *)ds;
    DcmElement *e = find(r, tag);
    OFString s;

    *value = NULL;
    if (e == NULL || e->ident() == EVR_SQ || e->ident() == EVR_pixelSQ)
        return 0;
    if (e->getLength() > 0 && e->getOFStringArray(s, OFTrue).bad())
        s.clear();
    std::string v(s.c_str(), s.length());
    if (r->latin1 && text_vr(e->ident()))
        v = latin1_to_utf8(v);
    if ((*value = strdup(v.c_str())) == NULL)
        return -1;
    return 1;
}

extern "C" int src_has(void *ds, uint32_t tag)
{
    return find((reader *)ds, tag) != NULL;
}

extern "C" int src_vm(void *ds, uint32_t tag)
{
    DcmElement *e = find((reader *)ds, tag);

    return e == NULL || e->getLength() == 0 ? 0 : (int)e->getVM();
}

extern "C" uint32_t src_block(void *ds, uint16_t group, const char *creator, uint8_t elem)
{
    reader *r = (reader *)ds;
    unsigned long i, n = r->item->card();

    for (i = 0; i < n; i++) {
        DcmElement *e = r->item->getElement(i);
        DcmTag t = e->getTag();
        OFString s;
        if (t.getGroup() != group || t.getElement() < 0x10 || t.getElement() > 0xFF)
            continue;
        if (e->getOFString(s, 0, OFTrue).bad())
            continue;
        std::string up(s.c_str());
        for (char &c : up)
            c = (char)toupper((unsigned char)c);
        if (up == creator)
            return (uint32_t)group << 16 | (uint32_t)(t.getElement() & 0xFF) << 8 | elem;
    }
    return 0;
}

/* ---- what the script does to the dataset, decided first and applied after ---- */

enum act_kind { ACT_REMOVE, ACT_PUT, ACT_EMPTY_SQ, ACT_CODES };

struct action {
    act_kind kind;
    uint32_t tag;
    DcmEVR vr;
    std::string value; /* UTF-8 */
    bool create;       /* the element is new */
};

DcmTagKey key(uint32_t tag)
{
    return DcmTagKey((Uint16)(tag >> 16), (Uint16)(tag & 0xFFFF));
}

DcmEVR dict_evr(uint32_t tag)
{
    DcmTag t(key(tag));
    DcmEVR vr = t.getEVR();

    switch (vr) {
    case EVR_UNKNOWN:
    case EVR_UNKNOWN2B:
    case EVR_UN: return EVR_SH; /* CTP: VRs.valueOf("SH") when the dictionary has none */
    case EVR_xs: return EVR_US;
    case EVR_ox:
    case EVR_px:
    case EVR_lt: return EVR_OW;
    case EVR_up: return EVR_UL;
    default: return vr;
    }
}

struct job {
    const ctp_script *script;
    ctp_eval ev;
    ctp_source src;
    reader rd;
    std::vector<action> acts;
    const ctp_rule *rule; /* the rule that stopped the file */
};

/* Runs a rule's script; false when it quarantined, skipped or failed (job.ev says why). */
bool eval(job &j, const ctp_rule *r, std::string &out)
{
    char *v = ctp_eval_script(&j.ev, r->script, r->tag);

    if (v == NULL) {
        j.rule = r;
        return false;
    }
    out = v;
    free(v);
    return true;
}

void trim(std::string &s)
{
    size_t a = 0, b = s.size();

    while (a < b && (unsigned char)s[a] <= ' ')
        a++;
    while (b > a && (unsigned char)s[b - 1] <= ' ')
        b--;
    s = s.substr(a, b - a);
}

/* insertElements: rules for elements the dataset lacks create them only with @always(). */
bool insert_elements(job &j)
{
    for (size_t i = 0; i < j.script->nrules; i++) {
        const ctp_rule *r = &j.script->rules[i];
        if (find(&j.rd, r->tag) != NULL || (r->tag >> 16) < 0x0008)
            continue;
        DcmEVR vr = dict_evr(r->tag);
        std::string script(r->script);
        if (script.compare(0, 9, "@always()") == 0 && vr != EVR_SQ) {
            std::string v;
            if (!eval(j, r, v))
                return false;
            if (v == "@keep()" || v == "@remove()")
                continue;
            if (v.compare(0, 7, "@blank(") == 0 || v == "@empty()")
                v.clear();
            j.acts.push_back({ACT_PUT, r->tag, vr, v, true});
        } else if (script.compare(0, 19, "@always()@require()") == 0 && vr == EVR_SQ) {
            j.acts.push_back({ACT_EMPTY_SQ, r->tag, vr, "", true});
        } else if (r->tag == 0x00120064) {
            j.acts.push_back({ACT_CODES, r->tag, EVR_SQ, script, true});
        }
    }
    return true;
}

/* The post-pixel elements CTP streams: kept or dropped, never rewritten. */
bool drop_after_pixels(const job &j, uint32_t tag)
{
    uint16_t group = (uint16_t)(tag >> 16);
    bool priv = group & 1, creator = priv && (tag & 0xFF00) == 0;
    const ctp_rule *r = ctp_script_rule(j.script, tag);

    if (tag == 0xFFFAFFFA || tag == 0xFFFCFFFC)
        return true;
    if (creator)
        return j.script->rpg;
    return (priv && j.script->rpg) || (r == NULL && j.script->rue) ||
           (r != NULL && strncmp(r->script, "@remove()", 9) == 0);
}

/* processElements over the top level of the dataset. */
bool process_elements(job &j, DcmDataset *ds)
{
    const ctp_script *s = j.script;
    bool pixels = ds->tagExists(DCM_PixelData, OFFalse), ended = false;
    unsigned long n = ds->card();

    for (unsigned long i = 0; i < n; i++) {
        DcmElement *e = ds->getElement(i);
        DcmTag t = e->getTag();
        uint32_t tag = (uint32_t)t.getGroup() << 16 | t.getElement();
        uint16_t group = t.getGroup();
        bool overlay = (group & 0xFF00) == 0x6000, curve = (group & 0xFF00) == 0x5000;
        bool priv = group & 1;

        if (pixels && tag > 0x7FE00010) {
            /* CTP stops at a digital signature or trailing padding: nothing after is written */
            if (tag == 0xFFFAFFFA || tag == 0xFFFCFFFC)
                ended = true;
            if (ended || drop_after_pixels(j, tag))
                j.acts.push_back({ACT_REMOVE, tag, EVR_UNKNOWN, "", false});
            continue;
        }
        if (tag == 0x7FE00010)
            continue;
        const ctp_rule *r = ctp_script_rule(s, tag);
        bool keep = ctp_script_keeps(s, group) || tag == 0x00080016 || tag == 0x00080018 ||
                    tag == 0x0020000D || group == 0x0002 || group == 0x0028 || group == 0x7FE0 ||
                    (overlay && !s->rol && !(priv && s->rpg)) ||
                    (curve && !s->rc && !(priv && s->rpg));
        if ((s->rpg && priv && r == NULL && !keep) || (s->rue && r == NULL && !keep) ||
            (s->rol && overlay)) {
            j.acts.push_back({ACT_REMOVE, tag, EVR_UNKNOWN, "", false});
            continue;
        }
        if (r == NULL)
            continue;
        if (tag == 0x00120064) {
            j.acts.push_back({ACT_CODES, tag, EVR_SQ, r->script, false});
            continue;
        }
        std::string v;
        if (!eval(j, r, v))
            return false;
        trim(v);
        if (v.find("@remove()") != std::string::npos) {
            j.acts.push_back({ACT_REMOVE, tag, EVR_UNKNOWN, "", false});
        } else if (v == "@keep()") {
            /* left as it is */
        } else if (v.compare(0, 7, "@blank(") == 0) {
            size_t k = 0;
            for (char c : v.substr(7, v.find(')') == std::string::npos ? 0 : v.find(')') - 7))
                if (c >= '0' && c <= '9' && k < 1000)
                    k = k * 10 + (size_t)(c - '0');
            j.acts.push_back({ACT_PUT, tag, e->ident(), std::string(k > 55 ? 55 : k, ' '), false});
        } else {
            if (v == "@empty()")
                v.clear();
            j.acts.push_back({ACT_PUT, tag, e->ident(), v, false});
        }
    }
    return true;
}

/* updateDeIdentificationMethodCodeSeq: codes separated by '/', "reset" empties the list. */
void put_codes(job &j, DcmDataset *ds, const action &a)
{
    static const struct {
        const char *code, *meaning;
    } meanings[] = {
        {"113100", "Basic Application Confidentiality Profile"},
        {"113101", "Clean Pixel Data Option"},
        {"113102", "Clean Recognizable Visual Features Option"},
        {"113103", "Clean Graphics Option"},
        {"113104", "Clean Structured Content Option"},
        {"113105", "Clean Descriptors Option"},
        {"113106", "Retain Longitudinal Temporal Information Full Dates Option"},
        {"113107", "Retain Longitudinal Temporal Information Modified Dates Option"},
        {"113108", "Retain Patient Characteristics Option"},
        {"113109", "Retain Device Identity Option"},
        {"113110", "Retain UIDs"},
        {"113111", "Retain Safe Private Option"},
        {"113112", "Retain Institution Identity Option"},
    };
    std::string script(a.value), value;
    trim(script);
    if (script.empty() || script == "@keep()")
        return;
    if (script == "@remove()") {
        ds->findAndDeleteElement(DCM_DeidentificationMethodCodeSequence);
        return;
    }
    const ctp_rule *r = ctp_script_rule(j.script, a.tag);
    if (r == NULL || !eval(j, r, value))
        return;
    trim(value);
    DcmSequenceOfItems *seq = NULL;
    if (ds->findAndGetSequence(DCM_DeidentificationMethodCodeSequence, seq).bad() || seq == NULL) {
        seq = new DcmSequenceOfItems(DCM_DeidentificationMethodCodeSequence);
        ds->insert(seq, OFTrue);
    }
    size_t start = 0;
    while (start <= value.size()) {
        size_t slash = value.find('/', start);
        std::string code =
            value.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        trim(code);
        std::string lower(code);
        for (char &c : lower)
            c = (char)tolower((unsigned char)c);
        if (lower == "reset") {
            seq->clear();
        } else {
            const char *meaning = "UNKNOWN", *scheme = "UNKNOWN";
            for (const auto &m : meanings)
                if (code == m.code) {
                    meaning = m.meaning;
                    scheme = "DCM";
                }
            DcmItem *item = new DcmItem();
            item->putAndInsertString(DCM_CodingSchemeDesignator, scheme);
            item->putAndInsertString(DCM_CodeValue, code.c_str());
            item->putAndInsertString(DCM_CodeMeaning, meaning);
            seq->append(item);
        }
        if (slash == std::string::npos)
            break;
        start = slash + 1;
    }
}

/* putXX: stores a value the way CTP's context does; a failure leaves the element as it was
 * (CTP logs it and goes on). */
void put(job &j, DcmDataset *ds, const action &a)
{
    DcmTagKey k = key(a.tag);
    std::string v = a.value;
    bool priv = (a.tag >> 16) & 1;

    if (a.vr == EVR_SQ || a.vr == EVR_pixelSQ) {
        if (v.empty())
            ds->insert(new DcmSequenceOfItems(DcmTag(k, EVR_SQ)), OFTrue);
        return;
    }
    if (!priv && !v.empty() && !ctp_date_vr_accepts(DcmVR(a.vr).getValidVRName(), v.c_str()))
        return; /* dcm4che refuses a DA, TM or DT value it cannot parse */
    if (j.rd.latin1 && (text_vr(a.vr) || priv))
        v = utf8_to_latin1(v);
    if (priv && !v.empty()) {
        /* private elements become LO, the value not split */
        DcmLongString *lo = new DcmLongString(DcmTag(k, EVR_LO));
        if (lo->putString(v.c_str()).bad() || ds->insert(lo, OFTrue).bad())
            delete lo;
        return;
    }
    DcmElement *e = NULL;
    if (!a.create && ds->findAndGetElement(k, e, OFFalse).good() && e != NULL) {
        e->putString(v.c_str());
        return;
    }
    DcmTag tag(k, a.vr);
    ds->putAndInsertString(tag, v.c_str(), OFTrue);
}

} // namespace

extern "C" int ctp_dict_tag(const char *keyword, uint32_t *tag)
{
    std::string n(keyword);

    if (dict_lookup(n.c_str(), tag))
        return 1;
    /* dcm4che 1.x names, which CTP scripts use: ...Seq, Ref..., ...Datetime */
    std::string alt(n);
    if (alt.size() > 3 && alt.compare(alt.size() - 3, 3, "Seq") == 0)
        alt += "uence";
    if (alt.compare(0, 3, "Ref") == 0 && alt.compare(0, 10, "Referenced") != 0)
        alt = "Referenced" + alt.substr(3);
    size_t dt = alt.find("Datetime");
    if (dt != std::string::npos)
        alt.replace(dt, 8, "DateTime");
    return alt != n && dict_lookup(alt.c_str(), tag);
}

extern "C" void ctp_dict_vr(uint32_t tag, char vr[3])
{
    DcmVR v(dict_evr(tag));
    snprintf(vr, 3, "%s", v.getVRName());
}

extern "C" ctp_status ctp_anonymize_file(const ctp_script *s, const ctp_lut *lut, const char *in,
                                         const char *out, time_t now, char err[CTP_ERR_LEN])
{
    DcmFileFormat ff;
    OFCondition c;
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;

    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    c = ff.loadFile(in);
    if (c.bad()) {
        snprintf(err, CTP_ERR_LEN, "%s: not a DICOM file DCMTK can read: %s", in, c.text());
        return CTP_ERROR;
    }
    DcmDataset *ds = ff.getDataset();
    DcmMetaInfo *meta = ff.getMetaInfo();
    bool had_meta = meta != NULL && meta->card() > 0;
    E_TransferSyntax xfer = had_meta ? ds->getOriginalXfer() : EXS_LittleEndianExplicit;

    try {
        job j;
        j.script = s;
        memset(&j.ev, 0, sizeof j.ev);
        j.rule = NULL;
        /* CTP sets ISO_IR 100 in both datasets when the file names no character set */
        if (!ds->tagExists(DCM_SpecificCharacterSet, OFFalse))
            ds->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 100");
        OFString cs;
        ds->findAndGetOFStringArray(DCM_SpecificCharacterSet, cs);
        j.rd.item = ds;
        j.rd.meta = had_meta ? meta : NULL;
        j.rd.latin1 = cs == "ISO_IR 100";
        j.src.get = src_get;
        j.src.has = src_has;
        j.src.vm = src_vm;
        j.src.block = src_block;
        j.src.ds = &j.rd;
        j.src.root = 1;
        j.ev.script = s;
        j.ev.lut = lut;
        j.ev.src = &j.src;
        j.ev.now = now;
        j.ev.status = CTP_OK;
        if (!insert_elements(j) || !process_elements(j, ds)) {
            ctp_status st = j.ev.status;
            if (j.rule != NULL)
                snprintf(err, CTP_ERR_LEN,
                         "%.100s: %s by <e t=\"%08x\" n=\"%.40s\"> (%.100s:%d): %.200s", base,
                         st == CTP_SKIP         ? "skipped"
                         : st == CTP_QUARANTINE ? "quarantined"
                                                : "failed",
                         j.rule->tag, j.rule->name, s->name, j.rule->line, j.ev.why);
            else
                snprintf(err, CTP_ERR_LEN, "%.200s: %.300s", base, j.ev.why);
            return st == CTP_OK ? CTP_ERROR : st;
        }
        for (const action &a : j.acts) {
            switch (a.kind) {
            case ACT_REMOVE: ds->findAndDeleteElement(key(a.tag), OFFalse, OFFalse); break;
            case ACT_PUT: put(j, ds, a); break;
            case ACT_EMPTY_SQ:
                ds->insert(new DcmSequenceOfItems(DcmTag(key(a.tag), EVR_SQ)), OFTrue);
                break;
            case ACT_CODES:
                put_codes(j, ds, a);
                if (j.ev.status != CTP_OK) {
                    snprintf(err, CTP_ERR_LEN, "%.200s: <e t=\"%08x\">: %.280s", base, a.tag,
                             j.ev.why);
                    return j.ev.status;
                }
                break;
            }
        }
    } catch (const std::bad_alloc &) {
        snprintf(err, CTP_ERR_LEN, "%s: out of memory", in);
        return CTP_ERROR;
    }

    /* A new File Meta Information (CTP writes a fresh one): SOP class and instance from the
     * dataset, the transfer syntax of the input (Explicit VR Little Endian without one). */
    meta->clear();
    std::string tmp(out);
    size_t slash = tmp.rfind('/');
    tmp = (slash == std::string::npos ? std::string(".") : tmp.substr(0, slash)) + "/.ctp-XXXXXX";
    std::vector<char> tpl(tmp.begin(), tmp.end());
    tpl.push_back('\0');
    int fd = mkstemp(tpl.data());
    if (fd < 0) {
        snprintf(err, CTP_ERR_LEN, "%s: cannot create a file beside %s: %s", base, out,
                 strerror(errno));
        return CTP_ERROR;
    }
    /* the mode a plain creat() gives under the process' umask (mkstemp made it 0600): 0644 for
     * dcmp-ctp run by hand, owner-only in the stack, whose programs set umask 077 (a fixed 0644
     * left anonymized series readable by others under an owner-only BASEDIR until the cleaner
     * ran: caught by the end-to-end test) */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    close(fd);
    c = ff.saveFile(tpl.data(), xfer, EET_UndefinedLength, EGL_withoutGL, EPD_noChange, 0, 0,
                    EWM_createNewMeta);
    if (c.bad()) {
        unlink(tpl.data());
        snprintf(err, CTP_ERR_LEN, "%s: cannot write %s: %s", base, out, c.text());
        return CTP_ERROR;
    }
    if (rename(tpl.data(), out) < 0) {
        snprintf(err, CTP_ERR_LEN, "%s: cannot rename to %s: %s", base, out, strerror(errno));
        unlink(tpl.data());
        return CTP_ERROR;
    }
    return CTP_OK;
}

extern "C" int ctp_file_value(const char *path, uint32_t tag, char **value, char err[CTP_ERR_LEN])
{
    DcmFileFormat ff;
    OFCondition c;
    OFString cs;
    reader r;

    *value = NULL;
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    c = ff.loadFileUntilTag(path, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect,
                            DCM_PixelData);
    if (c.bad()) {
        snprintf(err, CTP_ERR_LEN, "%s: not a DICOM file DCMTK can read: %s", path, c.text());
        return -1;
    }
    r.item = ff.getDataset();
    r.meta = ff.getMetaInfo();
    r.latin1 =
        r.item->findAndGetOFStringArray(DCM_SpecificCharacterSet, cs).bad() || cs == "ISO_IR 100";
    try {
        int rc = src_get(&r, tag, value);
        if (rc < 0)
            snprintf(err, CTP_ERR_LEN, "out of memory");
        return rc;
    } catch (const std::bad_alloc &) {
        snprintf(err, CTP_ERR_LEN, "out of memory");
        return -1;
    }
}
