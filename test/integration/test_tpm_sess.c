/* The SAPI HMAC session engine on a real swtpm: salt, HMACs, parameter encryption, loss, cost. */
#include "config.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "harness/swtpm.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"

#define BENCH_COMMANDS 2000
#define CHUNK 1024

struct fixture {
    struct swtpm swtpm;
    struct tpm *t;
    TPM2_HANDLE primary;
    TPM2B_PUBLIC primary_pub;
    TPM2B_NAME primary_name;
    struct sess *s;
    struct seal {
        TPM2_HANDLE handle;        /* 0 when not loaded */
        TPM2B_NAME name;
    } seal;                        /* loaded by seal_setup for the tests that unseal */
};

static const struct lock_ops zeroed_lock_ops;

static const TSS2L_SYS_AUTH_COMMAND password = {
    .count = 1,
    .auths = { { .sessionHandle = TPM2_RS_PW } },
};

/* What the seal holds, and its auth value: 32 bytes whose last 3 are zero (the TPM strips them). */
static const uint8_t seal_data[32] = "tpmtok: 32 bytes of sealed data";
static const TPM2B_AUTH seal_auth = {
    .size = 32,
    .buffer = { 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x00, 0x00, 0x00 },
};
static const TPM2B_AUTH empty_auth = { 0 };

static double now_us(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU this process spent in user space, µs. */
static double user_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
}

/*
 * The engine's own cost is sess_run's CPU time minus the round trip inside it. This definition
 * interposes libtss2-sys's (the executable's symbols come first) and adds up the thread's CPU
 * time spent in the real Tss2_Sys_Execute: TCTI, sockets, waiting.
 */
static double execute_cpu_us;

TSS2_RC Tss2_Sys_Execute(TSS2_SYS_CONTEXT *sys)
{
    static TSS2_RC (*real)(TSS2_SYS_CONTEXT *);
    double c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
    TSS2_RC rc;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "Tss2_Sys_Execute");
    rc = real != NULL ? real(sys) : TSS2_SYS_RC_GENERAL_FAILURE;
    execute_cpu_us += now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
    return rc;
}

/* nameAlg || SHA-256(marshalled TPMT_PUBLIC), as the TPM names a loaded object. */
static void compute_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
    uint8_t area[sizeof(TPMT_PUBLIC)];
    size_t len = 0;
    unsigned int dlen = 0;

    assert_int_equal(pub->publicArea.nameAlg, TPM2_ALG_SHA256);
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, area, sizeof area, &len),
                     TSS2_RC_SUCCESS);
    name->name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
    name->name[1] = (uint8_t)TPM2_ALG_SHA256;
    assert_int_equal(EVP_Digest(area, len, name->name + 2, &dlen, EVP_sha256(), NULL), 1);
    name->size = (UINT16)(2 + dlen);
}

/* The name of a handle that is its own name (hierarchies, sessions). */
static void handle_name(TPM2_HANDLE h, TPM2B_NAME *name)
{
    size_t off = 0;

    assert_int_equal(Tss2_MU_TPM2_HANDLE_Marshal(h, name->name, sizeof name->name, &off),
                     TSS2_RC_SUCCESS);
    name->size = (UINT16)off;
}

/* The salt key: an ECC P-256 storage primary, as tpmtok's token primaries are. */
static const TPM2B_PUBLIC primary_template = { .publicArea = {
    .type = TPM2_ALG_ECC,
    .nameAlg = TPM2_ALG_SHA256,
    .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                        TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                        TPMA_OBJECT_NODA,
    .parameters.eccDetail = {
        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                       .mode.aes = TPM2_ALG_CFB },
        .scheme.scheme = TPM2_ALG_NULL,
        .curveID = TPM2_ECC_NIST_P256,
        .kdf.scheme = TPM2_ALG_NULL,
    },
} };

