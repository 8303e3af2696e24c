/*
 * C_GetOperationState / C_SetOperationState, from the outside: every saveable mechanism saved
 * at many points, finished in another session (and in another process) and compared with
 * OpenSSL; the dual-function pairs saved together; the length convention; what cannot be
 * saved; every refusal of a state (key arguments, changed keys, altered bytes, another token,
 * a TPM reset, no login), each leaving the target session's operations as they were;
 * context-specific logins; and no TPM object left behind.
 *
 * Keys are token objects with labels, so a child process and a module initialized again after
 * a TPM reset can find them.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/token_ops.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;
static uint8_t msg[5000], alt[5000];

/* Every operation works on MSG_LEN bytes: more than two TPM buffers (1024 bytes) of data. */
#define MSG_LEN 3000
#define MAX_OUT (MSG_LEN + 512)

static uint8_t aes_value[32], mac_value[32], aes_iv[16];
static CK_AES_CTR_PARAMS ctr = { .ulCounterBits = 128 };
static CK_ULONG mac_len = 17;   /* _HMAC_GENERAL: a MAC cut to an odd length */
static CK_RSA_PKCS_PSS_PARAMS pss[] = {
    { CKM_SHA_1, CKG_MGF1_SHA1, 20 },
    { CKM_SHA256, CKG_MGF1_SHA256, 32 },
    { CKM_SHA384, CKG_MGF1_SHA384, 48 },
    { CKM_SHA512, CKG_MGF1_SHA512, 64 },
};
static CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
static EVP_PKEY *ossl_rsa, *ossl_ec;

/* Split points: bytes fed before saving. Every one for one mechanism of each family. */
static const size_t every_split[] = { 0, 1, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025, 2049 };
static const size_t some_splits[] = { 0, 17, 1024, 2049 };
/* Part sizes: before saving, in the restored session, in the saved session. */
static const size_t lead_parts[] = { 13, 0, 700 };
static const size_t rest_parts[] = { 1, 7, 100, 0, 1023, 1025 };
static const size_t orig_parts[] = { 333, 16, 5 };

/* ---- keys */

/* The token keys every test has; then non-private session keys the login test makes. */
enum key_slot {
    NO_KEY, KEY_AES, KEY_MAC, KEY_RSA, KEY_RSA_PUB, KEY_EC, KEY_EC_PUB, N_TOKEN_KEYS,
    KEY_OPEN_AES = N_TOKEN_KEYS, KEY_OPEN_MAC, N_KEYS
};
static const struct {
    const char *label;
    CK_OBJECT_CLASS cls;
} key_names[N_TOKEN_KEYS] = {
    [KEY_AES] = { "opstate aes", CKO_SECRET_KEY },  [KEY_MAC] = { "opstate mac", CKO_SECRET_KEY },
    [KEY_RSA] = { "opstate rsa", CKO_PRIVATE_KEY }, [KEY_RSA_PUB] = { "opstate rsa", CKO_PUBLIC_KEY },
    [KEY_EC] = { "opstate ec", CKO_PRIVATE_KEY },   [KEY_EC_PUB] = { "opstate ec", CKO_PUBLIC_KEY },
};
static CK_OBJECT_HANDLE keys[N_KEYS];   /* keys[NO_KEY] stays CK_INVALID_HANDLE */
static EVP_PKEY *rsa_view, *ec_view;    /* the token's public keys as OpenSSL reads them */

static CK_RV make_key(enum key_slot k)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE extra[] = { { CKA_TOKEN, &yes, 1 },
                             { CKA_LABEL, (void *)key_names[k].label, strlen(key_names[k].label) } };

    switch (k) {
    case KEY_AES: return tk_import_secret(f, s, CKK_AES, aes_value, 32, extra, 2, &keys[k]);
    case KEY_MAC: return tk_import_secret(f, s, CKK_GENERIC_SECRET, mac_value, 32, extra, 2, &keys[k]);
    case KEY_RSA: return tk_import_private(f, s, ossl_rsa, extra, 2, &keys[k]);
    case KEY_RSA_PUB: return tk_import_public(f, s, ossl_rsa, extra, 2, &keys[k]);
    case KEY_EC: return tk_import_private(f, s, ossl_ec, extra, 2, &keys[k]);
    default: return tk_import_public(f, s, ossl_ec, extra, 2, &keys[k]);
    }
}

/* Looks the keys up again, as another process or a new C_Initialize must. No cmocka here. */
static bool find_keys(CK_SESSION_HANDLE h)
{
    for (int k = KEY_AES; k < N_TOKEN_KEYS; k++) {
        CK_OBJECT_CLASS cls = key_names[k].cls;
        CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls },
                             { CKA_LABEL, (void *)key_names[k].label, strlen(key_names[k].label) } };
        if (find_all(f, h, t, 2, &keys[k], 1) != 1)
            return false;
    }
    return true;
}

/* ---- fixtures */

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(msg, sizeof msg, 7);
    cu_fill(alt, sizeof alt, 8);
    cu_fill(aes_value, sizeof aes_value, 81);
    cu_fill(mac_value, sizeof mac_value, 82);
    cu_fill(aes_iv, sizeof aes_iv, 83);
    cu_fill(ctr.cb, sizeof ctr.cb, 84);
    ossl_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ossl_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return ossl_rsa != NULL && ossl_ec != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(ossl_rsa);
    EVP_PKEY_free(ossl_ec);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "opstate", &s);
    if (slot == (CK_SLOT_ID)-1)
        return -1;
    for (int k = KEY_AES; k < N_TOKEN_KEYS; k++)
        if (make_key((enum key_slot)k) != CKR_OK)
            return -1;
    rsa_view = public_key_of(f, s, keys[KEY_RSA_PUB]);
    ec_view = public_key_of(f, s, keys[KEY_EC_PUB]);
    return rsa_view != NULL && ec_view != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    EVP_PKEY_free(rsa_view);
    EVP_PKEY_free(ec_view);
    rsa_view = ec_view = NULL;
    f->C_Finalize(NULL);
    return 0;
}

/* The state of session s, malloc'ed. */
static uint8_t *get_state(CK_SESSION_HANDLE from, CK_ULONG *len)
{
    uint8_t *st;

    *len = 0;
    assert_int_equal(f->C_GetOperationState(from, NULL, len), CKR_OK);
    assert_non_null(st = malloc(*len));
    assert_int_equal(f->C_GetOperationState(from, st, len), CKR_OK);
    return st;
}

static CK_SESSION_HANDLE open_on(CK_SLOT_ID on, CK_FLAGS flags)
{
    CK_SESSION_HANDLE h;

    assert_int_equal(f->C_OpenSession(on, flags, NULL, NULL, &h), CKR_OK);
    return h;
}

static CK_SESSION_HANDLE new_session(void)
{
    return open_on(slot, RW_SESSION);
}

/* ---- operations as data: what is run, on what, and what OpenSSL says it must give */

enum kind { DIGEST, SIGN, VERIFY, ENCRYPT, DECRYPT };
static const char *const kind_names[] = { "digest", "sign", "verify", "encrypt", "decrypt" };

struct opcase {
    enum kind kind;
    CK_MECHANISM_TYPE type;
    enum key_slot key;
    bool every_split;
};

struct job {
    const struct opcase *c;
    CK_MECHANISM m;
    const uint8_t *plain;      /* the message */
    size_t plain_len;
    const uint8_t *in;         /* what the operation is fed: the message, or its cipher text */
    size_t len;
    uint8_t ct[MAX_OUT];       /* decryption: the cipher text */
    uint8_t sig[1024];         /* verification: a right signature */
    size_t sig_len;
};

/* Output collected across calls (cipher text, plain text, a digest or a signature). */
struct out {
    uint8_t b[MAX_OUT];
    CK_ULONG n;
};

static CK_MECHANISM mechanism(CK_MECHANISM_TYPE type)
{
    switch (type) {
    case CKM_AES_CBC: case CKM_AES_CBC_PAD: case CKM_AES_CFB128:
        return (CK_MECHANISM){ type, aes_iv, sizeof aes_iv };
    case CKM_AES_CTR:
        return (CK_MECHANISM){ type, &ctr, sizeof ctr };
    case CKM_SHA_1_HMAC_GENERAL: case CKM_SHA256_HMAC_GENERAL: case CKM_SHA384_HMAC_GENERAL:
    case CKM_SHA512_HMAC_GENERAL:
        return (CK_MECHANISM){ type, &mac_len, sizeof mac_len };
    case CKM_SHA1_RSA_PKCS_PSS: return (CK_MECHANISM){ type, &pss[0], sizeof pss[0] };
    case CKM_RSA_PKCS_PSS: /* fall through: hashed outside, SHA-256 */
    case CKM_SHA256_RSA_PKCS_PSS: return (CK_MECHANISM){ type, &pss[1], sizeof pss[1] };
    case CKM_SHA384_RSA_PKCS_PSS: return (CK_MECHANISM){ type, &pss[2], sizeof pss[2] };
    case CKM_SHA512_RSA_PKCS_PSS: return (CK_MECHANISM){ type, &pss[3], sizeof pss[3] };
    case CKM_RSA_PKCS_OAEP: return (CK_MECHANISM){ type, &oaep, sizeof oaep };
    default: return (CK_MECHANISM){ type, NULL, 0 };
    }
}

/* ECB and CBC take whole blocks only. */
static size_t msg_len_for(CK_MECHANISM_TYPE type)
{
    return type == CKM_AES_ECB || type == CKM_AES_CBC ? MSG_LEN / 16 * 16 + 16 : MSG_LEN;
}

static bool is_cipher(const struct job *j)
{
    return j->c->kind == ENCRYPT || j->c->kind == DECRYPT;
}

/* PSS and ECDSA signatures differ each time: OpenSSL verifies them instead of comparing. */
static bool randomized(const struct job *j)
{
    return j->c->key == KEY_EC || (j->c->key == KEY_RSA && j->m.pParameter != NULL);
}

/* What OpenSSL signs, or MACs, for the job's message. */
static size_t reference_signature(const struct job *j, uint8_t sig[1024])
{
    EVP_PKEY *k = j->c->key == KEY_RSA || j->c->key == KEY_RSA_PUB ? ossl_rsa : ossl_ec;
    size_t n = 0;

    if (j->c->key == KEY_MAC || j->c->key == KEY_OPEN_MAC)
        return cu_hmac(&j->m, mac_value, 32, j->plain, j->plain_len, sig);
    if (cu_sign(k, &j->m, j->plain, j->plain_len, sig, &n) != 0)
        fail_msg("OpenSSL cannot sign with %s", tk_mech_name(j->c->type));
    return n;
}

