/* The TPM layer's key use on a real swtpm: signatures, RSA, AES, each checked with OpenSSL. */
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
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "integration/tpm_fixture.h"

/* ---- signatures ---- */

/* OpenSSL's verdict on an RSA signature (PKCS#1 v1.5, or PSS with the given salt length). */
static int rsa_verify(EVP_PKEY *k, uint16_t hash, int pad, int saltlen, const uint8_t *digest,
                      const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    int ok;

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, pad), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, md_of(hash)), 1);
    if (pad == RSA_PKCS1_PSS_PADDING) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md_of(hash)), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen), 1);
    }
    ok = EVP_PKEY_verify(ctx, sig, sig_len, digest, md_len(hash));
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* Test: RSASSA signatures (SHA-1/256/384/512) are the modulus long and verify in OpenSSL. */
static void test_rsassa_signatures_verify_with_openssl(void **state)
{
    struct fixture *f = *state;
    uint8_t digest[64], sig[256];

    for (size_t i = 0; i < N_HASHES; i++) {
        size_t sig_len = sizeof sig;
        random_bytes(digest, md_len(hashes[i]));
        assert_int_equal(tpm_sign(f->t, f->rsa_key, TPM_SIG_RSASSA, hashes[i], digest,
                                  md_len(hashes[i]), sig, &sig_len), CKR_OK);
        assert_int_equal(sig_len, 256);
        assert_int_equal(rsa_verify(f->rsa, hashes[i], RSA_PKCS1_PADDING, 0, digest, sig,
                                    sig_len), 1);
    }
}

/*
 * Test: RSAPSS signatures verify in OpenSSL with MGF1 of the same hash. swtpm (libtpms) takes
 * a salt as long as the digest: they verify with RSA_PSS_SALTLEN_DIGEST, not with MAX.
 */
static void test_rsapss_signatures_have_a_digest_long_salt(void **state)
{
    struct fixture *f = *state;
    uint8_t digest[64], sig[256];

    for (size_t i = 0; i < N_HASHES; i++) {
        size_t sig_len = sizeof sig;
        random_bytes(digest, md_len(hashes[i]));
        assert_int_equal(tpm_sign(f->t, f->rsa_key, TPM_SIG_RSAPSS, hashes[i], digest,
                                  md_len(hashes[i]), sig, &sig_len), CKR_OK);
        assert_int_equal(sig_len, 256);
        assert_int_equal(rsa_verify(f->rsa, hashes[i], RSA_PKCS1_PSS_PADDING,
                                    RSA_PSS_SALTLEN_DIGEST, digest, sig, sig_len), 1);
        assert_int_not_equal(rsa_verify(f->rsa, hashes[i], RSA_PKCS1_PSS_PADDING,
                                        RSA_PSS_SALTLEN_MAX, digest, sig, sig_len), 1);
    }
}

/* Test: ECDSA on P-256, P-384, P-521 (r and s padded to the curve) verifies in OpenSSL. */
static void test_ecdsa_signatures_verify_with_openssl(void **state)
{
    struct fixture *f = *state;

    for (int c = 0; c < N_CURVES; c++)
        for (size_t i = 0; i < N_HASHES; i++)
            ecdsa_sign_verify(f, c, hashes[i]);
    /* Half of P-521's r and s are below 2^520, a byte short unless padded: meet some. */
    for (int i = 0; i < 20; i++)
        ecdsa_sign_verify(f, 2, TPM2_ALG_SHA512);
}