static void create_primary(struct fixture *f)
{
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_CREATION_DATA creation = { 0 };
    TPM2B_DIGEST hash = { 0 };
    TPMT_TK_CREATION ticket = { 0 };
    TPM2B_NAME name = { 0 };

    assert_int_equal(Tss2_Sys_CreatePrimary(f->t->sys, TPM2_RH_OWNER, &password, &sensitive,
                                            &primary_template, &outside, &pcrs, &f->primary,
                                            &f->primary_pub, &creation, &hash, &ticket, &name,
                                            NULL),
                     TSS2_RC_SUCCESS);
    compute_name(&f->primary_pub, &f->primary_name);
    /* Our name computation agrees with the TPM's. */
    assert_int_equal(name.size, f->primary_name.size);
    assert_memory_equal(name.name, f->primary_name.name, name.size);
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL)
        return 0;
    if (f->t != NULL) {
        sess_free(f->t, f->s, true);
        if (f->primary != 0)
            Tss2_Sys_FlushContext(f->t->sys, f->primary);
        tpm_close(f->t);
    }
    swtpm_stop(&f->swtpm);
    free(f);
    *state = NULL;
    return 0;
}

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    *state = f;
    if (f == NULL)
        return -1;
    if (swtpm_start(&f->swtpm) != 0 ||
        tpm_open(getenv("TPMTOK_TCTI"), &zeroed_lock_ops, true, &f->t) != CKR_OK)
        goto fail;
    create_primary(f);
    if (sess_start(f->t, f->primary, &f->primary_pub, TPM2_SE_HMAC, &f->s) != TSS2_RC_SUCCESS)
        goto fail;
    return 0;
fail:
    group_teardown(state);
    return -1;
}

/* Test: a hierarchy's name is its handle; CreatePrimary on the owner through the session. */
static void test_create_primary_on_owner_through_session(void **state)
{
    struct fixture *f = *state;
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_PUBLIC pub = { 0 };
    TPM2B_CREATION_DATA creation = { 0 };
    TPM2B_DIGEST hash = { 0 };
    TPMT_TK_CREATION ticket = { 0 };
    TPM2B_NAME owner = { 0 }, name = { 0 };
    struct sess_auth a = { .names = { &owner }, .n_names = 1, .auth = &empty_auth };
    TPM2_HANDLE h = 0;

    handle_name(TPM2_RH_OWNER, &owner);
    assert_int_equal(Tss2_Sys_CreatePrimary_Prepare(f->t->sys, TPM2_RH_OWNER, &sensitive,
                                                    &primary_template, &outside, &pcrs),
                     TSS2_RC_SUCCESS);
    assert_int_equal(sess_run(f->t, f->s, TPM2_CC_CreatePrimary, &a, SESS_ENCRYPT_CMD),
                     TSS2_RC_SUCCESS);
    assert_int_equal(Tss2_Sys_CreatePrimary_Complete(f->t->sys, &h, &pub, &creation, &hash,
                                                     &ticket, &name),
                     TSS2_RC_SUCCESS);
    /* The same template gives the same key: the same name as the salt key's. */
    assert_int_equal(name.size, f->primary_name.size);
    assert_memory_equal(name.name, f->primary_name.name, name.size);
    assert_int_equal(Tss2_Sys_FlushContext(f->t->sys, h), TSS2_RC_SUCCESS);
}

