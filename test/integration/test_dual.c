/*
 * Two operations in one session: digest with encrypt, decrypt with digest, sign with encrypt,
 * decrypt with verify. The dual-function calls give what the two operations give apart (and
 * OpenSSL gives), pass nothing on when they produce no output, need both operations, and every
 * other pairing is refused with CKR_OPERATION_ACTIVE.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/token_ops.h"
#include "util/rv.h"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;

#define MAX_LEN 5000
static uint8_t data[MAX_LEN + 64], out[MAX_LEN + 64], ref[MAX_LEN + 64];
static uint8_t aes_value[16], mac_value[32], iv[16];
static CK_AES_CTR_PARAMS ctr = { .ulCounterBits = 128 };
static EVP_PKEY *ossl_rsa;
static CK_OBJECT_HANDLE aes, mac, rsa_priv, rsa_pub;

static const size_t odd_parts[] = { 1, 7, 100, 0, 1023, 1025 };
static const size_t block_parts[] = { 16, 0, 32, 48 };
static const size_t lens[] = { 0, 16, 96, 1024, 4096, 5000 };
#define N_LENS 6

typedef CK_RV (*dual_fn)(CK_SESSION_HANDLE, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(data, sizeof data, 71);
    cu_fill(aes_value, sizeof aes_value, 72);
    cu_fill(mac_value, sizeof mac_value, 73);
    cu_fill(iv, sizeof iv, 74);
    cu_fill(ctr.cb, sizeof ctr.cb, 75);
    return (ossl_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(ossl_rsa);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "dual", &s);
    if (slot == (CK_SLOT_ID)-1 ||
        tk_import_secret(f, s, CKK_AES, aes_value, 16, NULL, 0, &aes) != CKR_OK ||
        tk_import_secret(f, s, CKK_GENERIC_SECRET, mac_value, 32, NULL, 0, &mac) != CKR_OK ||
        tk_import_private(f, s, ossl_rsa, NULL, 0, &rsa_priv) != CKR_OK ||
        tk_import_public(f, s, ossl_rsa, NULL, 0, &rsa_pub) != CKR_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static CK_MECHANISM cipher_mech(CK_MECHANISM_TYPE mode)
{
    if (mode == CKM_AES_ECB)
        return (CK_MECHANISM){ mode, NULL, 0 };
    if (mode == CKM_AES_CTR)
        return (CK_MECHANISM){ mode, &ctr, sizeof ctr };
    return (CK_MECHANISM){ mode, iv, sizeof iv };
}

static size_t usable_len(CK_MECHANISM_TYPE mode, size_t len)
{
    return mode == CKM_AES_ECB || mode == CKM_AES_CBC ? len / 16 * 16 : len;
}

/* A dual update over in, in parts of the sizes in turn; the output collected in o. */
static CK_RV dual_parts(dual_fn fn, const uint8_t *in, size_t len, const size_t *sizes,
                        size_t n_sizes, uint8_t *o, CK_ULONG *o_len)
{
    size_t off = 0, turn = 0;
    CK_ULONG done = 0;
    CK_RV rv;

    do {
        size_t part = sizes[turn++ % n_sizes];
        CK_ULONG got = MAX_LEN + 64 - done;
        part = part < len - off ? part : len - off;
        if ((rv = fn(s, (CK_BYTE *)in + off, part, o + done, &got)) != CKR_OK)
            return rv;
        done += got;
        off += part;
    } while (off < len);
    *o_len = done;
    return CKR_OK;
}

/* Finishes a cipher operation, appending its last output to o. */
static CK_RV cipher_final(CK_RV (*final)(CK_SESSION_HANDLE, CK_BYTE *, CK_ULONG *), uint8_t *o,
                          CK_ULONG *o_len)
{
    CK_ULONG got = MAX_LEN + 64 - *o_len;
    CK_RV rv = final(s, o + *o_len, &got);

    *o_len += got;
    return rv;
}

