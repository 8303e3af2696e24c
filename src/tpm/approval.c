/*
 * Policy digests and approval blobs, computed as the TPM computes them (TPM 2.0 Part 1, 19.7;
 * Part 3, PolicyPCR, PolicyAuthorize, PolicyAuthValue), with SHA-256 policy sessions. Pure
 * computation with no TPM: the module and the tpmtok CLI (which signs approvals) share it.
 *
 * An approval blob: "TPMTOKAP", a version byte, then marshalled TPML_PCR_SELECTION (one bank),
 * TPM2B_DIGEST (the PCR digest), TPM2B_NAME (the authority) and TPMT_SIGNATURE (the authority's
 * signature over tpm_approval_hash).
 */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm/alg.h"
#include "tpm/approval.h"

static const char approval_magic[8] = { 'T', 'P', 'M', 'T', 'O', 'K', 'A', 'P' };
#define APPROVAL_VERSION 1

/* d = SHA-256(d || cc || a || b): one policy command's update of the digest. */
static void policy_extend(uint8_t d[32], uint32_t cc, const uint8_t *a, size_t a_len,
                          const uint8_t *b, size_t b_len)
{
    uint8_t code[4] = { (uint8_t)(cc >> 24), (uint8_t)(cc >> 16), (uint8_t)(cc >> 8), (uint8_t)cc };
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 32;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, d, 32) != 1 || EVP_DigestUpdate(ctx, code, 4) != 1 ||
        (a_len > 0 && EVP_DigestUpdate(ctx, a, a_len) != 1) ||
        (b_len > 0 && EVP_DigestUpdate(ctx, b, b_len) != 1) || EVP_DigestFinal_ex(ctx, d, &n) != 1)
        memset(d, 0xff, 32);   /* no memory: a digest no TPM will match */
    EVP_MD_CTX_free(ctx);
}

static void sha256(const uint8_t *in, size_t len, uint8_t out[32])
{
    unsigned n = 32;

    if (EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) != 1)
        memset(out, 0xff, 32);
}

void approval_pcr_tpml(const struct tpm_pcr_sel *sel, TPML_PCR_SELECTION *out)
{
    memset(out, 0, sizeof *out);
    out->count = 1;
    out->pcrSelections[0].hash = sel->hash;
    out->pcrSelections[0].sizeofSelect = 3;
    for (unsigned i = 0; i < 3; i++)
        out->pcrSelections[0].pcrSelect[i] = (uint8_t)(sel->mask >> (8 * i));
}

size_t approval_pcr_count(const struct tpm_pcr_sel *sel)
{
    return (size_t)__builtin_popcount(sel->mask & 0xffffffu);
}

/* The PolicyPCR digest from an empty policy: what an authority approves. */
static void pcr_policy(const struct tpm_pcr_sel *sel, const uint8_t pcr_digest[32], uint8_t d[32])
{
    TPML_PCR_SELECTION tpml;
    uint8_t buf[sizeof tpml];
    size_t off = 0;

    approval_pcr_tpml(sel, &tpml);
    memset(d, 0, 32);
    if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&tpml, buf, sizeof buf, &off) != TSS2_RC_SUCCESS) {
        memset(d, 0xff, 32);
        return;
    }
    policy_extend(d, TPM2_CC_PolicyPCR, buf, off, pcr_digest, 32);
}

void tpm_pcr_digest(const uint8_t *values, size_t len, uint8_t out[32])
{
    sha256(values, len, out);
}

void tpm_approval_hash(const struct tpm_pcr_sel *sel, const uint8_t pcr_digest[32],
                       uint8_t out[32])
{
    uint8_t approved[32];

    approval_approved_policy(sel, pcr_digest, approved);
    /* aHash = H(approvedPolicy || policyRef), and tpmtok's policyRef is empty. */
    sha256(approved, sizeof approved, out);
}

void approval_approved_policy(const struct tpm_pcr_sel *sel, const uint8_t pcr_digest[32],
                              uint8_t out[32])
{
    pcr_policy(sel, pcr_digest, out);
}

/* The name of a public area: nameAlg || H(TPMT_PUBLIC). False if it does not marshal. */
bool approval_name(const TPM2B_PUBLIC *pub, uint8_t *name, size_t *name_len)
{
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;

    if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof buf, &off) != TSS2_RC_SUCCESS)
        return false;
    name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
    name[1] = (uint8_t)TPM2_ALG_SHA256;
    sha256(buf, off, name + 2);
    *name_len = 34;
    return true;
}

