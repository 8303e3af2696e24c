/* Digest operations: SHA-1/256/384/512 computed by the TPM through token/hashing. */
#include "config.h"

#include <stdlib.h>

#include "token/hashing.h"
#include "token/mech.h"
#include "token/op.h"
#include "token/op_internal.h"
#include "tpm/alg.h"

struct op_digest {
    struct op base;
    struct hashing h;
    size_t digest_len;
};

static CK_RV digest_update(struct op *op, const uint8_t *in, size_t len, uint8_t *out,
                           size_t *out_len)
{
    struct op_digest *d = (struct op_digest *)op;

    *out_len = 0;
    return hashing_update(&d->h, in, len);
}

static size_t digest_update_len(const struct op *op, size_t len)
{
    return 0;
}

static CK_RV digest_final(struct op *op, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t *out_len)
{
    struct op_digest *d = (struct op_digest *)op;

    *out_len = d->digest_len;
    return hashing_final(&d->h, out, out_len);
}

static size_t digest_final_max(const struct op *op, size_t more)
{
    return ((const struct op_digest *)op)->digest_len;
}

static CK_RV digest_save(struct op *op, struct buf *out)
{
    return hashing_save(&((struct op_digest *)op)->h, out);
}

static CK_RV digest_restore(struct op *op, struct rd *in)
{
    return hashing_restore(&((struct op_digest *)op)->h, in);
}

static void digest_free(struct op *op)
{
    struct op_digest *d = (struct op_digest *)op;

    hashing_free(&d->h);
    free(d);
}

static const struct op_vtable digest_vt = {
    .update = digest_update,
    .update_len = digest_update_len,
    .final = digest_final,
    .final_max = digest_final_max,
    .exact = true,
    .save = digest_save,
    .restore = digest_restore,
    .free = digest_free,
};

CK_RV op_digest_new(const struct op_init *in, struct op **out)
{
    struct op_digest *d;
    CK_RV rv;

    if (in->params->pParameter != NULL || in->params->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if ((d = calloc(1, sizeof *d)) == NULL)
        return CKR_HOST_MEMORY;
    d->base.vt = &digest_vt;
    d->digest_len = tpm_hash_size(in->mech->hash);
    if ((rv = op_base_init(&d->base, in)) != CKR_OK ||
        (rv = hashing_init(&d->h, d->base.tpm, d->base.salt, NULL, in->mech->hash)) != CKR_OK) {
        digest_free(&d->base);
        return rv;
    }
    *out = &d->base;
    return CKR_OK;
}
