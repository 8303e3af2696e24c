/*
 * OpenSSL's answer to every question the crypto tests put to the token (see crypto_util.h).
 * Each function reads the PKCS#11 mechanism and its parameter itself, so a test states a
 * mechanism once and asks both the token and OpenSSL about it.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "integration/crypto_util.h"

const EVP_MD *cu_md(CK_MECHANISM_TYPE m)
{
    switch (m) {
    case CKM_SHA_1: case CKM_SHA1_RSA_PKCS: case CKM_SHA1_RSA_PKCS_PSS: case CKM_ECDSA_SHA1:
    case CKM_SHA_1_HMAC: case CKM_SHA_1_HMAC_GENERAL:
        return EVP_sha1();
    case CKM_SHA256: case CKM_SHA256_RSA_PKCS: case CKM_SHA256_RSA_PKCS_PSS:
    case CKM_ECDSA_SHA256: case CKM_SHA256_HMAC: case CKM_SHA256_HMAC_GENERAL:
        return EVP_sha256();
    case CKM_SHA384: case CKM_SHA384_RSA_PKCS: case CKM_SHA384_RSA_PKCS_PSS:
    case CKM_ECDSA_SHA384: case CKM_SHA384_HMAC: case CKM_SHA384_HMAC_GENERAL:
        return EVP_sha384();
    case CKM_SHA512: case CKM_SHA512_RSA_PKCS: case CKM_SHA512_RSA_PKCS_PSS:
    case CKM_ECDSA_SHA512: case CKM_SHA512_HMAC: case CKM_SHA512_HMAC_GENERAL:
        return EVP_sha512();
    default:
        return NULL;
    }
}

const EVP_MD *cu_mgf_md(CK_RSA_PKCS_MGF_TYPE mgf)
{
    switch (mgf) {
    case CKG_MGF1_SHA1: return EVP_sha1();
    case CKG_MGF1_SHA256: return EVP_sha256();
    case CKG_MGF1_SHA384: return EVP_sha384();
    case CKG_MGF1_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

size_t cu_digest(CK_MECHANISM_TYPE m, const void *data, size_t len, uint8_t *out)
{
    const EVP_MD *md = cu_md(m);
    unsigned int n = 0;

    if (md == NULL || EVP_Digest(data, len, out, &n, md, NULL) != 1)
        return 0;
    return n;
}

size_t cu_digest_info(CK_MECHANISM_TYPE hash, const void *data, size_t len, uint8_t *out)
{
    /* The DER prefixes of RFC 8017 section 9.2, note 1. */
    static const uint8_t sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02,
                                    0x1a, 0x05, 0x00, 0x04, 0x14 };
    static const uint8_t sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
    static const uint8_t sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                      0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 };
    static const uint8_t sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                      0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 };
    const uint8_t *prefix;
    size_t plen, dlen;

    switch (hash) {
    case CKM_SHA_1: prefix = sha1; plen = sizeof sha1; break;
    case CKM_SHA256: prefix = sha256; plen = sizeof sha256; break;
    case CKM_SHA384: prefix = sha384; plen = sizeof sha384; break;
    case CKM_SHA512: prefix = sha512; plen = sizeof sha512; break;
    default: return 0;
    }
    memcpy(out, prefix, plen);
    dlen = cu_digest(hash, data, len, out + plen);
    return dlen == 0 ? 0 : plen + dlen;
}

size_t cu_hmac(const CK_MECHANISM *m, const void *key, size_t key_len, const void *data,
               size_t len, uint8_t *out)
{
    const EVP_MD *md = cu_md(m->mechanism);
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    size_t want;
    bool general = m->mechanism == CKM_SHA_1_HMAC_GENERAL || m->mechanism == CKM_SHA256_HMAC_GENERAL ||
                   m->mechanism == CKM_SHA384_HMAC_GENERAL || m->mechanism == CKM_SHA512_HMAC_GENERAL;

    if (md == NULL || HMAC(md, key, (int)key_len, data, len, full, &n) == NULL)
        return 0;
    want = n;
    if (general) {
        if (m->pParameter == NULL || m->ulParameterLen != sizeof(CK_ULONG))
            return 0;
        want = *(const CK_ULONG *)m->pParameter;
        if (want == 0 || want > n)
            return 0;
    }
    memcpy(out, full, want);
    return want;
}

