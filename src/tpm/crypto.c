/* Using keys in the TPM: signatures, RSA private-key operations, symmetric encryption. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tpm/alg.h"
#include "tpm/call.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"
#include "util/secret.h"

/* The block of every cipher tss2 can carry (AES, SM4, Camellia); TDES, were it carried, has 8. */
#define AES_BLOCK 16
#define TDES_BLOCK 8

/* ---- what a key may do, as the TPM says it ---- */

CK_RV tpm_use_rc_to_rv(TSS2_RC rc, const char *what)
{
    TSS2_RC base = tpm_rc_base(rc);

    if (rc == TPMTOK_RC_POLICY)
        return CKR_FUNCTION_FAILED;
    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
        return tpm_rc_to_rv(rc, what);
    /* Routine for a caller that asks the wrong key: logged, but not as an error. */
    switch (base) {
    case TPM2_RC_ATTRIBUTES:
    case TPM2_RC_KEY:
        log_info("%s: the key may not do that (0x%x)", what, (unsigned)rc);
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    case TPM2_RC_TYPE:
        log_info("%s: not that type of key (0x%x)", what, (unsigned)rc);
        return CKR_KEY_TYPE_INCONSISTENT;
    case TPM2_RC_HASH:
    case TPM2_RC_SCHEME:
    case TPM2_RC_MODE:
        log_info("%s: the TPM does not do that hash, scheme or mode (0x%x)", what,
                 (unsigned)rc);
        return CKR_MECHANISM_INVALID;
    default:
        return tpm_rc_to_rv(rc, what);
    }
}

