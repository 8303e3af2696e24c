/*
 * bench_p11: times a PKCS#11 module through its function list only, so tpmtok and any other
 * module (SoftHSM, a smart card) are measured alike:
 *
 *     bench_p11 --module PATH --token LABEL --pin PIN [--seconds S] [--csv FILE] [--objects N]
 *               [--keep-objects] [--only FIGURES]
 *
 * One line per figure (bench_util.c has the shape). This file loads the module, logs in and
 * owns the figures about the store: cold start with 0, N/10 and N token objects, and a search by
 * CKA_ID among N. The objects are EC public keys (cheap for any module: no key material to
 * protect, and unlike CKO_DATA they may carry a CKA_ID), marked by a CKA_SUBJECT of our own so
 * a later run finds and removes them. bench_p11_crypto.c has the cryptographic figures.
 *
 * With TPMTOK_TCTI_COUNT naming the counting TCTI's file (test/harness/tcti-count.c), each line
 * also gives the TPM commands per operation.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench_p11.h"
#include "util/rv.h"

struct opts {
    const char *module, *token, *pin, *csv;
    const char *only;     /* --only: figure prefixes */
    double seconds;       /* budget of each figure */
    bool keep;            /* leave the filler objects in the token */
    unsigned objects;     /* filler objects for the largest store */
};

/* The token objects that fill the store, as far as this run knows them. */
struct fillers {
    CK_OBJECT_HANDLE *h;
    unsigned n, cap;
};

/* CKA_SUBJECT of the fillers: how a later run tells them from the user's objects. */
static const char filler_subject[] = "tpmtok bench filler object";
/* P-256 and its base point: a valid public key every module accepts. */
static const CK_BYTE p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE p256_g[] = {
    0x04, 0x41, 0x04,
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
    0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};

CK_RV p11_check(struct p11 *p, const char *fn, CK_RV rv)
{
    if (rv != CKR_OK)
        p->failed_in = fn;
    return rv;
}

CK_RV p11_run(struct p11 *p, p11_op op, p11_op after, void *arg, unsigned max, struct timed *t)
{
    CK_RV rv = CKR_OK;

    struct bench_cmds before;

    memset(t, 0, sizeof *t);
    bench_rounds_start(&t->rounds, p->seconds);
    while (rv == CKR_OK && bench_more(t->n, max, t->secs, p->seconds)) {
        double t0, secs;
        bench_cmds_snap(p->out, &before);
        t0 = bench_now();
        rv = op(p, arg, t->n);
        secs = bench_now() - t0;
        t->secs += secs;
        bench_cmds_add_since(p->out, &before, &t->cmds);
        if (rv != CKR_OK)
            break;
        t->n++;
        bench_rounds_add(&t->rounds, secs);
        if (after != NULL)
            rv = after(p, arg, t->n - 1);
    }
    return rv;
}

void p11_report(struct p11 *p, const char *figure, enum bench_unit unit, double scale,
                const struct timed *t, CK_RV rv)
{
    char why[160];
    unsigned n;
    double secs;

    if (rv != CKR_OK) {
        snprintf(why, sizeof why, "%s in %s", rv_name(rv), p->failed_in ? p->failed_in : "?");
        bench_fail(p->out, figure, why);
        return;
    }
    bench_rounds_result(&t->rounds, t->n, t->secs, &n, &secs);
    bench_result(p->out, figure, unit, n, secs, scale, t->n, &t->cmds);
}

/* dlopen + C_GetFunctionList. 0, or -1 with a message. */
static int module_load(struct p11 *p, const char *path)
{
    CK_C_GetFunctionList get;
    CK_RV rv;

    if ((p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        fprintf(stderr, "bench_p11: %s\n", dlerror());
        return -1;
    }
    if ((get = (CK_C_GetFunctionList)dlsym(p->dl, "C_GetFunctionList")) == NULL) {
        fprintf(stderr, "bench_p11: %s has no C_GetFunctionList\n", path);
        return -1;
    }
    if ((rv = get(&p->f)) != CKR_OK) {
        fprintf(stderr, "bench_p11: C_GetFunctionList: %s\n", rv_name(rv));
        return -1;
    }
    return 0;
}

static CK_RV initialize(struct p11 *p)
{
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };

    return p11_check(p, "C_Initialize", p->f->C_Initialize(&args));
}

