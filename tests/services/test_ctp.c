/* test_ctp.c -- unit tests of the CTP anonymizer: every script function, the script and lookup
 * table readers, dates, hashes. A fake dataset stands in for DICOM. */
#include <stdlib.h>
#include <string.h>

#include "ctp_int.h"
#include "harness.h"

/* ---- a fake dataset ---- */

typedef struct fake_el {
    uint32_t tag;
    const char *value; /* NULL: a sequence (present, no value) */
} fake_el;

static const fake_el fake[] = {
    {0x00080018, "1.2.3.4"},
    {0x00080020, "20030505"},
    {0x00080021, "20030230"}, /* lenient: 2 March */
    {0x00080022, "20030505\\20040101"},
    {0x00080023, "2003"},
    {0x00080050, ""},
    {0x00100010, "Doe^John^Q"},
    {0x00100020, "PAT1"},
    {0x00101010, "047Y"},
    {0x00120063, "OLD\\METHOD"},
    {0x00081030, "Brain MRI"},
    {0x00101002, NULL},
    {0x00091010, "private"},
    {0x00090010, "ACME 1.0"},
};

static const fake_el *fake_find(uint32_t tag)
{
    size_t i;

    for (i = 0; i < sizeof fake / sizeof fake[0]; i++)
        if (fake[i].tag == tag)
            return &fake[i];
    return NULL;
}

static int fake_get(void *ds, uint32_t tag, char **value)
{
    const fake_el *e = fake_find(tag);

    (void)ds;
    *value = NULL;
    if (e == NULL || e->value == NULL)
        return 0;
    *value = strdup(e->value);
    return *value ? 1 : -1;
}

static int fake_has(void *ds, uint32_t tag)
{
    (void)ds;
    return fake_find(tag) != NULL;
}

static int fake_vm(void *ds, uint32_t tag)
{
    const fake_el *e = fake_find(tag);
    int n = 1;

    (void)ds;
    if (e == NULL || e->value == NULL || e->value[0] == '\0')
        return 0;
    for (const char *p = e->value; *p; p++)
        n += *p == '\\';
    return n;
}

static uint32_t fake_block(void *ds, uint16_t group, const char *creator, uint8_t elem)
{
    (void)ds;
    return group == 0x0009 && strcmp(creator, "ACME 1.0") == 0 ? 0x00091000u | elem : 0;
}

static const ctp_source src = {fake_get, fake_has, fake_vm, fake_block, NULL, 1};

static const char *script_text =
    "<?xml version=\"1.0\"?>\n"
    "<script>\n"
    " <p t=\"UIDROOT\">1.2.826.0.1.3680043.10.999</p>\n"
    " <p t=\"DATEINC\">-30</p>\n"
    " <p t=\"SITEID\">42</p>\n"
    " <p t=\"LEN\">8</p>\n"
    " <p t=\"PROFILE\">Basic &amp; more</p>\n"
    " <e en=\"T\" t=\"00091010\" n=\"AcmeThing\">@keep()</e>\n"
    " <e en=\"F\" t=\"00100030\" n=\"Off\">@nosuchfunction()</e>\n"
    " <e en=\"T\" t=\"00100020\" n=\"PatientID\">@lookup(this,ptid)</e>\n"
    " <e en=\"T\" t=\"00200010\" "
    "n=\"StudyID\">@hashuid(@UIDROOT,SOPInstanceUID,SeriesNumber)@hashuid(@UIDROOT,SOPInstanceUID,"
    "SeriesNumber)</e>\n"
    " <e en=\"T\" t=\"00200011\" "
    "n=\"SeriesNumber\">@hashuid(@UIDROOT,SOPInstanceUID,InstitutionName)@hashuid(@UIDROOT,"
    "SOPInstanceUID,InstitutionName)</e>\n"
    " <e en=\"T\" t=\"00080080\" "
    "n=\"InstitutionName\">@hashuid(@UIDROOT,SOPInstanceUID,ReferringPhysicianName)@hashuid(@"
    "UIDROOT,SOPInstanceUID,ReferringPhysicianName)</e>\n"
    " <e en=\"T\" t=\"00080090\" "
    "n=\"ReferringPhysicianName\">@hashuid(@UIDROOT,SOPInstanceUID,StationName)@hashuid(@UIDROOT,"
    "SOPInstanceUID,StationName)</e>\n"
    " <e en=\"T\" t=\"00081010\" "
    "n=\"StationName\">@hashuid(@UIDROOT,SOPInstanceUID,OperatorsName)@hashuid(@UIDROOT,"
    "SOPInstanceUID,OperatorsName)</e>\n"
    " <e en=\"T\" t=\"00081070\" "
    "n=\"OperatorsName\">@hashuid(@UIDROOT,SOPInstanceUID,InstitutionalDepartmentName)@hashuid(@"
    "UIDROOT,SOPInstanceUID,InstitutionalDepartmentName)</e>\n"
    " <e en=\"T\" t=\"00081040\" "
    "n=\"InstitutionalDepartmentName\">@hashuid(@UIDROOT,SOPInstanceUID,PerformingPhysicianName)@"
    "hashuid(@UIDROOT,SOPInstanceUID,PerformingPhysicianName)</e>\n"
    " <e en=\"T\" t=\"00081050\" n=\"PerformingPhysicianName\">x</e>\n"
    " <e en=\"T\" t=\"00081090\" "
    "n=\"ManufacturerModelName\">@hashuid(@UIDROOT,SOPInstanceUID,ManufacturerModelName)</e>\n"
    "</script>\n";

