/* Login, logout and PINs: the spec's rules, the TPM's checks and lockout, PINs off the wire. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "harness/loader.h"
#include "harness/swtpm.h"

#define SO_PIN "so-pin-1234"
#define USER_PIN "user-1234"
#define RW (CKF_SERIAL_SESSION | CKF_RW_SESSION)
#define RO CKF_SERIAL_SESSION

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    return 0;
}

static int group_teardown(void **state)
{
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

/* Each test: a new store with one token whose user PIN is set. */
static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (swtpm_da_reset(&tpm) != 0 || f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = p11_new_token(f, "login", SO_PIN, USER_PIN);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    swtpm_da_setup(&tpm, 1000, 1);
    return 0;
}

static CK_RV login(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin)
{
    return f->C_Login(s, who, (CK_UTF8CHAR *)pin, strlen(pin));
}

static CK_STATE state_of(CK_SESSION_HANDLE s)
{
    CK_SESSION_INFO info;

    assert_int_equal(f->C_GetSessionInfo(s, &info), CKR_OK);
    return info.state;
}

static void test_user_login_and_session_states(void **state)
{
    CK_SESSION_HANDLE ro, rw;

    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW, NULL, NULL, &rw), CKR_OK);
    assert_int_equal(state_of(ro), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(state_of(rw), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(login(ro, CKU_USER, USER_PIN), CKR_OK);
    /* Login state belongs to the token for the whole application. */
    assert_int_equal(state_of(ro), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(state_of(rw), CKS_RW_USER_FUNCTIONS);
    assert_int_equal(login(rw, CKU_USER, USER_PIN), CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(login(rw, CKU_SO, SO_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(f->C_Logout(rw), CKR_OK);
    assert_int_equal(state_of(ro), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(f->C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
}

static void test_closing_the_last_session_logs_out(void **state)
{
    CK_SESSION_HANDLE a, b;

    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &a), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &b), CKR_OK);
    assert_int_equal(login(a, CKU_USER, USER_PIN), CKR_OK);
    assert_int_equal(f->C_CloseSession(a), CKR_OK);
    assert_int_equal(state_of(b), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(f->C_CloseAllSessions(slot), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &a), CKR_OK);
    assert_int_equal(state_of(a), CKS_RO_PUBLIC_SESSION);
}

static void test_so_login_rules(void **state)
{
    CK_SESSION_HANDLE ro, rw, other;

    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW, NULL, NULL, &rw), CKR_OK);
    assert_int_equal(login(rw, CKU_SO, SO_PIN), CKR_SESSION_READ_ONLY_EXISTS);
    assert_int_equal(f->C_CloseSession(ro), CKR_OK);
    assert_int_equal(login(rw, CKU_SO, SO_PIN), CKR_OK);
    assert_int_equal(state_of(rw), CKS_RW_SO_FUNCTIONS);
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &other), CKR_SESSION_READ_WRITE_SO_EXISTS);
    assert_int_equal(login(rw, CKU_USER, USER_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(login(rw, CKU_SO, SO_PIN), CKR_USER_ALREADY_LOGGED_IN);
}

static void test_login_errors(void **state)
{
    CK_SESSION_HANDLE s;
    char long_pin[200];

    memset(long_pin, 'x', sizeof long_pin - 1);
    long_pin[sizeof long_pin - 1] = '\0';
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, "wrong-pin"), CKR_PIN_INCORRECT);
    assert_int_equal(login(s, CKU_USER, long_pin), CKR_PIN_INCORRECT);
    assert_int_equal(login(s, CKU_USER, "12"), CKR_PIN_INCORRECT);
    assert_int_equal(login(s, 7, USER_PIN), CKR_USER_TYPE_INVALID);
    assert_int_equal(login(s, CKU_CONTEXT_SPECIFIC, USER_PIN), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_Login(s, CKU_USER, NULL, 4), CKR_ARGUMENTS_BAD);
    assert_int_equal(login(s + 1000, CKU_USER, USER_PIN), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_Logout(s + 1000), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(state_of(s), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_OK);
}

static void test_user_pin_not_initialized(void **state)
{
    CK_SLOT_ID other = p11_new_token(f, "no user", SO_PIN, NULL);
    CK_SESSION_HANDLE s;

    assert_int_equal(f->C_OpenSession(other, RO, NULL, NULL, &s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
}

static void test_init_pin_rules(void **state)
{
    CK_SLOT_ID other = p11_new_token(f, "init pin", SO_PIN, NULL);
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO ti;

    assert_int_equal(f->C_OpenSession(other, RW, NULL, NULL, &s), CKR_OK);
    assert_int_equal(f->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, 9), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(login(s, CKU_SO, SO_PIN), CKR_OK);
    assert_int_equal(f->C_InitPIN(s, (CK_UTF8CHAR *)"123", 3), CKR_PIN_LEN_RANGE);
    assert_int_equal(f->C_InitPIN(s, NULL, 3), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetTokenInfo(other, &ti), CKR_OK);
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_int_equal(f->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, 9), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(other, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_OK);
}

static void test_set_pin_user(void **state)
{
    CK_SESSION_HANDLE s, ro;

    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(f->C_SetPIN(ro, (CK_UTF8CHAR *)USER_PIN, 9, (CK_UTF8CHAR *)"new-pin-1", 9),
                     CKR_SESSION_READ_ONLY);
    assert_int_equal(f->C_CloseSession(ro), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW, NULL, NULL, &s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_OK);
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)"wrong-pin", 9, (CK_UTF8CHAR *)"new-pin-1", 9),
                     CKR_PIN_INCORRECT);
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, 9, (CK_UTF8CHAR *)"12", 2),
                     CKR_PIN_LEN_RANGE);
    assert_int_equal(f->C_SetPIN(s, NULL, 9, (CK_UTF8CHAR *)"new-pin-1", 9), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, 9, (CK_UTF8CHAR *)"new-pin-1", 9), CKR_OK);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    assert_int_equal(login(s, CKU_USER, "new-pin-1"), CKR_OK);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    /* Not logged in, C_SetPIN changes the user's PIN. */
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)"new-pin-1", 9, (CK_UTF8CHAR *)"new-pin-2", 9), CKR_OK);
    assert_int_equal(login(s, CKU_USER, "new-pin-2"), CKR_OK);
    /* The change is in the store: a fresh start sees it. */
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, "new-pin-2"), CKR_OK);
}