/* Whether the token in slot carries p->label (blank padded to 32 bytes). */
static bool slot_has_label(struct p11 *p, CK_SLOT_ID slot)
{
    CK_TOKEN_INFO ti;
    char want[32];
    size_t len = strlen(p->label);

    if (p->f->C_GetTokenInfo(slot, &ti) != CKR_OK || len > sizeof want)
        return false;
    memset(want, ' ', sizeof want);
    memcpy(want, p->label, len);
    return memcmp(ti.label, want, sizeof want) == 0;
}

/*
 * C_GetSlotList as applications call it (size, then list). If the slot found earlier is still
 * there it is taken as is, as an application that remembers it would; else the token is
 * looked up by label. CKR_OK, CKR_TOKEN_NOT_PRESENT or the module's error.
 */
static CK_RV find_slot(struct p11 *p, bool known)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    CK_RV rv;

    if ((rv = p11_check(p, "C_GetSlotList", p->f->C_GetSlotList(CK_TRUE, NULL, &n))) != CKR_OK)
        goto out;
    if ((slots = calloc(n ? n : 1, sizeof *slots)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if ((rv = p11_check(p, "C_GetSlotList", p->f->C_GetSlotList(CK_TRUE, slots, &n))) != CKR_OK)
        goto out;
    for (CK_ULONG i = 0; known && i < n; i++)
        if (slots[i] == p->slot)
            goto out;
    rv = p11_check(p, "C_GetTokenInfo", CKR_TOKEN_NOT_PRESENT);
    for (CK_ULONG i = 0; i < n; i++) {
        if (slot_has_label(p, slots[i])) {
            p->slot = slots[i];
            rv = CKR_OK;
            break;
        }
    }
out:
    free(slots);
    return rv;
}

static CK_RV open_login(struct p11 *p)
{
    CK_RV rv;

    rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p->s);
    if (p11_check(p, "C_OpenSession", rv) != CKR_OK)
        return rv;
    rv = p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR_PTR)p->pin, (CK_ULONG)strlen(p->pin));
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    return p11_check(p, "C_Login", rv);
}

/* C_Initialize to C_Login: what an application pays before its first operation. */
static CK_RV start(struct p11 *p, bool known)
{
    CK_RV rv;

    if ((rv = initialize(p)) != CKR_OK)
        return rv;
    if ((rv = find_slot(p, known)) != CKR_OK)
        return rv;
    return open_login(p);
}

