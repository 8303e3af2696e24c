/*
 * The token side of the crypto tests (see token_ops.h): key makers that merge extra attributes
 * into their default templates, the part-by-part operation runners, and the failure helpers.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "integration/crypto_util.h"
#include "integration/token_ops.h"
#include "util/rv.h"

#define MAX_TEMPLATE 24

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* A template: the defaults not overridden by an extra attribute of the same type, then extras. */
struct tmpl {
    CK_ATTRIBUTE a[MAX_TEMPLATE];
    CK_ULONG n;
};

static void tmpl_add(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
    if (t->n < MAX_TEMPLATE)
        t->a[t->n++] = (CK_ATTRIBUTE){ type, (void *)v, len };
}

static void tmpl_merge(struct tmpl *t, const CK_ATTRIBUTE *extra, CK_ULONG n_extra)
{
    CK_ULONG kept = 0;

    for (CK_ULONG i = 0; i < t->n; i++) {
        bool overridden = false;
        for (CK_ULONG j = 0; j < n_extra; j++)
            overridden |= extra[j].type == t->a[i].type;
        if (!overridden)
            t->a[kept++] = t->a[i];
    }
    t->n = kept;
    for (CK_ULONG j = 0; j < n_extra; j++)
        tmpl_add(t, extra[j].type, extra[j].pValue, extra[j].ulValueLen);
}

const uint8_t *tk_curve_der(const char *curve, size_t *len)
{
    static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    static const uint8_t p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
    static const uint8_t p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };

    if (strcmp(curve, "P-256") == 0) {
        *len = sizeof p256;
        return p256;
    }
    if (strcmp(curve, "P-384") == 0) {
        *len = sizeof p384;
        return p384;
    }
    if (strcmp(curve, "P-521") == 0) {
        *len = sizeof p521;
        return p521;
    }
    return NULL;
}

CK_RV tk_rsa_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_ULONG bits,
                  const CK_ATTRIBUTE *priv_extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *pub,
                  CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    struct tmpl pt = { .n = 0 }, vt = { .n = 0 };

    tmpl_add(&pt, CKA_TOKEN, &no, 1);
    tmpl_add(&pt, CKA_PRIVATE, &no, 1);
    tmpl_add(&pt, CKA_MODULUS_BITS, &bits, sizeof bits);
    tmpl_add(&pt, CKA_VERIFY, &yes, 1);
    tmpl_add(&pt, CKA_ENCRYPT, &yes, 1);
    tmpl_add(&vt, CKA_TOKEN, &no, 1);
    tmpl_add(&vt, CKA_PRIVATE, &yes, 1);
    tmpl_add(&vt, CKA_SIGN, &yes, 1);
    tmpl_add(&vt, CKA_DECRYPT, &yes, 1);
    tmpl_merge(&vt, priv_extra, n_extra);
    return f->C_GenerateKeyPair(s, &mech, pt.a, pt.n, vt.a, vt.n, pub, priv);
}

CK_RV tk_ec_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *curve,
                 const CK_ATTRIBUTE *priv_extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *pub,
                 CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    struct tmpl pt = { .n = 0 }, vt = { .n = 0 };
    size_t len;
    const uint8_t *params = tk_curve_der(curve, &len);

    if (params == NULL)
        return CKR_ARGUMENTS_BAD;
    tmpl_add(&pt, CKA_TOKEN, &no, 1);
    tmpl_add(&pt, CKA_PRIVATE, &no, 1);
    tmpl_add(&pt, CKA_EC_PARAMS, params, len);
    tmpl_add(&pt, CKA_VERIFY, &yes, 1);
    tmpl_add(&vt, CKA_TOKEN, &no, 1);
    tmpl_add(&vt, CKA_PRIVATE, &yes, 1);
    tmpl_add(&vt, CKA_SIGN, &yes, 1);
    tmpl_merge(&vt, priv_extra, n_extra);
    return f->C_GenerateKeyPair(s, &mech, pt.a, pt.n, vt.a, vt.n, pub, priv);
}