static void job_init(struct job *j, const struct opcase *c, const uint8_t *plain, size_t len)
{
    size_t ct_len;

    j->c = c;
    j->m = mechanism(c->type);
    j->plain = j->in = plain;
    j->plain_len = j->len = len;
    j->sig_len = 0;
    if (c->kind == DECRYPT) {
        assert_int_equal(cu_aes(&j->m, 1, aes_value, 32, plain, len, j->ct, &ct_len), 0);
        j->in = j->ct;
        j->len = ct_len;
    }
    if (c->kind == VERIFY)
        j->sig_len = reference_signature(j, j->sig);
}

/* The cipher output a block or stream mode owes after k bytes of input. */
static size_t output_after(const struct job *j, size_t k)
{
    switch (j->c->type) {
    case CKM_AES_CTR: case CKM_AES_CFB128:
        return k;
    case CKM_AES_CBC_PAD:
        /* Decrypting, the last whole block may be all padding: it waits for the final. */
        if (j->c->kind == DECRYPT)
            return k == 0 ? 0 : (k - 1) / 16 * 16;
        return k / 16 * 16;
    default:
        return k / 16 * 16;
    }
}

/* The helpers from here to the tests make no cmocka assertion: the forked child uses them. */

static CK_RV begin(CK_SESSION_HANDLE h, const struct job *j)
{
    CK_MECHANISM m = j->m;
    CK_OBJECT_HANDLE k = keys[j->c->key];

    switch (j->c->kind) {
    case DIGEST: return f->C_DigestInit(h, &m);
    case SIGN: return f->C_SignInit(h, &m, k);
    case VERIFY: return f->C_VerifyInit(h, &m, k);
    case ENCRYPT: return f->C_EncryptInit(h, &m, k);
    default: return f->C_DecryptInit(h, &m, k);
    }
}

/* One update of a kind; cipher output is appended to o. */
static CK_RV update(CK_SESSION_HANDLE h, enum kind kind, const uint8_t *in, size_t len,
                    struct out *o)
{
    CK_ULONG got = sizeof o->b - o->n;
    CK_RV rv;

    switch (kind) {
    case DIGEST: return f->C_DigestUpdate(h, (CK_BYTE *)in, len);
    case SIGN: return f->C_SignUpdate(h, (CK_BYTE *)in, len);
    case VERIFY: return f->C_VerifyUpdate(h, (CK_BYTE *)in, len);
    case ENCRYPT: rv = f->C_EncryptUpdate(h, (CK_BYTE *)in, len, o->b + o->n, &got); break;
    default: rv = f->C_DecryptUpdate(h, (CK_BYTE *)in, len, o->b + o->n, &got); break;
    }
    if (rv == CKR_OK)
        o->n += got;
    return rv;
}

/* Feeds the job's input from..to in parts of the sizes in turn. */
static CK_RV feed(CK_SESSION_HANDLE h, const struct job *j, size_t from, size_t to,
                  const size_t *sizes, size_t n_sizes, struct out *o)
{
    size_t turn = 0, part;
    CK_RV rv = CKR_OK;

    while (from < to && rv == CKR_OK) {
        part = sizes[turn++ % n_sizes];
        part = part < to - from ? part : to - from;
        rv = update(h, j->c->kind, j->in + from, part, o);
        from += part;
    }
    return rv;
}

/* Ends the job: its result is appended to o; a verification checks j->sig, altered if wrong. */
static CK_RV finish(CK_SESSION_HANDLE h, const struct job *j, bool wrong, struct out *o)
{
    CK_ULONG got = sizeof o->b - o->n;
    uint8_t sig[1024];
    CK_RV rv;

    switch (j->c->kind) {
    case DIGEST: rv = f->C_DigestFinal(h, o->b + o->n, &got); break;
    case SIGN: rv = f->C_SignFinal(h, o->b + o->n, &got); break;
    case VERIFY:
        memcpy(sig, j->sig, j->sig_len);
        sig[0] ^= wrong ? 0x01 : 0x00;
        return f->C_VerifyFinal(h, sig, j->sig_len);
    case ENCRYPT: rv = f->C_EncryptFinal(h, o->b + o->n, &got); break;
    default: rv = f->C_DecryptFinal(h, o->b + o->n, &got); break;
    }
    if (rv == CKR_OK)
        o->n += got;
    return rv;
}

static CK_RV run_rest(CK_SESSION_HANDLE h, const struct job *j, size_t from, const size_t *sizes,
                      size_t n_sizes, bool wrong, struct out *o)
{
    CK_RV rv;

    if ((rv = feed(h, j, from, j->len, sizes, n_sizes, o)) != CKR_OK)
        return rv;
    return finish(h, j, wrong, o);
}

/* C_SetOperationState with key in the argument the job's kind needs. */
static CK_RV restore_with(CK_SESSION_HANDLE h, const struct job *j, const uint8_t *st,
                          CK_ULONG len, CK_OBJECT_HANDLE key)
{
    CK_OBJECT_HANDLE enc = is_cipher(j) ? key : CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE auth = j->c->kind == SIGN || j->c->kind == VERIFY ? key : CK_INVALID_HANDLE;

    return f->C_SetOperationState(h, (CK_BYTE *)st, len, enc, auth);
}

static CK_RV restore(CK_SESSION_HANDLE h, const struct job *j, const uint8_t *st, CK_ULONG len)
{
    return restore_with(h, j, st, len, keys[j->c->key]);
}

/* A state saved from a session of its own after split bytes, with the output they gave. */
struct saved {
    const struct job *j;
    size_t split;
    uint8_t *st;
    CK_ULONG st_len;
    struct out prefix;
};

/* Restores sv in h and runs it to the end there. */
static CK_RV finish_saved(CK_SESSION_HANDLE h, const struct saved *sv, struct out *o)
{
    CK_RV rv;

    *o = sv->prefix;
    if ((rv = restore(h, sv->j, sv->st, sv->st_len)) != CKR_OK)
        return rv;
    return run_rest(h, sv->j, sv->split, rest_parts, COUNT(rest_parts), false, o);
}

/* ---- checks (cmocka from here on) */

static void expect_result(const struct job *j, const struct out *o, const char *how, size_t split)
{
    const char *name = tk_mech_name(j->c->type), *kind = kind_names[j->c->kind];
    uint8_t want[MAX_OUT];
    size_t n = 0;

    switch (j->c->kind) {
    case DIGEST:
        n = cu_digest(j->c->type, j->plain, j->plain_len, want);
        break;
    case SIGN:
        if (randomized(j)) {
            if (cu_verify(j->c->key == KEY_EC ? ec_view : rsa_view, &j->m, j->plain, j->plain_len,
                          o->b, o->n) != 1)
                fail_msg("%s %s %s after %zu bytes: OpenSSL finds the signature invalid: %s", kind,
                         name, how, split, cu_hex(o->b, o->n));
            return;
        }
        n = reference_signature(j, want);
        break;
    case VERIFY:
        return;   /* its result is the code of C_VerifyFinal */
    case ENCRYPT:
        assert_int_equal(cu_aes(&j->m, 1, aes_value, 32, j->plain, j->plain_len, want, &n), 0);
        break;
    case DECRYPT:
        memcpy(want, j->plain, j->plain_len);
        n = j->plain_len;
        break;
    }
    tk_expect_bytes(o->b, o->n, want, n, "%s %s %s after %zu bytes", kind, name, how, split);
}

static void save_in(CK_SESSION_HANDLE h, struct saved *sv, const struct job *j, size_t split)
{
    sv->j = j;
    sv->split = split;
    sv->prefix.n = 0;
    assert_int_equal(begin(h, j), CKR_OK);
    assert_int_equal(feed(h, j, 0, split, lead_parts, COUNT(lead_parts), &sv->prefix), CKR_OK);
    sv->st = get_state(h, &sv->st_len);
}

/* Saves from a session that is then closed: the state outlives it. */
static void save_after(struct saved *sv, const struct job *j, size_t split)
{
    CK_SESSION_HANDLE h = new_session();

    save_in(h, sv, j, split);
    assert_int_equal(f->C_CloseSession(h), CKR_OK);
}

/* Restores sv in a new session of the slot; it must finish there with the right result. */
static void expect_finishes(const struct saved *sv, const char *how)
{
    CK_SESSION_HANDLE h = new_session();
    struct out o;

    tk_expect_rv(finish_saved(h, sv, &o), CKR_OK, "%s %s state %s", kind_names[sv->j->c->kind],
                 tk_mech_name(sv->j->c->type), how);
    expect_result(sv->j, &o, how, sv->split);
    assert_int_equal(f->C_CloseSession(h), CKR_OK);
}

/*
 * The heart of it: split bytes in, saved, restored in a new session; then both sessions finish
 * (the saved one in other parts and, verifying, with a wrong signature) and both are right.
 */
static void continue_elsewhere(const struct job *j, size_t split)
{
    const char *name = tk_mech_name(j->c->type), *kind = kind_names[j->c->kind];
    CK_SESSION_HANDLE other = new_session();
    struct out mine = { .n = 0 }, theirs;
    uint8_t *st;
    CK_ULONG st_len;

    assert_int_equal(begin(s, j), CKR_OK);
    tk_expect_rv(feed(s, j, 0, split, lead_parts, COUNT(lead_parts), &mine), CKR_OK,
                 "%s %s: the first %zu bytes", kind, name, split);
    if (is_cipher(j) && mine.n != output_after(j, split))
        fail_msg("%s %s: %lu bytes out for %zu bytes in, want %zu", kind, name,
                 (unsigned long)mine.n, split, output_after(j, split));
    st = get_state(s, &st_len);
    theirs = mine;
    tk_expect_rv(restore(other, j, st, st_len), CKR_OK, "%s %s state after %zu bytes", kind, name,
                 split);
    tk_expect_rv(run_rest(other, j, split, rest_parts, COUNT(rest_parts), false, &theirs), CKR_OK,
                 "%s %s restored after %zu bytes, finishing", kind, name, split);
    expect_result(j, &theirs, "restored", split);
    tk_expect_rv(run_rest(s, j, split, orig_parts, COUNT(orig_parts), true, &mine),
                 j->c->kind == VERIFY ? CKR_SIGNATURE_INVALID : CKR_OK,
                 "%s %s in the saved session after %zu bytes, finishing", kind, name, split);
    expect_result(j, &mine, "in the saved session", split);
    assert_int_equal(f->C_CloseSession(other), CKR_OK);
    free(st);
}

