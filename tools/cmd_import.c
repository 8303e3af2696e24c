/*
 * tpmtok import: private keys, public keys and X.509 certificates read with OpenSSL (PEM or
 * DER, detected) become token objects through C_CreateObject. A private key's material goes to
 * the module only, which brings it into the TPM; the CLI wipes its copies.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cli.h"
#include "objects.h"
#include "pkey.h"

#define IMPORT_MAX (1024 * 1024)
#define TMPL_MAX 16

/* What a file holds: one of cert, a private key, or a public key. */
struct material {
    X509 *cert;
    EVP_PKEY *pkey;
    bool private_key;
};

/* A template whose values it owns (wiped when freed: some are private key material). */
struct tmpl {
    CK_ATTRIBUTE a[TMPL_MAX];
    CK_ULONG n;
    bool owned[TMPL_MAX];
    bool failed;
};

static void tmpl_put(struct tmpl *t, CK_ATTRIBUTE_TYPE type, void *v, size_t len, bool owned)
{
    if (t->n == TMPL_MAX || (v == NULL && len > 0)) {
        t->failed = true;
        if (owned)
            OPENSSL_clear_free(v, len);
        return;
    }
    t->a[t->n] = (CK_ATTRIBUTE){ type, v, len };
    t->owned[t->n++] = owned;
}

static void tmpl_ulong(struct tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    CK_ULONG *p = OPENSSL_malloc(sizeof *p);

    if (p != NULL)
        *p = v;
    tmpl_put(t, type, p, sizeof *p, true);
}

static void tmpl_bool(struct tmpl *t, CK_ATTRIBUTE_TYPE type, bool v)
{
    CK_BBOOL *p = OPENSSL_malloc(sizeof *p);

    if (p != NULL)
        *p = v ? CK_TRUE : CK_FALSE;
    tmpl_put(t, type, p, sizeof *p, true);
}

static void tmpl_copy(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, size_t len)
{
    void *p = len > 0 ? OPENSSL_memdup(v, len) : NULL;

    tmpl_put(t, type, p, len, true);
}

/* A BIGNUM parameter of the key, big-endian, padded to pad bytes (0: no padding). */
static void tmpl_bn(struct tmpl *t, CK_ATTRIBUTE_TYPE type, EVP_PKEY *pkey, const char *param,
                    int pad)
{
    BIGNUM *bn = NULL;
    int len = 0;
    unsigned char *v = NULL;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) == 1) {
        len = pad > 0 ? pad : BN_num_bytes(bn);
        if (len > 0 && (v = OPENSSL_malloc((size_t)len)) != NULL &&
            BN_bn2binpad(bn, v, len) != len) {
            OPENSSL_clear_free(v, (size_t)len);
            v = NULL;
        }
    }
    BN_clear_free(bn);
    if (v == NULL)
        t->failed = true;
    else
        tmpl_put(t, type, v, (size_t)len, true);
}

/* A DER encoding from an OpenSSL i2d function's result (n bytes at v, OPENSSL_malloc'ed). */
static void tmpl_der(struct tmpl *t, CK_ATTRIBUTE_TYPE type, unsigned char *v, int n)
{
    if (n <= 0)
        t->failed = true;
    else
        tmpl_put(t, type, v, (size_t)n, true);
}

static void tmpl_free(struct tmpl *t)
{
    for (CK_ULONG i = 0; i < t->n; i++)
        if (t->owned[i])
            OPENSSL_clear_free(t->a[i].pValue, t->a[i].ulValueLen);
    memset(t, 0, sizeof *t);
}

/* ---- reading the file */

static int no_password(char *buf, int size, int rwflag, void *asked)
{
    *(bool *)asked = true;
    return -1;
}