/* TPM2_Create of the seal under the primary, its sensitive part encrypted by our session. */
static void seal_create(struct fixture *f, TPM2B_PRIVATE *priv, TPM2B_PUBLIC *pub)
{
    TPM2B_SENSITIVE_CREATE sensitive = { .sensitive = { .userAuth = seal_auth } };
    TPM2B_PUBLIC tmpl = { .publicArea = {
        .type = TPM2_ALG_KEYEDHASH,
        .nameAlg = TPM2_ALG_SHA256,
        /* No noDA: a wrong auth value must count, as for a PIN. */
        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                            TPMA_OBJECT_USERWITHAUTH,
        .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
    } };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_CREATION_DATA creation = { 0 };
    TPM2B_DIGEST hash = { 0 };
    TPMT_TK_CREATION ticket = { 0 };
    struct sess_auth a = { .names = { &f->primary_name }, .n_names = 1, .auth = &empty_auth };

    sensitive.sensitive.data.size = sizeof seal_data;
    memcpy(sensitive.sensitive.data.buffer, seal_data, sizeof seal_data);
    assert_int_equal(Tss2_Sys_Create_Prepare(f->t->sys, f->primary, &sensitive, &tmpl, &outside,
                                             &pcrs),
                     TSS2_RC_SUCCESS);
    assert_int_equal(sess_run(f->t, f->s, TPM2_CC_Create, &a, SESS_ENCRYPT_CMD), TSS2_RC_SUCCESS);
    assert_int_equal(Tss2_Sys_Create_Complete(f->t->sys, priv, pub, &creation, &hash, &ticket),
                     TSS2_RC_SUCCESS);
}

static void seal_load(struct fixture *f, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub,
                      struct seal *out)
{
    struct sess_auth a = { .names = { &f->primary_name }, .n_names = 1, .auth = &empty_auth };
    TPM2B_NAME name = { 0 };

    assert_int_equal(Tss2_Sys_Load_Prepare(f->t->sys, f->primary, priv, pub), TSS2_RC_SUCCESS);
    assert_int_equal(sess_run(f->t, f->s, TPM2_CC_Load, &a, 0), TSS2_RC_SUCCESS);
    assert_int_equal(Tss2_Sys_Load_Complete(f->t->sys, &out->handle, &name), TSS2_RC_SUCCESS);
    compute_name(pub, &out->name);
    assert_int_equal(name.size, out->name.size);
    assert_memory_equal(name.name, out->name.name, name.size);
}

/* Per test: a fresh seal, created and loaded through the session. */
static int seal_setup(void **state)
{
    struct fixture *f = *state;
    TPM2B_PRIVATE priv = { 0 };
    TPM2B_PUBLIC pub = { 0 };

    seal_create(f, &priv, &pub);
    seal_load(f, &priv, &pub, &f->seal);
    return 0;
}

static int seal_teardown(void **state)
{
    struct fixture *f = *state;

    if (f->seal.handle != 0)
        Tss2_Sys_FlushContext(f->t->sys, f->seal.handle);
    f->seal.handle = 0;
    return 0;
}

/* TPM2_Unseal authorized by our session with auth; the data comes back encrypted if flags say. */
static TSS2_RC unseal(struct fixture *f, const TPM2B_AUTH *auth, unsigned flags,
                      TPM2B_SENSITIVE_DATA *out)
{
    struct sess_auth a = { .names = { &f->seal.name }, .n_names = 1, .auth = auth };
    TSS2_RC rc;
    int tries = 0;

    /*
     * The first authorization of a DA-protected object after TPM2_Startup answers
     * TPM_RC_RETRY (libtpms records "DA used" in NV first); a prepared command runs once.
     */
    do {
        assert_int_equal(Tss2_Sys_Unseal_Prepare(f->t->sys, f->seal.handle), TSS2_RC_SUCCESS);
        rc = sess_run(f->t, f->s, TPM2_CC_Unseal, &a, flags);
    } while (tpm_rc_is_retry(rc) && ++tries < 5);
    if (rc == TSS2_RC_SUCCESS)
        assert_int_equal(Tss2_Sys_Unseal_Complete(f->t->sys, out), TSS2_RC_SUCCESS);
    return rc;
}

static void assert_unseals(struct fixture *f, const TPM2B_AUTH *auth, unsigned flags)
{
    TPM2B_SENSITIVE_DATA out = { 0 };

    assert_int_equal(unseal(f, auth, flags, &out), TSS2_RC_SUCCESS);
    assert_int_equal(out.size, sizeof seal_data);
    assert_memory_equal(out.buffer, seal_data, sizeof seal_data);
}

