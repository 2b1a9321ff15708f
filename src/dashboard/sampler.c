/* sampler.c -- dcmp-dashboard's chart: every DASHBOARD_SAMPLE_INTERVAL one sample of queue
 * depth and throughput into Redis (browse.c, sample.lua), one hour of them kept. */
#include <time.h>

#include "browse.h"
#include "dashboard.h"
#include "log.h"

int64_t sampler_cap(const dcmp_config *cfg)
{
    int64_t cap = 3600 / (cfg->dashboard_sample > 0 ? cfg->dashboard_sample : 10) + 1;

    return cap < 10 ? 10 : cap;
}

void *sampler_main(void *arg)
{
    dashboard *d = arg;
    dcmp_queue *q = dcmp_queue_from_config(d->cfg);
    int64_t interval_ms = d->cfg->dashboard_sample * 1000, waited;
    struct timespec step = {0, 100 * 1000000L};
    int failing = 0;

    if (q == NULL) {
        dcmp_log_error("sampler: out of memory: no chart samples");
        return NULL;
    }
    while (!*d->stop) {
        if (dcmp_browse_sample(q, interval_ms, sampler_cap(d->cfg), NULL) < 0) {
            if (!failing)
                dcmp_log_warn("chart sample not taken: %s", dcmp_queue_errstr(q));
            failing = 1;
        } else if (failing) {
            dcmp_log_info("chart samples taken again");
            failing = 0;
        }
        for (waited = 0; waited < interval_ms && !*d->stop; waited += 100)
            nanosleep(&step, NULL);
    }
    dcmp_queue_free(q);
    return NULL;
}
