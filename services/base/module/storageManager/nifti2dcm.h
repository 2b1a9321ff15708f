/* nifti2dcm.h -- a NIfTI volume as a DICOM series (one instance per slice), for storageManager. */
#ifndef DCMP_NIFTI2DCM_H
#define DCMP_NIFTI2DCM_H

#ifdef __cplusplus
extern "C" {
#endif

#define N2D_ERR_LEN 512

/* What goes into every instance besides the pixels and the geometry. */
typedef struct n2d_options {
    const char *source;      /* a DICOM file of the source series (patient, study, frame of
                                reference copied from it), or NULL */
    const char *tags;        /* JSON object of tags: DICOM keywords or the original's names
                                ("Series Description", "Series Date", "Modality"), or NULL */
    const char *type;        /* (0405,1003) ActionType */
    const char *destination; /* (0405,1007) ActionDestination */
} n2d_options;

/*
 * Writes DIR/00001.dcm ... one per slice of the first volume of the NIfTI file `nifti` (.nii
 * or .nii.gz): Rows x Columns = ny x nx, geometry from the sform (else the qform) converted
 * from NIfTI's RAS to DICOM's LPS (ImagePositionPatient, ImageOrientationPatient,
 * PixelSpacing, SliceThickness), integer data up to 16 bits stored as it is (with the NIfTI
 * scaling as rescale slope/intercept), other data scaled into 16 bits with RescaleSlope and
 * RescaleIntercept. A new SeriesInstanceUID; SeriesDescription "Processed Information" unless
 * tags say otherwise; the DCM-PROCESSOR private block (0405,0010..1007).
 * Returns the number of instances written, or -1 with err.
 */
int n2d_convert(const char *nifti, const char *dir, const n2d_options *opt, char err[N2D_ERR_LEN]);

/* Sets the DCM-PROCESSOR private block and the tags of opt in an existing DICOM file (for the
 * "dicom" storage type). Returns 0 or -1 with err. */
int n2d_mark_file(const char *path, const n2d_options *opt, char err[N2D_ERR_LEN]);

#ifdef __cplusplus
}
#endif

#endif