/* Test: a short buffer learns the size before the TPM works; a wrong digest length is refused. */
static void test_sign_sizes_are_checked_first(void **state)
{
    struct fixture *f = *state;
    uint8_t digest[32] = { 0 }, sig[256];
    size_t sig_len = 100;

    assert_int_equal(tpm_sign(f->t, f->rsa_key, TPM_SIG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig,
                              &sig_len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(sig_len, 256);
    sig_len = 10;
    assert_int_equal(tpm_sign(f->t, f->ec_key[0], TPM_SIG_ECDSA, TPM2_ALG_SHA256, digest, 32, sig,
                              &sig_len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(sig_len, 64);
    sig_len = sizeof sig;
    assert_int_equal(tpm_sign(f->t, f->rsa_key, TPM_SIG_RSASSA, TPM2_ALG_SHA256, digest, 20, sig,
                              &sig_len), CKR_DATA_LEN_RANGE);
    assert_int_equal(tpm_sign(f->t, f->ec_key[0], TPM_SIG_RSASSA, TPM2_ALG_SHA256, digest, 32,
                              sig, &sig_len), CKR_KEY_TYPE_INCONSISTENT);
}

/* Test: a key the TPM made for decryption only will not sign. */
static void test_decrypt_only_ec_key_does_not_sign(void **state)
{
    struct fixture *f = *state;
    struct tpm_key_spec spec = { .type = TPM_KEY_EC, .curve = TPM2_ECC_NIST_P256,
                                 .decrypt = true };
    struct tpm_obj *o = key_new(f->t, f->primary, &spec, NULL, NULL, NULL);
    uint8_t digest[32] = { 1 }, sig[64];
    size_t sig_len = sizeof sig;

    assert_int_equal(tpm_sign(f->t, o, TPM_SIG_ECDSA, TPM2_ALG_SHA256, digest, 32, sig, &sig_len),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    tpm_obj_close(f->t, o);
}

/* ---- RSA private-key operations ---- */

/* Test: raw RSA on a PKCS#1 block we build is OpenSSL's PKCS#1 v1.5 signature of the digest. */
static void test_rsa_raw_signs_a_block_as_openssl_does(void **state)
{
    static const uint8_t sha256_info[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
                                           0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
                                           0x20 };
    struct fixture *f = *state;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->rsa, NULL);
    uint8_t block[256], digest[32], tpm_sig[256], ossl_sig[256];
    size_t tpm_len = sizeof tpm_sig, ossl_len = sizeof ossl_sig;
    size_t pad = sizeof block - 3 - sizeof sha256_info - sizeof digest;

    assert_non_null(ctx);
    random_bytes(digest, sizeof digest);
    block[0] = 0x00;
    block[1] = 0x01;
    memset(block + 2, 0xff, pad);
    block[2 + pad] = 0x00;
    memcpy(block + 3 + pad, sha256_info, sizeof sha256_info);
    memcpy(block + 3 + pad + sizeof sha256_info, digest, sizeof digest);
    assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_RAW, 0, NULL, 0, block,
                                     sizeof block, tpm_sig, &tpm_len), CKR_OK);
    assert_int_equal(tpm_len, 256);
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_sign(ctx, ossl_sig, &ossl_len, digest, sizeof digest), 1);
    assert_int_equal(ossl_len, 256);
    assert_memory_equal(tpm_sig, ossl_sig, 256);
    EVP_PKEY_CTX_free(ctx);
}

/* OpenSSL encrypts msg to the RSA key (PKCS#1 v1.5, or OAEP with hash and label). */
static void rsa_encrypt(EVP_PKEY *k, int pad, uint16_t hash, const uint8_t *label,
                        size_t label_len, const uint8_t *msg, size_t len, uint8_t *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    size_t out_len = 256;
    uint8_t *l = NULL;

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, pad), 1);
    if (pad == RSA_PKCS1_OAEP_PADDING) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md_of(hash)), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md_of(hash)), 1);
        if (label_len > 0) {
            /* set0 takes the buffer. */
            l = OPENSSL_memdup(label, label_len);
            assert_non_null(l);
            assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)label_len), 1);
        }
    }
    assert_int_equal(EVP_PKEY_encrypt(ctx, out, &out_len, msg, len), 1);
    assert_int_equal(out_len, 256);
    EVP_PKEY_CTX_free(ctx);
}

