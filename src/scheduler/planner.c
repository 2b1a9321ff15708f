/* planner.c -- dcmp-scheduler's planning loop: takes events from the durable inbox, reads the
 * settings afresh, runs the callbacks isolated, and writes each event's job graph and record in
 * one step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "plan.h"
#include "scheduler.h"
#include "settings.h"
#include "webhook.h"

/* What planning one event produced, for event_done. */
typedef struct outcome {
    char *graph; /* owned; NULL when no job */
    char *plan;  /* owned: the plan JSON (the event record's "plan") */
    const char *state;
    char error[DCMP_ERR_LEN];
    int callback_errors;
} outcome;

/* Plans one event. Returns 0 (out filled), or -1 when the settings cannot be read: the
 * event must wait (err says why). */
static int plan_event(scheduler *s, const char *id, const char *body, outcome *out, char *err)
{
    const dcmp_config *cfg = s->cfg;
    dcmp_settings_files reg = {0};
    dcmp_plan_input in;
    dcmp_webhook w;
    dcmp_plan p;
    cJSON *system = NULL;
    int i, rc = -1;

    memset(out, 0, sizeof *out);
    out->state = "failed";
    if (dcmp_webhook_parse(body, strlen(body), &w, out->error) < 0) {
        out->plan = strdup("{}");
        return 0; /* cannot happen for a body the intake accepted; recorded, not retried */
    }
    if (dcmp_settings_load(cfg->settings, &system, err) < 0 ||
        dcmp_settings_registry(cfg->registry, &reg, err) < 0)
        goto out;
    memset(&in, 0, sizeof in);
    in.system = system;
    in.system_path = cfg->settings;
    in.registry = reg.files;
    in.nregistry = reg.n;
    in.data = w.data;
    in.default_queue = cfg->default_priority;
    in.callback = dcmp_callbacks_call;
    in.callback_arg = &s->callbacks;
    if (dcmp_plan_make(&in, &p, out->error) < 0) {
        dcmp_plan_free(&p);
        out->plan = strdup("{}");
        rc = 0;
        goto out;
    }
    for (i = 0; i < p.ndecisions; i++)
        out->callback_errors += strcmp(p.decisions[i].decision, "error") == 0;
    for (i = 0; i < p.nreports; i++)
        dcmp_log_warn("event %s: %s", id, p.reports[i]);
    out->plan = dcmp_plan_json(&p);
    if (p.njobs > 0) {
        dcmp_job_spec *specs = calloc((size_t)p.njobs, sizeof *specs);
        const char **deps = calloc((size_t)p.njobs * DCMP_DEPS_MAX, sizeof *deps);
        if (specs && deps) {
            dcmp_plan_specs(&p, specs, deps);
            out->graph = dcmp_job_encode_graph(id, specs, p.njobs, out->error);
        } else {
            snprintf(out->error, sizeof out->error, "out of memory");
        }
        free(specs);
        free(deps);
        out->state = out->graph ? "planned" : "failed";
    } else {
        out->state = "ignored";
    }
    dcmp_plan_free(&p);
    rc = 0;
out:
    dcmp_settings_registry_free(&reg);
    cJSON_Delete(system);
    dcmp_webhook_free(&w);
    return rc;
}

static void observe_latency(scheduler *s, int64_t received_ms)
{
    double secs = (double)(dcmp_clock_wall_ms() - received_ms) / 1000.0;
    int i;

    if (received_ms <= 0 || secs < 0)
        return;
    for (i = 0; i < LATENCY_BUCKETS; i++)
        if (secs <= latency_bounds[i])
            atomic_fetch_add(&s->m.latency[i], 1);
    atomic_fetch_add(&s->m.latency_count, 1);
    atomic_fetch_add(&s->m.latency_sum_us, (long long)(secs * 1e6));
}

void planner_run(scheduler *s)
{
    const char *name = s->cfg->scheduler_name;
    int64_t back = 0, delay = 100;

    while (!*s->stop && dcmp_queue_event_recover(s->plan, name, &back) < 0) {
        dcmp_log_warn("%s; retrying in %lld ms", dcmp_queue_errstr(s->plan), (long long)delay);
        dcmp_clock_sleep_ms(delay);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    if (back > 0)
        dcmp_log_warn("%lld event(s) taken but not planned before a stop: planning them again",
                      (long long)back);
    delay = 100;
    while (!*s->stop) {
        char id[DCMP_ID_LEN], err[DCMP_ERR_LEN], *body = NULL;
        int64_t received = 0;
        outcome o;
        int rc = dcmp_queue_event_take(s->plan, name, 1000, id, &body, &received);

        if (rc < 0) {
            dcmp_log_warn("inbox: %s; retrying in %lld ms", dcmp_queue_errstr(s->plan),
                          (long long)delay);
            dcmp_clock_sleep_ms(delay);
            delay = delay * 2 > 5000 ? 5000 : delay * 2;
            continue;
        }
        delay = 100;
        if (rc == 0)
            continue;
        if (plan_event(s, id, body, &o, err) < 0) {
            /* The settings cannot be read: the event goes back and waits for a fix. */
            dcmp_log_error("event %s: %s: it stays in the inbox; retrying in 5 s", id, err);
            dcmp_queue_event_recover(s->plan, name, NULL);
            free(body);
            dcmp_clock_sleep_ms(5000);
            continue;
        }
        atomic_fetch_add(&s->m.callback_errors, o.callback_errors);
        while (dcmp_queue_event_done(s->plan, name, id, o.graph, o.plan, o.state, o.error) < 0) {
            if (dcmp_queue_err(s->plan) != DCMP_QUEUE_EIO) {
                /* Redis refused the graph: the event is recorded as failed, with why. */
                dcmp_log_error("event %s: %s", id, dcmp_queue_errstr(s->plan));
                free(o.graph);
                o.graph = NULL;
                o.state = "failed";
                snprintf(o.error, sizeof o.error, "%s", dcmp_queue_errstr(s->plan));
                continue;
            }
            dcmp_log_warn("event %s: %s; retrying", id, dcmp_queue_errstr(s->plan));
            dcmp_clock_sleep_ms(500);
            if (*s->stop)
                break;
        }
        if (strcmp(o.state, "planned") == 0) {
            atomic_fetch_add(&s->m.planned, 1);
            observe_latency(s, received);
        } else if (strcmp(o.state, "ignored") == 0) {
            atomic_fetch_add(&s->m.ignored, 1);
        } else {
            atomic_fetch_add(&s->m.failed, 1);
        }
        dcmp_log_info("event %s: %s%s%s", id, o.state, o.error[0] ? ": " : "", o.error);
        free(o.graph);
        free(o.plan);
        free(body);
    }
}
