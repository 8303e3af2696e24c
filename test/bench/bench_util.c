/*
 * Benchmark programs: the clock, the TPM command counters and the result lines. Both programs
 * print the same shape, one figure per line, so bench.sh can join them by figure name:
 *
 *     stdout:  sign_ecdsa_p256        1523.4 /s      2.00 cmds/op  Sign=1 ContextLoad=0.5 ...
 *     CSV:     figure,value,unit,ops,cmds_per_op,cmds_detail,status
 *
 * The counters are those of the counting TCTI (test/harness/tcti-count.c), shared through
 * the file TPMTOK_TCTI_COUNT names: whoever sends the commands (the module under test, or
 * bench_tpm itself) adds to them, and the figure reads the difference around its timed part.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_tpm2_types.h>

#include "bench/bench_util.h"

static const char *const unit_names[] = {
    [BENCH_PER_S] = "/s", [BENCH_MIB_S] = "MiB/s", [BENCH_MS] = "ms",
};

/* The commands a PKCS#11 module on a TPM sends; others print as hex codes. */
static const struct {
    uint32_t cc;
    const char *name;
} cc_names[] = {
    { TPM2_CC_CreatePrimary, "CreatePrimary" }, { TPM2_CC_Create, "Create" },
    { TPM2_CC_CreateLoaded, "CreateLoaded" }, { TPM2_CC_Load, "Load" },
    { TPM2_CC_LoadExternal, "LoadExternal" }, { TPM2_CC_Import, "Import" },
    { TPM2_CC_Sign, "Sign" }, { TPM2_CC_RSA_Decrypt, "RSA_Decrypt" },
    { TPM2_CC_EncryptDecrypt, "EncryptDecrypt" }, { TPM2_CC_EncryptDecrypt2, "EncryptDecrypt2" },
    { TPM2_CC_HashSequenceStart, "HashSequenceStart" }, { TPM2_CC_HMAC_Start, "HMAC_Start" },
    { TPM2_CC_SequenceUpdate, "SequenceUpdate" }, { TPM2_CC_SequenceComplete, "SequenceComplete" },
    { TPM2_CC_Hash, "Hash" }, { TPM2_CC_HMAC, "HMAC" },
    { TPM2_CC_ContextSave, "ContextSave" }, { TPM2_CC_ContextLoad, "ContextLoad" },
    { TPM2_CC_FlushContext, "FlushContext" }, { TPM2_CC_StartAuthSession, "StartAuthSession" },
    { TPM2_CC_Unseal, "Unseal" }, { TPM2_CC_ReadPublic, "ReadPublic" },
    { TPM2_CC_GetCapability, "GetCapability" }, { TPM2_CC_GetRandom, "GetRandom" },
    { TPM2_CC_StirRandom, "StirRandom" }, { TPM2_CC_TestParms, "TestParms" },
    { TPM2_CC_ObjectChangeAuth, "ObjectChangeAuth" }, { TPM2_CC_ECDH_ZGen, "ECDH_ZGen" },
    { TPM2_CC_PolicyAuthValue, "PolicyAuthValue" }, { TPM2_CC_PolicySecret, "PolicySecret" },
    { TPM2_CC_Startup, "Startup" }, { TPM2_CC_VerifySignature, "VerifySignature" },
    { TPM2_CC_DictionaryAttackLockReset, "DALockReset" }, { TPM2_CC_ReadClock, "ReadClock" },
};

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool bench_more(unsigned n, unsigned max, double spent, double seconds)
{
    return n == 0 || (n < max && spent < seconds);
}

void bench_rounds_start(struct bench_rounds *r, double seconds)
{
    *r = (struct bench_rounds){ .round_secs = seconds / BENCH_ROUNDS };
}

/* Keeps the round just ended if it was the fastest. */
static void rounds_close(struct bench_rounds *r)
{
    if (r->n > 0 && (r->best_n == 0 || r->n / r->secs > r->best_n / r->best_secs)) {
        r->best_n = r->n;
        r->best_secs = r->secs;
    }
    r->n = 0;
    r->secs = 0.0;
}