/* One cold start from a finalized module: C_Finalize is untimed, the rest is timed. */
static CK_RV cold_start_once(struct p11 *p, double *secs, struct bench_cmds *cmds)
{
    struct bench_cmds before;
    double t0;
    CK_RV rv;

    if ((rv = p11_check(p, "C_Finalize", p->f->C_Finalize(NULL))) != CKR_OK)
        return rv;
    bench_cmds_snap(p->out, &before);
    t0 = bench_now();
    rv = start(p, true);
    *secs = bench_now() - t0;
    bench_cmds_add_since(p->out, &before, cmds);
    return rv;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of 3 to 7 cold starts (fewer when they are slow), in ms. */
static void bench_cold_start(struct p11 *p, const char *figure)
{
    static struct timed t;   /* only its counters; static: they are big */
    double secs[7], spent = 0.0;
    unsigned n = 0;
    CK_RV rv = CKR_OK;

    memset(&t, 0, sizeof t);
    while (n < 3 || (n < 7 && spent < p->seconds)) {
        if ((rv = cold_start_once(p, &secs[n], &t.cmds)) != CKR_OK)
            break;
        spent += secs[n++];
    }
    if (rv != CKR_OK) {
        p11_report(p, figure, BENCH_MS, 0, &t, rv);
        return;
    }
    qsort(secs, n, sizeof secs[0], cmp_double);
    fprintf(stderr, "bench_p11: %s: median of %u, from %.2f to %.2f ms\n", figure, n,
            secs[0] * 1e3, secs[n - 1] * 1e3);
    bench_value(p->out, figure, BENCH_MS, secs[n / 2] * 1e3, n, &t.cmds);
}

static void filler_id(unsigned i, char id[24])
{
    snprintf(id, 24, "bench-obj-%06u", i);
}

/* Finds the fillers an earlier run left (handles are good until the next C_Finalize). */
static CK_RV fillers_find(struct p11 *p, struct fillers *fl)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_SUBJECT, (void *)filler_subject, sizeof filler_subject - 1 },
    };
    CK_ULONG got;
    CK_RV rv;

    fl->n = 0;
    rv = p->f->C_FindObjectsInit(p->s, tmpl, sizeof tmpl / sizeof tmpl[0]);
    if (p11_check(p, "C_FindObjectsInit", rv) != CKR_OK)
        return rv;
    do {
        if (fl->cap - fl->n < 1000) {
            CK_OBJECT_HANDLE *h = realloc(fl->h, (fl->cap + 4096) * sizeof *h);
            if (h == NULL) {
                rv = CKR_HOST_MEMORY;
                break;
            }
            fl->h = h;
            fl->cap += 4096;
        }
        rv = p->f->C_FindObjects(p->s, fl->h + fl->n, 1000, &got);
        if (p11_check(p, "C_FindObjects", rv) == CKR_OK)
            fl->n += (unsigned)got;
    } while (rv == CKR_OK && got > 0);
    p->f->C_FindObjectsFinal(p->s);
    return rv;
}

/* One filler: a token EC public key with CKA_ID and label from its number. */
static CK_RV filler_create(struct p11 *p, unsigned i, CK_OBJECT_HANDLE *h)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_EC;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    char id[24];
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_PRIVATE, &no, sizeof no },
        { CKA_ID, id, 0 }, { CKA_LABEL, id, 0 },
        { CKA_SUBJECT, (void *)filler_subject, sizeof filler_subject - 1 },
        { CKA_EC_PARAMS, (void *)p256_oid, sizeof p256_oid },
        { CKA_EC_POINT, (void *)p256_g, sizeof p256_g },
    };

    filler_id(i, id);
    tmpl[4].ulValueLen = tmpl[5].ulValueLen = (CK_ULONG)strlen(id);
    return p11_check(p, "C_CreateObject",
                     p->f->C_CreateObject(p->s, tmpl, sizeof tmpl / sizeof tmpl[0], h));
}

/* "0", "500", "1k", "10k": how figure names give store sizes. */
static void size_name(unsigned n, char *out, size_t len)
{
    if (n >= 1000 && n % 1000 == 0)
        snprintf(out, len, "%uk", n / 1000);
    else
        snprintf(out, len, "%u", n);
}

/*
 * Creates fillers until there are want; the first error ends it. Their creation is a figure of
 * its own (create_object): a store that takes long to fill says something too.
 */