static void continue_every_case(const struct opcase *cases, size_t n)
{
    struct job j;

    for (size_t i = 0; i < n; i++) {
        const size_t *splits = cases[i].every_split ? every_split : some_splits;
        size_t n_splits = cases[i].every_split ? COUNT(every_split) : COUNT(some_splits);
        job_init(&j, &cases[i], msg, msg_len_for(cases[i].type));
        for (size_t k = 0; k < n_splits; k++)
            continue_elsewhere(&j, splits[k]);
    }
}

/*
 * A session busy with a digest (and, with cipher, an AES-CTR encryption beside it), given
 * states that must be refused: afterwards its operations go on as if nothing had happened.
 */
struct target {
    CK_SESSION_HANDLE h;
    bool cipher;
    struct job digest, enc;
    struct out digest_out, enc_out;
};

static const struct opcase target_digest = { DIGEST, CKM_SHA384, NO_KEY, false };
static const struct opcase target_enc = { ENCRYPT, CKM_AES_CTR, KEY_AES, false };

static void target_start(struct target *t, CK_SESSION_HANDLE h, bool cipher)
{
    t->h = h;
    t->cipher = cipher;
    t->digest_out.n = t->enc_out.n = 0;
    job_init(&t->digest, &target_digest, alt, 2000);
    job_init(&t->enc, &target_enc, alt, 2000);
    assert_int_equal(begin(h, &t->digest), CKR_OK);
    assert_int_equal(feed(h, &t->digest, 0, 1000, orig_parts, 3, &t->digest_out), CKR_OK);
    if (cipher) {
        assert_int_equal(begin(h, &t->enc), CKR_OK);
        assert_int_equal(feed(h, &t->enc, 0, 1000, orig_parts, 3, &t->enc_out), CKR_OK);
    }
}

static void target_expect_untouched(struct target *t)
{
    tk_expect_rv(run_rest(t->h, &t->digest, 1000, rest_parts, 6, false, &t->digest_out), CKR_OK,
                 "the target's digest after refused states");
    expect_result(&t->digest, &t->digest_out, "in the target after refused states", 1000);
    if (t->cipher) {
        tk_expect_rv(run_rest(t->h, &t->enc, 1000, rest_parts, 6, false, &t->enc_out), CKR_OK,
                     "the target's encryption after refused states");
        expect_result(&t->enc, &t->enc_out, "in the target after refused states", 1000);
    }
}

/* ---- the specification's examples */

/* The spec's SHA-1 example: 80 bytes in, saved, finished elsewhere. */
static void test_sha1_after_80_bytes_continues_in_another_session(void **state)
{
    CK_MECHANISM m = { CKM_SHA_1, NULL, 0 };
    CK_SESSION_HANDLE other = new_session();
    uint8_t got[20], want[20], *st;
    CK_ULONG len = sizeof got, st_len;

    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(s, msg, 80), CKR_OK);
    st = get_state(s, &st_len);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, 0, 0), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(other, msg + 80, 20), CKR_OK);
    assert_int_equal(f->C_DigestFinal(other, got, &len), CKR_OK);
    cu_digest(CKM_SHA_1, msg, 100, want);
    tk_expect_bytes(got, len, want, 20, "SHA-1 restored after 80 bytes");
    /* The original goes on undisturbed. */
    len = sizeof got;
    assert_int_equal(f->C_DigestUpdate(s, msg + 80, 20), CKR_OK);
    assert_int_equal(f->C_DigestFinal(s, got, &len), CKR_OK);
    tk_expect_bytes(got, len, want, 20, "SHA-1 of the session that was saved");
    free(st);
}

/* The spec's CBC example with AES: 22 bytes in, 16 out, 6 held; finished elsewhere. */
static void test_aes_cbc_after_22_bytes_continues_with_the_key(void **state)
{
    static const uint8_t value[16] = "opstate aes key";
    uint8_t iv[16] = "initial vector!", out[64], want[64], *st;
    CK_MECHANISM m = { CKM_AES_CBC, iv, sizeof iv };
    CK_SESSION_HANDLE other = new_session();
    CK_OBJECT_HANDLE key;
    CK_ULONG len = sizeof out, more, st_len;
    size_t want_len;

    assert_int_equal(tk_import_secret(f, s, CKK_AES, value, 16, NULL, 0, &key), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &m, key), CKR_OK);
    assert_int_equal(f->C_EncryptUpdate(s, msg, 22, out, &len), CKR_OK);
    assert_int_equal(len, 16);
    st = get_state(s, &st_len);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, 0, 0), CKR_KEY_NEEDED);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, key, key), CKR_KEY_NOT_NEEDED);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, key, 0), CKR_OK);
    more = sizeof out - len;
    assert_int_equal(f->C_EncryptUpdate(other, msg + 22, 26, out + len, &more), CKR_OK);
    assert_int_equal(more, 32);
    len += more;
    more = sizeof out - len;
    assert_int_equal(f->C_EncryptFinal(other, out + len, &more), CKR_OK);
    len += more;
    assert_int_equal(cu_aes(&m, 1, value, 16, msg, 48, want, &want_len), 0);
    tk_expect_bytes(out, len, want, want_len, "AES-CBC restored after 22 bytes");
    free(st);
}

static void test_nothing_to_save_is_not_initialized(void **state)
{
    CK_ULONG len = 0;

    assert_int_equal(f->C_GetOperationState(s, NULL, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_a_flipped_byte_is_saved_state_invalid(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_SESSION_HANDLE other = new_session();
    uint8_t *st;
    CK_ULONG st_len;

    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(s, msg, 3000), CKR_OK);
    st = get_state(s, &st_len);
    for (CK_ULONG i = 0; i < st_len; i++) {
        st[i] ^= 0x01;
        tk_expect_rv(f->C_SetOperationState(other, st, st_len, 0, 0), CKR_SAVED_STATE_INVALID,
                     "byte %lu flipped", (unsigned long)i);
        st[i] ^= 0x01;
    }
    assert_int_equal(f->C_SetOperationState(other, st, st_len - 1, 0, 0), CKR_SAVED_STATE_INVALID);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, 0, 0), CKR_OK);
    free(st);
}

/* ---- every saveable mechanism, from every split point */

static void test_every_digest_continues_from_every_split_point(void **state)
{
    static const struct opcase cases[] = {
        { DIGEST, CKM_SHA256, NO_KEY, true },   { DIGEST, CKM_SHA_1, NO_KEY, false },
        { DIGEST, CKM_SHA384, NO_KEY, false },  { DIGEST, CKM_SHA512, NO_KEY, false },
    };

    continue_every_case(cases, COUNT(cases));
}

static void test_every_hmac_signs_and_verifies_from_every_split_point(void **state)
{
    static const struct opcase cases[] = {
        { SIGN, CKM_SHA256_HMAC, KEY_MAC, true },
        { VERIFY, CKM_SHA256_HMAC, KEY_MAC, false },
        { SIGN, CKM_SHA_1_HMAC, KEY_MAC, false },           { VERIFY, CKM_SHA_1_HMAC, KEY_MAC, false },
        { SIGN, CKM_SHA384_HMAC, KEY_MAC, false },          { VERIFY, CKM_SHA384_HMAC, KEY_MAC, false },
        { SIGN, CKM_SHA512_HMAC, KEY_MAC, false },          { VERIFY, CKM_SHA512_HMAC, KEY_MAC, false },
        { SIGN, CKM_SHA_1_HMAC_GENERAL, KEY_MAC, false },   { VERIFY, CKM_SHA_1_HMAC_GENERAL, KEY_MAC, false },
        { SIGN, CKM_SHA256_HMAC_GENERAL, KEY_MAC, false },  { VERIFY, CKM_SHA256_HMAC_GENERAL, KEY_MAC, false },
        { SIGN, CKM_SHA384_HMAC_GENERAL, KEY_MAC, false },  { VERIFY, CKM_SHA384_HMAC_GENERAL, KEY_MAC, false },
        { SIGN, CKM_SHA512_HMAC_GENERAL, KEY_MAC, false },  { VERIFY, CKM_SHA512_HMAC_GENERAL, KEY_MAC, false },
    };

    continue_every_case(cases, COUNT(cases));
}

static void test_every_rsa_signature_continues_from_every_split_point(void **state)
{
    static const struct opcase cases[] = {
        { SIGN, CKM_SHA256_RSA_PKCS, KEY_RSA, true },
        { VERIFY, CKM_SHA256_RSA_PKCS, KEY_RSA_PUB, false },
        { SIGN, CKM_SHA1_RSA_PKCS, KEY_RSA, false },        { VERIFY, CKM_SHA1_RSA_PKCS, KEY_RSA_PUB, false },
        { SIGN, CKM_SHA384_RSA_PKCS, KEY_RSA, false },      { VERIFY, CKM_SHA384_RSA_PKCS, KEY_RSA_PUB, false },
        { SIGN, CKM_SHA512_RSA_PKCS, KEY_RSA, false },      { VERIFY, CKM_SHA512_RSA_PKCS, KEY_RSA_PUB, false },
        { SIGN, CKM_SHA1_RSA_PKCS_PSS, KEY_RSA, false },    { VERIFY, CKM_SHA1_RSA_PKCS_PSS, KEY_RSA_PUB, false },
        { SIGN, CKM_SHA256_RSA_PKCS_PSS, KEY_RSA, false },  { VERIFY, CKM_SHA256_RSA_PKCS_PSS, KEY_RSA_PUB, false },
        { SIGN, CKM_SHA384_RSA_PKCS_PSS, KEY_RSA, false },  { VERIFY, CKM_SHA384_RSA_PKCS_PSS, KEY_RSA_PUB, false },
        { SIGN, CKM_SHA512_RSA_PKCS_PSS, KEY_RSA, false },  { VERIFY, CKM_SHA512_RSA_PKCS_PSS, KEY_RSA_PUB, false },
    };

    continue_every_case(cases, COUNT(cases));
}