static ctp_script *script;
static ctp_lut *lut;

/* Evaluates cmd for tag; returns the value (static) or "!<status>:<why>". */
static const char *ev(const char *cmd, uint32_t tag)
{
    static char out[1024];
    ctp_eval e = {script, lut, &src, 1700000000, CTP_OK, "", 0};
    char *v = ctp_eval_script(&e, cmd, tag);

    if (v == NULL) {
        snprintf(out, sizeof out, "!%d:%s", e.status, e.why);
    } else {
        snprintf(out, sizeof out, "%s", v);
        free(v);
    }
    return out;
}

static void test_markers(void)
{
    CHECK_STR(ev("@keep()", 0x00081030), "@keep()");
    CHECK_STR(ev("@remove()", 0x00081030), "@remove()");
    CHECK_STR(ev("@empty()", 0x00081030), "@empty()");
    CHECK_STR(ev("@blank(4)", 0x00081030), "@blank(4)");
    CHECK_STR(ev("literal \\@ text", 0x00081030), "literal @ text");
    CHECK_STR(ev("@always()YES", 0x00120062), "YES");
}

static void test_hashuid(void)
{
    CHECK_STR(ev("@hashuid(@UIDROOT,this)", 0x00080018),
              "1.2.826.0.1.3680043.10.999.1334520174181281561457881635934467169" /* 64 */);
    /* absent UID: remove; the result is cut at 64 characters */
    CHECK_STR(ev("@hashuid(@UIDROOT,this)", 0x00200052), "@remove()");
    CHECK_STR(ev("@hashuid(@UIDROOT,SOPInstanceUID)", 0x0020000D),
              "1.2.826.0.1.3680043.10.999.1334520174181281561457881635934467169" /* 64 */);
    CHECK(strlen(ev("@hashuid(@UIDROOT,this)", 0x00080018)) <= 64);
    /* a third element's rule runs, and may name another: 7 rules, a result */
    CHECK(strncmp(ev("@hashuid(@UIDROOT,SOPInstanceUID,OperatorsName)", 0x00080018),
                  "1.2.826.0.1.3680043.10.999.", 27) == 0);
    /* a rule naming itself: refused at the nesting limit, not a stack overflow */
    CHECK_CONTAINS(ev("@hashuid(@UIDROOT,SOPInstanceUID,ManufacturerModelName)", 0x00080018),
                   "@hashuid rules nested more than 16 deep");
    /* rules naming the next one twice, 7 deep: 255 runs would be made, 64 are allowed */
    CHECK_CONTAINS(ev("@hashuid(@UIDROOT,SOPInstanceUID,StudyID)", 0x00080018),
                   "more than 64 rules evaluated for one element");
}

static void test_hash(void)
{
    CHECK_STR(ev("@hash(this,16)", 0x00080050), "2819497684894126"); /* MD5 of "" */
    CHECK_STR(ev("@hash(this)", 0x00080050), "281949768489412648962353822266799178366");
    CHECK_STR(ev("@hash(this,@LEN)", 0x00080050), "28194976");
    CHECK_STR(ev("@hash(this,16)", 0x00200010), "@remove()"); /* absent */
    CHECK_STR(ev("@hashptid(@SITEID,PatientID)", 0x00120040),
              "318077859799867173970249197166289146001");
}

