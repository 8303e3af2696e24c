/*
 * bench_p11: the cryptographic figures. Each times what an application calls for one
 * operation (C_SignInit + C_Sign, C_DigestInit .. C_DigestFinal, ...), with keys the token
 * keeps between runs: they are found by label, or made once as token objects by the module
 * itself (C_GenerateKey/KeyPair), so any module is measured with its own keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bench/bench_p11.h"
#include "util/rv.h"

#define DATA_LEN (1024 * 1024)
#define DIGEST_PIECE 100
#define CIPHER_PIECE 4096
/* What the digest in progress has seen when its state is saved: more than a TPM buffer. */
#define OPSTATE_FED (4096 + DIGEST_PIECE)

enum bench_key { KEY_EC, KEY_RSA, KEY_AES, N_KEYS };

static const char *const key_labels[N_KEYS] = {
    [KEY_EC] = "tpmtok-bench-ec-p256", [KEY_RSA] = "tpmtok-bench-rsa-2048",
    [KEY_AES] = "tpmtok-bench-aes-128",
};

static const CK_BYTE p256_params[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE rsa_exponent[] = { 0x01, 0x00, 0x01 };
/* DER of DigestInfo for SHA-256 up to the digest: what CKM_RSA_PKCS signs in TLS 1.2 and ssh. */
static const CK_BYTE sha256_info[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

/* The data every figure works on, filled once with a fixed pattern. */
static CK_BYTE *bench_data(void)
{
    static CK_BYTE *data;

    if (data == NULL && (data = malloc(DATA_LEN)) != NULL)
        for (size_t i = 0; i < DATA_LEN; i++)
            data[i] = (CK_BYTE)(i * 131 + (i >> 8));
    return data;
}

/* The first object of class cls with label; CK_INVALID_HANDLE if none. */
static CK_RV find_by_label(struct p11 *p, CK_OBJECT_CLASS cls, const char *label,
                           CK_OBJECT_HANDLE *h)
{
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) },
    };
    CK_ULONG got = 0;
    CK_RV rv;

    *h = CK_INVALID_HANDLE;
    rv = p->f->C_FindObjectsInit(p->s, tmpl, 2);
    if (p11_check(p, "C_FindObjectsInit", rv) != CKR_OK)
        return rv;
    rv = p11_check(p, "C_FindObjects", p->f->C_FindObjects(p->s, h, 1, &got));
    p->f->C_FindObjectsFinal(p->s);
    if (got == 0)
        *h = CK_INVALID_HANDLE;
    return rv;
}

/* A signing key pair; token says whether it persists (the bench keys) or not. */
static CK_RV make_pair(struct p11 *p, enum bench_key which, CK_BBOOL token, const char *label,
                       CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_MECHANISM rsa_gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG label_len = (CK_ULONG)strlen(label);
    CK_ATTRIBUTE ec_pub[] = {
        { CKA_TOKEN, &token, sizeof token }, { CKA_LABEL, (void *)label, label_len },
        { CKA_VERIFY, &yes, sizeof yes },
        { CKA_EC_PARAMS, (void *)p256_params, sizeof p256_params },
    };
    CK_ATTRIBUTE rsa_pub[] = {
        { CKA_TOKEN, &token, sizeof token }, { CKA_LABEL, (void *)label, label_len },
        { CKA_VERIFY, &yes, sizeof yes }, { CKA_MODULUS_BITS, &bits, sizeof bits },
        { CKA_PUBLIC_EXPONENT, (void *)rsa_exponent, sizeof rsa_exponent },
    };
    CK_ATTRIBUTE priv_tmpl[] = {
        { CKA_TOKEN, &token, sizeof token }, { CKA_LABEL, (void *)label, label_len },
        { CKA_SIGN, &yes, sizeof yes }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes },
    };
    bool ec = which == KEY_EC;
    CK_RV rv = p->f->C_GenerateKeyPair(p->s, ec ? &ec_gen : &rsa_gen, ec ? ec_pub : rsa_pub,
                                       ec ? 4 : 5, priv_tmpl, 5, pub, priv);

    return p11_check(p, "C_GenerateKeyPair", rv);
}

static CK_RV make_aes(struct p11 *p, CK_OBJECT_HANDLE *key)
{
    CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_ULONG len = 16;
    CK_BBOOL yes = CK_TRUE;
    const char *label = key_labels[KEY_AES];
    CK_ATTRIBUTE tmpl[] = {
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) },
        { CKA_VALUE_LEN, &len, sizeof len }, { CKA_ENCRYPT, &yes, sizeof yes },
        { CKA_DECRYPT, &yes, sizeof yes }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes },
    };

    return p11_check(p, "C_GenerateKey",
                     p->f->C_GenerateKey(p->s, &gen, tmpl, sizeof tmpl / sizeof tmpl[0], key));
}