/* Test 1: Create (encrypted sensitive), Load and Unseal (encrypted response) all via sess_run. */
static void test_seal_created_loaded_and_unsealed_through_session(void **state)
{
    struct fixture *f = *state;
    TPM2B_AUTH stripped = seal_auth;

    assert_unseals(f, &seal_auth, SESS_DECRYPT_RSP);
    /* The same data in the clear: the encrypted path decrypted exactly. */
    assert_unseals(f, &seal_auth, 0);
    /* The auth value with its trailing zeros already removed is the same auth value. */
    stripped.size = 29;
    assert_unseals(f, &stripped, SESS_DECRYPT_RSP);
}

/* Test 2: a wrong auth value fails as a DA failure; the session stays in step with the TPM. */
static void test_wrong_auth_fails_and_session_survives(void **state)
{
    struct fixture *f = *state;
    TPM2B_AUTH wrong = seal_auth;
    TPM2B_SENSITIVE_DATA out = { 0 };
    TSS2_RC rc;

    wrong.buffer[0] ^= 0x80;
    rc = unseal(f, &wrong, SESS_DECRYPT_RSP, &out);
    assert_int_equal(tpm_rc_base(rc), TPM2_RC_AUTH_FAIL);
    assert_false(sess_rc_lost(rc));
    /* A trailing zero more or less is not a different auth value, one more byte is. */
    wrong = seal_auth;
    wrong.size = 28;
    rc = unseal(f, &wrong, 0, &out);
    assert_int_equal(tpm_rc_base(rc), TPM2_RC_AUTH_FAIL);
    assert_unseals(f, &seal_auth, SESS_DECRYPT_RSP);
    assert_unseals(f, &seal_auth, 0);
}

/* TPM2_HashSequenceStart with its auth value encrypted by an encrypt-only use of the session. */
static void seq_start(struct fixture *f, const TPM2B_AUTH *auth, TPM2_HANDLE *seq)
{
    struct sess_auth a = { .n_names = 0, .auth = NULL };

    assert_int_equal(Tss2_Sys_HashSequenceStart_Prepare(f->t->sys, auth, TPM2_ALG_SHA256),
                     TSS2_RC_SUCCESS);
    assert_int_equal(sess_run(f->t, f->s, TPM2_CC_HashSequenceStart, &a, SESS_ENCRYPT_CMD),
                     TSS2_RC_SUCCESS);
    assert_int_equal(Tss2_Sys_HashSequenceStart_Complete(f->t->sys, seq), TSS2_RC_SUCCESS);
}

static TSS2_RC seq_update(struct fixture *f, TPM2_HANDLE seq, const TPM2B_NAME *name,
                          const TPM2B_AUTH *auth, const uint8_t *data, size_t len)
{
    struct sess_auth a = { .names = { name }, .n_names = 1, .auth = auth };
    TPM2B_MAX_BUFFER buf = { .size = (UINT16)len };
    TSS2_RC rc;

    memcpy(buf.buffer, data, len);
    assert_int_equal(Tss2_Sys_SequenceUpdate_Prepare(f->t->sys, seq, &buf), TSS2_RC_SUCCESS);
    rc = sess_run(f->t, f->s, TPM2_CC_SequenceUpdate, &a, SESS_ENCRYPT_CMD);
    if (rc == TSS2_RC_SUCCESS)
        assert_int_equal(Tss2_Sys_SequenceUpdate_Complete(f->t->sys), TSS2_RC_SUCCESS);
    return rc;
}

