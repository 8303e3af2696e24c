/* Runs one TPM command: session set-up, retries the TPM asks for, recovery after a TPM restart. */
#include "config.h"

#include <time.h>

#include "tpm/call.h"
#include "tpm/sess.h"
#include "util/log.h"
#include "util/surrender.h"

#define BUSY_RETRIES 50
#define LOST_RECOVERIES 2
/* How long, in all, a command waits for other processes to free TPM memory (bare TPM). */
#define FULL_WAITS 200
#define FULL_WAIT_MS 10

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The TPM no longer has a transient handle we had loaded. */
static bool handle_lost(TSS2_RC rc)
{
    TSS2_RC base = tpm_rc_base(rc);

    if (base >= TPM2_RC_REFERENCE_H0 && base <= TPM2_RC_REFERENCE_H6)
        return true;
    /* Format one with bit 6 clear names a handle (bit 6 set would name a parameter). */
    return base == TPM2_RC_HANDLE && !(rc & TPM2_RC_P) && !(rc & TPM2_RC_S);
}

static bool tpm_full(TSS2_RC rc)
{
    TSS2_RC base = tpm_rc_base(rc);

    return base == TPM2_RC_OBJECT_MEMORY || base == TPM2_RC_SESSION_MEMORY;
}

static TSS2_RC session_ensure(struct tpm *t, struct tpm_obj *salt)
{
    TSS2_RC rc;

    if (t->sess != NULL || salt == NULL)
        return TSS2_RC_SUCCESS;
    if ((rc = resid_load(t, salt)) != TSS2_RC_SUCCESS)
        return rc;
    rc = sess_start(t, salt->handle, &salt->pub, TPM2_SE_HMAC, &t->sess);
    resid_unpin(t, salt);
    return rc;
}

TSS2_RC tpm_call(struct tpm *t, struct tpm_obj *salt, tpm_once_fn once, void *arg)
{
    int busy = 0, lost = 0, full = 0;
    TSS2_RC rc;

    for (;;) {
        /* The application is asked between commands too, and may stop the function here. */
        if (surrender_poll())
            return TPMTOK_RC_CANCELED;
        tpm_transport_check(t);
        rc = session_ensure(t, salt);
        if (rc == TSS2_RC_SUCCESS)
            rc = once(t, arg);
        /* Cancelled while the command ran: it did its work, whose caller now undoes it. */
        if (rc == TSS2_RC_SUCCESS && surrender_canceled())
            return TPMTOK_RC_CANCELED;
        if (rc == TSS2_RC_SUCCESS)
            return rc;
        if (tpm_rc_is_retry(rc) && ++busy < BUSY_RETRIES) {
            sleep_ms(busy < 5 ? 1 : 10);
            continue;
        }
        /* Full: make room among our objects, else wait for other processes to free some. */
        if (tpm_full(rc) && ++full < FULL_WAITS) {
            if (!resid_evict_lru(t))
                sleep_ms(FULL_WAIT_MS);
            continue;
        }
        if ((sess_rc_lost(rc) || handle_lost(rc)) && ++lost <= LOST_RECOVERIES) {
            /* A restarted TPM has forgotten every session and transient object. */
            log_info("the TPM lost our session or objects (0x%x); reloading", (unsigned)rc);
            /* A session that fell out of step still occupies a TPM slot. */
            sess_free(t, t->sess, true);
            t->sess = NULL;
            sess_free(t, t->psess, true);
            t->psess = NULL;
            t->boots_known = false;
            if (handle_lost(rc))
                resid_forget_handles(t);
            continue;
        }
        return rc;
    }
}
