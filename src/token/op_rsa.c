/*
 * RSA encryption (with the public key, in OpenSSL) and decryption (in the TPM): PKCS#1 v1.5,
 * OAEP and raw. The input is gathered across updates (it is one block); the result comes at
 * the end.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "token/der.h"
#include "token/hashing.h"
#include "token/keycache.h"
#include "token/mech.h"
#include "token/object.h"
#include "token/op_internal.h"
#include "token/pkey.h"
#include "tpm/alg.h"
#include "util/buf.h"
#include "util/secret.h"

struct op_rsa {
    struct op base;
    enum mech_detail detail;
    bool decrypt;
    size_t k;                   /* modulus size */
    uint16_t hash, mgf_hash;    /* OAEP */
    uint8_t *label;
    size_t label_len;
    struct buf data;            /* the block so far (secret when encrypting) */
    size_t max_in;
    EVP_PKEY *pub;              /* encryption */
};

/* True if the big-endian number a (len bytes) is below the modulus n (n_len bytes). */
bool rsa_below_modulus(const uint8_t *a, size_t len, const uint8_t *n, size_t n_len)
{
    if (len != n_len)
        return len < n_len;
    for (size_t i = 0; i < len; i++)
        if (a[i] != n[i])
            return a[i] < n[i];
    return false;
}

static CK_RV rsa_update(struct op *op, const uint8_t *in, size_t len, uint8_t *out,
                        size_t *out_len)
{
    struct op_rsa *r = (struct op_rsa *)op;

    *out_len = 0;
    if (len > r->max_in - r->data.len)
        return r->decrypt ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
    buf_put_bytes(&r->data, in, len);
    return buf_failed(&r->data) ? CKR_HOST_MEMORY : CKR_OK;
}

static size_t rsa_update_len(const struct op *op, size_t len)
{
    return 0;
}

static enum tpm_rsa_padding tpm_padding(enum mech_detail d)
{
    return d == RSA_ENC_OAEP ? TPM_RSA_OAEP : d == RSA_ENC_X509 ? TPM_RSA_RAW : TPM_RSA_PKCS1;
}

static enum pkey_rsa_enc pkey_padding(enum mech_detail d)
{
    return d == RSA_ENC_OAEP ? PKEY_ENC_OAEP : d == RSA_ENC_X509 ? PKEY_ENC_RAW : PKEY_ENC_PKCS1;
}

static CK_RV rsa_final(struct op *op, const uint8_t *in, size_t in_len, uint8_t *out,
                       size_t *out_len)
{
    struct op_rsa *r = (struct op_rsa *)op;

    *out_len = r->k;
    /* No data at all leaves the buffer NULL, and memcpy may not be given NULL even for 0. */
    if (!r->decrypt)
        return pkey_rsa_encrypt(r->pub, pkey_padding(r->detail), r->hash, r->mgf_hash, r->label,
                                r->label_len,
                                r->data.data != NULL ? r->data.data : (const uint8_t *)"",
                                r->data.len, out, out_len);
    if (r->data.len != r->k)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    /* Not a ciphertext of this key; and libtpms fails hard on c >= n (TPM_RC_FAILURE). */
    if (!rsa_below_modulus(r->data.data, r->k, r->base.key->pub.modulus, r->k))
        return CKR_ENCRYPTED_DATA_INVALID;
    return tpm_rsa_decrypt(r->base.tpm, r->base.key->obj, tpm_padding(r->detail), r->hash,
                           r->label, r->label_len, r->data.data, r->k, out, out_len);
}

static size_t rsa_final_max(const struct op *op, size_t more)
{
    return ((const struct op_rsa *)op)->k;
}

static void rsa_free(struct op *op)
{
    struct op_rsa *r = (struct op_rsa *)op;

    buf_free(&r->data);
    free(r->label);
    EVP_PKEY_free(r->pub);
    free(r);
}