static void test_every_ecdsa_signature_continues_from_every_split_point(void **state)
{
    static const struct opcase cases[] = {
        { SIGN, CKM_ECDSA_SHA256, KEY_EC, true },    { VERIFY, CKM_ECDSA_SHA256, KEY_EC_PUB, false },
        { SIGN, CKM_ECDSA_SHA1, KEY_EC, false },     { VERIFY, CKM_ECDSA_SHA1, KEY_EC_PUB, false },
        { SIGN, CKM_ECDSA_SHA384, KEY_EC, false },   { VERIFY, CKM_ECDSA_SHA384, KEY_EC_PUB, false },
        { SIGN, CKM_ECDSA_SHA512, KEY_EC, false },   { VERIFY, CKM_ECDSA_SHA512, KEY_EC_PUB, false },
    };

    continue_every_case(cases, COUNT(cases));
}

/* The modes differ in what they hold back, so each gets every split point. */
static void test_every_aes_mode_encrypts_from_every_split_point(void **state)
{
    static const struct opcase cases[] = {
        { ENCRYPT, CKM_AES_ECB, KEY_AES, true },     { ENCRYPT, CKM_AES_CBC, KEY_AES, true },
        { ENCRYPT, CKM_AES_CBC_PAD, KEY_AES, true }, { ENCRYPT, CKM_AES_CTR, KEY_AES, true },
        { ENCRYPT, CKM_AES_CFB128, KEY_AES, true },
    };

    continue_every_case(cases, COUNT(cases));
}

static void test_every_aes_mode_decrypts_from_every_split_point(void **state)
{
    static const struct opcase cases[] = {
        { DECRYPT, CKM_AES_ECB, KEY_AES, true },     { DECRYPT, CKM_AES_CBC, KEY_AES, true },
        { DECRYPT, CKM_AES_CBC_PAD, KEY_AES, true }, { DECRYPT, CKM_AES_CTR, KEY_AES, true },
        { DECRYPT, CKM_AES_CFB128, KEY_AES, true },
    };

    continue_every_case(cases, COUNT(cases));
}

/* ---- the dual-function pairs */

typedef CK_RV (*dual_fn)(CK_SESSION_HANDLE, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);

/* The call that feeds cipher job c and its partner a at once. */
static dual_fn dual_of(const struct job *a, const struct job *c)
{
    if (c->c->kind == ENCRYPT)
        return a->c->kind == DIGEST ? f->C_DigestEncryptUpdate : f->C_SignEncryptUpdate;
    return a->c->kind == DIGEST ? f->C_DecryptDigestUpdate : f->C_DecryptVerifyUpdate;
}

static CK_RV dual_feed(CK_SESSION_HANDLE h, dual_fn fn, const struct job *c, size_t from,
                       size_t to, struct out *o)
{
    static const size_t parts[] = { 5, 300, 0, 1100 };
    size_t turn = 0, part;
    CK_ULONG got;
    CK_RV rv = CKR_OK;

    while (from < to && rv == CKR_OK) {
        part = parts[turn++ % COUNT(parts)];
        part = part < to - from ? part : to - from;
        got = sizeof o->b - o->n;
        if ((rv = fn(h, (CK_BYTE *)c->in + from, part, o->b + o->n, &got)) == CKR_OK)
            o->n += got;
        from += part;
    }
    return rv;
}

/*
 * Ends a pair. Decrypting, what only the final outputs never went through the dual call, so
 * the partner gets it by its own update, as the spec's example does.
 */
static CK_RV dual_finish(CK_SESSION_HANDLE h, const struct job *a, const struct job *c,
                         bool wrong, struct out *c_out, struct out *a_out)
{
    CK_ULONG before = c_out->n;
    CK_RV rv;

    if ((rv = finish(h, c, false, c_out)) != CKR_OK)
        return rv;
    if (c->c->kind == DECRYPT && c_out->n > before &&
        (rv = update(h, a->c->kind, c_out->b + before, c_out->n - before, a_out)) != CKR_OK)
        return rv;
    return finish(h, a, wrong, a_out);
}

static void continue_pair_elsewhere(const struct opcase *ac, const struct opcase *cc, size_t split)
{
    static struct job a, c;   /* large: kept off the stack */
    const char *what = tk_mech_name(ac->type);
    CK_OBJECT_HANDLE enc = keys[cc->key], auth = keys[ac->key];
    CK_SESSION_HANDLE other = new_session();
    struct out c_mine = { .n = 0 }, a_mine = { .n = 0 }, c_theirs, a_theirs = { .n = 0 };
    dual_fn fn;
    uint8_t *st;
    CK_ULONG len;

    job_init(&a, ac, msg, MSG_LEN);
    job_init(&c, cc, msg, MSG_LEN);
    fn = dual_of(&a, &c);
    assert_int_equal(begin(s, &c), CKR_OK);
    assert_int_equal(begin(s, &a), CKR_OK);
    assert_int_equal(dual_feed(s, fn, &c, 0, split, &c_mine), CKR_OK);
    st = get_state(s, &len);
    tk_expect_rv(f->C_SetOperationState(other, st, len, 0, auth), CKR_KEY_NEEDED,
                 "%s pair without its encryption key", what);
    if (auth != CK_INVALID_HANDLE)
        tk_expect_rv(f->C_SetOperationState(other, st, len, enc, 0), CKR_KEY_NEEDED,
                     "%s pair without its authentication key", what);
    else
        tk_expect_rv(f->C_SetOperationState(other, st, len, enc, keys[KEY_MAC]), CKR_KEY_NOT_NEEDED,
                     "%s pair with an authentication key", what);
    tk_expect_rv(f->C_SetOperationState(other, st, len, enc, auth), CKR_OK,
                 "%s pair with %s after %zu bytes", what, tk_mech_name(cc->type), split);
    c_theirs = c_mine;
    tk_expect_rv(dual_feed(other, fn, &c, split, c.len, &c_theirs), CKR_OK, "restored pair");
    tk_expect_rv(dual_finish(other, &a, &c, false, &c_theirs, &a_theirs), CKR_OK,
                 "restored %s pair, finishing", what);
    expect_result(&c, &c_theirs, "restored in a pair", split);
    expect_result(&a, &a_theirs, "restored in a pair", split);
    assert_int_equal(dual_feed(s, fn, &c, split, c.len, &c_mine), CKR_OK);
    tk_expect_rv(dual_finish(s, &a, &c, true, &c_mine, &a_mine),
                 ac->kind == VERIFY ? CKR_SIGNATURE_INVALID : CKR_OK,
                 "saved %s pair, finishing", what);
    expect_result(&c, &c_mine, "saved in a pair", split);
    expect_result(&a, &a_mine, "saved in a pair", split);
    assert_int_equal(f->C_CloseSession(other), CKR_OK);
    free(st);
}

static void test_the_four_pairs_are_saved_and_restored_together(void **state)
{
    static const struct opcase pairs[][2] = {
        { { DIGEST, CKM_SHA256, NO_KEY, false }, { ENCRYPT, CKM_AES_CBC_PAD, KEY_AES, false } },
        { { SIGN, CKM_SHA256_HMAC, KEY_MAC, false }, { ENCRYPT, CKM_AES_CTR, KEY_AES, false } },
        { { SIGN, CKM_SHA384_RSA_PKCS, KEY_RSA, false }, { ENCRYPT, CKM_AES_CFB128, KEY_AES, false } },
        { { DIGEST, CKM_SHA512, NO_KEY, false }, { DECRYPT, CKM_AES_CBC_PAD, KEY_AES, false } },
        { { VERIFY, CKM_SHA256_HMAC, KEY_MAC, false }, { DECRYPT, CKM_AES_CTR, KEY_AES, false } },
        { { VERIFY, CKM_SHA256_RSA_PKCS, KEY_RSA_PUB, false }, { DECRYPT, CKM_AES_CBC_PAD, KEY_AES, false } },
        { { VERIFY, CKM_ECDSA_SHA384, KEY_EC_PUB, false }, { DECRYPT, CKM_AES_CFB128, KEY_AES, false } },
    };
    static const size_t splits[] = { 0, 17, 1025, 2049 };

    for (size_t p = 0; p < COUNT(pairs); p++)
        for (size_t k = 0; k < COUNT(splits); k++)
            continue_pair_elsewhere(&pairs[p][0], &pairs[p][1], splits[k]);
}

/* ---- the output convention, copies, replacing what the target did */

static void test_state_length_follows_the_output_convention(void **state)
{
    static const struct opcase cases[] = {
        { DIGEST, CKM_SHA512, NO_KEY, false },
        { ENCRYPT, CKM_AES_CTR, KEY_AES, false },
        { SIGN, CKM_SHA256_HMAC, KEY_MAC, false },
    };
    static struct job j;
    struct saved sv;
    struct out o;
    CK_SESSION_HANDLE h;
    CK_ULONG len, asked;

    for (size_t i = 0; i < COUNT(cases); i++) {
        h = new_session();
        job_init(&j, &cases[i], msg, MSG_LEN);
        save_in(h, &sv, &j, 1100);
        len = sv.st_len;
        asked = len - 1;
        tk_expect_rv(f->C_GetOperationState(h, sv.st, &asked), CKR_BUFFER_TOO_SMALL,
                     "%s state into one byte less", tk_mech_name(j.c->type));
        assert_int_equal(asked, len);
        asked = 0;
        assert_int_equal(f->C_GetOperationState(h, sv.st, &asked), CKR_BUFFER_TOO_SMALL);
        assert_int_equal(asked, len);
        free(sv.st);
        assert_non_null(sv.st = malloc(len + 100));
        asked = len + 100;
        assert_int_equal(f->C_GetOperationState(h, sv.st, &asked), CKR_OK);
        assert_int_equal(asked, len);
        sv.st_len = asked;
        /* The state given into a larger buffer restores; the saved session, asked three more
         * times, still finishes right. */
        expect_finishes(&sv, "saved into a larger buffer");
        o = sv.prefix;
        assert_int_equal(run_rest(h, &j, 1100, orig_parts, 3, false, &o), CKR_OK);
        expect_result(&j, &o, "after four length answers", 1100);
        assert_int_equal(f->C_CloseSession(h), CKR_OK);
        free(sv.st);
    }
}