bool cu_cmac(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[16])
{
    const char *cipher = key_len == 16 ? "AES-128-CBC" : key_len == 24 ? "AES-192-CBC"
                                                                       : "AES-256-CBC";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    size_t n = 0;
    bool ok = ctx != NULL && EVP_MAC_init(ctx, key, key_len, params) == 1 &&
              EVP_MAC_update(ctx, data, len) == 1 && EVP_MAC_final(ctx, out, &n, 16) == 1 &&
              n == 16;

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok;
}

/* ---- AES */

static const EVP_CIPHER *aes_ecb(size_t key_len)
{
    return key_len == 16 ? EVP_aes_128_ecb() : key_len == 24 ? EVP_aes_192_ecb()
                         : key_len == 32 ? EVP_aes_256_ecb() : NULL;
}

static const EVP_CIPHER *aes_cipher(CK_MECHANISM_TYPE mech, size_t key_len)
{
    switch (mech) {
    case CKM_AES_ECB:
        return aes_ecb(key_len);
    case CKM_AES_CBC: case CKM_AES_CBC_PAD:
        return key_len == 16 ? EVP_aes_128_cbc() : key_len == 24 ? EVP_aes_192_cbc()
                             : key_len == 32 ? EVP_aes_256_cbc() : NULL;
    case CKM_AES_CFB128:
        return key_len == 16 ? EVP_aes_128_cfb128() : key_len == 24 ? EVP_aes_192_cfb128()
                             : key_len == 32 ? EVP_aes_256_cfb128() : NULL;
    default:
        return NULL;
    }
}

/* Adds one to the low `bits` bits of the big-endian block; 1 when they wrapped to zero. */
static int ctr_increment(uint8_t cb[16], unsigned long bits)
{
    for (int j = 15; j >= 0 && bits > 0; j--) {
        unsigned width = bits >= 8 ? 8 : (unsigned)bits;
        unsigned mask = (1u << width) - 1;
        unsigned v = ((cb[j] & mask) + 1) & mask;

        cb[j] = (uint8_t)((cb[j] & ~mask) | v);
        if (v != 0)
            return 0;
        bits -= width;
    }
    return 1;
}

/*
 * Counter mode as PKCS#11 defines it: only the low ulCounterBits bits count, and data that
 * would need the counter past its wrap is refused (the wrap after the last block is allowed).
 */