static void seq_complete(struct fixture *f, TPM2_HANDLE seq, const TPM2B_NAME *name,
                         const TPM2B_AUTH *auth, const uint8_t *data, size_t len,
                         TPM2B_DIGEST *result)
{
    struct sess_auth a = { .names = { name }, .n_names = 1, .auth = auth };
    TPM2B_MAX_BUFFER buf = { .size = (UINT16)len };
    TPMT_TK_HASHCHECK ticket = { 0 };

    memcpy(buf.buffer, data, len);
    assert_int_equal(Tss2_Sys_SequenceComplete_Prepare(f->t->sys, seq, &buf, TPM2_RH_NULL),
                     TSS2_RC_SUCCESS);
    assert_int_equal(sess_run(f->t, f->s, TPM2_CC_SequenceComplete, &a, SESS_DECRYPT_RSP),
                     TSS2_RC_SUCCESS);
    assert_int_equal(Tss2_Sys_SequenceComplete_Complete(f->t->sys, result, &ticket),
                     TSS2_RC_SUCCESS);
}

/* Test 3: a hash sequence with encrypted auth, encrypted updates and an encrypted digest. */
static void test_hash_sequence_through_session(void **state)
{
    struct fixture *f = *state;
    static uint8_t data[3 * CHUNK + 40];
    uint8_t expected[32];
    unsigned int dlen = 0;
    TPM2B_AUTH auth = { .size = 32 };
    TPM2B_NAME empty = { 0 }, by_handle = { 0 };
    TPM2B_DIGEST result = { 0 };
    TPM2_HANDLE seq = 0;
    TSS2_RC rc;

    assert_int_equal(RAND_bytes(auth.buffer, 32), 1);
    assert_int_equal(RAND_bytes(data, sizeof data), 1);
    seq_start(f, &auth, &seq);
    /*
     * A sequence object has no name algorithm, so its TPM name is the empty buffer, not its
     * handle: with the handle in cpHash the TPM finds a bad HMAC (TPM_RC_BAD_AUTH, sequences
     * are DA-exempt), and the session goes on.
     */
    handle_name(seq, &by_handle);
    rc = seq_update(f, seq, &by_handle, &auth, data, CHUNK);
    assert_int_equal(tpm_rc_base(rc), TPM2_RC_BAD_AUTH);
    assert_false(sess_rc_lost(rc));
    for (int i = 0; i < 3; i++)
        assert_int_equal(seq_update(f, seq, &empty, &auth, data + i * CHUNK, CHUNK),
                         TSS2_RC_SUCCESS);
    seq_complete(f, seq, &empty, &auth, data + 3 * CHUNK, sizeof data - 3 * CHUNK, &result);
    assert_int_equal(EVP_Digest(data, sizeof data, expected, &dlen, EVP_sha256(), NULL), 1);
    assert_int_equal(result.size, 32);
    assert_memory_equal(result.buffer, expected, 32);
}

/* The HMAC sessions loaded in the TPM (ours is the only one). */
static UINT32 loaded_sessions(struct fixture *f, TPM2_HANDLE *first)
{
    TPMS_CAPABILITY_DATA data = { 0 };
    TPMI_YES_NO more = 0;

    assert_int_equal(Tss2_Sys_GetCapability(f->t->sys, NULL, TPM2_CAP_HANDLES,
                                            TPM2_HMAC_SESSION_FIRST, TPM2_MAX_CAP_HANDLES,
                                            &more, &data, NULL),
                     TSS2_RC_SUCCESS);
    if (data.data.handles.count > 0)
        *first = data.data.handles.handle[0];
    return data.data.handles.count;
}

static void restart_session(struct fixture *f)
{
    sess_free(f->t, f->s, true);
    f->s = NULL;
    assert_int_equal(sess_start(f->t, f->primary, &f->primary_pub, TPM2_SE_HMAC, &f->s), TSS2_RC_SUCCESS);
}

/* Test 4: a session flushed behind the engine's back is reported lost; a new one works. */
static void test_flushed_session_is_lost(void **state)
{
    struct fixture *f = *state;
    TPM2B_SENSITIVE_DATA out = { 0 };
    TPM2_HANDLE h = 0;
    TSS2_RC rc;

    assert_int_equal(loaded_sessions(f, &h), 1);
    assert_int_equal(Tss2_Sys_FlushContext(f->t->sys, h), TSS2_RC_SUCCESS);
    rc = unseal(f, &seal_auth, SESS_DECRYPT_RSP, &out);
    /* TPM_RC_REFERENCE_S0: the first session in the auth area is not loaded. */
    assert_int_equal(rc, TPM2_RC_REFERENCE_S0);
    assert_true(sess_rc_lost(rc));
    restart_session(f);
    assert_unseals(f, &seal_auth, SESS_DECRYPT_RSP);
    assert_int_equal(loaded_sessions(f, &h), 1);
}

