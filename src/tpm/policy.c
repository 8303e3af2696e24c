/*
 * Keys bound to PCR values: reading PCRs, and before each use of such a key, its policy run in
 * the process's policy session (PolicyPCR, or PolicyPCR + PolicyAuthorize with an approval the
 * authority signed, then PolicyAuthValue), so that the TPM allows the use only in the boot
 * state the key was bound to, and only with the key's auth value, which the session's HMAC
 * proves as an HMAC session would.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_sys.h>

#include "tpm/alg.h"
#include "tpm/approval.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"

#define APPROVALS_MAX 16

/* What a policy-bound key carries besides its blob (tpm_obj.policy). */
struct key_policy {
    struct tpm_policy p;
    TPM2B_PUBLIC authority;           /* authorize: parsed from p.authority_pub */
    uint8_t authority_name[68];
    size_t authority_name_len;
    struct tpm_approval approvals[APPROVALS_MAX];
    size_t n_approvals;
    /* The last VerifySignature ticket: valid as long as the owner hierarchy's proof. */
    uint8_t ticket_for[32];
    TPMT_TK_VERIFIED ticket;
    bool ticket_ok;
};

void policy_free(struct tpm_obj *o)
{
    free(o->policy);
    o->policy = NULL;
}

/* ---- reading PCRs ---- */

/* PCR_Read gives at most 8 values at a time; ask again for the rest. Lock held. */
static TSS2_RC pcr_read_locked(struct tpm *t, const struct tpm_pcr_sel *sel, uint8_t *values,
                               size_t max, size_t *len)
{
    size_t size = tpm_hash_size(sel->hash), used = 0;
    struct tpm_pcr_sel rest = *sel;
    TSS2_RC rc = TSS2_RC_SUCCESS;

    if (size == 0 || approval_pcr_count(sel) * size > max)
        return TSS2_ESYS_RC_BAD_VALUE;
    while (rest.mask != 0) {
        TPML_PCR_SELECTION in, out;
        TPML_DIGEST digests;
        UINT32 counter;
        uint32_t got = 0;

        approval_pcr_tpml(&rest, &in);
        if ((rc = Tss2_Sys_PCR_Read(t->sys, NULL, &in, &counter, &out, &digests, NULL)) !=
            TSS2_RC_SUCCESS)
            return rc;
        if (out.count == 1)
            for (unsigned i = 0; i < 3; i++)
                got |= (uint32_t)out.pcrSelections[0].pcrSelect[i] << (8 * i);
        /* Values come in index order; a bank the TPM lacks comes back empty. */
        if ((got & ~rest.mask) != 0 || got == 0 || digests.count != approval_pcr_count(&(struct tpm_pcr_sel){ sel->hash, got }))
            return TSS2_ESYS_RC_MALFORMED_RESPONSE;
        for (uint32_t i = 0; i < digests.count; i++) {
            if (digests.digests[i].size != size)
                return TSS2_ESYS_RC_MALFORMED_RESPONSE;
            memcpy(values + used, digests.digests[i].buffer, size);
            used += size;
        }
        rest.mask &= ~got;
    }
    *len = used;
    return rc;
}

CK_RV tpm_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, uint8_t *values, size_t max,
                   size_t *len)
{
    TSS2_RC rc = TPMTOK_RC_REENTERED;

    if (tpm_enter(t)) {
        rc = pcr_read_locked(t, sel, values, max, len);
        tpm_leave(t);
    }
    if (rc == TSS2_ESYS_RC_BAD_VALUE)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (rc == TSS2_ESYS_RC_MALFORMED_RESPONSE) {
        log_error("the TPM has no PCR bank for this selection");
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return tpm_rc_to_rv(rc, "TPM2_PCR_Read");
}

/* ---- binding keys ---- */

CK_RV tpm_key_set_policy(struct tpm *t, struct tpm_obj *key, const struct tpm_policy *p)
{
    struct key_policy *kp = calloc(1, sizeof *kp);
    size_t off = 0;
    CK_RV rv = CKR_OK;

    if (kp == NULL)
        return CKR_HOST_MEMORY;
    kp->p = *p;
    if (p->authorize &&
        (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p->authority_pub, p->authority_pub_len, &off,
                                        &kp->authority) != TSS2_RC_SUCCESS ||
         !approval_name(&kp->authority, kp->authority_name, &kp->authority_name_len))) {
        free(kp);
        return CKR_DEVICE_ERROR;
    }
    if (!tpm_enter(t)) {
        free(kp);
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "tpm_key_set_policy");
    }
    free(key->policy);
    key->policy = kp;
    tpm_leave(t);
    return rv;
}

