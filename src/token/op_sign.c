/*
 * Signing and verification: RSA PKCS#1 v1.5, PSS and raw, ECDSA, HMAC and AES-CMAC.
 * Private-key and secret-key work runs in the TPM; verification with a public key in
 * OpenSSL. Multi-part hash-then-sign hashes through a TPM sequence (so its state can be
 * saved); a single-part call hashes in OpenSSL and costs the TPM one command.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_tpm2_types.h>

#include "token/der.h"
#include "token/hashing.h"
#include "token/keycache.h"
#include "token/mech.h"
#include "token/object.h"
#include "token/op_internal.h"
#include "token/pkey.h"
#include "tpm/alg.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/secret.h"

struct op_sign {
    struct op base;
    enum mech_detail detail;
    bool verify;
    uint16_t hash;              /* the hash of what is signed (PSS: from the parameters) */
    uint16_t mgf_hash;          /* PSS */
    size_t salt_len;            /* PSS */
    size_t sig_len;             /* signatures are exactly this long */
    size_t coord;               /* ECDSA: bytes per coordinate */
    struct hashing h;           /* hash-then-sign and the MACs */
    bool hashed;
    struct buf data;            /* raw mechanisms: everything fed so far */
    size_t max_data;
    EVP_PKEY *pub;              /* verification with a public key */
};

static bool is_hashed(enum mech_detail d)
{
    return d == SIG_RSA_PKCS_HASH || d == SIG_RSA_PSS_HASH || d == SIG_ECDSA_HASH ||
           d == SIG_HMAC || d == SIG_HMAC_GENERAL || d == SIG_CMAC || d == SIG_CMAC_GENERAL;
}

/* HMAC and CMAC: the TPM computes the MAC, for signing and for checking alike. */
static bool is_mac(enum mech_detail d)
{
    return d == SIG_HMAC || d == SIG_HMAC_GENERAL || d == SIG_CMAC || d == SIG_CMAC_GENERAL;
}

static bool is_pss(enum mech_detail d)
{
    return d == SIG_RSA_PSS || d == SIG_RSA_PSS_HASH;
}

/* The DigestInfo prefixes of the hashes the TPM signs with; what follows is the digest. */
static const struct {
    uint16_t hash;
    uint8_t prefix[19];
    size_t len;
} digest_infos[] = {
    { TPM2_ALG_SHA1, { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05,
                       0x00, 0x04, 0x14 }, 15 },
    { TPM2_ALG_SHA256, { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                         0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 }, 19 },
    { TPM2_ALG_SHA384, { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                         0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 }, 19 },
    { TPM2_ALG_SHA512, { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                         0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 }, 19 },
};

/* A DigestInfo of a hash the TPM knows: its hash and digest. */
static bool parse_digest_info(const uint8_t *in, size_t len, uint16_t *hash, const uint8_t **d)
{
    for (size_t i = 0; i < sizeof digest_infos / sizeof digest_infos[0]; i++) {
        size_t plen = digest_infos[i].len;
        if (len == plen + tpm_hash_size(digest_infos[i].hash) &&
            memcmp(in, digest_infos[i].prefix, plen) == 0) {
            *hash = digest_infos[i].hash;
            *d = in + plen;
            return true;
        }
    }
    return false;
}

/* A raw RSA signature: the private-key operation on a block (TPM2_RSA_Decrypt, no padding). */
static CK_RV rsa_raw(struct op_sign *o, const uint8_t *block, uint8_t *out, size_t *out_len)
{
    const struct tpm_key_public *pub = &o->base.key->pub;
    CK_RV rv;

    *out_len = o->sig_len;
    /* m >= n is no message of this key; and libtpms fails hard on it (TPM_RC_FAILURE). */
    if (!rsa_below_modulus(block, o->sig_len, pub->modulus, pub->modulus_len))
        return CKR_DATA_INVALID;
    rv = tpm_rsa_decrypt(o->base.tpm, o->base.key->obj, TPM_RSA_RAW, 0, NULL, 0, block,
                         o->sig_len, out, out_len);
    if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_ENCRYPTED_DATA_INVALID) {
        /* The TPM key was made without decryption, which raw RSA needs, or m >= n. */
        log_info("this RSA key signs only DigestInfo values of SHA-1/256/384/512");
        rv = CKR_DATA_INVALID;
    }
    return rv;
}

