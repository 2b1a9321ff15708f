"""pyreq (module) -- the e2e test's worker: writes which dcmpe2e it imported, and from where.

dcmpe2e is a package only pip brings (a wheel the test builds), named in requirements.txt, so
the job runs only when service.sh install made the service's virtual environment where the
workers use it. The line goes to DATA/pyreq/SERIESID.txt: "VERSION SYS.PREFIX".
"""

import os
import re
import sys

import dcmpe2e


def worker(jobName, headers, params, added_params, **kwargs):
    sid = headers["seriesId"]
    if not re.match(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", sid):
        raise ValueError("unexpected seriesId %r" % sid)
    out = os.path.join(os.environ["DATA"], "pyreq")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, sid + ".txt"), "w") as f:
        f.write("%s %s\n" % (dcmpe2e.__version__, sys.prefix))