/* The bench key which (private key, or the AES key), made on first use. */
static CK_RV bench_key(struct p11 *p, enum bench_key which, CK_OBJECT_HANDLE *key)
{
    CK_OBJECT_CLASS cls = which == KEY_AES ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
    CK_OBJECT_HANDLE pub;
    CK_RV rv;

    if ((rv = find_by_label(p, cls, key_labels[which], key)) != CKR_OK ||
        *key != CK_INVALID_HANDLE)
        return rv;
    if (which == KEY_AES)
        return make_aes(p, key);
    return make_pair(p, which, CK_TRUE, key_labels[which], &pub, key);
}

/* ---- signatures: C_SignInit + C_Sign of a SHA-256 digest, as TLS and ssh ask for them */

struct sign_arg {
    CK_MECHANISM mech;
    CK_OBJECT_HANDLE key;
    CK_BYTE in[sizeof sha256_info + 32];
    CK_ULONG in_len;
};

static CK_RV sign_one(struct p11 *p, void *arg, unsigned i)
{
    struct sign_arg *a = arg;
    CK_BYTE sig[512];
    CK_ULONG sig_len = sizeof sig;
    CK_RV rv;

    a->in[a->in_len - 1] = (CK_BYTE)i;   /* a new digest every time */
    if ((rv = p11_check(p, "C_SignInit", p->f->C_SignInit(p->s, &a->mech, a->key))) != CKR_OK)
        return rv;
    return p11_check(p, "C_Sign", p->f->C_Sign(p->s, a->in, a->in_len, sig, &sig_len));
}

static void bench_sign_with(struct p11 *p, const char *figure, enum bench_key which,
                            CK_MECHANISM mech, bool digest_info)
{
    struct sign_arg a = { .mech = mech, .in_len = 32 };
    struct timed t = { 0 };
    CK_RV rv;

    if (!bench_wanted(p->out, figure))
        return;
    memset(a.in, 0x5a, sizeof a.in);
    if (digest_info) {
        memcpy(a.in, sha256_info, sizeof sha256_info);
        a.in_len = sizeof sha256_info + 32;
    }
    if ((rv = bench_key(p, which, &a.key)) == CKR_OK)
        rv = p11_run(p, sign_one, NULL, &a, 1000000, &t);
    p11_report(p, figure, BENCH_PER_S, 0, &t, rv);
}

void bench_sign(struct p11 *p)
{
    static CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    const CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
    const CK_MECHANISM pkcs1 = { CKM_RSA_PKCS, NULL, 0 };
    const CK_MECHANISM rsa_pss = { CKM_RSA_PKCS_PSS, &pss, sizeof pss };

    bench_sign_with(p, "sign_ecdsa_p256", KEY_EC, ecdsa, false);
    bench_sign_with(p, "sign_rsa2048_pkcs1", KEY_RSA, pkcs1, true);
    bench_sign_with(p, "sign_rsa2048_pss", KEY_RSA, rsa_pss, false);
}

/* ---- SHA-256 over 1 MiB: one C_Digest, or updates of `piece` bytes */

static CK_RV digest_one(struct p11 *p, void *arg, unsigned i)
{
    const CK_ULONG *piece = arg;
    CK_MECHANISM mech = { CKM_SHA256, NULL, 0 };
    const CK_BYTE *data = bench_data();
    CK_BYTE md[32];
    CK_ULONG md_len = sizeof md;
    CK_RV rv;

    (void)i;
    if ((rv = p11_check(p, "C_DigestInit", p->f->C_DigestInit(p->s, &mech))) != CKR_OK)
        return rv;
    if (*piece == 0)
        return p11_check(p, "C_Digest",
                         p->f->C_Digest(p->s, (CK_BYTE_PTR)data, DATA_LEN, md, &md_len));
    for (CK_ULONG off = 0; off < DATA_LEN; off += *piece) {
        CK_ULONG len = DATA_LEN - off < *piece ? DATA_LEN - off : *piece;
        rv = p->f->C_DigestUpdate(p->s, (CK_BYTE_PTR)data + off, len);
        if (p11_check(p, "C_DigestUpdate", rv) != CKR_OK)
            return rv;
    }
    return p11_check(p, "C_DigestFinal", p->f->C_DigestFinal(p->s, md, &md_len));
}

