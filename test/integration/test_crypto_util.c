/*
 * The OpenSSL references the crypto tests trust (crypto_util.c), checked against published
 * known-answer vectors (FIPS 180, RFC 2202, RFC 4231, SP 800-38A, RFC 6979) and against results of
 * the openssl command line, before any token result is compared with them. Needs no TPM.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "integration/crypto_util.h"

/* An RSA-1024 key made for these vectors with `openssl genpkey`. */
static const char rsa_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAKzAUgXR7RAiz17n\n"
    "I+Wj5aUhgOM68uIm/z/e++uHLuLX19kZQuVU3Gi6PhA+RPhXBxFdlWdkTK1F+sjw\n"
    "4UUmBJPBAYOeJJZirVi5iGfQD4X0T5z3/zxLMbKzHPdPmtrcLCqNrDFZ5cpP5Xco\n"
    "9ic18lj3n6qnj3WRR7XtXHXLNIGPAgMBAAECgYBqjhYJ0PrQwSf3+cqCkx3LRWci\n"
    "wfGe3T8EPp5VIQUiltBk8Nf6bOWnE3nEuyP/qm6Jn5fQNmW1WzzdRPcul8yp8jA8\n"
    "ecBXgGTMZi92mnns6WtjMqGqysX2ymXG0xLuEGUWLlFzzCnK99TY8dU7Us/VWKsi\n"
    "CXqFMbzWob0u8eBXAQJBAOV0hdSygps0LbEukyEEMVWvRnShET/4GqoEJWsiVFqs\n"
    "8KtX5ou0kYvPfgOhi/lOX70WG+0hypc8+EV/bzsS3NECQQDAvHiU07JmeiaoHhGe\n"
    "eV/Ye0YpXA5+Erm5YAtWwV8eojFM7S3+SWS7K5n1XTyzEhAtAd1t5gA3LeYLCY3W\n"
    "z5BfAkA2wSqaigqerMHmkR2s+Eopj0z50eHC6Rq7zYd8XFHS3YgE61Hprqo4ucfx\n"
    "Z+B2GpzAC4GYgcLNelAojXNmnmaxAkAjdgnRiCm4xRy7rdycBcTmtbexAGkCNTvK\n"
    "qassaSOxJTJg7vqZYLOR5HHNPTxfziD/xuoQwFKl1GIRAc8BCOuNAkASNlMbJyn2\n"
    "7pcu/BGsd9gaSiffKwvLYp5my/K0nB/qmSIciQngILqxbTUzZfcSEAB0nqQBIXGD\n"
    "74fOvvys2Nfb\n"
    "-----END PRIVATE KEY-----\n";

/* `openssl dgst -sha256 -sign` of "abc" with that key. */
static const char rsa_sha256_abc[] =
    "6c81b38cd69e126a51bf6f70f24557b2c5787595114081ed72d5fd4e81a651d987075a9f76b171793ac8756b7144"
    "570f2b18959a14f750eb2dd2fcf0b7099ed68c6af102c573e2da2aae7e00a7cc13b3465cf1eb68fae7a785c77675"
    "4b16fb66148a9cbb8abad6ef93f407c0e5c62be4a4a9ba8cecdd97140e8ad4429598102d";
/* `openssl pkeyutl -sign` of SHA-256("abc"), PSS with MGF1-SHA-256 and a 32-byte salt. */
static const char rsa_pss_abc[] =
    "21797c08de2696c645d5fa8eaabe83e16f915c871b679f11ad44b7ac1a7ee9f2561ff7a67201a30bbde8413aa9bf"
    "16da1f6928ea09eed0ed8aa33a5bbe9febb95dbbae53348725e742f8d9b6721ee8bfe52dae515f7d223a902274a6"
    "b5cb9a1abbdf13a1b5a38ece6a860463c48b30073eccaddecb8040d89dc097e5afe418c6";
/* 0x000102616263 raised to the private exponent (Python pow with the key's numbers). */
static const char rsa_raw_000102abc[] =
    "0bbf74ab3064b3b7f3ad20be4980c8a73bbd78fada91cb26a5202a0942a8738d6b072ff5a66a2406cc6027aab9af"
    "023302cbde06f3b67a93b1eebfd5f94342036032f87e9e62615e2a53132bae07765b050ae8dbf5d486ed211d112e"
    "1c8bbf68aae7e7ddf3843d7368897756232132acc750d4a8cbf0c0ed1553dd81849c2d27";
