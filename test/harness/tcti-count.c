/*
 * Test harness: a TCTI that passes every command to another TCTI and counts it, so tests can
 * assert how many TPM commands an operation costs. tctildr loads it by path:
 *
 *     TPMTOK_TCTI="/abs/path/libtcti-count.so:swtpm:host=127.0.0.1,port=2321"
 *
 * (tctildr splits at the first ':'; the rest is the child's configuration, loaded with tctildr
 * in turn). The counts go to the file TPMTOK_TCTI_COUNT names (struct tcti_count, mapped
 * shared, so forked processes add to it and a test reads it while the module runs). Without
 * that variable the TCTI only passes commands on.
 *
 * TPMTOK_TCTI_DELAY makes chosen commands slow, as a laptop's TPM is: "0x153=400,0x131=300"
 * holds back the response of every TPM2_Create 400 ms and of every TPM2_CreatePrimary 300 ms.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>

#include "harness/tcti-count.h"

/* "tctcount" in ASCII: tells our contexts from others. */
static const uint64_t count_magic = 0x746374636f756e74ull;

#define MAX_DELAYS 8

struct count_ctx {
    TSS2_TCTI_CONTEXT_COMMON_V2 common;
    TSS2_TCTI_CONTEXT *child;
    struct tcti_count *counts;     /* NULL when no count file is named */
    struct {
        uint32_t cc;
        unsigned ms;
    } delays[MAX_DELAYS];          /* from TPMTOK_TCTI_DELAY */
    size_t n_delays;
    unsigned pending_ms;           /* the delay the command in flight gets */
};

static uint32_t command_code(const uint8_t *cmd, size_t size)
{
    if (cmd == NULL || size < 10)
        return 0;
    return (uint32_t)cmd[6] << 24 | (uint32_t)cmd[7] << 16 | (uint32_t)cmd[8] << 8 | cmd[9];
}

/* "cc=ms,cc=ms": command codes in any base strtoul reads. Bad entries end the list. */
static void delays_parse(struct count_ctx *c, const char *spec)
{
    char *end;

    while (spec != NULL && *spec != '\0' && c->n_delays < MAX_DELAYS) {
        unsigned long cc = strtoul(spec, &end, 0), ms;
        if (*end != '=')
            return;
        ms = strtoul(end + 1, &end, 10);
        c->delays[c->n_delays].cc = (uint32_t)cc;
        c->delays[c->n_delays].ms = (unsigned)ms;
        c->n_delays++;
        spec = *end == ',' ? end + 1 : NULL;
    }
}

static struct count_ctx *count_ctx_of(TSS2_TCTI_CONTEXT *ctx)
{
    struct count_ctx *c = (struct count_ctx *)ctx;

    if (c == NULL || c->common.v1.magic != count_magic)
        return NULL;
    return c;
}

/* The command code is the big-endian word after tag (2 bytes) and size (4 bytes). */
static void count_command(struct tcti_count *counts, const uint8_t *cmd, size_t size)
{
    uint32_t cc;

    __atomic_fetch_add(&counts->total, 1, __ATOMIC_RELAXED);
    if (size < 10) {
        __atomic_fetch_add(&counts->other, 1, __ATOMIC_RELAXED);
        return;
    }
    cc = command_code(cmd, size);
    if (cc >= TCTI_COUNT_CC_FIRST && cc - TCTI_COUNT_CC_FIRST < TCTI_COUNT_CC_SLOTS)
        __atomic_fetch_add(&counts->by_cc[cc - TCTI_COUNT_CC_FIRST], 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_add(&counts->other, 1, __ATOMIC_RELAXED);
}

static TSS2_RC count_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    struct count_ctx *c = count_ctx_of(ctx);

    if (c == NULL)
        return TSS2_TCTI_RC_BAD_CONTEXT;
    if (c->counts != NULL && cmd != NULL)
        count_command(c->counts, cmd, size);
    c->pending_ms = 0;
    for (size_t i = 0; i < c->n_delays; i++)
        if (c->delays[i].cc == command_code(cmd, size))
            c->pending_ms = c->delays[i].ms;
    return Tss2_Tcti_Transmit(c->child, size, cmd);
}

static TSS2_RC count_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp,
                             int32_t timeout)
{
    struct count_ctx *c = count_ctx_of(ctx);

    if (c == NULL)
        return TSS2_TCTI_RC_BAD_CONTEXT;
    if (c->pending_ms > 0 && rsp != NULL) {
        struct timespec ts = { c->pending_ms / 1000, (long)(c->pending_ms % 1000) * 1000000L };
        c->pending_ms = 0;
        nanosleep(&ts, NULL);
    }
    return Tss2_Tcti_Receive(c->child, size, rsp, timeout);
}

