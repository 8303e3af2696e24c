/* Keys generated in the TPM: every key type, its attributes, and OpenSSL's view of its public part. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const CK_BYTE p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const CK_BYTE secp256k1[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    return 0;
}

static int group_teardown(void **state)
{
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "keygen", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static CK_RV rsa_pair(CK_ULONG bits, CK_BBOOL token, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ATTRIBUTE pt[] = {
        { CKA_TOKEN, &token, sizeof token },
        { CKA_MODULUS_BITS, &bits, sizeof bits },
    };
    CK_ATTRIBUTE vt[] = {
        { CKA_TOKEN, &token, sizeof token },
        { CKA_SIGN, &yes, sizeof yes },
    };

    return f->C_GenerateKeyPair(s, &mech, pt, 2, vt, 2, pub, priv);
}

static CK_RV ec_pair(const CK_BYTE *params, size_t len, CK_OBJECT_HANDLE *pub,
                     CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_ATTRIBUTE pt[] = {
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_EC_PARAMS, (void *)params, len },
    };
    CK_ATTRIBUTE vt[] = {
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_SIGN, &yes, sizeof yes },
    };

    return f->C_GenerateKeyPair(s, &mech, pt, 2, vt, 2, pub, priv);
}

/* The attributes every generated private key has. */
static void check_generated_private(CK_OBJECT_HANDLE priv, CK_MECHANISM_TYPE mech)
{
    assert_true(attr_bool(f, s, priv, CKA_LOCAL));
    assert_int_equal(attr_ulong(f, s, priv, CKA_KEY_GEN_MECHANISM), mech);
    assert_true(attr_bool(f, s, priv, CKA_SENSITIVE));
    assert_true(attr_bool(f, s, priv, CKA_ALWAYS_SENSITIVE));
    assert_false(attr_bool(f, s, priv, CKA_EXTRACTABLE));
    assert_true(attr_bool(f, s, priv, CKA_NEVER_EXTRACTABLE));
    assert_true(attr_bool(f, s, priv, CKA_PRIVATE));
    assert_true(attr_bool(f, s, priv, CKA_TOKEN));
}

static void test_rsa_2048_pair_matches_openssl(void **state)
{
    CK_OBJECT_HANDLE pub, priv;
    uint8_t *n, *e, *id_pub, *id_priv, *n_priv, sha[20], *bin;
    size_t n_len, e_len, idl1, idl2, np_len;
    BIGNUM *on = NULL, *oe = NULL;
    EVP_PKEY *pkey;
    CK_RV rv;

    assert_int_equal(rsa_pair(2048, CK_TRUE, &pub, &priv), CKR_OK);
    assert_int_equal(attr_ulong(f, s, pub, CKA_CLASS), CKO_PUBLIC_KEY);
    assert_int_equal(attr_ulong(f, s, priv, CKA_CLASS), CKO_PRIVATE_KEY);
    assert_int_equal(attr_ulong(f, s, pub, CKA_KEY_TYPE), CKK_RSA);
    assert_int_equal(attr_ulong(f, s, pub, CKA_MODULUS_BITS), 2048);
    n = attr_get(f, s, pub, CKA_MODULUS, &n_len, &rv);
    e = attr_get(f, s, pub, CKA_PUBLIC_EXPONENT, &e_len, &rv);
    n_priv = attr_get(f, s, priv, CKA_MODULUS, &np_len, &rv);
    assert_non_null(n);
    assert_non_null(e);
    assert_non_null(n_priv);
    assert_int_equal(n_len, 256);
    assert_int_equal(np_len, 256);
    assert_memory_equal(n, n_priv, 256);
    assert_int_equal(e_len, 3);
    assert_memory_equal(e, "\x01\x00\x01", 3);
    /* OpenSSL reads the same key from CKA_PUBLIC_KEY_INFO. */
    pkey = public_key_of(f, s, pub);
    assert_non_null(pkey);
    assert_int_equal(EVP_PKEY_get_bits(pkey), 2048);
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &on), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &oe), 1);
    bin = malloc(256);
    assert_int_equal(BN_bn2binpad(on, bin, 256), 256);
    assert_memory_equal(bin, n, 256);
    assert_int_equal(BN_get_word(oe), 65537);
    /* Both halves carry the SHA-1 of the modulus as CKA_ID. */
    id_pub = attr_get(f, s, pub, CKA_ID, &idl1, &rv);
    id_priv = attr_get(f, s, priv, CKA_ID, &idl2, &rv);
    SHA1(n, n_len, sha);
    assert_int_equal(idl1, 20);
    assert_int_equal(idl2, 20);
    assert_memory_equal(id_pub, sha, 20);
    assert_memory_equal(id_priv, sha, 20);
    check_generated_private(priv, CKM_RSA_PKCS_KEY_PAIR_GEN);
    assert_true(attr_bool(f, s, pub, CKA_LOCAL));
    /* The private parts never leave the TPM. */
    assert_int_equal(attr_status(f, s, priv, CKA_PRIVATE_EXPONENT), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(attr_status(f, s, priv, CKA_PRIME_1), CKR_ATTRIBUTE_SENSITIVE);
    BN_free(on);
    BN_free(oe);
    EVP_PKEY_free(pkey);
    free(bin);
    free(n);
    free(e);
    free(n_priv);
    free(id_pub);
    free(id_priv);
}

