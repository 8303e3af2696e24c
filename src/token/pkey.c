/* Public-key operations in OpenSSL: RSA and ECDSA verification, RSA encryption. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <tss2/tss2_tpm2_types.h>

#include "token/pkey.h"
#include "tpm/alg.h"
#include "util/secret.h"

uint16_t pkey_hash_of_mech(CK_MECHANISM_TYPE mech)
{
    switch (mech) {
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

uint16_t pkey_hash_of_mgf(CK_RSA_PKCS_MGF_TYPE mgf)
{
    switch (mgf) {
    case CKG_MGF1_SHA1:
        return TPM2_ALG_SHA1;
    case CKG_MGF1_SHA256:
        return TPM2_ALG_SHA256;
    case CKG_MGF1_SHA384:
        return TPM2_ALG_SHA384;
    case CKG_MGF1_SHA512:
        return TPM2_ALG_SHA512;
    default:
        return 0;
    }
}

size_t pkey_rsa_size(EVP_PKEY *pub)
{
    int n = EVP_PKEY_get_size(pub);

    return n > 0 ? (size_t)n : 0;
}

/* The padding-specific settings of an RSA operation context. */
static bool rsa_ctx_set(EVP_PKEY_CTX *c, int padding, uint16_t hash, uint16_t mgf_hash,
                        int salt_len)
{
    if (EVP_PKEY_CTX_set_rsa_padding(c, padding) <= 0)
        return false;
    if (hash != 0 && padding != RSA_PKCS1_OAEP_PADDING &&
        EVP_PKEY_CTX_set_signature_md(c, tpm_hash_md(hash)) <= 0)
        return false;
    if (padding == RSA_PKCS1_PSS_PADDING &&
        (EVP_PKEY_CTX_set_rsa_mgf1_md(c, tpm_hash_md(mgf_hash)) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(c, salt_len) <= 0))
        return false;
    return true;
}

static CK_RV rsa_verify_raw(EVP_PKEY *pub, const uint8_t *tbs, size_t tbs_len,
                            const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    size_t k = pkey_rsa_size(pub), got = k;
    uint8_t *m = malloc(k), *want = calloc(1, k);
    CK_RV rv = CKR_HOST_MEMORY;

    if (c == NULL || m == NULL || want == NULL)
        goto out;
    rv = CKR_SIGNATURE_INVALID;
    if (tbs_len > k || EVP_PKEY_verify_recover_init(c) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) <= 0 ||
        EVP_PKEY_verify_recover(c, m, &got, sig, sig_len) <= 0 || got != k)
        goto out;
    memcpy(want + k - tbs_len, tbs, tbs_len);
    rv = CRYPTO_memcmp(m, want, k) == 0 ? CKR_OK : CKR_SIGNATURE_INVALID;
out:
    free(m);
    free(want);
    EVP_PKEY_CTX_free(c);
    return rv;
}

