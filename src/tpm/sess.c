/* Our salted HMAC session on SAPI: ECDH salt, cpHash/rpHash HMACs, AES-CFB parameter encryption. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "tpm/alg.h"
#include "tpm/kdf.h"
#include "tpm/sess.h"
#include "util/log.h"
#include "util/pkey_type.h"
#include "util/secret.h"

/*
 * The session is SHA-256 with AES-128-CFB parameter encryption. Every OpenSSL object it needs
 * is fetched once in sess_start and re-initialised per use, so a command costs a few
 * microseconds of hashing rather than tss2's fetch-in-a-new-library-context per hash.
 */
#define SESS_HASH TPM2_ALG_SHA256
#define SESS_DIGEST 32                 /* SHA-256; also our nonce size */
#define CFB_KEY 16                     /* AES-128 */
#define CFB_IV 16                      /* one AES block */
/* sessionKey || authValue; authValue is at most a TPM2B_AUTH's buffer. */
#define HMAC_KEY_MAX (SESS_DIGEST + sizeof(TPMU_HA))
/* Caller nonces drawn from the RNG at a time: one draw costs about as much as 32 bytes. */
#define NONCE_POOL 32
#define START_RETRIES 20

struct sess {
    TPMI_SH_AUTH_SESSION handle;
    TPM2B_NONCE nonce_caller;          /* ours, fresh for every command (SESS_DIGEST bytes) */
    TPM2B_NONCE nonce_tpm;             /* the TPM's latest (SESS_DIGEST bytes) */
    uint8_t key[SESS_DIGEST];          /* sessionKey: secret */
    /*
     * Set when a command's outcome is unknown (transport error after sending, a response that
     * fails its HMAC): the TPM may have moved its nonce on, and a command HMAC'd with a stale
     * nonce against a DA-protected object would count as a dictionary attack. Such a session
     * is never used again; sess_run refuses with TSS2_ESYS_RC_INVALID_SESSIONS.
     */
    bool out_of_step;
    bool test_corrupt_rsp;             /* sess_test_corrupt_rsp_check() */
    EVP_MD *md;                        /* SHA-256, fetched once */
    EVP_MD_CTX *md_ctx;                /* cpHash and rpHash, re-initialised per use */
    EVP_MAC *mac;                      /* HMAC, fetched once */
    EVP_MAC_CTX *mac_ctx;              /* HMAC-SHA256: digest set once, keyed with mac_key */
    uint8_t mac_key[HMAC_KEY_MAX];     /* the key mac_ctx holds: secret */
    uint8_t nonces[NONCE_POOL * SESS_DIGEST]; /* fresh caller nonces, drawn in one go */
    size_t nonces_left;
    size_t mac_key_len;                /* 0: none yet */
    EVP_CIPHER *cipher;                /* AES-128-CFB (CFB128, as the TPM's CFB) */
    EVP_CIPHER_CTX *cipher_ctx;        /* re-initialised per parameter */
};

/* The curves a salt key may use: TPM curve, OpenSSL group, coordinate size. */
static const struct {
    TPMI_ECC_CURVE curve;
    const char *group;
    size_t coord;
} curves[] = {
    { TPM2_ECC_NIST_P256, "P-256", 32 },
    { TPM2_ECC_NIST_P384, "P-384", 48 },
};
#define COORD_MAX 48

