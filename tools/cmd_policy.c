/*
 * Keys bound to PCRs from the command line: keygen's --pcrs, --pcr-values and --authority
 * become tpmtok's vendor attributes, "policy sign" has an authority approve PCR values (with
 * OpenSSL, no token needed), and "policy add" stores an approval on a token.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "cli.h"
#include "tpm/alg.h"
#include "tpm/approval.h"
#include "tpmtok.h"

#define FILE_MAX (1024 * 1024)

static const struct {
    const char *name;
    CK_MECHANISM_TYPE mech;
    uint16_t alg;
} banks[] = {
    { "sha1", CKM_SHA_1, TPM2_ALG_SHA1 },
    { "sha256", CKM_SHA256, TPM2_ALG_SHA256 },
    { "sha384", CKM_SHA384, TPM2_ALG_SHA384 },
    { "sha512", CKM_SHA512, TPM2_ALG_SHA512 },
};

/* "sha256:0,2,4,7" into a bank and a mask. EXIT_OK or EXIT_USAGE (said). */
static int pcrs_parse(const char *text, size_t *bank, uint32_t *mask)
{
    const char *colon = text != NULL ? strchr(text, ':') : NULL;
    char *end;

    *mask = 0;
    for (*bank = 0; colon != NULL && *bank < sizeof banks / sizeof banks[0]; (*bank)++)
        if (strlen(banks[*bank].name) == (size_t)(colon - text) &&
            strncmp(text, banks[*bank].name, (size_t)(colon - text)) == 0)
            break;
    if (colon == NULL || *bank == sizeof banks / sizeof banks[0])
        goto bad;
    for (const char *p = colon + 1; *p != '\0'; p = *end == ',' ? end + 1 : end) {
        unsigned long n = strtoul(p, &end, 10);
        if (end == p || n > 23 || (*end != ',' && *end != '\0'))
            goto bad;
        *mask |= 1u << n;
    }
    if (*mask != 0)
        return EXIT_OK;
bad:
    errorf("--pcrs takes a bank and PCR numbers 0-23, as sha256:0,2,4,7");
    return EXIT_USAGE;
}

/* --pcr-values: the values as tpm2_pcrread -o writes them (binary), or as hex text. */
static int values_read(const char *path, size_t want, uint8_t **out)
{
    uint8_t *raw = NULL, *hex = NULL;
    size_t len = 0, hex_len = 0;
    int ret;

    if ((ret = file_read(path, FILE_MAX, &raw, &len)) != EXIT_OK)
        return ret;
    if (len == want) {
        *out = raw;
        return EXIT_OK;
    }
    /* Text: hex digits, whitespace between values allowed. */
    for (size_t i = 0, j = 0; i <= len; i++)
        if (i == len || (raw[i] != ' ' && raw[i] != '\n' && raw[i] != '\r' && raw[i] != '\t'))
            raw[j++] = i == len ? '\0' : raw[i];
    if (!hex_parse((const char *)raw, &hex, &hex_len) || hex_len != want) {
        errorf("%s: not the %zu bytes of PCR values --pcrs names (binary, or hex text)", path, want);
        free(hex);
        free(raw);
        return EXIT_FILE;
    }
    free(raw);
    *out = hex;
    return EXIT_OK;
}

/* A public or private key file (PEM or DER) as DER SubjectPublicKeyInfo. */
static int spki_read(const char *path, uint8_t **der, size_t *der_len)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    EVP_PKEY *k = NULL;
    const unsigned char *p;
    unsigned char *q = NULL;
    int n, ret;

    if ((ret = file_read(path, FILE_MAX, &buf, &len)) != EXIT_OK)
        return ret;
    p = buf;
    if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL &&
        (k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
        BIO_free(bio);
        bio = BIO_new_mem_buf(buf, (int)len);
        k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    }
    if (k == NULL)
        k = d2i_PUBKEY(NULL, &p, (long)len);
    ret = EXIT_FILE;
    if (k == NULL || (n = i2d_PUBKEY(k, &q)) <= 0)
        errorf("%s: not a public key OpenSSL can read", path);
    else {
        *der = q;
        *der_len = (size_t)n;
        ret = EXIT_OK;
    }
    EVP_PKEY_free(k);
    BIO_free(bio);
    free(buf);
    return ret;
}

void policy_bufs_free(struct policy_bufs *b)
{
    free(b->values);
    OPENSSL_free(b->spki);
    memset(b, 0, sizeof *b);
}