/* Test 6: a response that fails its HMAC check is refused, and so is the session after it. */
static void test_bad_response_hmac_is_refused(void **state)
{
    struct fixture *f = *state;
    TPM2B_SENSITIVE_DATA out = { 0 };
    TSS2_RC rc;

    sess_test_corrupt_rsp_check(f->s);
    rc = unseal(f, &seal_auth, SESS_DECRYPT_RSP, &out);
    assert_int_equal(rc, TSS2_ESYS_RC_RSP_AUTH_FAILED);
    /* The command ran: a retry would not be safe, so this is not "lost"... */
    assert_false(sess_rc_lost(rc));
    /* ...but the session is out of step now and refuses to run anything. */
    rc = unseal(f, &seal_auth, SESS_DECRYPT_RSP, &out);
    assert_int_equal(rc, TSS2_ESYS_RC_INVALID_SESSIONS);
    assert_true(sess_rc_lost(rc));
    restart_session(f);
    assert_unseals(f, &seal_auth, SESS_DECRYPT_RSP);
}

/* sess_rc_lost on codes built by hand from Part 2's encoding. */
static void test_rc_lost_classification(void **state)
{
    (void)state;
    for (TSS2_RC rc = TPM2_RC_REFERENCE_S0; rc <= TPM2_RC_REFERENCE_S6; rc++)
        assert_true(sess_rc_lost(rc));
    assert_false(sess_rc_lost(TPM2_RC_REFERENCE_H0));
    assert_false(sess_rc_lost(TPM2_RC_REFERENCE_H6));
    assert_false(sess_rc_lost(TPM2_RC_REFERENCE_S6 + 1));
    /* TPM_RC_HANDLE on session 1 and 3: lost. On handle 1 or parameter 1: not. */
    assert_true(sess_rc_lost(TPM2_RC_HANDLE | TPM2_RC_S | TPM2_RC_1));
    assert_true(sess_rc_lost(TPM2_RC_HANDLE | TPM2_RC_S | TPM2_RC_3));
    assert_false(sess_rc_lost(TPM2_RC_HANDLE | TPM2_RC_H | TPM2_RC_1));
    assert_false(sess_rc_lost(TPM2_RC_HANDLE | TPM2_RC_P | TPM2_RC_1));
    assert_false(sess_rc_lost(TPM2_RC_HANDLE));
    /* Other session errors are the command's, not the session's. */
    assert_false(sess_rc_lost(TPM2_RC_VALUE | TPM2_RC_S | TPM2_RC_1));
    assert_false(sess_rc_lost(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1));
    assert_false(sess_rc_lost(TPM2_RC_BAD_AUTH | TPM2_RC_S | TPM2_RC_1));
    assert_false(sess_rc_lost(TPM2_RC_RETRY));
    assert_false(sess_rc_lost(TPM2_RC_SUCCESS));
    /* The same numbers from another layer are not TPM codes. */
    assert_false(sess_rc_lost(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_REFERENCE_S0));
    assert_false(sess_rc_lost(TSS2_ESYS_RC_RSP_AUTH_FAILED));
    assert_true(sess_rc_lost(TSS2_ESYS_RC_INVALID_SESSIONS));
}

/* TPM2_Unseal with the seal's auth as a plain password: the round trip without protection. */
static void unseal_password(struct fixture *f, TPM2B_SENSITIVE_DATA *out)
{
    TSS2L_SYS_AUTH_COMMAND auths = password;

    auths.auths[0].hmac = seal_auth;
    assert_int_equal(Tss2_Sys_Unseal(f->t->sys, f->seal.handle, &auths, out, NULL),
                     TSS2_RC_SUCCESS);
}

