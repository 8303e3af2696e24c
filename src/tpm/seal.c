/* Sealed objects: the token secret sealed under a PIN-derived auth value, checked by the TPM. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tpm/call.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"
#include "util/secret.h"

/* Dictionary-attack protected (no noDA): every wrong PIN counts against the TPM's lockout. */
static void seal_template(TPM2B_PUBLIC *tmpl)
{
    memset(tmpl, 0, sizeof *tmpl);
    tmpl->publicArea.type = TPM2_ALG_KEYEDHASH;
    tmpl->publicArea.nameAlg = TPM2_ALG_SHA256;
    tmpl->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                        TPMA_OBJECT_USERWITHAUTH;
    tmpl->publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
}

CK_RV tpm_seal_create(struct tpm *t, struct tpm_obj *parent,
                      const uint8_t *auth, size_t auth_len,
                      const uint8_t *data, size_t data_len, struct tpm_blob *out)
{
    struct tpm_create *a;
    TSS2_RC rc;
    CK_RV rv;

    if ((a = calloc(1, sizeof *a)) == NULL)
        return CKR_HOST_MEMORY;
    if (auth_len > sizeof a->sensitive.sensitive.userAuth.buffer ||
        data_len > TPM2_MAX_SYM_DATA / 2 || data_len == 0) {
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    a->parent = parent;
    seal_template(&a->tmpl);
    a->sensitive.sensitive.userAuth.size = (UINT16)auth_len;
    memcpy(a->sensitive.sensitive.userAuth.buffer, auth, auth_len);
    a->sensitive.sensitive.data.size = (UINT16)data_len;
    memcpy(a->sensitive.sensitive.data.buffer, data, data_len);
    rc = TPMTOK_RC_REENTERED;
    if (tpm_enter(t)) {
        rc = tpm_call(t, parent, tpm_create_once, a);
        tpm_leave(t);
    }
    if (rc == TSS2_RC_SUCCESS)
        rc = tpm_blob_from(&a->pub, &a->priv, out);
    rv = tpm_rc_to_rv(rc, "TPM2_Create(seal)");
out:
    secret_free(a, sizeof *a);
    return rv;
}

struct unseal_args {
    struct tpm_obj *seal;
    TPM2B_SENSITIVE_DATA data;   /* secret */
};

static TSS2_RC unseal_once(struct tpm *t, void *arg)
{
    struct unseal_args *a = arg;
    struct sess_auth auth = { .n_names = 1 };
    TSS2_RC rc;

    if ((rc = resid_load(t, a->seal)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->seal->name;
    auth.auth = &a->seal->auth;
    rc = Tss2_Sys_Unseal_Prepare(t->sys, a->seal->handle);
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, t->sess, TPM2_CC_Unseal, &auth, SESS_DECRYPT_RSP);
    if (rc == TSS2_RC_SUCCESS) {
        a->data.size = 0;
        rc = Tss2_Sys_Unseal_Complete(t->sys, &a->data);
    }
    resid_unpin(t, a->seal);
    return rc;
}

/* A wrong PIN is routine, so it is not logged as an error. */
static CK_RV unseal_rc_to_rv(TSS2_RC rc)
{
    TSS2_RC base = tpm_rc_base(rc);

    if (base == TPM2_RC_AUTH_FAIL || base == TPM2_RC_BAD_AUTH) {
        log_info("TPM2_Unseal: the PIN is not right (0x%x)", (unsigned)rc);
        return CKR_PIN_INCORRECT;
    }
    if (base == TPM2_RC_LOCKOUT) {
        log_warn("TPM2_Unseal: the TPM is in dictionary-attack lockout");
        return CKR_PIN_LOCKED;
    }
    return tpm_rc_to_rv(rc, "TPM2_Unseal");
}

CK_RV tpm_seal_unseal(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *seal,
                      const uint8_t *auth, size_t auth_len, uint8_t *out, size_t *out_len)
{
    struct unseal_args *a;
    TSS2_RC rc;
    CK_RV rv;

    if ((a = calloc(1, sizeof *a)) == NULL)
        return CKR_HOST_MEMORY;
    if (!tpm_enter(t)) {
        rv = tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_Unseal");
        goto out;
    }
    rc = resid_key_new(t, parent, seal, auth, auth_len, &a->seal);
    if (rc != TSS2_RC_SUCCESS) {
        tpm_leave(t);
        log_error("a stored PIN seal does not parse (0x%x)", (unsigned)rc);
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    rc = tpm_call(t, parent, unseal_once, a);
    resid_obj_free(t, a->seal);
    tpm_leave(t);
    if (rc != TSS2_RC_SUCCESS) {
        rv = unseal_rc_to_rv(rc);
        goto out;
    }
    if (a->data.size > *out_len) {
        rv = CKR_BUFFER_TOO_SMALL;
        goto out;
    }
    memcpy(out, a->data.buffer, a->data.size);
    *out_len = a->data.size;
    rv = CKR_OK;
out:
    secret_free(a, sizeof *a);
    return rv;
}
