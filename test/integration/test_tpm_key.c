/* Key creation and import in the TPM layer, on a real swtpm: every key is proven by using it. */
#include "config.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "harness/swtpm.h"
#include "tpm/call.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"

struct fixture {
    struct swtpm swtpm;
    struct tpm *t;
    struct tpm_obj *primary;
};

static const struct lock_ops zeroed_lock_ops;
static const uint8_t primary_seed[32] = "tpmtok test_tpm_key primary seed";

/* A fresh 32-byte auth value with no zero bytes (the TPM strips trailing zeros). */
static void new_auth(uint8_t auth[32])
{
    assert_int_equal(RAND_bytes(auth, 32), 1);
    for (int i = 0; i < 32; i++)
        if (auth[i] == 0)
            auth[i] = 0xa5;
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL)
        return 0;
    if (f->t != NULL) {
        tpm_obj_close(f->t, f->primary);
        tpm_close(f->t);
    }
    swtpm_stop(&f->swtpm);
    free(f);
    *state = NULL;
    return 0;
}

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    *state = f;
    if (f == NULL)
        return -1;
    log_init();
    if (swtpm_start(&f->swtpm) != 0 ||
        tpm_open(getenv("TPMTOK_TCTI"), &zeroed_lock_ops, true, &f->t) != CKR_OK ||
        tpm_primary_open(f->t, primary_seed, sizeof primary_seed, &f->primary, NULL, NULL) !=
            CKR_OK) {
        group_teardown(state);
        return -1;
    }
    return 0;
}

/* ---- using keys in the TPM ---- */

/* A key object from a blob, loaded (and unpinned) to prove the TPM takes the blob. */
static struct tpm_obj *load_key(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *b,
                                const uint8_t *auth, size_t auth_len)
{
    struct tpm_obj *o = NULL;
    TSS2_RC rc;

    mutex_lock(t->lock);
    rc = resid_key_new(t, parent, b, auth, auth_len, &o);
    if (rc == TSS2_RC_SUCCESS) {
        rc = resid_load(t, o);
        resid_unpin(t, o);
    }
    if (rc != TSS2_RC_SUCCESS && o != NULL) {
        resid_obj_free(t, o);
        o = NULL;
    }
    mutex_unlock(t->lock);
    assert_int_equal(rc, TSS2_RC_SUCCESS);
    return o;
}

/* One command on a key, authorized with its auth value through the HMAC session. */
struct use_args {
    struct tpm_obj *key;
    TPM2_CC cc;
    /* Sign */
    TPM2B_DIGEST digest;
    TPMT_SIG_SCHEME scheme;
    TPMT_SIGNATURE sig;
    /* EncryptDecrypt2 and HMAC */
    TPM2B_MAX_BUFFER in, out;
    TPMI_ALG_CIPHER_MODE mode;
    TPM2B_IV iv;
    TPMI_YES_NO decrypt;
    TPM2B_DIGEST hmac;
};

static TSS2_RC prepare(struct tpm *t, struct use_args *a)
{
    TPMT_TK_HASHCHECK no_ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };

    switch (a->cc) {
    case TPM2_CC_Sign:
        return Tss2_Sys_Sign_Prepare(t->sys, a->key->handle, &a->digest, &a->scheme, &no_ticket);
    case TPM2_CC_EncryptDecrypt2:
        return Tss2_Sys_EncryptDecrypt2_Prepare(t->sys, a->key->handle, &a->in, a->decrypt,
                                                a->mode, &a->iv);
    default:
        return Tss2_Sys_HMAC_Prepare(t->sys, a->key->handle, &a->in, TPM2_ALG_SHA256);
    }
}

