/*
 * Keys in the TPM: templates from a key spec, keys the TPM generates (TPM2_Create), known keys
 * brought in (TPM2_Create with the key as sensitive data for AES, TDES and HMAC; TPM2_Import
 * under an inner wrapper for RSA and EC, since TPM2_Create cannot take an asymmetric private
 * key), and the public part of a wrapped key.
 *
 * Every secret crosses to the TPM encrypted: the auth value and symmetric key in TPM2_Create's
 * first parameter under the session's parameter encryption; an RSA prime or EC scalar inside
 * the import's inner wrapper, whose AES key is TPM2_Import's first parameter, encrypted the
 * same way; random bytes for an HMAC key come back encrypted by the session.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "tpm/call.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"
#include "util/secret.h"

/* Keys are named with SHA-256 (HMAC keys: SHA-2 by length); a digest bounds the auth value. */
#define KEY_NAME_ALG TPM2_ALG_SHA256
#define KEY_AUTH_MAX 32
/* The inner wrapper: AES-128-CFB (Part 1, 23.3.2.3) with a fresh key per import. */
#define WRAP_KEY_BYTES 16
/* The largest key libtpms takes as TPM2B_SENSITIVE_DATA (MAX_SYM_DATA). */
#define SENSITIVE_DATA_MAX 128

/*
 * Hashes an HMAC key may be named with (SHA-2 only: a name is how the TPM tells objects apart,
 * and every digest here holds a 32-byte auth value). A key the TPM makes is a digest long; a
 * known one at most a block long (the TPM refuses longer: HMAC would hash such a key first).
 */
static const struct key_hash {
    TPM2_ALG_ID alg;
    size_t digest;
    size_t block;
} key_hashes[] = {
    { TPM2_ALG_SHA256, 32, 64 },
    { TPM2_ALG_SHA384, 48, 128 },
    { TPM2_ALG_SHA512, 64, 128 },
};

/* Curves whose points fit struct tpm_key_public (66-byte coordinates). */
static const struct key_curve {
    TPM2_ECC_CURVE id;
    size_t bytes;
    unsigned bits;
} key_curves[] = {
    { TPM2_ECC_NIST_P192, 24, 192 }, { TPM2_ECC_NIST_P224, 28, 224 },
    { TPM2_ECC_NIST_P256, 32, 256 }, { TPM2_ECC_NIST_P384, 48, 384 },
    { TPM2_ECC_NIST_P521, 66, 521 }, { TPM2_ECC_BN_P256, 32, 256 },
    { TPM2_ECC_SM2_P256, 32, 256 },
};

static const struct key_curve *curve_find(TPM2_ECC_CURVE id)
{
    for (size_t i = 0; i < sizeof key_curves / sizeof key_curves[0]; i++)
        if (key_curves[i].id == id)
            return &key_curves[i];
    return NULL;
}

static const struct key_hash *hash_find(TPM2_ALG_ID alg)
{
    for (size_t i = 0; i < sizeof key_hashes / sizeof key_hashes[0]; i++)
        if (key_hashes[i].alg == alg)
            return &key_hashes[i];
    return NULL;
}

/* Everything one creation carries through tpm_call; freed with secret_free. */
struct key_args {
    struct tpm_create c;                /* Create: template and sensitive; Import: c.tmpl is
                                         * the object's public, c.priv/c.pub the result */
    size_t random_len;                  /* HMAC key bytes to fetch from TPM2_GetRandom */
    TPM2B_SENSITIVE inner;              /* secret: Import: the key as the TPM will hold it */
    TPM2B_DATA wrap_key;                /* secret: Import: the inner wrapper's key */
    TPM2B_PRIVATE duplicate;            /* Import: the inner-wrapped sensitive area */
};

TSS2_RC tpm_blob_from(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv, struct tpm_blob *out)
{
    size_t pub_len = 0, priv_len = 0;
    TSS2_RC rc;

    memset(out, 0, sizeof *out);
    out->pub = malloc(sizeof *pub);
    out->priv = malloc(sizeof *priv);
    if (out->pub == NULL || out->priv == NULL) {
        tpm_blob_clear(out);
        return TSS2_ESYS_RC_MEMORY;
    }
    rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, out->pub, sizeof *pub, &pub_len);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, out->priv, sizeof *priv, &priv_len);
    if (rc != TSS2_RC_SUCCESS) {
        tpm_blob_clear(out);
        return rc;
    }
    out->pub_len = pub_len;
    out->priv_len = priv_len;
    return TSS2_RC_SUCCESS;
}