static void test_dates(void)
{
    CHECK_STR(ev("@incrementdate(this,@DATEINC)", 0x00080020), "20030405");
    CHECK_STR(ev("@incrementdate(this,365)", 0x00080020), "20040504"); /* over 29 Feb 2004 */
    CHECK_STR(ev("@incrementdate(this,@DATEINC)", 0x00080022), "20030405\\20031202");
    CHECK_STR(ev("@incrementdate(this,@DATEINC)", 0x00080023), "@empty()");  /* too short */
    CHECK_STR(ev("@incrementdate(this,@DATEINC)", 0x00080030), "@remove()"); /* absent */
    CHECK_STR(ev("@incrementdate(this,1)", 0x00080021), "20030303");         /* 30 Feb = 2 Mar */
    CHECK_STR(ev("@modifydate(this,*,1,1)", 0x00080020), "20030101");
    CHECK_STR(ev("@modifydate(this,1999,*,*)", 0x00080020), "19990505");
    CHECK_STR(ev("@modifydate(this,*,2,31)", 0x00080020), "20030303"); /* lenient */
    CHECK_STR(ev("@modifydate(this,*,1,1)", 0x00080023), "@empty()");
    /* hashdate: MD5 of the PatientID, its last 4 digits mod 3650, days back */
    CHECK_STR(ev("@hashdate(this,PatientID)", 0x00080020),
              "19960110" /* MD5 ...6322: 2672 days back */);
    CHECK_STR(ev("@hashdate(this,StudyID)", 0x00080020), "@remove()");
}

static const char *inc(const char *date, int32_t days)
{
    static char out[256];
    ctp_buf b = {0};

    snprintf(out, sizeof out, "%s",
             ctp_date_increment(date, strlen(date), days, &b) < 0 ? "(throws)" : b.data);
    ctp_buf_free(&b);
    return out;
}

static const char *mod(const char *date, int32_t y, int32_t m, int32_t d)
{
    static char out[256];
    ctp_buf b = {0};

    snprintf(out, sizeof out, "%s",
             ctp_date_modify(date, strlen(date), y, m, d, &b) < 0 ? "(throws)" : b.data);
    ctp_buf_free(&b);
    return out;
}

/* The rules of the CTP the original shipped (util.jar's DateUtil); tests/vectors/dates holds
 * what the jar itself made of many more values. */
static void test_dates_direct(void)
{
    long long v;

    CHECK_STR(inc("00030101", 0), "19030101"); /* "00" years read as "19" */
    CHECK_STR(inc("20001231", 1), "20010101");
    CHECK_STR(inc("15821015", -1), "15821004");  /* the Julian calendar before */
    CHECK_STR(inc("1993.04.30", 1), "(throws)"); /* '.' and '/' are not dropped */
    CHECK_STR(inc("1993/04/30", 1), "(throws)");
    CHECK_STR(inc("1993-04-30", 1), "1993-05-01");         /* '-' dropped, and written back */
    CHECK_STR(inc("19930430123045", 1), "19930501123045"); /* a DT: the time is kept */
    CHECK_STR(inc("19930430253045", 1), "19930502253045"); /* hour 25 carries a day */
    CHECK_STR(inc("199304301", 1), "(throws)");            /* HHmm needs 4 digits */
    CHECK_STR(inc("1993043012304", 1), "1993050112304");   /* seconds "4" */
    CHECK_STR(inc("1993", 1), "(throws)");
    CHECK_STR(inc("19930430T12:30", 1), "19930501T12:30"); /* 'T' and ':' dropped */
    CHECK_STR(mod("19930430", -1, 1, 1), "19930101");
    CHECK_STR(mod("19930430253000", 2000, 1, 1), "20000102253000"); /* time carries after */
    CHECK_STR(mod("19930430253000", -1, 1, 1), "19930101253000");   /* normalized before */
    CHECK_STR(mod("1993-04-30", -1, 1, 1), "1993-01-01");
    CHECK(ctp_date_parse_long("+12", 3, INT32_MIN, INT32_MAX, &v) == 0 && v == 12);
    CHECK(ctp_date_parse_long("2147483648", 10, INT32_MIN, INT32_MAX, &v) < 0);
    CHECK(ctp_date_parse_long(" 1", 2, INT32_MIN, INT32_MAX, &v) < 0);
    /* what dcm4che stores in DA, TM, DT (else CTP keeps the old value) */
    CHECK(ctp_date_vr_accepts("DA", "19930430"));
    CHECK(ctp_date_vr_accepts("DA", "19930430123045")); /* the day read from index 6 */
    CHECK(!ctp_date_vr_accepts("DA", "1993-04-30"));
    CHECK(!ctp_date_vr_accepts("DA", "19930430\\1993"));
    CHECK(ctp_date_vr_accepts("TM", "1230"));
    CHECK(ctp_date_vr_accepts("TM", "12:30:45.5"));
    CHECK(!ctp_date_vr_accepts("TM", "12"));
    CHECK(ctp_date_vr_accepts("DT", "19930430123045.5+0100"));
    CHECK(!ctp_date_vr_accepts("DT", "1993043"));
    CHECK(ctp_date_vr_accepts("LO", "anything"));
}