/* CKM_RSA_PKCS: a DigestInfo is signed by TPM2_Sign; other data as a padded raw block. */
static CK_RV sign_rsa_pkcs(struct op_sign *o, const uint8_t *in, size_t len, uint8_t *out,
                           size_t *out_len)
{
    const uint8_t *digest;
    uint16_t hash;
    uint8_t *block;
    size_t k = o->sig_len;
    CK_RV rv;

    *out_len = k;
    if (parse_digest_info(in, len, &hash, &digest))
        return tpm_sign(o->base.tpm, o->base.key->obj, TPM_SIG_RSASSA, hash, digest,
                        tpm_hash_size(hash), out, out_len);
    if ((block = malloc(k)) == NULL)
        return CKR_HOST_MEMORY;
    /* EMSA-PKCS1-v1_5: 00 01 FF..FF 00 data */
    block[0] = 0x00;
    block[1] = 0x01;
    memset(block + 2, 0xff, k - len - 3);
    block[k - len - 1] = 0x00;
    memcpy(block + k - len, in, len);
    rv = rsa_raw(o, block, out, out_len);
    secret_free(block, k);
    return rv;
}

/*
 * CKM_ECDSA takes any length: ECDSA uses the leftmost bits of the input up to the order's
 * size. The TPM takes a digest of a hash's size, so the input is cut to the curve's size and
 * left-padded with zeros to the next hash size, which keeps the integer ECDSA signs.
 */
static CK_RV ecdsa_digest(const struct op_sign *o, const uint8_t *in, size_t len,
                          uint8_t *digest, uint16_t *hash, size_t *dlen)
{
    static const uint16_t hashes[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
                                       TPM2_ALG_SHA512 };
    size_t use = len > o->coord ? o->coord : len;

    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        size_t h = tpm_hash_size(hashes[i]);
        if (h < use)
            continue;
        memset(digest, 0, h - use);
        memcpy(digest + h - use, in, use);
        *hash = hashes[i];
        *dlen = h;
        return CKR_OK;
    }
    return CKR_DATA_LEN_RANGE;   /* P-521 with more than 64 bytes: no TPM hash is that long */
}

/* Signs a digest of o->hash (hash-then-sign, PSS), or raw data for the raw mechanisms. */
static CK_RV sign_tbs(struct op_sign *o, const uint8_t *tbs, size_t len, uint8_t *out,
                      size_t *out_len)
{
    uint8_t digest[64], *block;
    uint16_t hash = o->hash;
    size_t dlen = len;
    CK_RV rv;

    *out_len = o->sig_len;
    switch (o->detail) {
    case SIG_RSA_PKCS:
        return sign_rsa_pkcs(o, tbs, len, out, out_len);
    case SIG_RSA_X509:
        if ((block = calloc(1, o->sig_len)) == NULL)
            return CKR_HOST_MEMORY;
        memcpy(block + o->sig_len - len, tbs, len);
        rv = rsa_raw(o, block, out, out_len);
        secret_free(block, o->sig_len);
        return rv;
    case SIG_ECDSA:
        if ((rv = ecdsa_digest(o, tbs, len, digest, &hash, &dlen)) != CKR_OK)
            return rv;
        return tpm_sign(o->base.tpm, o->base.key->obj, TPM_SIG_ECDSA, hash, digest, dlen, out,
                        out_len);
    case SIG_ECDSA_HASH:
        return tpm_sign(o->base.tpm, o->base.key->obj, TPM_SIG_ECDSA, hash, tbs, len, out,
                        out_len);
    case SIG_RSA_PSS:
    case SIG_RSA_PSS_HASH:
        return tpm_sign(o->base.tpm, o->base.key->obj, TPM_SIG_RSAPSS, hash, tbs, len, out,
                        out_len);
    default:
        return tpm_sign(o->base.tpm, o->base.key->obj, TPM_SIG_RSASSA, hash, tbs, len, out,
                        out_len);
    }
}

static CK_RV verify_tbs(struct op_sign *o, const uint8_t *tbs, size_t len, const uint8_t *sig,
                        size_t sig_len)
{
    switch (o->detail) {
    case SIG_ECDSA:
    case SIG_ECDSA_HASH:
        return pkey_ecdsa_verify(o->pub, o->coord, tbs, len, sig, sig_len);
    case SIG_RSA_PSS:
    case SIG_RSA_PSS_HASH:
        return pkey_rsa_verify(o->pub, PKEY_SIG_PSS, o->hash, o->mgf_hash, o->salt_len, tbs, len,
                               sig, sig_len);
    case SIG_RSA_X509:
        return pkey_rsa_verify(o->pub, PKEY_SIG_RAW, 0, 0, 0, tbs, len, sig, sig_len);
    case SIG_RSA_PKCS:
        return pkey_rsa_verify(o->pub, PKEY_SIG_PKCS1, 0, 0, 0, tbs, len, sig, sig_len);
    default:
        return pkey_rsa_verify(o->pub, PKEY_SIG_PKCS1, o->hash, 0, 0, tbs, len, sig, sig_len);
    }
}