/* The label of the first PEM block ("CERTIFICATE"), or "" if the data is no PEM. */
static const char *pem_block(const uint8_t *v, size_t n, char *label, size_t size,
                             size_t *offset)
{
    const char *begin = memmem(v, n, "-----BEGIN ", 11), *p, *end;

    label[0] = '\0';
    if (begin == NULL)
        return label;
    p = begin + 11;
    end = memmem(p, n - (size_t)(p - (const char *)v), "-----", 5);
    if (end != NULL && (size_t)(end - p) < size) {
        memcpy(label, p, (size_t)(end - p));
        label[end - p] = '\0';
    }
    *offset = (size_t)(begin - (const char *)v);
    return label;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int pem_read(const char *path, const uint8_t *v, size_t n, const char *label,
                    struct material *m)
{
    BIO *bio = BIO_new_mem_buf(v, (int)n);
    bool asked = false;

    if (bio == NULL)
        return EXIT_FILE;
    if (strstr(label, "CERTIFICATE") != NULL) {
        m->cert = PEM_read_bio_X509(bio, NULL, no_password, &asked);
    } else if (ends_with(label, "PRIVATE KEY") && strstr(label, "ENCRYPTED") == NULL) {
        m->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, &asked);
        m->private_key = true;
    } else if (strcmp(label, "PUBLIC KEY") == 0) {
        m->pkey = PEM_read_bio_PUBKEY(bio, NULL, no_password, &asked);
    }
    BIO_free(bio);
    if (m->cert != NULL || m->pkey != NULL)
        return EXIT_OK;
    if (asked || strstr(label, "ENCRYPTED") != NULL)
        errorf("%s: the key is encrypted; decrypt it first (openssl pkey -in %s)", path, path);
    else if (strstr(label, "CERTIFICATE") || strstr(label, "KEY"))
        errorf("%s: OpenSSL cannot read the PEM block \"%s\"", path, label);
    else
        errorf("%s: a PEM block \"%s\" is no key or certificate", path, label);
    return EXIT_FILE;
}

/* DER: a certificate, a private key (PKCS#8 or traditional), or a SubjectPublicKeyInfo. */
static int der_read(const char *path, const uint8_t *v, size_t n, struct material *m)
{
    const unsigned char *p = v;

    if ((m->cert = d2i_X509(NULL, &p, (long)n)) != NULL && p == v + n)
        return EXIT_OK;
    X509_free(m->cert);
    m->cert = NULL;
    p = v;
    if ((m->pkey = d2i_AutoPrivateKey(NULL, &p, (long)n)) != NULL && p == v + n) {
        m->private_key = true;
        return EXIT_OK;
    }
    EVP_PKEY_free(m->pkey);
    p = v;
    if ((m->pkey = d2i_PUBKEY(NULL, &p, (long)n)) != NULL && p == v + n)
        return EXIT_OK;
    EVP_PKEY_free(m->pkey);
    m->pkey = NULL;
    errorf("%s: neither PEM nor a DER certificate, private key or public key", path);
    return EXIT_FILE;
}

static int material_read(const char *path, struct material *m)
{
    uint8_t *v = NULL;
    size_t n = 0, offset = 0;
    char label[64];
    int ret;

    memset(m, 0, sizeof *m);
    if ((ret = file_read(path, IMPORT_MAX, &v, &n)) != EXIT_OK)
        return ret;
    if (pem_block(v, n, label, sizeof label, &offset)[0] != '\0')
        ret = pem_read(path, v + offset, n - offset, label, m);
    else
        ret = der_read(path, v, n, m);
    OPENSSL_clear_free(v, n);   /* it may hold a private key */
    if (ret == EXIT_OK && m->pkey != NULL && !EVP_PKEY_is_a(m->pkey, "RSA") &&
        !EVP_PKEY_is_a(m->pkey, "EC")) {
        errorf("%s: a %s key; tpmtok imports RSA and EC keys", path,
               EVP_PKEY_get0_type_name(m->pkey));
        ret = EXIT_FILE;
    }
    return ret;
}

static void material_free(struct material *m)
{
    X509_free(m->cert);
    EVP_PKEY_free(m->pkey);
    memset(m, 0, sizeof *m);
}

/* ---- labels and ids */

/* A certificate's subject CN as UTF-8, OPENSSL_malloc'ed, or NULL. */
static char *cert_cn(X509 *cert)
{
    X509_NAME *name = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;

    if (i < 0 || ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
                                                X509_NAME_get_entry(name, i))) <= 0)
        return NULL;
    return (char *)utf8;
}

/* The file's name without directory and extension; OPENSSL_malloc'ed. */
static char *file_label(const char *path)
{
    const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    char *label = OPENSSL_strdup(base), *dot;

    if (label != NULL && (dot = strrchr(label, '.')) != NULL && dot != label)
        *dot = '\0';
    return label;
}