static TSS2_RC use_once(struct tpm *t, void *arg)
{
    struct use_args *a = arg;
    struct sess_auth auth = { .n_names = 1 };
    TPM2B_IV iv_out = { 0 };
    TSS2_RC rc;

    if ((rc = resid_load(t, a->key)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->key->name;
    auth.auth = &a->key->auth;
    rc = prepare(t, a);
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, t->sess, a->cc, &auth, 0);
    if (rc == TSS2_RC_SUCCESS && a->cc == TPM2_CC_Sign)
        rc = Tss2_Sys_Sign_Complete(t->sys, &a->sig);
    else if (rc == TSS2_RC_SUCCESS && a->cc == TPM2_CC_EncryptDecrypt2)
        rc = Tss2_Sys_EncryptDecrypt2_Complete(t->sys, &a->out, &iv_out);
    else if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_HMAC_Complete(t->sys, &a->hmac);
    resid_unpin(t, a->key);
    return rc;
}

static TSS2_RC use_key(struct tpm *t, struct tpm_obj *parent, struct use_args *a)
{
    TSS2_RC rc;

    mutex_lock(t->lock);
    rc = tpm_call(t, parent, use_once, a);
    mutex_unlock(t->lock);
    return rc;
}

/* TPM2_EncryptDecrypt2 of len bytes of in with a loaded key; out receives as many. */
static TSS2_RC cipher(struct tpm *t, struct tpm_obj *parent, struct tpm_obj *key, bool decrypt,
                      TPMI_ALG_CIPHER_MODE mode, const uint8_t *iv, const uint8_t *in,
                      size_t len, uint8_t *out)
{
    struct use_args *a = calloc(1, sizeof *a);
    TSS2_RC rc;

    assert_non_null(a);
    a->key = key;
    a->cc = TPM2_CC_EncryptDecrypt2;
    a->decrypt = decrypt ? TPM2_YES : TPM2_NO;
    a->mode = mode;
    /* ECB takes no IV: the TPM wants an empty one. */
    if (iv != NULL) {
        a->iv.size = 16;
        memcpy(a->iv.buffer, iv, 16);
    }
    a->in.size = (UINT16)len;
    memcpy(a->in.buffer, in, len);
    rc = use_key(t, parent, a);
    if (rc == TSS2_RC_SUCCESS) {
        assert_int_equal(a->out.size, len);
        memcpy(out, a->out.buffer, len);
    }
    free(a);
    return rc;
}

/* TPM2_HMAC (SHA-256) of data with a loaded key into out (32 bytes). */
static void key_hmac(struct tpm *t, struct tpm_obj *parent, struct tpm_obj *key,
                     const uint8_t *data, size_t len, uint8_t *out)
{
    struct use_args *a = calloc(1, sizeof *a);

    assert_non_null(a);
    a->key = key;
    a->cc = TPM2_CC_HMAC;
    a->in.size = (UINT16)len;
    memcpy(a->in.buffer, data, len);
    assert_int_equal(use_key(t, parent, a), TSS2_RC_SUCCESS);
    assert_int_equal(a->hmac.size, 32);
    memcpy(out, a->hmac.buffer, 32);
    free(a);
}

/* ---- OpenSSL keys and checks ---- */

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

struct rsa_key {
    EVP_PKEY *pkey;
    struct tpm_key_public pub;
    uint8_t p[256], q[256];
    size_t p_len, q_len;
};

static void rsa_key_new(struct rsa_key *k)
{
    uint8_t e[8];
    size_t e_len;

    memset(k, 0, sizeof *k);
    k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(k->pkey);
    k->pub.type = TPM_KEY_RSA;
    k->pub.bits = 2048;
    k->pub.modulus_len = bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, k->pub.modulus,
                                  sizeof k->pub.modulus);
    e_len = bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, e, sizeof e);
    for (size_t i = 0; i < e_len; i++)
        k->pub.exponent = k->pub.exponent << 8 | e[i];
    k->p_len = bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, k->p, sizeof k->p);
    k->q_len = bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, k->q, sizeof k->q);
}

struct ec_key {
    EVP_PKEY *pkey;
    struct tpm_key_public pub;
    uint8_t d[66];
    size_t d_len;
};

static void ec_key_new(struct ec_key *k)
{
    uint8_t pt[1 + 2 * 32];
    size_t len = 0;

    memset(k, 0, sizeof *k);
    k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k->pkey);
    assert_int_equal(EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                                     sizeof pt, &len), 1);
    assert_int_equal(len, sizeof pt);
    k->pub.type = TPM_KEY_EC;
    k->pub.curve = TPM2_ECC_NIST_P256;
    k->pub.bits = 256;
    k->pub.coord_len = 32;
    memcpy(k->pub.x, pt + 1, 32);
    memcpy(k->pub.y, pt + 33, 32);
    k->d_len = bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, k->d, sizeof k->d);
}

/* An OpenSSL public key from what tpm_blob_public read, to check it against the TPM's key. */
static EVP_PKEY *pkey_from_public(const struct tpm_key_public *pub)
{
    static const char *const groups[] = { [TPM2_ECC_NIST_P256] = "P-256",
                                          [TPM2_ECC_NIST_P384] = "P-384",
                                          [TPM2_ECC_NIST_P521] = "P-521" };
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, pub->type == TPM_KEY_RSA ? "RSA" : "EC",
                                                   NULL);
    BIGNUM *n = NULL, *e = NULL;
    uint8_t pt[1 + 2 * 66] = { 0x04 };
    OSSL_PARAM *params;
    EVP_PKEY *pkey = NULL;

    assert_non_null(bld);
    assert_non_null(ctx);
    if (pub->type == TPM_KEY_RSA) {
        n = BN_bin2bn(pub->modulus, (int)pub->modulus_len, NULL);
        e = BN_new();
        assert_int_equal(BN_set_word(e, pub->exponent), 1);
        assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
        assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
    } else {
        memcpy(pt + 1, pub->x, pub->coord_len);
        memcpy(pt + 1 + pub->coord_len, pub->y, pub->coord_len);
        assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                                         groups[pub->curve], 0), 1);
        assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                                          1 + 2 * pub->coord_len), 1);
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_non_null(params);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* The signature the TPM made over digest, checked by OpenSSL. */
static void verify(EVP_PKEY *pkey, const uint8_t *digest, const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA)
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_verify(ctx, sig, sig_len, digest, 32), 1);
    EVP_PKEY_CTX_free(ctx);
}