CK_RV tpm_key_set_approvals(struct tpm *t, struct tpm_obj *key, const struct tpm_approval *a,
                            size_t n)
{
    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "tpm_key_set_approvals");
    if (key->policy != NULL) {
        key->policy->n_approvals = 0;
        /* Only this authority's approvals count; more than the room holds are left out. */
        for (size_t i = 0; i < n && key->policy->n_approvals < APPROVALS_MAX; i++)
            if (a[i].authority_name_len == key->policy->authority_name_len &&
                memcmp(a[i].authority_name, key->policy->authority_name,
                       a[i].authority_name_len) == 0)
                key->policy->approvals[key->policy->n_approvals++] = a[i];
    }
    tpm_leave(t);
    return CKR_OK;
}

/* ---- running a key's policy ---- */

static TSS2_RC psess_ensure(struct tpm *t, struct tpm_obj *salt)
{
    TSS2_RC rc;

    if (t->psess != NULL)
        return TSS2_RC_SUCCESS;
    if ((rc = resid_load(t, salt)) != TSS2_RC_SUCCESS)
        return rc;
    rc = sess_start(t, salt->handle, &salt->pub, TPM2_SE_POLICY, &t->psess);
    resid_unpin(t, salt);
    t->psess_dirty = false;
    return rc;
}

/* TPM_RC_VALUE from PolicyPCR: the PCRs do not hold the digest the key was bound to. */
static TSS2_RC pcr_mismatch(const struct tpm_pcr_sel *sel, TSS2_RC rc)
{
    char text[96];

    if (tpm_rc_base(rc) != TPM2_RC_VALUE)
        return rc;
    tpm_pcr_sel_text(sel, text, sizeof text);
    log_warn("PCRs %s do not hold the values the key is bound to: the TPM refuses its use", text);
    return TPMTOK_RC_POLICY;
}

static TSS2_RC policy_pcr(struct tpm *t, const struct tpm_pcr_sel *sel, const uint8_t digest[32])
{
    TPML_PCR_SELECTION tpml;
    TPM2B_DIGEST d = { .size = 32 };

    approval_pcr_tpml(sel, &tpml);
    memcpy(d.buffer, digest, 32);
    return pcr_mismatch(sel, Tss2_Sys_PolicyPCR(t->sys, sess_handle(t->psess), NULL, &d, &tpml,
                                                NULL));
}

/* The approval whose PCR values are the PCRs' values now, or NULL (logged). */
static const struct tpm_approval *approval_current(struct tpm *t, struct key_policy *kp,
                                                   TSS2_RC *rc)
{
    uint8_t values[24 * 64], digest[32];
    size_t len = 0;

    *rc = TSS2_RC_SUCCESS;
    for (size_t i = 0; i < kp->n_approvals; i++) {
        const struct tpm_approval *a = &kp->approvals[i];
        if ((*rc = pcr_read_locked(t, &a->pcrs, values, sizeof values, &len)) != TSS2_RC_SUCCESS)
            return NULL;
        tpm_pcr_digest(values, len, digest);
        if (memcmp(digest, a->pcr_digest, 32) == 0)
            return a;
    }
    log_warn("no approval of the key's authority (%zu on the token) is for the PCRs' values now: "
             "the TPM refuses its use", kp->n_approvals);
    *rc = TPMTOK_RC_POLICY;
    return NULL;
}