/* A successful restore first ends whatever the target session was doing. */
static void test_restoring_ends_the_operations_the_target_had(void **state)
{
    static const struct opcase dg = { DIGEST, CKM_SHA256, NO_KEY, false };
    static const struct opcase mac = { SIGN, CKM_SHA512_HMAC, KEY_MAC, false };
    static struct job jd, jm;
    struct saved sd, sm;
    struct target t;
    struct out o;
    CK_ULONG len = sizeof o.b;

    job_init(&jd, &dg, msg, MSG_LEN);
    job_init(&jm, &mac, msg, MSG_LEN);
    save_after(&sd, &jd, 1500);
    save_after(&sm, &jm, 1500);
    /* A digest of other data is replaced by the restored digest. */
    target_start(&t, new_session(), false);
    tk_expect_rv(finish_saved(t.h, &sd, &o), CKR_OK, "digest restored over a digest");
    expect_result(&jd, &o, "restored over another digest", 1500);
    /* A digest and an encryption both end when an HMAC is restored. */
    target_start(&t, new_session(), true);
    assert_int_equal(restore(t.h, &jm, sm.st, sm.st_len), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(t.h, msg, 1), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_EncryptUpdate(t.h, msg, 16, o.b, &len), CKR_OPERATION_NOT_INITIALIZED);
    o.n = 0;
    assert_int_equal(run_rest(t.h, &jm, 1500, rest_parts, 6, false, &o), CKR_OK);
    expect_result(&jm, &o, "restored over a pair", 1500);
    free(sd.st);
    free(sm.st);
}

/* One state into two sessions, finished on different data, and twice into one session. */
static void test_a_state_restores_any_number_of_times_as_independent_copies(void **state)
{
    static const struct opcase cases[] = {
        { DIGEST, CKM_SHA256, NO_KEY, false },
        { SIGN, CKM_SHA384_HMAC, KEY_MAC, false },
        { ENCRYPT, CKM_AES_CTR, KEY_AES, false },
        { SIGN, CKM_SHA256_RSA_PKCS, KEY_RSA, false },
    };
    static uint8_t mixed[MSG_LEN];
    static struct job j, k;
    struct saved sv, other;
    CK_SESSION_HANDLE a, b;
    struct out junk = { .n = 0 }, oa, ob;

    /* The second copy goes on with other data: the message's first 1500 bytes, then alt. */
    memcpy(mixed, msg, 1500);
    memcpy(mixed + 1500, alt, 700);
    for (size_t i = 0; i < COUNT(cases); i++) {
        junk.n = 0;
        job_init(&j, &cases[i], msg, MSG_LEN);
        job_init(&k, &cases[i], mixed, 2200);
        save_after(&sv, &j, 1500);
        other = sv;
        other.j = &k;
        a = new_session();
        b = new_session();
        /* Restored, fed other data, restored again: only the second restore counts. */
        assert_int_equal(restore(a, &j, sv.st, sv.st_len), CKR_OK);
        assert_int_equal(update(a, j.c->kind, alt, 500, &junk), CKR_OK);
        tk_expect_rv(finish_saved(a, &sv, &oa), CKR_OK, "first copy of %s",
                     tk_mech_name(j.c->type));
        tk_expect_rv(finish_saved(b, &other, &ob), CKR_OK, "second copy of %s",
                     tk_mech_name(j.c->type));
        expect_result(&j, &oa, "first copy", 1500);
        expect_result(&k, &ob, "second copy, other data", 1500);
        assert_int_equal(f->C_CloseSession(a), CKR_OK);
        assert_int_equal(f->C_CloseSession(b), CKR_OK);
        free(sv.st);
    }
}

/* ---- what cannot be saved */

static void test_single_part_mechanisms_are_unsaveable(void **state)
{
    static const struct opcase cases[] = {
        { SIGN, CKM_RSA_PKCS, KEY_RSA, false },         { VERIFY, CKM_RSA_PKCS, KEY_RSA_PUB, false },
        { SIGN, CKM_RSA_X_509, KEY_RSA, false },        { VERIFY, CKM_RSA_X_509, KEY_RSA_PUB, false },
        { SIGN, CKM_RSA_PKCS_PSS, KEY_RSA, false },     { VERIFY, CKM_RSA_PKCS_PSS, KEY_RSA_PUB, false },
        { SIGN, CKM_ECDSA, KEY_EC, false },             { VERIFY, CKM_ECDSA, KEY_EC_PUB, false },
        { ENCRYPT, CKM_RSA_PKCS, KEY_RSA_PUB, false },  { DECRYPT, CKM_RSA_PKCS, KEY_RSA, false },
        { ENCRYPT, CKM_RSA_PKCS_OAEP, KEY_RSA_PUB, false }, { DECRYPT, CKM_RSA_PKCS_OAEP, KEY_RSA, false },
    };
    CK_MECHANISM cbc = mechanism(CKM_AES_CBC), sha = { CKM_SHA256, NULL, 0 };
    static struct job j;
    uint8_t buf[4096];
    CK_ULONG len;

    for (size_t i = 0; i < COUNT(cases); i++) {
        CK_SESSION_HANDLE h = new_session();
        j.c = &cases[i];
        j.m = mechanism(cases[i].type);
        tk_expect_rv(begin(h, &j), CKR_OK, "%s %s", kind_names[j.c->kind], tk_mech_name(j.c->type));
        len = 0;
        tk_expect_rv(f->C_GetOperationState(h, NULL, &len), CKR_STATE_UNSAVEABLE,
                     "length of a %s %s state", kind_names[j.c->kind], tk_mech_name(j.c->type));
        len = sizeof buf;
        tk_expect_rv(f->C_GetOperationState(h, buf, &len), CKR_STATE_UNSAVEABLE,
                     "%s %s state", kind_names[j.c->kind], tk_mech_name(j.c->type));
        /* Beside a saveable partner the pair cannot be saved either. */
        if (j.c->kind == SIGN)
            assert_int_equal(f->C_EncryptInit(h, &cbc, keys[KEY_AES]), CKR_OK);
        if (j.c->kind == DECRYPT)
            assert_int_equal(f->C_DigestInit(h, &sha), CKR_OK);
        len = sizeof buf;
        if (j.c->kind == SIGN || j.c->kind == DECRYPT)
            tk_expect_rv(f->C_GetOperationState(h, buf, &len), CKR_STATE_UNSAVEABLE,
                         "pair with %s %s", kind_names[j.c->kind], tk_mech_name(j.c->type));
        assert_int_equal(f->C_CloseSession(h), CKR_OK);
    }
}

/* The refusal ends nothing: the single-part signature is still made, as OpenSSL makes it. */
static void test_an_unsaveable_operation_still_finishes(void **state)
{
    CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
    uint8_t info[128], sig[512], want[1024];
    size_t info_len = cu_digest_info(CKM_SHA256, msg, 100, info), want_len;
    CK_ULONG len = 0;

    assert_int_equal(f->C_SignInit(s, &m, keys[KEY_RSA]), CKR_OK);
    assert_int_equal(f->C_GetOperationState(s, NULL, &len), CKR_STATE_UNSAVEABLE);
    len = sizeof sig;
    assert_int_equal(f->C_Sign(s, info, info_len, sig, &len), CKR_OK);
    assert_int_equal(cu_sign(ossl_rsa, &m, info, info_len, want, &want_len), 0);
    tk_expect_bytes(sig, len, want, want_len, "CKM_RSA_PKCS after a refused save");
}

static void test_a_search_alone_is_unsaveable(void **state)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls } };
    CK_ULONG len = 0;
    uint8_t got[32];

    assert_int_equal(f->C_FindObjectsInit(s, t, 1), CKR_OK);
    assert_int_equal(f->C_GetOperationState(s, NULL, &len), CKR_STATE_UNSAVEABLE);
    /* With a digest beside it, the digest is what is saved. */
    assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
    len = 0;
    assert_int_equal(f->C_GetOperationState(s, NULL, &len), CKR_OK);
    len = sizeof got;
    assert_int_equal(f->C_DigestFinal(s, got, &len), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(s), CKR_OK);
    len = 0;
    assert_int_equal(f->C_GetOperationState(s, NULL, &len), CKR_OPERATION_NOT_INITIALIZED);
}

/* C_DecryptFinal(NULL) with padding must decrypt the last block to know the length. */
static void test_a_result_computed_by_a_length_query_is_unsaveable(void **state)
{
    static const struct opcase dec = { DECRYPT, CKM_AES_CBC_PAD, KEY_AES, false };
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    static struct job j;
    struct out o;
    CK_ULONG len;

    job_init(&j, &dec, msg, MSG_LEN);
    for (int with_digest = 0; with_digest < 2; with_digest++) {
        o.n = 0;
        assert_int_equal(begin(s, &j), CKR_OK);
        if (with_digest)
            assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
        assert_int_equal(feed(s, &j, 0, j.len, rest_parts, 6, &o), CKR_OK);
        len = 0;
        assert_int_equal(f->C_GetOperationState(s, NULL, &len), CKR_OK);
        len = 0;
        assert_int_equal(f->C_DecryptFinal(s, NULL, &len), CKR_OK);
        len = 0;
        tk_expect_rv(f->C_GetOperationState(s, NULL, &len), CKR_STATE_UNSAVEABLE,
                     "CBC_PAD decryption after its length query (digest beside: %d)", with_digest);
        assert_int_equal(finish(s, &j, false, &o), CKR_OK);
        expect_result(&j, &o, "after a refused save", j.len);
        if (with_digest) {
            len = sizeof o.b;
            assert_int_equal(f->C_DigestFinal(s, o.b, &len), CKR_OK);
        }
    }
}

/* ---- the key arguments */

/* The states the key tests use: encrypt, decrypt, HMAC sign, RSA sign, RSA verify, digest. */
static const struct opcase keyed_cases[] = {
    { ENCRYPT, CKM_AES_CBC, KEY_AES, false },       { DECRYPT, CKM_AES_CFB128, KEY_AES, false },
    { SIGN, CKM_SHA256_HMAC, KEY_MAC, false },      { SIGN, CKM_SHA256_RSA_PKCS, KEY_RSA, false },
    { VERIFY, CKM_SHA256_RSA_PKCS, KEY_RSA_PUB, false },
};
#define N_KEYED 5

static struct job keyed_jobs[N_KEYED];
static struct saved keyed_states[N_KEYED];

static void save_keyed_states(size_t split)
{
    for (size_t i = 0; i < N_KEYED; i++) {
        job_init(&keyed_jobs[i], &keyed_cases[i], msg, msg_len_for(keyed_cases[i].type));
        save_after(&keyed_states[i], &keyed_jobs[i], split);
    }
}

