/*
 * AES in the TPM: ECB, CBC, CBC_PAD, CTR and CFB128 with imported keys of known value, every
 * length to 1100 bytes and a coarser walk to 5000, single-part and in parts of many shapes, equal
 * to OpenSSL byte for byte; generated keys round trip; the length rules and error codes of the
 * mechanisms; the output conventions of PKCS#11 2.40 section 5.2. (RSA: test_rsa_cipher.c.)
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

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;

static CK_BBOOL no = CK_FALSE;
#define MIB (1024 * 1024)
#define MAX_LEN 5000

static uint8_t *data, *out, *back, *ref;   /* MIB + 64 bytes each */
static uint8_t value128[16], value256[32], iv[16];
static CK_AES_CTR_PARAMS ctr = { .ulCounterBits = 128 };
/* The imported keys, made fresh for each test. */
static CK_OBJECT_HANDLE aes128, aes256;

static const CK_MECHANISM_TYPE modes[] = { CKM_AES_ECB, CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR,
                                           CKM_AES_CFB128 };
#define N_MODES 5

/*
 * Lengths: every one to 1100 (past the TPM's 1024-byte buffer), then a step of 47 to 5000 with
 * the block and buffer boundaries.
 */
static size_t lengths[1300];
static size_t n_lengths;

static int by_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static void make_lengths(void)
{
    static const size_t extra[] = { 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 4999, 5000 };
    size_t n = 0;

    for (size_t len = 0; len <= 1100; len++)
        lengths[n++] = len;
    for (size_t len = 1147; len <= MAX_LEN; len += 47)
        lengths[n++] = len;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        lengths[n++] = extra[i];
    qsort(lengths, n, sizeof lengths[0], by_size);
    for (size_t i = 0; i < n; i++)
        if (n_lengths == 0 || lengths[n_lengths - 1] != lengths[i])
            lengths[n_lengths++] = lengths[i];
}

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    data = malloc(MIB + 64);
    out = malloc(MIB + 64);
    back = malloc(MIB + 64);
    ref = malloc(MIB + 64);
    if (data == NULL || out == NULL || back == NULL || ref == NULL)
        return -1;
    cu_fill(data, MIB + 64, 51);
    cu_fill(value128, 16, 52);
    cu_fill(value256, 32, 53);
    cu_fill(iv, 16, 54);
    cu_fill(ctr.cb, 16, 55);
    ctr.cb[15] = 0xfe;   /* carries past the low byte at once */
    make_lengths();
    return 0;
}