bool tpm_policy_digest(const struct tpm_policy *p, uint8_t out[32])
{
    uint8_t name[68];
    size_t name_len = 0;
    TPM2B_PUBLIC pub = { 0 };   /* tss2 unmarshals a TPM2B only into one of size 0 */
    size_t off = 0;

    memset(out, 0, 32);
    if (p->authorize) {
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p->authority_pub, p->authority_pub_len, &off, &pub) !=
                TSS2_RC_SUCCESS ||
            !approval_name(&pub, name, &name_len)) {
            memset(out, 0xff, 32);
            return false;
        }
        /* PolicyUpdate(PolicyAuthorize, keySign name, policyRef): the empty ref is hashed too. */
        policy_extend(out, TPM2_CC_PolicyAuthorize, name, name_len, NULL, 0);
        sha256(out, 32, out);
    } else {
        pcr_policy(&p->pcrs, p->pcr_digest, out);
    }
    /* Last, so that the PIN is needed whatever an authority approves. */
    policy_extend(out, TPM2_CC_PolicyAuthValue, NULL, 0, NULL, 0);
    return true;
}

void tpm_pcr_sel_text(const struct tpm_pcr_sel *sel, char *buf, size_t size)
{
    const char *bank = sel->hash == TPM2_ALG_SHA1 ? "sha1" : sel->hash == TPM2_ALG_SHA256 ? "sha256"
                       : sel->hash == TPM2_ALG_SHA384 ? "sha384" : sel->hash == TPM2_ALG_SHA512 ? "sha512"
                                                                                                  : "?";
    size_t used;
    int n = snprintf(buf, size, "%s:", bank);

    if (n < 0 || (size_t)n >= size)
        return;
    used = (size_t)n;
    for (unsigned i = 0; i < 24; i++) {
        if (!(sel->mask & (1u << i)))
            continue;
        n = snprintf(buf + used, size - used, "%s%u", buf[used - 1] == ':' ? "" : ",", i);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

/* ---- authority keys ---- */

static bool bn_param(const EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
    BIGNUM *bn = NULL;
    bool ok = EVP_PKEY_get_bn_param(k, name, &bn) == 1 && BN_bn2binpad(bn, out, (int)len) == (int)len;

    BN_free(bn);
    return ok;
}

static bool ec_template(const EVP_PKEY *k, TPMT_PUBLIC *p)
{
    char group[32];
    size_t coord;

    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) != 1)
        return false;
    if (strcmp(group, "prime256v1") == 0)
        p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    else if (strcmp(group, "secp384r1") == 0)
        p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
    else
        return false;
    coord = tpm_curve_bytes(p->parameters.eccDetail.curveID);
    p->type = TPM2_ALG_ECC;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    p->unique.ecc.x.size = p->unique.ecc.y.size = (UINT16)coord;
    return bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, coord) &&
           bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, coord);
}

static bool rsa_template(const EVP_PKEY *k, TPMT_PUBLIC *p)
{
    int bits = EVP_PKEY_get_bits(k);
    BIGNUM *e = NULL;
    BN_ULONG ev;

    if (bits != 2048 && bits != 3072 && bits != 4096)
        return false;
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
        return false;
    ev = BN_get_word(e);
    BN_free(e);
    if (ev == 0 || ev > 0xffffffffu)
        return false;
    p->type = TPM2_ALG_RSA;
    p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    p->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
    p->parameters.rsaDetail.exponent = ev == 65537 ? 0 : (UINT32)ev;
    p->unique.rsa.size = (UINT16)(bits / 8);
    return bn_param(k, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, (size_t)bits / 8);
}

/*
 * DER SubjectPublicKeyInfo through a decoder, which always gives a provider's key: inside an
 * application that made an ENGINE the default for EC or RSA, d2i_PUBKEY gives the engine's
 * legacy key, whose parameters cannot be read.
 */
static EVP_PKEY *spki_decode(const uint8_t *der, size_t len)
{
    EVP_PKEY *k = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&k, "DER", "SubjectPublicKeyInfo", NULL,
                                                           EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    const unsigned char *q = der;
    size_t left = len;

    if (dctx == NULL || len == 0 || len > 100000 || OSSL_DECODER_from_data(dctx, &q, &left) != 1 ||
        left != 0) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return k;
}

