/* The TPM layer's hash and HMAC sequences on swtpm: digests, saved state, residency, cost. */
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
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "harness/tcti-count.h"
#include "integration/tpm_fixture.h"

/* ---- hash and HMAC sequences ---- */

/* Feeds data to seq in updates of odd sizes, and completes with the last up to 100 bytes. */
static void seq_feed_complete(struct fixture *f, struct tpm_obj *seq, const uint8_t *data,
                              size_t len, uint8_t *out, size_t *out_len)
{
    static const size_t steps[] = { 1, 7, 333, 1500, 4097, 63 };
    size_t tail = len < 100 ? len : 100, done = 0;

    for (size_t i = 0; done < len - tail; i++) {
        size_t n = steps[i % 6] < len - tail - done ? steps[i % 6] : len - tail - done;
        assert_int_equal(tpm_seq_update(f->t, seq, data + done, n), CKR_OK);
        done += n;
    }
    assert_int_equal(tpm_seq_complete(f->t, seq, data + done, tail, out, out_len), CKR_OK);
}

/* OpenSSL's digest of a || b. */
static void ossl_digest2(uint16_t hash, const uint8_t *a, size_t a_len, const uint8_t *b,
                         size_t b_len, uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;

    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, md_of(hash), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, a, a_len), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, b, b_len), 1);
    assert_int_equal(EVP_DigestFinal_ex(ctx, out, &n), 1);
    EVP_MD_CTX_free(ctx);
}

static const size_t seq_lens[] = { 0, 1, 1024, 1025, 100000 };
#define N_SEQ_LENS (sizeof seq_lens / sizeof seq_lens[0])

/* Test: hash sequences SHA-1/256/384/512 over 0 to 100000 bytes give OpenSSL's digests. */
static void test_hash_sequences_equal_openssl(void **state)
{
    struct fixture *f = *state;
    uint8_t *data = random_buffer(100000), out[64], ossl[64];

    for (size_t h = 0; h < N_HASHES; h++)
        for (size_t i = 0; i < N_SEQ_LENS; i++) {
            struct tpm_obj *seq = NULL;
            size_t out_len = sizeof out;
            assert_int_equal(tpm_hash_start(f->t, f->primary, hashes[h], &seq), CKR_OK);
            seq_feed_complete(f, seq, data, seq_lens[i], out, &out_len);
            tpm_obj_close(f->t, seq);
            ossl_digest(hashes[h], data, seq_lens[i], ossl);
            assert_int_equal(out_len, md_len(hashes[h]));
            assert_memory_equal(out, ossl, out_len);
        }
    free(data);
}

/* Test: HMAC sequences give OpenSSL's HMAC with the same key. */
static void test_hmac_sequences_equal_openssl(void **state)
{
    struct fixture *f = *state;
    uint8_t *data = random_buffer(100000), out[64], ossl[64];

    for (size_t h = 0; h < N_HASHES; h++)
        for (size_t i = 0; i < N_SEQ_LENS; i++) {
            struct tpm_obj *seq = NULL;
            size_t out_len = sizeof out;
            assert_int_equal(tpm_hmac_start(f->t, f->hmac_key, hashes[h], &seq), CKR_OK);
            seq_feed_complete(f, seq, data, seq_lens[i], out, &out_len);
            tpm_obj_close(f->t, seq);
            ossl_hmac(hashes[h], f->hmac_bytes, sizeof f->hmac_bytes, data, seq_lens[i], ossl);
            assert_int_equal(out_len, md_len(hashes[h]));
            assert_memory_equal(out, ossl, out_len);
        }
    free(data);
}

