"""pyreq (registry) -- the e2e test's callback: yes for the CT series it sends first (CT5N)."""


def callback(jobName, headers, params, added_params, **kwargs):
    return headers.get("SeriesDescription") == "SmartScore - Gated 0.5 sec"
