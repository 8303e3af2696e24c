/* Test fixture for the TPM layer's crypto tests: a swtpm, a primary, keys, OpenSSL checks. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "integration/tpm_fixture.h"
#include "util/log.h"

const struct lock_ops zeroed_lock_ops;
const uint8_t primary_seed[32] = "tpmtok test_tpm_crypto's primary";
const uint16_t curves[N_CURVES] = { TPM2_ECC_NIST_P256, TPM2_ECC_NIST_P384, TPM2_ECC_NIST_P521 };
static const char *const curve_names[N_CURVES] = { "P-256", "P-384", "P-521" };
const uint16_t hashes[N_HASHES] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
                                    TPM2_ALG_SHA512 };
const uint16_t modes[N_MODES] = { TPM2_ALG_CBC, TPM2_ALG_ECB, TPM2_ALG_CTR, TPM2_ALG_CFB };
const char *const mode_names[N_MODES] = { "CBC", "ECB", "CTR", "CFB" };

const EVP_MD *md_of(uint16_t hash)
{
    switch (hash) {
    case TPM2_ALG_SHA1:
        return EVP_sha1();
    case TPM2_ALG_SHA256:
        return EVP_sha256();
    case TPM2_ALG_SHA384:
        return EVP_sha384();
    default:
        return EVP_sha512();
    }
}

size_t md_len(uint16_t hash)
{
    return (size_t)EVP_MD_get_size(md_of(hash));
}

void random_bytes(uint8_t *p, size_t n)
{
    assert_int_equal(RAND_bytes(p, (int)n), 1);
}

uint8_t *random_buffer(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    assert_non_null(p);
    if (n > 0)
        random_bytes(p, n);
    return p;
}

double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Makes a key in the TPM (or brings priv in) under the primary and opens it for use. */
struct tpm_obj *key_new(struct tpm *t, struct tpm_obj *parent,
                               const struct tpm_key_spec *spec, const struct tpm_key_public *pub,
                               const struct tpm_key_private *priv, struct tpm_key_public *out)
{
    struct tpm_blob blob = { 0 };
    struct tpm_obj *o = NULL;
    uint8_t auth[32];

    random_bytes(auth, sizeof auth);
    auth[31] |= 1;
    assert_int_equal(tpm_key_create(t, parent, spec, auth, sizeof auth, pub, priv, &blob), CKR_OK);
    if (out != NULL)
        assert_int_equal(tpm_blob_public(&blob, out), CKR_OK);
    assert_int_equal(tpm_key_open(t, parent, &blob, auth, sizeof auth, &o), CKR_OK);
    tpm_blob_clear(&blob);
    return o;
}

static size_t bn_param(const EVP_PKEY *k, const char *name, uint8_t *out, size_t max)
{
    BIGNUM *bn = NULL;
    int n;

    assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    assert_true((size_t)BN_num_bytes(bn) <= max);
    n = BN_bn2bin(bn, out);
    BN_clear_free(bn);
    return (size_t)n;
}

/* An OpenSSL RSA-2048 key brought into the TPM with the given uses. */
struct tpm_obj *rsa_import(struct fixture *f, EVP_PKEY *k, bool sign, bool decrypt)
{
    struct tpm_key_spec spec = { .type = TPM_KEY_RSA, .bits = 2048, .sign = sign,
                                 .decrypt = decrypt };
    struct tpm_key_public pub = { .type = TPM_KEY_RSA, .bits = 2048, .exponent = 65537 };
    struct tpm_key_private priv = { 0 };
    uint8_t p[256];

    pub.modulus_len = bn_param(k, OSSL_PKEY_PARAM_RSA_N, pub.modulus, sizeof pub.modulus);
    priv.prime = p;
    priv.prime_len = bn_param(k, OSSL_PKEY_PARAM_RSA_FACTOR1, p, sizeof p);
    return key_new(f->t, f->primary, &spec, &pub, &priv, NULL);
}

/* The TPM's EC public key as OpenSSL's. */
static EVP_PKEY *ec_pkey(const struct tpm_key_public *pub, const char *group)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    uint8_t pt[1 + 2 * 66] = { 0x04 };
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[3];

    assert_non_null(ctx);
    memcpy(pt + 1, pub->x, pub->coord_len);
    memcpy(pt + 1 + pub->coord_len, pub->y, pub->coord_len);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt,
                                                  1 + 2 * pub->coord_len);
    params[2] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

struct tpm_obj *sym_import(struct fixture *f, enum tpm_key_type type,
                                  const uint8_t *bytes, size_t len, bool encrypt, bool decrypt)
{
    struct tpm_key_spec spec = { .type = type, .bits = (unsigned)len * 8, .sign = encrypt,
                                 .decrypt = decrypt };
    struct tpm_key_private priv = { .value = bytes, .value_len = len };

    return key_new(f->t, f->primary, &spec, NULL, &priv, NULL);
}

