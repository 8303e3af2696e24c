/* Objects: every class, created, read, changed, copied and destroyed as the spec says. */
#include "config.h"

#include <pthread.h>
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
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS data_class = CKO_DATA, cert_class = CKO_CERTIFICATE;
static CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
static CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
static CK_KEY_TYPE rsa_type = CKK_RSA, ec_type = CKK_EC, aes_type = CKK_AES;

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
    slot = token_with_user(f, "objects", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static long store_count(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long n = -1;

    if (sqlite3_open_v2(getenv("TPMTOK_STORE"), &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static CK_RV data_object(CK_SESSION_HANDLE sess, CK_BBOOL token, CK_BBOOL private,
                         const char *label, CK_OBJECT_HANDLE *h)
{
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &data_class, sizeof data_class },
        { CKA_TOKEN, &token, 1 },
        { CKA_PRIVATE, &private, 1 },
        { CKA_LABEL, (void *)label, strlen(label) },
        { CKA_APPLICATION, "test", 4 },
        { CKA_VALUE, "some data", 9 },
    };

    return f->C_CreateObject(sess, t, 6, h);
}

static void test_data_objects(void **state)
{
    CK_OBJECT_HANDLE h;
    CK_SESSION_HANDLE ro;
    uint8_t *v;
    size_t len;
    CK_RV rv;

    assert_int_equal(data_object(s, CK_TRUE, CK_TRUE, "private data", &h), CKR_OK);
    v = attr_get(f, s, h, CKA_VALUE, &len, &rv);
    assert_int_equal(len, 9);
    assert_memory_equal(v, "some data", 9);
    free(v);
    assert_true(attr_bool(f, s, h, CKA_TOKEN));
    assert_true(attr_bool(f, s, h, CKA_MODIFIABLE));
    assert_true(attr_bool(f, s, h, CKA_DESTROYABLE));
    assert_int_equal(store_count("SELECT count(*) FROM objects"), 1);
    /* The value of a private object is sealed in the store. */
    assert_int_equal(file_contains(getenv("TPMTOK_STORE"), "some data", 9), 0);
    /* Public session objects may be made in a read-only session without login. */
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(data_object(ro, CK_FALSE, CK_FALSE, "public", &h), CKR_OK);
    assert_int_equal(data_object(ro, CK_TRUE, CK_FALSE, "public token", &h), CKR_SESSION_READ_ONLY);
    assert_int_equal(data_object(ro, CK_FALSE, CK_TRUE, "private", &h), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(data_object(s, CK_TRUE, CK_FALSE, "public token", &h), CKR_OK);
    assert_int_equal(store_count("SELECT count(*) FROM objects"), 2);
}

static X509 *self_signed(EVP_PKEY **key)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"tpmtok test", -1, -1, 0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, *key);
    X509_sign(x, *key, EVP_sha256());
    X509_NAME_free(name);
    return x;
}

static void test_certificate_fields_come_from_its_value(void **state)
{
    EVP_PKEY *key;
    X509 *x = self_signed(&key);
    unsigned char *der = NULL, *subj = NULL, *ser = NULL;
    int der_len = i2d_X509(x, &der);
    int subj_len = i2d_X509_NAME(X509_get_subject_name(x), &subj);
    int ser_len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &ser);
    CK_CERTIFICATE_TYPE xt = CKC_X_509, attr_cert = CKC_X_509_ATTR_CERT;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cert_class, sizeof cert_class },
        { CKA_CERTIFICATE_TYPE, &xt, sizeof xt },
        { CKA_TOKEN, &yes, 1 },
        { CKA_VALUE, der, (CK_ULONG)der_len },
    };
    CK_OBJECT_HANDLE h;
    uint8_t *v;
    size_t len;
    CK_RV rv;

    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_OK);
    v = attr_get(f, s, h, CKA_SUBJECT, &len, &rv);
    assert_int_equal(len, subj_len);
    assert_memory_equal(v, subj, len);
    free(v);
    v = attr_get(f, s, h, CKA_ISSUER, &len, &rv);
    assert_int_equal(len, subj_len);
    free(v);
    v = attr_get(f, s, h, CKA_SERIAL_NUMBER, &len, &rv);
    assert_int_equal(len, ser_len);
    assert_memory_equal(v, ser, len);
    free(v);
    v = attr_get(f, s, h, CKA_VALUE, &len, &rv);
    assert_int_equal(len, der_len);
    assert_memory_equal(v, der, len);
    free(v);
    assert_false(attr_bool(f, s, h, CKA_PRIVATE));
    assert_false(attr_bool(f, s, h, CKA_TRUSTED));
    /* Not a certificate, or a type the token does not keep. */
    t[3].ulValueLen = 10;
    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    t[3].ulValueLen = (CK_ULONG)der_len;
    t[1].pValue = &attr_cert;
    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    OPENSSL_free(der);
    OPENSSL_free(subj);
    OPENSSL_free(ser);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* A big number of an OpenSSL key as big-endian bytes. */