/* The usage defaults of a secret key of a type. */
static void secret_usage(struct tmpl *t, CK_KEY_TYPE type)
{
    if (type == CKK_GENERIC_SECRET) {
        tmpl_add(t, CKA_SIGN, &yes, 1);
        tmpl_add(t, CKA_VERIFY, &yes, 1);
    } else {
        tmpl_add(t, CKA_ENCRYPT, &yes, 1);
        tmpl_add(t, CKA_DECRYPT, &yes, 1);
    }
}

CK_RV tk_secret(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_MECHANISM_TYPE gen, CK_ULONG len,
                const CK_ATTRIBUTE *extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *key)
{
    CK_MECHANISM mech = { gen, NULL, 0 };
    struct tmpl t = { .n = 0 };

    tmpl_add(&t, CKA_TOKEN, &no, 1);
    tmpl_add(&t, CKA_VALUE_LEN, &len, sizeof len);
    secret_usage(&t, gen == CKM_GENERIC_SECRET_KEY_GEN ? CKK_GENERIC_SECRET : CKK_AES);
    tmpl_merge(&t, extra, n_extra);
    return f->C_GenerateKey(s, &mech, t.a, t.n, key);
}

CK_RV tk_import_secret(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_KEY_TYPE type,
                       const uint8_t *value, size_t len, const CK_ATTRIBUTE *extra,
                       CK_ULONG n_extra, CK_OBJECT_HANDLE *key)
{
    static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    struct tmpl t = { .n = 0 };

    tmpl_add(&t, CKA_CLASS, &cls, sizeof cls);
    tmpl_add(&t, CKA_KEY_TYPE, &type, sizeof type);
    tmpl_add(&t, CKA_TOKEN, &no, 1);
    tmpl_add(&t, CKA_VALUE, value, len);
    secret_usage(&t, type);
    tmpl_merge(&t, extra, n_extra);
    return f->C_CreateObject(s, t.a, t.n, key);
}

/* A big number of an OpenSSL key, big-endian, padded on the left to pad bytes (0: minimal). */
static uint8_t *bn_param(EVP_PKEY *k, const char *name, size_t pad, size_t *len)
{
    BIGNUM *bn = NULL;
    uint8_t *out = NULL;

    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
        return NULL;
    *len = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
    if ((out = malloc(*len + 1)) != NULL && BN_bn2binpad(bn, out, (int)*len) != (int)*len) {
        free(out);
        out = NULL;
    }
    BN_free(bn);
    return out;
}

static const char *curve_of(EVP_PKEY *k)
{
    char name[64];
    size_t len;

    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1)
        return NULL;
    if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
        return "P-256";
    if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
        return "P-384";
    if (strcmp(name, "secp521r1") == 0 || strcmp(name, "P-521") == 0)
        return "P-521";
    return NULL;
}

static CK_RV import_rsa_private(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY *k,
                                struct tmpl *t, const CK_ATTRIBUTE *extra, CK_ULONG n_extra,
                                CK_OBJECT_HANDLE *key)
{
    static const struct { CK_ATTRIBUTE_TYPE type; const char *name; } parts[] = {
        { CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N }, { CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E },
        { CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D },
        { CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1 }, { CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2 },
        { CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1 },
        { CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2 },
        { CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
    };
    uint8_t *v[8] = { NULL };
    size_t len;
    CK_RV rv = CKR_OK;

    for (size_t i = 0; i < 8 && rv == CKR_OK; i++) {
        if ((v[i] = bn_param(k, parts[i].name, 0, &len)) == NULL)
            rv = CKR_HOST_MEMORY;
        else
            tmpl_add(t, parts[i].type, v[i], len);
    }
    tmpl_add(t, CKA_SIGN, &yes, 1);
    tmpl_add(t, CKA_DECRYPT, &yes, 1);
    tmpl_merge(t, extra, n_extra);
    if (rv == CKR_OK)
        rv = f->C_CreateObject(s, t->a, t->n, key);
    for (size_t i = 0; i < 8; i++)
        free(v[i]);
    return rv;
}

static CK_RV import_ec_private(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY *k,
                               struct tmpl *t, const CK_ATTRIBUTE *extra, CK_ULONG n_extra,
                               CK_OBJECT_HANDLE *key)
{
    const char *curve = curve_of(k);
    size_t plen, dlen;
    const uint8_t *params = curve != NULL ? tk_curve_der(curve, &plen) : NULL;
    uint8_t *d = bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, cu_sig_size(k), &dlen);
    CK_RV rv = CKR_ARGUMENTS_BAD;

    if (params != NULL && d != NULL) {
        tmpl_add(t, CKA_EC_PARAMS, params, plen);
        tmpl_add(t, CKA_VALUE, d, dlen);
        tmpl_add(t, CKA_SIGN, &yes, 1);
        tmpl_merge(t, extra, n_extra);
        rv = f->C_CreateObject(s, t->a, t->n, key);
    }
    free(d);
    return rv;
}