static void put_u32(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

/* TSS2_RC_SUCCESS or TSS2_ESYS_RC_MEMORY (OpenSSL could not allocate or find an algorithm). */
static TSS2_RC crypto_new(struct sess *s)
{
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((s->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
        (s->md_ctx = EVP_MD_CTX_new()) == NULL ||
        (s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
        (s->mac_ctx = EVP_MAC_CTX_new(s->mac)) == NULL ||
        EVP_MAC_CTX_set_params(s->mac_ctx, params) != 1 ||
        (s->cipher = EVP_CIPHER_fetch(NULL, "AES-128-CFB", NULL)) == NULL ||
        (s->cipher_ctx = EVP_CIPHER_CTX_new()) == NULL) {
        log_error("OpenSSL cannot provide SHA-256, HMAC or AES-128-CFB");
        return TSS2_ESYS_RC_MEMORY;
    }
    return TSS2_RC_SUCCESS;
}

static void crypto_free(struct sess *s)
{
    EVP_CIPHER_CTX_free(s->cipher_ctx);
    EVP_CIPHER_free(s->cipher);
    EVP_MAC_CTX_free(s->mac_ctx);
    EVP_MAC_free(s->mac);
    EVP_MD_CTX_free(s->md_ctx);
    EVP_MD_free(s->md);
}

static TSS2_RC new_nonce(TPM2B_NONCE *n)
{
    n->size = SESS_DIGEST;
    if (RAND_bytes(n->buffer, SESS_DIGEST) != 1) {
        log_error("OpenSSL's RAND_bytes failed");
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    return TSS2_RC_SUCCESS;
}

/* A nonce for one command, from the session's pool (nonces are public; only freshness counts). */
static TSS2_RC pooled_nonce(struct sess *s, TPM2B_NONCE *n)
{
    if (s->nonces_left == 0) {
        if (RAND_bytes(s->nonces, sizeof s->nonces) != 1)
            return TSS2_ESYS_RC_GENERAL_FAILURE;
        s->nonces_left = NONCE_POOL;
    }
    s->nonces_left--;
    n->size = SESS_DIGEST;
    memcpy(n->buffer, s->nonces + s->nonces_left * SESS_DIGEST, SESS_DIGEST);
    return TSS2_RC_SUCCESS;
}

/* --- the salt: ECDH with the TPM's key (Part 1, C.6.1) --- */

/* The TPM's public point as an OpenSSL key; fromdata rejects points that are not on the curve. */
static TSS2_RC peer_key(const char *group, size_t coord, const TPMS_ECC_POINT *q,
                        EVP_PKEY **out)
{
    uint8_t pt[1 + 2 * COORD_MAX] = { 0x04 };
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL;
    TSS2_RC rc = TSS2_ESYS_RC_BAD_VALUE;

    if (q->x.size == 0 || q->x.size > coord || q->y.size == 0 || q->y.size > coord)
        return TSS2_ESYS_RC_BAD_VALUE;
    /* Coordinates are big-endian numbers: left-pad to the curve's size. */
    memcpy(pt + 1 + coord - q->x.size, q->x.buffer, q->x.size);
    memcpy(pt + 1 + 2 * coord - q->y.size, q->y.buffer, q->y.size);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * coord);
    params[2] = OSSL_PARAM_construct_end();
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, PKEY_TYPE_EC, NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        log_error("the salt key's public point is not a valid %s point", group);
        goto out;
    }
    rc = TSS2_RC_SUCCESS;
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* A fresh key pair on the group, made by a provider (see util/pkey_type.h). */
static EVP_PKEY *ephemeral_key(const char *group)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, PKEY_TYPE_EC, NULL);
    EVP_PKEY *key = NULL;

    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_group_name(ctx, group) != 1 || EVP_PKEY_generate(ctx, &key) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* Z: the x-coordinate of our ephemeral private key times the TPM's point, coord bytes. */
static TSS2_RC ecdh(EVP_PKEY *ours, EVP_PKEY *peer, uint8_t *z, size_t coord)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ours, NULL);
    size_t len = coord;
    TSS2_RC rc = TSS2_ESYS_RC_GENERAL_FAILURE;

    /* set_peer also checks the peer's point against our group. */
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer(ctx, peer) != 1 || EVP_PKEY_derive(ctx, z, &len) != 1 ||
        len != coord) {
        log_error("ECDH with the salt key failed");
        goto out;
    }
    rc = TSS2_RC_SUCCESS;
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* Our ephemeral public point as the TPM wants it (TPMS_ECC_POINT, full-size coordinates). */
static TSS2_RC ephemeral_point(EVP_PKEY *ours, size_t coord, TPMS_ECC_POINT *q)
{
    uint8_t pt[1 + 2 * COORD_MAX];
    size_t len = 0;

    if (EVP_PKEY_get_octet_string_param(ours, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &len) != 1 ||
        len != 1 + 2 * coord || pt[0] != 0x04) {
        log_error("cannot read the ephemeral ECDH key's public point");
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    q->x.size = (UINT16)coord;
    memcpy(q->x.buffer, pt + 1, coord);
    q->y.size = (UINT16)coord;
    memcpy(q->y.buffer, pt + 1 + coord, coord);
    return TSS2_RC_SUCCESS;
}

/*
 * salt = KDFe(nameAlg, Z, "SECRET", ephemeral.x, tpmkey.x, digest bits); enc receives the
 * ephemeral point, from which the TPM computes the same Z. *salt_len is the digest size.
 */
static TSS2_RC ecdh_salt(const TPMT_PUBLIC *pub, TPM2B_ENCRYPTED_SECRET *enc, uint8_t *salt,
                         size_t *salt_len)
{
    const TPMS_ECC_POINT *tpm_q = &pub->unique.ecc;
    EVP_PKEY *ours = NULL, *peer = NULL;
    TPMS_ECC_POINT q = { 0 };
    uint8_t z[COORD_MAX];
    size_t coord = 0, off = 0, i;
    const char *group = NULL;
    TSS2_RC rc = TSS2_ESYS_RC_BAD_VALUE;

    for (i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (pub->type == TPM2_ALG_ECC && curves[i].curve == pub->parameters.eccDetail.curveID) {
            group = curves[i].group;
            coord = curves[i].coord;
        }
    *salt_len = tpm_hash_size(pub->nameAlg);
    if (group == NULL || *salt_len == 0) {
        log_error("the salt key must be an ECC P-256/P-384 key with a SHA name algorithm");
        return TSS2_ESYS_RC_BAD_VALUE;
    }
    if ((rc = peer_key(group, coord, tpm_q, &peer)) != TSS2_RC_SUCCESS)
        goto out;
    rc = TSS2_ESYS_RC_GENERAL_FAILURE;
    if ((ours = ephemeral_key(group)) == NULL) {
        log_error("cannot generate an ephemeral %s key", group);
        goto out;
    }
    if ((rc = ecdh(ours, peer, z, coord)) != TSS2_RC_SUCCESS ||
        (rc = ephemeral_point(ours, coord, &q)) != TSS2_RC_SUCCESS)
        goto out;
    if (!kdfe(pub->nameAlg, z, coord, "SECRET", q.x.buffer, q.x.size, tpm_q->x.buffer,
              tpm_q->x.size, salt, *salt_len * 8)) {
        rc = TSS2_ESYS_RC_GENERAL_FAILURE;
        goto out;
    }
    rc = Tss2_MU_TPMS_ECC_POINT_Marshal(&q, enc->secret, sizeof enc->secret, &off);
    enc->size = (UINT16)off;
out:
    secret_wipe(z, sizeof z);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(peer);
    return rc;
}

static TSS2_RC start_auth_session(struct tpm *t, struct sess *s, TPM2_HANDLE salt_handle,
                                  const TPM2B_ENCRYPTED_SECRET *enc, TPM2_SE type)
{
    static const TPMT_SYM_DEF sym = {
        .algorithm = TPM2_ALG_AES,
        .keyBits.aes = 128,
        .mode.aes = TPM2_ALG_CFB,
    };
    TSS2_RC rc;
    int i = 0;

    do {
        s->nonce_tpm.size = 0;
        rc = Tss2_Sys_StartAuthSession(t->sys, salt_handle, TPM2_RH_NULL, NULL, &s->nonce_caller,
                                       enc, type, &sym, SESS_HASH, &s->handle,
                                       &s->nonce_tpm, NULL);
    } while (tpm_rc_is_retry(rc) && ++i < START_RETRIES);
    return rc;
}

TSS2_RC sess_start(struct tpm *t, TPM2_HANDLE salt_handle, const TPM2B_PUBLIC *salt_pub,
                   TPM2_SE type, struct sess **out)
{
    struct sess *s = calloc(1, sizeof *s);
    TPM2B_ENCRYPTED_SECRET enc = { 0 };
    uint8_t salt[sizeof(TPMU_HA)];  /* a digest of the salt key's name algorithm */
    size_t salt_len = 0;
    TSS2_RC rc;

    if (s == NULL)
        return TSS2_ESYS_RC_MEMORY;
    if ((rc = crypto_new(s)) != TSS2_RC_SUCCESS ||
        (rc = new_nonce(&s->nonce_caller)) != TSS2_RC_SUCCESS ||
        (rc = ecdh_salt(&salt_pub->publicArea, &enc, salt, &salt_len)) != TSS2_RC_SUCCESS)
        goto out;
    if ((rc = start_auth_session(t, s, salt_handle, &enc, type)) != TSS2_RC_SUCCESS) {
        log_debug("TPM2_StartAuthSession: 0x%x", (unsigned)rc);
        goto out;
    }
    if (s->nonce_tpm.size != SESS_DIGEST) {
        log_error("TPM2_StartAuthSession returned a %u-byte nonce", (unsigned)s->nonce_tpm.size);
        rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
        goto out;
    }
    /* Unbound: sessionKey = KDFa(salt, "ATH", nonceTPM, nonceCaller); the bind auth is empty. */
    if (!kdfa(SESS_HASH, salt, salt_len, "ATH", s->nonce_tpm.buffer, s->nonce_tpm.size,
              s->nonce_caller.buffer, s->nonce_caller.size, s->key, sizeof s->key * 8)) {
        rc = TSS2_ESYS_RC_GENERAL_FAILURE;
        goto out;
    }
    log_debug("started %s session 0x%08x", type == TPM2_SE_POLICY ? "policy" : "HMAC",
              (unsigned)s->handle);
    *out = s;
    s = NULL; /* transferred */
out:
    secret_wipe(salt, sizeof salt);
    /* s->handle is only set when the TPM started the session: flush it then. */
    sess_free(t, s, s != NULL && s->handle != 0);
    return rc;
}

void sess_free(struct tpm *t, struct sess *s, bool flush)
{
    TSS2_RC rc;

    if (s == NULL)
        return;
    if (flush && s->handle != 0) {
        rc = Tss2_Sys_FlushContext(t->sys, s->handle);
        /* After a TPM reset or a lost session there is nothing to flush. */
        if (rc != TSS2_RC_SUCCESS)
            log_debug("TPM2_FlushContext(session 0x%08x): 0x%x", (unsigned)s->handle,
                      (unsigned)rc);
    }
    crypto_free(s);
    secret_free(s, sizeof *s);
}

/* --- one command --- */

/* sessionKey || authValue without its trailing zeros (the TPM strips them). Returns the length. */
static size_t hmac_key(const struct sess *s, const TPM2B_AUTH *auth, uint8_t *key)
{
    size_t n = 0;

    if (auth != NULL) {
        n = auth->size;
        while (n > 0 && auth->buffer[n - 1] == 0)
            n--;
        memcpy(key + SESS_DIGEST, auth->buffer, n);
    }
    memcpy(key, s->key, SESS_DIGEST);
    return SESS_DIGEST + n;
}

/*
 * Keys mac_ctx with key, unless it holds that key already: a command's HMACs and KDFa all use
 * one key, and consecutive commands on one object too, so the key schedule (two hash blocks)
 * is computed once, and each use re-initialises from it.
 */
static bool mac_keyed(struct sess *s, const uint8_t *key, size_t key_len)
{
    if (key_len == s->mac_key_len && key_len != 0 &&
        CRYPTO_memcmp(key, s->mac_key, key_len) == 0)
        return true;
    s->mac_key_len = 0;
    if (key_len == 0 || key_len > sizeof s->mac_key ||
        EVP_MAC_init(s->mac_ctx, key, key_len, NULL) != 1)
        return false;
    memcpy(s->mac_key, key, key_len);
    s->mac_key_len = key_len;
    return true;
}

/* HMAC(key, hash || nonceNewer || nonceOlder || attributes), the command and response shape. */
static bool session_hmac(struct sess *s, const uint8_t *key, size_t key_len,
                         const uint8_t *hash, const TPM2B_NONCE *newer,
                         const TPM2B_NONCE *older, TPMA_SESSION attrs, uint8_t *out)
{
    uint8_t a = (uint8_t)attrs;
    size_t len = 0;

    return mac_keyed(s, key, key_len) && EVP_MAC_init(s->mac_ctx, NULL, 0, NULL) == 1 &&
           EVP_MAC_update(s->mac_ctx, hash, SESS_DIGEST) == 1 &&
           EVP_MAC_update(s->mac_ctx, newer->buffer, newer->size) == 1 &&
           EVP_MAC_update(s->mac_ctx, older->buffer, older->size) == 1 &&
           EVP_MAC_update(s->mac_ctx, &a, 1) == 1 &&
           EVP_MAC_final(s->mac_ctx, out, &len, SESS_DIGEST) == 1 && len == SESS_DIGEST;
}

/* cpHash = H(cc || names || parameters); rpHash = H(0 || cc || parameters): pass rc_first. */
static bool param_hash(struct sess *s, bool rc_first, TPM2_CC cc, const struct sess_auth *a,
                       const uint8_t *params, size_t len, uint8_t *out)
{
    uint8_t code[4], zero[4] = { 0 };
    unsigned int dlen = 0;

    put_u32(code, cc);
    if (EVP_DigestInit_ex2(s->md_ctx, s->md, NULL) != 1 ||
        (rc_first && EVP_DigestUpdate(s->md_ctx, zero, sizeof zero) != 1) ||
        EVP_DigestUpdate(s->md_ctx, code, sizeof code) != 1)
        return false;
    for (size_t i = 0; a != NULL && i < a->n_names; i++)
        if (a->names[i]->size != 0 &&
            EVP_DigestUpdate(s->md_ctx, a->names[i]->name, a->names[i]->size) != 1)
            return false;
    return (len == 0 || EVP_DigestUpdate(s->md_ctx, params, len) == 1) &&
           EVP_DigestFinal_ex(s->md_ctx, out, &dlen) == 1 && dlen == SESS_DIGEST;
}

/* AES-128-CFB over buf in place, key || IV = KDFa(hmac key, "CFB", newer, older, 256). */
static bool cfb(struct sess *s, const uint8_t *key, size_t key_len, const TPM2B_NONCE *newer,
                const TPM2B_NONCE *older, bool encrypt, uint8_t *buf, size_t len)
{
    uint8_t kiv[CFB_KEY + CFB_IV];
    int out_len = 0;
    bool ok;

    ok = mac_keyed(s, key, key_len) &&
         kdfa_keyed(s->mac_ctx, "CFB", newer->buffer, newer->size, older->buffer, older->size,
                    kiv, sizeof kiv * 8) &&
         EVP_CipherInit_ex2(s->cipher_ctx, s->cipher, kiv, kiv + CFB_KEY, encrypt ? 1 : 0,
                            NULL) == 1 &&
         EVP_CipherUpdate(s->cipher_ctx, buf, &out_len, buf, (int)len) == 1 &&
         (size_t)out_len == len;
    secret_wipe(kiv, sizeof kiv);
    return ok;
}

/* Encrypts the command's first parameter (a TPM2B) in SAPI's buffer. */
static TSS2_RC encrypt_cmd_param(struct tpm *t, struct sess *s, const uint8_t *key,
                                 size_t key_len)
{
    uint8_t buf[TPM2_MAX_COMMAND_SIZE];
    const uint8_t *param = NULL;
    size_t len = 0;
    TSS2_RC rc;

    if ((rc = Tss2_Sys_GetDecryptParam(t->sys, &len, &param)) != TSS2_RC_SUCCESS)
        return rc;
    /* An empty parameter has nothing to hide (and SetDecryptParam refuses size 0). */
    if (len == 0)
        return TSS2_RC_SUCCESS;
    if (len > sizeof buf)
        return TSS2_ESYS_RC_BAD_SIZE;
    memcpy(buf, param, len);
    if (!cfb(s, key, key_len, &s->nonce_caller, &s->nonce_tpm, true, buf, len))
        rc = TSS2_ESYS_RC_GENERAL_FAILURE;
    else
        rc = Tss2_Sys_SetDecryptParam(t->sys, len, buf);
    secret_wipe(buf, len);
    return rc;
}

/* cpHash over the (encrypted) parameters, the command HMAC, and the auth area into SAPI. */
static TSS2_RC set_cmd_auth(struct tpm *t, struct sess *s, TPM2_CC cc,
                            const struct sess_auth *a, TPMA_SESSION attrs, const uint8_t *key,
                            size_t key_len)
{
    TSS2L_SYS_AUTH_COMMAND auths = { .count = 1 };
    TPMS_AUTH_COMMAND *auth = &auths.auths[0];
    uint8_t cp_hash[SESS_DIGEST];
    const uint8_t *cp = NULL;
    size_t cp_len = 0;
    TSS2_RC rc;

    if ((rc = Tss2_Sys_GetCpBuffer(t->sys, &cp_len, &cp)) != TSS2_RC_SUCCESS)
        return rc;
    if (!param_hash(s, false, cc, a, cp, cp_len, cp_hash))
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    auth->sessionHandle = s->handle;
    auth->nonce = s->nonce_caller;
    auth->sessionAttributes = attrs;
    auth->hmac.size = SESS_DIGEST;
    if (!session_hmac(s, key, key_len, cp_hash, &s->nonce_caller, &s->nonce_tpm, attrs,
                      auth->hmac.buffer))
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    return Tss2_Sys_SetCmdAuths(t->sys, &auths);
}

/*
 * Checks the response HMAC over rpHash (of the parameters as they arrived, still encrypted);
 * *nonce_tpm receives the TPM's new nonce. TSS2_ESYS_RC_RSP_AUTH_FAILED on a mismatch.
 */
static TSS2_RC check_rsp_auth(struct tpm *t, struct sess *s, TPM2_CC cc, const uint8_t *key,
                              size_t key_len, TPM2B_NONCE *nonce_tpm)
{
    TSS2L_SYS_AUTH_RESPONSE auths = { 0 };
    TPMS_AUTH_RESPONSE *auth = &auths.auths[0];
    uint8_t rp_hash[SESS_DIGEST], expected[SESS_DIGEST];
    const uint8_t *rp = NULL;
    size_t rp_len = 0;
    TSS2_RC rc;

    /* GetRspAuths first: it checks that parameters and auth area lie within the response. */
    if ((rc = Tss2_Sys_GetRspAuths(t->sys, &auths)) != TSS2_RC_SUCCESS ||
        (rc = Tss2_Sys_GetRpBuffer(t->sys, &rp_len, &rp)) != TSS2_RC_SUCCESS)
        return rc;
    if (auths.count != 1 || auth->nonce.size != SESS_DIGEST || auth->hmac.size != SESS_DIGEST) {
        log_error("malformed response session (%u sessions, nonce %u, hmac %u bytes)",
                  (unsigned)auths.count, (unsigned)auth->nonce.size, (unsigned)auth->hmac.size);
        return TSS2_ESYS_RC_MALFORMED_RESPONSE;
    }
    if (!param_hash(s, true, cc, NULL, rp, rp_len, rp_hash))
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    if (s->test_corrupt_rsp) {
        s->test_corrupt_rsp = false;
        rp_hash[0] ^= 0x01;
    }
    if (!session_hmac(s, key, key_len, rp_hash, &auth->nonce, &s->nonce_caller,
                      auth->sessionAttributes, expected))
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    if (CRYPTO_memcmp(expected, auth->hmac.buffer, SESS_DIGEST) != 0) {
        log_error("the TPM's response to command 0x%x failed its HMAC check: "
                  "the response was altered on its way, or it did not come from our TPM",
                  (unsigned)cc);
        rc = TSS2_ESYS_RC_RSP_AUTH_FAILED;
    } else {
        *nonce_tpm = auth->nonce;
    }
    secret_wipe(expected, sizeof expected);
    return rc;
}

/* Decrypts the response's first parameter (a TPM2B) in SAPI's buffer for _Complete to read. */
static TSS2_RC decrypt_rsp_param(struct tpm *t, struct sess *s, const uint8_t *key,
                                 size_t key_len, const TPM2B_NONCE *nonce_tpm)
{
    uint8_t buf[TPM2_MAX_COMMAND_SIZE];
    const uint8_t *param = NULL, *rp = NULL;
    size_t len = 0, rp_len = 0;
    TSS2_RC rc;

    if ((rc = Tss2_Sys_GetRpBuffer(t->sys, &rp_len, &rp)) != TSS2_RC_SUCCESS ||
        (rc = Tss2_Sys_GetEncryptParam(t->sys, &len, &param)) != TSS2_RC_SUCCESS)
        return rc;
    /* SAPI reads the size field without checking it against the parameter area. */
    if (rp_len < 2 || param != rp + 2 || len > rp_len - 2 || len > sizeof buf)
        return TSS2_ESYS_RC_MALFORMED_RESPONSE;
    if (len == 0)
        return TSS2_RC_SUCCESS;
    memcpy(buf, param, len);
    if (!cfb(s, key, key_len, nonce_tpm, &s->nonce_caller, false, buf, len))
        rc = TSS2_ESYS_RC_GENERAL_FAILURE;
    else
        rc = Tss2_Sys_SetEncryptParam(t->sys, len, buf);
    secret_wipe(buf, len);
    return rc;
}

/* After a successful execution: response HMAC, then decryption; the nonce moves on last. */
static TSS2_RC finish_rsp(struct tpm *t, struct sess *s, TPM2_CC cc, const uint8_t *key,
                          size_t key_len, unsigned flags)
{
    TPM2B_NONCE nonce_tpm = { 0 };
    TSS2_RC rc;

    if ((rc = check_rsp_auth(t, s, cc, key, key_len, &nonce_tpm)) != TSS2_RC_SUCCESS)
        return rc;
    if ((flags & SESS_DECRYPT_RSP) &&
        (rc = decrypt_rsp_param(t, s, key, key_len, &nonce_tpm)) != TSS2_RC_SUCCESS)
        return rc;
    s->nonce_tpm = nonce_tpm;
    return TSS2_RC_SUCCESS;
}

/* Caller bugs: too many names, a NULL name, an auth value longer than a TPM2B_AUTH holds. */
static TSS2_RC check_auth_args(const struct sess_auth *a)
{
    if (a->n_names > sizeof a->names / sizeof a->names[0] ||
        (a->auth != NULL && a->auth->size > sizeof a->auth->buffer))
        return TSS2_ESYS_RC_BAD_VALUE;
    for (size_t i = 0; i < a->n_names; i++)
        if (a->names[i] == NULL)
            return TSS2_ESYS_RC_BAD_REFERENCE;
    return TSS2_RC_SUCCESS;
}

TSS2_RC sess_run(struct tpm *t, struct sess *s, TPM2_CC cc, const struct sess_auth *a,
                 unsigned flags)
{
    TPMA_SESSION attrs = TPMA_SESSION_CONTINUESESSION;
    uint8_t key[HMAC_KEY_MAX];
    size_t key_len = 0;
    TSS2_RC rc;

    if (s->out_of_step)
        return TSS2_ESYS_RC_INVALID_SESSIONS;
    if ((rc = check_auth_args(a)) != TSS2_RC_SUCCESS ||
        (rc = pooled_nonce(s, &s->nonce_caller)) != TSS2_RC_SUCCESS)
        return rc;
    /* The TPM's view: "decrypt" what we encrypted, "encrypt" what it sends back. */
    if (flags & SESS_ENCRYPT_CMD)
        attrs |= TPMA_SESSION_DECRYPT;
    if (flags & SESS_DECRYPT_RSP)
        attrs |= TPMA_SESSION_ENCRYPT;
    key_len = hmac_key(s, a->auth, key);
    if ((flags & SESS_ENCRYPT_CMD) &&
        (rc = encrypt_cmd_param(t, s, key, key_len)) != TSS2_RC_SUCCESS)
        goto out;
    if ((rc = set_cmd_auth(t, s, cc, a, attrs, key, key_len)) != TSS2_RC_SUCCESS)
        goto out;
    rc = Tss2_Sys_Execute(t->sys);
    if (rc != TSS2_RC_SUCCESS) {
        /*
         * A TPM error response leaves the TPM's nonce where it was, so the session goes on.
         * Anything else (transport, a truncated response) may have come after the TPM ran
         * the command: we can no longer know its nonce.
         */
        if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
            s->out_of_step = true;
        goto out;
    }
    if ((rc = finish_rsp(t, s, cc, key, key_len, flags)) != TSS2_RC_SUCCESS)
        s->out_of_step = true;
out:
    secret_wipe(key, sizeof key);
    return rc;
}

/*
 * TPM 2.0 Part 2, 6.6: a format-zero warning TPM_RC_REFERENCE_S0 + n (0x918..0x91E) says the
 * n-th session in the auth area is not loaded (flushed, or the TPM was reset). A format-one
 * code (bit 7) with P (bit 6) clear and bit 11 set names a session in bits 8-10; with
 * TPM_RC_HANDLE as its error it says that handle is loaded but is not our kind of session
 * (after a reset the slot went to someone else's policy session). TPM_RC_VALUE + session is
 * left out on purpose: the TPM returns it when the handle is outside the session range
 * altogether, a malformed command that a new session would not cure.
 * TSS2_ESYS_RC_INVALID_SESSIONS is sess_run refusing a session that is out of step.
 */
bool sess_rc_lost(TSS2_RC rc)
{
    TSS2_RC code = rc & ~TSS2_RC_LAYER_MASK;

    if (rc == TSS2_ESYS_RC_INVALID_SESSIONS)
        return true;
    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
        return false;
    if (!(code & TPM2_RC_FMT1))
        return code >= TPM2_RC_REFERENCE_S0 && code <= TPM2_RC_REFERENCE_S6;
    return !(code & TPM2_RC_P) && (code & TPM2_RC_S) && (code & 0x700) != 0 &&
           (code & 0x3f) == (TPM2_RC_HANDLE & 0x3f);
}

TPMI_SH_AUTH_SESSION sess_handle(const struct sess *s)
{
    return s->handle;
}

void sess_test_corrupt_rsp_check(struct sess *s)
{
    s->test_corrupt_rsp = true;
}