static int group_teardown(void **state)
{
    free(data);
    free(out);
    free(back);
    free(ref);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "cipher", &s);
    if (slot == (CK_SLOT_ID)-1 ||
        tk_import_secret(f, s, CKK_AES, value128, 16, NULL, 0, &aes128) != CKR_OK ||
        tk_import_secret(f, s, CKK_AES, value256, 32, NULL, 0, &aes256) != CKR_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static CK_MECHANISM mech_of(CK_MECHANISM_TYPE mode)
{
    if (mode == CKM_AES_ECB)
        return (CK_MECHANISM){ mode, NULL, 0 };
    if (mode == CKM_AES_CTR)
        return (CK_MECHANISM){ mode, &ctr, sizeof ctr };
    return (CK_MECHANISM){ mode, iv, sizeof iv };
}

static bool block_mode(CK_MECHANISM_TYPE mode)
{
    return mode == CKM_AES_ECB || mode == CKM_AES_CBC;
}

/* The ciphertext length of a mode for a plaintext length. */
static size_t cipher_len(CK_MECHANISM_TYPE mode, size_t len)
{
    return mode == CKM_AES_CBC_PAD ? len + 16 - len % 16 : len;
}

/*
 * Encrypts len bytes of data with an imported key (single-part, or in parts), compares with
 * OpenSSL, decrypts the result (in parts of the same shape) and compares with the data.
 */
static void check_imported(CK_OBJECT_HANDLE key, const uint8_t *value, size_t key_len,
                           CK_MECHANISM_TYPE mode, size_t len, const size_t *sizes, size_t n_sizes)
{
    CK_MECHANISM m = mech_of(mode);
    CK_ULONG out_len = len + 64, back_len = len + 64;
    size_t ref_len;
    const char *name = tk_mech_name(mode), *how = sizes == NULL ? "single-part" : "in parts";

    assert_int_equal(cu_aes(&m, 1, value, key_len, data, len, ref, &ref_len), 0);
    tk_expect_rv(tk_encrypt(f, s, &m, key, data, len, sizes, n_sizes, out, &out_len), CKR_OK,
                 "AES-%zu %s encrypt of %zu bytes %s", key_len * 8, name, len, how);
    tk_expect_bytes(out, out_len, ref, ref_len, "AES-%zu %s ciphertext of %zu bytes %s",
                    key_len * 8, name, len, how);
    tk_expect_rv(tk_decrypt(f, s, &m, key, out, out_len, sizes, n_sizes, back, &back_len), CKR_OK,
                 "AES-%zu %s decrypt of %zu bytes %s", key_len * 8, name, len, how);
    tk_expect_bytes(back, back_len, data, len, "AES-%zu %s plaintext of %zu bytes %s",
                    key_len * 8, name, len, how);
}

static void check_every_length(CK_MECHANISM_TYPE mode)
{
    for (size_t i = 0; i < n_lengths; i++) {
        size_t len = lengths[i];
        if (block_mode(mode)) {
            if (len % 16 != 0)
                continue;
        }
        check_imported(aes128, value128, 16, mode, len, NULL, 0);
        check_imported(aes256, value256, 32, mode, len, NULL, 0);
    }
    /* The block modes: every multiple of 16 beyond 1100 as well. */
    for (size_t len = 1104; block_mode(mode) && len <= MAX_LEN; len += 16)
        check_imported(aes256, value256, 32, mode, len, NULL, 0);
}

static void test_aes_ecb_equals_openssl_for_every_block_multiple(void **state)
{
    check_every_length(CKM_AES_ECB);
}

static void test_aes_cbc_equals_openssl_for_every_block_multiple(void **state)
{
    check_every_length(CKM_AES_CBC);
}

static void test_aes_cbc_pad_equals_openssl_for_every_length(void **state)
{
    check_every_length(CKM_AES_CBC_PAD);
}

static void test_aes_ctr_equals_openssl_for_every_length(void **state)
{
    check_every_length(CKM_AES_CTR);
}

static void test_aes_cfb128_equals_openssl_for_every_length(void **state)
{
    check_every_length(CKM_AES_CFB128);
}

static void test_aes_in_parts_equals_openssl_for_every_mode_and_split(void **state)
{
    static const size_t odd[] = { 1, 7, 100, 0, 1023, 1025 }, ones[] = { 1 }, blocks[] = { 16 };
    static const size_t around[] = { 15, 17, 0, 0, 31, 33, 16 }, big[] = { 4096, 0 };
    static const size_t any_lengths[] = { 0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 1025, 4097 };
    static const size_t block_lengths[] = { 0, 16, 32, 48, 1024, 4096, 4112 };
    static const struct { const size_t *sizes; size_t n; size_t max_len; } splits[] = {
        { odd, 6, MAX_LEN }, { ones, 1, 100 }, { blocks, 1, MAX_LEN }, { around, 7, MAX_LEN },
        { big, 2, MAX_LEN },
    };

    for (size_t i = 0; i < N_MODES; i++) {
        bool blocky = block_mode(modes[i]);
        const size_t *lens = blocky ? block_lengths : any_lengths;
        size_t n = blocky ? 7 : 12;
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++) {
                if (lens[j] > splits[k].max_len)
                    continue;
                check_imported(aes128, value128, 16, modes[i], lens[j], splits[k].sizes, splits[k].n);
                check_imported(aes256, value256, 32, modes[i], lens[j], splits[k].sizes, splits[k].n);
            }
    }
}

