"""studyseen (registry) -- the e2e study test's callback: yes for every study."""


def callback(jobName, headers, params, added_params, **kwargs):
    return True
