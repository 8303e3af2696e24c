/*
 * The module's own TCTI in front of the real one: it passes everything through, except that
 * when the calling thread's function has an application to ask (util/surrender), it waits for
 * a response on a worker thread and asks the application every few tens of milliseconds
 * meanwhile. TCTIs such as tss2 3.2's swtpm cannot be polled (their receive blocks whatever
 * the timeout), so waiting elsewhere is the one way to hand control back during a long
 * command. The command always runs to its end: no TCTI here can cancel one in flight.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>

#include "tpm/tpm_internal.h"
#include "util/log.h"
#include "util/surrender.h"

#define WAIT_SLICE_MS 20

/* "tpmtokwt" in ASCII: tells our context from others. */
static const uint64_t wait_magic = 0x74706d746f6b7774ull;

enum job { JOB_NONE, JOB_RECEIVE, JOB_DONE, JOB_QUIT };

struct tcti_wait {
    TSS2_TCTI_CONTEXT_COMMON_V2 common;
    TSS2_TCTI_CONTEXT *inner;
    bool threads_ok;             /* the application allows the module threads of its own */
    bool worker_up;
    pthread_t worker;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum job job;                /* under mu */
    size_t *size;                /* the receive the worker runs */
    uint8_t *rsp;
    TSS2_RC rc;
    bool failed;                 /* an exchange failed since tcti_wait_take_failure (atomic) */
};

static struct tcti_wait *wait_of(TSS2_TCTI_CONTEXT *ctx)
{
    return (struct tcti_wait *)ctx;
}

static void *worker_main(void *arg)
{
    struct tcti_wait *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->job != JOB_RECEIVE && w->job != JOB_QUIT)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->job == JOB_QUIT)
            break;
        pthread_mutex_unlock(&w->mu);
        w->rc = Tss2_Tcti_Receive(w->inner, w->size, w->rsp, TSS2_TCTI_TIMEOUT_BLOCK);
        pthread_mutex_lock(&w->mu);
        w->job = JOB_DONE;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static bool worker_start(struct tcti_wait *w)
{
    pthread_condattr_t attr;

    if (w->worker_up)
        return true;
    if (pthread_condattr_init(&attr) != 0)
        return false;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&w->mu, NULL) != 0 || pthread_cond_init(&w->cv, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        return false;
    }
    pthread_condattr_destroy(&attr);
    w->job = JOB_NONE;
    if (pthread_create(&w->worker, NULL, worker_main, w) != 0) {
        log_warn("cannot start a thread to wait on the TPM; no callbacks while it works");
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        return false;
    }
    w->worker_up = true;
    return true;
}

static void slice_deadline(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += WAIT_SLICE_MS * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The worker receives; this thread asks the application between slices of waiting. */
static TSS2_RC receive_asking(struct tcti_wait *w, size_t *size, uint8_t *rsp)
{
    struct timespec until;
    TSS2_RC rc;

    pthread_mutex_lock(&w->mu);
    w->size = size;
    w->rsp = rsp;
    w->job = JOB_RECEIVE;
    pthread_cond_broadcast(&w->cv);
    while (w->job != JOB_DONE) {
        slice_deadline(&until);
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0 || w->job == JOB_DONE)
            continue;
        /* The application's answer is kept; the command still has to finish. */
        pthread_mutex_unlock(&w->mu);
        surrender_poll();
        pthread_mutex_lock(&w->mu);
    }
    w->job = JOB_NONE;
    rc = w->rc;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* A failed exchange leaves SAPI mid-command; the TPM layer starts over when it sees this. */
static TSS2_RC note_failure(struct tcti_wait *w, TSS2_RC rc)
{
    if (rc != TSS2_RC_SUCCESS && rc != TSS2_TCTI_RC_TRY_AGAIN &&
        (rc & ~TSS2_RC_LAYER_MASK) != TSS2_BASE_RC_INSUFFICIENT_BUFFER)
        __atomic_store_n(&w->failed, true, __ATOMIC_RELEASE);
    return rc;
}

static TSS2_RC wait_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp, int32_t timeout)
{
    struct tcti_wait *w = wait_of(ctx);

    /* Only a blocking receive of a whole response is worth a thread. */
    if (!surrender_active() || !w->threads_ok || timeout != TSS2_TCTI_TIMEOUT_BLOCK ||
        rsp == NULL || !worker_start(w))
        return note_failure(w, Tss2_Tcti_Receive(w->inner, size, rsp, timeout));
    return note_failure(w, receive_asking(w, size, rsp));
}

bool tcti_wait_take_failure(TSS2_TCTI_CONTEXT *ctx)
{
    return __atomic_exchange_n(&wait_of(ctx)->failed, false, __ATOMIC_ACQ_REL);
}

static TSS2_RC wait_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    return note_failure(wait_of(ctx), Tss2_Tcti_Transmit(wait_of(ctx)->inner, size, cmd));
}

static TSS2_RC wait_cancel(TSS2_TCTI_CONTEXT *ctx)
{
    return Tss2_Tcti_Cancel(wait_of(ctx)->inner);
}

static TSS2_RC wait_get_poll_handles(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *handles,
                                     size_t *n)
{
    return Tss2_Tcti_GetPollHandles(wait_of(ctx)->inner, handles, n);
}

static TSS2_RC wait_set_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
    return Tss2_Tcti_SetLocality(wait_of(ctx)->inner, locality);
}

static TSS2_RC wait_make_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *handle, uint8_t sticky)
{
    return Tss2_Tcti_MakeSticky(wait_of(ctx)->inner, handle, sticky);
}

/* Finalizing through the TCTI interface is tcti_wait_free's work; ESAPI does not call it. */
static void wait_finalize(TSS2_TCTI_CONTEXT *ctx)
{
    (void)ctx;
}

TSS2_RC tcti_wait_new(TSS2_TCTI_CONTEXT *inner, bool threads_ok, TSS2_TCTI_CONTEXT **out)
{
    struct tcti_wait *w = calloc(1, sizeof *w);

    if (w == NULL)
        return TSS2_TCTI_RC_MEMORY;
    w->inner = inner;
    w->threads_ok = threads_ok;
    w->common.v1.magic = wait_magic;
    w->common.v1.version = 2;
    w->common.v1.transmit = wait_transmit;
    w->common.v1.receive = wait_receive;
    w->common.v1.finalize = wait_finalize;
    w->common.v1.cancel = wait_cancel;
    w->common.v1.getPollHandles = wait_get_poll_handles;
    w->common.v1.setLocality = wait_set_locality;
    w->common.makeSticky = wait_make_sticky;
    *out = (TSS2_TCTI_CONTEXT *)w;
    return TSS2_RC_SUCCESS;
}

void tcti_wait_free(TSS2_TCTI_CONTEXT **ctx)
{
    struct tcti_wait *w;

    if (ctx == NULL || *ctx == NULL)
        return;
    w = wait_of(*ctx);
    if (w->worker_up) {
        pthread_mutex_lock(&w->mu);
        w->job = JOB_QUIT;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->worker, NULL);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
    Tss2_TctiLdr_Finalize(&w->inner);
    free(w);
    *ctx = NULL;
}