void bench_rounds_add(struct bench_rounds *r, double secs)
{
    r->n++;
    r->secs += secs;
    if (r->secs >= r->round_secs)
        rounds_close(r);
}

void bench_rounds_result(const struct bench_rounds *r, unsigned total_n, double total_secs,
                         unsigned *n, double *secs)
{
    if (r->best_n >= 3 && r->best_secs > 0.0) {
        *n = r->best_n;
        *secs = r->best_secs;
        return;
    }
    *n = total_n;
    *secs = total_secs;
}

bool bench_wanted(const struct bench_out *o, const char *figure)
{
    const char *p = o->only;

    if (p == NULL || *p == '\0')
        return true;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (len > 0 && strncmp(figure, p, len) == 0)
            return true;
        p += len;
        p += *p == ',';
    }
    return false;
}

bool bench_wanted_group(const struct bench_out *o, const char *group)
{
    const char *p = o->only;
    size_t group_len = strlen(group);

    if (p == NULL || *p == '\0')
        return true;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        size_t common = len < group_len ? len : group_len;
        if (len > 0 && strncmp(group, p, common) == 0)
            return true;
        p += len;
        p += *p == ',';
    }
    return false;
}

/* The counters in path, mapped shared as the counting TCTI maps them; NULL with a message. */
static struct tcti_count *counts_map(const char *path)
{
    struct tcti_count *counts = NULL;
    struct stat st;
    void *m;
    int fd;

    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    /* The TCTI grows the file too; whoever comes first makes it big enough. */
    if (fstat(fd, &st) != 0 ||
        ((size_t)st.st_size < sizeof *counts && ftruncate(fd, sizeof *counts) != 0)) {
        fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
        goto out;
    }
    m = mmap(NULL, sizeof *counts, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED)
        counts = m;
out:
    close(fd);
    return counts;
}

int bench_out_open(struct bench_out *o, const char *csv_path, const char *only)
{
    const char *count_path = getenv("TPMTOK_TCTI_COUNT");

    o->csv = NULL;
    o->only = only;
    o->counts = NULL;
    if (count_path != NULL && *count_path != '\0' && (o->counts = counts_map(count_path)) == NULL)
        return -1;
    if (csv_path == NULL)
        return 0;
    if ((o->csv = fopen(csv_path, "w")) == NULL) {
        fprintf(stderr, "bench: %s: %s\n", csv_path, strerror(errno));
        return -1;
    }
    fprintf(o->csv, "figure,value,unit,ops,cmds_per_op,cmds_detail,status\n");
    return 0;
}

void bench_out_close(struct bench_out *o)
{
    if (o->csv != NULL)
        fclose(o->csv);
    o->csv = NULL;
    if (o->counts != NULL)
        munmap(o->counts, sizeof *o->counts);
    o->counts = NULL;
}

void bench_cmds_snap(const struct bench_out *o, struct bench_cmds *now)
{
    if (o->counts == NULL) {
        memset(now, 0, sizeof *now);
        return;
    }
    now->total = __atomic_load_n(&o->counts->total, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < TCTI_COUNT_CC_SLOTS; i++)
        now->by_cc[i] = __atomic_load_n(&o->counts->by_cc[i], __ATOMIC_RELAXED);
}

void bench_cmds_add_since(const struct bench_out *o, const struct bench_cmds *before,
                          struct bench_cmds *sum)
{
    struct bench_cmds now;

    if (o->counts == NULL)
        return;
    bench_cmds_snap(o, &now);
    sum->total += now.total - before->total;
    for (unsigned i = 0; i < TCTI_COUNT_CC_SLOTS; i++)
        sum->by_cc[i] += now.by_cc[i] - before->by_cc[i];
}