/* `openssl pkeyutl -encrypt` of "secret", OAEP SHA-256 with the label "abc\0". */
static const char rsa_oaep_secret[] =
    "786a3a83353f391b069938fcb01b989b534ad93b9652571f61ee305dc23d4f43ab29493510416bb62df0d0ec8d13"
    "39d515658d28362758eb58110ecc1c2534db50b06e2e3873b4fcc148bd3f1b6e7c1c5278f6649f51a38a12893ade"
    "1b9e891a2a9fabea56739b2bfd353b4220b4629dc77e9005fa2a3353bfc62ff3221a4ae2";

static EVP_PKEY *rsa_key(void)
{
    BIO *bio = BIO_new_mem_buf(rsa_pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

    BIO_free(bio);
    assert_non_null(k);
    return k;
}

static void expect_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[512];
    size_t n = cu_unhex(hex, want, sizeof want);

    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
}

static void test_digests_match_fips_180_vectors(void **state)
{
    uint8_t out[EVP_MAX_MD_SIZE];

    expect_hex(out, cu_digest(CKM_SHA_1, "abc", 3, out), "a9993e364706816aba3e25717850c26c9cd0d89d");
    expect_hex(out, cu_digest(CKM_SHA256, "abc", 3, out),
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_hex(out, cu_digest(CKM_SHA384, "abc", 3, out),
               "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
    expect_hex(out, cu_digest(CKM_SHA512, "abc", 3, out),
               "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
               "454d4423643ce80e2a9ac94fa54ca49f");
    expect_hex(out, cu_digest(CKM_SHA256, "", 0, out),
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(cu_digest(CKM_AES_CBC, "abc", 3, out), 0);
}

static void test_hmacs_match_rfc_4231_and_2202_vectors(void **state)
{
    static const char data[] = "what do ya want for nothing?";
    static const uint8_t key5[20] = { 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c,
                                      0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c };
    CK_ULONG len16 = 16, len65 = 65;
    CK_MECHANISM sha1 = { CKM_SHA_1_HMAC, NULL, 0 }, sha256 = { CKM_SHA256_HMAC, NULL, 0 };
    CK_MECHANISM sha384 = { CKM_SHA384_HMAC, NULL, 0 }, sha512 = { CKM_SHA512_HMAC, NULL, 0 };
    CK_MECHANISM trunc = { CKM_SHA256_HMAC_GENERAL, &len16, sizeof len16 };
    CK_MECHANISM too_long = { CKM_SHA512_HMAC_GENERAL, &len65, sizeof len65 };
    uint8_t out[EVP_MAX_MD_SIZE];

    expect_hex(out, cu_hmac(&sha1, "Jefe", 4, data, 28, out), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    expect_hex(out, cu_hmac(&sha256, "Jefe", 4, data, 28, out),
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect_hex(out, cu_hmac(&sha384, "Jefe", 4, data, 28, out),
               "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649");
    expect_hex(out, cu_hmac(&sha512, "Jefe", 4, data, 28, out),
               "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fd"
               "caeab1a34d4a6b4b636e070a38bce737");
    /* RFC 4231 test case 5: the output truncated to 128 bits. */
    expect_hex(out, cu_hmac(&trunc, key5, 20, "Test With Truncation", 20, out),
               "a3b6167473100ee06e0c796c2955552b");
    assert_int_equal(cu_hmac(&too_long, "Jefe", 4, data, 28, out), 0);
}

/* SP 800-38A appendix F: the four blocks of plaintext and each mode's ciphertext. */
static const char sp_plain[] = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                               "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
static const char sp_key128[] = "2b7e151628aed2a6abf7158809cf4f3c";
static const char sp_key256[] = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";

static void check_sp_vector(CK_MECHANISM *m, const char *key_hex, const char *cipher_hex)
{
    uint8_t key[32], plain[64], out[80], back[80];
    size_t key_len = cu_unhex(key_hex, key, sizeof key), out_len, back_len;

    assert_int_equal(cu_unhex(sp_plain, plain, sizeof plain), 64);
    assert_int_equal(cu_aes(m, 1, key, key_len, plain, 64, out, &out_len), 0);
    expect_hex(out, out_len, cipher_hex);
    assert_int_equal(cu_aes(m, 0, key, key_len, out, out_len, back, &back_len), 0);
    assert_int_equal(back_len, 64);
    assert_memory_equal(back, plain, 64);
}

static void test_aes_modes_match_sp_800_38a_vectors(void **state)
{
    uint8_t iv[16];
    CK_AES_CTR_PARAMS ctr = { .ulCounterBits = 128 };
    CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 }, cbc = { CKM_AES_CBC, iv, 16 };
    CK_MECHANISM cfb = { CKM_AES_CFB128, iv, 16 }, ctr_m = { CKM_AES_CTR, &ctr, sizeof ctr };

    cu_unhex("000102030405060708090a0b0c0d0e0f", iv, 16);
    cu_unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr.cb, 16);
    check_sp_vector(&ecb, sp_key128, "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
                                     "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4");
    check_sp_vector(&cbc, sp_key128, "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
                                     "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7");
    check_sp_vector(&cfb, sp_key128, "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"
                                     "26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6");
    check_sp_vector(&ctr_m, sp_key128, "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
                                       "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee");
    check_sp_vector(&ecb, sp_key256, "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
                                     "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7");
    check_sp_vector(&cbc, sp_key256, "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
                                     "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b");
    check_sp_vector(&ctr_m, sp_key256, "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
                                       "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6");
}

static void test_aes_cbc_pad_adds_a_block_and_rejects_bad_padding(void **state)
{
    uint8_t key[16], iv[16], plain[48], padded[48], out[64], ref[64], back[64];
    CK_MECHANISM pad = { CKM_AES_CBC_PAD, iv, 16 }, cbc = { CKM_AES_CBC, iv, 16 };
    size_t out_len, ref_len, back_len;

    cu_fill(key, 16, 1);
    cu_fill(iv, 16, 2);
    cu_fill(plain, 48, 3);
    /* 0..32 bytes: the padding is 16 - len % 16 bytes of that value (PKCS #7). */
    for (size_t len = 0; len <= 32; len++) {
        size_t n = 16 - len % 16;
        memcpy(padded, plain, len);
        memset(padded + len, (int)n, n);
        assert_int_equal(cu_aes(&pad, 1, key, 16, plain, len, out, &out_len), 0);
        assert_int_equal(cu_aes(&cbc, 1, key, 16, padded, len + n, ref, &ref_len), 0);
        assert_int_equal(out_len, len + n);
        assert_memory_equal(out, ref, out_len);
        assert_int_equal(cu_aes(&pad, 0, key, 16, out, out_len, back, &back_len), 0);
        assert_int_equal(back_len, len);
        assert_memory_equal(back, plain, len);
    }
    /* A last byte of 0 or 17, or pad bytes that differ, are not padding. */
    memset(padded, 0, 16);
    assert_int_equal(cu_aes(&cbc, 1, key, 16, padded, 16, ref, &ref_len), 0);
    assert_int_equal(cu_aes(&pad, 0, key, 16, ref, 16, back, &back_len), -1);
    padded[15] = 17;
    assert_int_equal(cu_aes(&cbc, 1, key, 16, padded, 16, ref, &ref_len), 0);
    assert_int_equal(cu_aes(&pad, 0, key, 16, ref, 16, back, &back_len), -1);
    memset(padded, 3, 16);
    padded[13] = 2;
    assert_int_equal(cu_aes(&cbc, 1, key, 16, padded, 16, ref, &ref_len), 0);
    assert_int_equal(cu_aes(&pad, 0, key, 16, ref, 16, back, &back_len), -1);
}

static void test_aes_ctr_counts_only_the_counter_bits(void **state)
{
    uint8_t key[16], plain[1000], out[1016], ref[1016], block[16], ks[16];
    CK_AES_CTR_PARAMS p = { .ulCounterBits = 128 };
    CK_MECHANISM ctr = { CKM_AES_CTR, &p, sizeof p }, ecb = { CKM_AES_ECB, NULL, 0 };
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t out_len, n;
    int n1, n2;

    cu_fill(key, 16, 4);
    cu_fill(plain, sizeof plain, 5);
    cu_fill(p.cb, 16, 6);
    p.cb[15] = 0xf0;   /* carries into the bytes above within 16 blocks */
    /* A full 128-bit counter is OpenSSL's own counter mode. */
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, sizeof plain, out, &out_len), 0);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, p.cb), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, ref, &n1, plain, (int)sizeof plain), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, ref + n1, &n2), 1);
    EVP_CIPHER_CTX_free(ctx);
    assert_int_equal(out_len, (size_t)(n1 + n2));
    assert_memory_equal(out, ref, out_len);
    /* Two counter bits starting at 1 give three blocks (PKCS#11 2.40, CKM_AES_CTR). */
    p.ulCounterBits = 2;
    p.cb[15] = 0x01;
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, 48, out, &out_len), 0);
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, 49, out, &out_len), -1);
    /* Sixteen counter bits carry from byte 15 into byte 14, and no further. */
    p.ulCounterBits = 16;
    p.cb[14] = 0x00;
    p.cb[15] = 0xff;
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, 32, out, &out_len), 0);
    memcpy(block, p.cb, 16);
    block[14] = 0x01;
    block[15] = 0x00;
    assert_int_equal(cu_aes(&ecb, 1, key, 16, block, 16, ks, &n), 0);
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(out[16 + i], plain[16 + i] ^ ks[i]);
    p.cb[14] = 0xff;
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, 16, out, &out_len), 0);
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, 17, out, &out_len), -1);
    p.ulCounterBits = 0;
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, 16, out, &out_len), -1);
    p.ulCounterBits = 129;
    assert_int_equal(cu_aes(&ctr, 1, key, 16, plain, 16, out, &out_len), -1);
}