static void check_digest_encrypt(CK_MECHANISM_TYPE mode, size_t len, const size_t *sizes, size_t n)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, m = cipher_mech(mode);
    uint8_t digest[32], want[32];
    CK_ULONG ct_len = 0, d_len = sizeof digest;
    size_t ref_len;
    const char *name = tk_mech_name(mode);

    assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &m, aes), CKR_OK);
    tk_expect_rv(dual_parts(f->C_DigestEncryptUpdate, data, len, sizes, n, out, &ct_len), CKR_OK,
                 "C_DigestEncryptUpdate with %s over %zu bytes", name, len);
    tk_expect_rv(cipher_final(f->C_EncryptFinal, out, &ct_len), CKR_OK, "%s final", name);
    assert_int_equal(f->C_DigestFinal(s, digest, &d_len), CKR_OK);
    assert_int_equal(cu_aes(&m, 1, aes_value, 16, data, len, ref, &ref_len), 0);
    tk_expect_bytes(out, ct_len, ref, ref_len, "%s ciphertext of %zu bytes with a digest", name, len);
    cu_digest(CKM_SHA256, data, len, want);
    tk_expect_bytes(digest, d_len, want, 32, "digest of %zu bytes with %s", len, name);
}

static void test_digest_encrypt_update_equals_the_two_operations(void **state)
{
    static const CK_MECHANISM_TYPE modes[] = { CKM_AES_ECB, CKM_AES_CBC, CKM_AES_CBC_PAD,
                                               CKM_AES_CTR, CKM_AES_CFB128 };

    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < N_LENS; j++) {
            size_t len = usable_len(modes[i], lens[j]);
            check_digest_encrypt(modes[i], len, block_parts, 4);
            if (len == lens[j])
                check_digest_encrypt(modes[i], len, odd_parts, 6);
        }
}

/*
 * C_DecryptDigestUpdate digests the plaintext it outputs; what only C_DecryptFinal outputs the
 * application digests itself, as the spec's example does.
 */
static void check_decrypt_digest(CK_MECHANISM_TYPE mode, size_t len, const size_t *sizes, size_t n)
{
    CK_MECHANISM sha = { CKM_SHA384, NULL, 0 }, m = cipher_mech(mode);
    uint8_t digest[48], want[48];
    CK_ULONG pt_len = 0, d_len = sizeof digest, before;
    size_t ct_len;
    const char *name = tk_mech_name(mode);

    assert_int_equal(cu_aes(&m, 1, aes_value, 16, data, len, ref, &ct_len), 0);
    assert_int_equal(f->C_DecryptInit(s, &m, aes), CKR_OK);
    assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
    tk_expect_rv(dual_parts(f->C_DecryptDigestUpdate, ref, ct_len, sizes, n, out, &pt_len), CKR_OK,
                 "C_DecryptDigestUpdate with %s over %zu bytes", name, ct_len);
    before = pt_len;
    tk_expect_rv(cipher_final(f->C_DecryptFinal, out, &pt_len), CKR_OK, "%s final", name);
    assert_int_equal(f->C_DigestUpdate(s, out + before, pt_len - before), CKR_OK);
    assert_int_equal(f->C_DigestFinal(s, digest, &d_len), CKR_OK);
    tk_expect_bytes(out, pt_len, data, len, "%s plaintext of %zu bytes with a digest", name, len);
    cu_digest(CKM_SHA384, data, len, want);
    tk_expect_bytes(digest, d_len, want, 48, "digest of %zu decrypted bytes with %s", len, name);
}

static void test_decrypt_digest_update_equals_the_two_operations(void **state)
{
    static const CK_MECHANISM_TYPE modes[] = { CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR,
                                               CKM_AES_CFB128 };

    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < N_LENS; j++) {
            size_t len = usable_len(modes[i], lens[j]);
            check_decrypt_digest(modes[i], len, block_parts, 4);
            check_decrypt_digest(modes[i], len, odd_parts, 6);
        }
}