static void test_set_pin_so(void **state)
{
    CK_SESSION_HANDLE s;
    CK_UTF8CHAR label[32];

    assert_int_equal(f->C_OpenSession(slot, RW, NULL, NULL, &s), CKR_OK);
    assert_int_equal(login(s, CKU_SO, SO_PIN), CKR_OK);
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)SO_PIN, 11, (CK_UTF8CHAR *)"new-so-pin", 10), CKR_OK);
    assert_int_equal(f->C_CloseSession(s), CKR_OK);
    /* The user PIN is unchanged. */
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_OK);
    assert_int_equal(f->C_CloseSession(s), CKR_OK);
    p11_label(label, "login");
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, 11, label), CKR_PIN_INCORRECT);
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)"new-so-pin", 10, label), CKR_OK);
}

/* Wrong PINs count in the TPM: its lockout stops guessing, even of the right PIN. */
static void test_dictionary_attack_lockout(void **state)
{
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO ti;

    assert_int_equal(swtpm_da_setup(&tpm, 3, 1000), 0);
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &s), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_false(ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED));
    assert_int_equal(login(s, CKU_USER, "wrong-pin"), CKR_PIN_INCORRECT);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_COUNT_LOW);
    assert_int_equal(login(s, CKU_USER, "wrong-pin"), CKR_PIN_INCORRECT);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_FINAL_TRY);
    assert_int_equal(login(s, CKU_USER, "wrong-pin"), CKR_PIN_INCORRECT);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_LOCKED);
    assert_int_equal(state_of(s), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(swtpm_da_reset(&tpm), 0);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_OK);
}

static int memfind(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *p = NULL;
    long n;

    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)n)) != NULL && fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    }
    *len = p ? (size_t)n : 0;
    fclose(fp);
    return p;
}

/* The auth values the final SO and user seals need, derived as the module derives them. */
static void seal_auths(uint8_t so[32], uint8_t user[32])
{
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open_v2(getenv("TPMTOK_STORE"), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT so_salt, so_iterations, user_salt, "
                                        "user_iterations FROM tokens", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(PKCS5_PBKDF2_HMAC("new-so-pin", 10, sqlite3_column_blob(st, 0),
                                       sqlite3_column_bytes(st, 0), sqlite3_column_int(st, 1),
                                       EVP_sha256(), 32, so), 1);
    assert_int_equal(PKCS5_PBKDF2_HMAC("new-user-pin", 12, sqlite3_column_blob(st, 2),
                                       sqlite3_column_bytes(st, 2), sqlite3_column_int(st, 3),
                                       EVP_sha256(), 32, user), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Every byte between module and TPM is captured; no PIN or PIN-derived auth value is in it. */
static void test_pins_never_cross_to_the_tpm_in_the_clear(void **state)
{
    static const uint8_t unseal_cc[] = { 0x00, 0x00, 0x01, 0x5e };
    char conf[256], pcap[PATH_MAX + 32];
    uint8_t so_auth[32], user_auth[32];
    CK_SESSION_HANDLE s;
    uint8_t *cap;
    size_t len = 0;

    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    swtpm_new_store(&tpm);
    snprintf(conf, sizeof conf, "pcap:%s", tpm.tcti);
    snprintf(pcap, sizeof pcap, "%s/capture.pcap", tpm.dir);
    setenv("TPMTOK_TCTI", conf, 1);
    setenv("TCTI_PCAP_FILE", pcap, 1);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    slot = p11_new_token(f, "wire", SO_PIN, USER_PIN);
    assert_int_not_equal(slot, (CK_SLOT_ID)-1);
    assert_int_equal(f->C_OpenSession(slot, RW, NULL, NULL, &s), CKR_OK);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_OK);
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, 9, (CK_UTF8CHAR *)"new-user-pin", 12), CKR_OK);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(login(s, CKU_SO, SO_PIN), CKR_OK);
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)SO_PIN, 11, (CK_UTF8CHAR *)"new-so-pin", 10), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    setenv("TPMTOK_TCTI", tpm.tcti, 1);
    unsetenv("TCTI_PCAP_FILE");

    cap = read_file(pcap, &len);
    assert_non_null(cap);
    assert_true(memfind(cap, len, unseal_cc, sizeof unseal_cc));
    assert_false(memfind(cap, len, SO_PIN, strlen(SO_PIN)));
    assert_false(memfind(cap, len, USER_PIN, strlen(USER_PIN)));
    assert_false(memfind(cap, len, "new-user-pin", 12));
    assert_false(memfind(cap, len, "new-so-pin", 10));
    seal_auths(so_auth, user_auth);
    assert_false(memfind(cap, len, so_auth, 16));
    assert_false(memfind(cap, len, user_auth, 16));
    free(cap);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_user_login_and_session_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_the_last_session_logs_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_so_login_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_pin_not_initialized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_pin_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_pin_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_pin_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dictionary_attack_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pins_never_cross_to_the_tpm_in_the_clear, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
