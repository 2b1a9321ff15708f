/* test_pseudonyms.c -- unit tests of the pseudonym tables: CSV reading and writing, the order
 * of the tables, HMAC-SHA-256 pseudonyms, and hash_table.csv shared by processes at once. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pseudonyms.h"

#define SECRET "unit-secret-0123456789"

static char dir[64];

static const char *csv(const char *text, const char *key)
{
    static char out[256];
    char err[PN_ERR_LEN];
    ctp_lut *t = ctp_lut_new();
    const char *v;

    if (pn_parse_csv(t, text, strlen(text), "t.csv", err) < 0) {
        snprintf(out, sizeof out, "!%s", err);
    } else {
        v = ctp_lut_get(t, key);
        snprintf(out, sizeof out, "%s", v ? v : "(none)");
    }
    ctp_lut_free(t);
    return out;
}

static void test_csv(void)
{
    char row[128];

    CHECK_STR(csv("PatientID,Pseudonym\nA,one\n", "A"), "one");
    CHECK_STR(csv("PatientID,Pseudonym\nA,one\n", "PatientID"), "(none)"); /* header skipped */
    CHECK_STR(csv("A,one\r\nB,two", "B"), "two");                          /* CRLF, no final LF */
    CHECK_STR(csv("\n\nA , one \n", "A"), "one");                          /* blanks, trimmed */
    CHECK_STR(csv("\"A,1\",\"x \"\"y\"\"\"\n", "A,1"), "x \"y\"");         /* quoting */
    CHECK_STR(csv("A,one,extra\n", "A"), "one");                           /* extra columns */
    CHECK_STR(csv("A,one\nA,two\n", "A"), "two");                          /* last wins */
    CHECK_STR(csv("A\n", "A"), "!t.csv:1: a row needs two fields, PatientID,Pseudonym");
    CHECK_STR(csv("A,one\n\"B,two\n", "A"), "!t.csv:2: a quoted field is not closed");
    CHECK_STR(csv("\"A\"x,one\n", "A"), "!t.csv:1: text after a closing quote");
    CHECK_STR(csv("A,\n", "A"), "!t.csv:1: an empty pseudonym");
    CHECK_STR(csv("PatientID,Pseudonym\n,EMPTY\nA,B\n", ""), "EMPTY"); /* no PatientID */
    CHECK(pn_csv_row(row, sizeof row, "A,1", "x \"y\"") > 0);
    CHECK_STR(row, "\"A,1\",\"x \"\"y\"\"\"\n");
    CHECK(pn_csv_row(row, sizeof row, "plain", "p") > 0);
    CHECK_STR(row, "plain,p\n");
    CHECK(pn_csv_row(row, 4, "plain", "p") < 0);
}

static void test_hmac(void)
{
    char a[33], b[33], c[33];

    CHECK(pn_make(SECRET, "12345", a) == 0);
    CHECK(pn_make(SECRET, "12345", b) == 0);
    CHECK(pn_make("another-secret-xyz", "12345", c) == 0);
    CHECK_STR(a, b);          /* stable */
    CHECK(strcmp(a, c) != 0); /* keyed */
    CHECK(strlen(a) == 32);
    /* HMAC-SHA-256("key", "The quick brown fox jumps over the lazy dog") starts f7bc83f4 */
    CHECK(pn_make("key", "The quick brown fox jumps over the lazy dog", a) == 0);
    CHECK(strncmp(a, "f7bc83f430538424b13298e6aa6fb143", 32) == 0);
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

static void test_order(void)
{
    const char *ids[] = {"U1", "H1", "NEW"};
    char *out[3], err[PN_ERR_LEN], made[33];
    int created, from[3];

    write_file("psudonyms.csv", "PatientID,Pseudonym\nU1,user-one\n");
    write_file("hash_table.csv", "PatientID,Pseudonym\nH1,hashed-one\nU1,not-this\n");
    CHECK(pn_assign(dir, NULL, SECRET, ids, 3, out, from, &created, err) == 0);
    CHECK(pn_make(SECRET, "NEW", made) == 0);
    CHECK_STR(out[0], "user-one");
    CHECK_STR(out[1], "hashed-one");
    CHECK_STR(out[2], made);
    CHECK(created == 1);
    for (int i = 0; i < 3; i++)
        free(out[i]);
    /* pseudonyms.csv (correctly spelt) wins over the misspelt one */
    write_file("pseudonyms.csv", "U1,right-spelling\n");
    CHECK(pn_assign(dir, NULL, SECRET, ids, 1, out, from, &created, err) == 0);
    CHECK_STR(out[0], "right-spelling");
    CHECK(created == 0);
    free(out[0]);
    write_file("pseudonyms.csv", "U1\n");
    CHECK(pn_assign(dir, NULL, SECRET, ids, 1, out, from, &created, err) < 0);
    CHECK_CONTAINS(err, "pseudonyms.csv:1: a row needs two fields");
    unlink("pseudonyms.csv");
}

/* 8 processes assign the same 20 new ids at once: each id gets one row, all agree. */
static void test_concurrent(void)
{
    char sub[96], path[128], line[256];
    pid_t pids[8];
    int i, rows = 0, status;
    FILE *fp;

    snprintf(sub, sizeof sub, "%s/conc", dir);
    mkdir(sub, 0755);
    for (i = 0; i < 8; i++) {
        if ((pids[i] = fork()) == 0) {
            const char *ids[20];
            char names[20][16], *out[20], err[PN_ERR_LEN];
            int created, k, from[20];
            for (k = 0; k < 20; k++) {
                snprintf(names[k], sizeof names[k], "P%02d", (k + i * 3) % 20);
                ids[k] = names[k];
            }
            _exit(pn_assign(sub, NULL, SECRET, ids, 20, out, from, &created, err) == 0 ? 0 : 1);
        }
    }
    for (i = 0; i < 8; i++) {
        waitpid(pids[i], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    snprintf(path, sizeof path, "%s/hash_table.csv", sub);
    fp = fopen(path, "r");
    CHECK(fp != NULL);
    while (fp && fgets(line, sizeof line, fp))
        rows++;
    if (fp)
        fclose(fp);
    CHECK(rows == 21); /* the header and one row per id */
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dcmp-pn-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    RUN(test_csv);
    RUN(test_hmac);
    RUN(test_order);
    RUN(test_concurrent);
    if (harness_failed == 0) {
        char *argv[] = {"rm", "-rf", dir, NULL};
        pid_t pid = fork();
        if (pid == 0) {
            execvp("rm", argv);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
    }
    return HARNESS_RESULT();
}