/* ---- checks before the TPM is asked ---- */

/*
 * The HMAC key's name algorithm. A keyedHash key the TPM makes with a NULL scheme is as long as
 * its nameAlg's digest (Part 4, CryptGenerateKeyedHash), so when a hash has the key's length the
 * TPM makes the key itself. Otherwise the key is known or comes from GetRandom, and the nameAlg
 * is the first hash whose block holds it. Returns 0 when nothing fits.
 */
static TPM2_ALG_ID hmac_name_alg(struct tpm *t, size_t bytes, bool generate, bool *tpm_makes)
{
    const size_t n = sizeof key_hashes / sizeof key_hashes[0];

    *tpm_makes = false;
    for (size_t i = 0; generate && i < n; i++)
        if (key_hashes[i].digest == bytes && tpm_has_alg(t, key_hashes[i].alg)) {
            *tpm_makes = true;
            return key_hashes[i].alg;
        }
    for (size_t i = 0; i < n; i++)
        if (key_hashes[i].block >= bytes && tpm_has_alg(t, key_hashes[i].alg))
            return key_hashes[i].alg;
    return 0;
}

/* Whether the TPM does this key at all; CKR_KEY_SIZE_RANGE or CKR_TEMPLATE_INCONSISTENT if not. */
static CK_RV spec_supported(struct tpm *t, const struct tpm_key_spec *spec)
{
    switch (spec->type) {
    case TPM_KEY_RSA:
        return tpm_has_rsa_bits(t, spec->bits) ? CKR_OK : CKR_KEY_SIZE_RANGE;
    case TPM_KEY_EC:
        return curve_find(spec->curve) != NULL && tpm_has_curve(t, spec->curve)
                   ? CKR_OK
                   : CKR_TEMPLATE_INCONSISTENT;
    case TPM_KEY_AES:
        return tpm_has_sym_bits(t, TPM2_ALG_AES, spec->bits) ? CKR_OK : CKR_KEY_SIZE_RANGE;
    case TPM_KEY_TDES:
        return tpm_has_sym_bits(t, TPM2_ALG_TDES, spec->bits) ? CKR_OK : CKR_KEY_SIZE_RANGE;
    case TPM_KEY_HMAC:
        return spec->bits % 8 == 0 && spec->bits > 0 && spec->bits / 8 <= SENSITIVE_DATA_MAX
                   ? CKR_OK
                   : CKR_KEY_SIZE_RANGE;
    }
    return CKR_TEMPLATE_INCONSISTENT;
}

/* Caller bugs: an import without the parts it needs, symmetric key bytes of another size. */
static bool import_args_ok(const struct tpm_key_spec *spec, const struct tpm_key_public *pub,
                           const struct tpm_key_private *priv)
{
    switch (spec->type) {
    case TPM_KEY_RSA:
        return pub != NULL && priv->prime != NULL && priv->prime_len > 0 &&
               pub->modulus_len <= sizeof pub->modulus;
    case TPM_KEY_EC:
        return pub != NULL && priv->value != NULL && pub->coord_len <= sizeof pub->x;
    case TPM_KEY_AES:
    case TPM_KEY_TDES:
    case TPM_KEY_HMAC:
        return priv->value != NULL && priv->value_len * 8 == spec->bits;
    }
    return false;
}

/* ---- templates ---- */

/*
 * userWithAuth: the random auth value authorizes use. noDA: that value is 32 random bytes, so
 * dictionary-attack protection guards nothing and would let PIN lockouts block a logged-in user.
 * fixedTPM|fixedParent for keys that must not leave; TPM2_Import refuses them, and with an
 * empty authPolicy no key of ours can be duplicated anyway.
 *
 * sign and decrypt as the spec says, except where the TPM refuses the combination (Part 4's
 * PublicAttributesValidation and SchemeChecks, as libtpms does them):
 * - only a data object may have both clear, so a key that may do neither (legal in PKCS#11,
 *   useless) gets sign; the token layer enforces PKCS#11's attributes in any case;
 * - a keyedHash key with sign alone must fix its HMAC hash in the scheme; with sign and decrypt
 *   the scheme is NULL and each TPM2_HMAC/HMAC_Start names the hash. Decrypt on an
 *   unrestricted keyedHash key lets no command do anything more with it.
 */