CK_RV pkey_rsa_verify(EVP_PKEY *pub, enum pkey_rsa_sig style, uint16_t hash, uint16_t mgf_hash,
                      size_t salt_len, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
                      size_t sig_len)
{
    EVP_PKEY_CTX *c;
    int padding = style == PKEY_SIG_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    CK_RV rv;

    if (sig_len != pkey_rsa_size(pub))
        return CKR_SIGNATURE_LEN_RANGE;
    if (style == PKEY_SIG_RAW)
        return rsa_verify_raw(pub, tbs, tbs_len, sig, sig_len);
    if ((c = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
        return CKR_HOST_MEMORY;
    rv = CKR_SIGNATURE_INVALID;
    if (EVP_PKEY_verify_init(c) > 0 && rsa_ctx_set(c, padding, hash, mgf_hash, (int)salt_len) &&
        EVP_PKEY_verify(c, sig, sig_len, tbs, tbs_len) == 1)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(c);
    return rv;
}

/* r || s as the DER ECDSA-Sig-Value OpenSSL verifies. */
static int ecdsa_der(const uint8_t *sig, size_t coord, unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)coord, NULL), *s = BN_bin2bn(sig + coord, (int)coord, NULL);
    int n = -1;

    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL;   /* transferred */
        n = i2d_ECDSA_SIG(es, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n;
}

CK_RV pkey_ecdsa_verify(EVP_PKEY *pub, size_t coord, const uint8_t *tbs, size_t tbs_len,
                        const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *c = NULL;
    unsigned char *der = NULL;
    int n;
    CK_RV rv = CKR_SIGNATURE_INVALID;

    if (sig_len != 2 * coord)
        return CKR_SIGNATURE_LEN_RANGE;
    if ((n = ecdsa_der(sig, coord, &der)) <= 0)
        return CKR_HOST_MEMORY;
    if ((c = EVP_PKEY_CTX_new(pub, NULL)) != NULL && EVP_PKEY_verify_init(c) > 0 &&
        EVP_PKEY_verify(c, der, (size_t)n, tbs, tbs_len) == 1)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(c);
    OPENSSL_free(der);
    return rv;
}

static CK_RV rsa_encrypt_raw(EVP_PKEY *pub, const uint8_t *in, size_t len, uint8_t *out,
                             size_t *out_len)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    size_t k = pkey_rsa_size(pub);
    uint8_t *block = calloc(1, k ? k : 1);
    CK_RV rv = CKR_HOST_MEMORY;

    if (c == NULL || block == NULL)
        goto out;
    rv = CKR_DATA_LEN_RANGE;
    if (len > k)
        goto out;
    memcpy(block + k - len, in, len);
    *out_len = k;
    /* OpenSSL refuses a block that is not below the modulus. */
    rv = EVP_PKEY_encrypt_init(c) > 0 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) > 0 &&
                 EVP_PKEY_encrypt(c, out, out_len, block, k) > 0
             ? CKR_OK
             : CKR_DATA_INVALID;
out:
    secret_free(block, k);
    EVP_PKEY_CTX_free(c);
    return rv;
}

CK_RV pkey_rsa_encrypt(EVP_PKEY *pub, enum pkey_rsa_enc pad, uint16_t hash, uint16_t mgf_hash,
                       const uint8_t *label, size_t label_len, const uint8_t *in, size_t len,
                       uint8_t *out, size_t *out_len)
{
    size_t k = pkey_rsa_size(pub), h = pad == PKEY_ENC_OAEP ? (size_t)EVP_MD_get_size(tpm_hash_md(hash)) : 0;
    EVP_PKEY_CTX *c;
    unsigned char *lab = NULL;
    CK_RV rv = CKR_FUNCTION_FAILED;

    if (pad == PKEY_ENC_RAW)
        return rsa_encrypt_raw(pub, in, len, out, out_len);
    if ((pad == PKEY_ENC_PKCS1 && len + 11 > k) || (pad == PKEY_ENC_OAEP && len + 2 * h + 2 > k))
        return CKR_DATA_LEN_RANGE;
    if ((c = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
        return CKR_HOST_MEMORY;
    *out_len = k;
    if (EVP_PKEY_encrypt_init(c) <= 0)
        goto out;
    if (pad == PKEY_ENC_PKCS1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)
        goto out;
    if (pad == PKEY_ENC_OAEP &&
        (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_oaep_md(c, tpm_hash_md(hash)) <= 0 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(c, tpm_hash_md(mgf_hash)) <= 0))
        goto out;
    /* OpenSSL takes ownership of the label. */
    if (pad == PKEY_ENC_OAEP && label_len > 0 &&
        ((lab = OPENSSL_memdup(label, label_len)) == NULL ||
         EVP_PKEY_CTX_set0_rsa_oaep_label(c, lab, (int)label_len) <= 0)) {
        OPENSSL_free(lab);
        goto out;
    }
    if (EVP_PKEY_encrypt(c, out, out_len, in, len) > 0)
        rv = CKR_OK;
out:
    EVP_PKEY_CTX_free(c);
    return rv;
}
