/* DER for PKCS#11 attributes, through OpenSSL: curves, EC points, SPKI, X.509 fields. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "token/der.h"
#include "util/pkey_type.h"

static const struct {
    uint16_t curve;
    int nid;
    const char *group;
} curves[] = {
    { TPM2_ECC_NIST_P256, NID_X9_62_prime256v1, "P-256" },
    { TPM2_ECC_NIST_P384, NID_secp384r1, "P-384" },
    { TPM2_ECC_NIST_P521, NID_secp521r1, "P-521" },
};
#define N_CURVES (sizeof curves / sizeof curves[0])

int der_curve_nid(uint16_t curve)
{
    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].curve == curve)
            return curves[i].nid;
    return NID_undef;
}

const char *der_curve_group(uint16_t curve)
{
    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].curve == curve)
            return curves[i].group;
    return NULL;
}

static uint16_t curve_of_nid(int nid)
{
    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].nid == nid)
            return curves[i].curve;
    return 0;
}

/* A PrintableString may name the curve by its SN, its long name or its NIST name. */
static int nid_of_name(const ASN1_STRING *s)
{
    char name[64];
    int nid, len = ASN1_STRING_length(s);

    if (len <= 0 || len >= (int)sizeof name)
        return NID_undef;
    memcpy(name, ASN1_STRING_get0_data(s), (size_t)len);
    name[len] = '\0';
    if ((nid = OBJ_sn2nid(name)) != NID_undef || (nid = OBJ_ln2nid(name)) != NID_undef)
        return nid;
    return EC_curve_nist2nid(name);
}

uint16_t der_ec_params_curve(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    uint16_t curve = 0;

    if (der == NULL || len < 2 || len > 1024)
        return 0;
    if (der[0] == V_ASN1_OBJECT) {
        ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
        if (oid != NULL && p == der + len)
            curve = curve_of_nid(OBJ_obj2nid(oid));
        ASN1_OBJECT_free(oid);
    } else if (der[0] == V_ASN1_PRINTABLESTRING) {
        ASN1_STRING *s = d2i_ASN1_PRINTABLESTRING(NULL, &p, (long)len);
        if (s != NULL && p == der + len)
            curve = curve_of_nid(nid_of_name(s));
        ASN1_STRING_free(s);
    }
    return curve;
}

bool der_ec_params_wellformed(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_OBJECT *oid;
    ASN1_STRING *s;
    bool ok = false;

    if (der == NULL || len < 2 || len > 1024)
        return false;
    if (der[0] == V_ASN1_OBJECT && (oid = d2i_ASN1_OBJECT(NULL, &p, (long)len)) != NULL) {
        ok = p == der + len;
        ASN1_OBJECT_free(oid);
    } else if (der[0] == V_ASN1_PRINTABLESTRING &&
               (s = d2i_ASN1_PRINTABLESTRING(NULL, &p, (long)len)) != NULL) {
        ok = p == der + len;
        ASN1_STRING_free(s);
    }
    return ok;
}

bool der_ec_params_encode(uint16_t curve, uint8_t **out, size_t *len)
{
    ASN1_OBJECT *oid = NULL;
    unsigned char *der = NULL;
    int n = -1;

    for (size_t i = 0; i < N_CURVES; i++)
        if (curves[i].curve == curve)
            oid = OBJ_nid2obj(curves[i].nid);
    if (oid == NULL || (n = i2d_ASN1_OBJECT(oid, &der)) <= 0)
        return false;
    *out = der;
    *len = (size_t)n;
    return true;
}