static CK_RV fillers_grow(struct p11 *p, struct fillers *fl, unsigned want)
{
    static struct timed t;   /* static: the counters are big */
    struct bench_cmds before;
    char figure[48], size[16];
    double t0;
    CK_RV rv = CKR_OK;

    if (fl->n >= want)
        return CKR_OK;
    if (fl->cap < want) {
        CK_OBJECT_HANDLE *h = realloc(fl->h, want * sizeof *h);
        if (h == NULL)
            return CKR_HOST_MEMORY;
        fl->h = h;
        fl->cap = want;
    }
    memset(&t, 0, sizeof t);
    bench_cmds_snap(p->out, &before);
    t0 = bench_now();
    while (rv == CKR_OK && fl->n < want)
        if ((rv = filler_create(p, fl->n, &fl->h[fl->n])) == CKR_OK) {
            fl->n++;
            t.n++;
        }
    t.secs = bench_now() - t0;
    bench_cmds_add_since(p->out, &before, &t.cmds);
    size_name(want, size, sizeof size);
    snprintf(figure, sizeof figure, "create_object/%s", size);
    if (t.n > 0 && bench_wanted(p->out, figure))
        p11_report(p, figure, BENCH_MS, 0, &t, CKR_OK);
    return rv;
}

/* Removes the fillers, found afresh (a cold start may have changed the handles). */
static void fillers_destroy(struct p11 *p, struct fillers *fl)
{
    double t0 = bench_now();
    unsigned done = 0;

    if (fillers_find(p, fl) != CKR_OK)
        return;
    for (unsigned i = 0; i < fl->n; i++)
        if (p->f->C_DestroyObject(p->s, fl->h[i]) == CKR_OK)
            done++;
    fprintf(stderr, "bench_p11: destroyed %u token objects in %.1f s\n", done, bench_now() - t0);
}

struct find_arg {
    unsigned among;
    uint32_t rnd;
};

/* A search by CKA_ID for one filler picked at random: Init, FindObjects, Final. */
static CK_RV find_one(struct p11 *p, void *arg, unsigned i)
{
    struct find_arg *a = arg;
    CK_OBJECT_HANDLE h[2];
    CK_ULONG got = 0;
    char id[24];
    CK_ATTRIBUTE tmpl[] = { { CKA_ID, id, 0 } };
    CK_RV rv;

    a->rnd = a->rnd * 1103515245u + 12345u;
    filler_id((a->rnd >> 8) % a->among, id);
    tmpl[0].ulValueLen = (CK_ULONG)strlen(id);
    if ((rv = p11_check(p, "C_FindObjectsInit", p->f->C_FindObjectsInit(p->s, tmpl, 1))) != CKR_OK)
        return rv;
    rv = p11_check(p, "C_FindObjects", p->f->C_FindObjects(p->s, h, 2, &got));
    p->f->C_FindObjectsFinal(p->s);
    if (rv == CKR_OK && got != 1)
        rv = p11_check(p, "C_FindObjects (not exactly one object found)", CKR_GENERAL_ERROR);
    return rv;
}

static void bench_find(struct p11 *p, unsigned among, const char *figure)
{
    struct find_arg a = { among, 1 };
    struct timed t;
    CK_RV rv = p11_run(p, find_one, NULL, &a, 100000, &t);

    p11_report(p, figure, BENCH_MS, 0, &t, rv);
}

/* Cold starts with the store at 0, N/10 and N fillers, then the search among N. */
static CK_RV bench_store(struct p11 *p, const struct opts *o, struct fillers *fl)
{
    const unsigned sizes[] = { 0, o->objects / 10, o->objects }, last = 2;
    char figure[64], size[16];
    CK_RV rv;

    for (unsigned i = 0; i <= last; i++) {
        /* A store an earlier run filled (--keep-objects) is measured as it is, once. */
        if ((i > 0 && sizes[i] == sizes[i - 1]) || (fl->n > sizes[i] && i < last))
            continue;
        if ((rv = fillers_grow(p, fl, sizes[i])) != CKR_OK) {
            fprintf(stderr, "bench_p11: creating token objects: %s in %s\n", rv_name(rv),
                    p->failed_in);
            return rv;
        }
        size_name(fl->n, size, sizeof size);
        snprintf(figure, sizeof figure, "cold_start/%s", size);
        if (bench_wanted(p->out, figure))
            bench_cold_start(p, figure);
    }
    size_name(fl->n, size, sizeof size);
    snprintf(figure, sizeof figure, "find_by_id/%s", size);
    if (fl->n > 0 && bench_wanted(p->out, figure))
        bench_find(p, fl->n, figure);
    return CKR_OK;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: bench_p11 --module PATH --token LABEL --pin PIN [--seconds S] [--csv FILE]\n"
                "                 [--objects N] [--keep-objects] [--only FIGURES]\n"
                "  --seconds S     time budget of each figure (default 1)\n"
                "  --objects N     token objects in the largest store (default 10000; 0: none)\n"
                "  --keep-objects  leave them in the token (a later run reuses them)\n"
                "  --only FIGURES  comma-separated prefixes of the figures to run\n");
}