static void test_rsa_sizes_follow_the_tpm(void **state)
{
    CK_MECHANISM_INFO info;
    CK_OBJECT_HANDLE pub, priv;

    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &info), CKR_OK);
    assert_true(info.flags & CKF_GENERATE_KEY_PAIR);
    assert_true(info.flags & CKF_HW);
    assert_true(info.ulMinKeySize <= 2048 && info.ulMaxKeySize >= 2048);
    assert_int_equal(rsa_pair(3072, CK_FALSE, &pub, &priv),
                     info.ulMaxKeySize >= 3072 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID);
    if (info.ulMaxKeySize >= 3072)
        assert_int_equal(attr_ulong(f, s, pub, CKA_MODULUS_BITS), 3072);
    assert_int_equal(rsa_pair(4096, CK_FALSE, &pub, &priv),
                     info.ulMaxKeySize >= 4096 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(rsa_pair(1000, CK_FALSE, &pub, &priv), CKR_ATTRIBUTE_VALUE_INVALID);
}

/* CKA_EC_POINT is a DER OCTET STRING of the uncompressed point, and on the curve. */
static void check_ec_point(CK_OBJECT_HANDLE pub, int nid, size_t coord)
{
    size_t len;
    CK_RV rv;
    uint8_t *der = attr_get(f, s, pub, CKA_EC_POINT, &len, &rv);
    const unsigned char *p = der;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *pt = EC_POINT_new(group);

    assert_non_null(os);
    assert_ptr_equal(p, der + len);
    assert_int_equal(ASN1_STRING_length(os), 1 + 2 * coord);
    assert_int_equal(ASN1_STRING_get0_data(os)[0], 0x04);
    if (1 + 2 * coord > 127)
        assert_int_equal(der[1], 0x81);   /* DER long-form length, as P-521 needs */
    assert_int_equal(EC_POINT_oct2point(group, pt, ASN1_STRING_get0_data(os),
                                        (size_t)ASN1_STRING_length(os), NULL), 1);
    assert_int_equal(EC_POINT_is_on_curve(group, pt, NULL), 1);
    EC_POINT_free(pt);
    EC_GROUP_free(group);
    ASN1_OCTET_STRING_free(os);
    free(der);
}