static void keys_new(struct fixture *f)
{
    struct tpm_key_public pub;

    f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(f->rsa);
    f->rsa_key = rsa_import(f, f->rsa, true, true);
    for (int i = 0; i < N_CURVES; i++) {
        struct tpm_key_spec spec = { .type = TPM_KEY_EC, .curve = curves[i], .sign = true,
                                     .fixed = true };
        f->ec_key[i] = key_new(f->t, f->primary, &spec, NULL, NULL, &pub);
        f->ec_pub[i] = ec_pkey(&pub, curve_names[i]);
    }
    for (int i = 0; i < 2; i++) {
        random_bytes(f->aes_bytes[i], 16u << i);
        f->aes_key[i] = sym_import(f, TPM_KEY_AES, f->aes_bytes[i], 16u << i, true, true);
    }
    random_bytes(f->hmac_bytes, sizeof f->hmac_bytes);
    f->hmac_key = sym_import(f, TPM_KEY_HMAC, f->hmac_bytes, sizeof f->hmac_bytes, true, false);
}

int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL)
        return 0;
    if (f->t != NULL) {
        tpm_obj_close(f->t, f->rsa_key);
        for (int i = 0; i < N_CURVES; i++)
            tpm_obj_close(f->t, f->ec_key[i]);
        for (int i = 0; i < 2; i++)
            tpm_obj_close(f->t, f->aes_key[i]);
        tpm_obj_close(f->t, f->hmac_key);
        tpm_obj_close(f->t, f->primary);
        tpm_close(f->t);
    }
    EVP_PKEY_free(f->rsa);
    for (int i = 0; i < N_CURVES; i++)
        EVP_PKEY_free(f->ec_pub[i]);
    swtpm_stop(&f->swtpm);
    free(f);
    *state = NULL;
    return 0;
}

int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    *state = f;
    if (f == NULL)
        return -1;
    log_init();
    if (swtpm_start(&f->swtpm) != 0 ||
        tpm_open(f->swtpm.tcti, &zeroed_lock_ops, true, &f->t) != CKR_OK ||
        tpm_primary_open(f->t, primary_seed, sizeof primary_seed, &f->primary, NULL, NULL) !=
            CKR_OK) {
        fixture_teardown(state);
        return -1;
    }
    keys_new(f);
    return 0;
}

/* r || s (each half of sig) as the DER ECDSA-Sig-Value OpenSSL verifies. */
static size_t ecdsa_der(const uint8_t *sig, size_t sig_len, uint8_t *out)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)sig_len / 2, NULL);
    BIGNUM *ss = BN_bin2bn(sig + sig_len / 2, (int)sig_len / 2, NULL);
    int len;

    assert_non_null(s);
    assert_int_equal(ECDSA_SIG_set0(s, r, ss), 1);
    len = i2d_ECDSA_SIG(s, &out);
    ECDSA_SIG_free(s);
    assert_true(len > 0);
    return (size_t)len;
}

void ecdsa_sign_verify(struct fixture *f, int curve, uint16_t hash)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->ec_pub[curve], NULL);
    size_t coord = curve == 0 ? 32 : curve == 1 ? 48 : 66;
    uint8_t digest[64], sig[2 * 66], der[160];
    size_t sig_len = sizeof sig, der_len;

    assert_non_null(ctx);
    random_bytes(digest, md_len(hash));
    assert_int_equal(tpm_sign(f->t, f->ec_key[curve], TPM_SIG_ECDSA, hash, digest, md_len(hash),
                              sig, &sig_len), CKR_OK);
    assert_int_equal(sig_len, 2 * coord);
    der_len = ecdsa_der(sig, sig_len, der);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_int_equal(EVP_PKEY_verify(ctx, der, der_len, digest, md_len(hash)), 1);
    EVP_PKEY_CTX_free(ctx);
}

bool mode_is_blockwise(size_t m)
{
    return modes[m] == TPM2_ALG_CBC || modes[m] == TPM2_ALG_ECB;
}

/* OpenSSL's AES-<bits>-<mode> without padding over len bytes of in. */
void ossl_aes(struct fixture *f, int k, size_t m, bool encrypt, const uint8_t *iv,
                     const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    EVP_CIPHER *c;
    char name[32];
    int n = 0, fin = 0;

    snprintf(name, sizeof name, "AES-%d-%s", k ? 256 : 128, mode_names[m]);
    c = EVP_CIPHER_fetch(NULL, name, NULL);
    assert_non_null(c);
    assert_non_null(ctx);
    assert_int_equal(EVP_CipherInit_ex2(ctx, c, f->aes_bytes[k], iv, encrypt ? 1 : 0, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
    assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(ctx, out + n, &fin), 1);
    assert_int_equal((size_t)(n + fin), len);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
}

/* The TPM's result for one call with a copy of iv (NULL for ECB). */
void tpm_aes(struct fixture *f, int k, size_t m, bool decrypt, const uint8_t *iv,
                    const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t iv_copy[16] = { 0 };

    if (iv != NULL)
        memcpy(iv_copy, iv, 16);
    assert_int_equal(tpm_cipher(f->t, f->aes_key[k], decrypt, modes[m], iv ? iv_copy : NULL,
                                iv ? 16 : 0, in, len, out), CKR_OK);
}

void ossl_digest(uint16_t hash, const uint8_t *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(data, len, out, &n, md_of(hash), NULL), 1);
    assert_int_equal(n, md_len(hash));
}

void ossl_hmac(uint16_t hash, const uint8_t *key, size_t key_len, const uint8_t *data,
                      size_t len, uint8_t *out)
{
    unsigned int n = 0;

    assert_non_null(HMAC(md_of(hash), key, (int)key_len, data, len, out, &n));
    assert_int_equal(n, md_len(hash));
}