CK_RV tk_import_private(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY *k,
                        const CK_ATTRIBUTE *extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *key)
{
    static CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    static CK_KEY_TYPE rsa = CKK_RSA, ec = CKK_EC;
    struct tmpl t = { .n = 0 };
    bool is_rsa = EVP_PKEY_is_a(k, "RSA");

    tmpl_add(&t, CKA_CLASS, &cls, sizeof cls);
    tmpl_add(&t, CKA_KEY_TYPE, is_rsa ? &rsa : &ec, sizeof rsa);
    tmpl_add(&t, CKA_TOKEN, &no, 1);
    tmpl_add(&t, CKA_PRIVATE, &yes, 1);
    return is_rsa ? import_rsa_private(f, s, k, &t, extra, n_extra, key)
                  : import_ec_private(f, s, k, &t, extra, n_extra, key);
}

CK_RV tk_import_public(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY *k,
                       const CK_ATTRIBUTE *extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *key)
{
    static CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    static CK_KEY_TYPE rsa = CKK_RSA, ec = CKK_EC;
    struct tmpl t = { .n = 0 };
    uint8_t *n = NULL, *e = NULL, point[256], der[260];
    size_t nl, el, plen, point_len, der_len = 0;
    const char *curve = curve_of(k);
    const uint8_t *params = curve != NULL ? tk_curve_der(curve, &plen) : NULL;
    CK_RV rv = CKR_ARGUMENTS_BAD;

    tmpl_add(&t, CKA_CLASS, &cls, sizeof cls);
    tmpl_add(&t, CKA_TOKEN, &no, 1);
    tmpl_add(&t, CKA_PRIVATE, &no, 1);
    tmpl_add(&t, CKA_VERIFY, &yes, 1);
    if (EVP_PKEY_is_a(k, "RSA")) {
        tmpl_add(&t, CKA_KEY_TYPE, &rsa, sizeof rsa);
        tmpl_add(&t, CKA_ENCRYPT, &yes, 1);
        n = bn_param(k, OSSL_PKEY_PARAM_RSA_N, 0, &nl);
        e = bn_param(k, OSSL_PKEY_PARAM_RSA_E, 0, &el);
        tmpl_add(&t, CKA_MODULUS, n, nl);
        tmpl_add(&t, CKA_PUBLIC_EXPONENT, e, el);
        if (n != NULL && e != NULL)
            rv = CKR_OK;
    } else if (params != NULL &&
               EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                               &point_len) == 1) {
        /* CKA_EC_POINT: the DER OCTET STRING of the uncompressed point. */
        der[der_len++] = 0x04;
        if (point_len > 127)
            der[der_len++] = 0x81;
        der[der_len++] = (uint8_t)point_len;
        memcpy(der + der_len, point, point_len);
        der_len += point_len;
        tmpl_add(&t, CKA_KEY_TYPE, &ec, sizeof ec);
        tmpl_add(&t, CKA_EC_PARAMS, params, plen);
        tmpl_add(&t, CKA_EC_POINT, der, der_len);
        rv = CKR_OK;
    }
    tmpl_merge(&t, extra, n_extra);
    if (rv == CKR_OK)
        rv = f->C_CreateObject(s, t.a, t.n, key);
    free(n);
    free(e);
    return rv;
}