/* The DER ECDSA-Sig-Value OpenSSL verifies, from the TPM's r and s. */
static size_t ecdsa_der(const TPMS_SIGNATURE_ECC *s, uint8_t *out)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(s->signatureR.buffer, s->signatureR.size, NULL);
    BIGNUM *ss = BN_bin2bn(s->signatureS.buffer, s->signatureS.size, NULL);
    int len;

    assert_non_null(sig);
    assert_int_equal(ECDSA_SIG_set0(sig, r, ss), 1);
    len = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    assert_true(len > 0);
    return (size_t)len;
}

/* Signs a random digest in the TPM (RSASSA or ECDSA, SHA-256); OpenSSL verifies with pkey. */
static void sign_and_verify(struct tpm *t, struct tpm_obj *parent, struct tpm_obj *key,
                            EVP_PKEY *pkey)
{
    struct use_args *a = calloc(1, sizeof *a);
    uint8_t der[160];
    size_t der_len;

    assert_non_null(a);
    a->key = key;
    a->cc = TPM2_CC_Sign;
    a->digest.size = 32;
    assert_int_equal(RAND_bytes(a->digest.buffer, 32), 1);
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        a->scheme.scheme = TPM2_ALG_RSASSA;
        a->scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    } else {
        a->scheme.scheme = TPM2_ALG_ECDSA;
        a->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    }
    assert_int_equal(use_key(t, parent, a), TSS2_RC_SUCCESS);
    if (a->sig.sigAlg == TPM2_ALG_RSASSA) {
        verify(pkey, a->digest.buffer, a->sig.signature.rsassa.sig.buffer,
               a->sig.signature.rsassa.sig.size);
    } else {
        assert_int_equal(a->sig.sigAlg, TPM2_ALG_ECDSA);
        der_len = ecdsa_der(&a->sig.signature.ecdsa, der);
        verify(pkey, a->digest.buffer, der, der_len);
    }
    free(a);
}

/* ---- capabilities ---- */

/* Test: swtpm's algorithms, curves and commands are found; what it lacks is not. */
static void test_caps_list_what_the_tpm_implements(void **state)
{
    struct fixture *f = *state;

    assert_true(tpm_has_alg(f->t, TPM2_ALG_RSA));
    assert_true(tpm_has_alg(f->t, TPM2_ALG_ECC));
    assert_true(tpm_has_alg(f->t, TPM2_ALG_AES));
    assert_true(tpm_has_alg(f->t, TPM2_ALG_SHA256));
    assert_true(tpm_has_alg(f->t, TPM2_ALG_ECB));
    assert_false(tpm_has_alg(f->t, TPM2_ALG_SHA3_256));
    assert_true(tpm_has_curve(f->t, TPM2_ECC_NIST_P256));
    assert_true(tpm_has_curve(f->t, TPM2_ECC_NIST_P521));
    assert_false(tpm_has_curve(f->t, 0x0099));
    assert_true(tpm_has_command(f->t, TPM2_CC_Import));
    /* The first and the last command of the TPM's list: no page boundary lost one. */
    assert_true(tpm_has_command(f->t, TPM2_CC_NV_UndefineSpaceSpecial));
    assert_true(tpm_has_command(f->t, TPM2_CC_EncryptDecrypt2));
    assert_false(tpm_has_command(f->t, 0x0000019f));
}

/* Test: TPM2_TestParms answers for key sizes, the same when asked again (from the cache). */
static void test_caps_key_sizes(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 2; i++) {
        assert_true(tpm_has_rsa_bits(f->t, 2048));
        assert_false(tpm_has_rsa_bits(f->t, 1000));
        assert_true(tpm_has_sym_bits(f->t, TPM2_ALG_AES, 128));
        assert_true(tpm_has_sym_bits(f->t, TPM2_ALG_AES, 256));
        assert_false(tpm_has_sym_bits(f->t, TPM2_ALG_AES, 100));
    }
}

/* ---- generated keys ---- */

/* The object attributes in a blob's public area. */
static TPMA_OBJECT blob_attributes(const struct tpm_blob *b)
{
    TPM2B_PUBLIC pub = { 0 };
    size_t off = 0;

    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->pub, b->pub_len, &off, &pub),
                     TSS2_RC_SUCCESS);
    return pub.publicArea.objectAttributes;
}

/* Generates a key with a fresh auth value, checks its public part's type, loads its blob. */
static struct tpm_obj *generate(struct fixture *f, const struct tpm_key_spec *spec,
                                struct tpm_key_public *pub)
{
    struct tpm_blob blob = { 0 };
    struct tpm_obj *o;
    uint8_t auth[32];
    TPMA_OBJECT a;

    new_auth(auth);
    assert_int_equal(tpm_key_create(f->t, f->primary, spec, auth, sizeof auth, NULL, NULL, &blob),
                     CKR_OK);
    assert_int_equal(tpm_blob_public(&blob, pub), CKR_OK);
    assert_int_equal(pub->type, spec->type);
    a = blob_attributes(&blob);
    assert_int_equal(a & (TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA),
                     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA);
    assert_int_equal(!!(a & TPMA_OBJECT_FIXEDTPM), spec->fixed);
    assert_int_equal(!!(a & TPMA_OBJECT_FIXEDPARENT), spec->fixed);
    /* The TPM made the key, unless it is an HMAC key from GetRandom (whose bits read 0). */
    assert_int_equal(!!(a & TPMA_OBJECT_SENSITIVEDATAORIGIN), pub->bits != 0);
    o = load_key(f->t, f->primary, &blob, auth, sizeof auth);
    tpm_blob_clear(&blob);
    return o;
}