/* Test: RSAES-PKCS1-v1_5 cipher texts from OpenSSL decrypt in the TPM, of 0 to 245 bytes. */
static void test_rsaes_pkcs1_decrypts_openssl_cipher_text(void **state)
{
    static const size_t lens[] = { 0, 1, 32, 245 };
    struct fixture *f = *state;
    uint8_t msg[245], ct[256], out[256];

    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t out_len = sizeof out;
        random_bytes(msg, sizeof msg);
        rsa_encrypt(f->rsa, RSA_PKCS1_PADDING, 0, NULL, 0, msg, lens[i], ct);
        assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_PKCS1, 0, NULL, 0, ct, 256,
                                         out, &out_len), CKR_OK);
        assert_int_equal(out_len, lens[i]);
        assert_memory_equal(out, msg, lens[i]);
    }
}

/*
 * Test: OAEP (SHA-1, SHA-256) with an empty label and with a label ending in a zero byte:
 * the TPM hashes the label as given, zero included, so OpenSSL's cipher texts decrypt.
 */
static void test_oaep_decrypts_openssl_cipher_text(void **state)
{
    static const uint8_t label[] = "a label";   /* 8 bytes with its NUL */
    static const uint16_t oaep_hashes[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
    struct fixture *f = *state;
    uint8_t msg[100], ct[256], out[256];

    for (size_t h = 0; h < 2; h++)
        for (size_t l = 0; l <= sizeof label; l += sizeof label) {
            size_t out_len = sizeof out;
            random_bytes(msg, sizeof msg);
            rsa_encrypt(f->rsa, RSA_PKCS1_OAEP_PADDING, oaep_hashes[h], label, l, msg,
                        sizeof msg, ct);
            assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_OAEP, oaep_hashes[h],
                                             l ? label : NULL, l, ct, 256, out, &out_len),
                             CKR_OK);
            assert_int_equal(out_len, sizeof msg);
            assert_memory_equal(out, msg, sizeof msg);
        }
}

/* Test: a label that does not end in zero cannot be given to the TPM. */
static void test_oaep_label_not_ending_in_zero_is_param_invalid(void **state)
{
    static const uint8_t label[] = { 'a', 'b', 'c' };
    struct fixture *f = *state;
    uint8_t msg[16] = { 0 }, ct[256], out[256];
    size_t out_len = sizeof out;

    rsa_encrypt(f->rsa, RSA_PKCS1_OAEP_PADDING, TPM2_ALG_SHA256, label, sizeof label, msg,
                sizeof msg, ct);
    assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_OAEP, TPM2_ALG_SHA256, label,
                                     sizeof label, ct, 256, out, &out_len),
                     CKR_MECHANISM_PARAM_INVALID);
}

/* Test: cipher texts that do not decrypt to valid padding are invalid encrypted data. */
static void test_corrupted_cipher_text_is_encrypted_data_invalid(void **state)
{
    struct fixture *f = *state;
    uint8_t msg[32] = { 0 }, ct[256], out[256];
    size_t out_len = sizeof out;

    rsa_encrypt(f->rsa, RSA_PKCS1_PADDING, 0, NULL, 0, msg, sizeof msg, ct);
    ct[100] ^= 0x40;
    assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_PKCS1, 0, NULL, 0, ct, 256, out,
                                     &out_len), CKR_ENCRYPTED_DATA_INVALID);
    rsa_encrypt(f->rsa, RSA_PKCS1_OAEP_PADDING, TPM2_ALG_SHA256, NULL, 0, msg, sizeof msg, ct);
    ct[200] ^= 0x01;
    out_len = sizeof out;
    assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_OAEP, TPM2_ALG_SHA256, NULL, 0,
                                     ct, 256, out, &out_len), CKR_ENCRYPTED_DATA_INVALID);
    /* A value above the modulus. */
    memset(ct, 0xff, sizeof ct);
    out_len = sizeof out;
    assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_RAW, 0, NULL, 0, ct, 256, out,
                                     &out_len), CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(tpm_rsa_decrypt(f->t, f->rsa_key, TPM_RSA_RAW, 0, NULL, 0, ct, 255, out,
                                     &out_len), CKR_ENCRYPTED_DATA_LEN_RANGE);
}

