/*
 * Keys bound to PCRs: the vendor attributes of include/tpmtok.h checked and turned into a TPM
 * policy when a key is made and when it is used, and an authority's approvals (public data
 * objects on the token) read for the TPM layer, which picks the one for the PCRs of now.
 */
#include "config.h"

#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "store/store.h"
#include "token/object.h"
#include "token/policy.h"
#include "token/slot.h"
#include "tpm/alg.h"
#include "tpmtok.h"
#include "util/log.h"

#define APPROVALS_READ_MAX 16

static uint16_t bank_of(CK_MECHANISM_TYPE m)
{
    switch (m) {
    case CKM_SHA_1:
        return TPM2_ALG_SHA1;
    case CKM_SHA256:
        return TPM2_ALG_SHA256;
    case CKM_SHA384:
        return TPM2_ALG_SHA384;
    case CKM_SHA512:
        return TPM2_ALG_SHA512;
    default:
        return 0;
    }
}

static CK_RV selection_of(const struct attrs *a, struct tpm_pcr_sel *sel, bool *has)
{
    const struct attr *v = attrs_find(a, CKA_TPMTOK_PCR_SELECTION);
    CK_TPMTOK_PCR_SELECTION s;

    *has = v != NULL;
    if (v == NULL)
        return CKR_OK;
    if (v->len != sizeof s)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(&s, v->value, sizeof s);
    sel->hash = bank_of(s.hashAlg);
    sel->mask = (uint32_t)(s.pcrMask & 0xffffffu);
    if (sel->hash == 0 || sel->mask == 0 || (s.pcrMask & ~(CK_ULONG)0xffffffu) != 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_OK;
}

static size_t values_len(const struct tpm_pcr_sel *sel)
{
    return (size_t)__builtin_popcount(sel->mask) * tpm_hash_size(sel->hash);
}

/* Fixed values: from the attribute, else read now (and then kept in the attribute). */
static CK_RV fixed_values(struct tpm *tpm, struct attrs *a, struct tpm_policy *p)
{
    const struct attr *v = attrs_find(a, CKA_TPMTOK_PCR_VALUES);
    uint8_t values[24 * 64];
    size_t len = 0;
    CK_RV rv;

    if (v != NULL) {
        if (v->len != values_len(&p->pcrs))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        tpm_pcr_digest(v->value, v->len, p->pcr_digest);
        return CKR_OK;
    }
    if (tpm == NULL)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = tpm_pcr_read(tpm, &p->pcrs, values, sizeof values, &len)) != CKR_OK)
        return rv;
    tpm_pcr_digest(values, len, p->pcr_digest);
    return attrs_set(a, CKA_TPMTOK_PCR_VALUES, values, len) ? CKR_OK : CKR_HOST_MEMORY;
}

/* The policy of attributes a; tpm NULL: an existing key, whose values are in a. */
static CK_RV policy_build(struct tpm *tpm, struct attrs *a, struct tpm_policy *p, bool *bound)
{
    const struct attr *auth = attrs_find(a, CKA_TPMTOK_POLICY_AUTHORITY);
    uint8_t name[68];
    size_t name_len;
    bool has_sel;
    CK_RV rv;

    memset(p, 0, sizeof *p);
    *bound = false;
    if ((rv = selection_of(a, &p->pcrs, &has_sel)) != CKR_OK)
        return rv;
    if (auth != NULL) {
        /* Which PCRs, and their values, are for the authority's approvals to say. */
        if (attrs_has(a, CKA_TPMTOK_PCR_VALUES))
            return CKR_TEMPLATE_INCONSISTENT;
        if ((rv = tpm_authority_from_spki(auth->value, auth->len, p, name, &name_len)) != CKR_OK)
            return rv;
    } else if (has_sel) {
        if ((rv = fixed_values(tpm, a, p)) != CKR_OK)
            return rv;
    } else {
        return attrs_has(a, CKA_TPMTOK_PCR_VALUES) ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
    }
    *bound = true;
    return CKR_OK;
}

CK_RV policy_for_new_key(struct tpm *tpm, struct attrs *a, struct tpm_policy *p, bool *bound)
{
    uint8_t digest[32];
    CK_RV rv;

    if ((rv = policy_build(tpm, a, p, bound)) != CKR_OK || !*bound)
        return rv;
    if (!tpm_policy_digest(p, digest))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return attrs_set(a, CKA_TPMTOK_POLICY_DIGEST, digest, sizeof digest) ? CKR_OK
                                                                         : CKR_HOST_MEMORY;
}

CK_RV policy_of_key(const struct attrs *a, struct tpm_policy *p, bool *bound)
{
    /* policy_build changes a only when it reads PCRs, which it does not without a TPM. */
    return policy_build(NULL, (struct attrs *)(uintptr_t)a, p, bound);
}

/* One data object's approval, if it is one (anything else is skipped). */
static void approval_of_row(struct token *tok, const struct store_object *row,
                            struct tpm_approval *out, size_t *n)
{
    static const char app[] = TPMTOK_APPROVAL_APPLICATION;
    const struct attr *a, *v;
    struct object *o = NULL;

    if (object_from_row(tok, row, NULL, &o) != CKR_OK)
        return;
    a = attrs_find(&o->attrs, CKA_APPLICATION);
    v = attrs_find(&o->attrs, CKA_VALUE);
    if (a != NULL && v != NULL && a->len == sizeof app - 1 && memcmp(a->value, app, a->len) == 0) {
        if (tpm_approval_parse(v->value, v->len, &out[*n]) == CKR_OK)
            (*n)++;
        else
            log_warn("a data object holds no approval tpmtok can read; it is left out");
    }
    object_free(o);
}

CK_RV policy_load_approvals(struct module *m, struct token *tok, struct tpm *tpm,
                            struct tpm_obj *key)
{
    struct store_object_query q = { .token_id = tok->id, .has_class = true, .class = CKO_DATA };
    struct store_object_hit *hits = NULL;
    struct tpm_approval *list = calloc(APPROVALS_READ_MAX, sizeof *list);
    size_t count = 0, n = 0;
    CK_RV rv;

    if (list == NULL)
        return CKR_HOST_MEMORY;
    if (m->store == NULL) {
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    if ((rv = store_object_find(m->store, &q, &hits, &count)) != CKR_OK)
        goto out;
    for (size_t i = 0; i < count && n < APPROVALS_READ_MAX; i++) {
        struct store_object row = { 0 };
        bool found = false;
        if (store_object_get(m->store, hits[i].id, &row, &found) == CKR_OK && found)
            approval_of_row(tok, &row, list, &n);
        store_object_clear(&row);
    }
    rv = tpm_key_set_approvals(tpm, key, list, n);
out:
    free(hits);
    free(list);
    return rv;
}