/* Signs in the TPM and verifies with the public key tpm_blob_public read. */
static void generate_and_sign(struct fixture *f, const struct tpm_key_spec *spec,
                              struct tpm_key_public *pub)
{
    struct tpm_obj *o = generate(f, spec, pub);
    EVP_PKEY *pkey = pkey_from_public(pub);

    sign_and_verify(f->t, f->primary, o, pkey);
    EVP_PKEY_free(pkey);
    tpm_obj_close(f->t, o);
}

/* Test: a generated RSA key's public part is what it signs with. */
static void test_generate_rsa_2048(void **state)
{
    struct tpm_key_spec spec = { .type = TPM_KEY_RSA, .bits = 2048, .sign = true,
                                 .decrypt = true, .fixed = true };
    struct tpm_key_public pub;

    generate_and_sign(*state, &spec, &pub);
    assert_int_equal(pub.bits, 2048);
    assert_int_equal(pub.modulus_len, 256);
    assert_true(pub.modulus[0] & 0x80);
    assert_int_equal(pub.exponent, 65537);
}

static void generate_ec(void **state, uint16_t curve, unsigned bits, size_t coord)
{
    struct tpm_key_spec spec = { .type = TPM_KEY_EC, .curve = curve, .sign = true,
                                 .fixed = true };
    struct tpm_key_public pub;

    generate_and_sign(*state, &spec, &pub);
    assert_int_equal(pub.curve, curve);
    assert_int_equal(pub.bits, bits);
    assert_int_equal(pub.coord_len, coord);
}

static void test_generate_ec_p256(void **state)
{
    generate_ec(state, TPM2_ECC_NIST_P256, 256, 32);
}

static void test_generate_ec_p384(void **state)
{
    generate_ec(state, TPM2_ECC_NIST_P384, 384, 48);
}

static void test_generate_ec_p521(void **state)
{
    generate_ec(state, TPM2_ECC_NIST_P521, 521, 66);
}

/* Generates a symmetric key and proves it by a round trip through the TPM (CFB). */
static void generate_sym(void **state, enum tpm_key_type type, unsigned bits)
{
    struct fixture *f = *state;
    struct tpm_key_spec spec = { .type = type, .bits = bits, .sign = true, .decrypt = true,
                                 .fixed = true };
    struct tpm_key_public pub;
    uint8_t iv[16] = { 1 }, plain[40] = "forty bytes through the TPM and back..", ct[40],
            back[40];
    struct tpm_obj *o = generate(f, &spec, &pub);

    assert_int_equal(pub.bits, bits);
    assert_int_equal(cipher(f->t, f->primary, o, false, TPM2_ALG_CFB, iv, plain, 40, ct),
                     TSS2_RC_SUCCESS);
    assert_memory_not_equal(ct, plain, 40);
    assert_int_equal(cipher(f->t, f->primary, o, true, TPM2_ALG_CFB, iv, ct, 40, back),
                     TSS2_RC_SUCCESS);
    assert_memory_equal(back, plain, 40);
    tpm_obj_close(f->t, o);
}

static void test_generate_aes_128(void **state)
{
    generate_sym(state, TPM_KEY_AES, 128);
}

static void test_generate_aes_256(void **state)
{
    generate_sym(state, TPM_KEY_AES, 256);
}

/* Whether tss2 can marshal a TDES object at all (3.2 cannot: no TDES in TPMU_SYM_KEY_BITS). */
static bool tss2_marshals_tdes(void)
{
    TPMT_SYM_DEF_OBJECT sym = { .algorithm = TPM2_ALG_TDES, .keyBits.sym = 192,
                                .mode.sym = TPM2_ALG_NULL };
    uint8_t buf[16];
    size_t off = 0;

    return Tss2_MU_TPMT_SYM_DEF_OBJECT_Marshal(&sym, buf, sizeof buf, &off) == TSS2_RC_SUCCESS;
}

/*
 * Test: a TDES key is made where tss2 can carry one. Where it cannot, the capability check
 * says no and creation says the size is out of range, without asking the TPM.
 */
static void test_generate_tdes_192(void **state)
{
    struct fixture *f = *state;
    struct tpm_key_spec spec = { .type = TPM_KEY_TDES, .bits = 192, .decrypt = true };
    struct tpm_blob blob = { 0 };
    uint8_t auth[32];

    if (tss2_marshals_tdes()) {
        generate_sym(state, TPM_KEY_TDES, 192);
        return;
    }
    assert_true(tpm_has_alg(f->t, TPM2_ALG_TDES));
    assert_false(tpm_has_sym_bits(f->t, TPM2_ALG_TDES, 192));
    assert_false(tpm_has_sym_bits(f->t, TPM2_ALG_TDES, 128));
    new_auth(auth);
    assert_int_equal(tpm_key_create(f->t, f->primary, &spec, auth, 32, NULL, NULL, &blob),
                     CKR_KEY_SIZE_RANGE);
    assert_null(blob.pub);
}

