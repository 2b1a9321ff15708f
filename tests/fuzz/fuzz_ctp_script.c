/* fuzz_ctp_script.c -- libFuzzer target: the CTP script reader takes any bytes; a script it
 * accepts is run, every rule, against a small fake dataset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int get(void *ds, uint32_t tag, char **value)
{
    (void)ds;
    *value = NULL;
    if (tag == 0x00100020)
        *value = strdup("PAT1");
    else if (tag == 0x00080020)
        *value = strdup("20030505\\19991231");
    else if (tag == 0x00080018)
        *value = strdup("1.2.3.4");
    else
        return 0;
    return *value ? 1 : -1;
}

static int has(void *ds, uint32_t tag)
{
    char *v = NULL;
    int rc = get(ds, tag, &v);

    free(v);
    return rc == 1 || tag == 0x00101002;
}

static int vm(void *ds, uint32_t tag)
{
    return has(ds, tag) ? 1 : 0;
}

static uint32_t block(void *ds, uint16_t group, const char *creator, uint8_t elem)
{
    (void)ds;
    (void)creator;
    return group == 0x0009 ? 0x00091000u | elem : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ctp_source src = {get, has, vm, block, NULL, 1};
    char err[CTP_ERR_LEN];
    ctp_script *s = NULL;
    ctp_lut *lut = ctp_lut_new();
    /* An exact-size copy, not NUL-terminated, so that reading past len is caught. */
    char *text = malloc(size ? size : 1);
    size_t i;

    if (text == NULL || lut == NULL) {
        free(text);
        ctp_lut_free(lut);
        return 0;
    }
    memcpy(text, data, size);
    ctp_lut_set(lut, "ptid/PAT1", "SUBJ");
    if (ctp_script_parse(text, size, "fuzz", &s, err) == 0) {
        for (i = 0; i < s->nrules; i++) {
            ctp_eval ev = {s, lut, &src, 1700000000, CTP_OK, "", 0};
            free(ctp_eval_script(&ev, s->rules[i].script, s->rules[i].tag));
        }
        ctp_script_free(s);
    } else if (s != NULL || err[0] == '\0') {
        abort(); /* a failure must leave no script and must say why */
    }
    ctp_lut_free(lut);
    free(text);
    return 0;
}
