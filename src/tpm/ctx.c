/* The TPM connection: TCTI and ESAPI context, fixed properties, DA state, random numbers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tpm/call.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/surrender.h"

/* GetRandom returns at most a digest's worth per call. */
#define RANDOM_CHUNK 64
/* StirRandom takes at most this much per call on reference TPMs. */
#define STIR_CHUNK 128
#define RETRIES 20

static void props_copy_string(char *dst, uint32_t value)
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(value >> (24 - 8 * i));
        if (c != '\0' && c != ' ')
            dst[strlen(dst)] = c;
    }
}

static void props_fill(struct tpm_props *p, const TPML_TAGGED_TPM_PROPERTY *list)
{
    memset(p, 0, sizeof *p);
    p->transient_min = 3;
    p->input_buffer = TPM2_MAX_DIGEST_BUFFER;
    for (UINT32 i = 0; i < list->count; i++) {
        UINT32 v = list->tpmProperty[i].value;
        switch (list->tpmProperty[i].property) {
        case TPM2_PT_MANUFACTURER:
            props_copy_string(p->manufacturer, v);
            break;
        case TPM2_PT_VENDOR_STRING_1:
        case TPM2_PT_VENDOR_STRING_2:
        case TPM2_PT_VENDOR_STRING_3:
        case TPM2_PT_VENDOR_STRING_4:
            props_copy_string(p->vendor, v);
            break;
        case TPM2_PT_FIRMWARE_VERSION_1:
            p->firmware1 = v;
            break;
        case TPM2_PT_FIRMWARE_VERSION_2:
            p->firmware2 = v;
            break;
        case TPM2_PT_REVISION:
            p->revision = v;
            break;
        case TPM2_PT_HR_TRANSIENT_MIN:
            p->transient_min = v;
            break;
        case TPM2_PT_INPUT_BUFFER:
            p->input_buffer = v;
            break;
        default:
            break;
        }
    }
}

static TSS2_RC get_properties(struct tpm *t, TPM2_PT first, UINT32 count,
                              TPMS_CAPABILITY_DATA **data)
{
    TSS2_RC rc;
    int i = 0;

    do {
        rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                TPM2_CAP_TPM_PROPERTIES, first, count, NULL, data);
    } while (tpm_rc_is_retry(rc) && ++i < RETRIES);
    return rc;
}

/* A TPM nobody has started (a fresh simulator) answers TPM_RC_INITIALIZE; start it. */
static TSS2_RC read_fixed_properties(struct tpm *t)
{
    TPMS_CAPABILITY_DATA *data = NULL;
    TSS2_RC rc;

    rc = get_properties(t, TPM2_PT_FIXED, TPM2_MAX_TPM_PROPERTIES, &data);
    if (tpm_rc_base(rc) == TPM2_RC_INITIALIZE) {
        log_info("the TPM was not started; sending TPM2_Startup(CLEAR)");
        rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
        if (rc == TSS2_RC_SUCCESS)
            rc = get_properties(t, TPM2_PT_FIXED, TPM2_MAX_TPM_PROPERTIES, &data);
    }
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    props_fill(&t->props, &data->data.tpmProperties);
    Esys_Free(data);
    return TSS2_RC_SUCCESS;
}

CK_RV tpm_open(const char *tcti_conf, const struct lock_ops *locks, bool threads_ok,
               struct tpm **out)
{
    struct tpm *t = calloc(1, sizeof *t);
    TSS2_TCTI_CONTEXT *inner = NULL;
    TSS2_RC rc;
    CK_RV rv;

    if (t == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = mutex_new(locks, &t->lock)) != CKR_OK)
        goto out;
    rc = Tss2_TctiLdr_Initialize(tcti_conf, &inner);
    if (rc == TSS2_RC_SUCCESS && (rc = tcti_wait_new(inner, threads_ok, &t->tcti)) != TSS2_RC_SUCCESS)
        Tss2_TctiLdr_Finalize(&inner);
    if (rc != TSS2_RC_SUCCESS) {
        log_error("cannot reach a TPM through TCTI \"%s\"", tcti_conf ? tcti_conf : "(default)");
        rv = tpm_rc_to_rv(rc, "Tss2_TctiLdr_Initialize");
        goto out;
    }
    if ((rc = Esys_Initialize(&t->esys, t->tcti, NULL)) != TSS2_RC_SUCCESS ||
        (rc = Esys_GetSysContext(t->esys, &t->sys)) != TSS2_RC_SUCCESS) {
        rv = tpm_rc_to_rv(rc, "Esys_Initialize");
        goto out;
    }
    if ((rc = read_fixed_properties(t)) != TSS2_RC_SUCCESS) {
        log_error("the TPM behind TCTI \"%s\" does not answer", tcti_conf ? tcti_conf : "(default)");
        rv = tpm_rc_to_rv(rc, "TPM2_GetCapability");
        goto out;
    }
    /* Create, Load and sequence starts need a free slot beyond what they name: keep one. */
    t->max_loaded = t->props.transient_min < 3 ? 2 : t->props.transient_min - 1;
    log_debug("TPM %s %s, firmware %08x.%08x, %u transient objects", t->props.manufacturer,
              t->props.vendor, t->props.firmware1, t->props.firmware2, t->props.transient_min);
    *out = t;
    t = NULL;
    rv = CKR_OK;