/* Test: an RSA key that may only sign will not decrypt. */
static void test_sign_only_rsa_key_does_not_decrypt(void **state)
{
    struct fixture *f = *state;
    struct tpm_obj *o = rsa_import(f, f->rsa, true, false);
    uint8_t msg[32] = { 0 }, ct[256], out[256];
    size_t out_len = sizeof out;

    rsa_encrypt(f->rsa, RSA_PKCS1_PADDING, 0, NULL, 0, msg, sizeof msg, ct);
    assert_int_equal(tpm_rsa_decrypt(f->t, o, TPM_RSA_PKCS1, 0, NULL, 0, ct, 256, out, &out_len),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    tpm_obj_close(f->t, o);
}


/* Test: AES-128/256 in CBC, ECB, CTR, CFB, 0 to 5000 bytes, both ways, as OpenSSL does. */
static void test_aes_modes_equal_openssl(void **state)
{
    static const size_t lens[] = { 0, 1, 15, 16, 17, 33, 100, 1023, 1024, 1025, 1040, 2047,
                                   2048, 3001, 4096, 5000 };
    struct fixture *f = *state;
    uint8_t *plain = random_buffer(5000), *tpm_out = malloc(5000), *ossl = malloc(5000);
    uint8_t iv[16];

    assert_non_null(tpm_out);
    assert_non_null(ossl);
    for (int k = 0; k < 2; k++)
        for (size_t m = 0; m < N_MODES; m++)
            for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
                size_t len = mode_is_blockwise(m) ? lens[i] / 16 * 16 : lens[i];
                const uint8_t *ivp = modes[m] == TPM2_ALG_ECB ? NULL : iv;
                random_bytes(iv, sizeof iv);
                ossl_aes(f, k, m, true, ivp, plain, len, ossl);
                tpm_aes(f, k, m, false, ivp, plain, len, tpm_out);
                assert_memory_equal(tpm_out, ossl, len);
                tpm_aes(f, k, m, true, ivp, ossl, len, tpm_out);
                assert_memory_equal(tpm_out, plain, len);
            }
    free(plain);
    free(tpm_out);
    free(ossl);
}

/* Test: two calls on halves give what one call gives: the IV comes back chained. */
static void test_aes_iv_chains_across_calls(void **state)
{
    static const size_t lens[] = { 32, 2048, 2560 };
    struct fixture *f = *state;
    uint8_t *plain = random_buffer(2560), *one = malloc(2560), *two = malloc(2560);
    uint8_t iv[16], iv_one[16], iv_two[16];

    assert_non_null(one);
    assert_non_null(two);
    for (size_t m = 0; m < N_MODES; m++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            bool ecb = modes[m] == TPM2_ALG_ECB;
            size_t len = lens[i], half = len / 2, iv_len = ecb ? 0 : 16;
            random_bytes(iv, sizeof iv);
            memcpy(iv_one, iv, 16);
            memcpy(iv_two, iv, 16);
            for (int dir = 0; dir < 2; dir++) {
                assert_int_equal(tpm_cipher(f->t, f->aes_key[1], dir, modes[m], iv_one, iv_len,
                                            plain, len, one), CKR_OK);
                assert_int_equal(tpm_cipher(f->t, f->aes_key[1], dir, modes[m], iv_two, iv_len,
                                            plain, half, two), CKR_OK);
                assert_int_equal(tpm_cipher(f->t, f->aes_key[1], dir, modes[m], iv_two, iv_len,
                                            plain + half, len - half, two + half), CKR_OK);
                assert_memory_equal(one, two, len);
                assert_memory_equal(iv_one, iv_two, 16);
            }
        }
    free(plain);
    free(one);
    free(two);
}

/* v += n, v a big-endian 128-bit number. */
static void be128_add(uint8_t v[16], unsigned n)
{
    for (int b = 15; b >= 0 && n != 0; b--) {
        unsigned sum = v[b] + n;
        v[b] = (uint8_t)sum;
        n = sum >> 8;
    }
}