static void check_sign_encrypt(const CK_MECHANISM *sm, CK_OBJECT_HANDLE key, size_t len,
                               const size_t *sizes, size_t n)
{
    CK_MECHANISM m = cipher_mech(CKM_AES_CBC_PAD);
    uint8_t sig[512], want[512];
    CK_ULONG ct_len = 0, sig_len = sizeof sig;
    size_t ref_len, want_len;
    const char *name = tk_mech_name(sm->mechanism);

    assert_int_equal(f->C_SignInit(s, (CK_MECHANISM *)sm, key), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &m, aes), CKR_OK);
    tk_expect_rv(dual_parts(f->C_SignEncryptUpdate, data, len, sizes, n, out, &ct_len), CKR_OK,
                 "C_SignEncryptUpdate with %s over %zu bytes", name, len);
    tk_expect_rv(cipher_final(f->C_EncryptFinal, out, &ct_len), CKR_OK, "encrypt final");
    tk_expect_rv(f->C_SignFinal(s, sig, &sig_len), CKR_OK, "%s final", name);
    assert_int_equal(cu_aes(&m, 1, aes_value, 16, data, len, ref, &ref_len), 0);
    tk_expect_bytes(out, ct_len, ref, ref_len, "ciphertext of %zu bytes with %s", len, name);
    if (sm->mechanism == CKM_SHA256_HMAC)
        want_len = cu_hmac(sm, mac_value, 32, data, len, want);
    else
        assert_int_equal(cu_sign(ossl_rsa, sm, data, len, want, &want_len), 0);
    tk_expect_bytes(sig, sig_len, want, want_len, "%s of %zu bytes with an encryption", name, len);
}

static void test_sign_encrypt_update_equals_the_two_operations(void **state)
{
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 }, rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };

    for (size_t j = 0; j < N_LENS; j++) {
        check_sign_encrypt(&hmac, mac, lens[j], odd_parts, 6);
        check_sign_encrypt(&rsa, rsa_priv, lens[j], block_parts, 4);
    }
}

/* C_DecryptVerifyUpdate verifies the plaintext it outputs; the rest goes in by C_VerifyUpdate. */
static CK_RV decrypt_verify(const CK_MECHANISM *vm, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mode,
                            const uint8_t *ct, size_t ct_len, const size_t *sizes, size_t n,
                            const uint8_t *sig, size_t sig_len, CK_ULONG *pt_len)
{
    CK_MECHANISM m = cipher_mech(mode);
    CK_ULONG before;
    CK_RV rv;

    *pt_len = 0;
    assert_int_equal(f->C_DecryptInit(s, &m, aes), CKR_OK);
    assert_int_equal(f->C_VerifyInit(s, (CK_MECHANISM *)vm, key), CKR_OK);
    if ((rv = dual_parts(f->C_DecryptVerifyUpdate, ct, ct_len, sizes, n, out, pt_len)) != CKR_OK)
        return rv;
    before = *pt_len;
    if ((rv = cipher_final(f->C_DecryptFinal, out, pt_len)) != CKR_OK ||
        (rv = f->C_VerifyUpdate(s, out + before, *pt_len - before)) != CKR_OK)
        return rv;
    return f->C_VerifyFinal(s, (CK_BYTE *)sig, sig_len);
}

static void test_decrypt_verify_update_equals_the_two_operations(void **state)
{
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 }, rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    static const CK_MECHANISM_TYPE modes[] = { CKM_AES_CBC_PAD, CKM_AES_CTR };
    uint8_t sig[512];
    size_t sig_len, ct_len;
    CK_ULONG pt_len;

    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < N_LENS; j++) {
            CK_MECHANISM m = cipher_mech(modes[i]);
            size_t len = lens[j];
            const CK_MECHANISM *vm = j % 2 ? &hmac : &rsa;
            CK_OBJECT_HANDLE key = j % 2 ? mac : rsa_pub;
            assert_int_equal(cu_aes(&m, 1, aes_value, 16, data, len, ref, &ct_len), 0);
            if (j % 2)
                sig_len = cu_hmac(vm, mac_value, 32, data, len, sig);
            else
                assert_int_equal(cu_sign(ossl_rsa, vm, data, len, sig, &sig_len), 0);
            tk_expect_rv(decrypt_verify(vm, key, modes[i], ref, ct_len, odd_parts, 6, sig, sig_len,
                                        &pt_len), CKR_OK, "C_DecryptVerifyUpdate with %s over %zu bytes",
                         tk_mech_name(vm->mechanism), len);
            tk_expect_bytes(out, pt_len, data, len, "plaintext of %zu bytes with a verification", len);
            sig[0] ^= 1;
            tk_expect_rv(decrypt_verify(vm, key, modes[i], ref, ct_len, odd_parts, 6, sig, sig_len,
                                        &pt_len), CKR_SIGNATURE_INVALID,
                         "C_DecryptVerifyUpdate of a wrong %s signature", tk_mech_name(vm->mechanism));
        }
}

