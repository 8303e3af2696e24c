/*
 * C_GetOperationState / C_SetOperationState, from the outside, doing their work: the
 * specification's examples; every saveable mechanism saved at many points, finished in another
 * session and compared with OpenSSL; the dual-function pairs saved together; the length
 * convention; states restored as independent copies, ending what the target session was doing;
 * and a state finished in another process. What they refuse is in test_opstate_errors.c.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/opstate_cases.h"
#include "integration/token_ops.h"

/* Split points: bytes fed before saving. Every one for one mechanism of each family. */
static const size_t every_split[] = { 0, 1, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025, 2049 };
static const size_t some_splits[] = { 0, 17, 1024, 2049 };

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

/* The call that feeds cipher job c and its partner a at once. */
static dual_fn dual_of(const struct job *a, const struct job *c)
{
    if (c->c->kind == ENCRYPT)
        return a->c->kind == DIGEST ? f->C_DigestEncryptUpdate : f->C_SignEncryptUpdate;
    return a->c->kind == DIGEST ? f->C_DecryptDigestUpdate : f->C_DecryptVerifyUpdate;
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
        cmocka_unit_test_setup_teardown(test_a_state_finishes_in_another_process, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
