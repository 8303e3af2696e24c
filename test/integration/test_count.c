/*
 * TPM commands per operation, counted by a wrapper TCTI: digests feed the TPM full buffers
 * whatever the application's update sizes; AES answers each update at once, in full buffers
 * where the data allows; a signature costs one TPM2_Sign; a CMAC sends full buffers.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_tpm2_types.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "harness/tcti-count.h"
#include "integration/common.h"
#include "integration/crypto_util.h"

#define MIB (1024 * 1024)
#define PIECE 100

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static struct tcti_count *counts;
static uint8_t *data;

static int group_setup(void **state)
{
    char conf[512], path[PATH_MAX + 16];
    const char *lib = getenv("TPMTOK_TCTI_COUNT_LIB");
    CK_MECHANISM_INFO info;
    CK_SLOT_ID slot;
    int fd;

    if (lib == NULL || swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    snprintf(path, sizeof path, "%s/counts", tpm.dir);
    if ((fd = open(path, O_RDWR | O_CREAT, 0600)) < 0 || ftruncate(fd, sizeof *counts) != 0)
        return -1;
    counts = mmap(NULL, sizeof *counts, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    snprintf(conf, sizeof conf, "%s:%s", lib, tpm.tcti);
    setenv("TPMTOK_TCTI", conf, 1);
    setenv("TPMTOK_TCTI_COUNT", path, 1);
    if (counts == MAP_FAILED || (data = malloc(MIB)) == NULL || RAND_bytes(data, MIB) != 1)
        return -1;
    if (f->C_Initialize(NULL) != CKR_OK || (slot = token_with_user(f, "count", &s)) == (CK_SLOT_ID)-1)
        return -1;
    /* The TPM's capabilities are read once, on the first mechanism query: not counted below. */
    return f->C_GetMechanismInfo(slot, CKM_SHA256, &info) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    f->C_Finalize(NULL);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    free(data);
    return 0;
}

static uint64_t total(void)
{
    return __atomic_load_n(&counts->total, __ATOMIC_SEQ_CST);
}

static uint64_t of(uint32_t cc)
{
    return __atomic_load_n(&counts->by_cc[cc - TCTI_COUNT_CC_FIRST], __ATOMIC_SEQ_CST);
}

static void test_digest_of_1_mib_in_100_byte_updates_sends_full_buffers(void **state)
{
    CK_MECHANISM mech = { CKM_SHA256, NULL, 0 };
    uint8_t digest[32], want[32];
    CK_ULONG len = sizeof digest;
    uint64_t before = total(), starts = of(TPM2_CC_HashSequenceStart);
    uint64_t updates = of(TPM2_CC_SequenceUpdate), completes = of(TPM2_CC_SequenceComplete);
    uint64_t snap[TCTI_COUNT_CC_SLOTS];

    memcpy(snap, counts->by_cc, sizeof snap);

    assert_int_equal(f->C_DigestInit(s, &mech), CKR_OK);
    for (size_t off = 0; off < MIB; off += PIECE)
        assert_int_equal(f->C_DigestUpdate(s, data + off, MIB - off < PIECE ? MIB - off : PIECE),
                         CKR_OK);
    assert_int_equal(f->C_DigestFinal(s, digest, &len), CKR_OK);
    assert_int_equal(EVP_Digest(data, MIB, want, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(digest, want, 32);
    /* 1024 buffers: one start, 1023 full updates, the last buffer in the completion. */
    assert_int_equal(of(TPM2_CC_HashSequenceStart) - starts, 1);
    assert_int_equal(of(TPM2_CC_SequenceUpdate) - updates, MIB / 1024 - 1);
    assert_int_equal(of(TPM2_CC_SequenceComplete) - completes, 1);
    /* On a mismatch, say which commands came: the failure is then easy to read. */
    if (total() - before != MIB / 1024 + 1)
        for (uint32_t i = 0; i < TCTI_COUNT_CC_SLOTS; i++)
            if (snap[i] != counts->by_cc[i])
                print_message("command 0x%x sent %lu times\n", i + TCTI_COUNT_CC_FIRST,
                              (unsigned long)(counts->by_cc[i] - snap[i]));
    assert_int_equal(total() - before, MIB / 1024 + 1);
}

static void test_short_digest_is_one_command(void **state)
{
    CK_MECHANISM mech = { CKM_SHA256, NULL, 0 };
    uint8_t digest[32];
    CK_ULONG len = sizeof digest;
    uint64_t before = total();

    assert_int_equal(f->C_DigestInit(s, &mech), CKR_OK);
    assert_int_equal(f->C_Digest(s, data, 1000, digest, &len), CKR_OK);
    assert_int_equal(total() - before, 1);
}

/*
 * Encrypts 1 MiB with AES-128-CBC in updates of piece bytes (all of it in one C_Encrypt when
 * piece is 0), checks every update handed back all the whole blocks it could and the whole
 * equals OpenSSL, and returns the TPM commands it took.
 */
static uint64_t aes_cbc_mib(size_t piece)
{
    static const CK_BYTE key[16] = "0123456789abcdef";
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
                         { CKA_VALUE, (void *)key, sizeof key } };
    CK_BYTE iv[16] = { 0 };
    CK_MECHANISM mech = { CKM_AES_CBC, iv, sizeof iv };
    CK_OBJECT_HANDLE k;
    uint8_t *ct = malloc(MIB), *want = malloc(MIB);
    CK_ULONG got, done = 0;
    uint64_t before, encs;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int olen;

    assert_int_equal(f->C_CreateObject(s, t, 3, &k), CKR_OK);
    /* Warm up: the key loads into the TPM on its first use. */
    got = 16;
    assert_int_equal(f->C_EncryptInit(s, &mech, k), CKR_OK);
    assert_int_equal(f->C_Encrypt(s, data, 16, ct, &got), CKR_OK);
    before = total();
    encs = of(TPM2_CC_EncryptDecrypt2);
    assert_int_equal(f->C_EncryptInit(s, &mech, k), CKR_OK);
    if (piece == 0) {
        got = MIB;
        assert_int_equal(f->C_Encrypt(s, data, MIB, ct, &got), CKR_OK);
        done = got;
    }
    for (size_t off = 0; piece > 0 && off < MIB; off += piece) {
        size_t n = MIB - off < piece ? MIB - off : piece;
        got = MIB - done;
        assert_int_equal(f->C_EncryptUpdate(s, data + off, n, ct + done, &got), CKR_OK);
        done += got;
        /* As the spec's CBC example: whole blocks out, the partial one held. */
        assert_int_equal(done, (off + n) / 16 * 16);
    }
    if (piece > 0) {
        got = MIB - done;
        assert_int_equal(f->C_EncryptFinal(s, ct + done, &got), CKR_OK);
        done += got;
    }
    assert_int_equal(done, MIB);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, key, iv), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, want, &olen, data, MIB), 1);
    assert_memory_equal(ct, want, MIB);
    /* Nothing but TPM2_EncryptDecrypt2. */
    assert_int_equal(of(TPM2_CC_EncryptDecrypt2) - encs, total() - before);
    EVP_CIPHER_CTX_free(c);
    free(ct);
    free(want);
    return total() - before;
}