static void count_finalize(TSS2_TCTI_CONTEXT *ctx)
{
    struct count_ctx *c = count_ctx_of(ctx);

    if (c == NULL)
        return;
    Tss2_TctiLdr_Finalize(&c->child);
    if (c->counts != NULL)
        munmap(c->counts, sizeof *c->counts);
    c->counts = NULL;
    c->common.v1.magic = 0;
}

static TSS2_RC count_cancel(TSS2_TCTI_CONTEXT *ctx)
{
    struct count_ctx *c = count_ctx_of(ctx);

    if (c == NULL)
        return TSS2_TCTI_RC_BAD_CONTEXT;
    return Tss2_Tcti_Cancel(c->child);
}

static TSS2_RC count_get_poll_handles(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *handles,
                                      size_t *n)
{
    struct count_ctx *c = count_ctx_of(ctx);

    if (c == NULL)
        return TSS2_TCTI_RC_BAD_CONTEXT;
    return Tss2_Tcti_GetPollHandles(c->child, handles, n);
}

static TSS2_RC count_set_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
    struct count_ctx *c = count_ctx_of(ctx);

    if (c == NULL)
        return TSS2_TCTI_RC_BAD_CONTEXT;
    return Tss2_Tcti_SetLocality(c->child, locality);
}

static TSS2_RC count_make_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *handle, uint8_t sticky)
{
    struct count_ctx *c = count_ctx_of(ctx);

    if (c == NULL)
        return TSS2_TCTI_RC_BAD_CONTEXT;
    return Tss2_Tcti_MakeSticky(c->child, handle, sticky);
}

/* The shared counters in path, created (zeroed) if the file is new; NULL on failure. */
static struct tcti_count *counts_map(const char *path)
{
    struct tcti_count *counts = NULL;
    struct stat st;
    void *p;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 ||
        ((size_t)st.st_size < sizeof *counts && ftruncate(fd, sizeof *counts) != 0))
        goto out;
    p = mmap(NULL, sizeof *counts, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED)
        counts = p;
out:
    close(fd);
    return counts;
}

static TSS2_RC count_init(TSS2_TCTI_CONTEXT *ctx, size_t *size, const char *conf)
{
    struct count_ctx *c = (struct count_ctx *)ctx;
    const char *path = secure_getenv("TPMTOK_TCTI_COUNT");
    TSS2_RC rc;

    if (size == NULL)
        return TSS2_TCTI_RC_BAD_VALUE;
    if (ctx == NULL) {
        *size = sizeof *c;
        return TSS2_RC_SUCCESS;
    }
    if (*size < sizeof *c)
        return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
    memset(c, 0, sizeof *c);
    delays_parse(c, secure_getenv("TPMTOK_TCTI_DELAY"));
    if (path != NULL && *path != '\0' && (c->counts = counts_map(path)) == NULL)
        return TSS2_TCTI_RC_IO_ERROR;
    /* A NULL or empty configuration gives the child tctildr's default TCTI. */
    rc = Tss2_TctiLdr_Initialize(conf != NULL && *conf != '\0' ? conf : NULL, &c->child);
    if (rc != TSS2_RC_SUCCESS) {
        if (c->counts != NULL)
            munmap(c->counts, sizeof *c->counts);
        c->counts = NULL;
        return rc;
    }
    c->common.v1.magic = count_magic;
    c->common.v1.version = 2;
    c->common.v1.transmit = count_transmit;
    c->common.v1.receive = count_receive;
    c->common.v1.finalize = count_finalize;
    c->common.v1.cancel = count_cancel;
    c->common.v1.getPollHandles = count_get_poll_handles;
    c->common.v1.setLocality = count_set_locality;
    c->common.makeSticky = count_make_sticky;
    return TSS2_RC_SUCCESS;
}

static const TSS2_TCTI_INFO count_info = {
    .version = 2,
    .name = "tcti-count",
    .description = "tpmtok tests: counts the commands passed to another TCTI",
    .config_help = "the other TCTI's configuration, e.g. swtpm:host=127.0.0.1,port=2321; "
                   "counts go to the file named by TPMTOK_TCTI_COUNT",
    .init = count_init,
};

/* What tctildr looks up in a TCTI library (the -fvisibility=hidden build hides the rest). */
__attribute__((visibility("default"))) const TSS2_TCTI_INFO *Tss2_Tcti_Info(void);

const TSS2_TCTI_INFO *Tss2_Tcti_Info(void)
{
    return &count_info;
}