static void test_lookup(void)
{
    CHECK_STR(ev("@lookup(this,ptid)", 0x00100020), "SUBJ-1");
    CHECK_STR(ev("@lookup(PatientName|PatientID,pair)", 0x00100020), "BOTH");
    CHECK_STR(ev("@lookup(this,ind)", 0x00100020), "SUBJ-1"); /* @ptid/PAT1 */
    CHECK_CONTAINS(ev("@lookup(this,nokey)", 0x00100020), "!1:@lookup(this,nokey): missing key");
    CHECK_STR(ev("@lookup(this,nokey,keep)", 0x00100020), "@keep()");
    CHECK_STR(ev("@lookup(this,nokey,remove)", 0x00100020), "@remove()");
    CHECK_STR(ev("@lookup(this,nokey,empty)", 0x00100020), "@empty()");
    CHECK_STR(ev("@lookup(this,nokey,default,NONE)", 0x00100020), "NONE");
    CHECK_CONTAINS(ev("@lookup(StudyID,ptid)", 0x00100020), "missing key (ptid/)");
}

static void test_param_and_text(void)
{
    CHECK_STR(ev("Anonymous^@param(@SITEID)", 0x00100010), "Anonymous^42");
    CHECK_STR(ev("@param(@PROFILE)", 0x00120063), "Basic & more");
    CHECK_STR(ev("@contents(PatientName)", 0x00100010), "Doe^John^Q");
    CHECK_STR(ev("@value(StudyID,none)", 0x00100010), "none");
    CHECK_STR(ev("@truncate(PatientName,3)", 0x00100010), "Doe");
    CHECK_STR(ev("@truncate(PatientName,-1)", 0x00100010), "Q");
    CHECK_STR(ev("@uppercase(StudyDescription)", 0x00081030), "BRAIN MRI");
    CHECK_STR(ev("@lowercase(StudyDescription)", 0x00081030), "brain mri");
    CHECK_STR(ev("@initials(PatientName)", 0x00100010), "JQD");
    CHECK_STR(ev("@round(PatientAge,5)", 0x00101010), "045Y");
    CHECK_STR(ev("@date()", 0x00120063), "20231114"); /* 1700000000 in UTC */
    CHECK_STR(ev("@date(-)", 0x00120063), "2023-11-14");
    CHECK_STR(ev("@time(:)", 0x00120063), "22:13:20");
}

static void test_append(void)
{
    CHECK_STR(ev("@append(){CTP: @param(@SITEID)}", 0x00120063), "OLD\\METHOD\\CTP: 42");
    CHECK_STR(ev("@append(){CTP}", 0x00081040), "CTP"); /* absent */
    CHECK_STR(ev("@append(){CTP}", 0x00080050), "CTP"); /* empty */
}

static void test_if(void)
{
    CHECK_STR(ev("@if(this,isblank){@remove()}{X}", 0x00100010), "X");
    CHECK_STR(ev("@if(this,isblank){@remove()}{X}", 0x00080050), "@remove()");
    CHECK_STR(ev("@if(this,isblank){@remove()}{X}", 0x00081040), "@remove()"); /* absent */
    CHECK_STR(ev("@if(this,exists){yes}{no}", 0x00101002), "yes"); /* a sequence exists */
    CHECK_STR(ev("@if(StudyID,exists){yes}{no}", 0x00100010), "no");
    CHECK_STR(ev("@if(StudyDescription,contains,mri){yes}{no}", 0x00100010), "yes");
    CHECK_STR(ev("@if(StudyDescription,equals,\"BRAIN MRI\"){yes}{no}", 0x00100010), "yes");
    CHECK_STR(ev("@if(StudyDescription,equals,brain){yes}{no}", 0x00100010), "no");
    CHECK_STR(ev("@if(PatientAge,greaterthan,46){old}{young}", 0x00101010), "old");
    CHECK_STR(ev("@if(this,isblank){A}{@if(PatientID,equals,PAT1){B}{C}}", 0x00100010), "B");
    CHECK_STR(ev("@select(){root}{item}", 0x00100010), "root");
}

