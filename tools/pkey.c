/*
 * Public keys between PKCS#11 attributes and OpenSSL 3. A key object's public half is rebuilt
 * from its attributes with EVP_PKEY_fromdata, so what the CLI exports is what the token holds,
 * checked by OpenSSL (a point off its curve is refused). SSH key lines are encoded here as
 * RFC 4253 and RFC 5656 define them, the way ssh-keygen -D prints a token's keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "objects.h"
#include "pkey.h"

/* Builds a public key of the algorithm from params. NULL if OpenSSL refuses them. */
static EVP_PKEY *pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL), *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    EVP_PKEY *pkey = NULL;

    if (bld != NULL && bn_n != NULL && bn_e != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
        pkey = pkey_fromdata("RSA", bld);
    BN_free(bn_n);
    BN_free(bn_e);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *ec_public_point(const char *group, const uint8_t *point, size_t len)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;

    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len) == 1)
        pkey = pkey_fromdata("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* The group name of a CKA_EC_PARAMS holding a named curve's OID, or NULL. */
static const char *curve_group(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    int nid = oid != NULL && p == der + len ? OBJ_obj2nid(oid) : NID_undef;

    ASN1_OBJECT_free(oid);
    return nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
}

/*
 * CKA_EC_POINT is a DER OCTET STRING holding the point; some modules give the bare point.
 * Both are tried, the DER reading first.
 */
static EVP_PKEY *ec_public(const uint8_t *params, size_t params_len, const uint8_t *point,
                           size_t point_len)
{
    const char *group = curve_group(params, params_len);
    const unsigned char *p = point;
    ASN1_OCTET_STRING *os;
    EVP_PKEY *pkey = NULL;

    if (group == NULL)
        return NULL;
    os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)point_len);
    if (os != NULL && p == point + point_len)
        pkey = ec_public_point(group, ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
    ASN1_OCTET_STRING_free(os);
    if (pkey == NULL)
        pkey = ec_public_point(group, point, point_len);
    return pkey;
}

/* Reads two attributes; EXIT_NOT_FOUND if either is missing or empty. */
static int attr_pair(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                     CK_ATTRIBUTE_TYPE ta, uint8_t **a, size_t *a_len,
                     CK_ATTRIBUTE_TYPE tb, uint8_t **b, size_t *b_len)
{
    int ret = attr_read(t, s, h, ta, a, a_len);

    if (ret == EXIT_OK)
        ret = attr_read(t, s, h, tb, b, b_len);
    if (ret == EXIT_OK && (*a_len == 0 || *b_len == 0))
        ret = EXIT_NOT_FOUND;
    return ret;
}

int pkey_from_object(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_KEY_TYPE kt,
                     EVP_PKEY **out)
{
    uint8_t *a = NULL, *b = NULL;
    size_t a_len = 0, b_len = 0;
    int ret;

    *out = NULL;
    if (kt == CKK_RSA)
        ret = attr_pair(t, s, h, CKA_MODULUS, &a, &a_len, CKA_PUBLIC_EXPONENT, &b, &b_len);
    else if (kt == CKK_EC)
        ret = attr_pair(t, s, h, CKA_EC_PARAMS, &a, &a_len, CKA_EC_POINT, &b, &b_len);
    else
        ret = EXIT_NOT_FOUND;
    if (ret != EXIT_OK)
        goto out;
    *out = kt == CKK_RSA ? rsa_public(a, a_len, b, b_len) : ec_public(a, a_len, b, b_len);
    if (*out == NULL) {
        errorf("OpenSSL refuses the token's %s public key (a curve it does not know?)",
               kt == CKK_RSA ? "RSA" : "EC");
        ret = EXIT_FILE;
    }
out:
    free(a);
    free(b);
    return ret;
}

bool pkey_key_id(EVP_PKEY *pkey, uint8_t id[KEY_ID_LEN])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *bits;
    int len;
    bool ok = false;

    if (X509_PUBKEY_set(&xpk, pkey) == 1 &&
        X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) == 1)
        ok = SHA1(bits, (size_t)len, id) != NULL;
    X509_PUBKEY_free(xpk);
    return ok;
}

bool pkey_curve_params(const char *group, uint8_t **der, size_t *len)
{
    int nid = OBJ_txt2nid(group), n;
    unsigned char *out = NULL;

    if (nid == NID_undef)
        nid = EC_curve_nist2nid(group);
    if (nid == NID_undef || (n = i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &out)) <= 0)
        return false;
    *der = out;
    *len = (size_t)n;
    return true;
}

