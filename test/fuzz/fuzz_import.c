/*
 * Fuzz target: PEM and DER import as a command-line tool does it: OpenSSL reads a private key,
 * a public key or a certificate, the values PKCS#11 wants are taken out of it, and the
 * template goes to C_CreateObject (token/object on the fake token, fake.c). Independent of
 * tools/: this is the same sequence of OpenSSL calls on the fuzzer's bytes.
 *
 *   byte 0   what the rest is (mod 5): DER private key, PEM private key, DER certificate,
 *            PEM certificate, DER SubjectPublicKeyInfo
 *   byte 1   bit 0: the user is logged in; bit 1: token object
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz/fake.h"
#include "fuzz/fuzz.h"
#include "token/object.h"

#define MAX_ATTRS 16

struct import {
    CK_ATTRIBUTE t[MAX_ATTRS];
    CK_ULONG n;
    uint8_t *owned[MAX_ATTRS];   /* values this target allocated (secrets among them) */
    size_t owned_len[MAX_ATTRS];
    size_t n_owned;
    CK_OBJECT_CLASS class;
    CK_KEY_TYPE key_type;
    CK_CERTIFICATE_TYPE cert_type;
    CK_BBOOL yes, token;
};

static void add(struct import *im, CK_ATTRIBUTE_TYPE type, void *value, size_t len)
{
    if (im->n < MAX_ATTRS)
        im->t[im->n++] = (CK_ATTRIBUTE){ type, value, len };
}

static void add_owned(struct import *im, CK_ATTRIBUTE_TYPE type, uint8_t *value, size_t len)
{
    if (value == NULL || im->n_owned >= MAX_ATTRS) {
        OPENSSL_free(value);
        return;
    }
    im->owned_len[im->n_owned] = len;
    im->owned[im->n_owned++] = value;
    add(im, type, value, len);
}

/* A big-number parameter of the key as a big-endian byte string. */
static void add_bn(struct import *im, EVP_PKEY *pkey, const char *name, CK_ATTRIBUTE_TYPE type)
{
    BIGNUM *bn = NULL;
    uint8_t *bytes;
    int len;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return;
    len = BN_num_bytes(bn);
    if ((bytes = OPENSSL_malloc(len > 0 ? (size_t)len : 1)) != NULL)
        BN_bn2bin(bn, bytes);
    BN_clear_free(bn);
    add_owned(im, type, bytes, (size_t)len);
}

/* An octet-string parameter (an EC point, a raw key) as it is. */
static void add_octets(struct import *im, EVP_PKEY *pkey, const char *name,
                       CK_ATTRIBUTE_TYPE type)
{
    size_t len = 0;
    uint8_t *bytes;

    if (EVP_PKEY_get_octet_string_param(pkey, name, NULL, 0, &len) != 1 ||
        (bytes = OPENSSL_malloc(len > 0 ? len : 1)) == NULL)
        return;
    if (EVP_PKEY_get_octet_string_param(pkey, name, bytes, len, &len) != 1) {
        OPENSSL_free(bytes);
        return;
    }
    add_owned(im, type, bytes, len);
}

/* CKA_EC_PARAMS: the DER of the key's named curve. */
static void add_ec_params(struct import *im, EVP_PKEY *pkey)
{
    char group[80];
    int nid;
    ASN1_OBJECT *oid;
    uint8_t *der = NULL;
    int len;

    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1 ||
        (nid = OBJ_sn2nid(group)) == NID_undef || (oid = OBJ_nid2obj(nid)) == NULL)
        return;
    len = i2d_ASN1_OBJECT(oid, &der);
    ASN1_OBJECT_free(oid);
    if (len > 0)
        add_owned(im, CKA_EC_PARAMS, der, (size_t)len);
}

static void key_template(struct import *im, EVP_PKEY *pkey, bool private)
{
    im->class = private ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY;
    add(im, CKA_CLASS, &im->class, sizeof im->class);
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        im->key_type = CKK_RSA;
        add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS);
        add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT);
        if (private) {
            add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT);
            add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1);
            add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2);
            add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1);
            add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2);
            add_bn(im, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT);
        }
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        im->key_type = CKK_EC;
        add_ec_params(im, pkey);
        if (private)
            add_bn(im, pkey, OSSL_PKEY_PARAM_PRIV_KEY, CKA_VALUE);
        else
            add_octets(im, pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, CKA_EC_POINT);
    } else {
        im->key_type = CKK_VENDOR_DEFINED;   /* the module says what it thinks of that */
    }
    add(im, CKA_KEY_TYPE, &im->key_type, sizeof im->key_type);
    if (private)
        add(im, CKA_SIGN, &im->yes, sizeof im->yes);
    else
        add(im, CKA_VERIFY, &im->yes, sizeof im->yes);
}

static void cert_template(struct import *im, X509 *cert)
{
    uint8_t *der = NULL;
    int len;

    im->class = CKO_CERTIFICATE;
    im->cert_type = CKC_X_509;
    add(im, CKA_CLASS, &im->class, sizeof im->class);
    add(im, CKA_CERTIFICATE_TYPE, &im->cert_type, sizeof im->cert_type);
    if ((len = i2d_X509(cert, &der)) > 0)
        add_owned(im, CKA_VALUE, der, (size_t)len);
}

/* Never asks for a passphrase: an encrypted PEM key is simply not read. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

static void read_input(struct import *im, int what, const uint8_t *p, size_t len)
{
    const unsigned char *q = p;
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    BIO *bio = NULL;

    if (what == 1 || what == 3) {
        if ((bio = BIO_new_mem_buf(p, (int)len)) == NULL)
            return;
        if (what == 1)
            pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        else
            cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    } else if (what == 0) {
        pkey = d2i_AutoPrivateKey(NULL, &q, (long)len);
    } else if (what == 2) {
        cert = d2i_X509(NULL, &q, (long)len);
    } else {
        pkey = d2i_PUBKEY(NULL, &q, (long)len);
    }
    if (pkey != NULL)
        key_template(im, pkey, what < 2);
    if (cert != NULL)
        cert_template(im, cert);
    EVP_PKEY_free(pkey);
    X509_free(cert);
    BIO_free(bio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct import im = { .yes = CK_TRUE };
    struct fuzz_in in;
    CK_OBJECT_HANDLE h;
    int what, flags;

    fake_init();
    fuzz_in_init(&in, data, size);
    what = (int)(fuzz_take(&in, 1) % 5);
    flags = (int)fuzz_take(&in, 1);
    if (in.left > INT32_MAX)
        return 0;
    fake_reset(flags & 1 ? LOGIN_USER : LOGIN_NONE, true);
    read_input(&im, what, in.p, in.left);
    im.token = flags & 2 ? CK_TRUE : CK_FALSE;
    add(&im, CKA_TOKEN, &im.token, sizeof im.token);
    if (im.n > 1)
        fuzz_report("C_CreateObject", object_create(fake_module(), FAKE_SESSION, im.t, im.n, &h));
    for (size_t i = 0; i < im.n_owned; i++)
        OPENSSL_clear_free(im.owned[i], im.owned_len[i]);
    fake_reset(LOGIN_NONE, false);
    return 0;
}