/*
 * 2.40: "If a C_DigestEncryptUpdate call does not produce encrypted output (because an error
 * occurs, or because pEncryptedPart has the value NULL_PTR, or because pulEncryptedPartLen is
 * too small to hold the entire encrypted part output), then no plaintext is passed to the active
 * digest operation." The same holds for the other three.
 */
static void test_dual_update_without_output_passes_nothing_on(void **state)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, m = cipher_mech(CKM_AES_CBC);
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };
    uint8_t result[64], want[64];
    CK_ULONG len, r_len;
    CK_RV rv;

    for (int kind = 0; kind < 2; kind++) {
        dual_fn fn = kind == 0 ? f->C_DigestEncryptUpdate : f->C_SignEncryptUpdate;
        if (kind == 0)
            assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
        else
            assert_int_equal(f->C_SignInit(s, &hmac, mac), CKR_OK);
        assert_int_equal(f->C_EncryptInit(s, &m, aes), CKR_OK);
        /* A length query, then a buffer too small for what 4096 bytes give, then the real call. */
        len = 0;
        assert_int_equal(fn(s, data, 4096, NULL, &len), CKR_OK);
        assert_true(len <= 4096 + 16);
        len = 0;
        rv = fn(s, data, 4096, out, &len);
        if (rv == CKR_BUFFER_TOO_SMALL) {
            len = MAX_LEN;
            rv = fn(s, data, 4096, out, &len);
        }
        tk_expect_rv(rv, CKR_OK, "dual update %d after the length conventions", kind);
        r_len = MAX_LEN;
        assert_int_equal(f->C_EncryptFinal(s, out + len, &r_len), CKR_OK);
        r_len = sizeof result;
        if (kind == 0) {
            assert_int_equal(f->C_DigestFinal(s, result, &r_len), CKR_OK);
            cu_digest(CKM_SHA256, data, 4096, want);
        } else {
            assert_int_equal(f->C_SignFinal(s, result, &r_len), CKR_OK);
            cu_hmac(&hmac, mac_value, 32, data, 4096, want);
        }
        tk_expect_bytes(result, r_len, want, 32, "%s of the data given once",
                        kind == 0 ? "digest" : "HMAC");
    }
}

static void test_decrypt_dual_update_without_output_passes_nothing_on(void **state)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, m = cipher_mech(CKM_AES_CTR);
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };
    uint8_t result[64], want[64];
    size_t ct_len;
    CK_ULONG len, tail;
    CK_RV rv;

    assert_int_equal(cu_aes(&m, 1, aes_value, 16, data, 4096, ref, &ct_len), 0);
    for (int kind = 0; kind < 2; kind++) {
        dual_fn fn = kind == 0 ? f->C_DecryptDigestUpdate : f->C_DecryptVerifyUpdate;
        assert_int_equal(f->C_DecryptInit(s, &m, aes), CKR_OK);
        if (kind == 0)
            assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
        else
            assert_int_equal(f->C_VerifyInit(s, &hmac, mac), CKR_OK);
        len = 0;
        assert_int_equal(fn(s, ref, 4096, NULL, &len), CKR_OK);
        len = 0;
        rv = fn(s, ref, 4096, out, &len);
        if (rv == CKR_BUFFER_TOO_SMALL) {
            len = MAX_LEN;
            rv = fn(s, ref, 4096, out, &len);
        }
        tk_expect_rv(rv, CKR_OK, "decrypting dual update %d after the length conventions", kind);
        tail = MAX_LEN;
        assert_int_equal(f->C_DecryptFinal(s, out + len, &tail), CKR_OK);
        tk_expect_bytes(out, len + tail, data, 4096, "plaintext after the length conventions");
        if (kind == 0) {
            CK_ULONG r_len = sizeof result;
            assert_int_equal(f->C_DigestUpdate(s, out + len, tail), CKR_OK);
            assert_int_equal(f->C_DigestFinal(s, result, &r_len), CKR_OK);
            cu_digest(CKM_SHA256, data, 4096, want);
            tk_expect_bytes(result, r_len, want, 32, "digest of the plaintext given once");
        } else {
            assert_int_equal(f->C_VerifyUpdate(s, out + len, tail), CKR_OK);
            cu_hmac(&hmac, mac_value, 32, data, 4096, want);
            tk_expect_rv(f->C_VerifyFinal(s, want, 32), CKR_OK, "HMAC of the plaintext given once");
        }
    }
}

