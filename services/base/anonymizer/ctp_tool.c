/* ctp_tool.c -- dcmp-ctp: check a CTP anonymizer script, or run it on files (no pipeline). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctp.h"

static int usage(void)
{
    fprintf(stderr, "usage: dcmp-ctp --check SCRIPT\n"
                    "       dcmp-ctp [--lut FILE] SCRIPT OUTDIR FILE...\n"
                    "Checks a CTP DicomAnonymizer script, or anonymizes each FILE into\n"
                    "OUTDIR/<its name>. Exit 0: all written; 1: some quarantined or failed.\n");
    return 2;
}

int main(int argc, char **argv)
{
    char err[CTP_ERR_LEN], path[4096];
    const char *lut_path = NULL;
    ctp_script *s = NULL;
    ctp_lut *lut = NULL;
    int i = 1, rc = 0;

    if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        if (ctp_script_load(argv[2], &s, err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("%s: %zu rules, OK\n", argv[2], ctp_script_rules(s));
        ctp_script_free(s);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--lut") == 0) {
        lut_path = argv[2];
        i = 3;
    }
    if (argc - i < 3)
        return usage();
    if (ctp_script_load(argv[i], &s, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if ((lut = ctp_lut_new()) == NULL || (lut_path && ctp_lut_load(lut, lut_path, err) < 0)) {
        fprintf(stderr, "%s\n", lut ? err : "out of memory");
        ctp_script_free(s);
        ctp_lut_free(lut);
        return 1;
    }
    for (int k = i + 2; k < argc; k++) {
        const char *base = strrchr(argv[k], '/') ? strrchr(argv[k], '/') + 1 : argv[k];
        ctp_status st;

        snprintf(path, sizeof path, "%s/%s", argv[i + 1], base);
        st = ctp_anonymize_file(s, lut, argv[k], path, 0, err);
        if (st != CTP_OK) {
            fprintf(stderr, "%s\n", err);
            rc = 1;
        }
    }
    ctp_script_free(s);
    ctp_lut_free(lut);
    return rc;
}