/* Client CPU of sess_run beyond its Tss2_Sys_Execute for n Unseals, µs per command. */
static double engine_cpu(struct fixture *f, int n)
{
    struct sess_auth a = { .names = { &f->seal.name }, .n_names = 1, .auth = &seal_auth };
    TPM2B_SENSITIVE_DATA out = { 0 };
    double total = 0, c0;

    execute_cpu_us = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(Tss2_Sys_Unseal_Prepare(f->t->sys, f->seal.handle), TSS2_RC_SUCCESS);
        c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
        assert_int_equal(sess_run(f->t, f->s, TPM2_CC_Unseal, &a, SESS_DECRYPT_RSP),
                         TSS2_RC_SUCCESS);
        total += now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
        assert_int_equal(Tss2_Sys_Unseal_Complete(f->t->sys, &out), TSS2_RC_SUCCESS);
    }
    assert_memory_equal(out.buffer, seal_data, sizeof seal_data);
    return (total - execute_cpu_us) / n;
}

/* Test 5 (a report, not an assertion): unseals per second and client CPU per unseal. */
static void test_report_session_cost(void **state)
{
    struct fixture *f = *state;
    TPM2B_SENSITIVE_DATA out = { 0 };
    double wall[2], cpu[2], user[2], t0, c0, u0, engine;

    for (int mode = 0; mode < 2; mode++) {
        assert_unseals(f, &seal_auth, SESS_DECRYPT_RSP); /* past any first-use RETRY */
        t0 = now_us(CLOCK_MONOTONIC);
        c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
        u0 = user_us();
        for (int i = 0; i < BENCH_COMMANDS; i++) {
            if (mode == 0)
                assert_int_equal(unseal(f, &seal_auth, SESS_DECRYPT_RSP, &out), TSS2_RC_SUCCESS);
            else
                unseal_password(f, &out);
        }
        cpu[mode] = (now_us(CLOCK_PROCESS_CPUTIME_ID) - c0) / BENCH_COMMANDS;
        user[mode] = (user_us() - u0) / BENCH_COMMANDS;
        wall[mode] = (now_us(CLOCK_MONOTONIC) - t0) / BENCH_COMMANDS;
    }
    assert_memory_equal(out.buffer, seal_data, sizeof seal_data);
    engine = engine_cpu(f, BENCH_COMMANDS);
    printf("# %d x TPM2_Unseal on swtpm\n", BENCH_COMMANDS);
    printf("#   HMAC session + encrypted response: %6.0f/s, client CPU %6.1f us/command "
           "(user %5.1f)\n", 1e6 / wall[0], cpu[0], user[0]);
    printf("#   password session (no protection):  %6.0f/s, client CPU %6.1f us/command "
           "(user %5.1f)\n", 1e6 / wall[1], cpu[1], user[1]);
    printf("#   protection: %+.1f us client CPU, %+.1f us of it in user space, per command\n",
           cpu[0] - cpu[1], user[0] - user[1]);
    printf("#   sess_run outside Tss2_Sys_Execute: %.1f us client CPU per command\n", engine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rc_lost_classification),
        cmocka_unit_test(test_create_primary_on_owner_through_session),
        cmocka_unit_test_setup_teardown(test_seal_created_loaded_and_unsealed_through_session,
                                        seal_setup, seal_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_auth_fails_and_session_survives, seal_setup,
                                        seal_teardown),
        cmocka_unit_test(test_hash_sequence_through_session),
        cmocka_unit_test_setup_teardown(test_flushed_session_is_lost, seal_setup, seal_teardown),
        cmocka_unit_test_setup_teardown(test_bad_response_hmac_is_refused, seal_setup,
                                        seal_teardown),
        cmocka_unit_test_setup_teardown(test_report_session_cost, seal_setup, seal_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