static TPMA_OBJECT key_attributes(const struct tpm_key_spec *spec, bool tpm_makes, bool import)
{
    /* A key bound to a policy is usable only through it: the auth value alone must not do. */
    TPMA_OBJECT a = (spec->policy ? 0 : TPMA_OBJECT_USERWITHAUTH) | TPMA_OBJECT_NODA;

    if (tpm_makes)
        a |= TPMA_OBJECT_SENSITIVEDATAORIGIN;
    if (spec->fixed && !import)
        a |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
    if (spec->type == TPM_KEY_HMAC)
        return a | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
    if (spec->sign || !spec->decrypt)
        a |= TPMA_OBJECT_SIGN_ENCRYPT;
    if (spec->decrypt)
        a |= TPMA_OBJECT_DECRYPT;
    return a;
}

/* Schemes and modes are all NULL: each operation names its own (TPM2_Sign, EncryptDecrypt2...). */
static void key_template(const struct tpm_key_spec *spec, TPM2_ALG_ID name_alg, bool tpm_makes,
                         bool import, TPM2B_PUBLIC *tmpl)
{
    TPMT_PUBLIC *p = &tmpl->publicArea;

    memset(tmpl, 0, sizeof *tmpl);
    p->nameAlg = name_alg;
    p->objectAttributes = key_attributes(spec, tpm_makes, import);
    if (spec->policy != NULL) {
        p->authPolicy.size = 32;
        tpm_policy_digest(spec->policy, p->authPolicy.buffer);
    }
    switch (spec->type) {
    case TPM_KEY_RSA:
        p->type = TPM2_ALG_RSA;
        p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        p->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)spec->bits;
        /* Zero is how the TPM writes 65537 in keys it makes: one spelling, one name. */
        p->parameters.rsaDetail.exponent = spec->exponent == 65537 ? 0 : spec->exponent;
        break;
    case TPM_KEY_EC:
        p->type = TPM2_ALG_ECC;
        p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        p->parameters.eccDetail.curveID = spec->curve;
        p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        break;
    case TPM_KEY_AES:
    case TPM_KEY_TDES:
        p->type = TPM2_ALG_SYMCIPHER;
        p->parameters.symDetail.sym.algorithm =
            spec->type == TPM_KEY_AES ? TPM2_ALG_AES : TPM2_ALG_TDES;
        p->parameters.symDetail.sym.keyBits.sym = (TPM2_KEY_BITS)spec->bits;
        p->parameters.symDetail.sym.mode.sym = TPM2_ALG_NULL;
        break;
    case TPM_KEY_HMAC:
        p->type = TPM2_ALG_KEYEDHASH;
        p->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
        break;
    }
}

/* ---- TPM2_Create, TPM2_GetRandom, TPM2_Import ---- */

TSS2_RC tpm_create_once(struct tpm *t, void *arg)
{
    struct tpm_create *a = arg;
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_CREATION_DATA creation = { 0 };
    TPM2B_DIGEST hash = { 0 };
    TPMT_TK_CREATION ticket = { 0 };
    struct sess_auth auth = { .n_names = 1 };
    TSS2_RC rc;

    if ((rc = resid_load(t, a->parent)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->parent->name;
    auth.auth = &a->parent->auth;
    rc = Tss2_Sys_Create_Prepare(t->sys, a->parent->handle, &a->sensitive, &a->tmpl, &outside,
                                 &pcrs);
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, t->sess, TPM2_CC_Create, &auth, SESS_ENCRYPT_CMD);
    if (rc == TSS2_RC_SUCCESS) {
        a->priv.size = 0;
        a->pub.size = 0;
        rc = Tss2_Sys_Create_Complete(t->sys, &a->priv, &a->pub, &creation, &hash, &ticket);
    }
    resid_unpin(t, a->parent);
    return rc;
}

/*
 * One TPM2_GetRandom for the rest of an HMAC key, appended to sensitive.data. The bytes are the
 * key, so they come back encrypted by the session (which authorizes nothing here).
 */
static TSS2_RC random_once(struct tpm *t, void *arg)
{
    struct key_args *a = arg;
    TPM2B_SENSITIVE_DATA *data = &a->c.sensitive.sensitive.data;
    struct sess_auth auth = { .n_names = 0 };
    TPM2B_DIGEST bytes = { 0 };
    size_t want = a->random_len - data->size, got;
    TSS2_RC rc;

    rc = Tss2_Sys_GetRandom_Prepare(t->sys, (UINT16)want);
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, t->sess, TPM2_CC_GetRandom, &auth, SESS_DECRYPT_RSP);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_GetRandom_Complete(t->sys, &bytes);
    if (rc == TSS2_RC_SUCCESS) {
        got = bytes.size < want ? bytes.size : want;
        if (got == 0)
            rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
        memcpy(data->buffer + data->size, bytes.buffer, got);
        data->size = (UINT16)(data->size + got);
    }
    secret_wipe(&bytes, sizeof bytes);
    return rc;
}