static int aes_ctr(const uint8_t *key, size_t key_len, const CK_MECHANISM *m, const uint8_t *in,
                   size_t len, uint8_t *out)
{
    const CK_AES_CTR_PARAMS *p = m->pParameter;
    const EVP_CIPHER *ecb = aes_ecb(key_len);
    EVP_CIPHER_CTX *ctx;
    uint8_t cb[16], ks[16];
    int n, rc = 0;

    if (ecb == NULL || p == NULL || m->ulParameterLen != sizeof *p || p->ulCounterBits == 0 ||
        p->ulCounterBits > 128)
        return -1;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_EncryptInit_ex(ctx, ecb, NULL, key, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return -1;
    }
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    memcpy(cb, p->cb, 16);
    for (size_t off = 0; off < len && rc == 0; off += 16) {
        if (off > 0 && ctr_increment(cb, p->ulCounterBits)) {
            rc = -1;
            break;
        }
        if (EVP_EncryptUpdate(ctx, ks, &n, cb, 16) != 1 || n != 16)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < 16 && off + i < len; i++)
            out[off + i] = in[off + i] ^ ks[i];
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int cu_aes(const CK_MECHANISM *m, int enc, const uint8_t *key, size_t key_len, const uint8_t *in,
           size_t len, uint8_t *out, size_t *out_len)
{
    const EVP_CIPHER *c;
    const uint8_t *iv = NULL;
    EVP_CIPHER_CTX *ctx;
    int n1 = 0, n2 = 0, ok;

    if (m->mechanism == CKM_AES_CTR) {
        *out_len = len;
        return aes_ctr(key, key_len, m, in, len, out);
    }
    if ((c = aes_cipher(m->mechanism, key_len)) == NULL)
        return -1;
    if (m->mechanism != CKM_AES_ECB) {
        if (m->pParameter == NULL || m->ulParameterLen != 16)
            return -1;
        iv = m->pParameter;
    }
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        return -1;
    ok = EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, m->mechanism == CKM_AES_CBC_PAD) == 1 &&
         EVP_CipherUpdate(ctx, out, &n1, in, (int)len) == 1 &&
         EVP_CipherFinal_ex(ctx, out + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    *out_len = (size_t)n1 + (size_t)n2;
    return ok ? 0 : -1;
}

/* ---- signatures */

size_t cu_sig_size(EVP_PKEY *key)
{
    return ((size_t)EVP_PKEY_get_bits(key) + 7) / 8;
}

size_t cu_ecdsa_to_der(const uint8_t *raw, size_t n, uint8_t *out)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)n, NULL), *s = BN_bin2bn(raw + n, (int)n, NULL);
    unsigned char *p = out;
    int len = -1;

    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL;   /* transferred */
        len = i2d_ECDSA_SIG(sig, &p);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return len > 0 ? (size_t)len : 0;
}

int cu_ecdsa_from_der(const uint8_t *der, size_t der_len, size_t n, uint8_t *raw)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    int rc = -1;

    if (sig != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, (int)n) == (int)n &&
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + n, (int)n) == (int)n)
        rc = 0;
    ECDSA_SIG_free(sig);
    return rc;
}

/* How OpenSSL does what a signature mechanism does. */
struct plan {
    const EVP_MD *md;        /* the message is hashed with md first (NULL: input signed as is) */
    int rsa_padding;         /* 0 for ECDSA */
    const EVP_MD *pss_md;    /* PSS: the hash the input is of, MGF1's hash and the salt length */
    const EVP_MD *mgf_md;
    int salt;
    int raw;                 /* CKM_RSA_X_509: the input is a number, padded on the left to k */
};

static int plan_of(const CK_MECHANISM *m, struct plan *p)
{
    const CK_RSA_PKCS_PSS_PARAMS *pss = m->pParameter;

    memset(p, 0, sizeof *p);
    switch (m->mechanism) {
    case CKM_ECDSA:
        return 0;
    case CKM_ECDSA_SHA1: case CKM_ECDSA_SHA256: case CKM_ECDSA_SHA384: case CKM_ECDSA_SHA512:
        p->md = cu_md(m->mechanism);
        return 0;
    case CKM_RSA_X_509:
        p->rsa_padding = RSA_NO_PADDING;
        p->raw = 1;
        return 0;
    case CKM_RSA_PKCS:
        p->rsa_padding = RSA_PKCS1_PADDING;
        return 0;
    case CKM_SHA1_RSA_PKCS: case CKM_SHA256_RSA_PKCS: case CKM_SHA384_RSA_PKCS:
    case CKM_SHA512_RSA_PKCS:
        p->md = cu_md(m->mechanism);
        p->rsa_padding = RSA_PKCS1_PADDING;
        return 0;
    case CKM_SHA1_RSA_PKCS_PSS: case CKM_SHA256_RSA_PKCS_PSS: case CKM_SHA384_RSA_PKCS_PSS:
    case CKM_SHA512_RSA_PKCS_PSS:
        p->md = cu_md(m->mechanism);
        /* fall through */
    case CKM_RSA_PKCS_PSS:
        if (pss == NULL || m->ulParameterLen != sizeof *pss)
            return -1;
        p->rsa_padding = RSA_PKCS1_PSS_PADDING;
        p->pss_md = cu_md(pss->hashAlg);
        p->mgf_md = cu_mgf_md(pss->mgf);
        p->salt = (int)pss->sLen;
        /* A hashing mechanism names its hash twice; both must agree. */
        if (p->pss_md == NULL || p->mgf_md == NULL || (p->md != NULL && p->md != p->pss_md))
            return -1;
        return 0;
    default:
        return -1;
    }
}