/* Each 100-byte update completes at least one block: one command each, and no more. */
static void test_aes_cbc_in_100_byte_updates_is_one_command_per_update(void **state)
{
    assert_int_equal(aes_cbc_mib(PIECE), (MIB + PIECE - 1) / PIECE);
}

/* Large updates and one C_Encrypt: a full TPM buffer per command. */
static void test_aes_cbc_in_large_updates_sends_full_buffers(void **state)
{
    assert_int_equal(aes_cbc_mib(4096), MIB / 1024);
    assert_int_equal(aes_cbc_mib(0), MIB / 1024);
}

static void test_signature_is_one_command(void **state)
{
    CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 }, sign = { CKM_ECDSA, NULL, 0 };
    static const CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    CK_ATTRIBUTE pt[] = { { CKA_EC_PARAMS, (void *)p256, sizeof p256 } };
    CK_OBJECT_HANDLE pub, priv;
    uint8_t sig[64];
    CK_ULONG len;
    uint64_t before;

    assert_int_equal(f->C_GenerateKeyPair(s, &gen, pt, 1, NULL, 0, &pub, &priv), CKR_OK);
    for (int i = 0; i < 3; i++) {
        before = total();
        len = sizeof sig;
        assert_int_equal(f->C_SignInit(s, &sign, priv), CKR_OK);
        assert_int_equal(f->C_Sign(s, data, 32, sig, &len), CKR_OK);
        /* The first signature also loads the key; after that, TPM2_Sign alone. */
        if (i > 0)
            assert_int_equal(total() - before, 1);
    }
}

/*
 * A CMAC sends the TPM full buffers of 1008 bytes (the last of them held for TPM2_MAC, with
 * one block before it): 100 buffers in 100-byte updates are 99 AES-CBC commands, one ECB
 * decryption of the chaining value and one TPM2_MAC. Data that fits one buffer is one command.
 */
static void test_cmac_sends_full_buffers(void **state)
{
    static const CK_BYTE key[16] = "fedcba9876543210";
    static CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
                         { CKA_VALUE, (void *)key, sizeof key }, { CKA_SIGN, &yes, 1 } };
    CK_MECHANISM mech = { CKM_AES_CMAC, NULL, 0 };
    const size_t len = 100 * 1008;
    CK_OBJECT_HANDLE h;
    uint8_t mac[16], want[16];
    CK_ULONG mac_len = sizeof mac;
    uint64_t before, crypts, macs;

    assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_OK);
    /* The first use loads the key. */
    assert_int_equal(f->C_SignInit(s, &mech, h), CKR_OK);
    assert_int_equal(f->C_Sign(s, data, 1000, mac, &mac_len), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &mech, h), CKR_OK);
    before = total();
    mac_len = sizeof mac;
    assert_int_equal(f->C_Sign(s, data, 1008, mac, &mac_len), CKR_OK);
    assert_int_equal(total() - before, 1);

    assert_int_equal(f->C_SignInit(s, &mech, h), CKR_OK);
    before = total();
    crypts = of(TPM2_CC_EncryptDecrypt2);
    macs = of(TPM2_CC_HMAC);
    for (size_t off = 0; off < len; off += PIECE)
        assert_int_equal(f->C_SignUpdate(s, data + off, len - off < PIECE ? len - off : PIECE),
                         CKR_OK);
    mac_len = sizeof mac;
    assert_int_equal(f->C_SignFinal(s, mac, &mac_len), CKR_OK);
    assert_true(cu_cmac(key, sizeof key, data, len, want));
    assert_memory_equal(mac, want, 16);
    assert_int_equal(of(TPM2_CC_EncryptDecrypt2) - crypts, 99 + 1);
    assert_int_equal(of(TPM2_CC_HMAC) - macs, 1);
    assert_int_equal(total() - before, 101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_of_1_mib_in_100_byte_updates_sends_full_buffers),
        cmocka_unit_test(test_short_digest_is_one_command),
        cmocka_unit_test(test_aes_cbc_in_100_byte_updates_is_one_command_per_update),
        cmocka_unit_test(test_aes_cbc_in_large_updates_sends_full_buffers),
        cmocka_unit_test(test_signature_is_one_command),
        cmocka_unit_test(test_cmac_sends_full_buffers),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
