/*
 * No secret in the log, at any level: a whole run at TPMTOK_LOG=debug (token and PIN set-up,
 * wrong PINs, PIN changes, key generation and import, signing, encryption, operation state) is
 * captured from stderr and searched for every PIN and every piece of key material it used.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/token_ops.h"

#define SO "so-secret-8472"
#define PIN1 "user-secret-5931"
#define PIN2 "user-secret-changed-7720"
#define WRONG "wrong-guess-1187"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static const uint8_t aes_key[16] = { 0x5e, 0xc2, 0x37, 0xa1, 0x90, 0x4d, 0x6b, 0xf8,
                                     0x13, 0xce, 0x72, 0x09, 0xb4, 0x58, 0xe6, 0x2f };
static const uint8_t data_secret[] = "private data object value 6613";
static uint8_t rsa_d[512];
static size_t rsa_d_len;

static CK_RV login(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin)
{
    return f->C_Login(s, who, (CK_UTF8CHAR *)pin, strlen(pin));
}

/* Everything a user does, each step checked; the child's exit code says which failed. */
static int full_run(EVP_PKEY *rsa)
{
    CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 }, sha = { CKM_SHA256, NULL, 0 };
    CK_MECHANISM pss = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE dt[] = { { CKA_CLASS, &data, sizeof data }, { CKA_TOKEN, &yes, 1 },
                          { CKA_PRIVATE, &yes, 1 },
                          { CKA_VALUE, (void *)data_secret, sizeof data_secret } };
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE aes, priv, pub, obj;
    uint8_t out[512], state[4096];
    CK_ULONG len, state_len = sizeof state;
    CK_SLOT_ID slot;

    memset(out, 0x42, sizeof out);
    if (f->C_Initialize(NULL) != CKR_OK)
        return 10;
    if ((slot = p11_new_token(f, "log secrets", SO, PIN1)) == (CK_SLOT_ID)-1)
        return 11;
    if (f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        login(s, CKU_USER, WRONG) != CKR_PIN_INCORRECT || login(s, CKU_USER, PIN1) != CKR_OK)
        return 12;
    if (f->C_SetPIN(s, (CK_UTF8CHAR *)PIN1, strlen(PIN1), (CK_UTF8CHAR *)PIN2, strlen(PIN2)) !=
            CKR_OK ||
        f->C_Logout(s) != CKR_OK || login(s, CKU_USER, PIN2) != CKR_OK)
        return 13;
    if (tk_import_secret(f, s, CKK_AES, aes_key, sizeof aes_key, NULL, 0, &aes) != CKR_OK ||
        f->C_EncryptInit(s, &ecb, aes) != CKR_OK ||
        (len = sizeof out, f->C_Encrypt(s, out, 16, out, &len)) != CKR_OK)
        return 14;
    if (tk_import_private(f, s, rsa, NULL, 0, &priv) != CKR_OK || f->C_SignInit(s, &pss, priv) != CKR_OK ||
        (len = sizeof out, f->C_Sign(s, out, 32, out, &len)) != CKR_OK)
        return 15;
    if (tk_ec_pair(f, s, "P-256", NULL, 0, &pub, &priv) != CKR_OK ||
        f->C_CreateObject(s, dt, 4, &obj) != CKR_OK)
        return 16;
    if (f->C_DigestInit(s, &sha) != CKR_OK || f->C_DigestUpdate(s, out, 100) != CKR_OK ||
        f->C_GetOperationState(s, state, &state_len) != CKR_OK ||
        f->C_SetOperationState(s, state, state_len, 0, 0) != CKR_OK)
        return 17;
    /* The SO's turn, with a wrong PIN first. */
    f->C_CloseAllSessions(slot);
    if (f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        login(s, CKU_SO, WRONG) != CKR_PIN_INCORRECT || login(s, CKU_SO, SO) != CKR_OK ||
        f->C_InitPIN(s, (CK_UTF8CHAR *)PIN1, strlen(PIN1)) != CKR_OK)
        return 18;
    return f->C_Finalize(NULL) == CKR_OK ? 0 : 19;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (fp != NULL && fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, fp);
        buf[*len] = '\0';
    }
    if (fp != NULL)
        fclose(fp);
    return buf;
}

static int has(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m > 0 && m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

/* The secret as it is, and as hex in either case (a log that dumps bytes prints hex). */
static void assert_absent(const uint8_t *log, size_t n, const char *what, const void *v,
                          size_t len)
{
    const char *hex = cu_hex(v, len);
    char upper[2048];
    size_t i;

    for (i = 0; hex[i] != '\0' && i < sizeof upper - 1; i++)
        upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
    upper[i] = '\0';
    if (has(log, n, v, len) || has(log, n, hex, strlen(hex)) || has(log, n, upper, i))
        fail_msg("the debug log holds the %s", what);
}

static void test_debug_log_holds_no_secret(void **state)
{
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    BIGNUM *d = NULL;
    char path[4200];
    uint8_t *log;
    size_t n = 0;
    int status, fd;
    pid_t pid;

    (void)state;
    assert_non_null(rsa);
    assert_int_equal(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_D, &d), 1);
    rsa_d_len = (size_t)BN_bn2bin(d, rsa_d);
    BN_clear_free(d);
    snprintf(path, sizeof path, "%s/debug.log", tpm.dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || dup2(fd, 2) < 0)
            _exit(2);
        setenv("TPMTOK_LOG", "debug", 1);
        status = full_run(rsa);
        EVP_PKEY_free(rsa);
        _exit(status);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_non_null(log = slurp(path, &n));
    /* The run did log: wrong PINs and debug lines are there to be searched. */
    assert_true(n > 200);
    assert_true(has(log, n, "tpmtok", 6));
    assert_absent(log, n, "SO PIN", SO, strlen(SO));
    assert_absent(log, n, "user PIN", PIN1, strlen(PIN1));
    assert_absent(log, n, "changed user PIN", PIN2, strlen(PIN2));
    assert_absent(log, n, "wrong PIN", WRONG, strlen(WRONG));
    assert_absent(log, n, "AES key", aes_key, sizeof aes_key);
    assert_absent(log, n, "RSA private exponent (first 16 bytes)", rsa_d, 16);
    assert_absent(log, n, "private data object", data_secret, sizeof data_secret - 1);
    print_message("searched %zu bytes of debug log\n", n);
    free(log);
    EVP_PKEY_free(rsa);
}

static int group_setup(void **state)
{
    (void)state;
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_log_holds_no_secret),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