static int configure(EVP_PKEY_CTX *pctx, const struct plan *p)
{
    if (p->rsa_padding == 0)
        return 0;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, p->rsa_padding) <= 0)
        return -1;
    if (p->rsa_padding != RSA_PKCS1_PSS_PADDING)
        return 0;
    if (p->md == NULL && EVP_PKEY_CTX_set_signature_md(pctx, p->pss_md) <= 0)
        return -1;
    return EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, p->mgf_md) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, p->salt) > 0 ? 0 : -1;
}

/* The input as OpenSSL signs it: raw RSA wants exactly k bytes. */
static const uint8_t *signed_input(EVP_PKEY *key, const struct plan *p, const void *data,
                                   size_t len, uint8_t *padded, size_t *tbs_len)
{
    size_t k = cu_sig_size(key);

    *tbs_len = len;
    if (!p->raw)
        return data;
    if (len > k)
        return NULL;
    memset(padded, 0, k - len);
    memcpy(padded + k - len, data, len);
    *tbs_len = k;
    return padded;
}

int cu_sign(EVP_PKEY *key, const CK_MECHANISM *m, const void *data, size_t len, uint8_t *sig,
            size_t *sig_len)
{
    struct plan p;
    EVP_MD_CTX *mdctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t out[1024], padded[1024];
    const uint8_t *tbs;
    size_t out_len = sizeof out, tbs_len;
    int ok;

    if (plan_of(m, &p) != 0 || (tbs = signed_input(key, &p, data, len, padded, &tbs_len)) == NULL)
        return -1;
    if (p.md != NULL) {
        ok = (mdctx = EVP_MD_CTX_new()) != NULL &&
             EVP_DigestSignInit(mdctx, &pctx, p.md, NULL, key) == 1 && configure(pctx, &p) == 0 &&
             EVP_DigestSign(mdctx, out, &out_len, tbs, tbs_len) == 1;
        EVP_MD_CTX_free(mdctx);
    } else {
        ok = (pctx = EVP_PKEY_CTX_new(key, NULL)) != NULL && EVP_PKEY_sign_init(pctx) == 1 &&
             configure(pctx, &p) == 0 && EVP_PKEY_sign(pctx, out, &out_len, tbs, tbs_len) == 1;
        EVP_PKEY_CTX_free(pctx);
    }
    if (!ok)
        return -1;
    if (p.rsa_padding != 0) {
        memcpy(sig, out, out_len);
        *sig_len = out_len;
        return 0;
    }
    *sig_len = 2 * cu_sig_size(key);
    return cu_ecdsa_from_der(out, out_len, cu_sig_size(key), sig);
}