/* 0, 1 (--help) or 2 (bad usage). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        { "module", required_argument, NULL, 'm' }, { "token", required_argument, NULL, 't' },
        { "pin", required_argument, NULL, 'p' }, { "csv", required_argument, NULL, 'c' },
        { "seconds", required_argument, NULL, 's' }, { "objects", required_argument, NULL, 'n' },
        { "keep-objects", no_argument, NULL, 'k' }, { "only", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    char *end;
    int c;

    *o = (struct opts){ .objects = 10000, .seconds = 1.0 };
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->module = optarg; break;
        case 't': o->token = optarg; break;
        case 'p': o->pin = optarg; break;
        case 'c': o->csv = optarg; break;
        case 'o': o->only = optarg; break;
        case 'k': o->keep = true; break;
        case 's':
            o->seconds = strtod(optarg, &end);
            if (*end != '\0' || !(o->seconds > 0.0 && o->seconds <= 600.0)) {
                fprintf(stderr, "bench_p11: --seconds wants a number in (0, 600]\n");
                return 2;
            }
            break;
        case 'n':
            o->objects = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || *optarg == '-' || o->objects > 1000000) {
                fprintf(stderr, "bench_p11: --objects wants a number up to 1000000\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (o->module == NULL || o->token == NULL || o->pin == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    return 0;
}

/* Every figure, in an order that needs no re-login between them. */
static void bench_all(struct p11 *p, const struct opts *o, struct fillers *fl)
{
    if (bench_wanted_group(p->out, "cold_start") || bench_wanted_group(p->out, "find_by_id") ||
        bench_wanted_group(p->out, "create_object"))
        if (bench_store(p, o, fl) != CKR_OK)
            return;
    bench_sign(p);
    bench_digest(p);
    bench_cipher(p);
    bench_opstate(p);
    bench_keygen(p);
    bench_random(p);
}

int main(int argc, char **argv)
{
    struct opts o;
    struct bench_out out;
    struct p11 p = { .out = &out };
    struct fillers fl = { 0 };
    int ret;
    CK_RV rv;

    memset(&out, 0, sizeof out);
    if ((ret = parse_args(argc, argv, &o)) != 0)
        return ret == 1 ? 0 : 2;
    ret = 1;
    p.label = o.token;
    p.pin = o.pin;
    p.seconds = o.seconds;
    if (bench_out_open(&out, o.csv, o.only) != 0 || module_load(&p, o.module) != 0)
        goto out;
    if ((rv = start(&p, false)) != CKR_OK) {
        fprintf(stderr, "bench_p11: token \"%s\": %s in %s\n", o.token, rv_name(rv), p.failed_in);
        goto out;
    }
    if ((rv = fillers_find(&p, &fl)) != CKR_OK)
        fprintf(stderr, "bench_p11: looking for earlier objects: %s\n", rv_name(rv));
    bench_all(&p, &o, &fl);
    if (!o.keep)
        fillers_destroy(&p, &fl);
    p.f->C_Finalize(NULL);
    ret = 0;
out:
    free(fl.h);
    bench_out_close(&out);
    /* dlclose is left out on purpose: modules' atexit handlers may still point into them. */
    return ret;
}