static void free_keyed_states(void)
{
    for (size_t i = 0; i < N_KEYED; i++)
        free(keyed_states[i].st);
}

static void expect_refused(struct target *t, const struct saved *sv, CK_OBJECT_HANDLE enc,
                           CK_OBJECT_HANDLE auth, CK_RV want, const char *what)
{
    tk_expect_rv(f->C_SetOperationState(t->h, sv->st, sv->st_len, enc, auth), want,
                 "%s %s state %s", kind_names[sv->j->c->kind], tk_mech_name(sv->j->c->type), what);
}

static void test_missing_or_unneeded_keys_are_key_needed_and_key_not_needed(void **state)
{
    static const struct opcase dg = { DIGEST, CKM_SHA256, NO_KEY, false };
    static struct job jd;
    struct saved sd;
    struct target t;
    CK_RV rv;

    save_keyed_states(1100);
    job_init(&jd, &dg, msg, MSG_LEN);
    save_after(&sd, &jd, 1100);
    target_start(&t, new_session(), true);
    for (size_t i = 0; i < N_KEYED; i++) {
        const struct saved *sv = &keyed_states[i];
        CK_OBJECT_HANDLE k = keys[sv->j->c->key];
        bool enc = is_cipher(sv->j);
        expect_refused(&t, sv, 0, 0, CKR_KEY_NEEDED, "without keys");
        /* The right key, plus the same key in the argument that needs none. */
        expect_refused(&t, sv, k, k, CKR_KEY_NOT_NEEDED, "with both keys");
        /* The right key in the wrong argument: needed and missing, given and not needed. */
        rv = f->C_SetOperationState(t.h, sv->st, sv->st_len, enc ? 0 : k, enc ? k : 0);
        if (rv != CKR_KEY_NEEDED && rv != CKR_KEY_NOT_NEEDED)
            fail_msg("%s %s state with its key in the other argument: 0x%lx",
                     kind_names[sv->j->c->kind], tk_mech_name(sv->j->c->type), (unsigned long)rv);
        expect_finishes(sv, "with its key");
    }
    expect_refused(&t, &sd, keys[KEY_AES], 0, CKR_KEY_NOT_NEEDED, "with an encryption key");
    expect_refused(&t, &sd, 0, keys[KEY_MAC], CKR_KEY_NOT_NEEDED, "with an authentication key");
    target_expect_untouched(&t);
    expect_finishes(&sd, "without keys");
    free(sd.st);
    free_keyed_states();
}

/* Another key of the same kind, a key of another kind, a handle that names nothing. */
static void test_another_key_is_key_changed_and_a_copy_is_the_same_key(void **state)
{
    static const uint8_t other_value[32] = "another key, another value.....";
    CK_OBJECT_HANDLE other_aes, other_mac, copy;
    struct target t;

    assert_int_equal(tk_import_secret(f, s, CKK_AES, other_value, 32, NULL, 0, &other_aes), CKR_OK);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, other_value, 32, NULL, 0,
                                      &other_mac), CKR_OK);
    save_keyed_states(2049);
    target_start(&t, new_session(), true);
    for (size_t i = 0; i < N_KEYED; i++) {
        struct saved sv = keyed_states[i];
        const struct job *j = sv.j;
        CK_OBJECT_HANDLE same_kind = j->c->key == KEY_AES ? other_aes : j->c->key == KEY_MAC ? other_mac
                                   : j->c->key == KEY_RSA ? keys[KEY_EC] : keys[KEY_EC_PUB];
        CK_OBJECT_HANDLE other_kind = j->c->key == KEY_AES ? keys[KEY_MAC] : keys[KEY_AES];
        tk_expect_rv(restore_with(t.h, j, sv.st, sv.st_len, same_kind), CKR_KEY_CHANGED,
                     "%s %s state with another key", kind_names[j->c->kind], tk_mech_name(j->c->type));
        tk_expect_rv(restore_with(t.h, j, sv.st, sv.st_len, other_kind), CKR_KEY_CHANGED,
                     "%s %s state with a key of another kind", kind_names[j->c->kind],
                     tk_mech_name(j->c->type));
        tk_expect_rv(restore_with(t.h, j, sv.st, sv.st_len, 0x7fff0001), CKR_KEY_CHANGED,
                     "%s %s state with an invalid handle", kind_names[j->c->kind],
                     tk_mech_name(j->c->type));
        /* A copy is the same key: the state restores with it and finishes right. */
        tk_expect_rv(f->C_CopyObject(s, keys[j->c->key], NULL, 0, &copy), CKR_OK, "copy of key %d",
                     (int)j->c->key);
        {
            CK_SESSION_HANDLE h = new_session();
            struct out o = sv.prefix;
            tk_expect_rv(restore_with(h, j, sv.st, sv.st_len, copy), CKR_OK,
                         "%s %s state with a copy of its key", kind_names[j->c->kind],
                         tk_mech_name(j->c->type));
            assert_int_equal(run_rest(h, j, sv.split, rest_parts, 6, false, &o), CKR_OK);
            expect_result(j, &o, "restored with a copy of the key", sv.split);
            assert_int_equal(f->C_CloseSession(h), CKR_OK);
        }
    }
    target_expect_untouched(&t);
    free_keyed_states();
}

/* CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY turned off after saving; a destroyed key. */
static void test_a_key_that_no_longer_allows_the_operation_is_key_changed(void **state)
{
    static const CK_ATTRIBUTE_TYPE usage[N_KEYED] = { CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN,
                                                      CKA_SIGN, CKA_VERIFY };
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_OBJECT_HANDLE copy;
    struct target t;

    save_keyed_states(1025);
    target_start(&t, new_session(), false);
    for (size_t i = 0; i < N_KEYED; i++) {
        const struct saved *sv = &keyed_states[i];
        CK_OBJECT_HANDLE k = keys[sv->j->c->key];
        CK_ATTRIBUTE off = { usage[i], &no, 1 }, on = { usage[i], &yes, 1 };
        assert_int_equal(f->C_SetAttributeValue(s, k, &off, 1), CKR_OK);
        tk_expect_rv(restore(t.h, sv->j, sv->st, sv->st_len), CKR_KEY_CHANGED,
                     "%s %s state after its key's usage went off", kind_names[sv->j->c->kind],
                     tk_mech_name(sv->j->c->type));
        assert_int_equal(f->C_SetAttributeValue(s, k, &on, 1), CKR_OK);
        expect_finishes(sv, "after its key's usage came back");
    }
    /* A state made with a copy of the AES key; the copy destroyed; the original still fits. */
    {
        struct saved sv = keyed_states[0];
        assert_int_equal(f->C_CopyObject(s, keys[KEY_AES], NULL, 0, &copy), CKR_OK);
        assert_int_equal(f->C_DestroyObject(s, copy), CKR_OK);
        tk_expect_rv(restore_with(t.h, sv.j, sv.st, sv.st_len, copy), CKR_KEY_CHANGED,
                     "AES state with a destroyed key");
    }
    target_expect_untouched(&t);
    free_keyed_states();
}

/* ---- states that are not this token's, or not whole */

static void expect_every_alteration_refused(struct target *t, const struct saved *sv,
                                            CK_OBJECT_HANDLE enc, CK_OBJECT_HANDLE auth,
                                            const char *what)
{
    uint8_t *longer = malloc(sv->st_len + 1);

    for (CK_ULONG i = 0; i < sv->st_len; i++) {
        sv->st[i] ^= 0xff;
        tk_expect_rv(f->C_SetOperationState(t->h, sv->st, sv->st_len, enc, auth),
                     CKR_SAVED_STATE_INVALID, "%s with byte %lu flipped", what, (unsigned long)i);
        sv->st[i] ^= 0xff;
    }
    for (CK_ULONG n = 0; n < sv->st_len; n++)
        tk_expect_rv(f->C_SetOperationState(t->h, sv->st, n, enc, auth), CKR_SAVED_STATE_INVALID,
                     "%s cut to %lu of %lu bytes", what, (unsigned long)n,
                     (unsigned long)sv->st_len);
    assert_non_null(longer);
    memcpy(longer, sv->st, sv->st_len);
    longer[sv->st_len] = 0;
    tk_expect_rv(f->C_SetOperationState(t->h, longer, sv->st_len + 1, enc, auth),
                 CKR_SAVED_STATE_INVALID, "%s with a byte added", what);
    free(longer);
}

static void test_altered_or_cut_states_are_saved_state_invalid(void **state)
{
    static const struct opcase dg = { DIGEST, CKM_SHA256, NO_KEY, false };
    static const struct opcase enc = { ENCRYPT, CKM_AES_CBC_PAD, KEY_AES, false };
    static struct job jd, je;
    struct saved pair = { .j = &je, .split = 100 };
    struct target t;

    save_keyed_states(1500);
    target_start(&t, new_session(), true);
    expect_every_alteration_refused(&t, &keyed_states[0], keys[KEY_AES], 0, "AES-CBC state");
    expect_every_alteration_refused(&t, &keyed_states[3], 0, keys[KEY_RSA], "KEY_RSA signature state");
    /* A pair's state: a digest and an encryption. */
    job_init(&jd, &dg, msg, MSG_LEN);
    job_init(&je, &enc, msg, MSG_LEN);
    assert_int_equal(begin(s, &je), CKR_OK);
    assert_int_equal(begin(s, &jd), CKR_OK);
    pair.prefix.n = 0;
    assert_int_equal(dual_feed(s, f->C_DigestEncryptUpdate, &je, 0, 100, &pair.prefix), CKR_OK);
    pair.st = get_state(s, &pair.st_len);
    expect_every_alteration_refused(&t, &pair, keys[KEY_AES], 0, "digest and encryption state");
    target_expect_untouched(&t);
    /* Unaltered, they restore. */
    expect_finishes(&keyed_states[0], "after its altered copies were refused");
    expect_finishes(&keyed_states[3], "after its altered copies were refused");
    free(pair.st);
    free_keyed_states();
}