/* Test: TPM2_Hash and TPM2_HMAC of 0 to 1024 bytes equal OpenSSL's; more is refused. */
static void test_one_command_hash_and_hmac_equal_openssl(void **state)
{
    static const size_t lens[] = { 0, 1, 55, 64, 1024 };
    struct fixture *f = *state;
    uint8_t data[1025], out[64], ossl[64];
    size_t out_len;

    random_bytes(data, sizeof data);
    assert_int_equal(tpm_buffer_size(f->t), 1024);
    for (size_t h = 0; h < N_HASHES; h++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            out_len = sizeof out;
            assert_int_equal(tpm_hash(f->t, f->primary, hashes[h], data, lens[i], out, &out_len),
                             CKR_OK);
            ossl_digest(hashes[h], data, lens[i], ossl);
            assert_int_equal(out_len, md_len(hashes[h]));
            assert_memory_equal(out, ossl, out_len);
            out_len = sizeof out;
            assert_int_equal(tpm_hmac(f->t, f->hmac_key, hashes[h], data, lens[i], out,
                                      &out_len), CKR_OK);
            ossl_hmac(hashes[h], f->hmac_bytes, sizeof f->hmac_bytes, data, lens[i], ossl);
            assert_int_equal(out_len, md_len(hashes[h]));
            assert_memory_equal(out, ossl, out_len);
        }
    out_len = 10;
    assert_int_equal(tpm_hash(f->t, f->primary, TPM2_ALG_SHA256, data, 1, out, &out_len),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(out_len, 32);
    out_len = sizeof out;
    assert_int_equal(tpm_hash(f->t, f->primary, TPM2_ALG_SHA256, data, 1025, out, &out_len),
                     CKR_GENERAL_ERROR);
}

/* Test: a hash the TPM lacks, or none, starts no sequence. */
static void test_unknown_hash_is_mechanism_invalid(void **state)
{
    struct fixture *f = *state;
    struct tpm_obj *seq = NULL;
    uint8_t out[64] = { 0 };
    size_t out_len = sizeof out;

    assert_int_equal(tpm_hash_start(f->t, f->primary, TPM2_ALG_NULL, &seq),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(tpm_hash_start(f->t, f->primary, TPM2_ALG_SHA3_256, &seq),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(tpm_hmac_start(f->t, f->hmac_key, TPM2_ALG_SHA3_256, &seq),
                     CKR_MECHANISM_INVALID);
    assert_null(seq);
    assert_int_equal(tpm_hash(f->t, f->primary, TPM2_ALG_SHA3_256, out, 1, out, &out_len),
                     CKR_MECHANISM_INVALID);
}

/* Test: a key that is not an HMAC key cannot start an HMAC sequence. */
static void test_hmac_with_an_aes_key_is_refused(void **state)
{
    struct fixture *f = *state;
    struct tpm_obj *seq = NULL;
    uint8_t out[32];
    size_t out_len = sizeof out;

    assert_int_equal(tpm_hmac_start(f->t, f->aes_key[0], TPM2_ALG_SHA256, &seq),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_null(seq);
    assert_int_equal(tpm_hmac(f->t, f->aes_key[0], TPM2_ALG_SHA256, out, 1, out, &out_len),
                     CKR_KEY_TYPE_INCONSISTENT);
}

/* ---- saved sequences ---- */

struct saved {
    uint8_t *ctx;
    size_t ctx_len;
    uint8_t auth[64];
    size_t auth_len;
};

static void seq_save(struct fixture *f, struct tpm_obj *seq, struct saved *s)
{
    s->auth_len = sizeof s->auth;
    assert_int_equal(tpm_seq_save(f->t, seq, &s->ctx, &s->ctx_len, s->auth, &s->auth_len),
                     CKR_OK);
    assert_non_null(s->ctx);
    assert_int_equal(s->auth_len, 32);
}

static struct tpm_obj *seq_restore(struct fixture *f, const struct saved *s)
{
    struct tpm_obj *seq = NULL;

    assert_int_equal(tpm_seq_restore(f->t, s->ctx, s->ctx_len, s->auth, s->auth_len, &seq),
                     CKR_OK);
    assert_non_null(seq);
    return seq;
}

/* Completes seq with no more data and checks it is OpenSSL's over head || tail. */
static void seq_check(struct fixture *f, struct tpm_obj *seq, const uint8_t *hmac_key,
                      const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len)
{
    uint8_t out[32], ossl[32], *all = malloc(head_len + tail_len);
    size_t out_len = sizeof out;

    assert_non_null(all);
    memcpy(all, head, head_len);
    if (tail_len > 0)
        memcpy(all + head_len, tail, tail_len);
    assert_int_equal(tpm_seq_complete(f->t, seq, NULL, 0, out, &out_len), CKR_OK);
    tpm_obj_close(f->t, seq);
    if (hmac_key != NULL)
        ossl_hmac(TPM2_ALG_SHA256, hmac_key, 32, all, head_len + tail_len, ossl);
    else
        ossl_digest(TPM2_ALG_SHA256, all, head_len + tail_len, ossl);
    assert_int_equal(out_len, 32);
    assert_memory_equal(out, ossl, 32);
    free(all);
}

/*
 * A sequence saved midway goes on; the saved state, loaded twice, makes two more sequences
 * that go their own ways. All three finish as OpenSSL does over what each was fed.
 */
static void save_restore_twice(struct fixture *f, struct tpm_obj *key)
{
    uint8_t *data = random_buffer(8000);
    const uint8_t *head = data, *tails[3] = { data + 3000, data + 5000, data + 6500 };
    const size_t tail_lens[3] = { 1500, 777, 1500 };
    struct tpm_obj *seq[3] = { NULL };
    struct saved s = { 0 };

    if (key != NULL)
        assert_int_equal(tpm_hmac_start(f->t, key, TPM2_ALG_SHA256, &seq[0]), CKR_OK);
    else
        assert_int_equal(tpm_hash_start(f->t, f->primary, TPM2_ALG_SHA256, &seq[0]), CKR_OK);
    assert_int_equal(tpm_seq_update(f->t, seq[0], head, 3000), CKR_OK);
    seq_save(f, seq[0], &s);
    seq[1] = seq_restore(f, &s);
    seq[2] = seq_restore(f, &s);
    /* Interleaved, so a shared state in the TPM would show. */
    for (size_t off = 0; off < 1500; off += 100)
        for (int i = 0; i < 3; i++)
            if (off < tail_lens[i])
                assert_int_equal(tpm_seq_update(f->t, seq[i], tails[i] + off,
                                                 tail_lens[i] - off < 100 ? tail_lens[i] - off
                                                                          : 100), CKR_OK);
    for (int i = 0; i < 3; i++)
        seq_check(f, seq[i], key ? f->hmac_bytes : NULL, head, 3000, tails[i], tail_lens[i]);
    free(s.ctx);
    free(data);
}

/* Test: a saved hash sequence loads twice as two independent sequences; the original goes on. */
static void test_saved_hash_sequence_restores_twice(void **state)
{
    save_restore_twice(*state, NULL);
}

/* Test: the same for an HMAC sequence. */
static void test_saved_hmac_sequence_restores_twice(void **state)
{
    struct fixture *f = *state;

    save_restore_twice(f, f->hmac_key);
}

/* Evicts the fixture's objects until seq (NULL: every one) is no longer loaded. */
static void evict_until_out(struct fixture *f, struct tpm_obj *seq)
{
    mutex_lock(f->t->lock);
    while ((seq == NULL || seq->handle != 0) && resid_evict_lru(f->t))
        ;
    mutex_unlock(f->t->lock);
    if (seq == NULL) {
        assert_int_equal(tpm_loaded_count(f->t), 0);
        return;
    }
    assert_int_equal(seq->handle, 0);
    assert_non_null(seq->saved);
}

/* Test: a sequence evicted to its saved context saves as it is, and goes on after. */
static void test_evicted_sequence_saves_and_goes_on(void **state)
{
    struct fixture *f = *state;
    uint8_t data[2000];
    struct tpm_obj *seq = NULL;
    struct saved s = { 0 }, s2 = { 0 };

    random_bytes(data, sizeof data);
    assert_int_equal(tpm_hash_start(f->t, f->primary, TPM2_ALG_SHA256, &seq), CKR_OK);
    assert_int_equal(tpm_seq_update(f->t, seq, data, 1000), CKR_OK);
    evict_until_out(f, seq);
    seq_save(f, seq, &s);
    assert_int_equal(seq->handle, 0);
    /* Saved again without a change in between: the same context. */
    seq_save(f, seq, &s2);
    assert_int_equal(s.ctx_len, s2.ctx_len);
    assert_memory_equal(s.ctx, s2.ctx, s.ctx_len);
    assert_int_equal(tpm_seq_update(f->t, seq, data + 1000, 500), CKR_OK);
    seq_check(f, seq, NULL, data, 1000, data + 1000, 500);
    seq_check(f, seq_restore(f, &s), NULL, data, 1000, data + 1500, 0);
    free(s.ctx);
    free(s2.ctx);
}

/* Test: altered, cut or lengthened saved contexts, or another kind of context, are invalid. */
static void test_corrupted_saved_context_is_saved_state_invalid(void **state)
{
    struct fixture *f = *state;
    struct tpm_obj *seq = NULL, *bad = NULL;
    struct saved s = { 0 };
    uint8_t *copy;

    assert_int_equal(tpm_hash_start(f->t, f->primary, TPM2_ALG_SHA256, &seq), CKR_OK);
    assert_int_equal(tpm_seq_update(f->t, seq, primary_seed, sizeof primary_seed), CKR_OK);
    seq_save(f, seq, &s);
    copy = malloc(s.ctx_len + 1);
    assert_non_null(copy);
    /* A bit of the encrypted blob (at the end) flipped: the TPM's integrity check fails. */
    memcpy(copy, s.ctx, s.ctx_len);
    copy[s.ctx_len - 10] ^= 0x10;
    assert_int_equal(tpm_seq_restore(f->t, copy, s.ctx_len, s.auth, s.auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    /* The sequence number (first 8 bytes) is covered by the integrity HMAC too. */
    memcpy(copy, s.ctx, s.ctx_len);
    copy[7] ^= 0x01;
    assert_int_equal(tpm_seq_restore(f->t, copy, s.ctx_len, s.auth, s.auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    /* savedHandle (bytes 8-11) of a plain object instead of a sequence. */
    memcpy(copy, s.ctx, s.ctx_len);
    copy[11] = 0x00;
    assert_int_equal(tpm_seq_restore(f->t, copy, s.ctx_len, s.auth, s.auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    memcpy(copy, s.ctx, s.ctx_len);
    assert_int_equal(tpm_seq_restore(f->t, copy, s.ctx_len - 1, s.auth, s.auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    copy[s.ctx_len] = 0;
    assert_int_equal(tpm_seq_restore(f->t, copy, s.ctx_len + 1, s.auth, s.auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    assert_int_equal(tpm_seq_restore(f->t, copy, 3, s.auth, s.auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    assert_null(bad);
    /* Nothing above left an object behind; the original still finishes. */
    seq_check(f, seq, NULL, primary_seed, sizeof primary_seed, NULL, 0);
    free(copy);
    free(s.ctx);
}

/* ---- residency ---- */

/* Signs with P-256 and encrypts with AES-128, checking both with OpenSSL. */
static void use_two_keys(struct fixture *f)
{
    uint8_t plain[48], tpm_out[48], ossl[48], iv[16];

    ecdsa_sign_verify(f, 0, TPM2_ALG_SHA256);
    random_bytes(plain, sizeof plain);
    random_bytes(iv, sizeof iv);
    ossl_aes(f, 0, 0, true, iv, plain, sizeof plain, ossl);
    tpm_aes(f, 0, 0, false, iv, plain, sizeof plain, tpm_out);
    assert_memory_equal(tpm_out, ossl, sizeof plain);
}

/*
 * Test: four hash sequences and two keys in use at once, with the primary, on a TPM that holds
 * three objects: residency saves and reloads them, and every answer is right.
 */
static void test_four_sequences_and_two_keys_share_three_slots(void **state)
{
    struct fixture *f = *state;
    const size_t piece = 1500, rounds = 8;
    uint8_t *data = random_buffer(4 * piece * rounds), out[64], ossl[64];
    struct tpm_obj *seq[4] = { NULL };

    assert_int_equal(f->t->props.transient_min, 3);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(tpm_hash_start(f->t, f->primary, hashes[i], &seq[i]), CKR_OK);
    for (size_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < 4; i++)
            assert_int_equal(tpm_seq_update(f->t, seq[i], data + (i * rounds + r) * piece,
                                            piece), CKR_OK);
        use_two_keys(f);
        /* A key loaded with its parent may take the slot residency keeps spare. */
        assert_true(tpm_loaded_count(f->t) <= f->t->props.transient_min);
        assert_true(swtpm_transient_count(&f->swtpm) <= 3);
    }
    for (size_t i = 0; i < 4; i++) {
        size_t out_len = sizeof out;
        assert_int_equal(tpm_seq_complete(f->t, seq[i], NULL, 0, out, &out_len), CKR_OK);
        tpm_obj_close(f->t, seq[i]);
        ossl_digest(hashes[i], data + i * rounds * piece, rounds * piece, ossl);
        assert_int_equal(out_len, md_len(hashes[i]));
        assert_memory_equal(out, ossl, out_len);
    }
    free(data);
}

/* ---- what it costs ---- */

/* A TPM connection through the counting TCTI, whose counters are mapped at *counts. */
struct counted {
    struct tpm *t;
    struct tpm_obj *primary;
    struct tcti_count *counts;
};

static bool counted_open(struct fixture *f, struct counted *c)
{
    const char *lib = getenv("TPMTOK_TCTI_COUNT_LIB");
    char conf[PATH_MAX + 160], path[PATH_MAX + 32];
    int fd;

    if (lib == NULL || access(lib, R_OK) != 0)
        return false;
    /* A bare swtpm has three slots for both connections: the fixture's make room. */
    evict_until_out(f, NULL);
    snprintf(path, sizeof path, "%s/tcti-count", f->swtpm.dir);
    snprintf(conf, sizeof conf, "%s:%s", lib, f->swtpm.tcti);
    setenv("TPMTOK_TCTI_COUNT", path, 1);
    assert_int_equal(tpm_open(conf, &zeroed_lock_ops, true, &c->t), CKR_OK);
    unsetenv("TPMTOK_TCTI_COUNT");
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    c->counts = mmap(NULL, sizeof *c->counts, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(c->counts != MAP_FAILED);
    close(fd);
    assert_int_equal(tpm_primary_open(c->t, primary_seed, sizeof primary_seed, &c->primary, NULL,
                                      NULL), CKR_OK);
    return true;
}

static void counted_close(struct counted *c)
{
    tpm_obj_close(c->t, c->primary);
    tpm_close(c->t);
    munmap(c->counts, sizeof *c->counts);
}

static uint64_t total(const struct counted *c)
{
    return __atomic_load_n(&c->counts->total, __ATOMIC_RELAXED);
}

static uint64_t by_cc(const struct counted *c, TPM2_CC cc)
{
    return __atomic_load_n(&c->counts->by_cc[cc - TCTI_COUNT_CC_FIRST], __ATOMIC_RELAXED);
}

/*
 * A caller that buffers 100-byte pieces into full TPM buffers, as the token layer does: one
 * SequenceUpdate per 1024 bytes. Returns the commands this cost.
 */
static uint64_t buffered_digest(struct counted *c, struct tpm_obj *seq, const uint8_t *data,
                                size_t len)
{
    uint8_t buf[1024];
    size_t held = 0;
    uint64_t before = total(c);

    for (size_t off = 0; off < len; off += 100) {
        size_t n = len - off < 100 ? len - off : 100, take = n < 1024 - held ? n : 1024 - held;
        memcpy(buf + held, data + off, take);
        held += take;
        if (held == 1024) {
            assert_int_equal(tpm_seq_update(c->t, seq, buf, held), CKR_OK);
            held = 0;
        }
        memcpy(buf, data + off + take, n - take);
        held += n - take;
    }
    assert_int_equal(held, 0);
    return total(c) - before;
}

/*
 * Test: a sequence starts with one command; 1 MiB through it is exactly 1024 SequenceUpdates
 * (n full buffers in one call: n commands) and one SequenceComplete; 1 MiB of AES is exactly
 * 1024 EncryptDecrypt2s. Results checked with OpenSSL.
 */
static void test_command_counts(void **state)
{
    const size_t mib = 1u << 20;
    struct fixture *f = *state;
    uint8_t *data = random_buffer(mib), *out = malloc(mib), digest[32], ossl[32], iv[16] = { 0 };
    uint8_t iv_before[16];
    struct tpm_key_spec aes_spec = { .type = TPM_KEY_AES, .bits = 128, .sign = true };
    struct tpm_key_private aes_priv = { .value = f->aes_bytes[0], .value_len = 16 };
    struct tpm_obj *seq = NULL, *aes;
    struct counted c = { 0 };
    size_t digest_len = sizeof digest;
    uint64_t before, updates;

    assert_non_null(out);
    if (!counted_open(f, &c)) {
        free(data);
        free(out);
        skip();
    }
    /* A first sequence starts the session and reads the TPM's algorithms. */
    assert_int_equal(tpm_hash_start(c.t, c.primary, TPM2_ALG_SHA256, &seq), CKR_OK);
    assert_int_equal(tpm_seq_complete(c.t, seq, NULL, 0, digest, &digest_len), CKR_OK);
    tpm_obj_close(c.t, seq);
    before = total(&c);
    assert_int_equal(tpm_hash_start(c.t, c.primary, TPM2_ALG_SHA256, &seq), CKR_OK);
    assert_int_equal(total(&c) - before, 1);
    updates = by_cc(&c, TPM2_CC_SequenceUpdate);
    assert_int_equal(buffered_digest(&c, seq, data, mib), 1024);
    assert_int_equal(by_cc(&c, TPM2_CC_SequenceUpdate) - updates, 1024);
    before = total(&c);
    assert_int_equal(tpm_seq_update(c.t, seq, data, 5 * 1024), CKR_OK);
    assert_int_equal(total(&c) - before, 5);
    before = total(&c);
    digest_len = sizeof digest;
    assert_int_equal(tpm_seq_complete(c.t, seq, NULL, 0, digest, &digest_len), CKR_OK);
    assert_int_equal(total(&c) - before, 1);
    tpm_obj_close(c.t, seq);
    ossl_digest2(TPM2_ALG_SHA256, data, mib, data, 5 * 1024, ossl);
    assert_memory_equal(digest, ossl, 32);
    /* AES: a first call loads the key; then 1 MiB is EncryptDecrypt2 and nothing else. */
    aes = key_new(c.t, c.primary, &aes_spec, NULL, &aes_priv, NULL);
    assert_int_equal(tpm_cipher(c.t, aes, false, TPM2_ALG_CBC, iv, 16, data, 16, out), CKR_OK);
    before = total(&c);
    updates = by_cc(&c, TPM2_CC_EncryptDecrypt2);
    memcpy(iv_before, iv, sizeof iv);
    assert_int_equal(tpm_cipher(c.t, aes, false, TPM2_ALG_CBC, iv, 16, data, mib, out), CKR_OK);
    assert_int_equal(total(&c) - before, 1024);
    assert_int_equal(by_cc(&c, TPM2_CC_EncryptDecrypt2) - updates, 1024);
    ossl_aes(f, 0, 0, true, iv_before, data, mib, data);
    assert_memory_equal(out, data, mib);
    tpm_obj_close(c.t, aes);
    free(data);
    free(out);
    counted_close(&c);
}

/* Test (timings printed, not asserted): ECDSA P-256 signs, AES-CBC and SequenceUpdate rates. */
static void test_print_timings(void **state)
{
    const size_t mib = 1u << 20, signs = 200;
    struct fixture *f = *state;
    uint8_t *data = random_buffer(mib), *out = malloc(mib), digest[32] = { 0 }, sig[64];
    uint8_t iv[16] = { 0 };
    struct tpm_obj *seq = NULL;
    size_t len;
    double t0, sign_s, aes_s, seq_s;

    assert_non_null(out);
    len = sizeof sig;
    assert_int_equal(tpm_sign(f->t, f->ec_key[0], TPM_SIG_ECDSA, TPM2_ALG_SHA256, digest, 32,
                              sig, &len), CKR_OK);
    t0 = now_s();
    for (size_t i = 0; i < signs; i++) {
        len = sizeof sig;
        assert_int_equal(tpm_sign(f->t, f->ec_key[0], TPM_SIG_ECDSA, TPM2_ALG_SHA256, digest, 32,
                                  sig, &len), CKR_OK);
    }
    sign_s = now_s() - t0;
    t0 = now_s();
    assert_int_equal(tpm_cipher(f->t, f->aes_key[0], false, TPM2_ALG_CBC, iv, 16, data, mib,
                                out), CKR_OK);
    aes_s = now_s() - t0;
    assert_int_equal(tpm_hash_start(f->t, f->primary, TPM2_ALG_SHA256, &seq), CKR_OK);
    t0 = now_s();
    assert_int_equal(tpm_seq_update(f->t, seq, data, mib), CKR_OK);
    seq_s = now_s() - t0;
    tpm_obj_close(f->t, seq);
    printf("timings: ECDSA P-256 %.0f signs/s; AES-128-CBC %.2f MiB/s; "
           "SequenceUpdate (SHA-256) %.2f MiB/s\n",
           (double)signs / sign_s, 1.0 / aes_s, 1.0 / seq_s);
    free(data);
    free(out);
}

/* ---- after a TPM reset ---- */

/*
 * Test: a sequence saved before the TPM was reset does not load after it, neither in a new
 * connection nor in the one that saved it: CKR_SAVED_STATE_INVALID. (On its own swtpm.)
 */
static void test_context_from_before_a_reset_is_saved_state_invalid(void **state)
{
    struct swtpm tpm2;
    struct tpm *t = NULL, *t_after = NULL;
    struct tpm_obj *primary = NULL, *seq = NULL, *bad = NULL;
    uint8_t auth[64], *ctx = NULL;
    size_t ctx_len = 0, auth_len = sizeof auth;

    (void)state;
    assert_int_equal(swtpm_start(&tpm2), 0);
    assert_int_equal(tpm_open(tpm2.tcti, &zeroed_lock_ops, true, &t), CKR_OK);
    assert_int_equal(tpm_primary_open(t, primary_seed, sizeof primary_seed, &primary, NULL, NULL),
                     CKR_OK);
    assert_int_equal(tpm_hash_start(t, primary, TPM2_ALG_SHA256, &seq), CKR_OK);
    assert_int_equal(tpm_seq_update(t, seq, primary_seed, sizeof primary_seed), CKR_OK);
    assert_int_equal(tpm_seq_save(t, seq, &ctx, &ctx_len, auth, &auth_len), CKR_OK);
    /* Before the reset it loads. */
    assert_int_equal(tpm_seq_restore(t, ctx, ctx_len, auth, auth_len, &bad), CKR_OK);
    tpm_obj_close(t, bad);
    bad = NULL;
    assert_int_equal(swtpm_restart(&tpm2), 0);
    assert_int_equal(tpm_open(tpm2.tcti, &zeroed_lock_ops, true, &t_after), CKR_OK);
    assert_int_equal(tpm_seq_restore(t_after, ctx, ctx_len, auth, auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    assert_int_equal(tpm_seq_restore(t, ctx, ctx_len, auth, auth_len, &bad),
                     CKR_SAVED_STATE_INVALID);
    assert_null(bad);
    /* The sequence itself is gone with the reset. */
    assert_int_equal(tpm_seq_update(t, seq, primary_seed, sizeof primary_seed),
                     CKR_DEVICE_ERROR);
    tpm_close(t_after);
    tpm_obj_close(t, seq);
    tpm_obj_close(t, primary);
    tpm_close(t);
    free(ctx);
    swtpm_stop(&tpm2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_sequences_equal_openssl),
        cmocka_unit_test(test_hmac_sequences_equal_openssl),
        cmocka_unit_test(test_one_command_hash_and_hmac_equal_openssl),
        cmocka_unit_test(test_unknown_hash_is_mechanism_invalid),
        cmocka_unit_test(test_hmac_with_an_aes_key_is_refused),
        cmocka_unit_test(test_saved_hash_sequence_restores_twice),
        cmocka_unit_test(test_saved_hmac_sequence_restores_twice),
        cmocka_unit_test(test_evicted_sequence_saves_and_goes_on),
        cmocka_unit_test(test_corrupted_saved_context_is_saved_state_invalid),
        cmocka_unit_test(test_four_sequences_and_two_keys_share_three_slots),
        cmocka_unit_test(test_command_counts),
        cmocka_unit_test(test_print_timings),
        cmocka_unit_test(test_context_from_before_a_reset_is_saved_state_invalid),
    };

    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
