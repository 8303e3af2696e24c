/* The one place TSS2 and TPM response codes become CK_RV values. */
#include "config.h"

#include <tss2/tss2_rc.h>

#include "tpm/tpm_internal.h"
#include "util/log.h"

TSS2_RC tpm_rc_base(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    TSS2_RC code = rc & ~TSS2_RC_LAYER_MASK;

    if (layer != TSS2_TPM_RC_LAYER)
        return rc;
    /* Format-one codes carry a parameter, handle or session number in bits 6 and 8-11. */
    if (code & TPM2_RC_FMT1)
        return TPM2_RC_FMT1 | (code & 0x3f);
    return code & 0xfff;
}

bool tpm_rc_is_retry(TSS2_RC rc)
{
    TSS2_RC base = tpm_rc_base(rc);

    return base == TPM2_RC_RETRY || base == TPM2_RC_YIELDED || base == TPM2_RC_TESTING;
}

static CK_RV tpm_layer_to_rv(TSS2_RC base)
{
    switch (base) {
    case TPM2_RC_LOCKOUT:
        return CKR_PIN_LOCKED;
    case TPM2_RC_AUTH_FAIL:
    case TPM2_RC_BAD_AUTH:
        return CKR_PIN_INCORRECT;
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_MEMORY:
    case TPM2_RC_SESSION_HANDLES:
    case TPM2_RC_OBJECT_HANDLES:
        return CKR_DEVICE_MEMORY;
    case TPM2_RC_CANCELED:
        return CKR_FUNCTION_CANCELED;
    default:
        return CKR_DEVICE_ERROR;
    }
}

CK_RV tpm_rc_to_rv(TSS2_RC rc, const char *what)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    CK_RV rv;

    if (rc == TSS2_RC_SUCCESS)
        return CKR_OK;
    if (rc == TPMTOK_RC_CANCELED) {
        log_info("%s: cancelled by the application", what);
        return CKR_FUNCTION_CANCELED;
    }
    if (rc == TPMTOK_RC_REENTERED) {
        log_warn("%s: called from a callback while this thread's own TPM command runs", what);
        return CKR_FUNCTION_FAILED;
    }
    if (layer == TSS2_TPM_RC_LAYER)
        rv = tpm_layer_to_rv(tpm_rc_base(rc));
    else if ((rc & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_MEMORY)
        rv = CKR_HOST_MEMORY;
    else if ((rc & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_BAD_REFERENCE ||
             (rc & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_BAD_SEQUENCE)
        rv = CKR_GENERAL_ERROR;
    else
        rv = CKR_DEVICE_ERROR;
    /* Authorization failures are routine (a wrong PIN); the caller decides how loudly to say so. */
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED)
        log_info("%s: 0x%x %s", what, (unsigned)rc, Tss2_RC_Decode(rc));
    else
        log_error("%s: 0x%x %s", what, (unsigned)rc, Tss2_RC_Decode(rc));
    return rv;
}