/*
 * Test: swtpm's CTR counter is the whole 16-byte block, incremented big-endian with carries
 * past 32 and 64 bits and wrapping at 2^128, as OpenSSL's; the IV returned is the next counter.
 */
static void test_ctr_counter_is_the_whole_block(void **state)
{
    struct fixture *f = *state;
    uint8_t ivs[3][16], plain[64], tpm_out[64], ossl[64], iv[16];
    const size_t m = 2;

    assert_int_equal(modes[m], TPM2_ALG_CTR);
    memset(ivs, 0, sizeof ivs);
    memset(ivs[0] + 12, 0xff, 4);   /* carry out of the low 32 bits */
    memset(ivs[1] + 8, 0xff, 8);    /* carry out of the low 64 bits */
    memset(ivs[2], 0xff, 16);       /* wraps to zero */
    random_bytes(plain, sizeof plain);
    for (int i = 0; i < 3; i++) {
        memcpy(iv, ivs[i], 16);
        assert_int_equal(tpm_cipher(f->t, f->aes_key[0], false, TPM2_ALG_CTR, iv, 16, plain,
                                    sizeof plain, tpm_out), CKR_OK);
        ossl_aes(f, 0, m, true, ivs[i], plain, sizeof plain, ossl);
        assert_memory_equal(tpm_out, ossl, sizeof plain);
        be128_add(ivs[i], sizeof plain / 16);
        assert_memory_equal(iv, ivs[i], 16);
    }
}

/*
 * Test: after a partial CFB or CTR block the IV that comes back does not continue the stream,
 * so a partial block can only be the last. swtpm's CTR counter has moved past the whole block
 * (IV + 2 after 20 bytes); its CFB IV is the partial block's cipher text followed by the key
 * stream bytes it did not use.
 */
static void test_partial_cfb_ctr_block_ends_the_chain(void **state)
{
    struct fixture *f = *state;
    uint8_t plain[32], one[32], two[32], iv0[16], iv1[16], iv2[16];

    random_bytes(plain, sizeof plain);
    random_bytes(iv0, sizeof iv0);
    for (size_t m = 2; m < N_MODES; m++) {
        memcpy(iv1, iv0, 16);
        memcpy(iv2, iv0, 16);
        assert_int_equal(tpm_cipher(f->t, f->aes_key[0], false, modes[m], iv1, 16, plain, 32,
                                    one), CKR_OK);
        assert_int_equal(tpm_cipher(f->t, f->aes_key[0], false, modes[m], iv2, 16, plain, 20,
                                    two), CKR_OK);
        assert_memory_equal(one, two, 20);
        if (modes[m] == TPM2_ALG_CTR) {
            memcpy(iv1, iv0, 16);
            be128_add(iv1, 2);
            assert_memory_equal(iv2, iv1, 16);
        } else {
            assert_memory_equal(iv2, one + 16, 4);
            for (int i = 4; i < 16; i++)
                assert_int_equal(iv2[i], one[16 + i] ^ plain[16 + i]);
        }
        assert_int_equal(tpm_cipher(f->t, f->aes_key[0], false, modes[m], iv2, 16, plain + 20,
                                    12, two + 20), CKR_OK);
        assert_memory_not_equal(one + 20, two + 20, 12);
    }
}

