/*
 * The module inside an application that made an OpenSSL ENGINE the default for RSA and EC keys,
 * as `openssl dgst -engine pkcs11` does: login (ECDH salt), key generation and import, and the
 * operations that run in OpenSSL (verification, RSA encryption) still work.
 */
#include "config.h"

/* ENGINE is deprecated in OpenSSL 3, but applications still use it: so must this test. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/engine.h>
#include <openssl/evp.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/token_ops.h"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static ENGINE *engine;
static EVP_PKEY *imported_ec;   /* made before the engine took over */

/* The engine's key methods: OpenSSL's own, copied, as an engine like libp11's wraps them. */
static const int engine_nids[] = { EVP_PKEY_RSA, EVP_PKEY_EC };
static EVP_PKEY_METHOD *engine_meths[2];

static int engine_pkey_meths(ENGINE *e, EVP_PKEY_METHOD **meth, const int **nids, int nid)
{
    if (meth == NULL) {
        *nids = engine_nids;
        return 2;
    }
    for (size_t i = 0; i < 2; i++)
        if (engine_nids[i] == nid) {
            *meth = engine_meths[i];
            return 1;
        }
    *meth = NULL;
    return 0;
}

static int engine_install(void)
{
    for (size_t i = 0; i < 2; i++) {
        const EVP_PKEY_METHOD *orig = EVP_PKEY_meth_find(engine_nids[i]);

        if (orig == NULL || (engine_meths[i] = EVP_PKEY_meth_new(engine_nids[i], 0)) == NULL)
            return -1;
        EVP_PKEY_meth_copy(engine_meths[i], orig);
    }
    if ((engine = ENGINE_new()) == NULL || ENGINE_set_id(engine, "tpmtok-test") != 1 ||
        ENGINE_set_name(engine, "default for RSA and EC keys") != 1 ||
        ENGINE_set_pkey_meths(engine, engine_pkey_meths) != 1 ||
        ENGINE_set_default_pkey_meths(engine) != 1)
        return -1;
    return 0;
}

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    if ((imported_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
        return -1;
    return engine_install();
}

static int group_teardown(void **state)
{
    ENGINE_unregister_pkey_meths(engine);
    ENGINE_free(engine);   /* frees the engine's key methods too */
    EVP_PKEY_free(imported_ec);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    return token_with_user(f, "engine", &s) == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

/* The situation is real: a context made from the name "EC" is the engine's and cannot fromdata. */
static void test_engine_takes_contexts_made_from_key_names(void **state)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    assert_non_null(ctx);
    assert_int_not_equal(EVP_PKEY_fromdata_init(ctx), 1);
    EVP_PKEY_CTX_free(ctx);
}

/* Sign in the TPM; verify in the module (OpenSSL) and in the test (OpenSSL). */
static void sign_and_verify(CK_MECHANISM_TYPE type, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv)
{
    CK_MECHANISM m = { type, NULL, 0 };
    uint8_t data[300], sig[512];
    CK_ULONG sig_len = sizeof sig;
    EVP_PKEY *key = public_key_of(f, s, pub);

    assert_non_null(key);
    cu_fill(data, sizeof data, 7);
    assert_int_equal(tk_sign(f, s, &m, priv, data, sizeof data, NULL, 0, sig, &sig_len), CKR_OK);
    assert_int_equal(tk_verify(f, s, &m, pub, data, sizeof data, NULL, 0, sig, sig_len), CKR_OK);
    assert_int_equal(cu_verify(key, &m, data, sizeof data, sig, sig_len), 1);
    data[0] ^= 1;
    assert_int_equal(tk_verify(f, s, &m, pub, data, sizeof data, NULL, 0, sig, sig_len),
                     CKR_SIGNATURE_INVALID);
    EVP_PKEY_free(key);
}

static void test_ec_keys_made_in_the_tpm_sign_and_verify(void **state)
{
    CK_OBJECT_HANDLE pub, priv;

    assert_int_equal(tk_ec_pair(f, s, "P-256", NULL, 0, &pub, &priv), CKR_OK);
    sign_and_verify(CKM_ECDSA_SHA256, pub, priv);
}

static void test_rsa_keys_sign_verify_encrypt_and_decrypt(void **state)
{
    CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM m = { CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep };
    CK_OBJECT_HANDLE pub, priv;
    uint8_t secret[32], ct[256], pt[256];
    CK_ULONG ct_len = sizeof ct, pt_len = sizeof pt;

    assert_int_equal(tk_rsa_pair(f, s, 2048, NULL, 0, &pub, &priv), CKR_OK);
    sign_and_verify(CKM_SHA256_RSA_PKCS, pub, priv);
    cu_fill(secret, sizeof secret, 8);
    assert_int_equal(tk_encrypt(f, s, &m, pub, secret, sizeof secret, NULL, 0, ct, &ct_len),
                     CKR_OK);
    assert_int_equal(tk_decrypt(f, s, &m, priv, ct, ct_len, NULL, 0, pt, &pt_len), CKR_OK);
    assert_memory_equal(pt, secret, sizeof secret);
    assert_int_equal(pt_len, sizeof secret);
}

static void test_imported_ec_key_signs(void **state)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_OBJECT_HANDLE key;
    uint8_t data[100], sig[128];
    CK_ULONG sig_len = sizeof sig;

    assert_int_equal(tk_import_private(f, s, imported_ec, NULL, 0, &key), CKR_OK);
    cu_fill(data, sizeof data, 9);
    assert_int_equal(tk_sign(f, s, &m, key, data, sizeof data, NULL, 0, sig, &sig_len), CKR_OK);
    assert_int_equal(cu_verify(imported_ec, &m, data, sizeof data, sig, sig_len), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_takes_contexts_made_from_key_names),
        cmocka_unit_test_setup_teardown(test_ec_keys_made_in_the_tpm_sign_and_verify, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rsa_keys_sign_verify_encrypt_and_decrypt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_imported_ec_key_signs, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
