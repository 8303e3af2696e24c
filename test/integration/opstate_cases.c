/*
 * What test_opstate and test_opstate_errors share: the token and its keys, set up for every
 * test; operations described as data (a mechanism, a key, a message) and run, saved and
 * restored in parts of varied sizes; and the checks of their results against OpenSSL.
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
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/opstate_cases.h"
#include "integration/token_ops.h"

struct swtpm tpm;
static struct p11 mod;
CK_FUNCTION_LIST *f;
CK_SESSION_HANDLE s;
CK_SLOT_ID slot;
uint8_t msg[5000], alt[5000];

uint8_t aes_value[32], mac_value[32];
static uint8_t aes_iv[16];
static CK_AES_CTR_PARAMS ctr = { .ulCounterBits = 128 };
static CK_ULONG mac_len = 17;   /* _HMAC_GENERAL: a MAC cut to an odd length */
static CK_RSA_PKCS_PSS_PARAMS pss[] = {
    { CKM_SHA_1, CKG_MGF1_SHA1, 20 },
    { CKM_SHA256, CKG_MGF1_SHA256, 32 },
    { CKM_SHA384, CKG_MGF1_SHA384, 48 },
    { CKM_SHA512, CKG_MGF1_SHA512, 64 },
};
static CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
EVP_PKEY *ossl_rsa;
static EVP_PKEY *ossl_ec;

const size_t lead_parts[] = { 13, 0, 700 };
const size_t rest_parts[] = { 1, 7, 100, 0, 1023, 1025 };
const size_t orig_parts[] = { 333, 16, 5 };

/* ---- keys */

static const struct {
    const char *label;
    CK_OBJECT_CLASS cls;
} key_names[N_TOKEN_KEYS] = {
    [KEY_AES] = { "opstate aes", CKO_SECRET_KEY },  [KEY_MAC] = { "opstate mac", CKO_SECRET_KEY },
    [KEY_RSA] = { "opstate rsa", CKO_PRIVATE_KEY }, [KEY_RSA_PUB] = { "opstate rsa", CKO_PUBLIC_KEY },
    [KEY_EC] = { "opstate ec", CKO_PRIVATE_KEY },   [KEY_EC_PUB] = { "opstate ec", CKO_PUBLIC_KEY },
};
CK_OBJECT_HANDLE keys[N_KEYS];
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
bool find_keys(CK_SESSION_HANDLE h)
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

int group_setup(void **state)
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