static void test_partial_blocks_are_refused_without_padding(void **state)
{
    uint8_t key[16] = { 0 }, iv[16] = { 0 }, in[32] = { 0 }, out[48];
    CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 }, cbc = { CKM_AES_CBC, iv, 16 };
    CK_MECHANISM short_iv = { CKM_AES_CBC, iv, 15 };
    size_t out_len;

    assert_int_equal(cu_aes(&ecb, 1, key, 16, in, 17, out, &out_len), -1);
    assert_int_equal(cu_aes(&cbc, 1, key, 16, in, 31, out, &out_len), -1);
    assert_int_equal(cu_aes(&cbc, 0, key, 16, in, 17, out, &out_len), -1);
    assert_int_equal(cu_aes(&ecb, 1, key, 16, in, 0, out, &out_len), 0);
    assert_int_equal(out_len, 0);
    assert_int_equal(cu_aes(&short_iv, 1, key, 16, in, 16, out, &out_len), -1);
}

static void test_rsa_signatures_match_the_openssl_command_line(void **state)
{
    EVP_PKEY *k = rsa_key();
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM sha256_pkcs = { CKM_SHA256_RSA_PKCS, NULL, 0 }, pkcs = { CKM_RSA_PKCS, NULL, 0 };
    CK_MECHANISM x509 = { CKM_RSA_X_509, NULL, 0 };
    CK_MECHANISM raw_pss = { CKM_RSA_PKCS_PSS, &pss, sizeof pss };
    CK_MECHANISM sha256_pss = { CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof pss };
    uint8_t sig[1024], info[128], cli[128], hash[32];
    size_t sig_len, info_len = cu_digest_info(CKM_SHA256, "abc", 3, info);

    assert_int_equal(cu_sig_size(k), 128);
    assert_int_equal(cu_sign(k, &sha256_pkcs, "abc", 3, sig, &sig_len), 0);
    expect_hex(sig, sig_len, rsa_sha256_abc);
    /* CKM_RSA_PKCS over the DigestInfo is the same signature. */
    assert_int_equal(info_len, 19 + 32);
    assert_int_equal(cu_sign(k, &pkcs, info, info_len, sig, &sig_len), 0);
    expect_hex(sig, sig_len, rsa_sha256_abc);
    assert_int_equal(cu_verify(k, &pkcs, info, info_len, sig, sig_len), 1);
    assert_int_equal(cu_verify(k, &sha256_pkcs, "abd", 3, sig, sig_len), 0);
    assert_int_equal(cu_verify(k, &sha256_pkcs, "abc", 3, sig, sig_len - 1), 0);
    /* Raw RSA pads the input on the left with zeros. */
    assert_int_equal(cu_sign(k, &x509, "\x00\x01\x02" "abc", 6, sig, &sig_len), 0);
    expect_hex(sig, sig_len, rsa_raw_000102abc);
    assert_int_equal(cu_verify(k, &x509, "\x01\x02" "abc", 5, sig, sig_len), 1);
    assert_int_equal(cu_verify(k, &x509, "\x01\x02" "abd", 5, sig, sig_len), 0);
    /* PSS: the command line's signature holds for exactly its salt length and MGF1 hash. */
    cu_unhex(rsa_pss_abc, cli, sizeof cli);
    cu_digest(CKM_SHA256, "abc", 3, hash);
    assert_int_equal(cu_verify(k, &sha256_pss, "abc", 3, cli, 128), 1);
    assert_int_equal(cu_verify(k, &raw_pss, hash, 32, cli, 128), 1);
    pss.sLen = 20;
    assert_int_equal(cu_verify(k, &sha256_pss, "abc", 3, cli, 128), 0);
    pss.sLen = 32;
    pss.mgf = CKG_MGF1_SHA1;
    assert_int_equal(cu_verify(k, &sha256_pss, "abc", 3, cli, 128), 0);
    pss.mgf = CKG_MGF1_SHA256;
    pss.hashAlg = CKM_SHA_1;   /* disagrees with the mechanism's own hash */
    assert_int_equal(cu_sign(k, &sha256_pss, "abc", 3, sig, &sig_len), -1);
    pss.hashAlg = CKM_SHA256;
    assert_int_equal(cu_sign(k, &raw_pss, hash, 31, sig, &sig_len), -1);
    assert_int_equal(cu_sign(k, &raw_pss, hash, 32, sig, &sig_len), 0);
    assert_int_equal(cu_verify(k, &raw_pss, hash, 32, sig, sig_len), 1);
    EVP_PKEY_free(k);
}