/* Generates an HMAC key of bytes and checks TPM2_HMAC works with it; returns pub.bits. */
static unsigned generate_hmac(void **state, size_t bytes)
{
    struct fixture *f = *state;
    struct tpm_key_spec spec = { .type = TPM_KEY_HMAC, .bits = (unsigned)bytes * 8,
                                 .sign = true };
    struct tpm_key_public pub;
    uint8_t mac[32], again[32];
    struct tpm_obj *o = generate(f, &spec, &pub);

    key_hmac(f->t, f->primary, o, (const uint8_t *)"data", 4, mac);
    key_hmac(f->t, f->primary, o, (const uint8_t *)"data", 4, again);
    assert_memory_equal(mac, again, 32);
    tpm_obj_close(f->t, o);
    return pub.bits;
}

/* Test: a 32-byte HMAC key is the TPM's own (named with SHA-256): its length is known. */
static void test_generate_hmac_32_bytes_in_the_tpm(void **state)
{
    assert_int_equal(generate_hmac(state, 32), 256);
}

/* Test: a 64-byte HMAC key is the TPM's own, named with SHA-512. */
static void test_generate_hmac_64_bytes_in_the_tpm(void **state)
{
    assert_int_equal(generate_hmac(state, 64), 512);
}

/* Test: a 17-byte HMAC key comes from TPM2_GetRandom; its public part cannot tell its length. */
static void test_generate_hmac_17_bytes_from_random(void **state)
{
    assert_int_equal(generate_hmac(state, 17), 0);
}

/* Test: 20 bytes is SHA-1's digest, but keys are not named with SHA-1: GetRandom makes it. */
static void test_generate_hmac_20_bytes_from_random(void **state)
{
    assert_int_equal(generate_hmac(state, 20), 0);
}

/* ---- imports ---- */

/*
 * Imports an RSA or EC key under parent: its public part reads back as given (the whole
 * struct), and the TPM signs with it as OpenSSL verifies with the original key.
 */
static void import_and_sign(struct tpm *t, struct tpm_obj *parent,
                            const struct tpm_key_public *given,
                            const struct tpm_key_private *priv, EVP_PKEY *pkey,
                            const uint8_t *auth)
{
    struct tpm_key_spec spec = { .type = given->type, .bits = given->bits,
                                 .curve = given->curve, .sign = true, .fixed = true };
    struct tpm_blob blob = { 0 };
    struct tpm_key_public pub;
    struct tpm_obj *o;

    assert_int_equal(tpm_key_create(t, parent, &spec, auth, 32, given, priv, &blob), CKR_OK);
    assert_int_equal(tpm_blob_public(&blob, &pub), CKR_OK);
    assert_memory_equal(&pub, given, sizeof pub);
    /* TPM2_Import takes no fixedTPM/fixedParent, and the key is not the TPM's own. */
    assert_int_equal(blob_attributes(&blob) & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                               TPMA_OBJECT_SENSITIVEDATAORIGIN), 0);
    o = load_key(t, parent, &blob, auth, 32);
    sign_and_verify(t, parent, o, pkey);
    tpm_obj_close(t, o);
    tpm_blob_clear(&blob);
}

static void import_rsa_and_sign(struct tpm *t, struct tpm_obj *parent, struct rsa_key *k,
                                const uint8_t *auth)
{
    struct tpm_key_private priv = { .prime = k->p, .prime_len = k->p_len };

    import_and_sign(t, parent, &k->pub, &priv, k->pkey, auth);
}

static void import_ec_and_sign(struct tpm *t, struct tpm_obj *parent, struct ec_key *k,
                               const uint8_t *auth)
{
    struct tpm_key_private priv = { .value = k->d, .value_len = k->d_len };

    import_and_sign(t, parent, &k->pub, &priv, k->pkey, auth);
}

static void test_import_rsa_2048_signs_as_the_original(void **state)
{
    struct fixture *f = *state;
    struct rsa_key k;
    uint8_t auth[32];

    rsa_key_new(&k);
    new_auth(auth);
    import_rsa_and_sign(f->t, f->primary, &k, auth);
    EVP_PKEY_free(k.pkey);
}

static void test_import_ec_p256_signs_as_the_original(void **state)
{
    struct fixture *f = *state;
    struct ec_key k;
    uint8_t auth[32];

    ec_key_new(&k);
    new_auth(auth);
    import_ec_and_sign(f->t, f->primary, &k, auth);
    EVP_PKEY_free(k.pkey);
}

/* OpenSSL's AES-128 in ECB or CFB (no padding). */
static void openssl_aes(const EVP_CIPHER *c, const uint8_t *key, const uint8_t *iv,
                        const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;

    assert_non_null(ctx);
    assert_int_equal(EVP_EncryptInit_ex(ctx, c, NULL, key, iv), 1);
    assert_int_equal(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, (int)len), 1);
    assert_int_equal(n, len);
    EVP_CIPHER_CTX_free(ctx);
}