/* ---- operations */

/* The size of the next part: sizes in turn, or the rest at once when they are all zero. */
static size_t next_part(const size_t *sizes, size_t n_sizes, size_t *turn, size_t left)
{
    size_t total = 0, part;

    for (size_t i = 0; i < n_sizes; i++)
        total += sizes[i];
    if (total == 0)
        return left;
    part = sizes[(*turn)++ % n_sizes];
    return part < left ? part : left;
}

CK_RV tk_digest(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_MECHANISM_TYPE m, const uint8_t *in,
                size_t len, const size_t *sizes, size_t n_sizes, uint8_t *out, CK_ULONG *out_len)
{
    CK_MECHANISM mech = { m, NULL, 0 };
    size_t off = 0, turn = 0, part;
    CK_RV rv;

    if ((rv = f->C_DigestInit(s, &mech)) != CKR_OK)
        return rv;
    if (sizes == NULL)
        return f->C_Digest(s, (CK_BYTE *)in, len, out, out_len);
    do {
        part = next_part(sizes, n_sizes, &turn, len - off);
        if ((rv = f->C_DigestUpdate(s, (CK_BYTE *)in + off, part)) != CKR_OK)
            return rv;
        off += part;
    } while (off < len);
    return f->C_DigestFinal(s, out, out_len);
}

CK_RV tk_sign(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
              CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
              size_t n_sizes, uint8_t *sig, CK_ULONG *sig_len)
{
    size_t off = 0, turn = 0, part;
    CK_RV rv;

    if ((rv = f->C_SignInit(s, (CK_MECHANISM *)m, key)) != CKR_OK)
        return rv;
    if (sizes == NULL)
        return f->C_Sign(s, (CK_BYTE *)in, len, sig, sig_len);
    do {
        part = next_part(sizes, n_sizes, &turn, len - off);
        if ((rv = f->C_SignUpdate(s, (CK_BYTE *)in + off, part)) != CKR_OK)
            return rv;
        off += part;
    } while (off < len);
    return f->C_SignFinal(s, sig, sig_len);
}

CK_RV tk_verify(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
                CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
                size_t n_sizes, const uint8_t *sig, size_t sig_len)
{
    size_t off = 0, turn = 0, part;
    CK_RV rv;

    if ((rv = f->C_VerifyInit(s, (CK_MECHANISM *)m, key)) != CKR_OK)
        return rv;
    if (sizes == NULL)
        return f->C_Verify(s, (CK_BYTE *)in, len, (CK_BYTE *)sig, sig_len);
    do {
        part = next_part(sizes, n_sizes, &turn, len - off);
        if ((rv = f->C_VerifyUpdate(s, (CK_BYTE *)in + off, part)) != CKR_OK)
            return rv;
        off += part;
    } while (off < len);
    return f->C_VerifyFinal(s, (CK_BYTE *)sig, sig_len);
}