static void test_a_state_of_another_token_is_saved_state_invalid(void **state)
{
    static const struct opcase dg = { DIGEST, CKM_SHA256, NO_KEY, false };
    static struct job jd;
    CK_SLOT_ID second = p11_new_token(f, "opstate two", SO_PIN, USER_PIN);
    CK_SESSION_HANDLE s2;
    struct saved here, there;
    struct target t;
    struct out o;

    assert_true(second != (CK_SLOT_ID)-1);
    s2 = open_on(second, RW_SESSION);
    assert_int_equal(f->C_Login(s2, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
    job_init(&jd, &dg, msg, MSG_LEN);
    save_after(&here, &jd, 2049);
    save_keyed_states(2049);
    save_in(s2, &there, &jd, 2049);
    /* This token's states in the other token... */
    target_start(&t, open_on(second, RW_SESSION), false);
    tk_expect_rv(restore(t.h, &jd, here.st, here.st_len), CKR_SAVED_STATE_INVALID,
                 "digest state in another token");
    for (size_t i = 0; i < N_KEYED; i++)
        tk_expect_rv(restore(t.h, keyed_states[i].j, keyed_states[i].st, keyed_states[i].st_len),
                     CKR_SAVED_STATE_INVALID, "%s %s state in another token",
                     kind_names[keyed_cases[i].kind], tk_mech_name(keyed_cases[i].type));
    target_expect_untouched(&t);
    /* ...and the other token's state here. */
    target_start(&t, new_session(), true);
    tk_expect_rv(restore(t.h, &jd, there.st, there.st_len), CKR_SAVED_STATE_INVALID,
                 "the other token's digest state here");
    target_expect_untouched(&t);
    /* Each at home restores. */
    expect_finishes(&here, "in its own token");
    tk_expect_rv(finish_saved(s2, &there, &o), CKR_OK, "digest state in its own second token");
    expect_result(&jd, &o, "in its own second token", 2049);
    free(here.st);
    free(there.st);
    free_keyed_states();
}

/* ---- login */

/* Non-private session keys: their handles outlive a logout (those of private objects do not). */
static void make_open_keys(void)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE not_private[] = { { CKA_PRIVATE, &no, 1 } };

    assert_int_equal(tk_import_secret(f, s, CKK_AES, aes_value, 32, not_private, 1, &keys[KEY_OPEN_AES]),
                     CKR_OK);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, mac_value, 32, not_private, 1,
                                      &keys[KEY_OPEN_MAC]), CKR_OK);
    assert_false(attr_bool(f, s, keys[KEY_OPEN_AES], CKA_PRIVATE));
}

/*
 * Keyed states carry what continues a TPM key's operation: only the logged-in user gets them
 * back, even with a key handle the public session can see. Digests and verifications with a
 * public key need no login, saved or restored.
 */
static void test_keyed_states_restore_only_while_the_user_is_logged_in(void **state)
{
    static const struct opcase keyed[] = {
        { ENCRYPT, CKM_AES_CBC_PAD, KEY_OPEN_AES, false },
        { DECRYPT, CKM_AES_CTR, KEY_OPEN_AES, false },
        { SIGN, CKM_SHA256_HMAC, KEY_OPEN_MAC, false },
        { VERIFY, CKM_SHA512_HMAC, KEY_OPEN_MAC, false },
        { ENCRYPT, CKM_AES_CBC, KEY_AES, false },
        { SIGN, CKM_SHA256_RSA_PKCS, KEY_RSA, false },
        { SIGN, CKM_ECDSA_SHA384, KEY_EC, false },
    };
    static const struct opcase needs_no_login[] = {
        { DIGEST, CKM_SHA384, NO_KEY, false },
        { VERIFY, CKM_SHA256_RSA_PKCS_PSS, KEY_RSA_PUB, false },
        { VERIFY, CKM_ECDSA_SHA256, KEY_EC_PUB, false },
    };
    static struct job jobs[COUNT(keyed)], open_jobs[COUNT(needs_no_login)];
    struct saved keyed_sv[COUNT(keyed)], open_sv[COUNT(needs_no_login)], in_public;
    CK_SESSION_HANDLE pub, other;
    struct target t;
    struct out o;
    CK_RV rv;

    make_open_keys();
    for (size_t i = 0; i < COUNT(keyed); i++) {
        job_init(&jobs[i], &keyed[i], msg, msg_len_for(keyed[i].type));
        save_after(&keyed_sv[i], &jobs[i], 1500);
    }
    for (size_t i = 0; i < COUNT(needs_no_login); i++) {
        job_init(&open_jobs[i], &needs_no_login[i], msg, MSG_LEN);
        save_after(&open_sv[i], &open_jobs[i], 1500);
    }
    assert_int_equal(f->C_Logout(s), CKR_OK);
    pub = open_on(slot, RO_SESSION);
    target_start(&t, open_on(slot, RO_SESSION), false);
    for (size_t i = 0; i < COUNT(keyed); i++) {
        rv = restore(t.h, keyed_sv[i].j, keyed_sv[i].st, keyed_sv[i].st_len);
        if (rv != CKR_KEY_CHANGED && rv != CKR_SAVED_STATE_INVALID)
            fail_msg("%s %s state without login: 0x%lx, want CKR_KEY_CHANGED or "
                     "CKR_SAVED_STATE_INVALID", kind_names[keyed[i].kind],
                     tk_mech_name(keyed[i].type), (unsigned long)rv);
    }
    target_expect_untouched(&t);
    for (size_t i = 0; i < COUNT(needs_no_login); i++) {
        tk_expect_rv(finish_saved(pub, &open_sv[i], &o), CKR_OK, "%s %s state in a public session",
                     kind_names[needs_no_login[i].kind],
                     tk_mech_name(needs_no_login[i].type));
        expect_result(&open_jobs[i], &o, "in a public session", 1500);
    }
    /* Saved without login too, and restored in another public session. */
    save_in(pub, &in_public, &open_jobs[2], 1024);
    other = open_on(slot, RO_SESSION);
    tk_expect_rv(finish_saved(other, &in_public, &o), CKR_OK,
                 "ECDSA verification saved and restored without login");
    /*
     * Logged in again, the refused states restore: the login was what they lacked. Handles of
     * private objects died with the logout (2.40 C_Logout), so the token keys are found again.
     */
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
    assert_true(find_keys(s));
    for (size_t i = 0; i < COUNT(keyed); i++)
        expect_finishes(&keyed_sv[i], "after logging in again");
    for (size_t i = 0; i < COUNT(keyed); i++)
        free(keyed_sv[i].st);
    for (size_t i = 0; i < COUNT(needs_no_login); i++)
        free(open_sv[i].st);
    free(in_public.st);
}

/* A restored signature with a CKA_ALWAYS_AUTHENTICATE key wants the PIN again in its session. */
static void test_always_authenticate_key_needs_a_context_login_after_restore(void **state)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE always[] = { { CKA_ALWAYS_AUTHENTICATE, &yes, 1 } };
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_SESSION_HANDLE other = new_session();
    CK_OBJECT_HANDLE priv;
    uint8_t sig[512], want[1024], *st;
    size_t want_len;
    CK_ULONG len, st_len;

    assert_int_equal(tk_import_private(f, s, ossl_rsa, always, 1, &priv), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &m, priv), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN,
                                strlen(USER_PIN)), CKR_OK);
    assert_int_equal(f->C_SignUpdate(s, msg, 1500), CKR_OK);
    st = get_state(s, &st_len);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, 0, priv), CKR_OK);
    assert_int_equal(f->C_SignUpdate(other, msg + 1500, 1500), CKR_USER_NOT_LOGGED_IN);
    len = sizeof sig;
    assert_int_equal(f->C_SignFinal(other, sig, &len), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_Login(other, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN,
                                strlen(USER_PIN)), CKR_OK);
    assert_int_equal(f->C_SignUpdate(other, msg + 1500, 1500), CKR_OK);
    len = sizeof sig;
    assert_int_equal(f->C_SignFinal(other, sig, &len), CKR_OK);
    assert_int_equal(cu_sign(ossl_rsa, &m, msg, 3000, want, &want_len), 0);
    tk_expect_bytes(sig, len, want, want_len, "restored always-authenticate signature");
    /* The saved session had its login for this signature and finishes without another. */
    assert_int_equal(f->C_SignUpdate(s, msg + 1500, 1500), CKR_OK);
    len = sizeof sig;
    assert_int_equal(f->C_SignFinal(s, sig, &len), CKR_OK);
    tk_expect_bytes(sig, len, want, want_len, "saved always-authenticate signature");
    free(st);
}

/* ---- another process */

static ssize_t read_all(int fd, uint8_t *buf, size_t max)
{
    size_t got = 0;
    ssize_t n;

    while (got < max && (n = read(fd, buf + got, max - got)) > 0)
        got += (size_t)n;
    return (ssize_t)got;
}

/* In the child: no cmocka, an exit code per failure, results as (length, bytes) on fd. */
static int child_finishes(int fd, const struct saved *sv, size_t n)
{
    CK_SESSION_HANDLE h;
    struct out o;

    if (f->C_Initialize(NULL) != CKR_OK)
        return 10;
    if (f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &h) != CKR_OK ||
        f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK)
        return 11;
    if (!find_keys(h))
        return 12;
    for (size_t i = 0; i < n; i++) {
        if (finish_saved(h, &sv[i], &o) != CKR_OK)
            return 20 + (int)i;
        if (write(fd, &o.n, sizeof o.n) != (ssize_t)sizeof o.n ||
            write(fd, o.b, o.n) != (ssize_t)o.n)
            return 30 + (int)i;
    }
    return f->C_Finalize(NULL) == CKR_OK ? 0 : 13;
}

static void test_a_state_finishes_in_another_process(void **state)
{
    static const struct opcase cases[] = {
        { DIGEST, CKM_SHA512, NO_KEY, false },      { SIGN, CKM_SHA256_HMAC, KEY_MAC, false },
        { SIGN, CKM_SHA384_RSA_PKCS, KEY_RSA, false },  { VERIFY, CKM_ECDSA_SHA256, KEY_EC_PUB, false },
        { ENCRYPT, CKM_AES_CBC_PAD, KEY_AES, false },   { DECRYPT, CKM_AES_CFB128, KEY_AES, false },
    };
    static struct job jobs[COUNT(cases)];
    static struct saved sv[COUNT(cases)];
    static uint8_t results[COUNT(cases) * (sizeof(CK_ULONG) + MAX_OUT)];
    size_t got, off = 0;
    struct out o;
    int fds[2], status;
    pid_t pid;

    for (size_t i = 0; i < COUNT(cases); i++) {
        job_init(&jobs[i], &cases[i], msg, MSG_LEN);
        save_after(&sv[i], &jobs[i], 1500);
    }
    /*
     * swtpm has three object slots and an idle process keeps its keys loaded; the child needs
     * two (a primary and a key). Logging out makes the parent drop its keys (its one primary
     * stays); the states are only bytes and need nothing of the parent.
     */
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(child_finishes(fds[1], sv, COUNT(cases)));
    }
    close(fds[1]);
    got = (size_t)read_all(fds[0], results, sizeof results);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child exited with %d (2x: restoring case x failed, 1x: setup)",
                 WEXITSTATUS(status));
    for (size_t i = 0; i < COUNT(cases); i++) {
        assert_true(got - off >= sizeof o.n);
        memcpy(&o.n, results + off, sizeof o.n);
        off += sizeof o.n;
        assert_true(o.n <= sizeof o.b && got - off >= o.n);
        memcpy(o.b, results + off, o.n);
        off += o.n;
        expect_result(&jobs[i], &o, "finished in another process", 1500);
        free(sv[i].st);
    }
}