/* No outer wrapper: the inner one, whose key is sent encrypted, hides the key on its way. */
static TSS2_RC import_once(struct tpm *t, void *arg)
{
    static const TPMT_SYM_DEF_OBJECT wrap = {
        .algorithm = TPM2_ALG_AES,
        .keyBits.aes = WRAP_KEY_BYTES * 8,
        .mode.aes = TPM2_ALG_CFB,
    };
    struct key_args *a = arg;
    TPM2B_ENCRYPTED_SECRET no_seed = { 0 };
    struct sess_auth auth = { .n_names = 1 };
    TSS2_RC rc;

    if ((rc = resid_load(t, a->c.parent)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->c.parent->name;
    auth.auth = &a->c.parent->auth;
    rc = Tss2_Sys_Import_Prepare(t->sys, a->c.parent->handle, &a->wrap_key, &a->c.tmpl,
                                 &a->duplicate, &no_seed, &wrap);
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, t->sess, TPM2_CC_Import, &auth, SESS_ENCRYPT_CMD);
    if (rc == TSS2_RC_SUCCESS) {
        a->c.priv.size = 0;
        rc = Tss2_Sys_Import_Complete(t->sys, &a->c.priv);
    }
    if (rc == TSS2_RC_SUCCESS)
        a->c.pub = a->c.tmpl;
    resid_unpin(t, a->c.parent);
    return rc;
}

/* ---- the inner wrapper ---- */

/* A big-endian number (leading zeros allowed) as exactly len bytes; false if it is longer. */
static bool put_padded(uint8_t *dst, size_t len, const uint8_t *src, size_t src_len)
{
    while (src_len > 0 && src[0] == 0) {
        src++;
        src_len--;
    }
    if (src_len > len)
        return false;
    memset(dst, 0, len - src_len);
    if (src_len > 0)
        memcpy(dst + len - src_len, src, src_len);
    return true;
}

/* H_nameAlg(TPM2B_SENSITIVE || Name) into out (digest bytes). */
static bool inner_integrity(const uint8_t *sens, size_t sens_len, const TPM2B_NAME *name,
                            uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    bool ok;

    ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, sens, sens_len) == 1 &&
         EVP_DigestUpdate(ctx, name->name, name->size) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static bool cfb_encrypt(const uint8_t *key, uint8_t *buf, size_t len)
{
    static const uint8_t zero_iv[16];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out_len = 0;
    bool ok;

    ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_128_cfb128(), NULL, key, zero_iv) == 1 &&
         EVP_EncryptUpdate(ctx, buf, &out_len, buf, (int)len) == 1 && (size_t)out_len == len;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/*
 * The duplicate of Part 1, 23.3.2.3, inner wrapper only, in a->duplicate:
 *   innerIntegrity = H_nameAlg(TPM2B_SENSITIVE || Name)
 *   duplicate = AES-128-CFB(wrap_key, IV 0, TPM2B_DIGEST(innerIntegrity) || TPM2B_SENSITIVE)
 * with a fresh wrap_key. The object's nameAlg is SHA-256.
 */
static TSS2_RC import_wrap(struct key_args *a)
{
    const size_t head = 2 + 32;
    uint8_t *buf = a->duplicate.buffer;
    TPM2B_NAME name = { 0 };
    size_t off = head;
    TSS2_RC rc;

    if ((rc = resid_compute_name(&a->c.tmpl, &name)) != TSS2_RC_SUCCESS)
        return rc;
    rc = Tss2_MU_TPM2B_SENSITIVE_Marshal(&a->inner, buf, sizeof a->duplicate.buffer, &off);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    buf[0] = 0;
    buf[1] = 32;
    if (!inner_integrity(buf + head, off - head, &name, buf + 2))
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    a->wrap_key.size = WRAP_KEY_BYTES;
    if (RAND_bytes(a->wrap_key.buffer, WRAP_KEY_BYTES) != 1 ||
        !cfb_encrypt(a->wrap_key.buffer, buf, off)) {
        log_error("OpenSSL cannot make the import's inner wrapper");
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    a->duplicate.size = (UINT16)off;
    return TSS2_RC_SUCCESS;
}

/* RSA: the public modulus and exponent, the prime p half the modulus long. */
static CK_RV import_fill_rsa(struct key_args *a, const struct tpm_key_spec *spec,
                             const struct tpm_key_public *pub, const struct tpm_key_private *priv)
{
    TPMT_PUBLIC *p = &a->c.tmpl.publicArea;
    TPM2B_PRIVATE_KEY_RSA *prime = &a->inner.sensitiveArea.sensitive.rsa;
    size_t n = spec->bits / 8;

    if (spec->bits % 16 != 0 || n > sizeof p->unique.rsa.buffer ||
        !put_padded(p->unique.rsa.buffer, n, pub->modulus, pub->modulus_len) ||
        p->unique.rsa.buffer[0] == 0) {
        log_info("RSA import: the modulus is not %u bits long", spec->bits);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    p->unique.rsa.size = (UINT16)n;
    p->parameters.rsaDetail.exponent = pub->exponent == 65537 ? 0 : pub->exponent;
    if (!put_padded(prime->buffer, n / 2, priv->prime, priv->prime_len)) {
        log_info("RSA import: the prime is longer than half the modulus");
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    prime->size = (UINT16)(n / 2);
    return CKR_OK;
}

/* EC: the public point and the private scalar, each as long as the curve's coordinates. */
static CK_RV import_fill_ec(struct key_args *a, const struct tpm_key_spec *spec,
                            const struct tpm_key_public *pub, const struct tpm_key_private *priv)
{
    TPMS_ECC_POINT *q = &a->c.tmpl.publicArea.unique.ecc;
    TPM2B_ECC_PARAMETER *d = &a->inner.sensitiveArea.sensitive.ecc;
    const struct key_curve *c = curve_find(spec->curve);
    static const uint8_t zero[66];

    if (c == NULL || !put_padded(q->x.buffer, c->bytes, pub->x, pub->coord_len) ||
        !put_padded(q->y.buffer, c->bytes, pub->y, pub->coord_len) ||
        !put_padded(d->buffer, c->bytes, priv->value, priv->value_len) ||
        memcmp(d->buffer, zero, c->bytes) == 0) {
        log_info("EC import: the point or the scalar does not fit curve 0x%x",
                 (unsigned)spec->curve);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    q->x.size = q->y.size = d->size = (UINT16)c->bytes;
    return CKR_OK;
}

/* The object's public area and the sensitive area to wrap, for TPM2_Import. */
static CK_RV import_prepare(struct key_args *a, const struct tpm_key_spec *spec,
                            const uint8_t *auth, size_t auth_len,
                            const struct tpm_key_public *pub, const struct tpm_key_private *priv)
{
    TPMT_SENSITIVE *s = &a->inner.sensitiveArea;
    TSS2_RC rc;
    CK_RV rv;

    key_template(spec, KEY_NAME_ALG, false, true, &a->c.tmpl);
    s->sensitiveType = a->c.tmpl.publicArea.type;
    s->authValue.size = (UINT16)auth_len;
    if (auth_len > 0)
        memcpy(s->authValue.buffer, auth, auth_len);
    /* seedValue stays empty: only a storage parent needs one (checked with libtpms). */
    if (spec->type == TPM_KEY_RSA)
        rv = import_fill_rsa(a, spec, pub, priv);
    else
        rv = import_fill_ec(a, spec, pub, priv);
    if (rv != CKR_OK)
        return rv;
    if ((rc = import_wrap(a)) != TSS2_RC_SUCCESS)
        return tpm_rc_to_rv(rc, "TPM2_Import: the inner wrapper");
    return CKR_OK;
}

/* ---- tpm_key_create ---- */

/*
 * Key material the TPM refuses is a bad attribute value from the caller: a prime that does not
 * divide the modulus (BINDING), a point off the curve, a scalar out of range.
 */
static CK_RV key_rc_to_rv(TSS2_RC rc, bool known, const char *what)
{
    TSS2_RC base = tpm_rc_base(rc);

    if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && known &&
        (base == TPM2_RC_BINDING || base == TPM2_RC_KEY || base == TPM2_RC_ECC_POINT)) {
        log_info("%s: the TPM refuses the key material (0x%x)", what, (unsigned)rc);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && base == TPM2_RC_KEY_SIZE) {
        log_info("%s: the TPM does not do that key size (0x%x)", what, (unsigned)rc);
        return CKR_KEY_SIZE_RANGE;
    }
    return tpm_rc_to_rv(rc, what);
}

/* Symmetric and HMAC keys, generated or known, and generated RSA and EC keys. */
static CK_RV create_key(struct tpm *t, struct key_args *a, const struct tpm_key_spec *spec,
                        const uint8_t *auth, size_t auth_len, const struct tpm_key_private *priv)
{
    TPM2_ALG_ID name_alg = KEY_NAME_ALG;
    bool tpm_makes = priv == NULL;
    TSS2_RC rc = TSS2_RC_SUCCESS;

    if (spec->type == TPM_KEY_HMAC) {
        name_alg = hmac_name_alg(t, spec->bits / 8, priv == NULL, &tpm_makes);
        if (name_alg == 0)
            return CKR_KEY_SIZE_RANGE;
        if (priv == NULL && !tpm_makes)
            a->random_len = spec->bits / 8;
    }
    key_template(spec, name_alg, tpm_makes, false, &a->c.tmpl);
    a->c.sensitive.sensitive.userAuth.size = (UINT16)auth_len;
    if (auth_len > 0)
        memcpy(a->c.sensitive.sensitive.userAuth.buffer, auth, auth_len);
    if (priv != NULL) {
        a->c.sensitive.sensitive.data.size = (UINT16)priv->value_len;
        memcpy(a->c.sensitive.sensitive.data.buffer, priv->value, priv->value_len);
    }
    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_Create(key)");
    while (rc == TSS2_RC_SUCCESS && a->c.sensitive.sensitive.data.size < a->random_len)
        rc = tpm_call(t, a->c.parent, random_once, a);
    if (rc == TSS2_RC_SUCCESS)
        rc = tpm_call(t, a->c.parent, tpm_create_once, &a->c);
    tpm_leave(t);
    return key_rc_to_rv(rc, priv != NULL, "TPM2_Create(key)");
}

static TSS2_RC load_once(struct tpm *t, void *arg)
{
    struct tpm_obj *o = arg;
    TSS2_RC rc = resid_load(t, o);

    if (rc == TSS2_RC_SUCCESS)
        resid_unpin(t, o);
    return rc;
}

/*
 * Loads an imported key once and flushes it. TPM2_Import checks an EC key's point against its
 * scalar, but libtpms checks an RSA prime only when it loads the key (it derives the private
 * exponent then): without this a wrong prime would surface at first use as a device error.
 */
static CK_RV import_check(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *blob)
{
    struct tpm_obj *o = NULL;
    TSS2_RC rc;

    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_Load(imported key)");
    rc = resid_key_new(t, parent, blob, NULL, 0, &o);
    if (rc == TSS2_RC_SUCCESS)
        rc = tpm_call(t, NULL, load_once, o);
    resid_obj_free(t, o);
    tpm_leave(t);
    return key_rc_to_rv(rc, true, "TPM2_Load(imported key)");
}

static CK_RV import_key(struct tpm *t, struct key_args *a, const struct tpm_key_spec *spec,
                        const uint8_t *auth, size_t auth_len, const struct tpm_key_public *pub,
                        const struct tpm_key_private *priv)
{
    TSS2_RC rc;
    CK_RV rv;

    if ((rv = import_prepare(a, spec, auth, auth_len, pub, priv)) != CKR_OK)
        return rv;
    rc = TPMTOK_RC_REENTERED;
    if (tpm_enter(t)) {
        rc = tpm_call(t, a->c.parent, import_once, a);
        tpm_leave(t);
    }
    return key_rc_to_rv(rc, true, "TPM2_Import");
}

CK_RV tpm_key_create(struct tpm *t, struct tpm_obj *parent, const struct tpm_key_spec *spec,
                     const uint8_t *auth, size_t auth_len, const struct tpm_key_public *pub,
                     const struct tpm_key_private *priv, struct tpm_blob *out)
{
    bool import = priv != NULL && (spec->type == TPM_KEY_RSA || spec->type == TPM_KEY_EC);
    struct key_args *a = NULL;
    CK_RV rv;

    memset(out, 0, sizeof *out);
    if (auth_len > KEY_AUTH_MAX || (auth_len > 0 && auth == NULL) ||
        (priv != NULL && !import_args_ok(spec, pub, priv))) {
        log_error("tpm_key_create: bad arguments (key type %d)", (int)spec->type);
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    if ((rv = spec_supported(t, spec)) != CKR_OK) {
        log_info("the TPM does not do key type %d with %u bits, curve 0x%x", (int)spec->type,
                 spec->bits, (unsigned)spec->curve);
        goto out;
    }
    if ((a = calloc(1, sizeof *a)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    a->c.parent = parent;
    if (import)
        rv = import_key(t, a, spec, auth, auth_len, pub, priv);
    else
        rv = create_key(t, a, spec, auth, auth_len, priv);
    if (rv != CKR_OK)
        goto out;
    rv = tpm_rc_to_rv(tpm_blob_from(&a->c.pub, &a->c.priv, out), "marshalling a key blob");
    if (rv == CKR_OK && import)
        rv = import_check(t, parent, out);
out:
    if (rv != CKR_OK)
        tpm_blob_clear(out);
    secret_free(a, sizeof *a);
    return rv;
}

/* ---- tpm_blob_public ---- */

static CK_RV public_ecc(const TPMT_PUBLIC *p, struct tpm_key_public *out)
{
    const struct key_curve *c = curve_find(p->parameters.eccDetail.curveID);
    const TPMS_ECC_POINT *q = &p->unique.ecc;

    if (c == NULL || !put_padded(out->x, c->bytes, q->x.buffer, q->x.size) ||
        !put_padded(out->y, c->bytes, q->y.buffer, q->y.size))
        return CKR_DEVICE_ERROR;
    out->type = TPM_KEY_EC;
    out->curve = c->id;
    out->bits = c->bits;
    out->coord_len = c->bytes;
    return CKR_OK;
}

/*
 * An HMAC key's length is in its public area only when the TPM made it (a digest of nameAlg);
 * a known key or one from GetRandom says nothing of its length there, and bits is 0.
 */
static CK_RV public_fill(const TPMT_PUBLIC *p, struct tpm_key_public *out)
{
    const struct key_hash *h;

    switch (p->type) {
    case TPM2_ALG_RSA:
        if (p->unique.rsa.size > sizeof out->modulus)
            return CKR_DEVICE_ERROR;
        out->type = TPM_KEY_RSA;
        out->bits = p->parameters.rsaDetail.keyBits;
        memcpy(out->modulus, p->unique.rsa.buffer, p->unique.rsa.size);
        out->modulus_len = p->unique.rsa.size;
        out->exponent = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent
                                                         : 65537;
        return CKR_OK;
    case TPM2_ALG_ECC:
        return public_ecc(p, out);
    case TPM2_ALG_SYMCIPHER:
        if (p->parameters.symDetail.sym.algorithm == TPM2_ALG_AES)
            out->type = TPM_KEY_AES;
        else if (p->parameters.symDetail.sym.algorithm == TPM2_ALG_TDES)
            out->type = TPM_KEY_TDES;
        else
            return CKR_DEVICE_ERROR;
        out->bits = p->parameters.symDetail.sym.keyBits.sym;
        return CKR_OK;
    case TPM2_ALG_KEYEDHASH:
        out->type = TPM_KEY_HMAC;
        h = hash_find(p->nameAlg);
        if (h != NULL && (p->objectAttributes & TPMA_OBJECT_SENSITIVEDATAORIGIN))
            out->bits = (unsigned)h->digest * 8;
        return CKR_OK;
    default:
        return CKR_DEVICE_ERROR;
    }
}

CK_RV tpm_blob_public(const struct tpm_blob *blob, struct tpm_key_public *out)
{
    TPM2B_PUBLIC pub = { 0 };
    size_t off = 0;
    TSS2_RC rc;
    CK_RV rv;

    memset(out, 0, sizeof *out);
    rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob->pub, blob->pub_len, &off, &pub);
    if (rc != TSS2_RC_SUCCESS || off != blob->pub_len) {
        log_error("a key's public blob does not parse (0x%x)", (unsigned)rc);
        return CKR_DEVICE_ERROR;
    }
    if ((rv = public_fill(&pub.publicArea, out)) != CKR_OK) {
        log_error("a key's public area is not one tpmtok makes (type 0x%x)",
                  (unsigned)pub.publicArea.type);
        memset(out, 0, sizeof *out);
    }
    return rv;
}