static void test_dual_updates_need_both_operations(void **state)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, m = cipher_mech(CKM_AES_CTR);
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };
    const dual_fn fns[] = { f->C_DigestEncryptUpdate, f->C_DecryptDigestUpdate,
                            f->C_SignEncryptUpdate, f->C_DecryptVerifyUpdate };
    static const char *names[] = { "C_DigestEncryptUpdate", "C_DecryptDigestUpdate",
                                   "C_SignEncryptUpdate", "C_DecryptVerifyUpdate" };
    CK_ULONG len;

    for (size_t i = 0; i < 4; i++) {
        len = sizeof out;
        tk_expect_rv(fns[i](s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s with no operation", names[i]);
    }
    /* One half only: digest alone, encrypt alone, decrypt alone, sign alone, verify alone. */
    assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
    for (size_t i = 0; i < 4; i++) {
        len = sizeof out;
        tk_expect_rv(fns[i](s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s with a digest alone", names[i]);
    }
    len = sizeof out;
    assert_int_equal(f->C_DigestFinal(s, out, &len), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &m, aes), CKR_OK);
    for (size_t i = 0; i < 4; i++) {
        len = sizeof out;
        tk_expect_rv(fns[i](s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s with an encryption alone", names[i]);
    }
    assert_int_equal(f->C_SignInit(s, &hmac, mac), CKR_OK);
    len = sizeof out;
    tk_expect_rv(f->C_DecryptVerifyUpdate(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                 "C_DecryptVerifyUpdate with sign and encrypt");
    len = sizeof out;
    tk_expect_rv(f->C_DecryptDigestUpdate(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                 "C_DecryptDigestUpdate with sign and encrypt");
}

/* Starts one operation of a kind: 0 digest, 1 encrypt, 2 decrypt, 3 sign, 4 verify. */
static CK_RV start(int kind)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, m = cipher_mech(CKM_AES_CBC);
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };

    switch (kind) {
    case 0: return f->C_DigestInit(s, &sha);
    case 1: return f->C_EncryptInit(s, &m, aes);
    case 2: return f->C_DecryptInit(s, &m, aes);
    case 3: return f->C_SignInit(s, &hmac, mac);
    default: return f->C_VerifyInit(s, &hmac, mac);
    }
}

/* Ends a running operation of a kind by finishing it. */
static void finish(int kind)
{
    CK_ULONG len = sizeof out;
    CK_RV rv;

    switch (kind) {
    case 0: rv = f->C_DigestFinal(s, out, &len); break;
    case 1: rv = f->C_EncryptFinal(s, out, &len); break;
    case 2: rv = f->C_DecryptFinal(s, out, &len); break;
    case 3: rv = f->C_SignFinal(s, out, &len); break;
    default:
        rv = f->C_VerifyFinal(s, out, 32);
        if (rv == CKR_SIGNATURE_INVALID)
            rv = CKR_OK;
        break;
    }
    tk_expect_rv(rv, CKR_OK, "finishing operation %d", kind);
}

static void test_only_the_four_pairs_run_together(void **state)
{
    static const char *kinds[] = { "digest", "encrypt", "decrypt", "sign", "verify" };
    /* 2.40 section 5.12: digest+encrypt, decrypt+digest, sign+encrypt, decrypt+verify. */
    static const int legal[5][5] = {
        /*            digest encrypt decrypt sign verify */
        /* digest  */ { 0, 1, 1, 0, 0 },
        /* encrypt */ { 1, 0, 0, 1, 0 },
        /* decrypt */ { 1, 0, 0, 0, 1 },
        /* sign    */ { 0, 1, 0, 0, 0 },
        /* verify  */ { 0, 0, 1, 0, 0 },
    };

    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++) {
            tk_expect_rv(start(a), CKR_OK, "%s alone", kinds[a]);
            tk_expect_rv(start(b), legal[a][b] ? CKR_OK : CKR_OPERATION_ACTIVE, "%s while %s runs",
                         kinds[b], kinds[a]);
            if (legal[a][b])
                finish(b);
            finish(a);
        }
}

static void test_a_third_operation_is_operation_active(void **state)
{
    static const int pairs[4][2] = { { 0, 1 }, { 2, 0 }, { 3, 1 }, { 2, 4 } };

    for (int p = 0; p < 4; p++) {
        assert_int_equal(start(pairs[p][0]), CKR_OK);
        assert_int_equal(start(pairs[p][1]), CKR_OK);
        for (int k = 0; k < 5; k++)
            if (k != pairs[p][0] && k != pairs[p][1])
                tk_expect_rv(start(k), CKR_OPERATION_ACTIVE, "operation %d beside pair %d", k, p);
        finish(pairs[p][0]);
        finish(pairs[p][1]);
    }
}

/* The two operations of a pair take their own updates and end on their own. */
static void test_paired_operations_run_and_end_independently(void **state)
{
    CK_MECHANISM sha = { CKM_SHA512, NULL, 0 }, m = cipher_mech(CKM_AES_CTR);
    uint8_t digest[64], want[64];
    CK_ULONG d_len = sizeof digest, ct_len = 0, got;
    size_t ref_len;

    assert_int_equal(f->C_EncryptInit(s, &m, aes), CKR_OK);
    assert_int_equal(f->C_DigestInit(s, &sha), CKR_OK);
    for (size_t off = 0; off < 3000; off += 500) {
        assert_int_equal(f->C_DigestUpdate(s, data + off, 500), CKR_OK);
        got = sizeof out - ct_len;
        assert_int_equal(f->C_EncryptUpdate(s, data + off, 500, out + ct_len, &got), CKR_OK);
        ct_len += got;
    }
    assert_int_equal(f->C_DigestFinal(s, digest, &d_len), CKR_OK);
    cu_digest(CKM_SHA512, data, 3000, want);
    tk_expect_bytes(digest, d_len, want, 64, "digest beside an encryption");
    got = sizeof out - ct_len;
    tk_expect_rv(f->C_DigestEncryptUpdate(s, data + 3000, 500, out + ct_len, &got),
                 CKR_OPERATION_NOT_INITIALIZED, "C_DigestEncryptUpdate after the digest ended");
    /* The encryption goes on alone. */
    got = sizeof out - ct_len;
    assert_int_equal(f->C_EncryptUpdate(s, data + 3000, 500, out + ct_len, &got), CKR_OK);
    ct_len += got;
    got = sizeof out - ct_len;
    assert_int_equal(f->C_EncryptFinal(s, out + ct_len, &got), CKR_OK);
    ct_len += got;
    assert_int_equal(cu_aes(&m, 1, aes_value, 16, data, 3500, ref, &ref_len), 0);
    tk_expect_bytes(out, ct_len, ref, ref_len, "encryption that outlived its digest");
}

static void test_token_announces_dual_crypto_operations(void **state)
{
    CK_TOKEN_INFO info;

    assert_int_equal(f->C_GetTokenInfo(slot, &info), CKR_OK);
    assert_true(info.flags & CKF_DUAL_CRYPTO_OPERATIONS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_digest_encrypt_update_equals_the_two_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_digest_update_equals_the_two_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_encrypt_update_equals_the_two_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_verify_update_equals_the_two_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dual_update_without_output_passes_nothing_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_dual_update_without_output_passes_nothing_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dual_updates_need_both_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_the_four_pairs_run_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_third_operation_is_operation_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paired_operations_run_and_end_independently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_announces_dual_crypto_operations, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