static EVP_PKEY *ec_public(const char *curve, const char *point_hex)
{
    uint8_t point[133];
    size_t len = cu_unhex(point_hex, point, sizeof point);
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, len),
        OSSL_PARAM_END,
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;

    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static void test_ecdsa_verification_matches_rfc_6979(void **state)
{
    /* RFC 6979 A.2.5: P-256, SHA-256, messages "sample" and "test". */
    EVP_PKEY *k = ec_public("P-256",
                            "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                            "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
    CK_MECHANISM sha256 = { CKM_ECDSA_SHA256, NULL, 0 }, raw = { CKM_ECDSA, NULL, 0 };
    uint8_t sample[64], test[64], hash[32];

    cu_unhex("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
             "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8", sample, 64);
    cu_unhex("f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
             "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083", test, 64);
    assert_int_equal(cu_sig_size(k), 32);
    assert_int_equal(cu_verify(k, &sha256, "sample", 6, sample, 64), 1);
    assert_int_equal(cu_verify(k, &sha256, "test", 4, test, 64), 1);
    assert_int_equal(cu_verify(k, &sha256, "test", 4, sample, 64), 0);
    cu_digest(CKM_SHA256, "sample", 6, hash);
    assert_int_equal(cu_verify(k, &raw, hash, 32, sample, 64), 1);
    /* An r || s of another length, or of odd length, is no signature. */
    assert_int_equal(cu_verify(k, &raw, hash, 32, sample, 66), 0);
    assert_int_equal(cu_verify(k, &raw, hash, 32, sample, 63), 0);
    EVP_PKEY_free(k);
}

static void test_ecdsa_signs_r_s_and_truncates_long_inputs(void **state)
{
    static const char *curves[] = { "P-256", "P-384", "P-521" };
    static const size_t sizes[] = { 32, 48, 66 };
    CK_MECHANISM raw = { CKM_ECDSA, NULL, 0 }, sha384 = { CKM_ECDSA_SHA384, NULL, 0 };
    uint8_t input[100], sig[1024], der[200], back[132];
    size_t sig_len, der_len;

    cu_fill(input, sizeof input, 7);
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i]);
        size_t n = sizes[i];
        assert_int_equal(cu_sig_size(k), n);
        assert_int_equal(cu_sign(k, &sha384, "msg", 3, sig, &sig_len), 0);
        assert_int_equal(sig_len, 2 * n);
        assert_int_equal(cu_verify(k, &sha384, "msg", 3, sig, sig_len), 1);
        assert_int_equal(cu_verify(k, &sha384, "msh", 3, sig, sig_len), 0);
        der_len = cu_ecdsa_to_der(sig, n, der);
        assert_int_equal(cu_ecdsa_from_der(der, der_len, n, back), 0);
        assert_memory_equal(back, sig, 2 * n);
        /* An input longer than the order counts by its leftmost bits only. */
        assert_int_equal(cu_sign(k, &raw, input, 100, sig, &sig_len), 0);
        assert_int_equal(cu_verify(k, &raw, input, 100, sig, sig_len), 1);
        assert_int_equal(cu_verify(k, &raw, input, n, sig, sig_len), 1);
        assert_int_equal(cu_verify(k, &raw, input, n - 1, sig, sig_len), 0);
        EVP_PKEY_free(k);
    }
}

