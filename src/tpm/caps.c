/* What the TPM implements (algorithms, curves, commands, key sizes): asked once, then remembered. */
#include "config.h"

#include <string.h>

#include <tss2/tss2_mu.h>

#include "tpm/call.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"

/*
 * A TPM answers a capability list in pages: we ask for as many entries as a response can hold,
 * so most TPMs answer each list in one round trip, and follow moreData where they do not.
 */
#define MAX_PAGES 64

struct cap_page {
    TPM2_CAP cap;
    UINT32 first;                  /* first property (algorithm, curve, command) of the page */
    UINT32 count;
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *data;    /* ESAPI's, freed with Esys_Free */
};

static TSS2_RC cap_page_once(struct tpm *t, void *arg)
{
    struct cap_page *p = arg;

    Esys_Free(p->data);
    p->data = NULL;
    p->more = TPM2_NO;
    return Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, p->cap,
                              p->first, p->count, &p->more, &p->data);
}

/* True if one more entry fits in a list of max; logs what it drops. */
static bool room(size_t n, size_t max, uint32_t v)
{
    if (n < max)
        return true;
    log_warn("the TPM lists more than %zu entries of a capability; ignoring 0x%x", max,
             (unsigned)v);
    return false;
}

/* Copies one page into the cache; returns the property the next page starts at. */
static UINT32 caps_take(struct tpm_caps *c, const TPMS_CAPABILITY_DATA *d, UINT32 first)
{
    UINT32 next = first;

    if (d->capability == TPM2_CAP_ALGS) {
        const TPML_ALG_PROPERTY *l = &d->data.algorithms;
        for (UINT32 i = 0; i < l->count && i < TPM2_MAX_CAP_ALGS; i++) {
            TPM2_ALG_ID alg = l->algProperties[i].alg;
            if (room(c->n_algs, CAPS_MAX_ALGS, alg))
                c->algs[c->n_algs++] = alg;
            next = (UINT32)alg + 1;
        }
    } else if (d->capability == TPM2_CAP_ECC_CURVES) {
        const TPML_ECC_CURVE *l = &d->data.eccCurves;
        for (UINT32 i = 0; i < l->count && i < TPM2_MAX_ECC_CURVES; i++) {
            TPM2_ECC_CURVE curve = l->eccCurves[i];
            if (room(c->n_curves, CAPS_MAX_CURVES, curve))
                c->curves[c->n_curves++] = curve;
            next = (UINT32)curve + 1;
        }
    } else if (d->capability == TPM2_CAP_COMMANDS) {
        const TPML_CCA *l = &d->data.command;
        for (UINT32 i = 0; i < l->count && i < TPM2_MAX_CAP_CC; i++) {
            TPMA_CC a = l->commandAttributes[i];
            uint32_t cc = (a & TPMA_CC_COMMANDINDEX_MASK) | (a & TPMA_CC_V);
            if (room(c->n_commands, CAPS_MAX_COMMANDS, cc))
                c->commands[c->n_commands++] = cc;
            next = cc + 1;
        }
    }
    return next;
}

/* Reads every page of one capability list into t->caps. */
static TSS2_RC read_cap(struct tpm *t, TPM2_CAP cap, UINT32 first)
{
    struct cap_page p = { .cap = cap, .first = first };
    TSS2_RC rc;
    UINT32 next;

    p.count = cap == TPM2_CAP_ALGS ? TPM2_MAX_CAP_ALGS
              : cap == TPM2_CAP_ECC_CURVES ? TPM2_MAX_ECC_CURVES : TPM2_MAX_CAP_CC;
    for (int page = 0; page < MAX_PAGES; page++) {
        if ((rc = tpm_call(t, NULL, cap_page_once, &p)) != TSS2_RC_SUCCESS)
            break;
        if (p.data->capability != cap) {
            rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
            break;
        }
        next = caps_take(&t->caps, p.data, p.first);
        /* A page that adds nothing would make us ask for the same page for ever. */
        if (p.more != TPM2_YES || next <= p.first)
            break;
        p.first = next;
    }
    Esys_Free(p.data);
    return rc;
}

/* Fills t->caps on first use. Caller holds t->lock. False (logged) if the TPM did not answer. */
static bool caps_ensure_locked(struct tpm *t)
{
    struct tpm_caps *c = &t->caps;
    TSS2_RC rc;

    if (c->read)
        return true;
    c->n_algs = c->n_curves = c->n_commands = 0;
    if ((rc = read_cap(t, TPM2_CAP_ALGS, TPM2_ALG_FIRST)) != TSS2_RC_SUCCESS ||
        (rc = read_cap(t, TPM2_CAP_ECC_CURVES, TPM2_ECC_NONE + 1)) != TSS2_RC_SUCCESS ||
        (rc = read_cap(t, TPM2_CAP_COMMANDS, TPM2_CC_FIRST)) != TSS2_RC_SUCCESS) {
        tpm_rc_to_rv(rc, "TPM2_GetCapability(algorithms, curves, commands)");
        c->n_algs = c->n_curves = c->n_commands = 0;
        return false;
    }
    log_debug("the TPM has %zu algorithms, %zu curves, %zu commands", c->n_algs, c->n_curves,
              c->n_commands);
    __atomic_store_n(&c->read, true, __ATOMIC_RELEASE);
    return true;
}