static const struct op_vtable rsa_encrypt_vt = {
    .update = rsa_update,
    .update_len = rsa_update_len,
    .final = rsa_final,
    .final_max = rsa_final_max,
    .exact = true,
    .free = rsa_free,
};

/* A decryption's length is known once the padding is off. */
static const struct op_vtable rsa_decrypt_vt = {
    .update = rsa_update,
    .update_len = rsa_update_len,
    .final = rsa_final,
    .final_max = rsa_final_max,
    .exact = false,
    .free = rsa_free,
};

static CK_RV oaep_params(struct op_rsa *r, const CK_MECHANISM *m)
{
    const CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;

    if (p == NULL || m->ulParameterLen != sizeof *p)
        return CKR_MECHANISM_PARAM_INVALID;
    r->hash = pkey_hash_of_mech(p->hashAlg);
    r->mgf_hash = pkey_hash_of_mgf(p->mgf);
    if (r->hash == 0 || r->mgf_hash == 0 ||
        (p->source != CKZ_DATA_SPECIFIED && !(p->source == 0 && p->ulSourceDataLen == 0)) ||
        (p->pSourceData == NULL && p->ulSourceDataLen != 0))
        return CKR_MECHANISM_PARAM_INVALID;
    /* The TPM decrypts with MGF1 of the OAEP hash, and takes a label only with a final zero. */
    if (r->decrypt && (r->mgf_hash != r->hash ||
                       (p->ulSourceDataLen > 0 &&
                        ((const uint8_t *)p->pSourceData)[p->ulSourceDataLen - 1] != 0)))
        return CKR_MECHANISM_PARAM_INVALID;
    if (2 * tpm_hash_size(r->hash) + 2 > r->k)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSourceDataLen > 0) {
        if ((r->label = malloc(p->ulSourceDataLen)) == NULL)
            return CKR_HOST_MEMORY;
        memcpy(r->label, p->pSourceData, p->ulSourceDataLen);
        r->label_len = p->ulSourceDataLen;
    }
    r->max_in = r->decrypt ? r->k : r->k - 2 * tpm_hash_size(r->hash) - 2;
    return CKR_OK;
}

static CK_RV rsa_setup(struct op_rsa *r, const struct op_init *in)
{
    struct tpm_key_public pub;

    if (in->key != NULL) {
        pub = in->key->pub;
    } else if (object_public_from_attrs(&in->key_obj->attrs, &pub) != CKR_OK ||
               (r->pub = der_pkey_from_public(&pub)) == NULL) {
        return CKR_KEY_TYPE_INCONSISTENT;
    }
    r->k = pub.modulus_len;
    if (r->detail == RSA_ENC_OAEP)
        return oaep_params(r, in->params);
    if (in->params->pParameter != NULL || in->params->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    r->max_in = r->decrypt || r->detail == RSA_ENC_X509 ? r->k : r->k - 11;
    return CKR_OK;
}

CK_RV op_rsa_new(const struct op_init *in, struct op **out)
{
    struct op_rsa *r = calloc(1, sizeof *r);
    CK_RV rv;

    if (r == NULL)
        return CKR_HOST_MEMORY;
    /* CKM_RSA_PKCS and CKM_RSA_X_509 share their table rows with signing. */
    r->detail = in->mech->detail == SIG_RSA_X509   ? RSA_ENC_X509
                : in->mech->detail == SIG_RSA_PKCS ? RSA_ENC_PKCS
                                                   : in->mech->detail;
    r->decrypt = in->kind == OP_DECRYPT;
    r->base.vt = r->decrypt ? &rsa_decrypt_vt : &rsa_encrypt_vt;
    buf_init(&r->data, true);
    if ((rv = op_base_init(&r->base, in)) != CKR_OK || (rv = rsa_setup(r, in)) != CKR_OK) {
        rsa_free(&r->base);
        return rv;
    }
    *out = &r->base;
    return CKR_OK;
}