static char *label_default(const char *path, const struct material *m)
{
    char *label = m->cert != NULL ? cert_cn(m->cert) : NULL;

    return label != NULL ? label : file_label(path);
}

/* The id when --id is not given: the SHA-1 of the public key bits. */
static bool id_default(const struct material *m, uint8_t id[KEY_ID_LEN])
{
    const ASN1_BIT_STRING *bits;

    if (m->pkey != NULL)
        return pkey_key_id(m->pkey, id);
    bits = X509_get0_pubkey_bitstr(m->cert);
    return bits != NULL &&
           SHA1(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), id) != NULL;
}

/* ---- templates */

static void tmpl_common(struct tmpl *t, CK_OBJECT_CLASS class, bool private, const char *label,
                        const uint8_t *id, size_t id_len)
{
    tmpl_ulong(t, CKA_CLASS, class);
    tmpl_bool(t, CKA_TOKEN, true);
    tmpl_bool(t, CKA_PRIVATE, private);
    tmpl_copy(t, CKA_LABEL, label, strlen(label));
    tmpl_copy(t, CKA_ID, id, id_len);
}

static void tmpl_cert(struct tmpl *t, X509 *cert)
{
    unsigned char *der;
    int n;

    tmpl_ulong(t, CKA_CERTIFICATE_TYPE, CKC_X_509);
    der = NULL;
    n = i2d_X509_NAME(X509_get_subject_name(cert), &der);
    tmpl_der(t, CKA_SUBJECT, der, n);
    der = NULL;
    n = i2d_X509_NAME(X509_get_issuer_name(cert), &der);
    tmpl_der(t, CKA_ISSUER, der, n);
    der = NULL;
    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);
    tmpl_der(t, CKA_SERIAL_NUMBER, der, n);
    der = NULL;
    n = i2d_X509(cert, &der);
    tmpl_der(t, CKA_VALUE, der, n);
}

/* CKA_EC_PARAMS of the key's curve. */
static void tmpl_ec_params(struct tmpl *t, EVP_PKEY *pkey)
{
    char group[64];
    uint8_t *der;
    size_t len;

    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1 ||
        !pkey_curve_params(group, &der, &len))
        t->failed = true;
    else
        tmpl_put(t, CKA_EC_PARAMS, der, len, true);
}

/* CKA_EC_POINT: the uncompressed point in a DER OCTET STRING. */
static void tmpl_ec_point(struct tmpl *t, EVP_PKEY *pkey)
{
    unsigned char point[256], *der = NULL;
    size_t len = 0;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int n = -1;

    if (os != NULL &&
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                        &len) == 1 &&
        ASN1_OCTET_STRING_set(os, point, (int)len) == 1)
        n = i2d_ASN1_OCTET_STRING(os, &der);
    ASN1_OCTET_STRING_free(os);
    tmpl_der(t, CKA_EC_POINT, der, n);
}

