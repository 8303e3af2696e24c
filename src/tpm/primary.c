/* A token's storage primary: a deterministic ECC P-256 parent for its keys and PIN seals. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tpm/call.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"

/*
 * Restricted decryption key (a storage parent), AES-128-CFB for its children, no auth value
 * (dictionary-attack exempt: there is nothing to guess). ECC keeps CreatePrimary fast, and
 * the same key salts the process session by ECDH.
 */
static void primary_template(TPM2B_PUBLIC *tmpl, const uint8_t *seed, size_t seed_len)
{
    TPMT_PUBLIC *p = &tmpl->publicArea;

    memset(tmpl, 0, sizeof *tmpl);
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                          TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                          TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
    p->parameters.eccDetail.symmetric.keyBits.aes = 128;
    p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    /* The token's seed makes its primary its own, and the same on every creation. */
    p->unique.ecc.x.size = (UINT16)seed_len;
    memcpy(p->unique.ecc.x.buffer, seed, seed_len);
}

static TSS2_RC primary_load_once(struct tpm *t, void *arg)
{
    struct tpm_obj *o = arg;
    TSS2_RC rc = resid_load(t, o);

    if (rc == TSS2_RC_SUCCESS)
        resid_unpin(t, o);
    return rc;
}

CK_RV tpm_primary_open(struct tpm *t, const uint8_t *seed, size_t seed_len,
                       struct tpm_obj **out, uint8_t *name, size_t *name_len)
{
    struct tpm_obj *o;
    TSS2_RC rc;
    CK_RV rv;

    if (seed_len == 0 || seed_len > TPM2_MAX_ECC_KEY_BYTES)
        return CKR_GENERAL_ERROR;
    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_CreatePrimary");
    o = resid_obj_new(t, TPM_OBJ_PRIMARY);
    if (o == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    primary_template(&o->tmpl, seed, seed_len);
    rc = tpm_call(t, NULL, primary_load_once, o);
    if (rc != TSS2_RC_SUCCESS) {
        rv = tpm_rc_to_rv(rc, "TPM2_CreatePrimary");
        resid_obj_free(t, o);
        goto out;
    }
    if (name != NULL && name_len != NULL) {
        if (*name_len < o->name.size) {
            rv = CKR_GENERAL_ERROR;
            resid_obj_free(t, o);
            goto out;
        }
        memcpy(name, o->name.name, o->name.size);
        *name_len = o->name.size;
    }
    *out = o;
    rv = CKR_OK;
out:
    tpm_leave(t);
    return rv;
}

void tpm_obj_close(struct tpm *t, struct tpm_obj *o)
{
    if (o == NULL)
        return;
    /*
     * Under the module's other locks the TPM lock is never waited for: the thread holding it
     * may be in an application callback that wants those locks. The object then waits in
     * the graveyard for the next holder of the TPM lock.
     */
    if (mutex_held_count() == 0 && tpm_enter(t)) {
        resid_obj_free(t, o);
        tpm_leave(t);
        return;
    }
    o->grave_next = __atomic_load_n(&t->graveyard, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&t->graveyard, &o->grave_next, o, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

void tpm_reap(struct tpm *t)
{
    if (t == NULL || __atomic_load_n(&t->graveyard, __ATOMIC_ACQUIRE) == NULL)
        return;
    if (mutex_held_count() == 0 && tpm_enter(t))
        tpm_leave(t);
}

void tpm_blob_clear(struct tpm_blob *b)
{
    if (b == NULL)
        return;
    free(b->pub);
    free(b->priv);
    memset(b, 0, sizeof *b);
}