/* ---- the TPM's transient objects */

static const struct opcase counted_cases[] = {
    { DIGEST, CKM_SHA256, NO_KEY, false },       { SIGN, CKM_SHA384_HMAC, KEY_MAC, false },
    { SIGN, CKM_SHA256_RSA_PKCS, KEY_RSA, false }, { VERIFY, CKM_ECDSA_SHA256, KEY_EC_PUB, false },
    { ENCRYPT, CKM_AES_CTR, KEY_AES, false },
};
#define N_COUNTED 5

/* Every counted case run whole, without states, in s. */
static void run_counted_cases_whole(void)
{
    static struct job j;
    struct out o;

    for (size_t i = 0; i < N_COUNTED; i++) {
        o.n = 0;
        job_init(&j, &counted_cases[i], msg, MSG_LEN);
        assert_int_equal(begin(s, &j), CKR_OK);
        assert_int_equal(run_rest(s, &j, 0, rest_parts, 6, false, &o), CKR_OK);
    }
}

/*
 * The count after the same run of whole operations each time, so that the objects the module
 * keeps loaded for its own use are the same ones at every count.
 */
static int settled_count(void)
{
    run_counted_cases_whole();
    return swtpm_transient_count(&tpm);
}

static void test_restored_operations_leave_no_tpm_objects_behind(void **state)
{
    static struct job jobs[N_COUNTED];
    struct saved sv[N_COUNTED];
    int idle, running;
    CK_SESSION_HANDLE h;
    struct out o;

    /* The level with no module running, then the module's own level once warmed up. */
    f->C_Finalize(NULL);
    assert_true((idle = swtpm_transient_count(&tpm)) >= 0);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    s = new_session();
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
    assert_true(find_keys(s));
    run_counted_cases_whole();
    running = settled_count();
    for (size_t i = 0; i < N_COUNTED; i++) {
        job_init(&jobs[i], &counted_cases[i], msg, MSG_LEN);
        save_after(&sv[i], &jobs[i], 2049);
    }
    for (size_t i = 0; i < N_COUNTED; i++)
        expect_finishes(&sv[i], "for the object count");
    assert_int_equal(settled_count(), running);
    /* Restored, fed, abandoned with the session. */
    for (size_t i = 0; i < N_COUNTED; i++) {
        o = sv[i].prefix;
        h = new_session();
        assert_int_equal(restore(h, &jobs[i], sv[i].st, sv[i].st_len), CKR_OK);
        assert_int_equal(feed(h, &jobs[i], sv[i].split, sv[i].split + 600, rest_parts, 6, &o),
                         CKR_OK);
        assert_int_equal(f->C_CloseSession(h), CKR_OK);
    }
    assert_int_equal(settled_count(), running);
    /* Restored twice into one session: the first copy is freed by the second. */
    h = new_session();
    for (size_t i = 0; i < N_COUNTED; i++)
        assert_int_equal(restore(h, &jobs[i], sv[i].st, sv[i].st_len), CKR_OK);
    assert_int_equal(f->C_CloseSession(h), CKR_OK);
    assert_int_equal(settled_count(), running);
    /* Restored and left running when the module finalizes. */
    for (size_t i = 0; i < N_COUNTED; i++)
        assert_int_equal(restore(new_session(), &jobs[i], sv[i].st, sv[i].st_len), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(swtpm_transient_count(&tpm), idle);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    for (size_t i = 0; i < N_COUNTED; i++)
        free(sv[i].st);
}

/*
 * Between operations the module keeps at most two objects loaded (max_loaded, the TPM's
 * TRANSIENT_MIN less one), so a bare TPM of three slots has one left for another process.
 */
static void test_between_operations_at_most_two_tpm_objects_stay_loaded(void **state)
{
    static struct job jobs[N_COUNTED];
    struct saved sv;
    int n;

    for (size_t i = 0; i < N_COUNTED; i++) {
        job_init(&jobs[i], &counted_cases[i], msg, MSG_LEN);
        save_after(&sv, &jobs[i], 2049);
        expect_finishes(&sv, "for the object count");
        free(sv.st);
        n = swtpm_transient_count(&tpm);
        if (n < 0 || n > 2)
            fail_msg("%d TPM objects loaded after a restored %s %s", n,
                     kind_names[counted_cases[i].kind], tk_mech_name(counted_cases[i].type));
    }
}

/* ---- a TPM reset */

/*
 * Saves every case at every split, resets the TPM, initializes the module again, and returns
 * (in bad) every state that C_SetOperationState does not refuse with CKR_SAVED_STATE_INVALID.
 */
static void restore_after_tpm_reset(const struct opcase *cases, size_t n, const size_t *splits,
                                    size_t n_splits, char *bad, size_t bad_len)
{
    static struct job jobs[8];
    struct saved sv[8][2];
    size_t used = 0;
    CK_TOKEN_INFO info;
    CK_SESSION_HANDLE h;
    CK_RV rv;

    assert_true(n <= 8 && n_splits <= 2);
    for (size_t i = 0; i < n; i++) {
        job_init(&jobs[i], &cases[i], msg, msg_len_for(cases[i].type));
        for (size_t k = 0; k < n_splits; k++)
            save_after(&sv[i][k], &jobs[i], splits[k]);
    }
    assert_int_equal(swtpm_restart(&tpm), 0);
    f->C_Finalize(NULL);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(slot, &info), CKR_OK);
    assert_memory_equal(info.label, "opstate ", 8);
    s = new_session();
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
    assert_true(find_keys(s));
    h = new_session();
    bad[0] = '\0';
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n_splits; k++) {
            rv = restore(h, &jobs[i], sv[i][k].st, sv[i][k].st_len);
            if (rv != CKR_SAVED_STATE_INVALID && used + 1 < bad_len)
                used += (size_t)snprintf(bad + used, bad_len - used, "\n  %s %s after %zu bytes: 0x%lx",
                                         kind_names[cases[i].kind], tk_mech_name(cases[i].type),
                                         splits[k], (unsigned long)rv);
            free(sv[i][k].st);
        }
    /* States made after the reset work: the refusals were about the reset. */
    for (size_t i = 0; i < n; i++) {
        save_after(&sv[i][0], &jobs[i], splits[n_splits - 1]);
        expect_finishes(&sv[i][0], "made after the TPM reset");
        free(sv[i][0].st);
    }
}

/* Past one TPM buffer the hashing runs in a TPM sequence, whose context a reset voids. */
static void test_a_state_with_a_tpm_sequence_from_before_a_reset_is_saved_state_invalid(void **state)
{
    static const struct opcase cases[] = {
        { DIGEST, CKM_SHA256, NO_KEY, false },       { SIGN, CKM_SHA256_HMAC, KEY_MAC, false },
        { VERIFY, CKM_SHA384_HMAC, KEY_MAC, false }, { SIGN, CKM_SHA256_RSA_PKCS, KEY_RSA, false },
        { VERIFY, CKM_ECDSA_SHA256, KEY_EC_PUB, false },
    };
    static const size_t splits[] = { 1025, 2049 };
    char bad[2048];

    restore_after_tpm_reset(cases, COUNT(cases), splits, COUNT(splits), bad, sizeof bad);
    if (bad[0] != '\0')
        fail_msg("states from before the TPM reset not refused:%s", bad);
}

/* AES states and hashing that has not reached the TPM yet hold no TPM context at all. */
static void test_a_state_without_a_tpm_context_from_before_a_reset_is_saved_state_invalid(void **state)
{
    static const struct opcase cases[] = {
        { DIGEST, CKM_SHA256, NO_KEY, false },     { SIGN, CKM_SHA256_HMAC, KEY_MAC, false },
        { SIGN, CKM_SHA256_RSA_PKCS, KEY_RSA, false },
        { ENCRYPT, CKM_AES_CBC, KEY_AES, false },  { DECRYPT, CKM_AES_CTR, KEY_AES, false },
    };
    static const size_t splits[] = { 10, 2049 };
    char bad[2048];

    restore_after_tpm_reset(cases, COUNT(cases), splits, COUNT(splits), bad, sizeof bad);
    if (bad[0] != '\0')
        fail_msg("states from before the TPM reset not refused:%s", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sha1_after_80_bytes_continues_in_another_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_cbc_after_22_bytes_continues_with_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_to_save_is_not_initialized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_flipped_byte_is_saved_state_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_digest_continues_from_every_split_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_hmac_signs_and_verifies_from_every_split_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_rsa_signature_continues_from_every_split_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_ecdsa_signature_continues_from_every_split_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_aes_mode_encrypts_from_every_split_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_aes_mode_decrypts_from_every_split_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_four_pairs_are_saved_and_restored_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_length_follows_the_output_convention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restoring_ends_the_operations_the_target_had, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_restores_any_number_of_times_as_independent_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_part_mechanisms_are_unsaveable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_unsaveable_operation_still_finishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_search_alone_is_unsaveable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_result_computed_by_a_length_query_is_unsaveable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_or_unneeded_keys_are_key_needed_and_key_not_needed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_key_is_key_changed_and_a_copy_is_the_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_key_that_no_longer_allows_the_operation_is_key_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_altered_or_cut_states_are_saved_state_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_of_another_token_is_saved_state_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyed_states_restore_only_while_the_user_is_logged_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_always_authenticate_key_needs_a_context_login_after_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_finishes_in_another_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restored_operations_leave_no_tpm_objects_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_between_operations_at_most_two_tpm_objects_stay_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_with_a_tpm_sequence_from_before_a_reset_is_saved_state_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_without_a_tpm_context_from_before_a_reset_is_saved_state_invalid, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