static uint8_t *bn_bytes(EVP_PKEY *k, const char *name, size_t *len)
{
    BIGNUM *bn = NULL;
    uint8_t *out;

    assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    *len = (size_t)BN_num_bytes(bn);
    out = malloc(*len);
    BN_bn2bin(bn, out);
    BN_free(bn);
    return out;
}

static void test_rsa_public_key_import(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    size_t n_len, e_len, spki_len;
    uint8_t *n = bn_bytes(k, OSSL_PKEY_PARAM_RSA_N, &n_len);
    uint8_t *e = bn_bytes(k, OSSL_PKEY_PARAM_RSA_E, &e_len);
    unsigned char *spki = NULL;
    int ours_len = i2d_PUBKEY(k, &spki);
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &pub_class, sizeof pub_class },
        { CKA_KEY_TYPE, &rsa_type, sizeof rsa_type },
        { CKA_MODULUS, n, n_len },
        { CKA_PUBLIC_EXPONENT, e, e_len },
    };
    CK_OBJECT_HANDLE h;
    uint8_t *v;
    CK_RV rv;

    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_OK);
    assert_int_equal(attr_ulong(f, s, h, CKA_MODULUS_BITS), 2048);
    assert_false(attr_bool(f, s, h, CKA_LOCAL));
    assert_true(attr_bool(f, s, h, CKA_VERIFY));
    v = attr_get(f, s, h, CKA_PUBLIC_KEY_INFO, &spki_len, &rv);
    assert_int_equal(spki_len, ours_len);
    assert_memory_equal(v, spki, spki_len);
    free(v);
    /* CKA_MODULUS_BITS is the token's to compute. */
    {
        CK_ULONG bits = 2048;
        CK_ATTRIBUTE bad[] = { t[0], t[1], t[2], t[3], { CKA_MODULUS_BITS, &bits, sizeof bits } };
        assert_int_equal(f->C_CreateObject(s, bad, 5, &h), CKR_TEMPLATE_INCONSISTENT);
        assert_int_equal(f->C_CreateObject(s, t, 3, &h), CKR_TEMPLATE_INCOMPLETE);
    }
    OPENSSL_free(spki);
    free(n);
    free(e);
    EVP_PKEY_free(k);
}

static uint8_t *ec_point_of(EVP_PKEY *k, size_t *len)
{
    uint8_t *p = malloc(200);

    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, p, 200, len), 1);
    return p;
}

static const CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

static void test_ec_public_key_import(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    size_t raw_len;
    uint8_t *raw = ec_point_of(k, &raw_len), der[200];
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &pub_class, sizeof pub_class },
        { CKA_KEY_TYPE, &ec_type, sizeof ec_type },
        { CKA_EC_PARAMS, (void *)p256, sizeof p256 },
        { CKA_EC_POINT, der, raw_len + 2 },
    };
    CK_OBJECT_HANDLE h;
    EVP_PKEY *back;

    der[0] = 0x04;
    der[1] = (uint8_t)raw_len;
    memcpy(der + 2, raw, raw_len);
    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_OK);
    back = public_key_of(f, s, h);
    assert_non_null(back);
    assert_int_equal(EVP_PKEY_eq(back, k), 1);
    EVP_PKEY_free(back);
    /* A point off the curve is refused. */
    der[10] ^= 1;
    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    free(raw);
    EVP_PKEY_free(k);
}