static void test_require(void)
{
    CHECK_STR(ev("@require()", 0x00100010), "@keep()");
    CHECK_STR(ev("@require()", 0x00180015), "@blank(0)");
    CHECK_STR(ev("@require(PatientID)", 0x00180015), "PAT1");
    CHECK_STR(ev("@require(StudyID,\"UNKNOWN\")", 0x00180015), "UNKNOWN");
}

static void test_quarantine(void)
{
    CHECK_STR(ev("@quarantine()", 0x00100010), "!1:@quarantine()");
    CHECK_STR(ev("@skip()", 0x00100010), "!2:@skip()");
}

/* Loads a script text; returns the error ("" when it loaded). */
static const char *load(const char *text)
{
    static char err[CTP_ERR_LEN];
    ctp_script *s = NULL;

    err[0] = '\0';
    if (ctp_script_parse(text, strlen(text), "t.script", &s, err) == 0)
        ctp_script_free(s);
    return err;
}

static void test_script_errors(void)
{
    CHECK_STR(load("<script>\n<e en=\"T\" t=\"00100010\">@keep()</e></script>"), "");
    CHECK_STR(load("<script>\n\n<e en=\"T\" t=\"00100010\" n=\"X\">@frobnicate(this)</e>\n"
                   "</script>"),
              "t.script:3: <e t=\"00100010\" n=\"X\">: unknown function @frobnicate");
    CHECK_CONTAINS(load("<script>\n<e en=\"T\" t=\"00100010\">@encrypt(this,@K)</e></script>"),
                   "t.script:2: <e t=\"00100010\" n=\"\">: @encrypt is not supported");
    CHECK_CONTAINS(load("<script>\n<e en=\"T\" t=\"00080018\">@hashuid(@NOPE,this)</e></script>"),
                   "t.script:2: <e t=\"00080018\" n=\"\">: @hashuid: parameter @NOPE is not "
                   "defined");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\">@hash(NoSuchName,4)</e></script>"),
                   "\"NoSuchName\" is not an element name");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\">@if(this,matches,x){a}{b}</e>"
                        "</script>"),
                   "condition \"matches\" is not supported");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\">@if(this,isblank){a}b</e></script>"),
                   "CTP would ignore the text after it");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\">a@b</e></script>"), "no '('");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\">@hash(this</e></script>"),
                   "no ')' closing the arguments");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\">@lookup(this,ptid,ignore,x)</e>"
                        "</script>"),
                   "action \"ignore\" is not supported");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"0010001\">@keep()</e></script>"),
                   "t must be 8 hex digits");
    CHECK_CONTAINS(load("<script>\n<e en=\"T\" t=\"00100010\">@keep()</e>\n"
                        "<e en=\"T\" t=\"00100010\">@remove()</e></script>"),
                   "t.script:3: <e t=\"00100010\">: a second rule for the element (the first "
                   "is on line 2)");
    CHECK_CONTAINS(load("<script><k en=\"T\" t=\"safeprivateelements\"/></script>"),
                   "safe private elements is not supported");
    CHECK_CONTAINS(load("<script><r en=\"T\" t=\"everything\"/></script>"), "unknown removal");
    CHECK_CONTAINS(load("<script><x/></script>"), "<x> is not a CTP script element");
    /* XML itself */
    CHECK_CONTAINS(load("<script>\n<e en=\"T\" t=\"00100010\">@keep()</script>"),
                   "</script> closes <e>");
    CHECK_CONTAINS(load("<!DOCTYPE x [<!ENTITY a \"b\">]><script/>"), "DOCTYPE");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\">&bogus;</e></script>"),
                   "unknown entity");
    CHECK_CONTAINS(load("<script><e en=\"T\" t=\"00100010\"><b/></e></script>"),
                   "may hold only text");
    CHECK_CONTAINS(load("<other/>"), "not <script>");
    CHECK_CONTAINS(load("<script></script>trailing"), "text after </script>");
    CHECK_CONTAINS(load(""), "<script> expected");
    /* disabled rules are not checked, as CTP never runs them */
    CHECK_STR(load("<script><e en=\"F\" t=\"00100010\">@frobnicate()</e><e t=\"x\">@x</e>"
                   "</script>"),
              "");
    CHECK_STR(load("<script><!-- c --><e en=\"T\" t=\"00100010\"><![CDATA[@keep()]]></e>"
                   "<k en=\"T\" t=\"18\"/><r en=\"T\" t=\"curves\"></r></script>"),
              "");
}