int cu_verify(EVP_PKEY *key, const CK_MECHANISM *m, const void *data, size_t len,
              const uint8_t *sig, size_t sig_len)
{
    struct plan p;
    EVP_MD_CTX *mdctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t der[1024], padded[1024];
    const uint8_t *tbs, *s = sig;
    size_t sig_der_len = sig_len, tbs_len;
    int ok;

    if (plan_of(m, &p) != 0 || (tbs = signed_input(key, &p, data, len, padded, &tbs_len)) == NULL)
        return 0;
    if (p.rsa_padding != 0 && sig_len != cu_sig_size(key))
        return 0;
    if (p.rsa_padding == 0) {
        /* PKCS#11 2.40 lets a verifier get r || s shorter than 2 nLen, halves of equal length. */
        if (sig_len == 0 || sig_len % 2 != 0 || sig_len > 2 * cu_sig_size(key) ||
            (sig_der_len = cu_ecdsa_to_der(sig, sig_len / 2, der)) == 0)
            return 0;
        s = der;
    }
    if (p.md != NULL) {
        ok = (mdctx = EVP_MD_CTX_new()) != NULL &&
             EVP_DigestVerifyInit(mdctx, &pctx, p.md, NULL, key) == 1 && configure(pctx, &p) == 0 &&
             EVP_DigestVerify(mdctx, s, sig_der_len, tbs, tbs_len) == 1;
        EVP_MD_CTX_free(mdctx);
    } else {
        ok = (pctx = EVP_PKEY_CTX_new(key, NULL)) != NULL && EVP_PKEY_verify_init(pctx) == 1 &&
             configure(pctx, &p) == 0 && EVP_PKEY_verify(pctx, s, sig_der_len, tbs, tbs_len) == 1;
        EVP_PKEY_CTX_free(pctx);
    }
    return ok ? 1 : 0;
}

/* ---- RSA encryption */

static int rsa_cipher_setup(EVP_PKEY_CTX *pctx, const CK_MECHANISM *m)
{
    const CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;
    void *label;

    if (m->mechanism == CKM_RSA_PKCS)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 ? 0 : -1;
    if (m->mechanism != CKM_RSA_PKCS_OAEP || p == NULL || m->ulParameterLen != sizeof *p ||
        cu_md(p->hashAlg) == NULL || cu_mgf_md(p->mgf) == NULL || p->source != CKZ_DATA_SPECIFIED)
        return -1;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(pctx, cu_md(p->hashAlg)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, cu_mgf_md(p->mgf)) <= 0)
        return -1;
    if (p->ulSourceDataLen == 0)
        return 0;
    if ((label = OPENSSL_memdup(p->pSourceData, p->ulSourceDataLen)) == NULL)
        return -1;
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, (int)p->ulSourceDataLen) <= 0) {
        OPENSSL_free(label);
        return -1;
    }
    return 0;
}

int cu_rsa_encrypt(EVP_PKEY *key, const CK_MECHANISM *m, const void *in, size_t len,
                   uint8_t *out, size_t *out_len)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
    int ok;

    *out_len = cu_sig_size(key);
    ok = pctx != NULL && EVP_PKEY_encrypt_init(pctx) == 1 && rsa_cipher_setup(pctx, m) == 0 &&
         EVP_PKEY_encrypt(pctx, out, out_len, in, len) == 1;
    EVP_PKEY_CTX_free(pctx);
    return ok ? 0 : -1;
}

int cu_rsa_decrypt(EVP_PKEY *key, const CK_MECHANISM *m, const void *in, size_t len,
                   uint8_t *out, size_t *out_len)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
    int ok;

    *out_len = cu_sig_size(key);
    ok = pctx != NULL && EVP_PKEY_decrypt_init(pctx) == 1 && rsa_cipher_setup(pctx, m) == 0 &&
         EVP_PKEY_decrypt(pctx, out, out_len, in, len) == 1;
    EVP_PKEY_CTX_free(pctx);
    return ok ? 0 : -1;
}

/* ---- test data */

void cu_fill(uint8_t *buf, size_t len, unsigned seed)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL * (seed + 1);

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
}

const char *cu_hex(const uint8_t *p, size_t len)
{
    static char buf[2 * 64 + 4];
    size_t n = len > 64 ? 64 : len;

    for (size_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", p[i]);
    strcpy(buf + 2 * n, len > n ? "..." : "");
    return buf;
}

size_t cu_unhex(const char *hex, uint8_t *out, size_t max)
{
    size_t n = strlen(hex) / 2;
    unsigned v;

    if (strlen(hex) % 2 != 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 0;
        out[i] = (uint8_t)v;
    }
    return n;
}