out:
    tpm_close(t);
    return rv;
}

/* Flushes the objects closed while the lock could not be waited for. Lock held. */
static void graveyard_drain(struct tpm *t)
{
    struct tpm_obj *o = __atomic_exchange_n(&t->graveyard, NULL, __ATOMIC_ACQUIRE), *next;

    for (; o != NULL; o = next) {
        next = o->grave_next;
        resid_obj_free(t, o);
    }
}

void tpm_close(struct tpm *t)
{
    if (t == NULL)
        return;
    if (t->esys != NULL) {
        mutex_lock(t->lock);
        graveyard_drain(t);
        while (t->objs != NULL)
            resid_obj_free(t, t->objs);
        sess_free(t, t->sess, true);
        t->sess = NULL;
        sess_free(t, t->psess, true);
        t->psess = NULL;
        mutex_unlock(t->lock);
        Esys_Finalize(&t->esys);
    }
    tcti_wait_free(&t->tcti);
    mutex_free(t->lock);
    free(t);
}

const struct tpm_props *tpm_props_get(const struct tpm *t)
{
    return &t->props;
}

static void da_fill(struct tpm_da *da, const TPML_TAGGED_TPM_PROPERTY *list)
{
    memset(da, 0, sizeof *da);
    for (UINT32 i = 0; i < list->count; i++) {
        UINT32 v = list->tpmProperty[i].value;
        switch (list->tpmProperty[i].property) {
        case TPM2_PT_PERMANENT:
            da->in_lockout = (v & TPMA_PERMANENT_INLOCKOUT) != 0;
            break;
        case TPM2_PT_LOCKOUT_COUNTER:
            da->counter = v;
            break;
        case TPM2_PT_MAX_AUTH_FAIL:
            da->max_tries = v;
            break;
        case TPM2_PT_LOCKOUT_INTERVAL:
            da->recovery_s = v;
            break;
        default:
            break;
        }
    }
}

CK_RV tpm_da_get(struct tpm *t, struct tpm_da *out)
{
    TPMS_CAPABILITY_DATA *data = NULL;
    TSS2_RC rc;

    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_GetCapability(dictionary attack state)");
    rc = get_properties(t, TPM2_PT_PERMANENT, TPM2_PT_LOCKOUT_RECOVERY - TPM2_PT_PERMANENT + 1,
                        &data);
    tpm_leave(t);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_rc_to_rv(rc, "TPM2_GetCapability(dictionary attack state)");
    da_fill(out, &data->data.tpmProperties);
    Esys_Free(data);
    return CKR_OK;
}

static TSS2_RC random_chunk(struct tpm *t, uint8_t *out, size_t want, size_t *got)
{
    TPM2B_DIGEST *bytes = NULL;
    TSS2_RC rc;
    int i = 0;

    do {
        rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)want,
                            &bytes);
    } while (tpm_rc_is_retry(rc) && ++i < RETRIES);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    *got = bytes->size < want ? bytes->size : want;
    memcpy(out, bytes->buffer, *got);
    /* The caller may use these bytes as a key. */
    secret_wipe(bytes->buffer, sizeof bytes->buffer);
    Esys_Free(bytes);
    return TSS2_RC_SUCCESS;
}