static struct tpm_obj *import_known(struct tpm *t, struct tpm_obj *parent,
                                    const struct tpm_key_spec *spec, const uint8_t *key,
                                    size_t len, const uint8_t *auth)
{
    struct tpm_key_private priv = { .value = key, .value_len = len };
    struct tpm_blob blob = { 0 };
    struct tpm_key_public pub;
    struct tpm_obj *o;

    assert_int_equal(tpm_key_create(t, parent, spec, auth, 32, NULL, &priv, &blob), CKR_OK);
    assert_int_equal(tpm_blob_public(&blob, &pub), CKR_OK);
    assert_int_equal(pub.type, spec->type);
    o = load_key(t, parent, &blob, auth, 32);
    tpm_blob_clear(&blob);
    return o;
}

/* Imports an AES-128 key; the TPM encrypts (ECB and CFB) as OpenSSL does with the same key. */
static void import_aes_and_encrypt(struct tpm *t, struct tpm_obj *parent, const uint8_t *key,
                                   const uint8_t *auth)
{
    struct tpm_key_spec spec = { .type = TPM_KEY_AES, .bits = 128, .sign = true,
                                 .decrypt = true, .fixed = true };
    uint8_t iv[16], plain[40] = "forty bytes of plain text to encrypt.", tpm_out[40], ossl[40];
    struct tpm_obj *o = import_known(t, parent, &spec, key, 16, auth);

    assert_int_equal(cipher(t, parent, o, false, TPM2_ALG_ECB, NULL, plain, 16, tpm_out),
                     TSS2_RC_SUCCESS);
    openssl_aes(EVP_aes_128_ecb(), key, NULL, plain, 16, ossl);
    assert_memory_equal(tpm_out, ossl, 16);
    assert_int_equal(RAND_bytes(iv, sizeof iv), 1);
    assert_int_equal(cipher(t, parent, o, false, TPM2_ALG_CFB, iv, plain, 40, tpm_out),
                     TSS2_RC_SUCCESS);
    openssl_aes(EVP_aes_128_cfb128(), key, iv, plain, 40, ossl);
    assert_memory_equal(tpm_out, ossl, 40);
    tpm_obj_close(t, o);
}

static void test_import_aes_128_encrypts_as_openssl(void **state)
{
    struct fixture *f = *state;
    uint8_t key[16], auth[32];

    assert_int_equal(RAND_bytes(key, sizeof key), 1);
    new_auth(auth);
    import_aes_and_encrypt(f->t, f->primary, key, auth);
}

/* Imports an HMAC key of len bytes; TPM2_HMAC-SHA256 agrees with OpenSSL's HMAC. */
static void import_hmac_and_mac(struct tpm *t, struct tpm_obj *parent, const uint8_t *key,
                                size_t len, const uint8_t *auth)
{
    struct tpm_key_spec spec = { .type = TPM_KEY_HMAC, .bits = (unsigned)len * 8, .sign = true,
                                 .fixed = true };
    static const uint8_t data[] = "what the TPM and OpenSSL both MAC";
    uint8_t mac[32], ossl[32];
    unsigned int ossl_len = 0;
    struct tpm_obj *o = import_known(t, parent, &spec, key, len, auth);

    key_hmac(t, parent, o, data, sizeof data, mac);
    assert_non_null(HMAC(EVP_sha256(), key, (int)len, data, sizeof data, ossl, &ossl_len));
    assert_int_equal(ossl_len, 32);
    assert_memory_equal(mac, ossl, 32);
    tpm_obj_close(t, o);
}

static void test_import_hmac_32_bytes_macs_as_openssl(void **state)
{
    struct fixture *f = *state;
    uint8_t key[32], auth[32];

    assert_int_equal(RAND_bytes(key, sizeof key), 1);
    new_auth(auth);
    import_hmac_and_mac(f->t, f->primary, key, sizeof key, auth);
}

/* Test: a key longer than SHA-256's block goes in under a SHA-512 name, and still MACs right. */
static void test_import_hmac_100_bytes_macs_as_openssl(void **state)
{
    struct fixture *f = *state;
    uint8_t key[100], auth[32];

    assert_int_equal(RAND_bytes(key, sizeof key), 1);
    new_auth(auth);
    import_hmac_and_mac(f->t, f->primary, key, sizeof key, auth);
}

/* ---- what the TPM refuses ---- */

