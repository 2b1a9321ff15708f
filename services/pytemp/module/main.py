"""main.py (module) -- the pytemp worker: reads the series with pydicom, writes it as a NIfTI
volume with nibabel, where the callback said (added_params[jobName]["output"]).

A worker runs in a dcmp-worker's executor process once per job, after every job it depends on
(the pre services, and settings.json's "dependsOn"). Rules:
  - return a JSON-serializable value (it is kept as the job's result) or None;
  - raise to fail the job: the dashboard shows the exception's type, message and traceback,
    and the jobs that depend on this one wait until it is requeued and succeeds;
  - print() freely: everything printed is the job's log;
  - write only under DATA, and check every path taken from headers or added_params;
  - the job is killed at its "timeout" (settings.json), with every process it started;
  - module globals may survive to the next job in the same process, or may not: keep no
    state in them (a cache of something read-only is fine).
"""

import os

import nibabel
import numpy
import pydicom
from pydicom.errors import InvalidDicomError

# DATA is set in the worker's environment, as it was in the original's containers.
DATA = os.environ.get("DATA", "")


def inside_data(rel):
    """DATA/rel, refused when rel is absolute or leads outside DATA (.., a symbolic link)."""
    if not DATA:
        raise RuntimeError("DATA is not set in the worker's environment")
    root = os.path.realpath(DATA)
    full = os.path.realpath(os.path.join(root, rel))
    if os.path.isabs(rel) or os.path.commonpath([root, full]) != root:
        raise ValueError(f"{rel!r} is not a path inside DATA")
    return full


def read_series(folder):
    """The series' images in `folder`, sorted along the slice normal, as pydicom datasets."""
    slices = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            print(f"skipped {name}: not a DICOM file")
            continue
        if "PixelData" in ds and "ImagePositionPatient" in ds:
            slices.append(ds)
    if not slices:
        raise ValueError(f"{folder}: no DICOM image with a position in it")
    # Sort by the position along the normal of the image plane, not by file name or
    # InstanceNumber: only the geometry says where a slice is.
    normal = slice_normal(slices[0])
    slices.sort(key=lambda ds: float(numpy.dot(normal, [float(v) for v in ds.ImagePositionPatient])))
    return slices


def slice_normal(ds):
    """The unit normal of the image plane: row direction x column direction."""
    iop = [float(v) for v in ds.ImageOrientationPatient]
    return numpy.cross(iop[:3], iop[3:])


def affine_of(slices):
    """The NIfTI affine (RAS) of the volume: voxel (i column, j row, k slice) to millimetres.

    DICOM's patient coordinates are LPS; NIfTI's are RAS: x and y change sign.
    """
    first = slices[0]
    iop = [float(v) for v in first.ImageOrientationPatient]
    row_spacing, col_spacing = (float(v) for v in first.PixelSpacing)
    origin = numpy.array([float(v) for v in first.ImagePositionPatient])
    if len(slices) > 1:
        # the step between the first two slices: direction and spacing in one vector
        step = numpy.array([float(v) for v in slices[1].ImagePositionPatient]) - origin
    else:
        step = slice_normal(first) * float(first.get("SliceThickness", 1) or 1)
    affine = numpy.eye(4)
    affine[:3, 0] = numpy.array(iop[:3]) * col_spacing  # i: along a row, across the columns
    affine[:3, 1] = numpy.array(iop[3:]) * row_spacing  # j: down a column, across the rows
    affine[:3, 2] = step
    affine[:3, 3] = origin
    return numpy.diag([-1.0, -1.0, 1.0, 1.0]) @ affine


def volume_of(slices):
    """The voxels, [column, row, slice], in the modality's units (Hounsfield for CT)."""
    planes = []
    for ds in slices:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        # pixel_array is [row, column]; NIfTI's first index runs along a row: transpose
        planes.append(ds.pixel_array.astype(numpy.float64).T * slope + intercept)
    volume = numpy.stack(planes, axis=-1)
    # Whole values that fit 16 bits stay integers (storageManager keeps them as they are);
    # anything else is written as float32.
    if numpy.all(volume == numpy.round(volume)) and volume.min() >= -32768 and volume.max() <= 32767:
        return volume.astype(numpy.int16)
    return volume.astype(numpy.float32)


def worker(jobName, headers, params, added_params, **kwargs):
    """Called by keyword, as RQ called the original's workers: the same headers and params as
    the callback, and added_params, what every callback of the series injected (keyed by
    jobName). Returns the job's result."""
    mine = added_params.get(jobName) or {}
    if "output" not in mine:
        raise ValueError(f"added_params[{jobName!r}] has no output: did the pytemp callback run?")
    out = inside_data(mine["output"])
    # dcmpath: the series' files, relative to DATA (anonymized in place by the pre service
    # dicomAnonymizer before any registry job runs)
    series = inside_data(headers["dcmpath"])

    slices = read_series(series)
    image = nibabel.Nifti1Image(volume_of(slices), affine_of(slices))
    # qform and sform both say where the voxels are; storageManager reads the sform first
    image.set_sform(image.affine, code=1)
    image.set_qform(image.affine, code=1)

    os.makedirs(os.path.dirname(out), exist_ok=True)
    # written under a temporary name and renamed: storageManager never sees half a file
    partial = out + ".partial.nii.gz"
    nibabel.save(image, partial)
    os.replace(partial, out)
    print(f"wrote {mine['output']}: {len(slices)} slices of {slices[0].Rows}x{slices[0].Columns}")
    return {"output": mine["output"], "shape": list(image.shape), "dtype": str(image.get_data_dtype())}
