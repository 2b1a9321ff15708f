"""studyseen (module) -- the e2e study test's study-level worker.

Each run appends one line to DATA/studyseen/JOBNAME/STUDYID.jsonl (one file per entry of the
registry, so a second run of the same study is seen, not overwritten): when it ran (epoch
seconds), the study's dcmpath and, for each series in its headers, its id,
SeriesInstanceUID, SeriesDescription, instance count, the number of files found under its
dcmpath (a link in the study folder to the folder its series pipeline read) and the PatientID
of its first file (pseudonymized when the series pipeline's anonymizer ran).
"""

import json
import os
import re
import time

import pydicom

SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


def _inside(data, rel):
    """DATA/rel, refused when rel is absolute or climbs out of DATA."""
    if not isinstance(rel, str) or rel.startswith("/") or ".." in rel.split("/"):
        raise ValueError("unexpected dcmpath %r" % (rel,))
    return os.path.join(data, rel)


def worker(jobName, headers, params, added_params, **kwargs):
    data = os.environ["DATA"]
    study = headers["studyId"]
    for what, value in (("studyId", study), ("jobName", jobName)):
        if not isinstance(value, str) or not SAFE.match(value):
            raise ValueError("unexpected %s %r" % (what, value))
    seen = []
    for s in headers.get("series", []):
        folder = _inside(data, s["dcmpath"])
        files = sorted(os.listdir(folder))
        first = pydicom.dcmread(os.path.join(folder, files[0]), stop_before_pixels=True)
        seen.append({
            "seriesId": s["seriesId"],
            "SeriesInstanceUID": s["SeriesInstanceUID"],
            "SeriesDescription": s.get("SeriesDescription"),
            "instances": s.get("instances"),
            "files": len(files),
            "PatientID": str(first.get("PatientID", "")),
        })
    out = os.path.join(data, "studyseen", jobName)
    os.makedirs(out, exist_ok=True)
    line = json.dumps({"ran": time.time(), "dcmpath": headers.get("dcmpath"), "series": seen},
                      sort_keys=True)
    with open(os.path.join(out, study + ".jsonl"), "a") as f:
        f.write(line + "\n")