typedef CK_RV (*init_fn)(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
typedef CK_RV (*one_fn)(CK_SESSION_HANDLE, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
typedef CK_RV (*final_fn)(CK_SESSION_HANDLE, CK_BYTE *, CK_ULONG *);

/* Encryption and decryption share a shape: init, then one call or updates and a final. */
static CK_RV cipher(init_fn init, one_fn one, one_fn update, final_fn final, CK_SESSION_HANDLE s,
                    const CK_MECHANISM *m, CK_OBJECT_HANDLE key, const uint8_t *in, size_t len,
                    const size_t *sizes, size_t n_sizes, uint8_t *out, CK_ULONG *out_len)
{
    CK_ULONG cap = *out_len, done = 0, got;
    size_t off = 0, turn = 0, part;
    CK_RV rv;

    if ((rv = init(s, (CK_MECHANISM *)m, key)) != CKR_OK)
        return rv;
    if (sizes == NULL)
        return one(s, (CK_BYTE *)in, len, out, out_len);
    do {
        part = next_part(sizes, n_sizes, &turn, len - off);
        got = cap - done;
        if ((rv = update(s, (CK_BYTE *)in + off, part, out + done, &got)) != CKR_OK)
            return rv;
        done += got;
        off += part;
    } while (off < len);
    got = cap - done;
    if ((rv = final(s, out + done, &got)) != CKR_OK)
        return rv;
    *out_len = done + got;
    return CKR_OK;
}

CK_RV tk_encrypt(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
                 CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
                 size_t n_sizes, uint8_t *out, CK_ULONG *out_len)
{
    return cipher(f->C_EncryptInit, f->C_Encrypt, f->C_EncryptUpdate, f->C_EncryptFinal, s, m,
                  key, in, len, sizes, n_sizes, out, out_len);
}

CK_RV tk_decrypt(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
                 CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
                 size_t n_sizes, uint8_t *out, CK_ULONG *out_len)
{
    return cipher(f->C_DecryptInit, f->C_Decrypt, f->C_DecryptUpdate, f->C_DecryptFinal, s, m,
                  key, in, len, sizes, n_sizes, out, out_len);
}

bool tk_listed(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, CK_MECHANISM_TYPE m)
{
    CK_MECHANISM_TYPE list[128];
    CK_ULONG n = 128;

    if (f->C_GetMechanismList(slot, list, &n) != CKR_OK)
        return false;
    for (CK_ULONG i = 0; i < n; i++)
        if (list[i] == m)
            return true;
    return false;
}

const char *tk_mech_name(CK_MECHANISM_TYPE m)
{
    static const struct { CK_MECHANISM_TYPE m; const char *name; } names[] = {
#define NAME(x) { x, #x }
        NAME(CKM_SHA_1), NAME(CKM_SHA256), NAME(CKM_SHA384), NAME(CKM_SHA512),
        NAME(CKM_RSA_PKCS), NAME(CKM_RSA_X_509), NAME(CKM_RSA_PKCS_PSS), NAME(CKM_RSA_PKCS_OAEP),
        NAME(CKM_SHA1_RSA_PKCS), NAME(CKM_SHA256_RSA_PKCS), NAME(CKM_SHA384_RSA_PKCS),
        NAME(CKM_SHA512_RSA_PKCS), NAME(CKM_SHA1_RSA_PKCS_PSS), NAME(CKM_SHA256_RSA_PKCS_PSS),
        NAME(CKM_SHA384_RSA_PKCS_PSS), NAME(CKM_SHA512_RSA_PKCS_PSS), NAME(CKM_ECDSA),
        NAME(CKM_ECDSA_SHA1), NAME(CKM_ECDSA_SHA256), NAME(CKM_ECDSA_SHA384),
        NAME(CKM_ECDSA_SHA512), NAME(CKM_SHA_1_HMAC), NAME(CKM_SHA256_HMAC),
        NAME(CKM_SHA384_HMAC), NAME(CKM_SHA512_HMAC), NAME(CKM_SHA_1_HMAC_GENERAL),
        NAME(CKM_SHA256_HMAC_GENERAL), NAME(CKM_SHA384_HMAC_GENERAL),
        NAME(CKM_SHA512_HMAC_GENERAL), NAME(CKM_AES_ECB), NAME(CKM_AES_CBC), NAME(CKM_AES_CBC_PAD),
        NAME(CKM_AES_CTR), NAME(CKM_AES_CFB128), NAME(CKM_AES_CMAC), NAME(CKM_AES_CMAC_GENERAL),
#undef NAME
    };
    static char other[32];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].m == m)
            return names[i].name;
    snprintf(other, sizeof other, "mechanism 0x%lx", (unsigned long)m);
    return other;
}

void tk_expect_rv(CK_RV got, CK_RV want, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    if (got == want)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fail_msg("%s: got %s, want %s", what, rv_name(got), rv_name(want));
}

void tk_expect_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
                     const char *fmt, ...)
{
    char what[256], hex[160];
    va_list ap;

    if (got_len == want_len && memcmp(got, want, got_len) == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(hex, sizeof hex, "%s", cu_hex(got, got_len));
    fail_msg("%s: got %zu bytes %s, want %zu bytes %s", what, got_len, hex, want_len,
             cu_hex(want, want_len));
}