/* The TPM's ticket that the authority signed aHash, made once and kept. */
static TSS2_RC approval_ticket(struct tpm *t, struct key_policy *kp, const struct tpm_approval *a,
                               const uint8_t ahash[32])
{
    TPM2B_DIGEST digest = { .size = 32 };
    TPMT_SIGNATURE sig;
    TPM2B_NAME name;
    TPM2_HANDLE h = 0;
    size_t off = 0;
    TSS2_RC rc;

    if (kp->ticket_ok && memcmp(kp->ticket_for, ahash, 32) == 0)
        return TSS2_RC_SUCCESS;
    if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(a->sig, a->sig_len, &off, &sig) != TSS2_RC_SUCCESS)
        return TSS2_ESYS_RC_BAD_VALUE;
    memcpy(digest.buffer, ahash, 32);
    name.size = sizeof name.name;
    /* The owner hierarchy: a ticket from the NULL hierarchy would not satisfy PolicyAuthorize. */
    if ((rc = Tss2_Sys_LoadExternal(t->sys, NULL, NULL, &kp->authority, TPM2_RH_OWNER, &h, &name,
                                    NULL)) != TSS2_RC_SUCCESS)
        return rc;
    rc = Tss2_Sys_VerifySignature(t->sys, h, NULL, &digest, &sig, &kp->ticket, NULL);
    tpm_flush_handle(t, h);
    if (rc != TSS2_RC_SUCCESS) {
        log_warn("an approval on the token does not verify under the key's authority (0x%x)",
                 (unsigned)rc);
        return tpm_rc_base(rc) == TPM2_RC_SIGNATURE ? TPMTOK_RC_POLICY : rc;
    }
    memcpy(kp->ticket_for, ahash, 32);
    kp->ticket_ok = true;
    return TSS2_RC_SUCCESS;
}

static TSS2_RC policy_authorize(struct tpm *t, struct key_policy *kp)
{
    const struct tpm_approval *a;
    uint8_t approved[32], ahash[32];
    TPM2B_DIGEST approved_d = { .size = 32 };
    TPM2B_NONCE ref = { .size = 0 };
    TPM2B_NAME name;
    TSS2_RC rc;

    if ((a = approval_current(t, kp, &rc)) == NULL)
        return rc;
    approval_approved_policy(&a->pcrs, a->pcr_digest, approved);
    tpm_approval_hash(&a->pcrs, a->pcr_digest, ahash);
    if ((rc = approval_ticket(t, kp, a, ahash)) != TSS2_RC_SUCCESS ||
        (rc = policy_pcr(t, &a->pcrs, a->pcr_digest)) != TSS2_RC_SUCCESS)
        return rc;
    memcpy(approved_d.buffer, approved, 32);
    name.size = (UINT16)kp->authority_name_len;
    memcpy(name.name, kp->authority_name, kp->authority_name_len);
    rc = Tss2_Sys_PolicyAuthorize(t->sys, sess_handle(t->psess), NULL, &approved_d, &ref, &name,
                                  &kp->ticket, NULL);
    /* A ticket from before a TPM2_Clear no longer checks: make a new one next time. */
    if (rc != TSS2_RC_SUCCESS)
        kp->ticket_ok = false;
    return rc;
}

TSS2_RC policy_begin(struct tpm *t, struct tpm_obj *key, struct sess **out)
{
    struct key_policy *kp = key->policy;
    TSS2_RC rc;

    if (kp == NULL) {
        *out = t->sess;
        return TSS2_RC_SUCCESS;
    }
    if ((rc = psess_ensure(t, key->parent)) != TSS2_RC_SUCCESS)
        return rc;
    if (t->psess_dirty &&
        (rc = Tss2_Sys_PolicyRestart(t->sys, sess_handle(t->psess), NULL, NULL)) != TSS2_RC_SUCCESS)
        return rc;
    t->psess_dirty = true;
    rc = kp->p.authorize ? policy_authorize(t, kp) : policy_pcr(t, &kp->p.pcrs, kp->p.pcr_digest);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_PolicyAuthValue(t->sys, sess_handle(t->psess), NULL, NULL);
    if (rc == TSS2_RC_SUCCESS)
        *out = t->psess;
    return rc;
}

void policy_end(struct tpm *t, struct tpm_obj *key, TSS2_RC rc)
{
    /* A policy session that authorized a command starts afresh (continueSession set). */
    if (key->policy != NULL && rc == TSS2_RC_SUCCESS)
        t->psess_dirty = false;
}
