/* plan.c -- dcm-processor plan: what the scheduler would plan for an event, callbacks run for
 * real (isolated, with CALLBACK_TIMEOUT), no Redis. How a service author tries a service. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callbacks.h"
#include "cli.h"
#include "duration.h"
#include "plan.h"
#include "plan_level.h"
#include "settings.h"
#include "trigger.h"
#include "webhook.h"

static void print_text(const char *event_path, const dcmp_plan *p)
{
    cJSON *added = cJSON_Parse(p->added_params);
    int i, k;

    printf("event: %s\nheaders: %s\n\ndecisions (in callback order):\n", event_path, p->headers);
    for (i = 0; i < p->ndecisions; i++) {
        const dcmp_plan_decision *d = &p->decisions[i];
        printf("  %-11s  %-7s  %-24s  %s%s%s\n", d->decision, dcmp_trigger_levels[d->level],
               d->job_name[0] ? d->job_name : "-", d->source, d->reason[0] ? ": " : "", d->reason);
    }
    printf("\njobs (in enqueue order):\n");
    if (p->njobs == 0)
        printf("  none\n");
    for (i = 0; i < p->njobs; i++) {
        const dcmp_plan_job *j = &p->jobs[i];
        const cJSON *inj = added ? cJSON_GetObjectItemCaseSensitive(added, j->name) : NULL;
        char timeout[32], *inj_text = inj ? cJSON_PrintUnformatted(inj) : NULL;
        dcmp_duration_format(j->timeout, timeout, sizeof timeout);
        printf("  %d. %s  (trigger %s, worker %s, queue %s, timeout %s", i + 1, j->name,
               dcmp_trigger_levels[j->level], j->worker, j->queue, timeout);
        if (j->retry_max > 0)
            printf(", retry %lld every %llds", (long long)j->retry_max,
                   (long long)j->retry_interval);
        printf(")\n     after: ");
        for (k = 0; k < j->ndeps; k++)
            printf("%s%s", k ? ", " : "", p->jobs[j->deps[k]].name);
        printf("%s\n", j->ndeps ? "" : "-");
        if (inj_text)
            printf("     injected: %s\n", inj_text);
        /* what the worker receives: jobName, headers, params, added_params */
        printf("     kwargs: %s\n", j->kwargs);
        free(inj_text);
    }
    if (p->nreports > 0) {
        printf("\nreports:\n");
        for (i = 0; i < p->nreports; i++)
            printf("  %s\n", p->reports[i]);
    }
    cJSON_Delete(added);
}

/* A webhook body as Orthanc's script posts it (the first instance's keywords under "tags"):
 * replaced by the event's data the scheduler would plan from. Returns 0 or -1 with err. */
static int from_webhook(cJSON **event, char *err)
{
    dcmp_webhook w;
    char *text;
    int rc;

    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*event, "tags")))
        return 0;
    if ((text = cJSON_PrintUnformatted(*event)) == NULL)
        return dcmp_seterr(err, "out of memory");
    rc = dcmp_webhook_parse(text, strlen(text), &w, err);
    free(text);
    if (rc < 0)
        return -1;
    cJSON_Delete(*event);
    *event = w.data; /* taken over from w */
    return 0;
}

int cli_plan(const dcmp_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"registry", required_argument, NULL, 'r'}, {"settings", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},           {"level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    static const char usage[] = "usage: dcm-processor plan EVENT.json [--registry DIR] "
                                "[--settings FILE] [--level series|study|patient] [--json]\n";
    const char *registry = cfg->registry, *settings = cfg->settings;
    dcmp_settings_files reg = {0};
    cJSON *system = NULL, *event = NULL;
    dcmp_callbacks cbs;
    dcmp_plan_input in;
    dcmp_plan plan;
    cli_level lv = {0};
    char err[DCMP_ERR_LEN];
    int json = 0, level = DCMP_LEVEL_SERIES, c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:s:jl:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': registry = optarg; break;
        case 's': settings = optarg; break;
        case 'j': json = 1; break;
        case 'l':
            for (level = 0; level < DCMP_LEVELS; level++)
                if (strcmp(optarg, dcmp_trigger_levels[level]) == 0)
                    break;
            if (level == DCMP_LEVELS) {
                fprintf(stderr,
                        "dcm-processor plan: --level \"%s\": must be series, study or "
                        "patient\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': printf("%s", usage); return 0;
        default: return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    if (dcmp_settings_load(argv[optind], &event, err) < 0) {
        fprintf(stderr, "dcm-processor plan: event: %s\n", err);
        return 1;
    }
    if (!cJSON_IsObject(event)) {
        fprintf(stderr,
                "dcm-processor plan: %s: the event must be a JSON object of header "
                "fields and event keys\n",
                argv[optind]);
        goto out;
    }
    if (from_webhook(&event, err) < 0) {
        fprintf(stderr, "dcm-processor plan: %s: a webhook body: %s\n", argv[optind], err);
        goto out;
    }
    if (dcmp_settings_load(settings, &system, err) < 0) {
        fprintf(stderr, "dcm-processor plan: system settings: %s\n", err);
        goto out;
    }
    if (dcmp_settings_registry(registry, &reg, err) < 0) {
        fprintf(stderr, "dcm-processor plan: %s\n", err);
        goto out;
    }
    dcmp_callbacks_init(&cbs, registry, cfg->data, cfg->callback_timeout,
                        (long)cfg->callback_recycle);
    memset(&in, 0, sizeof in);
    in.system = system;
    in.system_path = settings;
    in.registry = reg.files;
    in.nregistry = reg.n;
    in.data = event;
    in.default_queue = cfg->default_priority;
    in.batch = dcmp_callbacks_batch;
    in.callback_arg = &cbs;
    in.level = level;
    if (level != DCMP_LEVEL_SERIES) {
        /* each entry of the level decided from the event's series, as the scheduler would */
        if (cli_level_decide(event, level, &reg, &lv, err) < 0) {
            fprintf(stderr, "dcm-processor plan: %s: %s\n", argv[optind], err);
            dcmp_callbacks_stop(&cbs);
            goto out;
        }
        in.due = cli_level_due;
        in.due_arg = &lv;
    }
    if (dcmp_plan_make(&in, &plan, err) < 0) {
        fprintf(stderr, "dcm-processor plan: %s\n", err);
    } else if (json) {
        char *text = dcmp_plan_json_with(&plan, 1);
        cJSON *tree = text ? cJSON_Parse(text) : NULL;
        char *pretty = tree ? cJSON_Print(tree) : NULL;
        if (pretty) {
            printf("%s\n", pretty);
            rc = 0;
        }
        free(pretty);
        cJSON_Delete(tree);
        free(text);
    } else {
        print_text(argv[optind], &plan);
        rc = 0;
    }
    dcmp_plan_free(&plan);
    dcmp_callbacks_stop(&cbs);
out:
    cli_level_free(&lv);
    dcmp_settings_registry_free(&reg);
    cJSON_Delete(system);
    cJSON_Delete(event);
    return rc;
}