/* Few digits for big numbers, more for small ones: the table stays readable. */
static int decimals(double v)
{
    if (v >= 100.0)
        return 0;
    if (v >= 10.0)
        return 1;
    if (v >= 1.0)
        return 2;
    return 3;
}

static void cc_name(uint32_t cc, char *out, size_t len)
{
    for (size_t i = 0; i < sizeof cc_names / sizeof cc_names[0]; i++) {
        if (cc_names[i].cc == cc) {
            snprintf(out, len, "%s", cc_names[i].name);
            return;
        }
    }
    snprintf(out, len, "0x%x", cc);
}

/*
 * "Sign=1 ContextLoad=0.5": the commands per operation, most frequent first, leaving out those
 * sent less than once in 200 operations.
 */
static void cmds_detail(const struct bench_cmds *cmds, unsigned n, char *out, size_t len)
{
    bool shown[TCTI_COUNT_CC_SLOTS] = { false };
    size_t used = 0;

    out[0] = '\0';
    for (;;) {
        unsigned best = TCTI_COUNT_CC_SLOTS;
        char name[32];
        double per_op;
        bool whole;
        int w;
        for (unsigned i = 0; i < TCTI_COUNT_CC_SLOTS; i++)
            if (!shown[i] && cmds->by_cc[i] * 200 >= n && cmds->by_cc[i] > 0 &&
                (best == TCTI_COUNT_CC_SLOTS || cmds->by_cc[i] > cmds->by_cc[best]))
                best = i;
        if (best == TCTI_COUNT_CC_SLOTS)
            return;
        shown[best] = true;
        cc_name(best + TCTI_COUNT_CC_FIRST, name, sizeof name);
        per_op = (double)cmds->by_cc[best] / n;
        whole = cmds->by_cc[best] % n == 0;
        w = snprintf(out + used, len - used, "%s%s=%.*f", used ? " " : "", name, whole ? 0 : 2,
                     per_op);
        if (w < 0 || (size_t)w >= len - used) {
            out[used] = '\0';
            return;
        }
        used += (size_t)w;
    }
}

void bench_value(struct bench_out *o, const char *figure, enum bench_unit unit, double value,
                 unsigned n, const struct bench_cmds *cmds)
{
    char detail[512] = "";
    double per_op = -1.0;

    if (o->counts != NULL && cmds != NULL && n > 0) {
        per_op = (double)cmds->total / n;
        cmds_detail(cmds, n, detail, sizeof detail);
    }
    printf("%-26s %12.*f %-6s", figure, decimals(value), value, unit_names[unit]);
    if (per_op >= 0)
        printf(" %8.2f cmds/op  %s", per_op, detail);
    printf("\n");
    fflush(stdout);
    if (o->csv == NULL)
        return;
    fprintf(o->csv, "%s,%.*f,%s,%u,", figure, decimals(value) + 1, value, unit_names[unit], n);
    if (per_op >= 0)
        fprintf(o->csv, "%.2f", per_op);
    fprintf(o->csv, ",%s,ok\n", detail);
    fflush(o->csv);
}

void bench_result(struct bench_out *o, const char *figure, enum bench_unit unit, unsigned n,
                  double secs, double scale, unsigned cmd_ops, const struct bench_cmds *cmds)
{
    double value = 0.0;

    if (secs <= 0.0)
        secs = 1e-9;   /* a clock that did not move: report a huge rate, not a division by 0 */
    switch (unit) {
    case BENCH_PER_S: value = n / secs; break;
    case BENCH_MIB_S: value = n * scale / secs; break;
    case BENCH_MS: value = n ? secs * 1e3 / n : 0.0; break;
    }
    bench_value(o, figure, unit, value, cmd_ops, cmds);
}

void bench_fail(struct bench_out *o, const char *figure, const char *why)
{
    printf("%-26s %12s %s\n", figure, "FAIL", why);
    fflush(stdout);
    if (o->csv == NULL)
        return;
    fprintf(o->csv, "%s,,,,,,FAIL %s\n", figure, why);
    fflush(o->csv);
}