/* Bad blobs are a store problem; a too-long auth value is the caller's. */
CK_RV tpm_key_open(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *blob,
                   const uint8_t *auth, size_t auth_len, struct tpm_obj **out)
{
    TSS2_RC rc;

    rc = TPMTOK_RC_REENTERED;
    if (tpm_enter(t)) {
        rc = resid_key_new(t, parent, blob, auth, auth_len, out);
        tpm_leave(t);
    }
    if (rc == TSS2_ESYS_RC_MEMORY)
        return CKR_HOST_MEMORY;
    if (rc == TPMTOK_RC_REENTERED)
        return tpm_rc_to_rv(rc, "tpm_key_open");
    if (rc == TSS2_ESYS_RC_BAD_VALUE) {
        log_error("tpm_key_open: a %zu-byte auth value is too long", auth_len);
        return CKR_GENERAL_ERROR;
    }
    if (rc != TSS2_RC_SUCCESS) {
        log_error("a stored key blob does not parse (0x%x)", (unsigned)rc);
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

/* ---- sizes ---- */

static size_t rsa_bytes(const struct tpm_obj *key)
{
    return key->pub.publicArea.type == TPM2_ALG_RSA
               ? key->pub.publicArea.parameters.rsaDetail.keyBits / 8u
               : 0;
}

/* A big-endian number as exactly len bytes (zeros in front); false if it does not fit. */
static bool pad_left(uint8_t *dst, size_t len, const uint8_t *src, size_t src_len)
{
    while (src_len > len && src[0] == 0) {
        src++;
        src_len--;
    }
    if (src_len > len)
        return false;
    memset(dst, 0, len - src_len);
    memcpy(dst + len - src_len, src, src_len);
    return true;
}

/* ---- TPM2_Sign ---- */

struct sign_args {
    struct tpm_obj *key;
    TPM2B_DIGEST digest;
    TPMT_SIG_SCHEME scheme;
    TPMT_SIGNATURE sig;
};

static TSS2_RC sign_once(struct tpm *t, void *arg)
{
    /* A NULL ticket: the digest was not made by the TPM, which only a restricted key needs. */
    static const TPMT_TK_HASHCHECK no_ticket = { .tag = TPM2_ST_HASHCHECK,
                                                 .hierarchy = TPM2_RH_NULL };
    struct sign_args *a = arg;
    struct sess_auth auth = { .n_names = 1 };
    struct sess *sess;
    TSS2_RC rc;

    if ((rc = policy_begin(t, a->key, &sess)) != TSS2_RC_SUCCESS)
        return rc;
    if ((rc = resid_load(t, a->key)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->key->name;
    auth.auth = &a->key->auth;
    rc = Tss2_Sys_Sign_Prepare(t->sys, a->key->handle, &a->digest, &a->scheme, &no_ticket);
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, sess, TPM2_CC_Sign, &auth, 0);
    policy_end(t, a->key, rc);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_Sign_Complete(t->sys, &a->sig);
    resid_unpin(t, a->key);
    return rc;
}

/* The signature's size for this key and scheme; 0 if the scheme is not for this key. */
static size_t sig_size(const struct tpm_obj *key, enum tpm_sig_scheme scheme)
{
    const TPMT_PUBLIC *p = &key->pub.publicArea;

    if (scheme == TPM_SIG_ECDSA)
        return p->type == TPM2_ALG_ECC ? 2 * tpm_curve_bytes(p->parameters.eccDetail.curveID) : 0;
    return rsa_bytes(key);
}

/* The TPM's signature as PKCS#11 has it, into out (size bytes, from sig_size). */
static CK_RV sig_copy(const struct sign_args *a, size_t size, uint8_t *out)
{
    const TPMU_SIGNATURE *s = &a->sig.signature;
    bool ok;

    switch (a->sig.sigAlg) {
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS:
        /* rsassa and rsapss are the same structure. */
        ok = pad_left(out, size, s->rsassa.sig.buffer, s->rsassa.sig.size);
        break;
    case TPM2_ALG_ECDSA:
        ok = pad_left(out, size / 2, s->ecdsa.signatureR.buffer, s->ecdsa.signatureR.size) &&
             pad_left(out + size / 2, size / 2, s->ecdsa.signatureS.buffer,
                      s->ecdsa.signatureS.size);
        break;
    default:
        ok = false;
        break;
    }
    if (!ok || a->sig.sigAlg != a->scheme.scheme) {
        log_error("TPM2_Sign returned a signature of another shape (alg 0x%x)",
                  (unsigned)a->sig.sigAlg);
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

static CK_RV sign_args_fill(struct sign_args *a, enum tpm_sig_scheme scheme, uint16_t hash,
                            const uint8_t *digest, size_t digest_len)
{
    static const TPMI_ALG_SIG_SCHEME schemes[] = {
        [TPM_SIG_RSASSA] = TPM2_ALG_RSASSA,
        [TPM_SIG_RSAPSS] = TPM2_ALG_RSAPSS,
        [TPM_SIG_ECDSA] = TPM2_ALG_ECDSA,
    };

    if (tpm_hash_size(hash) == 0)
        return CKR_MECHANISM_INVALID;
    if (digest_len != tpm_hash_size(hash))
        return CKR_DATA_LEN_RANGE;
    a->scheme.scheme = schemes[scheme];
    a->scheme.details.any.hashAlg = hash;
    a->digest.size = (UINT16)digest_len;
    memcpy(a->digest.buffer, digest, digest_len);
    return CKR_OK;
}

CK_RV tpm_sign(struct tpm *t, struct tpm_obj *key, enum tpm_sig_scheme scheme, uint16_t hash,
               const uint8_t *digest, size_t digest_len, uint8_t *sig, size_t *sig_len)
{
    struct sign_args *a = NULL;
    size_t size = 0;
    TSS2_RC rc;
    CK_RV rv;

    if ((unsigned)scheme > TPM_SIG_ECDSA || (size = sig_size(key, scheme)) == 0) {
        rv = CKR_KEY_TYPE_INCONSISTENT;
        goto out;
    }
    /* Before the TPM works: PKCS#11 callers ask again with a bigger buffer. */
    if (*sig_len < size) {
        *sig_len = size;
        rv = CKR_BUFFER_TOO_SMALL;
        goto out;
    }
    if ((a = calloc(1, sizeof *a)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    a->key = key;
    if ((rv = sign_args_fill(a, scheme, hash, digest, digest_len)) != CKR_OK)
        goto out;
    rc = TPMTOK_RC_REENTERED;
    if (tpm_enter(t)) {
        rc = tpm_call(t, key->parent, sign_once, a);
        tpm_leave(t);
    }
    if ((rv = tpm_use_rc_to_rv(rc, "TPM2_Sign")) != CKR_OK ||
        (rv = sig_copy(a, size, sig)) != CKR_OK)
        goto out;
    *sig_len = size;
out:
    free(a);
    return rv;
}

/* ---- TPM2_RSA_Decrypt ---- */

struct decrypt_args {
    struct tpm_obj *key;
    TPM2B_PUBLIC_KEY_RSA in;
    TPMT_RSA_DECRYPT scheme;
    TPM2B_DATA label;
    TPM2B_PUBLIC_KEY_RSA out;     /* secret */
};

static TSS2_RC decrypt_once(struct tpm *t, void *arg)
{
    struct decrypt_args *a = arg;
    struct sess_auth auth = { .n_names = 1 };
    struct sess *sess;
    TSS2_RC rc;

    if ((rc = policy_begin(t, a->key, &sess)) != TSS2_RC_SUCCESS ||
        (rc = resid_load(t, a->key)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->key->name;
    auth.auth = &a->key->auth;
    rc = Tss2_Sys_RSA_Decrypt_Prepare(t->sys, a->key->handle, &a->in, &a->scheme, &a->label);
    /* The cipher text is public; the message is not. */
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, sess, TPM2_CC_RSA_Decrypt, &auth, SESS_DECRYPT_RSP);
    policy_end(t, a->key, rc);
    if (rc == TSS2_RC_SUCCESS) {
        a->out.size = 0;
        rc = Tss2_Sys_RSA_Decrypt_Complete(t->sys, &a->out);
    }
    resid_unpin(t, a->key);
    return rc;
}

/*
 * The scheme and label. The TPM hashes an OAEP label as it is given, but takes only one that
 * is empty or ends in a zero byte (Part 1, B.4): any other label it cannot use.
 */
static CK_RV decrypt_args_fill(struct decrypt_args *a, enum tpm_rsa_padding padding,
                               uint16_t hash, const uint8_t *label, size_t label_len)
{
    switch (padding) {
    case TPM_RSA_RAW:
        a->scheme.scheme = TPM2_ALG_NULL;
        return CKR_OK;
    case TPM_RSA_PKCS1:
        a->scheme.scheme = TPM2_ALG_RSAES;
        return CKR_OK;
    case TPM_RSA_OAEP:
        break;
    default:
        return CKR_MECHANISM_INVALID;
    }
    if (tpm_hash_size(hash) == 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (label_len > sizeof a->label.buffer || (label_len > 0 && label[label_len - 1] != 0)) {
        log_info("the TPM cannot take this OAEP label (%zu bytes, not ending in zero)",
                 label_len);
        return CKR_MECHANISM_PARAM_INVALID;
    }
    a->scheme.scheme = TPM2_ALG_OAEP;
    a->scheme.details.oaep.hashAlg = hash;
    a->label.size = (UINT16)label_len;
    if (label_len > 0)
        memcpy(a->label.buffer, label, label_len);
    return CKR_OK;
}

/*
 * Whether the TPM is in failure mode, as TPM2_GetTestResult says. libtpms 0.9 built on
 * OpenSSL's RSA (swtpm) answers TPM2_RSA_Decrypt with TPM_RC_FAILURE, the failure mode's code,
 * when padding does not check or c >= n, and goes on working: this tells the two apart.
 * Caller holds t->lock.
 */
static bool tpm_in_failure_mode(struct tpm *t)
{
    TPM2B_MAX_BUFFER data = { 0 };
    TPM2_RC result = 0;
    TSS2_RC rc = Tss2_Sys_GetTestResult(t->sys, NULL, &data, &result, NULL);

    return rc != TSS2_RC_SUCCESS || tpm_rc_base(result) == TPM2_RC_FAILURE;
}

/*
 * A cipher text that does not decrypt: TPM_RC_VALUE (padding) or TPM_RC_SIZE (c >= n) on a
 * parameter, as the reference TPM says it, or TPM_RC_FAILURE from a TPM that still works.
 * Caller holds t->lock.
 */
static bool decrypt_failed(struct tpm *t, TSS2_RC rc)
{
    TSS2_RC base = tpm_rc_base(rc);

    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
        return false;
    if ((rc & TPM2_RC_P) && (base == TPM2_RC_VALUE || base == TPM2_RC_SIZE))
        return true;
    return base == TPM2_RC_FAILURE && !tpm_in_failure_mode(t);
}

/* The whole block for raw RSA, whatever zeros the TPM left off in front. */
static CK_RV decrypt_copy(const struct decrypt_args *a, enum tpm_rsa_padding padding,
                          size_t n, uint8_t *out, size_t *out_len)
{
    size_t len = padding == TPM_RSA_RAW ? n : a->out.size;

    if (a->out.size > n) {
        log_error("TPM2_RSA_Decrypt returned %u bytes for a %zu-byte key",
                  (unsigned)a->out.size, n);
        return CKR_DEVICE_ERROR;
    }
    if (*out_len < len) {
        *out_len = len;
        return CKR_BUFFER_TOO_SMALL;
    }
    pad_left(out, len, a->out.buffer, a->out.size);
    *out_len = len;
    return CKR_OK;
}

CK_RV tpm_rsa_decrypt(struct tpm *t, struct tpm_obj *key, enum tpm_rsa_padding padding,
                      uint16_t hash, const uint8_t *label, size_t label_len,
                      const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    struct decrypt_args *a = NULL;
    size_t n = rsa_bytes(key);
    bool bad;
    TSS2_RC rc;
    CK_RV rv;

    if (n == 0) {
        rv = CKR_KEY_TYPE_INCONSISTENT;
        goto out;
    }
    if (in_len != n) {
        rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
        goto out;
    }
    /* Raw RSA's size is known: say it before the TPM works. */
    if (padding == TPM_RSA_RAW && *out_len < n) {
        *out_len = n;
        rv = CKR_BUFFER_TOO_SMALL;
        goto out;
    }
    if ((a = calloc(1, sizeof *a)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    a->key = key;
    if ((rv = decrypt_args_fill(a, padding, hash, label, label_len)) != CKR_OK)
        goto out;
    a->in.size = (UINT16)in_len;
    memcpy(a->in.buffer, in, in_len);
    rc = TPMTOK_RC_REENTERED;
    bad = false;
    if (tpm_enter(t)) {
        rc = tpm_call(t, key->parent, decrypt_once, a);
        bad = rc != TSS2_RC_SUCCESS && decrypt_failed(t, rc);
        tpm_leave(t);
    }
    if (bad) {
        log_info("TPM2_RSA_Decrypt: the cipher text does not decrypt (0x%x)", (unsigned)rc);
        rv = CKR_ENCRYPTED_DATA_INVALID;
    } else if ((rv = tpm_use_rc_to_rv(rc, "TPM2_RSA_Decrypt")) == CKR_OK) {
        rv = decrypt_copy(a, padding, n, out, out_len);
    }
out:
    secret_free(a, sizeof *a);
    return rv;
}

/* ---- TPM2_EncryptDecrypt2 ---- */

struct cipher_args {
    struct tpm_obj *key;
    bool ed2;                     /* TPM2_EncryptDecrypt2, else TPM2_EncryptDecrypt */
    TPMI_YES_NO decrypt;
    TPMI_ALG_CIPHER_MODE mode;
    TPM2B_IV iv;                  /* this chunk's IV; the next chunk's once it ran */
    TPM2B_MAX_BUFFER in, out;     /* secret */
};

/*
 * TPM2_EncryptDecrypt's data is its last parameter, which no session can encrypt: only the
 * result is protected then.
 */
static TSS2_RC cipher_once(struct tpm *t, void *arg)
{
    struct cipher_args *a = arg;
    struct sess_auth auth = { .n_names = 1 };
    TPM2B_IV iv_out = { 0 };
    struct sess *sess;
    TSS2_RC rc;

    if ((rc = policy_begin(t, a->key, &sess)) != TSS2_RC_SUCCESS ||
        (rc = resid_load(t, a->key)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->key->name;
    auth.auth = &a->key->auth;
    a->out.size = 0;
    if (a->ed2) {
        rc = Tss2_Sys_EncryptDecrypt2_Prepare(t->sys, a->key->handle, &a->in, a->decrypt,
                                              a->mode, &a->iv);
        if (rc == TSS2_RC_SUCCESS)
            rc = sess_run(t, sess, TPM2_CC_EncryptDecrypt2, &auth,
                          SESS_ENCRYPT_CMD | SESS_DECRYPT_RSP);
        policy_end(t, a->key, rc);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_Sys_EncryptDecrypt2_Complete(t->sys, &a->out, &iv_out);
    } else {
        rc = Tss2_Sys_EncryptDecrypt_Prepare(t->sys, a->key->handle, a->decrypt, a->mode,
                                             &a->iv, &a->in);
        if (rc == TSS2_RC_SUCCESS)
            rc = sess_run(t, sess, TPM2_CC_EncryptDecrypt, &auth, SESS_DECRYPT_RSP);
        policy_end(t, a->key, rc);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_Sys_EncryptDecrypt_Complete(t->sys, &a->out, &iv_out);
    }
    if (rc == TSS2_RC_SUCCESS && (a->out.size != a->in.size || iv_out.size != a->iv.size))
        rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
    if (rc == TSS2_RC_SUCCESS)
        a->iv = iv_out;
    resid_unpin(t, a->key);
    return rc;
}

/* The key's block size; 0 if it is no cipher key. */
static size_t cipher_block(const struct tpm_obj *key)
{
    const TPMT_PUBLIC *p = &key->pub.publicArea;

    if (p->type != TPM2_ALG_SYMCIPHER)
        return 0;
    return p->parameters.symDetail.sym.algorithm == TPM2_ALG_TDES ? TDES_BLOCK : AES_BLOCK;
}

/* Caller's arguments: mode, IV length, data length; the args' mode, direction and IV. */
static CK_RV cipher_args_fill(struct cipher_args *a, size_t block, bool decrypt, uint16_t mode,
                              const uint8_t *iv, size_t iv_len, size_t len)
{
    bool ecb = mode == TPM2_ALG_ECB;

    if (mode != TPM2_ALG_CBC && !ecb && mode != TPM2_ALG_CTR && mode != TPM2_ALG_CFB)
        return CKR_MECHANISM_INVALID;
    /* swtpm refuses an IV for ECB, as the spec allows (Part 3, 15.2). */
    if (ecb ? iv_len != 0 : (iv == NULL || iv_len != block))
        return CKR_MECHANISM_PARAM_INVALID;
    if ((ecb || mode == TPM2_ALG_CBC) && len % block != 0)
        return decrypt ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
    a->decrypt = decrypt ? TPM2_YES : TPM2_NO;
    a->mode = mode;
    a->iv.size = (UINT16)iv_len;
    if (iv_len > 0)
        memcpy(a->iv.buffer, iv, iv_len);
    return CKR_OK;
}

static bool use_encrypt_decrypt2(struct tpm *t)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;

    if (tpm_has_command(t, TPM2_CC_EncryptDecrypt2))
        return true;
    if (!atomic_flag_test_and_set(&warned))
        log_warn("the TPM lacks TPM2_EncryptDecrypt2: data to encrypt or decrypt goes to it "
                 "in the clear (TPM2_EncryptDecrypt); results come back encrypted");
    return false;
}

/* Every chunk as long as the TPM takes and a whole number of blocks, but the last. */
static TSS2_RC cipher_chunks(struct tpm *t, struct cipher_args *a, size_t block,
                             const uint8_t *in, size_t len, uint8_t *out)
{
    size_t chunk = tpm_buffer_size(t) / block * block;
    TSS2_RC rc = TSS2_RC_SUCCESS;

    for (size_t done = 0, n; done < len && rc == TSS2_RC_SUCCESS; done += n) {
        n = len - done < chunk ? len - done : chunk;
        a->in.size = (UINT16)n;
        memcpy(a->in.buffer, in + done, n);
        rc = tpm_call(t, a->key->parent, cipher_once, a);
        if (rc == TSS2_RC_SUCCESS)
            memcpy(out + done, a->out.buffer, n);
    }
    return rc;
}

CK_RV tpm_cipher(struct tpm *t, struct tpm_obj *key, bool decrypt, uint16_t mode,
                 uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out)
{
    struct cipher_args *a = NULL;
    size_t block = cipher_block(key);
    TSS2_RC rc;
    CK_RV rv;

    if (block == 0) {
        rv = CKR_KEY_TYPE_INCONSISTENT;
        goto out;
    }
    if ((a = calloc(1, sizeof *a)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    a->key = key;
    if ((rv = cipher_args_fill(a, block, decrypt, mode, iv, iv_len, len)) != CKR_OK)
        goto out;
    a->ed2 = use_encrypt_decrypt2(t);
    rc = TPMTOK_RC_REENTERED;
    if (tpm_enter(t)) {
        rc = cipher_chunks(t, a, block, in, len, out);
        tpm_leave(t);
    }
    rv = tpm_use_rc_to_rv(rc, a->ed2 ? "TPM2_EncryptDecrypt2" : "TPM2_EncryptDecrypt");
    if (rv != CKR_OK) {
        /* Part of a plain text may be there already. */
        if (decrypt)
            secret_wipe(out, len);
        goto out;
    }
    if (iv_len > 0)
        memcpy(iv, a->iv.buffer, iv_len);
out:
    secret_free(a, sizeof *a);
    return rv;
}