CK_RV tpm_random(struct tpm *t, uint8_t *out, size_t len)
{
    TSS2_RC rc = TSS2_RC_SUCCESS;
    size_t done = 0, got = 0;

    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_GetRandom");
    while (done < len) {
        size_t want = len - done < RANDOM_CHUNK ? len - done : RANDOM_CHUNK;
        /* Many commands for a long request: the application may stop it between them. */
        if (surrender_poll()) {
            rc = TPMTOK_RC_CANCELED;
            break;
        }
        if ((rc = random_chunk(t, out + done, want, &got)) != TSS2_RC_SUCCESS)
            break;
        if (got == 0) {
            rc = TSS2_ESYS_RC_GENERAL_FAILURE;
            break;
        }
        done += got;
    }
    tpm_leave(t);
    if (rc != TSS2_RC_SUCCESS) {
        secret_wipe(out, len);
        return tpm_rc_to_rv(rc, "TPM2_GetRandom");
    }
    return CKR_OK;
}

CK_RV tpm_stir_random(struct tpm *t, const uint8_t *data, size_t len)
{
    TPM2B_SENSITIVE_DATA in;
    TSS2_RC rc = TSS2_RC_SUCCESS;
    size_t done = 0;

    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_StirRandom");
    while (done < len) {
        size_t n = len - done < STIR_CHUNK ? len - done : STIR_CHUNK;
        int i = 0;
        in.size = (UINT16)n;
        memcpy(in.buffer, data + done, n);
        do {
            rc = Esys_StirRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in);
        } while (tpm_rc_is_retry(rc) && ++i < RETRIES);
        if (rc != TSS2_RC_SUCCESS)
            break;
        done += n;
    }
    tpm_leave(t);
    secret_wipe(&in, sizeof in);
    return tpm_rc_to_rv(rc, "TPM2_StirRandom");
}

unsigned tpm_loaded_count(struct tpm *t)
{
    unsigned n;

    if (!tpm_enter(t))
        return t->loaded;   /* this thread holds the lock already: the count is stable */
    n = t->loaded;
    tpm_leave(t);
    return n;
}

static TSS2_RC read_clock_once(struct tpm *t, void *arg)
{
    TPMS_TIME_INFO info = { 0 };
    TSS2_RC rc;

    (void)arg;
    if ((rc = Tss2_Sys_ReadClock(t->sys, NULL, &info, NULL)) == TSS2_RC_SUCCESS) {
        t->boots = (uint64_t)info.clockInfo.resetCount << 32 | info.clockInfo.restartCount;
        t->boots_known = true;
    }
    return rc;
}

CK_RV tpm_boots(struct tpm *t, bool fresh, uint64_t *boots)
{
    TSS2_RC rc = TSS2_RC_SUCCESS;

    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_ReadClock");
    if (fresh || !t->boots_known)
        rc = tpm_call(t, NULL, read_clock_once, NULL);
    *boots = t->boots;
    tpm_leave(t);
    return tpm_rc_to_rv(rc, "TPM2_ReadClock");
}

/* Swaps in a fresh ESAPI context on the same TCTI. False (old one kept) when out of memory. */
static bool esys_renew(struct tpm *t)
{
    ESYS_CONTEXT *fresh = NULL;
    TSS2_SYS_CONTEXT *sys = NULL;

    if (Esys_Initialize(&fresh, t->tcti, NULL) != TSS2_RC_SUCCESS ||
        Esys_GetSysContext(fresh, &sys) != TSS2_RC_SUCCESS) {
        Esys_Finalize(&fresh);
        return false;
    }
    Esys_Finalize(&t->esys);
    t->esys = fresh;
    t->sys = sys;
    return true;
}

void tpm_transport_check(struct tpm *t)
{
    if (!tcti_wait_take_failure(t->tcti))
        return;
    log_warn("an exchange with the TPM failed; starting over with it");
    if (!esys_renew(t)) {
        log_error("no memory to start over with the TPM");
        return;
    }
    /* A TPM that answers again may still hold what we loaded (on a bare TPM, nobody else frees it). */
    resid_flush_loaded(t);
    sess_free(t, t->sess, true);
    t->sess = NULL;
    sess_free(t, t->psess, true);
    t->psess = NULL;
    resid_forget_handles(t);
    t->boots_known = false;
    /* Flushes sent to a TPM still away left this context mid-command too. */
    if (tcti_wait_take_failure(t->tcti) && !esys_renew(t))
        log_error("no memory to start over with the TPM");
}

bool tpm_enter(struct tpm *t)
{
    if (!mutex_enter(t->lock))
        return false;
    tpm_transport_check(t);
    graveyard_drain(t);
    return true;
}

void tpm_leave(struct tpm *t)
{
    mutex_unlock(t->lock);
}