bool der_ec_point_encode(const uint8_t *x, const uint8_t *y, size_t coord, uint8_t **out,
                         size_t *len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    uint8_t raw[1 + 2 * 66];
    unsigned char *der = NULL;
    int n = -1;

    if (os == NULL || coord > 66)
        goto out;
    raw[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(raw + 1, x, coord);
    memcpy(raw + 1 + coord, y, coord);
    if (ASN1_OCTET_STRING_set(os, raw, (int)(1 + 2 * coord)) == 1)
        n = i2d_ASN1_OCTET_STRING(os, &der);
out:
    ASN1_OCTET_STRING_free(os);
    if (n <= 0)
        return false;
    *out = der;
    *len = (size_t)n;
    return true;
}

static bool point_split(const uint8_t *raw, size_t len, size_t coord, uint8_t *x, uint8_t *y)
{
    if (len != 1 + 2 * coord || raw[0] != POINT_CONVERSION_UNCOMPRESSED)
        return false;
    memcpy(x, raw + 1, coord);
    memcpy(y, raw + 1 + coord, coord);
    return true;
}

bool der_ec_point_decode(const uint8_t *in, size_t len, size_t coord, uint8_t *x, uint8_t *y)
{
    const unsigned char *p = in;
    ASN1_OCTET_STRING *os;
    bool ok = false;

    if (in == NULL || len < 2 || len > 1024)
        return false;
    if (in[0] == V_ASN1_OCTET_STRING) {
        os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
        if (os != NULL && p == in + len)
            ok = point_split(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), coord,
                             x, y);
        ASN1_OCTET_STRING_free(os);
        if (ok)
            return true;
    }
    return point_split(in, len, coord, x, y);
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_pkey(const struct tpm_key_public *pub)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(pub->modulus, (int)pub->modulus_len, NULL);
    BIGNUM *e = BN_new();
    EVP_PKEY *pkey = NULL;

    if (bld != NULL && n != NULL && e != NULL && BN_set_word(e, pub->exponent) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
        pkey = pkey_from_params(PKEY_TYPE_RSA, bld);
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *ec_pkey(const struct tpm_key_public *pub)
{
    const char *group = der_curve_group(pub->curve);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    uint8_t point[1 + 2 * 66];
    EVP_PKEY *pkey = NULL;

    if (group == NULL || bld == NULL || pub->coord_len > 66)
        goto out;
    point[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(point + 1, pub->x, pub->coord_len);
    memcpy(point + 1 + pub->coord_len, pub->y, pub->coord_len);
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                         1 + 2 * pub->coord_len) == 1)
        pkey = pkey_from_params(PKEY_TYPE_EC, bld);
out:
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

EVP_PKEY *der_pkey_from_public(const struct tpm_key_public *pub)
{
    switch (pub->type) {
    case TPM_KEY_RSA:
        return rsa_pkey(pub);
    case TPM_KEY_EC:
        return ec_pkey(pub);
    default:
        return NULL;
    }
}

bool der_spki(const struct tpm_key_public *pub, uint8_t **out, size_t *len)
{
    EVP_PKEY *pkey = der_pkey_from_public(pub);
    unsigned char *der = NULL;
    int n = -1;

    if (pkey != NULL)
        n = i2d_PUBKEY(pkey, &der);
    EVP_PKEY_free(pkey);
    if (n <= 0)
        return false;
    *out = der;
    *len = (size_t)n;
    return true;
}

bool der_key_id(const struct tpm_key_public *pub, uint8_t out[20])
{
    uint8_t point[1 + 2 * 66];

    if (pub->type == TPM_KEY_RSA)
        return SHA1(pub->modulus, pub->modulus_len, out) != NULL;
    if (pub->type != TPM_KEY_EC || pub->coord_len > 66)
        return false;
    point[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(point + 1, pub->x, pub->coord_len);
    memcpy(point + 1 + pub->coord_len, pub->y, pub->coord_len);
    return SHA1(point, 1 + 2 * pub->coord_len, out) != NULL;
}

bool der_cert_parse(const uint8_t *der, size_t len, struct der_cert *out)
{
    const unsigned char *p = der;
    X509 *x = NULL;
    int n;
    bool ok = false;

    memset(out, 0, sizeof *out);
    if (der == NULL || len == 0 || len > 1 << 20)
        return false;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len)
        goto out;
    /* Each i2d allocates its output; a length of 0 or less means it failed. */
    if ((n = i2d_X509_NAME(X509_get_subject_name(x), &out->subject)) <= 0)
        goto out;
    out->subject_len = (size_t)n;
    if ((n = i2d_X509_NAME(X509_get_issuer_name(x), &out->issuer)) <= 0)
        goto out;
    out->issuer_len = (size_t)n;
    if ((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &out->serial)) <= 0)
        goto out;
    out->serial_len = (size_t)n;
    if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &out->spki)) <= 0)
        goto out;
    out->spki_len = (size_t)n;
    ok = true;
out:
    X509_free(x);
    if (!ok)
        der_cert_free(out);
    return ok;
}

void der_cert_free(struct der_cert *c)
{
    OPENSSL_free(c->subject);
    OPENSSL_free(c->issuer);
    OPENSSL_free(c->serial);
    OPENSSL_free(c->spki);
    memset(c, 0, sizeof *c);
}