/* An RSA key made by OpenSSL goes into the TPM; only its public part stays readable. */
static void test_rsa_private_key_import(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    size_t nl, el, dl, pl, ql, dpl, dql, qil, id_len;
    uint8_t *n = bn_bytes(k, OSSL_PKEY_PARAM_RSA_N, &nl), *e = bn_bytes(k, OSSL_PKEY_PARAM_RSA_E, &el);
    uint8_t *d = bn_bytes(k, OSSL_PKEY_PARAM_RSA_D, &dl), *p = bn_bytes(k, OSSL_PKEY_PARAM_RSA_FACTOR1, &pl);
    uint8_t *q = bn_bytes(k, OSSL_PKEY_PARAM_RSA_FACTOR2, &ql);
    uint8_t *dp = bn_bytes(k, OSSL_PKEY_PARAM_RSA_EXPONENT1, &dpl);
    uint8_t *dq = bn_bytes(k, OSSL_PKEY_PARAM_RSA_EXPONENT2, &dql);
    uint8_t *qi = bn_bytes(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &qil);
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &priv_class, sizeof priv_class }, { CKA_KEY_TYPE, &rsa_type, sizeof rsa_type },
        { CKA_TOKEN, &yes, 1 }, { CKA_MODULUS, n, nl }, { CKA_PUBLIC_EXPONENT, e, el },
        { CKA_PRIVATE_EXPONENT, d, dl }, { CKA_PRIME_1, p, pl }, { CKA_PRIME_2, q, ql },
        { CKA_EXPONENT_1, dp, dpl }, { CKA_EXPONENT_2, dq, dql }, { CKA_COEFFICIENT, qi, qil },
    };
    CK_OBJECT_HANDLE h;
    uint8_t *v, sha[20];
    CK_RV rv;

    assert_int_equal(f->C_CreateObject(s, t, 11, &h), CKR_OK);
    v = attr_get(f, s, h, CKA_MODULUS, &id_len, &rv);
    assert_int_equal(id_len, nl);
    assert_memory_equal(v, n, nl);
    free(v);
    assert_int_equal(attr_status(f, s, h, CKA_PRIVATE_EXPONENT), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(attr_status(f, s, h, CKA_PRIME_1), CKR_ATTRIBUTE_SENSITIVE);
    assert_false(attr_bool(f, s, h, CKA_LOCAL));
    assert_false(attr_bool(f, s, h, CKA_ALWAYS_SENSITIVE));
    assert_false(attr_bool(f, s, h, CKA_NEVER_EXTRACTABLE));
    assert_true(attr_bool(f, s, h, CKA_SENSITIVE));
    assert_int_equal(attr_ulong(f, s, h, CKA_KEY_GEN_MECHANISM), CK_UNAVAILABLE_INFORMATION);
    v = attr_get(f, s, h, CKA_ID, &id_len, &rv);
    SHA1(n, nl, sha);
    assert_int_equal(id_len, 20);
    assert_memory_equal(v, sha, 20);
    free(v);
    /* No secret component reaches the store. */
    assert_int_equal(file_contains(getenv("TPMTOK_STORE"), p, 32), 0);
    assert_int_equal(file_contains(getenv("TPMTOK_STORE"), q, 32), 0);
    assert_int_equal(file_contains(getenv("TPMTOK_STORE"), d, 32), 0);
    /* A prime that does not divide the modulus is refused. */
    p[pl - 1] ^= 2;
    t[7].ulValueLen = 0;
    assert_int_equal(f->C_CreateObject(s, t, 11, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    free(n); free(e); free(d); free(p); free(q); free(dp); free(dq); free(qi);
    EVP_PKEY_free(k);
}

static void test_ec_private_key_import_computes_the_point(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    size_t dl, raw_len, len;
    uint8_t *d = bn_bytes(k, OSSL_PKEY_PARAM_PRIV_KEY, &dl), *raw = ec_point_of(k, &raw_len);
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &priv_class, sizeof priv_class }, { CKA_KEY_TYPE, &ec_type, sizeof ec_type },
        { CKA_TOKEN, &yes, 1 }, { CKA_EC_PARAMS, (void *)p256, sizeof p256 }, { CKA_VALUE, d, dl },
    };
    CK_OBJECT_HANDLE h;
    uint8_t *point;
    CK_RV rv;

    assert_int_equal(f->C_CreateObject(s, t, 5, &h), CKR_OK);
    point = attr_get(f, s, h, CKA_EC_POINT, &len, &rv);
    assert_int_equal(len, raw_len + 2);
    assert_memory_equal(point + 2, raw, raw_len);
    free(point);
    assert_int_equal(attr_status(f, s, h, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(file_contains(getenv("TPMTOK_STORE"), d, dl), 0);
    /* A scalar beyond the curve's order is not a key. */
    memset(d, 0xff, dl);
    assert_int_equal(f->C_CreateObject(s, t, 5, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    free(d);
    free(raw);
    EVP_PKEY_free(k);
}

static void test_secret_key_import(void **state)
{
    static const CK_BYTE value[16] = "0123456789abcdef";
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &secret_class, sizeof secret_class }, { CKA_KEY_TYPE, &aes_type, sizeof aes_type },
        { CKA_TOKEN, &yes, 1 }, { CKA_VALUE, (void *)value, sizeof value },
    };
    CK_ULONG len = 16;
    CK_ATTRIBUTE with_len[] = { t[0], t[1], t[2], t[3], { CKA_VALUE_LEN, &len, sizeof len } };
    CK_OBJECT_HANDLE h;

    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_OK);
    assert_int_equal(attr_ulong(f, s, h, CKA_VALUE_LEN), 16);
    assert_int_equal(attr_status(f, s, h, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
    assert_true(attr_bool(f, s, h, CKA_ENCRYPT));
    assert_int_equal(file_contains(getenv("TPMTOK_STORE"), value, sizeof value), 0);
    assert_int_equal(f->C_CreateObject(s, with_len, 5, &h), CKR_TEMPLATE_INCONSISTENT);
    t[3].ulValueLen = 15;
    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_ATTRIBUTE_VALUE_INVALID);
}

static void test_get_attribute_value_conventions(void **state)
{
    CK_OBJECT_HANDLE h;
    CK_BYTE small[2], label[32], value[64];
    CK_ATTRIBUTE t[] = {
        { CKA_LABEL, label, sizeof label },
        { CKA_VALUE, small, sizeof small },
        { CKA_MODULUS, value, sizeof value },
        { CKA_APPLICATION, NULL, 0 },
    };
    CK_RV rv;

    assert_int_equal(data_object(s, CK_FALSE, CK_FALSE, "conventions", &h), CKR_OK);
    /* Every entry is processed even though some fail. */
    rv = f->C_GetAttributeValue(s, h, t, 4);
    assert_true(rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(t[0].ulValueLen, 11);
    assert_memory_equal(label, "conventions", 11);
    assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[3].ulValueLen, 4);
    assert_int_equal(f->C_GetAttributeValue(s, h + 1000, t, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(f->C_GetAttributeValue(s, h, NULL, 1), CKR_ARGUMENTS_BAD);
}

static void test_set_attribute_value_rules(void **state)
{
    CK_OBJECT_HANDLE h, fixed;
    CK_OBJECT_CLASS other = CKO_SECRET_KEY;
    CK_ATTRIBUTE relabel[] = { { CKA_LABEL, "renamed", 7 } };
    CK_ATTRIBUTE reclass[] = { { CKA_CLASS, &other, sizeof other } };
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &data_class, sizeof data_class }, { CKA_TOKEN, &yes, 1 },
        { CKA_MODIFIABLE, &no, 1 },
    };
    CK_SESSION_HANDLE ro;
    uint8_t *v;
    size_t len;
    CK_RV rv;

    assert_int_equal(data_object(s, CK_TRUE, CK_TRUE, "original", &h), CKR_OK);
    assert_int_equal(f->C_SetAttributeValue(s, h, relabel, 1), CKR_OK);
    assert_int_equal(f->C_SetAttributeValue(s, h, reclass, 1), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(f->C_SetAttributeValue(ro, h, relabel, 1), CKR_SESSION_READ_ONLY);
    assert_int_equal(f->C_CreateObject(s, t, 3, &fixed), CKR_OK);
    assert_int_equal(f->C_SetAttributeValue(s, fixed, relabel, 1), CKR_ACTION_PROHIBITED);
    /* The new label is in the store: a new process sees it. */
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9), CKR_OK);
    {
        CK_ATTRIBUTE by_label[] = { { CKA_LABEL, "renamed", 7 } };
        CK_OBJECT_HANDLE found[2];
        assert_int_equal(find_all(f, s, by_label, 1, found, 2), 1);
        v = attr_get(f, s, found[0], CKA_VALUE, &len, &rv);
        assert_memory_equal(v, "some data", 9);
        free(v);
    }
}

static void test_copy_and_destroy(void **state)
{
    CK_OBJECT_HANDLE h, copy, fixed;
    CK_ATTRIBUTE to_token[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "copy", 4 } };
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &data_class, sizeof data_class }, { CKA_COPYABLE, &no, 1 },
        { CKA_DESTROYABLE, &no, 1 },
    };
    CK_ULONG size = 0;

    assert_int_equal(data_object(s, CK_FALSE, CK_TRUE, "session", &h), CKR_OK);
    assert_int_equal(f->C_CopyObject(s, h, to_token, 2, &copy), CKR_OK);
    assert_true(attr_bool(f, s, copy, CKA_TOKEN));
    assert_int_equal(store_count("SELECT count(*) FROM objects"), 1);
    assert_int_equal(f->C_GetObjectSize(s, copy, &size), CKR_OK);
    assert_true(size > 0);
    assert_int_equal(f->C_DestroyObject(s, copy), CKR_OK);
    assert_int_equal(store_count("SELECT count(*) FROM objects"), 0);
    assert_int_equal(f->C_DestroyObject(s, copy), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(f->C_CreateObject(s, t, 3, &fixed), CKR_OK);
    assert_int_equal(f->C_CopyObject(s, fixed, NULL, 0, &copy), CKR_ACTION_PROHIBITED);
    assert_int_equal(f->C_DestroyObject(s, fixed), CKR_ACTION_PROHIBITED);
}