static void test_script_model(void)
{
    const ctp_rule *r = ctp_script_rule(script, 0x00100020);

    CHECK(r != NULL && r->line == 10 && strcmp(r->script, "@lookup(this,ptid)") == 0);
    CHECK(ctp_script_rule(script, 0x00100030) == NULL); /* disabled */
    CHECK_STR(ctp_script_param(script, "PROFILE"), "Basic & more");
    CHECK(ctp_script_param(script, "NOPE") == NULL);
    CHECK(ctp_script_rules(script) == 11);
    /* names: hex, keywords, dcm4che spellings, private rule names, block references */
    {
        uint32_t tag = 0;
        CHECK(ctp_name_tag(script, NULL, "(0010,0020)", 11, &tag) == 1 && tag == 0x00100020);
        CHECK(ctp_name_tag(script, NULL, "[10,20]", 7, &tag) == 1 && tag == 0x00100020);
        CHECK(ctp_name_tag(script, NULL, "00100020", 8, &tag) == 1 && tag == 0x00100020);
        CHECK(ctp_name_tag(script, NULL, "PatientID", 9, &tag) == 1 && tag == 0x00100020);
        CHECK(ctp_name_tag(script, NULL, "RefSOPInstanceUID", 17, &tag) == 1 && tag == 0x00081155);
        CHECK(ctp_name_tag(script, NULL, "OtherPatientIDsSeq", 18, &tag) == 1 && tag == 0x00101002);
        CHECK(ctp_name_tag(script, NULL, "AcmeThing", 9, &tag) == 1 && tag == 0x00091010);
        CHECK(ctp_name_tag(script, &src, "0009[acme 1.0]10", 16, &tag) == 1 && tag == 0x00091010);
        CHECK(ctp_name_tag(script, NULL, "NotAName", 8, &tag) == 0);
    }
}

static void test_lut(void)
{
    char err[CTP_ERR_LEN];
    ctp_lut *l = ctp_lut_new();
    const char *text = "# comment\n! also\n  ptid/A = one\nptid/B:two\n"
                       "ptid/C   three \\\n    continued\nptid\\ D=\\u00e9\\t\n\n"
                       "ptid/A=replaced\r\nptid/E\n";

    CHECK(ctp_lut_parse(l, text, strlen(text), "t.properties", err) == 0);
    CHECK_STR(ctp_lut_get(l, "ptid/A"), "replaced");
    CHECK_STR(ctp_lut_get(l, "ptid/B"), "two");
    CHECK_STR(ctp_lut_get(l, "ptid/C"), "three continued");
    CHECK_STR(ctp_lut_get(l, "ptid D"), "\xc3\xa9\t");
    CHECK_STR(ctp_lut_get(l, "ptid/E"), "");
    CHECK(ctp_lut_size(l) == 5);
    CHECK(ctp_lut_parse(l, "k=\\u12", 6, "t.properties", err) < 0);
    CHECK_CONTAINS(err, "t.properties:1: malformed \\uXXXX");
    ctp_lut_free(l);
}

static void test_md5(void)
{
    char out[40];

    CHECK(ctp_md5_decimal("abc", 3, out) == 0);
    CHECK_STR(out, "191415658344158766168031473277922803570");
    CHECK(ctp_md5_decimal("98890234", 8, out) == 0);
    CHECK_STR(out, "279486074399696080977791397884325743903");
}

int main(void)
{
    char err[CTP_ERR_LEN];

    if (ctp_script_parse(script_text, strlen(script_text), "test.script", &script, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    lut = ctp_lut_new();
    ctp_lut_set(lut, "ptid/PAT1", "SUBJ-1");
    ctp_lut_set(lut, "pair/Doe^John^Q|PAT1", "BOTH");
    ctp_lut_set(lut, "ind/PAT1", "@ptid/PAT1");
    setenv("TZ", "UTC", 1);
    RUN(test_markers);
    RUN(test_hashuid);
    RUN(test_hash);
    RUN(test_dates);
    RUN(test_dates_direct);
    RUN(test_lookup);
    RUN(test_param_and_text);
    RUN(test_append);
    RUN(test_if);
    RUN(test_require);
    RUN(test_quarantine);
    RUN(test_script_errors);
    RUN(test_script_model);
    RUN(test_lut);
    RUN(test_md5);
    ctp_script_free(script);
    ctp_lut_free(lut);
    return HARNESS_RESULT();
}