int policy_attrs(const struct opts *o, CK_ATTRIBUTE *out, CK_ULONG *n, struct policy_bufs *b)
{
    size_t bank;
    uint32_t mask;
    int ret;

    if (o->authority != NULL) {
        if (o->pcr_values != NULL) {
            errorf("keygen: with --authority, the authority's approvals name the PCR values");
            return EXIT_USAGE;
        }
        if ((ret = spki_read(o->authority, &b->spki, &b->spki_len)) != EXIT_OK)
            return ret;
        out[(*n)++] = (CK_ATTRIBUTE){ CKA_TPMTOK_POLICY_AUTHORITY, b->spki, b->spki_len };
        return EXIT_OK;
    }
    if (o->pcrs == NULL) {
        if (o->pcr_values == NULL)
            return EXIT_OK;
        errorf("keygen: --pcr-values needs --pcrs");
        return EXIT_USAGE;
    }
    if ((ret = pcrs_parse(o->pcrs, &bank, &mask)) != EXIT_OK)
        return ret;
    b->sel.hashAlg = banks[bank].mech;
    b->sel.pcrMask = mask;
    out[(*n)++] = (CK_ATTRIBUTE){ CKA_TPMTOK_PCR_SELECTION, &b->sel, sizeof b->sel };
    if (o->pcr_values != NULL) {
        size_t want = (size_t)__builtin_popcount(mask) * tpm_hash_size(banks[bank].alg);
        if ((ret = values_read(o->pcr_values, want, &b->values)) != EXIT_OK)
            return ret;
        out[(*n)++] = (CK_ATTRIBUTE){ CKA_TPMTOK_PCR_VALUES, b->values, want };
    }
    return EXIT_OK;
}

/* ---- policy sign */

static int key_read(const char *path, EVP_PKEY **k)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    const unsigned char *p;
    BIO *bio;
    int ret;

    if ((ret = file_read(path, FILE_MAX, &buf, &len)) != EXIT_OK)
        return ret;
    p = buf;
    bio = BIO_new_mem_buf(buf, (int)len);
    *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    if (*k == NULL)
        *k = d2i_AutoPrivateKey(NULL, &p, (long)len);
    BIO_free(bio);
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (*k == NULL) {
        errorf("%s: not an unencrypted private key OpenSSL can read", path);
        return EXIT_FILE;
    }
    return EXIT_OK;
}

/* The authority's signature over aHash, as the TPM checks it (ECDSA, or RSASSA with SHA-256). */
static int approval_sign(EVP_PKEY *k, const uint8_t ahash[32], TPMT_SIGNATURE *sig)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
    uint8_t out[1024];
    size_t len = sizeof out;
    bool ec = EVP_PKEY_get_base_id(k) == EVP_PKEY_EC;
    int ret = EXIT_FILE;

    memset(sig, 0, sizeof *sig);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
        (!ec && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) ||
        EVP_PKEY_sign(ctx, out, &len, ahash, 32) != 1)
        goto out;
    if (ec) {
        const unsigned char *p = out;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        size_t coord = (size_t)(EVP_PKEY_get_bits(k) + 7) / 8;
        if (es == NULL || coord > sizeof sig->signature.ecdsa.signatureR.buffer) {
            ECDSA_SIG_free(es);
            goto out;
        }
        sig->sigAlg = TPM2_ALG_ECDSA;
        sig->signature.ecdsa.hash = TPM2_ALG_SHA256;
        sig->signature.ecdsa.signatureR.size = sig->signature.ecdsa.signatureS.size = (UINT16)coord;
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig->signature.ecdsa.signatureR.buffer, (int)coord);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig->signature.ecdsa.signatureS.buffer, (int)coord);
        ECDSA_SIG_free(es);
    } else {
        if (len > sizeof sig->signature.rsassa.sig.buffer)
            goto out;
        sig->sigAlg = TPM2_ALG_RSASSA;
        sig->signature.rsassa.hash = TPM2_ALG_SHA256;
        sig->signature.rsassa.sig.size = (UINT16)len;
        memcpy(sig->signature.rsassa.sig.buffer, out, len);
    }
    ret = EXIT_OK;
out:
    if (ret != EXIT_OK)
        errorf("policy sign: the key cannot sign (EC P-256/P-384 or RSA keys can)");
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