/*
 * The lists, once read, never change: then they are read without the lock, which a thread in
 * an application callback during its own TPM command cannot take.
 */
static bool caps_ready(struct tpm *t)
{
    bool ok;

    if (__atomic_load_n(&t->caps.read, __ATOMIC_ACQUIRE))
        return true;
    if (!tpm_enter(t))
        return false;
    ok = caps_ensure_locked(t);
    tpm_leave(t);
    return ok;
}

static bool in_list16(const uint16_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

bool tpm_has_alg(struct tpm *t, uint16_t alg)
{
    return caps_ready(t) && in_list16(t->caps.algs, t->caps.n_algs, alg);
}

bool tpm_has_curve(struct tpm *t, uint16_t curve)
{
    return caps_ready(t) && in_list16(t->caps.curves, t->caps.n_curves, curve);
}

bool tpm_has_command(struct tpm *t, uint32_t cc)
{
    if (!caps_ready(t))
        return false;
    for (size_t i = 0; i < t->caps.n_commands; i++)
        if (t->caps.commands[i] == cc)
            return true;
    return false;
}

static TSS2_RC test_parms_once(struct tpm *t, void *arg)
{
    return Esys_TestParms(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, arg);
}

/*
 * A definite no from TPM2_TestParms: a parameter error from the TPM (format one), or tss2's
 * marshalling refusing the parameters (tss2 3.2 cannot marshal TDES), in which case no command
 * could carry such a key either.
 */
static bool parms_refused(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

    return (layer == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1)) ||
           (layer == TSS2_MU_RC_LAYER && (rc & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_BAD_VALUE);
}

/*
 * Asks TPM2_TestParms, remembering the answer. A definite no is remembered; anything else (no
 * TPM, a transport error) is logged and says no this time only. Caller holds t->lock.
 */
static bool test_parms_locked(struct tpm *t, TPMT_PUBLIC_PARMS *parms, uint16_t alg,
                              unsigned bits)
{
    struct tpm_caps *c = &t->caps;
    uint8_t scratch[sizeof(TPMT_PUBLIC_PARMS)];
    size_t off = 0;
    TSS2_RC rc;
    bool ok;

    for (size_t i = 0; i < c->n_parms; i++)
        if (c->parms[i].type == parms->type && c->parms[i].alg == alg && c->parms[i].bits == bits)
            return c->parms[i].ok;
    /* What tss2 cannot marshal needs no TPM to refuse it (and ESAPI would log an error). */
    rc = Tss2_MU_TPMT_PUBLIC_PARMS_Marshal(parms, scratch, sizeof scratch, &off);
    if (rc == TSS2_RC_SUCCESS)
        rc = tpm_call(t, NULL, test_parms_once, parms);
    ok = rc == TSS2_RC_SUCCESS;
    if (!ok && !parms_refused(rc)) {
        tpm_rc_to_rv(rc, "TPM2_TestParms");
        return false;
    }
    if (!ok)
        log_info("TPM2_TestParms: no to algorithm 0x%x with %u bits (0x%x)", (unsigned)alg, bits,
                 (unsigned)rc);
    if (c->n_parms < CAPS_MAX_PARMS) {
        c->parms[c->n_parms].type = parms->type;
        c->parms[c->n_parms].alg = alg;
        c->parms[c->n_parms].bits = bits;
        c->parms[c->n_parms].ok = ok;
        c->n_parms++;
    }
    return ok;
}

bool tpm_has_rsa_bits(struct tpm *t, unsigned bits)
{
    TPMT_PUBLIC_PARMS parms;
    bool yes;

    if (bits == 0 || bits > UINT16_MAX)
        return false;
    memset(&parms, 0, sizeof parms);
    parms.type = TPM2_ALG_RSA;
    parms.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    parms.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    parms.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
    yes = false;
    if (tpm_enter(t)) {
        yes = test_parms_locked(t, &parms, TPM2_ALG_RSA, bits);
        tpm_leave(t);
    }
    return yes;
}

bool tpm_has_sym_bits(struct tpm *t, uint16_t alg, unsigned bits)
{
    TPMT_PUBLIC_PARMS parms;
    bool yes;

    if (bits == 0 || bits > UINT16_MAX)
        return false;
    memset(&parms, 0, sizeof parms);
    parms.type = TPM2_ALG_SYMCIPHER;
    parms.parameters.symDetail.sym.algorithm = alg;
    parms.parameters.symDetail.sym.keyBits.sym = (TPM2_KEY_BITS)bits;
    parms.parameters.symDetail.sym.mode.sym = TPM2_ALG_NULL;
    yes = false;
    if (tpm_enter(t)) {
        yes = test_parms_locked(t, &parms, alg, bits);
        tpm_leave(t);
    }
    return yes;
}