/* Test: an AES key that may only decrypt will not encrypt, and says so. */
static void test_decrypt_only_aes_key_is_not_permitted_to_encrypt(void **state)
{
    struct fixture *f = *state;
    struct tpm_obj *o = sym_import(f, TPM_KEY_AES, f->aes_bytes[0], 16, false, true);
    uint8_t iv[16] = { 0 }, block[32] = { 0 }, out[32];

    assert_int_equal(tpm_cipher(f->t, o, false, TPM2_ALG_CBC, iv, 16, block, 32, out),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(tpm_cipher(f->t, o, true, TPM2_ALG_CBC, iv, 16, block, 32, out), CKR_OK);
    /* Lengths CBC and ECB cannot take never reach the TPM. */
    assert_int_equal(tpm_cipher(f->t, o, true, TPM2_ALG_CBC, iv, 16, block, 17, out),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_int_equal(tpm_cipher(f->t, o, false, TPM2_ALG_ECB, NULL, 0, block, 31, out),
                     CKR_DATA_LEN_RANGE);
    tpm_obj_close(f->t, o);
}

/* Drops (or restores) TPM2_EncryptDecrypt2 from the capabilities tpmtok read. */
static void caps_hide_encrypt_decrypt2(struct tpm *t, bool hide)
{
    struct tpm_caps *c = &t->caps;

    assert_true(c->read);
    for (size_t i = 0; i < c->n_commands; i++)
        if (c->commands[i] == (hide ? TPM2_CC_EncryptDecrypt2 : 0))
            c->commands[i] = hide ? 0 : TPM2_CC_EncryptDecrypt2;
}

/* Test: on a TPM without TPM2_EncryptDecrypt2, TPM2_EncryptDecrypt gives the same results. */
static void test_encrypt_decrypt_is_the_fallback(void **state)
{
    struct fixture *f = *state;
    uint8_t *plain = random_buffer(3000), *tpm_out = malloc(3000), *ossl = malloc(3000);
    uint8_t iv[16];

    assert_non_null(tpm_out);
    assert_non_null(ossl);
    assert_true(tpm_has_command(f->t, TPM2_CC_EncryptDecrypt));
    caps_hide_encrypt_decrypt2(f->t, true);
    assert_false(tpm_has_command(f->t, TPM2_CC_EncryptDecrypt2));
    for (size_t m = 0; m < N_MODES; m++) {
        const uint8_t *ivp = modes[m] == TPM2_ALG_ECB ? NULL : iv;
        random_bytes(iv, sizeof iv);
        ossl_aes(f, 1, m, true, ivp, plain, 3000 / 16 * 16, ossl);
        tpm_aes(f, 1, m, false, ivp, plain, 3000 / 16 * 16, tpm_out);
        assert_memory_equal(tpm_out, ossl, 3000 / 16 * 16);
        tpm_aes(f, 1, m, true, ivp, ossl, 3000 / 16 * 16, tpm_out);
        assert_memory_equal(tpm_out, plain, 3000 / 16 * 16);
    }
    caps_hide_encrypt_decrypt2(f->t, false);
    assert_true(tpm_has_command(f->t, TPM2_CC_EncryptDecrypt2));
    free(plain);
    free(tpm_out);
    free(ossl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsassa_signatures_verify_with_openssl),
        cmocka_unit_test(test_rsapss_signatures_have_a_digest_long_salt),
        cmocka_unit_test(test_ecdsa_signatures_verify_with_openssl),
        cmocka_unit_test(test_sign_sizes_are_checked_first),
        cmocka_unit_test(test_decrypt_only_ec_key_does_not_sign),
        cmocka_unit_test(test_rsa_raw_signs_a_block_as_openssl_does),
        cmocka_unit_test(test_rsaes_pkcs1_decrypts_openssl_cipher_text),
        cmocka_unit_test(test_oaep_decrypts_openssl_cipher_text),
        cmocka_unit_test(test_oaep_label_not_ending_in_zero_is_param_invalid),
        cmocka_unit_test(test_corrupted_cipher_text_is_encrypted_data_invalid),
        cmocka_unit_test(test_sign_only_rsa_key_does_not_decrypt),
        cmocka_unit_test(test_aes_modes_equal_openssl),
        cmocka_unit_test(test_aes_iv_chains_across_calls),
        cmocka_unit_test(test_ctr_counter_is_the_whole_block),
        cmocka_unit_test(test_partial_cfb_ctr_block_ends_the_chain),
        cmocka_unit_test(test_decrypt_only_aes_key_is_not_permitted_to_encrypt),
        cmocka_unit_test(test_encrypt_decrypt_is_the_fallback),
    };

    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