static int blob_write(const char *path, const uint8_t *v, size_t len)
{
    FILE *fp = path != NULL ? fopen(path, "wb") : stdout;
    bool ok = fp != NULL && fwrite(v, 1, len, fp) == len;

    if (fp != NULL && fp != stdout)
        ok = fclose(fp) == 0 && ok;
    if (!ok) {
        errorf("%s: cannot write it", path != NULL ? path : "standard output");
        return EXIT_FILE;
    }
    return EXIT_OK;
}

int cmd_policy_sign(struct tool *t, const struct opts *o)
{
    struct tpm_pcr_sel sel;
    struct tpm_policy authority;
    uint8_t *values = NULL, *spki = NULL, digest[32], ahash[32], name[68], blob[2048];
    size_t bank, spki_len = 0, name_len = 0, blob_len = 0, want;
    unsigned char *q = NULL;
    TPMT_SIGNATURE sig;
    EVP_PKEY *k = NULL;
    int n, ret;

    (void)t;
    if (o->key == NULL || o->pcrs == NULL || o->pcr_values == NULL) {
        errorf("policy sign: --key, --pcrs and --pcr-values are required");
        return EXIT_USAGE;
    }
    if ((ret = pcrs_parse(o->pcrs, &bank, &sel.mask)) != EXIT_OK)
        return ret;
    sel.hash = banks[bank].alg;
    want = (size_t)__builtin_popcount(sel.mask) * tpm_hash_size(sel.hash);
    if ((ret = values_read(o->pcr_values, want, &values)) != EXIT_OK ||
        (ret = key_read(o->key, &k)) != EXIT_OK)
        goto out;
    ret = EXIT_FILE;
    if ((n = i2d_PUBKEY(k, &q)) <= 0)
        goto out;
    spki = q;
    spki_len = (size_t)n;
    if (tpm_authority_from_spki(spki, spki_len, &authority, name, &name_len) != CKR_OK) {
        errorf("policy sign: %s is not an EC P-256/P-384 or RSA 2048-4096 key", o->key);
        goto out;
    }
    tpm_pcr_digest(values, want, digest);
    tpm_approval_hash(&sel, digest, ahash);
    if ((ret = approval_sign(k, ahash, &sig)) != EXIT_OK)
        goto out;
    if (!approval_make(&sel, digest, name, name_len, &sig, blob, sizeof blob, &blob_len)) {
        errorf("policy sign: the approval does not fit");
        ret = EXIT_FILE;
        goto out;
    }
    ret = blob_write(o->out, blob, blob_len);
out:
    EVP_PKEY_free(k);
    OPENSSL_free(spki);
    free(values);
    return ret;
}

/* ---- policy add */

int cmd_policy_add(struct tool *t, const struct opts *o)
{
    static const char app[] = TPMTOK_APPROVAL_APPLICATION;
    const char *label = o->label != NULL ? o->label : "approved policy";
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    struct tpm_approval parsed;
    uint8_t *blob = NULL;
    size_t len = 0;
    struct token tok;
    CK_OBJECT_HANDLE h;
    CK_RV rv;
    int ret;

    if ((ret = file_read(o->arg, FILE_MAX, &blob, &len)) != EXIT_OK)
        return ret;
    if (tpm_approval_parse(blob, len, &parsed) != CKR_OK) {
        errorf("%s: not an approval (tpmtok policy sign makes them)", o->arg);
        ret = EXIT_FILE;
        goto out;
    }
    if ((ret = token_select(t, o->token, NULL, &tok)) != EXIT_OK)
        goto out;
    /* Approvals are public, and checked by the TPM: the user's PIN is asked only if given. */
    if (pin_given(o->pin, o->pin_file))
        ret = session_open_login(t, &tok, true, o->pin, o->pin_file, &s);
    else
        ret = session_open(t, &tok, true, &s);
    if (ret != EXIT_OK)
        goto out;
    {
        CK_ATTRIBUTE tmpl[] = {
            { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, sizeof yes },
            { CKA_PRIVATE, &no, sizeof no }, { CKA_LABEL, (void *)label, strlen(label) },
            { CKA_APPLICATION, (void *)app, sizeof app - 1 }, { CKA_VALUE, blob, len },
        };
        if ((rv = t->f->C_CreateObject(s, tmpl, sizeof tmpl / sizeof tmpl[0], &h)) != CKR_OK)
            ret = fail_rv("C_CreateObject", rv);
    }
    if (ret == EXIT_OK)
        printf("added the approval to token %s\n", tok.label);
    t->f->C_CloseSession(s);
out:
    free(blob);
    return ret;
}
