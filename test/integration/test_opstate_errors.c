/*
 * C_GetOperationState / C_SetOperationState at their limits: what cannot be saved; every
 * refusal of a state (key arguments, changed keys, altered bytes, another token, no login, a
 * TPM reset), each leaving the target session's operations as they were; context-specific
 * logins; and no TPM object left behind by restored operations. What they do when they work is
 * in test_opstate.c.
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

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/opstate_cases.h"
#include "integration/token_ops.h"

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
        cmocka_unit_test_setup_teardown(test_restored_operations_leave_no_tpm_objects_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_between_operations_at_most_two_tpm_objects_stay_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_with_a_tpm_sequence_from_before_a_reset_is_saved_state_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_state_without_a_tpm_context_from_before_a_reset_is_saved_state_invalid, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