CK_RV tpm_authority_from_spki(const uint8_t *der, size_t len, struct tpm_policy *p,
                              uint8_t *name, size_t *name_len)
{
    EVP_PKEY *k = spki_decode(der, len);
    TPM2B_PUBLIC pub;
    size_t off = 0;
    bool ok;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

    if (k == NULL)
        goto out;
    memset(&pub, 0, sizeof pub);
    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    /* Loaded with TPM2_LoadExternal, public part only, only to check approvals. */
    pub.publicArea.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
    ok = EVP_PKEY_is_a(k, "EC") ? ec_template(k, &pub.publicArea)
         : EVP_PKEY_is_a(k, "RSA") ? rsa_template(k, &pub.publicArea) : false;
    if (!ok)
        goto out;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, p->authority_pub, sizeof p->authority_pub, &off) !=
            TSS2_RC_SUCCESS ||
        !approval_name(&pub, name, name_len))
        goto out;
    p->authority_pub_len = off;
    p->authorize = true;
    rv = CKR_OK;
out:
    EVP_PKEY_free(k);
    return rv;
}

/* ---- approval blobs ---- */

CK_RV tpm_approval_parse(const uint8_t *blob, size_t len, struct tpm_approval *out)
{
    TPML_PCR_SELECTION tpml;
    TPM2B_DIGEST digest = { 0 };   /* tss2 unmarshals a TPM2B only into one of size 0 */
    TPM2B_NAME name = { 0 };
    TPMT_SIGNATURE sig;
    size_t off = sizeof approval_magic + 1, sig_start;

    memset(out, 0, sizeof *out);
    if (blob == NULL || len < off || memcmp(blob, approval_magic, sizeof approval_magic) != 0 ||
        blob[sizeof approval_magic] != APPROVAL_VERSION)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (Tss2_MU_TPML_PCR_SELECTION_Unmarshal(blob, len, &off, &tpml) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_DIGEST_Unmarshal(blob, len, &off, &digest) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_NAME_Unmarshal(blob, len, &off, &name) != TSS2_RC_SUCCESS)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    sig_start = off;
    if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(blob, len, &off, &sig) != TSS2_RC_SUCCESS || off != len)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (tpml.count != 1 || tpml.pcrSelections[0].sizeofSelect < 3 || digest.size != 32 ||
        name.size > sizeof out->authority_name || len - sig_start > sizeof out->sig ||
        tpm_hash_size(tpml.pcrSelections[0].hash) == 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    out->pcrs.hash = tpml.pcrSelections[0].hash;
    for (unsigned i = 0; i < 3; i++)
        out->pcrs.mask |= (uint32_t)tpml.pcrSelections[0].pcrSelect[i] << (8 * i);
    if (out->pcrs.mask == 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out->pcr_digest, digest.buffer, 32);
    memcpy(out->authority_name, name.name, name.size);
    out->authority_name_len = name.size;
    memcpy(out->sig, blob + sig_start, len - sig_start);
    out->sig_len = len - sig_start;
    return CKR_OK;
}

bool approval_make(const struct tpm_pcr_sel *sel, const uint8_t pcr_digest[32],
                   const uint8_t *name, size_t name_len, const TPMT_SIGNATURE *sig, uint8_t *out,
                   size_t max, size_t *len)
{
    TPML_PCR_SELECTION tpml;
    TPM2B_DIGEST digest = { .size = 32 };
    TPM2B_NAME n = { .size = (UINT16)name_len };
    size_t off = sizeof approval_magic + 1;

    if (max < off || name_len > sizeof n.name)
        return false;
    memcpy(out, approval_magic, sizeof approval_magic);
    out[sizeof approval_magic] = APPROVAL_VERSION;
    approval_pcr_tpml(sel, &tpml);
    memcpy(digest.buffer, pcr_digest, 32);
    memcpy(n.name, name, name_len);
    if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&tpml, out, max, &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_DIGEST_Marshal(&digest, out, max, &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_NAME_Marshal(&n, out, max, &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPMT_SIGNATURE_Marshal(sig, out, max, &off) != TSS2_RC_SUCCESS)
        return false;
    *len = off;
    return true;
}