static void test_ec_pairs_on_every_curve(void **state)
{
    static const struct { const CK_BYTE *params; size_t len; int nid; size_t coord; } curves[] = {
        { p256, sizeof p256, NID_X9_62_prime256v1, 32 },
        { p384, sizeof p384, NID_secp384r1, 48 },
        { p521, sizeof p521, NID_secp521r1, 66 },
    };
    CK_OBJECT_HANDLE pub, priv;
    uint8_t *params;
    size_t len;
    CK_RV rv;

    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        EVP_PKEY *pkey;
        assert_int_equal(ec_pair(curves[i].params, curves[i].len, &pub, &priv), CKR_OK);
        check_ec_point(pub, curves[i].nid, curves[i].coord);
        check_generated_private(priv, CKM_EC_KEY_PAIR_GEN);
        params = attr_get(f, s, priv, CKA_EC_PARAMS, &len, &rv);
        assert_int_equal(len, curves[i].len);
        assert_memory_equal(params, curves[i].params, len);
        free(params);
        pkey = public_key_of(f, s, pub);
        assert_non_null(pkey);
        assert_int_equal(EVP_PKEY_get_bits(pkey), curves[i].nid == NID_secp521r1 ? 521 :
                                                  (int)curves[i].coord * 8);
        EVP_PKEY_free(pkey);
        assert_int_equal(attr_status(f, s, priv, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
    }
}

static void test_ec_params_by_name_and_unsupported_curves(void **state)
{
    static const CK_BYTE by_name[] = { 0x13, 0x0a, 'p', 'r', 'i', 'm', 'e', '2', '5', '6', 'v', '1' };
    static const CK_BYTE garbage[] = { 0x30, 0x03, 0x02, 0x01 };
    CK_OBJECT_HANDLE pub, priv;

    assert_int_equal(ec_pair(by_name, sizeof by_name, &pub, &priv), CKR_OK);
    check_ec_point(pub, NID_X9_62_prime256v1, 32);
    assert_int_equal(ec_pair(secp256k1, sizeof secp256k1, &pub, &priv), CKR_CURVE_NOT_SUPPORTED);
    assert_int_equal(ec_pair(garbage, sizeof garbage, &pub, &priv), CKR_DOMAIN_PARAMS_INVALID);
}

static CK_RV secret_key(CK_MECHANISM_TYPE type, CK_ULONG len, CK_BBOOL token, CK_OBJECT_HANDLE *k)
{
    CK_MECHANISM mech = { type, NULL, 0 };
    CK_ATTRIBUTE t[] = {
        { CKA_TOKEN, &token, sizeof token },
        { CKA_VALUE_LEN, &len, sizeof len },
    };

    return f->C_GenerateKey(s, &mech, t, type == CKM_DES3_KEY_GEN ? 1 : 2, k);
}

static void test_secret_keys(void **state)
{
    CK_MECHANISM_INFO info;
    CK_OBJECT_HANDLE k;
    CK_RV rv;

    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_AES_KEY_GEN, &info), CKR_OK);
    assert_true(info.flags & CKF_GENERATE);
    assert_int_equal(secret_key(CKM_AES_KEY_GEN, 16, CK_TRUE, &k), CKR_OK);
    assert_int_equal(attr_ulong(f, s, k, CKA_KEY_TYPE), CKK_AES);
    assert_int_equal(attr_ulong(f, s, k, CKA_VALUE_LEN), 16);
    assert_int_equal(attr_status(f, s, k, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
    check_generated_private(k, CKM_AES_KEY_GEN);
    assert_int_equal(secret_key(CKM_AES_KEY_GEN, 32, CK_TRUE, &k), CKR_OK);
    assert_int_equal(attr_ulong(f, s, k, CKA_VALUE_LEN), 32);
    /* AES-192 exists only where the TPM has it; swtpm does not. */
    rv = secret_key(CKM_AES_KEY_GEN, 24, CK_FALSE, &k);
    assert_true(rv == CKR_OK || rv == CKR_ATTRIBUTE_VALUE_INVALID);
    if (rv == CKR_OK)
        assert_int_equal(attr_ulong(f, s, k, CKA_VALUE_LEN), 24);
    assert_int_equal(secret_key(CKM_AES_KEY_GEN, 20, CK_FALSE, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    /* Triple DES only where the TPM and tss2 can do it (tss2 3.2 cannot marshal TDES). */
    if (f->C_GetMechanismInfo(slot, CKM_DES3_KEY_GEN, &info) == CKR_OK) {
        assert_int_equal(secret_key(CKM_DES3_KEY_GEN, 0, CK_TRUE, &k), CKR_OK);
        assert_int_equal(attr_ulong(f, s, k, CKA_KEY_TYPE), CKK_DES3);
        check_generated_private(k, CKM_DES3_KEY_GEN);
    } else {
        assert_int_equal(secret_key(CKM_DES3_KEY_GEN, 0, CK_TRUE, &k), CKR_MECHANISM_INVALID);
    }
    for (CK_ULONG len = 16; len <= 64; len += 16) {
        assert_int_equal(secret_key(CKM_GENERIC_SECRET_KEY_GEN, len, CK_TRUE, &k), CKR_OK);
        assert_int_equal(attr_ulong(f, s, k, CKA_KEY_TYPE), CKK_GENERIC_SECRET);
        assert_int_equal(attr_ulong(f, s, k, CKA_VALUE_LEN), len);
        assert_true(attr_bool(f, s, k, CKA_SIGN));
    }
    assert_int_equal(secret_key(CKM_GENERIC_SECRET_KEY_GEN, 17, CK_FALSE, &k), CKR_OK);
}

static void test_generation_errors(void **state)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    CK_BYTE param[4] = { 0 };
    CK_MECHANISM with_param = { CKM_AES_KEY_GEN, param, sizeof param };
    CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_MECHANISM rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG len = 16;
    CK_BYTE value[16] = { 0 };
    CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &len, sizeof len } };
    CK_ATTRIBUTE with_value[] = { { CKA_VALUE_LEN, &len, sizeof len }, { CKA_VALUE, value, 16 } };
    CK_ATTRIBUTE not_sensitive[] = { { CKA_VALUE_LEN, &len, sizeof len },
                                     { CKA_SENSITIVE, &no, sizeof no },
                                     { CKA_EXTRACTABLE, &yes, sizeof yes } };
    CK_OBJECT_HANDLE k, pub, priv;

    assert_int_equal(f->C_GenerateKey(s, &sha, t, 1, &k), CKR_MECHANISM_INVALID);
    assert_int_equal(f->C_GenerateKey(s, &rsa, t, 1, &k), CKR_MECHANISM_INVALID);
    assert_int_equal(f->C_GenerateKey(s, &with_param, t, 1, &k), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_GenerateKey(s, &aes, NULL, 0, &k), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(f->C_GenerateKey(s, &aes, with_value, 2, &k), CKR_TEMPLATE_INCONSISTENT);
    /* Not sensitive is fine while not extractable; both would promise a readable value. */
    assert_int_equal(f->C_GenerateKey(s, &aes, not_sensitive, 2, &k), CKR_OK);
    assert_false(attr_bool(f, s, k, CKA_SENSITIVE));
    assert_false(attr_bool(f, s, k, CKA_ALWAYS_SENSITIVE));
    assert_int_equal(attr_status(f, s, k, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(f->C_GenerateKey(s, &aes, not_sensitive, 3, &k), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(f->C_GenerateKey(s, NULL, t, 1, &k), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GenerateKeyPair(s, &rsa, NULL, 0, NULL, 0, &pub, &priv),
                     CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(f->C_GenerateKeyPair(s, &aes, t, 1, NULL, 0, &pub, &priv),
                     CKR_MECHANISM_INVALID);
}

static void test_generation_needs_rights(void **state)
{
    CK_SESSION_HANDLE ro, pub_rw;
    CK_OBJECT_HANDLE k;
    CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_ULONG len = 16;
    CK_ATTRIBUTE token_key[] = { { CKA_VALUE_LEN, &len, sizeof len }, { CKA_TOKEN, &yes, 1 } };
    CK_ATTRIBUTE public_session_key[] = { { CKA_VALUE_LEN, &len, sizeof len },
                                          { CKA_PRIVATE, &no, 1 } };

    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(f->C_GenerateKey(ro, &aes, token_key, 2, &k), CKR_SESSION_READ_ONLY);
    /* A session key in a read-only session is fine. */
    assert_int_equal(f->C_GenerateKey(ro, &aes, token_key, 1, &k), CKR_OK);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &pub_rw), CKR_OK);
    assert_int_equal(f->C_GenerateKey(pub_rw, &aes, token_key, 2, &k), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_GenerateKey(pub_rw, &aes, token_key, 1, &k), CKR_USER_NOT_LOGGED_IN);
    /* A public session key needs no login. */
    assert_int_equal(f->C_GenerateKey(pub_rw, &aes, public_session_key, 2, &k), CKR_OK);
}

static void test_session_keys_die_with_their_session(void **state)
{
    CK_SESSION_HANDLE other;
    CK_OBJECT_HANDLE k;

    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &other), CKR_OK);
    assert_int_equal(secret_key(CKM_AES_KEY_GEN, 16, CK_FALSE, &k), CKR_OK);
    assert_int_equal(attr_ulong(f, other, k, CKA_VALUE_LEN), 16);   /* seen by other sessions */
    assert_int_equal(f->C_CloseSession(s), CKR_OK);
    assert_int_equal(attr_status(f, other, k, CKA_VALUE_LEN), CKR_OBJECT_HANDLE_INVALID);
}

/* Token keys outlive the process and are found by another one with the same public part. */
static void test_token_keys_persist_across_processes(void **state)
{
    CK_OBJECT_HANDLE pub, priv, found[4];
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    uint8_t *id, *n;
    size_t id_len, n_len;
    int status;
    CK_RV rv;
    pid_t pid;

    assert_int_equal(rsa_pair(2048, CK_TRUE, &pub, &priv), CKR_OK);
    id = attr_get(f, s, priv, CKA_ID, &id_len, &rv);
    n = attr_get(f, s, priv, CKA_MODULUS, &n_len, &rv);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    pid = fork();
    if (pid == 0) {
        CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, id, id_len } };
        uint8_t *n2;
        size_t n2_len;
        int bad = f->C_Initialize(NULL) != CKR_OK ||
                  f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &s) != CKR_OK ||
                  f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9) != CKR_OK ||
                  find_all(f, s, t, 2, found, 4) != 1;
        n2 = bad ? NULL : attr_get(f, s, found[0], CKA_MODULUS, &n2_len, &rv);
        bad |= n2 == NULL || n2_len != n_len || memcmp(n2, n, n_len) != 0;
        free(n2);
        free(id);
        free(n);
        /* A bare TPM keeps what a process loaded until someone flushes it. */
        _exit(bad | (f->C_Finalize(NULL) != CKR_OK));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(id);
    free(n);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(swtpm_transient_count(&tpm), 0);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
}

static void test_mechanism_list_has_the_generators(void **state)
{
    CK_MECHANISM_TYPE list[64];
    CK_ULONG n = 0, i;
    bool rsa = false, ec = false, aes = false;

    assert_int_equal(f->C_GetMechanismList(slot, NULL, &n), CKR_OK);
    assert_true(n > 0 && n <= 64);
    i = n - 1;
    assert_int_equal(f->C_GetMechanismList(slot, list, &i), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(i, n);
    assert_int_equal(f->C_GetMechanismList(slot, list, &n), CKR_OK);
    for (i = 0; i < n; i++) {
        rsa |= list[i] == CKM_RSA_PKCS_KEY_PAIR_GEN;
        ec |= list[i] == CKM_EC_KEY_PAIR_GEN;
        aes |= list[i] == CKM_AES_KEY_GEN;
    }
    assert_true(rsa && ec && aes);
    assert_int_equal(f->C_GetMechanismList(slot + 1000, NULL, &n), CKR_SLOT_ID_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rsa_2048_pair_matches_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_sizes_follow_the_tpm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec_pairs_on_every_curve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec_params_by_name_and_unsupported_curves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_needs_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_keys_die_with_their_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_keys_persist_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mechanism_list_has_the_generators, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