/* ---- OpenSSH public key lines */

static bool wire_u32(FILE *fp, size_t v)
{
    return v <= 0xffffffffu && fputc((int)(v >> 24 & 0xff), fp) != EOF &&
           fputc((int)(v >> 16 & 0xff), fp) != EOF && fputc((int)(v >> 8 & 0xff), fp) != EOF &&
           fputc((int)(v & 0xff), fp) != EOF;
}

static bool wire_string(FILE *fp, const void *v, size_t n)
{
    return wire_u32(fp, n) && fwrite(v, 1, n, fp) == n;
}

/* An mpint: BN_bn2mpi writes exactly SSH's encoding (length, then minimal two's complement). */
static bool wire_mpint(FILE *fp, const BIGNUM *bn)
{
    int n = BN_bn2mpi(bn, NULL);
    unsigned char *v = n > 0 ? OPENSSL_malloc((size_t)n) : NULL;
    bool ok = v != NULL && BN_bn2mpi(bn, v) == n && fwrite(v, 1, (size_t)n, fp) == (size_t)n;

    OPENSSL_free(v);
    return ok;
}

#define SSH_TYPE_MAX 32

/* Writes the key's blob and names its type (SSH_TYPE_MAX bytes). */
static bool ssh_rsa_blob(EVP_PKEY *pkey, FILE *fp, char *type)
{
    BIGNUM *n = NULL, *e = NULL;
    bool ok;

    snprintf(type, SSH_TYPE_MAX, "ssh-rsa");
    ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
         EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
         wire_string(fp, type, strlen(type)) && wire_mpint(fp, e) && wire_mpint(fp, n);
    BN_free(n);
    BN_free(e);
    return ok;
}

static const char *ssh_curve(int nid)
{
    switch (nid) {
    case NID_X9_62_prime256v1: return "nistp256";
    case NID_secp384r1: return "nistp384";
    case NID_secp521r1: return "nistp521";
    default: return NULL;
    }
}

static bool ssh_ec_blob(EVP_PKEY *pkey, FILE *fp, char *type)
{
    char group[64];
    unsigned char point[256];
    size_t point_len;
    const char *curve;

    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1 ||
        (curve = ssh_curve(OBJ_txt2nid(group))) == NULL) {
        errorf("OpenSSH has no key type for this curve");
        return false;
    }
    snprintf(type, SSH_TYPE_MAX, "ecdsa-sha2-%s", curve);
    return EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                           &point_len) == 1 &&
           point_len > 0 && point[0] == POINT_CONVERSION_UNCOMPRESSED &&
           wire_string(fp, type, strlen(type)) && wire_string(fp, curve, strlen(curve)) &&
           wire_string(fp, point, point_len);
}

/* "type base64 comment\n" of the blob; malloc'ed, or NULL. */
static char *ssh_line(const char *type, const uint8_t *blob, size_t len, const char *comment)
{
    size_t b64_len = 4 * ((len + 2) / 3) + 1;
    unsigned char *b64 = malloc(b64_len);
    char *line = NULL;
    size_t size;

    if (b64 == NULL)
        return NULL;
    EVP_EncodeBlock(b64, blob, (int)len);
    size = strlen(type) + b64_len + strlen(comment) + 4;
    if ((line = malloc(size)) != NULL)
        snprintf(line, size, "%s %s%s%s\n", type, (char *)b64, comment[0] != '\0' ? " " : "",
                 comment);
    free(b64);
    return line;
}

char *pkey_ssh_line(EVP_PKEY *pkey, const char *comment)
{
    char *blob = NULL, *line = NULL;
    size_t len = 0;
    char type[SSH_TYPE_MAX] = "";
    FILE *fp = open_memstream(&blob, &len);
    bool ok;

    if (fp == NULL) {
        errorf("out of memory");
        return NULL;
    }
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        ok = ssh_rsa_blob(pkey, fp, type);
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        ok = ssh_ec_blob(pkey, fp, type);
    } else {
        errorf("OpenSSH public keys are RSA or EC here");
        ok = false;
    }
    ok = fclose(fp) == 0 && ok;
    if (ok && (line = ssh_line(type, (uint8_t *)blob, len, comment)) == NULL)
        errorf("out of memory");
    free(blob);
    return line;
}