/* A MAC is checked by computing it (in the TPM) and comparing in constant time. */
static CK_RV mac_check(struct op_sign *o, const uint8_t *mac, size_t mac_len, const uint8_t *sig,
                        size_t sig_len)
{
    if (sig_len != o->sig_len)
        return CKR_SIGNATURE_LEN_RANGE;
    return mac_len >= o->sig_len && CRYPTO_memcmp(mac, sig, o->sig_len) == 0
               ? CKR_OK
               : CKR_SIGNATURE_INVALID;
}

/* The end of any signature operation, given what is signed: a digest or MAC, or raw data. */
static CK_RV finish(struct op_sign *o, const uint8_t *tbs, size_t len, const uint8_t *sig,
                    size_t sig_len, uint8_t *out, size_t *out_len)
{
    if (is_mac(o->detail)) {
        if (o->verify)
            return mac_check(o, tbs, len, sig, sig_len);
        memcpy(out, tbs, o->sig_len);
        *out_len = o->sig_len;
        return CKR_OK;
    }
    if (o->verify)
        return verify_tbs(o, tbs, len, sig, sig_len);
    return sign_tbs(o, tbs, len, out, out_len);
}

static CK_RV sign_update(struct op *op, const uint8_t *in, size_t len, uint8_t *out,
                         size_t *out_len)
{
    struct op_sign *o = (struct op_sign *)op;

    *out_len = 0;
    if (o->hashed)
        return hashing_update(&o->h, in, len);
    if (len > o->max_data - o->data.len)
        return CKR_DATA_LEN_RANGE;
    buf_put_bytes(&o->data, in, len);
    return buf_failed(&o->data) ? CKR_HOST_MEMORY : CKR_OK;
}

static size_t sign_update_len(const struct op *op, size_t len)
{
    return 0;
}

static CK_RV sign_final(struct op *op, const uint8_t *sig, size_t sig_len, uint8_t *out,
                        size_t *out_len)
{
    struct op_sign *o = (struct op_sign *)op;
    uint8_t digest[64];
    size_t dlen = sizeof digest;
    CK_RV rv;

    /* No data at all leaves the buffer NULL, and memcpy may not be given NULL even for 0. */
    if (!o->hashed)
        return finish(o, o->data.data != NULL ? o->data.data : (const uint8_t *)"", o->data.len,
                      sig, sig_len, out, out_len);
    if ((rv = hashing_final(&o->h, digest, &dlen)) == CKR_OK)
        rv = finish(o, digest, dlen, sig, sig_len, out, out_len);
    secret_wipe(digest, sizeof digest);
    return rv;
}

static size_t sign_final_max(const struct op *op, size_t more)
{
    const struct op_sign *o = (const struct op_sign *)op;

    return o->verify ? 0 : o->sig_len;
}

/* Single-part hash-then-sign hashes in OpenSSL: the signature is the same, one command fewer. */
static CK_RV sign_oneshot(struct op *op, const uint8_t *in, size_t len, const uint8_t *sig,
                          size_t sig_len, uint8_t *out, size_t *out_len)
{
    struct op_sign *o = (struct op_sign *)op;
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    size_t ignored = 0;
    CK_RV rv;

    if (!o->hashed || is_mac(o->detail)) {
        if ((rv = sign_update(op, in, len, NULL, &ignored)) != CKR_OK)
            return rv;
        return sign_final(op, sig, sig_len, out, out_len);
    }
    if (EVP_Digest(in, len, digest, &dlen, tpm_hash_md(o->hash), NULL) != 1)
        return CKR_FUNCTION_FAILED;
    rv = finish(o, digest, dlen, sig, sig_len, out, out_len);
    secret_wipe(digest, sizeof digest);
    return rv;
}

static size_t sign_oneshot_max(const struct op *op, size_t len)
{
    return sign_final_max(op, 0);
}

/* Only hashing mechanisms have a state to save; the raw ones gather their one input. */
static CK_RV sign_save(struct op *op, struct buf *out)
{
    struct op_sign *o = (struct op_sign *)op;

    return o->hashed ? hashing_save(&o->h, out) : CKR_STATE_UNSAVEABLE;
}

static CK_RV sign_restore(struct op *op, struct rd *in)
{
    struct op_sign *o = (struct op_sign *)op;

    return o->hashed ? hashing_restore(&o->h, in) : CKR_SAVED_STATE_INVALID;
}

static void sign_free(struct op *op)
{
    struct op_sign *o = (struct op_sign *)op;

    hashing_free(&o->h);
    buf_free(&o->data);
    EVP_PKEY_free(o->pub);
    free(o);
}