/* Generated keys cannot be read: they must round trip, and differ from each other. */
static void test_generated_aes_keys_round_trip_in_every_mode(void **state)
{
    static const size_t lens[] = { 0, 1, 16, 17, 100, 1024, 5000 };
    static const size_t odd[] = { 1, 7, 100, 0, 1023, 1025 };
    CK_OBJECT_HANDLE keys[4];
    uint8_t first[64];

    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, NULL, 0, &keys[0]), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, NULL, 0, &keys[1]), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 32, NULL, 0, &keys[2]), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 32, NULL, 0, &keys[3]), CKR_OK);
    for (size_t i = 0; i < N_MODES; i++) {
        CK_MECHANISM m = mech_of(modes[i]);
        const char *name = tk_mech_name(modes[i]);
        for (size_t k = 0; k < 4; k++)
            for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
                size_t len = block_mode(modes[i]) ? lens[j] / 16 * 16 : lens[j];
                CK_ULONG out_len = len + 64, back_len = len + 64;
                int parts = j % 2;
                tk_expect_rv(tk_encrypt(f, s, &m, keys[k], data, len, parts ? odd : NULL, 6, out,
                                        &out_len), CKR_OK, "%s key %zu, %zu bytes", name, k, len);
                if (out_len != cipher_len(modes[i], len))
                    fail_msg("%s ciphertext of %zu bytes: %lu bytes", name, len, (unsigned long)out_len);
                if (len >= 16 && memcmp(out, data, 16) == 0)
                    fail_msg("%s key %zu: the ciphertext is the plaintext", name, k);
                tk_expect_rv(tk_decrypt(f, s, &m, keys[k], out, out_len, parts ? NULL : odd, 6,
                                        back, &back_len), CKR_OK, "%s key %zu decrypt", name, k);
                tk_expect_bytes(back, back_len, data, len, "%s key %zu round trip of %zu bytes",
                                name, k, len);
            }
        /* Two keys of one size encrypt one block differently. */
        for (size_t k = 0; k < 4; k += 2) {
            CK_ULONG a = sizeof first, b = 64;
            assert_int_equal(tk_encrypt(f, s, &m, keys[k], data, 16, NULL, 0, first, &a), CKR_OK);
            assert_int_equal(tk_encrypt(f, s, &m, keys[k + 1], data, 16, NULL, 0, out, &b), CKR_OK);
            if (memcmp(first, out, 16) == 0)
                fail_msg("%s: two generated keys give one ciphertext", name);
        }
    }
}

