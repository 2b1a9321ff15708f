/* nifti2dcm.cpp -- a NIfTI volume as a DICOM series with DCMTK and Debian's libnifti2. */
#include "nifti2dcm.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <new>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/oflog/oflog.h>

#include <nifti2_io.h>

namespace
{

/* The source series' tags every stored instance carries (the original's COPY_TAGS, plus the
 * character set and the frame of reference, so that a viewer can overlay the result). */
const DcmTagKey copy_tags[] = {
    DCM_SpecificCharacterSet,
    DCM_StudyDate,
    DCM_StudyTime,
    DCM_AcquisitionDate,
    DCM_ContentDate,
    DCM_AcquisitionTime,
    DCM_ContentTime,
    DCM_AccessionNumber,
    DCM_Modality,
    DCM_ReferringPhysicianName,
    DCM_PatientName,
    DCM_PatientID,
    DCM_PatientBirthDate,
    DCM_PatientBirthTime,
    DCM_PatientSex,
    DCM_BodyPartExamined,
    DCM_KVP,
    DCM_ProtocolName,
    DCM_PatientPosition,
    DCM_StudyInstanceUID,
    DCM_StudyID,
    DCM_AcquisitionNumber,
    DCM_FrameOfReferenceUID,
    DCM_PerformedProcedureStepDescription,
};

/* The original's names for tags (header_codes.json). */
const struct {
    const char *name;
    DcmTagKey key;
} original_names[] = {
    {"Series Date", DCM_SeriesDate},
    {"Series Description", DCM_SeriesDescription},
    {"Modality", DCM_Modality},
};

int seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int seterr(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, N2D_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

/* The private block and the user's tags. */
int mark(DcmDataset *ds, const n2d_options *opt, char *err)
{
    const char *type = opt->type ? opt->type : "", *dest = opt->destination ? opt->destination : "";

    if (ds->putAndInsertString(DcmTag(0x0405, 0x0010, EVR_LO), "DCM-PROCESSOR").bad() ||
        ds->putAndInsertString(DcmTag(0x0405, 0x1001, EVR_LO), "store-data").bad() ||
        ds->putAndInsertString(DcmTag(0x0405, 0x1003, EVR_LO), type).bad() ||
        ds->putAndInsertString(DcmTag(0x0405, 0x1005, EVR_LO), "dcm-processor").bad() ||
        ds->putAndInsertString(DcmTag(0x0405, 0x1007, EVR_LO), dest).bad())
        return seterr(err, "cannot set the DCM-PROCESSOR private block");
    if (opt->tags == NULL)
        return 0;
    cJSON *tags = cJSON_Parse(opt->tags);
    const cJSON *t;
    if (tags == NULL || !cJSON_IsObject(tags)) {
        cJSON_Delete(tags);
        return seterr(err, "tags is not a JSON object");
    }
    cJSON_ArrayForEach(t, tags)
    {
        DcmTagKey key;
        bool found = false;
        for (const auto &o : original_names)
            if (strcmp(t->string, o.name) == 0) {
                key = o.key;
                found = true;
            }
        if (!found) {
            DcmTag tag;
            if (DcmTag::findTagFromName(t->string, tag).good()) {
                key = tag;
                found = true;
            }
        }
        if (!found || !cJSON_IsString(t)) {
            seterr(err, "tags: \"%s\" is not a DICOM keyword with a string value", t->string);
            cJSON_Delete(tags);
            return -1;
        }
        if (ds->putAndInsertString(key, t->valuestring).bad()) {
            seterr(err, "tags: cannot set %s to \"%s\"", t->string, t->valuestring);
            cJSON_Delete(tags);
            return -1;
        }
    }
    cJSON_Delete(tags);
    return 0;
}

/* Voxel i of the image as a double. */
double voxel(const nifti_image *nim, int64_t i)
{
    const void *d = nim->data;
    switch (nim->datatype) {
    case DT_UINT8: return ((const uint8_t *)d)[i];
    case DT_INT8: return ((const int8_t *)d)[i];
    case DT_INT16: return ((const int16_t *)d)[i];
    case DT_UINT16: return ((const uint16_t *)d)[i];
    case DT_INT32: return ((const int32_t *)d)[i];
    case DT_UINT32: return ((const uint32_t *)d)[i];
    case DT_INT64: return (double)((const int64_t *)d)[i];
    case DT_UINT64: return (double)((const uint64_t *)d)[i];
    case DT_FLOAT32: return ((const float *)d)[i];
    case DT_FLOAT64: return ((const double *)d)[i];
    default: return 0;
    }
}

bool integer_type(int dt)
{
    return dt == DT_UINT8 || dt == DT_INT8 || dt == DT_INT16 || dt == DT_UINT16 || dt == DT_INT32 ||
           dt == DT_UINT32 || dt == DT_INT64 || dt == DT_UINT64;
}

std::string num(double v)
{
    char s[64];
    snprintf(s, sizeof s, "%.6g", fabs(v) < 5e-7 ? 0.0 : v);
    return s;
}

int convert(const char *path, const char *dir, const n2d_options *opt, char *err)
{
    nifti_image *nim = nifti_image_read(path, 1);
    if (nim == NULL)
        return seterr(err, "%s: not a NIfTI file libnifti2 can read", path);
    struct guard {
        nifti_image *n;
        ~guard()
        {
            nifti_image_free(n);
        }
    } g{nim};

    int64_t nx = nim->nx, ny = nim->ny, nz = nim->nz > 0 ? nim->nz : 1;
    if (nim->data == NULL || nx < 1 || ny < 1 || nx > 65535 || ny > 65535 || nz > 100000 ||
        nim->nvox < nx * ny * nz)
        return seterr(err, "%s: dimensions %lldx%lldx%lld not storable", path, (long long)nx,
                      (long long)ny, (long long)nz);
    if (nim->datatype != DT_UINT8 && nim->datatype != DT_INT8 && nim->datatype != DT_INT16 &&
        nim->datatype != DT_UINT16 && nim->datatype != DT_INT32 && nim->datatype != DT_UINT32 &&
        nim->datatype != DT_INT64 && nim->datatype != DT_UINT64 && nim->datatype != DT_FLOAT32 &&
        nim->datatype != DT_FLOAT64)
        return seterr(err, "%s: NIfTI datatype %d (%s) is not supported (scalar data only)", path,
                      nim->datatype, nifti_datatype_string(nim->datatype));

    /* world = M * (i, j, k, 1): the sform when set, else the qform; RAS -> LPS */
    nifti_dmat44 m = nim->sform_code > 0 ? nim->sto_xyz : nim->qto_xyz;
    for (int c = 0; c < 4; c++) {
        m.m[0][c] = -m.m[0][c];
        m.m[1][c] = -m.m[1][c];
    }
    double si = sqrt(m.m[0][0] * m.m[0][0] + m.m[1][0] * m.m[1][0] + m.m[2][0] * m.m[2][0]);
    double sj = sqrt(m.m[0][1] * m.m[0][1] + m.m[1][1] * m.m[1][1] + m.m[2][1] * m.m[2][1]);
    double sk = sqrt(m.m[0][2] * m.m[0][2] + m.m[1][2] * m.m[1][2] + m.m[2][2] * m.m[2][2]);
    if (si <= 0 || sj <= 0)
        return seterr(err, "%s: the NIfTI header has no usable geometry", path);
    std::string orientation = num(m.m[0][0] / si) + "\\" + num(m.m[1][0] / si) + "\\" +
                              num(m.m[2][0] / si) + "\\" + num(m.m[0][1] / sj) + "\\" +
                              num(m.m[1][1] / sj) + "\\" + num(m.m[2][1] / sj);
    std::string spacing = num(sj) + "\\" + num(si);

    /* pixel values: integers in 16 bits as they are, anything else scaled into 16 bits */
    double slope = nim->scl_slope, inter = nim->scl_inter;
    if (!(slope != 0) || !isfinite(slope) || !isfinite(inter)) {
        slope = 1;
        inter = 0;
    }
    int64_t n = nx * ny * nz;
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = voxel(nim, i);
        if (!isfinite(v))
            continue;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (!(lo <= hi))
        lo = hi = 0;
    bool raw =
        integer_type(nim->datatype) && lo >= -32768 && hi <= 65535 && !(lo < 0 && hi > 32767);
    bool is_signed = raw ? lo < 0 : false;
    double dslope = slope, dinter = inter, rlo = lo * slope + inter;
    if (!raw) {
        double rhi = hi * slope + inter, a = rlo < rhi ? rlo : rhi, b = rlo < rhi ? rhi : rlo;
        rlo = a;
        dslope = b > a ? (b - a) / 65535.0 : 1;
        dinter = a;
    }

    char series_uid[100], date[16], tm[16];
    time_t now = time(NULL);
    struct tm lt;
    localtime_r(&now, &lt);
    strftime(date, sizeof date, "%Y%m%d", &lt);
    strftime(tm, sizeof tm, "%H%M%S", &lt);
    dcmGenerateUniqueIdentifier(series_uid, SITE_SERIES_UID_ROOT);

    /* the source series' patient and study */
    DcmFileFormat src;
    bool have_src = opt->source != NULL &&
                    src.loadFileUntilTag(opt->source, EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                         ERM_autoDetect, DCM_PixelData)
                        .good();
    if (opt->source != NULL && !have_src)
        return seterr(err, "%s: cannot read the source series' file", opt->source);

    std::vector<Uint16> pixels((size_t)(nx * ny));
    for (int64_t k = 0; k < nz; k++) {
        DcmFileFormat ff;
        DcmDataset *ds = ff.getDataset();
        char uid[100], name[4096];

        if (have_src) {
            for (const DcmTagKey &key : copy_tags) {
                DcmElement *e = NULL;
                if (src.getDataset()->findAndGetElement(key, e, OFFalse).good() && e != NULL)
                    ds->insert((DcmElement *)e->clone(), OFTrue);
            }
        }
        if (!ds->tagExists(DCM_Modality))
            ds->putAndInsertString(DCM_Modality, "OT");
        ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
        ds->putAndInsertString(DCM_SOPInstanceUID,
                               dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
        ds->putAndInsertString(DCM_SeriesInstanceUID, series_uid);
        ds->putAndInsertString(DCM_SeriesDate, date);
        ds->putAndInsertString(DCM_SeriesTime, tm);
        ds->putAndInsertString(DCM_SeriesNumber, "9001");
        ds->putAndInsertString(DCM_SeriesDescription, "Processed Information");
        ds->putAndInsertString(DCM_ImageType, "DERIVED\\SECONDARY");
        ds->putAndInsertString(DCM_ConversionType, "WSD");
        ds->putAndInsertString(DCM_InstanceNumber, std::to_string(k + 1).c_str());
        std::string pos = num(m.m[0][3] + k * m.m[0][2]) + "\\" + num(m.m[1][3] + k * m.m[1][2]) +
                          "\\" + num(m.m[2][3] + k * m.m[2][2]);
        ds->putAndInsertString(DCM_ImagePositionPatient, pos.c_str());
        ds->putAndInsertString(DCM_ImageOrientationPatient, orientation.c_str());
        ds->putAndInsertString(DCM_PixelSpacing, spacing.c_str());
        ds->putAndInsertString(DCM_SliceThickness, num(sk).c_str());
        ds->putAndInsertString(DCM_SpacingBetweenSlices, num(sk).c_str());
        ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
        ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
        ds->putAndInsertUint16(DCM_Rows, (Uint16)ny);
        ds->putAndInsertUint16(DCM_Columns, (Uint16)nx);
        ds->putAndInsertUint16(DCM_BitsAllocated, 16);
        ds->putAndInsertUint16(DCM_BitsStored, 16);
        ds->putAndInsertUint16(DCM_HighBit, 15);
        ds->putAndInsertUint16(DCM_PixelRepresentation, is_signed ? 1 : 0);
        ds->putAndInsertString(DCM_RescaleIntercept, num(dinter).c_str());
        ds->putAndInsertString(DCM_RescaleSlope, num(dslope).c_str());
        ds->putAndInsertString(DCM_RescaleType, "US");
        int64_t base = k * nx * ny;
        for (int64_t i = 0; i < nx * ny; i++) {
            double v = voxel(nim, base + i);
            if (!isfinite(v))
                v = raw ? 0 : lo;
            if (raw) {
                pixels[(size_t)i] = (Uint16)(int32_t)v; /* two's complement when signed */
            } else {
                double s = ((v * slope + inter) - dinter) / dslope;
                s = s < 0 ? 0 : s > 65535 ? 65535 : s;
                pixels[(size_t)i] = (Uint16)lround(s);
            }
        }
        if (ds->putAndInsertUint16Array(DCM_PixelData, pixels.data(), (unsigned long)(nx * ny))
                .bad())
            return seterr(err, "cannot set the pixel data");
        if (mark(ds, opt, err) < 0)
            return -1;
        snprintf(name, sizeof name, "%s/%05lld.dcm", dir, (long long)(k + 1));
        OFCondition c = ff.saveFile(name, EXS_LittleEndianExplicit);
        if (c.bad())
            return seterr(err, "cannot write %s: %s", name, c.text());
    }
    return (int)nz;
}

} // namespace

extern "C" int n2d_convert(const char *nifti, const char *dir, const n2d_options *opt,
                           char err[N2D_ERR_LEN])
{
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    try {
        return convert(nifti, dir, opt, err);
    } catch (const std::bad_alloc &) {
        return seterr(err, "%s: out of memory", nifti);
    }
}

extern "C" int n2d_mark_file(const char *path, const n2d_options *opt, char err[N2D_ERR_LEN])
{
    DcmFileFormat ff;
    std::string tmp = std::string(path) + ".marking";

    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    if (ff.loadFile(path).bad())
        return seterr(err, "%s: not a DICOM file DCMTK can read", path);
    if (mark(ff.getDataset(), opt, err) < 0)
        return -1;
    if (ff.saveFile(tmp.c_str(), ff.getDataset()->getOriginalXfer()).bad() ||
        rename(tmp.c_str(), path) < 0) {
        unlink(tmp.c_str());
        return seterr(err, "%s: cannot write", path);
    }
    return 0;
}