static void tmpl_public(struct tmpl *t, EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        tmpl_ulong(t, CKA_KEY_TYPE, CKK_RSA);
        tmpl_bn(t, CKA_MODULUS, pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        tmpl_bn(t, CKA_PUBLIC_EXPONENT, pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    } else {
        tmpl_ulong(t, CKA_KEY_TYPE, CKK_EC);
        tmpl_ec_params(t, pkey);
        tmpl_ec_point(t, pkey);
    }
    tmpl_bool(t, CKA_VERIFY, true);
}

static void tmpl_private(struct tmpl *t, EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        tmpl_ulong(t, CKA_KEY_TYPE, CKK_RSA);
        tmpl_bn(t, CKA_MODULUS, pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        tmpl_bn(t, CKA_PUBLIC_EXPONENT, pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        tmpl_bn(t, CKA_PRIVATE_EXPONENT, pkey, OSSL_PKEY_PARAM_RSA_D, 0);
        tmpl_bn(t, CKA_PRIME_1, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, 0);
        tmpl_bn(t, CKA_PRIME_2, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, 0);
        tmpl_bn(t, CKA_EXPONENT_1, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0);
        tmpl_bn(t, CKA_EXPONENT_2, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0);
        tmpl_bn(t, CKA_COEFFICIENT, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0);
    } else {
        tmpl_ulong(t, CKA_KEY_TYPE, CKK_EC);
        tmpl_ec_params(t, pkey);
        /* The scalar as long as the group order, as PKCS#11 and the TPM expect it. */
        tmpl_bn(t, CKA_VALUE, pkey, OSSL_PKEY_PARAM_PRIV_KEY, (EVP_PKEY_get_bits(pkey) + 7) / 8);
    }
    tmpl_bool(t, CKA_SENSITIVE, true);
    tmpl_bool(t, CKA_SIGN, true);
}

/* ---- creating the objects */

/* Creates the object and prints its URI. EXIT_OK, EXIT_PKCS11. */
static int object_create(struct tool *t, CK_SESSION_HANDLE s, const struct token *tok,
                         struct tmpl *tm, CK_OBJECT_CLASS class, const char *label,
                         const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *h)
{
    struct objref o = { .class = class, .label = (uint8_t *)label, .label_len = strlen(label),
                        .id = (uint8_t *)id, .id_len = id_len };
    char *uri;
    CK_RV rv;

    if (tm->failed) {
        errorf("import: OpenSSL cannot give the key's or certificate's parts");
        return EXIT_FILE;
    }
    if ((rv = t->f->C_CreateObject(s, tm->a, tm->n, h)) != CKR_OK)
        return fail_rv("C_CreateObject", rv);
    uri = objref_uri(tok->label, &o);
    printf("%s\n", uri != NULL ? uri : "(out of memory)");
    free(uri);
    return EXIT_OK;
}

static int material_import(struct tool *t, CK_SESSION_HANDLE s, const struct token *tok,
                           const struct material *m, const char *label, const uint8_t *id,
                           size_t id_len)
{
    struct tmpl tm = { 0 };
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, h;
    int ret;

    if (m->cert != NULL) {
        tmpl_common(&tm, CKO_CERTIFICATE, false, label, id, id_len);
        tmpl_cert(&tm, m->cert);
        ret = object_create(t, s, tok, &tm, CKO_CERTIFICATE, label, id, id_len, &h);
        goto out;
    }
    if (m->private_key) {
        tmpl_common(&tm, CKO_PRIVATE_KEY, true, label, id, id_len);
        tmpl_private(&tm, m->pkey);
        if ((ret = object_create(t, s, tok, &tm, CKO_PRIVATE_KEY, label, id, id_len, &priv)) !=
            EXIT_OK)
            goto out;
        tmpl_free(&tm);
    }
    tmpl_common(&tm, CKO_PUBLIC_KEY, false, label, id, id_len);
    tmpl_public(&tm, m->pkey);
    ret = object_create(t, s, tok, &tm, CKO_PUBLIC_KEY, label, id, id_len, &h);
    if (ret != EXIT_OK && priv != CK_INVALID_HANDLE)
        t->f->C_DestroyObject(s, priv);   /* no private key without its public half */
out:
    tmpl_free(&tm);
    return ret;
}

int cmd_import(struct tool *t, const struct opts *o)
{
    struct material m = { 0 };
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    struct token tok;
    uint8_t *id = NULL, made_id[KEY_ID_LEN];
    size_t id_len = 0;
    char *label = NULL;
    int ret;

    if ((ret = id_option("import", o->id, &id, &id_len)) != EXIT_OK ||
        (ret = material_read(o->arg, &m)) != EXIT_OK)
        goto out;
    if (id == NULL && !id_default(&m, made_id)) {
        errorf("import: OpenSSL cannot hash the public key for an id; give --id");
        ret = EXIT_FILE;
        goto out;
    }
    if ((label = o->label != NULL ? OPENSSL_strdup(o->label) : label_default(o->arg, &m)) ==
        NULL) {
        errorf("out of memory");
        ret = EXIT_FILE;
        goto out;
    }
    if ((ret = token_select(t, o->token, NULL, &tok)) != EXIT_OK ||
        (ret = session_open_login(t, &tok, true, o->pin, o->pin_file, &s)) != EXIT_OK)
        goto out;
    ret = material_import(t, s, &tok, &m, label, id != NULL ? id : made_id,
                          id != NULL ? id_len : sizeof made_id);
    t->f->C_CloseSession(s);
out:
    OPENSSL_free(label);
    free(id);
    material_free(&m);
    return ret;
}