/* PKCS#11 2.40 AES-ECB and AES-CBC tables: the input is a multiple of the block size. */
static void test_ecb_and_cbc_refuse_partial_blocks_with_data_len_range(void **state)
{
    static const CK_MECHANISM_TYPE unpadded[] = { CKM_AES_ECB, CKM_AES_CBC };

    for (size_t i = 0; i < 2; i++) {
        CK_MECHANISM m = mech_of(unpadded[i]);
        CK_ULONG len = 64;
        const char *name = tk_mech_name(unpadded[i]);
        tk_expect_rv(tk_encrypt(f, s, &m, aes128, data, 17, NULL, 0, out, &len), CKR_DATA_LEN_RANGE,
                     "%s C_Encrypt of 17 bytes", name);
        len = 64;
        tk_expect_rv(f->C_Encrypt(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s C_Encrypt after CKR_DATA_LEN_RANGE", name);
        assert_int_equal(f->C_EncryptInit(s, &m, aes128), CKR_OK);
        len = 64;
        assert_int_equal(f->C_EncryptUpdate(s, data, 17, out, &len), CKR_OK);
        len = 64;
        tk_expect_rv(f->C_EncryptFinal(s, out, &len), CKR_DATA_LEN_RANGE,
                     "%s C_EncryptFinal after 17 bytes", name);
        tk_expect_rv(f->C_EncryptUpdate(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s C_EncryptUpdate after CKR_DATA_LEN_RANGE", name);
    }
}

static void test_decrypt_of_partial_blocks_is_encrypted_data_len_range(void **state)
{
    static const CK_MECHANISM_TYPE blocky[] = { CKM_AES_ECB, CKM_AES_CBC, CKM_AES_CBC_PAD };

    for (size_t i = 0; i < 3; i++) {
        CK_MECHANISM m = mech_of(blocky[i]);
        CK_ULONG len = 64;
        const char *name = tk_mech_name(blocky[i]);
        tk_expect_rv(tk_decrypt(f, s, &m, aes256, data, 33, NULL, 0, out, &len),
                     CKR_ENCRYPTED_DATA_LEN_RANGE, "%s C_Decrypt of 33 bytes", name);
        len = 64;
        tk_expect_rv(f->C_Decrypt(s, data, 32, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s C_Decrypt after CKR_ENCRYPTED_DATA_LEN_RANGE", name);
        len = 64;
        tk_expect_rv(tk_decrypt(f, s, &m, aes256, data, 33, (const size_t[]){ 20 }, 1, out, &len),
                     CKR_ENCRYPTED_DATA_LEN_RANGE, "%s C_DecryptFinal after 33 bytes", name);
    }
    /* Padded ciphertext is at least one block. */
    {
        CK_MECHANISM m = mech_of(CKM_AES_CBC_PAD);
        CK_ULONG len = 64;
        tk_expect_rv(tk_decrypt(f, s, &m, aes256, data, 0, NULL, 0, out, &len),
                     CKR_ENCRYPTED_DATA_LEN_RANGE, "CKM_AES_CBC_PAD C_Decrypt of nothing");
        len = 64;
        tk_expect_rv(tk_decrypt(f, s, &m, aes256, data, 0, (const size_t[]){ 0 }, 1, out, &len),
                     CKR_ENCRYPTED_DATA_LEN_RANGE, "CKM_AES_CBC_PAD C_DecryptFinal of nothing");
    }
}

static void test_cbc_pad_with_bad_padding_is_encrypted_data_invalid(void **state)
{
    static const uint8_t last_bytes[][3] = { { 0, 0, 0x00 }, { 0, 0, 0x11 }, { 0x03, 0x02, 0x03 },
                                             { 0xff, 0xff, 0xff } };
    CK_MECHANISM cbc = mech_of(CKM_AES_CBC), pad = mech_of(CKM_AES_CBC_PAD);
    uint8_t plain[48], ct[48];
    size_t ct_len;

    for (size_t i = 0; i < sizeof last_bytes / sizeof last_bytes[0]; i++) {
        CK_ULONG len = sizeof plain;
        memcpy(plain, data, 48);
        memcpy(plain + 45, last_bytes[i], 3);
        assert_int_equal(cu_aes(&cbc, 1, value128, 16, plain, 48, ct, &ct_len), 0);
        assert_int_equal(cu_aes(&pad, 0, value128, 16, ct, 48, out, &ct_len), -1);
        tk_expect_rv(tk_decrypt(f, s, &pad, aes128, ct, 48, NULL, 0, out, &len),
                     CKR_ENCRYPTED_DATA_INVALID, "padding ending %02x %02x %02x", last_bytes[i][0],
                     last_bytes[i][1], last_bytes[i][2]);
        len = sizeof plain;
        tk_expect_rv(tk_decrypt(f, s, &pad, aes128, ct, 48, (const size_t[]){ 16 }, 1, out, &len),
                     CKR_ENCRYPTED_DATA_INVALID, "padding ending %02x in parts", last_bytes[i][2]);
        len = sizeof plain;
        tk_expect_rv(f->C_DecryptFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED,
                     "C_DecryptFinal after CKR_ENCRYPTED_DATA_INVALID");
    }
}

static void expect_param_invalid(const CK_MECHANISM *m, const char *what)
{
    tk_expect_rv(f->C_EncryptInit(s, (CK_MECHANISM *)m, aes128), CKR_MECHANISM_PARAM_INVALID,
                 "C_EncryptInit(%s) with %s", tk_mech_name(m->mechanism), what);
    tk_expect_rv(f->C_DecryptInit(s, (CK_MECHANISM *)m, aes128), CKR_MECHANISM_PARAM_INVALID,
                 "C_DecryptInit(%s) with %s", tk_mech_name(m->mechanism), what);
}

static void test_mechanism_parameters_of_the_wrong_shape_are_param_invalid(void **state)
{
    static const CK_MECHANISM_TYPE iv_modes[] = { CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CFB128 };
    uint8_t long_iv[17] = { 0 };
    CK_AES_CTR_PARAMS p = ctr;

    for (size_t i = 0; i < 3; i++) {
        CK_MECHANISM m = { iv_modes[i], long_iv, 15 };
        expect_param_invalid(&m, "a 15-byte IV");
        m.ulParameterLen = 17;
        expect_param_invalid(&m, "a 17-byte IV");
        m.pParameter = NULL;
        m.ulParameterLen = 0;
        expect_param_invalid(&m, "no IV");
    }
    {
        /* 2.40 CK_AES_CTR_PARAMS: 0 < ulCounterBits <= 128. */
        CK_MECHANISM m = { CKM_AES_CTR, &p, sizeof p - 1 };
        expect_param_invalid(&m, "a short CK_AES_CTR_PARAMS");
        m.pParameter = NULL;
        m.ulParameterLen = 0;
        expect_param_invalid(&m, "no CK_AES_CTR_PARAMS");
        m.pParameter = &p;
        m.ulParameterLen = sizeof p;
        p.ulCounterBits = 0;
        expect_param_invalid(&m, "ulCounterBits 0");
        p.ulCounterBits = 129;
        expect_param_invalid(&m, "ulCounterBits 129");
    }
}

/*
 * 2.40 CKM_AES_CTR: "If an attempt to encrypt/decrypt is made which will cause an overflow of the
 * counter block's counter bits, then the mechanism shall return CKR_DATA_LEN_RANGE"; the last
 * post-increment may overflow: two bits starting at 1 allow three blocks.
 */
static void test_ctr_counter_overflow_is_data_len_range(void **state)
{
    CK_AES_CTR_PARAMS p = ctr;
    CK_MECHANISM m = { CKM_AES_CTR, &p, sizeof p };
    CK_ULONG len;
    size_t ref_len;

    p.ulCounterBits = 2;
    p.cb[15] = 0x01;
    len = 64;
    assert_int_equal(tk_encrypt(f, s, &m, aes128, data, 48, NULL, 0, out, &len), CKR_OK);
    assert_int_equal(cu_aes(&m, 1, value128, 16, data, 48, ref, &ref_len), 0);
    tk_expect_bytes(out, len, ref, ref_len, "48 bytes with a 2-bit counter from 1");
    len = 64;
    assert_int_equal(tk_encrypt(f, s, &m, aes128, data, 49, NULL, 0, out, &len), CKR_DATA_LEN_RANGE);
    len = 64;
    assert_int_equal(tk_decrypt(f, s, &m, aes128, data, 49, NULL, 0, out, &len), CKR_DATA_LEN_RANGE);
    len = 64;
    assert_int_equal(tk_encrypt(f, s, &m, aes128, data, 64, (const size_t[]){ 16 }, 1, out, &len),
                     CKR_DATA_LEN_RANGE);
    /* Eight bits from 0xfe: two blocks; sixteen bits from 0x00ff carry inside the counter. */
    p.ulCounterBits = 8;
    p.cb[15] = 0xfe;
    len = 64;
    assert_int_equal(tk_encrypt(f, s, &m, aes128, data, 32, NULL, 0, out, &len), CKR_OK);
    len = 64;
    assert_int_equal(tk_encrypt(f, s, &m, aes128, data, 33, NULL, 0, out, &len), CKR_DATA_LEN_RANGE);
    p.ulCounterBits = 16;
    p.cb[14] = 0x00;
    p.cb[15] = 0xff;
    len = 128;
    assert_int_equal(tk_encrypt(f, s, &m, aes256, data, 100, NULL, 0, out, &len), CKR_OK);
    assert_int_equal(cu_aes(&m, 1, value256, 32, data, 100, ref, &ref_len), 0);
    tk_expect_bytes(out, len, ref, ref_len, "100 bytes with a 16-bit counter from 0x00ff");
}

/* 2.40 section 5.2 with C_Encrypt, C_EncryptUpdate and C_EncryptFinal. */
static void test_encrypt_length_query_and_small_buffer_keep_the_operation(void **state)
{
    CK_MECHANISM m = mech_of(CKM_AES_CBC_PAD);
    CK_ULONG len = 0, done, need;
    CK_RV rv;
    size_t ref_len;

    assert_int_equal(cu_aes(&m, 1, value128, 16, data, 40, ref, &ref_len), 0);
    assert_int_equal(ref_len, 48);
    assert_int_equal(f->C_EncryptInit(s, &m, aes128), CKR_OK);
    assert_int_equal(f->C_Encrypt(s, data, 40, NULL, &len), CKR_OK);
    assert_true(len >= 48 && len <= 64);
    len = 47;
    assert_int_equal(f->C_Encrypt(s, data, 40, out, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 48);
    assert_int_equal(f->C_Encrypt(s, data, 40, out, &len), CKR_OK);
    tk_expect_bytes(out, len, ref, ref_len, "C_Encrypt after the length conventions");
    /*
     * In parts: 4136 bytes give some whole blocks now (how many is the token's choice) and the
     * rest, padded, at the end; a buffer of 0 bytes is too small for any output.
     */
    assert_int_equal(cu_aes(&m, 1, value128, 16, data, 4136, ref, &ref_len), 0);
    assert_int_equal(f->C_EncryptInit(s, &m, aes128), CKR_OK);
    len = 0;
    assert_int_equal(f->C_EncryptUpdate(s, data, 4136, NULL, &len), CKR_OK);
    assert_true(len <= 4136 + 16);
    need = len;
    len = 0;
    rv = f->C_EncryptUpdate(s, data, 4136, out, &len);
    if (rv == CKR_BUFFER_TOO_SMALL) {
        assert_true(len > 0 && len <= need);
        rv = f->C_EncryptUpdate(s, data, 4136, out, &len);
    }
    assert_int_equal(rv, CKR_OK);
    assert_true(len % 16 == 0 && len <= need);
    done = len;
    len = 0;
    assert_int_equal(f->C_EncryptFinal(s, NULL, &len), CKR_OK);
    assert_true(len >= ref_len - done && len <= ref_len - done + 16);
    need = ref_len - done;
    len = need - 1;
    assert_int_equal(f->C_EncryptFinal(s, out + done, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, need);
    assert_int_equal(f->C_EncryptFinal(s, out + done, &len), CKR_OK);
    tk_expect_bytes(out, done + len, ref, ref_len, "in parts after the length conventions");
    assert_int_equal(f->C_EncryptFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED);
}

/* A buffer as large as the plaintext is large enough, though padding hides its length. */
static void test_decrypt_into_a_buffer_of_the_plaintext_size_works(void **state)
{
    CK_MECHANISM m = mech_of(CKM_AES_CBC_PAD);
    CK_ULONG len = 0, done;
    size_t ct_len;

    assert_int_equal(cu_aes(&m, 1, value256, 32, data, 17, ref, &ct_len), 0);
    assert_int_equal(f->C_DecryptInit(s, &m, aes256), CKR_OK);
    assert_int_equal(f->C_Decrypt(s, ref, 32, NULL, &len), CKR_OK);
    assert_true(len >= 17 && len <= 32);
    len = 16;
    assert_int_equal(f->C_Decrypt(s, ref, 32, out, &len), CKR_BUFFER_TOO_SMALL);
    assert_true(len >= 17 && len <= 32);
    len = 17;
    assert_int_equal(f->C_Decrypt(s, ref, 32, out, &len), CKR_OK);
    tk_expect_bytes(out, len, data, 17, "C_Decrypt into 17 bytes");
    /* In parts: the last block waits for C_DecryptFinal, which gives its one byte. */
    assert_int_equal(f->C_DecryptInit(s, &m, aes256), CKR_OK);
    len = 64;
    assert_int_equal(f->C_DecryptUpdate(s, ref, 32, out, &len), CKR_OK);
    done = len;
    len = 0;
    assert_int_equal(f->C_DecryptFinal(s, NULL, &len), CKR_OK);
    assert_true(len >= 17 - done);
    len = 17 - done;
    assert_int_equal(f->C_DecryptFinal(s, out + done, &len), CKR_OK);
    tk_expect_bytes(out, done + len, data, 17, "C_DecryptFinal into the bytes left");
}

static void test_keys_without_encrypt_or_decrypt_are_not_permitted(void **state)
{
    CK_ATTRIBUTE no_encrypt[] = { { CKA_ENCRYPT, &no, 1 } }, no_decrypt[] = { { CKA_DECRYPT, &no, 1 } };
    CK_MECHANISM cbc = mech_of(CKM_AES_CBC);
    CK_OBJECT_HANDLE enc_only, dec_only;

    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, no_decrypt, 1, &enc_only), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, no_encrypt, 1, &dec_only), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &cbc, dec_only), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f->C_DecryptInit(s, &cbc, enc_only), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f->C_EncryptInit(s, &cbc, enc_only), CKR_OK);
}

/* The usage flags are read at every init: a change after an encryption counts for the next. */
static void test_changed_usage_flags_count_from_the_next_init(void **state)
{
    CK_ATTRIBUTE encrypt_off[] = { { CKA_ENCRYPT, &no, 1 } };
    CK_MECHANISM cbc = mech_of(CKM_AES_CBC);
    CK_ULONG len = 64;

    assert_int_equal(tk_encrypt(f, s, &cbc, aes128, data, 32, NULL, 0, out, &len), CKR_OK);
    assert_int_equal(f->C_SetAttributeValue(s, aes128, encrypt_off, 1), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &cbc, aes128), CKR_KEY_FUNCTION_NOT_PERMITTED);
    len = 64;
    assert_int_equal(tk_decrypt(f, s, &cbc, aes128, out, 32, NULL, 0, back, &len), CKR_OK);
    tk_expect_bytes(back, len, data, 32, "decrypt after CKA_ENCRYPT went off");
}

static void test_keys_of_another_type_are_key_type_inconsistent(void **state)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE mac_encrypts[] = { { CKA_ENCRYPT, &yes, 1 }, { CKA_DECRYPT, &yes, 1 } };
    CK_MECHANISM cbc = mech_of(CKM_AES_CBC), rsa = { CKM_RSA_PKCS, NULL, 0 };
    CK_OBJECT_HANDLE generic, pub, priv;

    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 16, mac_encrypts, 2, &generic),
                     CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &cbc, generic), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(f->C_DecryptInit(s, &cbc, generic), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(tk_rsa_pair(f, s, 2048, NULL, 0, &pub, &priv), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &cbc, pub), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(f->C_DecryptInit(s, &cbc, priv), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(f->C_EncryptInit(s, &rsa, aes128), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(f->C_DecryptInit(s, &rsa, aes128), CKR_KEY_TYPE_INCONSISTENT);
}

static void test_mechanisms_that_do_not_encrypt_are_mechanism_invalid(void **state)
{
    static const CK_MECHANISM_TYPE others[] = { CKM_SHA256, CKM_SHA256_HMAC, CKM_AES_GCM,
                                                CKM_AES_KEY_GEN, CKM_VENDOR_DEFINED | 7 };

    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        CK_MECHANISM m = { others[i], NULL, 0 };
        tk_expect_rv(f->C_EncryptInit(s, &m, aes128), CKR_MECHANISM_INVALID, "C_EncryptInit(%s)",
                     tk_mech_name(others[i]));
        tk_expect_rv(f->C_DecryptInit(s, &m, aes128), CKR_MECHANISM_INVALID, "C_DecryptInit(%s)",
                     tk_mech_name(others[i]));
    }
}

static void test_cipher_init_with_no_key_is_key_handle_invalid(void **state)
{
    CK_MECHANISM cbc = mech_of(CKM_AES_CBC);

    assert_int_equal(f->C_EncryptInit(s, &cbc, 0xdead), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_DecryptInit(s, &cbc, 0), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_DestroyObject(s, aes128), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &cbc, aes128), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_EncryptInit(s, NULL, aes256), CKR_ARGUMENTS_BAD);
}

static void test_cipher_calls_without_init_are_not_initialized(void **state)
{
    CK_ULONG len = 64;

    assert_int_equal(f->C_Encrypt(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_EncryptUpdate(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_EncryptFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_Decrypt(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DecryptUpdate(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DecryptFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_second_cipher_init_is_operation_active_and_leaves_the_first(void **state)
{
    CK_MECHANISM cbc = mech_of(CKM_AES_CBC), ecb = mech_of(CKM_AES_ECB);
    CK_ULONG len = 64;
    size_t ref_len;

    assert_int_equal(f->C_EncryptInit(s, &cbc, aes128), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &ecb, aes256), CKR_OPERATION_ACTIVE);
    assert_int_equal(f->C_Encrypt(s, data, 32, out, &len), CKR_OK);
    assert_int_equal(cu_aes(&cbc, 1, value128, 16, data, 32, ref, &ref_len), 0);
    tk_expect_bytes(out, len, ref, ref_len, "the first operation after a refused second init");
    assert_int_equal(f->C_Encrypt(s, data, 32, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DecryptInit(s, &ecb, aes256), CKR_OK);
    assert_int_equal(f->C_DecryptInit(s, &cbc, aes128), CKR_OPERATION_ACTIVE);
}

/* 2.40 C_EncryptUpdate: "A call to C_EncryptUpdate which results in an error terminates". */
static void test_cipher_update_error_ends_the_operation(void **state)
{
    CK_MECHANISM cbc = mech_of(CKM_AES_CBC);
    CK_ULONG len = 64;

    assert_int_equal(f->C_EncryptInit(s, &cbc, aes128), CKR_OK);
    assert_int_equal(f->C_EncryptUpdate(s, NULL, 16, out, &len), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_EncryptUpdate(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DecryptInit(s, &cbc, aes128), CKR_OK);
    len = 64;
    assert_int_equal(f->C_DecryptUpdate(s, data, 16, out, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_DecryptUpdate(s, data, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_aes_cbc_of_a_mebibyte_in_100_byte_parts_equals_openssl(void **state)
{
    static const size_t hundred[] = { 100 };
    CK_MECHANISM m = mech_of(CKM_AES_CBC);
    CK_ULONG len = MIB + 64;
    size_t ref_len;

    assert_int_equal(cu_aes(&m, 1, value256, 32, data, MIB, ref, &ref_len), 0);
    assert_int_equal(tk_encrypt(f, s, &m, aes256, data, MIB, hundred, 1, out, &len), CKR_OK);
    tk_expect_bytes(out, len, ref, ref_len, "a MiB of AES-256-CBC in 100-byte parts");
    len = MIB + 64;
    assert_int_equal(tk_decrypt(f, s, &m, aes256, ref, MIB, hundred, 1, back, &len), CKR_OK);
    tk_expect_bytes(back, len, data, MIB, "a MiB decrypted in 100-byte parts");
}

static void test_aes_mechanisms_are_listed_with_encrypt_and_decrypt(void **state)
{
    CK_MECHANISM_INFO info;

    for (size_t i = 0; i < N_MODES; i++) {
        const char *name = tk_mech_name(modes[i]);
        if (!tk_listed(f, slot, modes[i]))
            fail_msg("%s is not in the mechanism list", name);
        tk_expect_rv(f->C_GetMechanismInfo(slot, modes[i], &info), CKR_OK, "info of %s", name);
        if ((info.flags & (CKF_HW | CKF_ENCRYPT | CKF_DECRYPT)) != (CKF_HW | CKF_ENCRYPT | CKF_DECRYPT) ||
            (info.flags & (CKF_SIGN | CKF_VERIFY | CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER | CKF_DIGEST)))
            fail_msg("%s flags 0x%lx", name, (unsigned long)info.flags);
        /* AES key sizes in bytes: 16 and 32 at least. */
        if (info.ulMinKeySize > 16 || info.ulMaxKeySize < 32)
            fail_msg("%s key sizes %lu..%lu", name, (unsigned long)info.ulMinKeySize,
                     (unsigned long)info.ulMaxKeySize);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aes_ecb_equals_openssl_for_every_block_multiple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_cbc_equals_openssl_for_every_block_multiple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_cbc_pad_equals_openssl_for_every_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_ctr_equals_openssl_for_every_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_cfb128_equals_openssl_for_every_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_in_parts_equals_openssl_for_every_mode_and_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_aes_keys_round_trip_in_every_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecb_and_cbc_refuse_partial_blocks_with_data_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_of_partial_blocks_is_encrypted_data_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cbc_pad_with_bad_padding_is_encrypted_data_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mechanism_parameters_of_the_wrong_shape_are_param_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctr_counter_overflow_is_data_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypt_length_query_and_small_buffer_keep_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_into_a_buffer_of_the_plaintext_size_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_without_encrypt_or_decrypt_are_not_permitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_usage_flags_count_from_the_next_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_of_another_type_are_key_type_inconsistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mechanisms_that_do_not_encrypt_are_mechanism_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cipher_init_with_no_key_is_key_handle_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cipher_calls_without_init_are_not_initialized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_cipher_init_is_operation_active_and_leaves_the_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cipher_update_error_ends_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_cbc_of_a_mebibyte_in_100_byte_parts_equals_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes_mechanisms_are_listed_with_encrypt_and_decrypt, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