static const struct op_vtable sign_vt = {
    .update = sign_update,
    .update_len = sign_update_len,
    .final = sign_final,
    .final_max = sign_final_max,
    .oneshot = sign_oneshot,
    .oneshot_max = sign_oneshot_max,
    .exact = true,
    .save = sign_save,
    .restore = sign_restore,
    .free = sign_free,
};

/* PSS parameters: the hash must match a hash-then-sign mechanism's, and the TPM fixes the rest. */
static CK_RV pss_params(struct op_sign *o, const struct op_init *in)
{
    const CK_RSA_PKCS_PSS_PARAMS *p = in->params->pParameter;
    size_t hlen;

    if (p == NULL || in->params->ulParameterLen != sizeof *p)
        return CKR_MECHANISM_PARAM_INVALID;
    o->hash = pkey_hash_of_mech(p->hashAlg);
    o->mgf_hash = pkey_hash_of_mgf(p->mgf);
    o->salt_len = p->sLen;
    hlen = tpm_hash_size(o->hash);
    if (o->hash == 0 || o->mgf_hash == 0 ||
        (in->mech->detail == SIG_RSA_PSS_HASH && o->hash != in->mech->hash))
        return CKR_MECHANISM_PARAM_INVALID;
    if (o->salt_len + hlen + 2 > o->sig_len)
        return CKR_MECHANISM_PARAM_INVALID;
    /* The TPM signs with MGF1 of the same hash and a salt as long as the hash. */
    if (!o->verify && (o->mgf_hash != o->hash || o->salt_len != hlen))
        return CKR_MECHANISM_PARAM_INVALID;
    o->max_data = hlen;
    return CKR_OK;
}

/* The plain MACs take no parameter; the _GENERAL ones the MAC's length, up to the full one. */
static CK_RV mac_params(struct op_sign *o, const struct op_init *in)
{
    size_t full = tpm_mac_size(o->hash);
    CK_ULONG len;

    o->sig_len = full;
    if (in->mech->detail == SIG_HMAC || in->mech->detail == SIG_CMAC)
        return in->params->pParameter == NULL && in->params->ulParameterLen == 0
                   ? CKR_OK
                   : CKR_MECHANISM_PARAM_INVALID;
    if (in->params->pParameter == NULL || in->params->ulParameterLen != sizeof len)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(&len, in->params->pParameter, sizeof len);
    if (len == 0 || len > full)
        return CKR_MECHANISM_PARAM_INVALID;
    o->sig_len = len;
    return CKR_OK;
}

/* Sizes from the key, and an OpenSSL public key for verification. */
static CK_RV key_sizes(struct op_sign *o, const struct op_init *in)
{
    struct tpm_key_public pub;
    CK_RV rv;

    if (in->key != NULL)
        pub = in->key->pub;
    else if ((rv = object_public_from_attrs(&in->key_obj->attrs, &pub)) != CKR_OK)
        return CKR_KEY_TYPE_INCONSISTENT;
    o->sig_len = pub.type == TPM_KEY_EC ? 2 * pub.coord_len : pub.modulus_len;
    o->coord = pub.coord_len;
    if (o->verify && (o->pub = der_pkey_from_public(&pub)) == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    return CKR_OK;
}

static CK_RV sign_setup(struct op_sign *o, const struct op_init *in)
{
    CK_RV rv;

    if (is_mac(o->detail))
        return mac_params(o, in);
    if ((rv = key_sizes(o, in)) != CKR_OK)
        return rv;
    if (is_pss(o->detail))
        return pss_params(o, in);
    if (in->params->pParameter != NULL || in->params->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    switch (o->detail) {
    case SIG_RSA_PKCS:
        o->max_data = o->sig_len - 11;
        break;
    case SIG_RSA_X509:
        o->max_data = o->sig_len;
        break;
    case SIG_ECDSA:
        o->max_data = 1024;
        break;
    default:
        break;
    }
    return CKR_OK;
}

CK_RV op_sign_new(const struct op_init *in, struct op **out)
{
    struct op_sign *o = calloc(1, sizeof *o);
    CK_RV rv;

    if (o == NULL)
        return CKR_HOST_MEMORY;
    o->base.vt = &sign_vt;
    o->detail = in->mech->detail;
    o->verify = in->kind == OP_VERIFY;
    o->hash = in->mech->hash;
    o->hashed = is_hashed(o->detail);
    buf_init(&o->data, true);
    if ((rv = op_base_init(&o->base, in)) != CKR_OK || (rv = sign_setup(o, in)) != CKR_OK)
        goto out;
    if (o->hashed)
        rv = hashing_init(&o->h, o->base.tpm, o->base.salt,
                          is_mac(o->detail) ? in->key->obj : NULL, o->hash);
out:
    if (rv != CKR_OK) {
        sign_free(&o->base);
        return rv;
    }
    *out = &o->base;
    return CKR_OK;
}