static void test_rsa_oaep_matches_the_openssl_command_line(void **state)
{
    EVP_PKEY *k = rsa_key();
    CK_RSA_PKCS_OAEP_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, "abc", 4 };
    CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &p, sizeof p }, pkcs = { CKM_RSA_PKCS, NULL, 0 };
    uint8_t ct[128], out[128];
    size_t out_len, ct_len;

    cu_unhex(rsa_oaep_secret, ct, sizeof ct);
    assert_int_equal(cu_rsa_decrypt(k, &oaep, ct, 128, out, &out_len), 0);
    assert_int_equal(out_len, 6);
    assert_memory_equal(out, "secret", 6);
    p.ulSourceDataLen = 3;   /* "abc" without its zero is another label */
    assert_int_equal(cu_rsa_decrypt(k, &oaep, ct, 128, out, &out_len), -1);
    p.hashAlg = CKM_SHA_1;
    p.mgf = CKG_MGF1_SHA1;
    p.ulSourceDataLen = 0;
    assert_int_equal(cu_rsa_encrypt(k, &oaep, "x", 1, ct, &ct_len), 0);
    assert_int_equal(ct_len, 128);
    assert_int_equal(cu_rsa_decrypt(k, &oaep, ct, ct_len, out, &out_len), 0);
    assert_int_equal(out_len, 1);
    assert_int_equal(cu_rsa_decrypt(k, &pkcs, ct, ct_len, out, &out_len), -1);
    assert_int_equal(cu_rsa_encrypt(k, &pkcs, "hello", 5, ct, &ct_len), 0);
    assert_int_equal(cu_rsa_decrypt(k, &pkcs, ct, ct_len, out, &out_len), 0);
    assert_int_equal(out_len, 5);
    assert_memory_equal(out, "hello", 5);
    /* PKCS #1 v1.5 takes at most k - 11 bytes; OAEP k - 2 hLen - 2. */
    assert_int_equal(cu_rsa_encrypt(k, &pkcs, out, 118, ct, &ct_len), -1);
    assert_int_equal(cu_rsa_encrypt(k, &oaep, out, 128 - 42 + 1, ct, &ct_len), -1);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digests_match_fips_180_vectors),
        cmocka_unit_test(test_hmacs_match_rfc_4231_and_2202_vectors),
        cmocka_unit_test(test_aes_modes_match_sp_800_38a_vectors),
        cmocka_unit_test(test_aes_cbc_pad_adds_a_block_and_rejects_bad_padding),
        cmocka_unit_test(test_aes_ctr_counts_only_the_counter_bits),
        cmocka_unit_test(test_partial_blocks_are_refused_without_padding),
        cmocka_unit_test(test_rsa_signatures_match_the_openssl_command_line),
        cmocka_unit_test(test_ecdsa_verification_matches_rfc_6979),
        cmocka_unit_test(test_ecdsa_signs_r_s_and_truncates_long_inputs),
        cmocka_unit_test(test_rsa_oaep_matches_the_openssl_command_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