static void bench_digest_with(struct p11 *p, const char *figure, CK_ULONG piece)
{
    struct timed t = { 0 };
    CK_RV rv;

    if (!bench_wanted(p->out, figure))
        return;
    rv = bench_data() ? p11_run(p, digest_one, NULL, &piece, 10000, &t) : CKR_HOST_MEMORY;
    p11_report(p, figure, BENCH_MIB_S, DATA_LEN / BENCH_MIB, &t, rv);
}

void bench_digest(struct p11 *p)
{
    bench_digest_with(p, "digest_sha256_1call", 0);
    bench_digest_with(p, "digest_sha256_100B", DIGEST_PIECE);
}

/* ---- AES-128-CBC over 1 MiB: one call, or updates of `piece` bytes */

struct cipher_arg {
    CK_OBJECT_HANDLE key;
    bool decrypt;
    CK_ULONG piece;    /* 0: one call */
    CK_BYTE *out;      /* DATA_LEN bytes */
};

static CK_RV cipher_init(struct p11 *p, const struct cipher_arg *a)
{
    static CK_BYTE iv[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    CK_MECHANISM mech = { CKM_AES_CBC, iv, sizeof iv };

    if (a->decrypt)
        return p11_check(p, "C_DecryptInit", p->f->C_DecryptInit(p->s, &mech, a->key));
    return p11_check(p, "C_EncryptInit", p->f->C_EncryptInit(p->s, &mech, a->key));
}

static CK_RV cipher_update(struct p11 *p, const struct cipher_arg *a, CK_ULONG off, CK_ULONG len,
                           CK_ULONG *out_len)
{
    CK_BYTE_PTR in = bench_data() + off;
    CK_RV rv;

    *out_len = DATA_LEN - off;
    if (a->decrypt) {
        rv = p->f->C_DecryptUpdate(p->s, in, len, a->out + off, out_len);
        return p11_check(p, "C_DecryptUpdate", rv);
    }
    rv = p->f->C_EncryptUpdate(p->s, in, len, a->out + off, out_len);
    return p11_check(p, "C_EncryptUpdate", rv);
}

static CK_RV cipher_one(struct p11 *p, void *arg, unsigned i)
{
    struct cipher_arg *a = arg;
    CK_BYTE_PTR data = bench_data();
    CK_BYTE last[16];   /* CBC without padding has nothing left; a NULL would only ask the size */
    CK_ULONG out_len = DATA_LEN, off;
    CK_RV rv;

    (void)i;
    if ((rv = cipher_init(p, a)) != CKR_OK)
        return rv;
    if (a->piece == 0 && a->decrypt)
        return p11_check(p, "C_Decrypt", p->f->C_Decrypt(p->s, data, DATA_LEN, a->out, &out_len));
    if (a->piece == 0)
        return p11_check(p, "C_Encrypt", p->f->C_Encrypt(p->s, data, DATA_LEN, a->out, &out_len));
    for (off = 0; off < DATA_LEN; off += a->piece)
        if ((rv = cipher_update(p, a, off, a->piece, &out_len)) != CKR_OK)
            return rv;
    out_len = sizeof last;
    if (a->decrypt)
        return p11_check(p, "C_DecryptFinal", p->f->C_DecryptFinal(p->s, last, &out_len));
    return p11_check(p, "C_EncryptFinal", p->f->C_EncryptFinal(p->s, last, &out_len));
}

static void bench_cipher_with(struct p11 *p, const char *figure, bool decrypt, CK_ULONG piece)
{
    struct cipher_arg a = { .decrypt = decrypt, .piece = piece };
    struct timed t = { 0 };
    CK_RV rv = CKR_HOST_MEMORY;

    if (!bench_wanted(p->out, figure))
        return;
    if (bench_data() != NULL && (a.out = malloc(DATA_LEN)) != NULL &&
        (rv = bench_key(p, KEY_AES, &a.key)) == CKR_OK)
        rv = p11_run(p, cipher_one, NULL, &a, 10000, &t);
    p11_report(p, figure, BENCH_MIB_S, DATA_LEN / BENCH_MIB, &t, rv);
    free(a.out);
}

void bench_cipher(struct p11 *p)
{
    bench_cipher_with(p, "aes128_cbc_enc_1call", false, 0);
    bench_cipher_with(p, "aes128_cbc_enc_4k", false, CIPHER_PIECE);
    bench_cipher_with(p, "aes128_cbc_dec_1call", true, 0);
    bench_cipher_with(p, "aes128_cbc_dec_4k", true, CIPHER_PIECE);
}

/* ---- C_GetOperationState + C_SetOperationState of a SHA-256 digest in progress */

struct opstate_arg {
    CK_BYTE *state;
    CK_ULONG cap;
};

static CK_RV opstate_one(struct p11 *p, void *arg, unsigned i)
{
    struct opstate_arg *a = arg;
    CK_ULONG len = a->cap;
    CK_RV rv;

    (void)i;
    rv = p->f->C_GetOperationState(p->s, a->state, &len);
    if (p11_check(p, "C_GetOperationState", rv) != CKR_OK)
        return rv;
    rv = p->f->C_SetOperationState(p->s, a->state, len, CK_INVALID_HANDLE, CK_INVALID_HANDLE);
    return p11_check(p, "C_SetOperationState", rv);
}

/* A digest that has seen OPSTATE_FED bytes, and room for its state. */
static CK_RV opstate_start(struct p11 *p, struct opstate_arg *a)
{
    CK_MECHANISM mech = { CKM_SHA256, NULL, 0 };
    CK_RV rv;

    if ((rv = p11_check(p, "C_DigestInit", p->f->C_DigestInit(p->s, &mech))) != CKR_OK)
        return rv;
    rv = p->f->C_DigestUpdate(p->s, bench_data(), OPSTATE_FED);
    if (p11_check(p, "C_DigestUpdate", rv) != CKR_OK)
        return rv;
    rv = p->f->C_GetOperationState(p->s, NULL, &a->cap);
    if (p11_check(p, "C_GetOperationState", rv) != CKR_OK)
        return rv;
    if ((a->state = malloc(a->cap)) == NULL)
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

void bench_opstate(struct p11 *p)
{
    struct opstate_arg a = { NULL, 0 };
    struct timed t = { 0 };
    CK_BYTE md[32];
    CK_ULONG md_len = sizeof md;
    CK_RV rv = CKR_HOST_MEMORY;

    if (!bench_wanted(p->out, "opstate_get_set"))
        return;
    if (bench_data() != NULL && (rv = opstate_start(p, &a)) == CKR_OK)
        rv = p11_run(p, opstate_one, NULL, &a, 1000000, &t);
    /* Ends the digest (and proves the last state restored works), untimed. */
    if (rv == CKR_OK)
        rv = p11_check(p, "C_DigestFinal", p->f->C_DigestFinal(p->s, md, &md_len));
    else
        p->f->C_DigestFinal(p->s, md, &md_len);
    p11_report(p, "opstate_get_set", BENCH_PER_S, 0, &t, rv);
    free(a.state);
}

/* ---- key generation: token keys, as an application makes them; destroyed untimed */

struct keygen_arg {
    enum bench_key which;
    CK_OBJECT_HANDLE pub, priv;
};

static CK_RV keygen_one(struct p11 *p, void *arg, unsigned i)
{
    struct keygen_arg *a = arg;

    (void)i;
    return make_pair(p, a->which, CK_TRUE, "tpmtok-bench-keygen", &a->pub, &a->priv);
}

static CK_RV keygen_destroy(struct p11 *p, void *arg, unsigned i)
{
    struct keygen_arg *a = arg;
    CK_RV rv;

    (void)i;
    rv = p11_check(p, "C_DestroyObject", p->f->C_DestroyObject(p->s, a->priv));
    if (rv == CKR_OK)
        rv = p11_check(p, "C_DestroyObject", p->f->C_DestroyObject(p->s, a->pub));
    return rv;
}

static void bench_keygen_with(struct p11 *p, const char *figure, enum bench_key which,
                              unsigned max)
{
    struct keygen_arg a = { .which = which };
    struct timed t = { 0 };
    CK_RV rv;

    if (!bench_wanted(p->out, figure))
        return;
    rv = p11_run(p, keygen_one, keygen_destroy, &a, max, &t);
    p11_report(p, figure, BENCH_MS, 0, &t, rv);
}

void bench_keygen(struct p11 *p)
{
    bench_keygen_with(p, "keygen_ec_p256", KEY_EC, 1000);
    /* RSA key generation takes a TPM seconds at times: a few keys give the figure. */
    bench_keygen_with(p, "keygen_rsa2048", KEY_RSA, 10);
}

/* ---- C_GenerateRandom of 32 bytes */

static CK_RV random_one(struct p11 *p, void *arg, unsigned i)
{
    CK_BYTE buf[32];

    (void)arg;
    (void)i;
    return p11_check(p, "C_GenerateRandom", p->f->C_GenerateRandom(p->s, buf, sizeof buf));
}

void bench_random(struct p11 *p)
{
    struct timed t = { 0 };
    CK_RV rv;

    if (!bench_wanted(p->out, "random_32"))
        return;
    rv = p11_run(p, random_one, NULL, NULL, 10000000, &t);
    p11_report(p, "random_32", BENCH_PER_S, 0, &t, rv);
}