/* Private objects disappear at logout, and their old handles stay dead after a new login. */
static void test_private_handles_die_at_logout(void **state)
{
    CK_OBJECT_HANDLE priv, pub;

    assert_int_equal(data_object(s, CK_TRUE, CK_TRUE, "private", &priv), CKR_OK);
    assert_int_equal(data_object(s, CK_TRUE, CK_FALSE, "public", &pub), CKR_OK);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(attr_status(f, s, priv, CKA_LABEL), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(attr_status(f, s, pub, CKA_LABEL), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9), CKR_OK);
    assert_int_equal(attr_status(f, s, priv, CKA_LABEL), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(attr_status(f, s, pub, CKA_LABEL), CKR_OK);
}

/* Two processes, two threads each, creating and destroying token objects in one store. */
#define WORKERS 2
#define ROUNDS 25

static void *churn(void *arg)
{
    CK_SESSION_HANDLE sess;
    intptr_t bad = f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &sess) != CKR_OK;

    for (int i = 0; i < ROUNDS && !bad; i++) {
        CK_OBJECT_HANDLE keep, drop;
        bad |= data_object(sess, CK_TRUE, CK_TRUE, "keep", &keep) != CKR_OK;
        bad |= data_object(sess, CK_TRUE, CK_FALSE, "drop", &drop) != CKR_OK;
        bad |= f->C_DestroyObject(sess, drop) != CKR_OK;
    }
    return (void *)bad;
}

static int churn_process(void)
{
    pthread_t t[WORKERS];
    CK_SESSION_HANDLE sess;
    void *bad;
    int failed = 0;

    if (f->C_Initialize(NULL) != CKR_OK ||
        f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &sess) != CKR_OK ||
        f->C_Login(sess, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9) != CKR_OK)
        return 1;
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, churn, NULL);
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(t[i], &bad);
        failed |= bad != NULL;
    }
    return failed | (f->C_Finalize(NULL) != CKR_OK);
}

static void test_processes_and_threads_share_the_store(void **state)
{
    pid_t pids[2];
    int status;

    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        if (pids[p] == 0)
            _exit(churn_process());
    }
    for (int p = 0; p < 2; p++) {
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(store_count("SELECT count(*) FROM objects"), 2 * WORKERS * ROUNDS);
    assert_int_equal(store_count("SELECT count(*) FROM objects WHERE private = 0"), 0);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    {
        sqlite3 *db;
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_open(getenv("TPMTOK_STORE"), &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_data_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certificate_fields_come_from_its_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_public_key_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec_public_key_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_private_key_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec_private_key_import_computes_the_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_key_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_attribute_value_conventions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_attribute_value_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_and_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_handles_die_at_logout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes_and_threads_share_the_store, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