/* Test: a prime that does not divide the modulus is a bad attribute value, and no blob. */
static void test_import_wrong_rsa_prime_is_attribute_value_invalid(void **state)
{
    struct fixture *f = *state;
    struct tpm_key_spec spec = { .type = TPM_KEY_RSA, .bits = 2048, .sign = true };
    struct tpm_key_private priv = { 0 };
    struct tpm_blob blob = { 0 };
    struct rsa_key k;
    uint8_t auth[32];

    rsa_key_new(&k);
    new_auth(auth);
    k.p[k.p_len - 1] ^= 0x02;
    priv.prime = k.p;
    priv.prime_len = k.p_len;
    assert_int_equal(tpm_key_create(f->t, f->primary, &spec, auth, 32, &k.pub, &priv, &blob),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_null(blob.pub);
    assert_null(blob.priv);
    EVP_PKEY_free(k.pkey);
}

/* Test: an EC scalar that is not the point's is a bad attribute value. */
static void test_import_wrong_ec_scalar_is_attribute_value_invalid(void **state)
{
    struct fixture *f = *state;
    struct tpm_key_spec spec = { .type = TPM_KEY_EC, .curve = TPM2_ECC_NIST_P256, .sign = true };
    struct tpm_key_private priv = { 0 };
    struct tpm_blob blob = { 0 };
    struct ec_key k, other;
    uint8_t auth[32];

    ec_key_new(&k);
    ec_key_new(&other);
    new_auth(auth);
    priv.value = other.d;
    priv.value_len = other.d_len;
    assert_int_equal(tpm_key_create(f->t, f->primary, &spec, auth, 32, &k.pub, &priv, &blob),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_null(blob.pub);
    EVP_PKEY_free(k.pkey);
    EVP_PKEY_free(other.pkey);
}

static CK_RV try_create(struct fixture *f, const struct tpm_key_spec *spec)
{
    struct tpm_blob blob = { 0 };
    uint8_t auth[32];
    CK_RV rv;

    new_auth(auth);
    rv = tpm_key_create(f->t, f->primary, spec, auth, 32, NULL, NULL, &blob);
    tpm_blob_clear(&blob);
    return rv;
}

/* Test: sizes and curves the TPM lacks are refused before any key is made. */
static void test_unsupported_sizes_are_key_size_range(void **state)
{
    struct fixture *f = *state;
    struct tpm_key_spec rsa1000 = { .type = TPM_KEY_RSA, .bits = 1000, .sign = true };
    struct tpm_key_spec rsa4096 = { .type = TPM_KEY_RSA, .bits = 4096, .sign = true };
    struct tpm_key_spec aes192 = { .type = TPM_KEY_AES, .bits = 192, .decrypt = true };
    struct tpm_key_spec hmac0 = { .type = TPM_KEY_HMAC, .bits = 0, .sign = true };
    struct tpm_key_spec hmac129 = { .type = TPM_KEY_HMAC, .bits = 129 * 8, .sign = true };
    struct tpm_key_spec curve = { .type = TPM_KEY_EC, .curve = 0x0099, .sign = true };

    assert_int_equal(try_create(f, &rsa1000), CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_create(f, &rsa4096), CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_create(f, &aes192), CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_create(f, &hmac0), CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_create(f, &hmac129), CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_create(f, &curve), CKR_TEMPLATE_INCONSISTENT);
}

/* Test: the TPM enforces a symmetric key's direction: a decrypt-only key will not encrypt. */
static void test_decrypt_only_aes_key_does_not_encrypt(void **state)
{
    struct fixture *f = *state;
    struct tpm_key_spec spec = { .type = TPM_KEY_AES, .bits = 128, .decrypt = true };
    struct tpm_key_public pub;
    uint8_t block[16] = { 0 }, out[16];
    struct tpm_obj *o = generate(f, &spec, &pub);

    assert_int_equal(tpm_rc_base(cipher(f->t, f->primary, o, false, TPM2_ALG_ECB, NULL, block, 16,
                                        out)),
                     TPM2_RC_ATTRIBUTES);
    assert_int_equal(cipher(f->t, f->primary, o, true, TPM2_ALG_ECB, NULL, block, 16, out),
                     TSS2_RC_SUCCESS);
    tpm_obj_close(f->t, o);
}

/* Test: a key that may neither sign nor decrypt is still made (the TPM needs one; see key.c). */
static void test_key_that_may_do_neither_is_made(void **state)
{
    struct fixture *f = *state;
    struct tpm_key_spec rsa = { .type = TPM_KEY_RSA, .bits = 2048 };
    struct tpm_key_spec ec = { .type = TPM_KEY_EC, .curve = TPM2_ECC_NIST_P256 };
    struct tpm_key_spec aes = { .type = TPM_KEY_AES, .bits = 128 };
    struct tpm_key_public pub;

    tpm_obj_close(f->t, generate(f, &rsa, &pub));
    tpm_obj_close(f->t, generate(f, &ec, &pub));
    tpm_obj_close(f->t, generate(f, &aes, &pub));
}

/* ---- nothing secret on the wire ---- */

static bool memfind(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* No 8-byte run of secret is in the capture (a leak need not keep the secret whole). */
static void assert_not_in(const uint8_t *cap, size_t len, const uint8_t *secret, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++)
        assert_false(memfind(cap, len, secret + i, 8));
}

/* The capture file (a few hundred kB at most). */
static uint8_t *read_file(const char *path, size_t *len)
{
    const size_t max = 16u << 20;
    FILE *fp = fopen(path, "rb");
    uint8_t *p = malloc(max);

    assert_non_null(fp);
    assert_non_null(p);
    *len = fread(p, 1, max, fp);
    assert_true(*len > 0 && *len < max);
    fclose(fp);
    return p;
}

/* What the pcap test imports, and the auth values it gives them. */
struct secrets {
    struct rsa_key rsa;
    struct ec_key ec;
    uint8_t aes[16], hmac[40];
    uint8_t auth[4][32];
};

/* Imports and uses every kind of key through a TPM connection t opened on the pcap TCTI. */
static void import_all(struct tpm *t, struct secrets *s)
{
    struct tpm_obj *primary = NULL;

    assert_int_equal(tpm_primary_open(t, primary_seed, sizeof primary_seed, &primary, NULL, NULL),
                     CKR_OK);
    import_rsa_and_sign(t, primary, &s->rsa, s->auth[0]);
    import_ec_and_sign(t, primary, &s->ec, s->auth[1]);
    import_aes_and_encrypt(t, primary, s->aes, s->auth[2]);
    import_hmac_and_mac(t, primary, s->hmac, sizeof s->hmac, s->auth[3]);
    tpm_obj_close(t, primary);
}

/*
 * Test: with every byte between us and the TPM captured, no RSA prime, EC scalar, AES or HMAC
 * key, nor any key's auth value is in it, though the imports and the keys' use are.
 */
static void test_imports_never_cross_to_the_tpm_in_the_clear(void **state)
{
    static const uint8_t import_cc[] = { 0x00, 0x00, 0x01, 0x56 };
    static const uint8_t create_cc[] = { 0x00, 0x00, 0x01, 0x53 };
    struct fixture *f = *state;
    char conf[256], pcap[PATH_MAX + 32];
    struct secrets *s = calloc(1, sizeof *s);
    struct tpm *t = NULL;
    uint8_t *cap;
    size_t len = 0;

    assert_non_null(s);
    rsa_key_new(&s->rsa);
    ec_key_new(&s->ec);
    assert_int_equal(RAND_bytes(s->aes, sizeof s->aes), 1);
    assert_int_equal(RAND_bytes(s->hmac, sizeof s->hmac), 1);
    for (int i = 0; i < 4; i++)
        new_auth(s->auth[i]);
    snprintf(conf, sizeof conf, "pcap:%s", f->swtpm.tcti);
    snprintf(pcap, sizeof pcap, "%s/keys.pcap", f->swtpm.dir);
    setenv("TCTI_PCAP_FILE", pcap, 1);
    assert_int_equal(tpm_open(conf, &zeroed_lock_ops, true, &t), CKR_OK);
    unsetenv("TCTI_PCAP_FILE");
    import_all(t, s);
    tpm_close(t);

    cap = read_file(pcap, &len);
    assert_non_null(cap);
    assert_true(memfind(cap, len, import_cc, sizeof import_cc));
    assert_true(memfind(cap, len, create_cc, sizeof create_cc));
    /* The modulus is public and goes in the clear: the capture does see the import. */
    assert_true(memfind(cap, len, s->rsa.pub.modulus, s->rsa.pub.modulus_len));
    assert_not_in(cap, len, s->rsa.p, s->rsa.p_len);
    assert_not_in(cap, len, s->rsa.q, s->rsa.q_len);
    assert_not_in(cap, len, s->ec.d, s->ec.d_len);
    assert_not_in(cap, len, s->aes, sizeof s->aes);
    assert_not_in(cap, len, s->hmac, sizeof s->hmac);
    for (int i = 0; i < 4; i++)
        assert_not_in(cap, len, s->auth[i], sizeof s->auth[i]);
    free(cap);
    EVP_PKEY_free(s->rsa.pkey);
    EVP_PKEY_free(s->ec.pkey);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps_list_what_the_tpm_implements),
        cmocka_unit_test(test_caps_key_sizes),
        cmocka_unit_test(test_generate_rsa_2048),
        cmocka_unit_test(test_generate_ec_p256),
        cmocka_unit_test(test_generate_ec_p384),
        cmocka_unit_test(test_generate_ec_p521),
        cmocka_unit_test(test_generate_aes_128),
        cmocka_unit_test(test_generate_aes_256),
        cmocka_unit_test(test_generate_tdes_192),
        cmocka_unit_test(test_generate_hmac_32_bytes_in_the_tpm),
        cmocka_unit_test(test_generate_hmac_64_bytes_in_the_tpm),
        cmocka_unit_test(test_generate_hmac_17_bytes_from_random),
        cmocka_unit_test(test_generate_hmac_20_bytes_from_random),
        cmocka_unit_test(test_import_rsa_2048_signs_as_the_original),
        cmocka_unit_test(test_import_ec_p256_signs_as_the_original),
        cmocka_unit_test(test_import_aes_128_encrypts_as_openssl),
        cmocka_unit_test(test_import_hmac_32_bytes_macs_as_openssl),
        cmocka_unit_test(test_import_hmac_100_bytes_macs_as_openssl),
        cmocka_unit_test(test_import_wrong_rsa_prime_is_attribute_value_invalid),
        cmocka_unit_test(test_import_wrong_ec_scalar_is_attribute_value_invalid),
        cmocka_unit_test(test_unsupported_sizes_are_key_size_range),
        cmocka_unit_test(test_decrypt_only_aes_key_does_not_encrypt),
        cmocka_unit_test(test_key_that_may_do_neither_is_made),
        cmocka_unit_test(test_imports_never_cross_to_the_tpm_in_the_clear),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