int group_teardown(void **state)
{
    EVP_PKEY_free(ossl_rsa);
    EVP_PKEY_free(ossl_ec);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

int setup(void **state)
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

int teardown(void **state)
{
    EVP_PKEY_free(rsa_view);
    EVP_PKEY_free(ec_view);
    rsa_view = ec_view = NULL;
    f->C_Finalize(NULL);
    return 0;
}

/* The state of session s, malloc'ed. */
uint8_t *get_state(CK_SESSION_HANDLE from, CK_ULONG *len)
{
    uint8_t *st;

    *len = 0;
    assert_int_equal(f->C_GetOperationState(from, NULL, len), CKR_OK);
    assert_non_null(st = malloc(*len));
    assert_int_equal(f->C_GetOperationState(from, st, len), CKR_OK);
    return st;
}

CK_SESSION_HANDLE open_on(CK_SLOT_ID on, CK_FLAGS flags)
{
    CK_SESSION_HANDLE h;

    assert_int_equal(f->C_OpenSession(on, flags, NULL, NULL, &h), CKR_OK);
    return h;
}

CK_SESSION_HANDLE new_session(void)
{
    return open_on(slot, RW_SESSION);
}

/* ---- operations as data: what is run, on what, and what OpenSSL says it must give */

const char *const kind_names[] = { "digest", "sign", "verify", "encrypt", "decrypt" };

CK_MECHANISM mechanism(CK_MECHANISM_TYPE type)
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
size_t msg_len_for(CK_MECHANISM_TYPE type)
{
    return type == CKM_AES_ECB || type == CKM_AES_CBC ? MSG_LEN / 16 * 16 + 16 : MSG_LEN;
}

bool is_cipher(const struct job *j)
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

void job_init(struct job *j, const struct opcase *c, const uint8_t *plain, size_t len)
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

/* The helpers from here to the checks make no cmocka assertion: the forked child uses them. */

CK_RV begin(CK_SESSION_HANDLE h, const struct job *j)
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
CK_RV update(CK_SESSION_HANDLE h, enum kind kind, const uint8_t *in, size_t len,
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
CK_RV feed(CK_SESSION_HANDLE h, const struct job *j, size_t from, size_t to,
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
CK_RV finish(CK_SESSION_HANDLE h, const struct job *j, bool wrong, struct out *o)
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

CK_RV run_rest(CK_SESSION_HANDLE h, const struct job *j, size_t from, const size_t *sizes,
               size_t n_sizes, bool wrong, struct out *o)
{
    CK_RV rv;

    if ((rv = feed(h, j, from, j->len, sizes, n_sizes, o)) != CKR_OK)
        return rv;
    return finish(h, j, wrong, o);
}

/* C_SetOperationState with key in the argument the job's kind needs. */
CK_RV restore_with(CK_SESSION_HANDLE h, const struct job *j, const uint8_t *st,
                   CK_ULONG len, CK_OBJECT_HANDLE key)
{
    CK_OBJECT_HANDLE enc = is_cipher(j) ? key : CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE auth = j->c->kind == SIGN || j->c->kind == VERIFY ? key : CK_INVALID_HANDLE;

    return f->C_SetOperationState(h, (CK_BYTE *)st, len, enc, auth);
}

CK_RV restore(CK_SESSION_HANDLE h, const struct job *j, const uint8_t *st, CK_ULONG len)
{
    return restore_with(h, j, st, len, keys[j->c->key]);
}

/* Restores sv in h and runs it to the end there. */
CK_RV finish_saved(CK_SESSION_HANDLE h, const struct saved *sv, struct out *o)
{
    CK_RV rv;

    *o = sv->prefix;
    if ((rv = restore(h, sv->j, sv->st, sv->st_len)) != CKR_OK)
        return rv;
    return run_rest(h, sv->j, sv->split, rest_parts, COUNT(rest_parts), false, o);
}

CK_RV dual_feed(CK_SESSION_HANDLE h, dual_fn fn, const struct job *c, size_t from,
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

/* ---- checks (cmocka from here on) */

void expect_result(const struct job *j, const struct out *o, const char *how, size_t split)
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

void save_in(CK_SESSION_HANDLE h, struct saved *sv, const struct job *j, size_t split)
{
    sv->j = j;
    sv->split = split;
    sv->prefix.n = 0;
    assert_int_equal(begin(h, j), CKR_OK);
    assert_int_equal(feed(h, j, 0, split, lead_parts, COUNT(lead_parts), &sv->prefix), CKR_OK);
    sv->st = get_state(h, &sv->st_len);
}

/* Saves from a session that is then closed: the state outlives it. */
void save_after(struct saved *sv, const struct job *j, size_t split)
{
    CK_SESSION_HANDLE h = new_session();

    save_in(h, sv, j, split);
    assert_int_equal(f->C_CloseSession(h), CKR_OK);
}

/* Restores sv in a new session of the slot; it must finish there with the right result. */
void expect_finishes(const struct saved *sv, const char *how)
{
    CK_SESSION_HANDLE h = new_session();
    struct out o;

    tk_expect_rv(finish_saved(h, sv, &o), CKR_OK, "%s %s state %s", kind_names[sv->j->c->kind],
                 tk_mech_name(sv->j->c->type), how);
    expect_result(sv->j, &o, how, sv->split);
    assert_int_equal(f->C_CloseSession(h), CKR_OK);
}

/* ---- the target of refused states */

static const struct opcase target_digest = { DIGEST, CKM_SHA384, NO_KEY, false };
static const struct opcase target_enc = { ENCRYPT, CKM_AES_CTR, KEY_AES, false };

void target_start(struct target *t, CK_SESSION_HANDLE h, bool cipher)
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

void target_expect_untouched(struct target *t)
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
