"""pytemp (registry) -- the Python template service's callback: copy this folder to start a
Python service (docs/services.md, "Python services").

The scheduler imports this file as the module `pytemp` from REGISTRY (REGISTRY/pytemp/ is this
folder once `./service.sh install pytemp -p services/pytemp` has run), so settings.json's
"callback": "pytemp.callback" is the function `callback` below.

A callback runs once per stable series, before any job runs, in the scheduler's callback
executor (a process of its own: a crash or a hang costs only this decision). It answers one
question -- does this service's job run for this series? -- and may hand the jobs a dict.
Keep it fast (CALLBACK_TIMEOUT, 10 s by default) and free of heavy imports: read the headers,
decide, inject; the work belongs in the worker (module/).
"""

import re

# The service's name: the folder under DATA its results go to (the callback decides where the
# result goes, the worker writes it there) and the start of the stored series' description.
# A service made from this template changes it, so that two never share a file.
SERVICE = "pytemp"

# seriesId is Orthanc's id of the series (hex groups joined by "-"). It becomes a file name, so
# it is checked here instead of being trusted: letters, digits, ".", "_", "-", no leading dot.
SERIES_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


def callback(jobName, headers, params, added_params, **kwargs):
    """Called by keyword, as the original's scheduler called it.

    jobName      -- this entry's "jobName" in settings.json ("pytempJob")
    headers      -- dict: the system settings' headerFields picked from the series' DICOM
                    header (Modality, SeriesDescription, ...) and the event (seriesId,
                    studyId, patientId, dcmpath). Values are as received: not anonymized.
    params       -- this entry's "params" in settings.json (None when it has none)
    added_params -- what the callbacks before this one injected, keyed by their jobName
    **kwargs     -- keeps the function working when the host passes more keywords later

    Returns False (do not run the job), True (run it, inject nothing) or (True, dict): run it
    and store the dict as added_params[jobName] for every later callback and every job of
    this series. Whatever is printed lands in the scheduler's log.
    """
    params = params or {}

    # The filter: only the modality params names ("" or absent: every series). The header
    # must be listed in the system settings' headerFields (BASEDIR/settings.json), or it is
    # not in `headers` at all.
    want = params.get("modality") or ""
    if want and headers.get("Modality") != want:
        return False

    series = headers.get("seriesId") or ""
    if not SERIES_ID.match(series):
        # An exception fails this decision with its type and message, shown with the event
        # in the dashboard and by `dcm-processor plan`. Nothing is scheduled for this service.
        raise ValueError(f"seriesId {series!r}: not a usable file name")

    # Where the worker will write the NIfTI, relative to DATA (every path in `storage` and
    # `deleted` is).
    path = f"{SERVICE}/{series}.nii.gz"

    # `storage` asks the post service storageManager to store the file in Orthanc (type
    # nifti: one DICOM instance per slice; pdf and dicom work too), which forwards it to
    # `destination` (default ORTHANC_DEFUALT_STORE). `tags` set DICOM tags on the stored
    # series. `deleted` asks systemcleaner, which runs after storageManager, to remove the
    # file: nothing of the series stays under DATA once it is stored.
    description = str(headers.get("SeriesDescription") or "series")[:40]
    inject = {
        "storage": {
            "path": path,
            "type": "nifti",
            "tags": {"Series Description": f"{SERVICE}: {description}"},
        },
        "deleted": path,
        # anything else is for your own jobs: the worker reads added_params[jobName]
        "output": path,
    }
    return True, inject
