/*
 * RSA and ECDSA signatures made in the TPM, checked by OpenSSL: keys generated in the token and
 * keys brought in from OpenSSL, every signature mechanism single-part and in odd parts, and the
 * token verifying OpenSSL's signatures and its own, refusing wrong ones with the right code.
 * (Errors and usage rules: test_sign_rules.c; HMAC: test_hmac.c.)
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

static const char *const curves[] = { "P-256", "P-384", "P-521" };
#define N_CURVES 3
static EVP_PKEY *ossl_rsa, *ossl_ec[N_CURVES];

/* The hashes, with the mechanisms that hash with each and its MGF1. */
static const struct hash {
    CK_MECHANISM_TYPE hash, pkcs, pss, ecdsa;
    CK_RSA_PKCS_MGF_TYPE mgf;
    CK_ULONG len;
} hashes[] = {
    { CKM_SHA_1, CKM_SHA1_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_ECDSA_SHA1, CKG_MGF1_SHA1, 20 },
    { CKM_SHA256, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA_SHA256, CKG_MGF1_SHA256, 32 },
    { CKM_SHA384, CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS, CKM_ECDSA_SHA384, CKG_MGF1_SHA384, 48 },
    { CKM_SHA512, CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA_SHA512, CKG_MGF1_SHA512, 64 },
};
#define N_HASHES 4
static const size_t msg_lengths[] = { 0, 1, 1000, 5000 };
#define N_MSG 4
static const size_t odd_parts[] = { 1, 7, 100, 0, 1023, 1025 };
static uint8_t msg[5000];

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(msg, sizeof msg, 11);
    if ((ossl_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL)
        return -1;
    for (int i = 0; i < N_CURVES; i++)
        if ((ossl_ec[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i])) == NULL)
            return -1;
    return 0;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(ossl_rsa);
    for (int i = 0; i < N_CURVES; i++)
        EVP_PKEY_free(ossl_ec[i]);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "sign", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static CK_RSA_PKCS_PSS_PARAMS pss_params(const struct hash *h)
{
    return (CK_RSA_PKCS_PSS_PARAMS){ h->hash, h->mgf, h->len };
}

/*
 * Signs in the token (single-part, or in odd parts when parts is true), checks the signature's
 * length and that OpenSSL finds it valid under check, and returns it in sig.
 */
static CK_ULONG sign_checked(CK_OBJECT_HANDLE priv, EVP_PKEY *check, const CK_MECHANISM *m,
                             const uint8_t *in, size_t len, bool parts, uint8_t sig[1024])
{
    CK_ULONG sig_len = 1024;
    const char *how = parts ? "in parts" : "single-part";

    tk_expect_rv(tk_sign(f, s, m, priv, in, len, parts ? odd_parts : NULL, 6, sig, &sig_len),
                 CKR_OK, "%s signature of %zu bytes %s", tk_mech_name(m->mechanism), len, how);
    if (sig_len != (EVP_PKEY_is_a(check, "RSA") ? 1 : 2) * cu_sig_size(check))
        fail_msg("%s signature of %zu bytes %s: %lu bytes long", tk_mech_name(m->mechanism), len,
                 how, (unsigned long)sig_len);
    if (cu_verify(check, m, in, len, sig, sig_len) != 1)
        fail_msg("%s signature of %zu bytes %s: OpenSSL finds it invalid: %s",
                 tk_mech_name(m->mechanism), len, how, cu_hex(sig, sig_len));
    return sig_len;
}

/* Every hash-and-sign mechanism of a kind (pkcs, pss or ecdsa) over every message length. */
static void sign_hashing_mechanisms(CK_OBJECT_HANDLE priv, EVP_PKEY *check, char kind)
{
    uint8_t sig[1024];

    for (size_t i = 0; i < N_HASHES; i++) {
        CK_RSA_PKCS_PSS_PARAMS p = pss_params(&hashes[i]);
        CK_MECHANISM m = { kind == 'p' ? hashes[i].pkcs : kind == 's' ? hashes[i].pss
                                                                     : hashes[i].ecdsa,
                           kind == 's' ? &p : NULL, kind == 's' ? sizeof p : 0 };
        for (size_t j = 0; j < N_MSG; j++) {
            sign_checked(priv, check, &m, msg, msg_lengths[j], false, sig);
            sign_checked(priv, check, &m, msg, msg_lengths[j], true, sig);
        }
    }
}

static void test_rsa_pkcs1_signatures_of_a_generated_key_verify_in_openssl(void **state)
{
    CK_OBJECT_HANDLE pub, priv;
    CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 };
    uint8_t info[128], sig[1024];
    EVP_PKEY *check;

    assert_int_equal(tk_rsa_pair(f, s, 2048, NULL, 0, &pub, &priv), CKR_OK);
    assert_non_null(check = public_key_of(f, s, pub));
    /* CKM_RSA_PKCS signs a DigestInfo, or any data up to k - 11 bytes. */
    for (size_t i = 0; i < N_HASHES; i++)
        sign_checked(priv, check, &pkcs, info, cu_digest_info(hashes[i].hash, msg, 100, info),
                     false, sig);
    sign_checked(priv, check, &pkcs, msg, 1, false, sig);
    sign_checked(priv, check, &pkcs, msg, 256 - 11, false, sig);
    sign_hashing_mechanisms(priv, check, 'p');
    EVP_PKEY_free(check);
}

static void test_rsa_pss_signatures_of_a_generated_key_verify_in_openssl(void **state)
{
    CK_OBJECT_HANDLE pub, priv;
    uint8_t hash[64], sig[1024];
    EVP_PKEY *check;

    assert_int_equal(tk_rsa_pair(f, s, 2048, NULL, 0, &pub, &priv), CKR_OK);
    assert_non_null(check = public_key_of(f, s, pub));
    for (size_t i = 0; i < N_HASHES; i++) {
        CK_RSA_PKCS_PSS_PARAMS p = pss_params(&hashes[i]);
        CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &p, sizeof p };
        sign_checked(priv, check, &m, hash, cu_digest(hashes[i].hash, msg, 77, hash), false, sig);
    }
    sign_hashing_mechanisms(priv, check, 's');
    EVP_PKEY_free(check);
}

static void test_raw_rsa_signatures_of_a_generated_key_verify_in_openssl(void **state)
{
    CK_OBJECT_HANDLE pub, priv;
    CK_MECHANISM x509 = { CKM_RSA_X_509, NULL, 0 };
    uint8_t in[256], sig[1024];
    EVP_PKEY *check;

    assert_int_equal(tk_rsa_pair(f, s, 2048, NULL, 0, &pub, &priv), CKR_OK);
    assert_non_null(check = public_key_of(f, s, pub));
    cu_fill(in, sizeof in, 12);
    in[0] = 0x00;   /* below the modulus, whatever it is */
    sign_checked(priv, check, &x509, in, 256, false, sig);
    /* Shorter input is a smaller number: zeros on the left. */
    sign_checked(priv, check, &x509, in + 1, 255, false, sig);
    sign_checked(priv, check, &x509, in + 200, 56, false, sig);
    sign_checked(priv, check, &x509, in + 255, 1, false, sig);
    EVP_PKEY_free(check);
}

/* PKCS #1 v1.5 and raw RSA are deterministic: an imported key signs exactly as OpenSSL does. */
static void test_imported_rsa_key_signs_byte_for_byte_like_openssl(void **state)
{
    CK_OBJECT_HANDLE priv;
    CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 }, x509 = { CKM_RSA_X_509, NULL, 0 };
    uint8_t sig[1024], want[1024], info[128], big[256];
    size_t want_len, info_len;
    CK_ULONG sig_len;

    assert_int_equal(tk_import_private(f, s, ossl_rsa, NULL, 0, &priv), CKR_OK);
    for (size_t i = 0; i < N_HASHES; i++) {
        CK_MECHANISM m = { hashes[i].pkcs, NULL, 0 };
        for (size_t j = 0; j < N_MSG; j++)
            for (int parts = 0; parts < 2; parts++) {
                sig_len = sign_checked(priv, ossl_rsa, &m, msg, msg_lengths[j], parts, sig);
                assert_int_equal(cu_sign(ossl_rsa, &m, msg, msg_lengths[j], want, &want_len), 0);
                tk_expect_bytes(sig, sig_len, want, want_len, "%s of %zu bytes",
                                tk_mech_name(m.mechanism), msg_lengths[j]);
            }
        info_len = cu_digest_info(hashes[i].hash, msg, 10, info);
        sig_len = sign_checked(priv, ossl_rsa, &pkcs, info, info_len, false, sig);
        assert_int_equal(cu_sign(ossl_rsa, &pkcs, info, info_len, want, &want_len), 0);
        tk_expect_bytes(sig, sig_len, want, want_len, "CKM_RSA_PKCS of a DigestInfo");
    }
    cu_fill(big, sizeof big, 13);
    big[0] = 0;
    sig_len = sign_checked(priv, ossl_rsa, &x509, big, 256, false, sig);
    assert_int_equal(cu_sign(ossl_rsa, &x509, big, 256, want, &want_len), 0);
    tk_expect_bytes(sig, sig_len, want, want_len, "CKM_RSA_X_509 of 256 bytes");
}

static void test_imported_rsa_key_pss_signatures_verify_with_the_original(void **state)
{
    CK_OBJECT_HANDLE priv;
    uint8_t hash[64], sig[1024];

    assert_int_equal(tk_import_private(f, s, ossl_rsa, NULL, 0, &priv), CKR_OK);
    for (size_t i = 0; i < N_HASHES; i++) {
        CK_RSA_PKCS_PSS_PARAMS p = pss_params(&hashes[i]);
        CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &p, sizeof p };
        sign_checked(priv, ossl_rsa, &m, hash, cu_digest(hashes[i].hash, msg, 5, hash), false, sig);
    }
    sign_hashing_mechanisms(priv, ossl_rsa, 's');
}

/*
 * CKM_ECDSA takes a hash of any length; longer than the order, its leftmost bits count. On
 * P-521 an input longer than 64 bytes would need more than the TPM's largest digest holds, so
 * the token says CKR_DATA_LEN_RANGE there rather than sign something else.
 */
static void sign_ecdsa_inputs(CK_OBJECT_HANDLE priv, EVP_PKEY *check)
{
    static const size_t raw_lengths[] = { 1, 20, 28, 32, 48, 64, 65, 66, 100 };
    CK_MECHANISM raw = { CKM_ECDSA, NULL, 0 };
    bool p521 = EVP_PKEY_get_bits(check) == 521;
    uint8_t sig[1024];

    for (size_t i = 0; i < sizeof raw_lengths / sizeof raw_lengths[0]; i++) {
        CK_ULONG sig_len = sizeof sig;
        if (!p521 || raw_lengths[i] <= 64) {
            sign_checked(priv, check, &raw, msg, raw_lengths[i], false, sig);
            continue;
        }
        tk_expect_rv(tk_sign(f, s, &raw, priv, msg, raw_lengths[i], NULL, 0, sig, &sig_len),
                     CKR_DATA_LEN_RANGE, "CKM_ECDSA on P-521 over %zu bytes", raw_lengths[i]);
    }
}

static void test_ecdsa_signatures_of_generated_keys_verify_in_openssl(void **state)
{
    for (int c = 0; c < N_CURVES; c++) {
        CK_OBJECT_HANDLE pub, priv;
        EVP_PKEY *check;
        assert_int_equal(tk_ec_pair(f, s, curves[c], NULL, 0, &pub, &priv), CKR_OK);
        assert_non_null(check = public_key_of(f, s, pub));
        sign_ecdsa_inputs(priv, check);
        sign_hashing_mechanisms(priv, check, 'e');
        EVP_PKEY_free(check);
    }
}

static void test_imported_ec_keys_sign_for_the_original_key(void **state)
{
    for (int c = 0; c < N_CURVES; c++) {
        CK_OBJECT_HANDLE priv;
        tk_expect_rv(tk_import_private(f, s, ossl_ec[c], NULL, 0, &priv), CKR_OK, "import %s",
                     curves[c]);
        sign_ecdsa_inputs(priv, ossl_ec[c]);
        sign_hashing_mechanisms(priv, ossl_ec[c], 'e');
    }
}

/* The token verifies, single-part and in parts, what OpenSSL signed with m. */
static void verify_openssl_signature(CK_OBJECT_HANDLE pub, EVP_PKEY *signer,
                                     const CK_MECHANISM *m, const uint8_t *in, size_t len,
                                     bool multi)
{
    uint8_t sig[1024];
    size_t sig_len;

    assert_int_equal(cu_sign(signer, m, in, len, sig, &sig_len), 0);
    tk_expect_rv(tk_verify(f, s, m, pub, in, len, NULL, 0, sig, sig_len), CKR_OK,
                 "%s verify of %zu bytes", tk_mech_name(m->mechanism), len);
    if (multi)
        tk_expect_rv(tk_verify(f, s, m, pub, in, len, odd_parts, 6, sig, sig_len), CKR_OK,
                     "%s verify of %zu bytes in parts", tk_mech_name(m->mechanism), len);
}

static void test_token_verifies_openssl_rsa_signatures(void **state)
{
    CK_OBJECT_HANDLE pub;
    CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 }, x509 = { CKM_RSA_X_509, NULL, 0 };
    uint8_t info[128], hash[64];

    assert_int_equal(tk_import_public(f, s, ossl_rsa, NULL, 0, &pub), CKR_OK);
    for (size_t i = 0; i < N_HASHES; i++) {
        CK_RSA_PKCS_PSS_PARAMS p = pss_params(&hashes[i]);
        CK_MECHANISM m_pkcs = { hashes[i].pkcs, NULL, 0 }, m_pss = { hashes[i].pss, &p, sizeof p };
        CK_MECHANISM raw_pss = { CKM_RSA_PKCS_PSS, &p, sizeof p };
        for (size_t j = 0; j < N_MSG; j++) {
            verify_openssl_signature(pub, ossl_rsa, &m_pkcs, msg, msg_lengths[j], true);
            verify_openssl_signature(pub, ossl_rsa, &m_pss, msg, msg_lengths[j], true);
        }
        verify_openssl_signature(pub, ossl_rsa, &pkcs, info,
                                 cu_digest_info(hashes[i].hash, msg, 3, info), false);
        verify_openssl_signature(pub, ossl_rsa, &raw_pss, hash,
                                 cu_digest(hashes[i].hash, msg, 3, hash), false);
    }
    verify_openssl_signature(pub, ossl_rsa, &pkcs, msg, 245, false);
    verify_openssl_signature(pub, ossl_rsa, &x509, msg, 200, false);
}

static void test_token_verifies_openssl_ecdsa_signatures(void **state)
{
    CK_MECHANISM raw = { CKM_ECDSA, NULL, 0 };

    for (int c = 0; c < N_CURVES; c++) {
        CK_OBJECT_HANDLE pub;
        tk_expect_rv(tk_import_public(f, s, ossl_ec[c], NULL, 0, &pub), CKR_OK, "import %s",
                     curves[c]);
        for (size_t i = 0; i < N_HASHES; i++) {
            CK_MECHANISM m = { hashes[i].ecdsa, NULL, 0 };
            for (size_t j = 0; j < N_MSG; j++)
                verify_openssl_signature(pub, ossl_ec[c], &m, msg, msg_lengths[j], true);
            verify_openssl_signature(pub, ossl_ec[c], &raw, msg, hashes[i].len, false);
        }
        verify_openssl_signature(pub, ossl_ec[c], &raw, msg, 100, false);
    }
}

static void test_token_verifies_its_own_signatures(void **state)
{
    CK_OBJECT_HANDLE pub, priv, ec_pub, ec_priv;
    CK_RSA_PKCS_PSS_PARAMS p256 = pss_params(&hashes[1]), p384 = pss_params(&hashes[2]);
    const struct { CK_MECHANISM m; bool ec; } cases[] = {
        { { CKM_SHA256_RSA_PKCS, NULL, 0 }, false },
        { { CKM_SHA256_RSA_PKCS_PSS, &p256, sizeof p256 }, false },
        { { CKM_SHA384_RSA_PKCS_PSS, &p384, sizeof p384 }, false },
        { { CKM_ECDSA_SHA512, NULL, 0 }, true },
    };
    uint8_t sig[1024];
    CK_ULONG sig_len;

    assert_int_equal(tk_rsa_pair(f, s, 2048, NULL, 0, &pub, &priv), CKR_OK);
    assert_int_equal(tk_ec_pair(f, s, "P-384", NULL, 0, &ec_pub, &ec_priv), CKR_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const CK_MECHANISM *m = &cases[i].m;
        const char *name = tk_mech_name(m->mechanism);
        sig_len = sizeof sig;
        tk_expect_rv(tk_sign(f, s, m, cases[i].ec ? ec_priv : priv, msg, 3000, odd_parts, 6, sig,
                             &sig_len), CKR_OK, "%s sign", name);
        tk_expect_rv(tk_verify(f, s, m, cases[i].ec ? ec_pub : pub, msg, 3000, NULL, 0, sig,
                               sig_len), CKR_OK, "%s verify", name);
        tk_expect_rv(tk_verify(f, s, m, cases[i].ec ? ec_pub : pub, msg, 2999, NULL, 0, sig,
                               sig_len), CKR_SIGNATURE_INVALID, "%s verify of other data", name);
    }
}

/* A signature of the right length that is wrong: CKR_SIGNATURE_INVALID, single and multi-part. */
static void expect_invalid(CK_OBJECT_HANDLE pub, const CK_MECHANISM *m, const uint8_t *sig,
                           size_t sig_len, const char *what)
{
    tk_expect_rv(tk_verify(f, s, m, pub, msg, 64, NULL, 0, sig, sig_len), CKR_SIGNATURE_INVALID,
                 "%s with %s", tk_mech_name(m->mechanism), what);
    if (m->mechanism != CKM_ECDSA && m->mechanism != CKM_RSA_PKCS)
        tk_expect_rv(tk_verify(f, s, m, pub, msg, 64, odd_parts, 6, sig, sig_len),
                     CKR_SIGNATURE_INVALID, "%s in parts with %s", tk_mech_name(m->mechanism), what);
}

static void test_wrong_signatures_are_signature_invalid(void **state)
{
    CK_OBJECT_HANDLE rsa_pub, ec_pub;
    CK_MECHANISM pkcs = { CKM_SHA256_RSA_PKCS, NULL, 0 }, raw_pkcs = { CKM_RSA_PKCS, NULL, 0 };
    CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 }, raw_ecdsa = { CKM_ECDSA, NULL, 0 };
    uint8_t sig[1024];
    size_t sig_len;

    assert_int_equal(tk_import_public(f, s, ossl_rsa, NULL, 0, &rsa_pub), CKR_OK);
    assert_int_equal(tk_import_public(f, s, ossl_ec[0], NULL, 0, &ec_pub), CKR_OK);
    assert_int_equal(cu_sign(ossl_rsa, &pkcs, msg, 64, sig, &sig_len), 0);
    sig[sig_len - 1] ^= 1;
    expect_invalid(rsa_pub, &pkcs, sig, sig_len, "a flipped bit");
    expect_invalid(rsa_pub, &raw_pkcs, sig, sig_len, "a flipped bit");
    /* Not below the modulus: no signature at all, but of the right length. */
    memset(sig, 0xff, sig_len);
    expect_invalid(rsa_pub, &pkcs, sig, sig_len, "all ones");
    memset(sig, 0, sig_len);
    expect_invalid(rsa_pub, &pkcs, sig, sig_len, "all zeros");
    assert_int_equal(cu_sign(ossl_ec[0], &ecdsa, msg, 64, sig, &sig_len), 0);
    sig[40] ^= 0x80;
    expect_invalid(ec_pub, &ecdsa, sig, sig_len, "a flipped bit in s");
    expect_invalid(ec_pub, &raw_ecdsa, sig, sig_len, "a flipped bit in s");
    /* r = 0, and r beyond the order, are never valid. */
    memset(sig, 0, 32);
    expect_invalid(ec_pub, &ecdsa, sig, sig_len, "r = 0");
    memset(sig, 0xff, 32);
    expect_invalid(ec_pub, &ecdsa, sig, sig_len, "r > n");
}

static void test_wrong_signature_lengths_are_signature_len_range(void **state)
{
    CK_OBJECT_HANDLE rsa_pub, ec_pub;
    CK_MECHANISM pkcs = { CKM_SHA256_RSA_PKCS, NULL, 0 }, x509 = { CKM_RSA_X_509, NULL, 0 };
    CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
    uint8_t sig[1024];
    size_t sig_len;

    assert_int_equal(tk_import_public(f, s, ossl_rsa, NULL, 0, &rsa_pub), CKR_OK);
    assert_int_equal(tk_import_public(f, s, ossl_ec[2], NULL, 0, &ec_pub), CKR_OK);
    assert_int_equal(cu_sign(ossl_rsa, &pkcs, msg, 64, sig, &sig_len), 0);
    sig[sig_len] = 0;
    /* RSA: anything but the modulus length (2.40 table "PKCS #1 v1.5 RSA", C_Verify). */
    tk_expect_rv(tk_verify(f, s, &pkcs, rsa_pub, msg, 64, NULL, 0, sig, 255),
                 CKR_SIGNATURE_LEN_RANGE, "255-byte RSA signature");
    tk_expect_rv(tk_verify(f, s, &pkcs, rsa_pub, msg, 64, odd_parts, 6, sig, 257),
                 CKR_SIGNATURE_LEN_RANGE, "257-byte RSA signature in parts");
    tk_expect_rv(tk_verify(f, s, &x509, rsa_pub, msg, 64, NULL, 0, sig, 128),
                 CKR_SIGNATURE_LEN_RANGE, "128-byte raw RSA signature");
    /* ECDSA on P-521: r || s is at most 132 bytes, and of even length. */
    assert_int_equal(cu_sign(ossl_ec[2], &ecdsa, msg, 64, sig, &sig_len), 0);
    assert_int_equal(sig_len, 132);
    tk_expect_rv(tk_verify(f, s, &ecdsa, ec_pub, msg, 64, NULL, 0, sig, 134),
                 CKR_SIGNATURE_LEN_RANGE, "134-byte P-521 signature");
    tk_expect_rv(tk_verify(f, s, &ecdsa, ec_pub, msg, 64, odd_parts, 6, sig, 133),
                 CKR_SIGNATURE_LEN_RANGE, "133-byte P-521 signature in parts");
    tk_expect_rv(tk_verify(f, s, &ecdsa, ec_pub, msg, 64, NULL, 0, sig, 131),
                 CKR_SIGNATURE_LEN_RANGE, "131-byte P-521 signature");
}

/* 2.40 C_Verify "always terminates the active verification operation"; C_VerifyFinal as well. */
static void test_verify_ends_the_operation_whatever_its_result(void **state)
{
    CK_OBJECT_HANDLE pub;
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    uint8_t sig[1024];
    size_t sig_len;

    assert_int_equal(tk_import_public(f, s, ossl_rsa, NULL, 0, &pub), CKR_OK);
    assert_int_equal(cu_sign(ossl_rsa, &m, msg, 64, sig, &sig_len), 0);
    assert_int_equal(tk_verify(f, s, &m, pub, msg, 64, NULL, 0, sig, sig_len), CKR_OK);
    assert_int_equal(f->C_Verify(s, msg, 64, sig, sig_len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(tk_verify(f, s, &m, pub, msg, 63, NULL, 0, sig, sig_len), CKR_SIGNATURE_INVALID);
    assert_int_equal(f->C_Verify(s, msg, 64, sig, sig_len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(tk_verify(f, s, &m, pub, msg, 64, NULL, 0, sig, 7), CKR_SIGNATURE_LEN_RANGE);
    assert_int_equal(f->C_Verify(s, msg, 64, sig, sig_len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(tk_verify(f, s, &m, pub, msg, 63, odd_parts, 6, sig, sig_len),
                     CKR_SIGNATURE_INVALID);
    assert_int_equal(f->C_VerifyFinal(s, sig, sig_len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_VerifyUpdate(s, msg, 1), CKR_OPERATION_NOT_INITIALIZED);
}

/* Every RSA size the TPM offers signs with signatures of exactly the modulus size. */
static void test_rsa_signatures_have_the_modulus_size_for_every_key_size(void **state)
{
    static const CK_ULONG sizes[] = { 1024, 2048, 3072, 4096 };
    CK_MECHANISM_INFO info;
    uint8_t sig[1024];
    int tried = 0;

    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_SHA256_RSA_PKCS, &info), CKR_OK);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CK_RSA_PKCS_PSS_PARAMS p = pss_params(&hashes[1]), p512 = pss_params(&hashes[3]);
        CK_MECHANISM pkcs = { CKM_SHA256_RSA_PKCS, NULL, 0 }, pss = { CKM_SHA256_RSA_PKCS_PSS, &p, sizeof p };
        CK_MECHANISM pss512 = { CKM_SHA512_RSA_PKCS_PSS, &p512, sizeof p512 };
        CK_OBJECT_HANDLE pub, priv;
        EVP_PKEY *check;
        if (sizes[i] < info.ulMinKeySize || sizes[i] > info.ulMaxKeySize)
            continue;
        tk_expect_rv(tk_rsa_pair(f, s, sizes[i], NULL, 0, &pub, &priv), CKR_OK, "RSA-%lu pair",
                     (unsigned long)sizes[i]);
        assert_non_null(check = public_key_of(f, s, pub));
        sign_checked(priv, check, &pkcs, msg, 1000, false, sig);
        sign_checked(priv, check, &pss, msg, 1000, true, sig);
        /* 2.40: "The sLen field must be less than or equal to k*-2-hLen": not so on 1024 bits. */
        if (sizes[i] == 1024)
            assert_int_equal(f->C_SignInit(s, &pss512, priv), CKR_MECHANISM_PARAM_INVALID);
        else
            sign_checked(priv, check, &pss512, msg, 1000, true, sig);
        EVP_PKEY_free(check);
        tried++;
    }
    assert_true(tried >= 1);
}

/* A message whose PKCS #1 v1.5 signature under OpenSSL's key starts with a zero byte. */
static size_t message_with_leading_zero_signature(uint8_t *m, uint8_t *sig)
{
    CK_MECHANISM pkcs = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    size_t sig_len;

    for (unsigned seed = 0; seed < 100000; seed++) {
        cu_fill(m, 32, seed);
        assert_int_equal(cu_sign(ossl_rsa, &pkcs, m, 32, sig, &sig_len), 0);
        if (sig[0] == 0)
            return sig_len;
    }
    fail_msg("no signature with a leading zero in 100000 tries");
    return 0;
}

/* A signature is a number below the modulus written in k bytes: leading zeros stay. */
static void test_rsa_signatures_keep_their_leading_zero_bytes(void **state)
{
    CK_MECHANISM pkcs = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_OBJECT_HANDLE pub, priv;
    uint8_t m[32], want[1024], sig[1024];
    size_t want_len = message_with_leading_zero_signature(m, want);
    CK_ULONG sig_len = sizeof sig;

    assert_int_equal(tk_import_private(f, s, ossl_rsa, NULL, 0, &priv), CKR_OK);
    assert_int_equal(tk_import_public(f, s, ossl_rsa, NULL, 0, &pub), CKR_OK);
    assert_int_equal(tk_sign(f, s, &pkcs, priv, m, 32, NULL, 0, sig, &sig_len), CKR_OK);
    tk_expect_bytes(sig, sig_len, want, want_len, "a signature starting with a zero byte");
    assert_int_equal(tk_verify(f, s, &pkcs, pub, m, 32, NULL, 0, want, want_len), CKR_OK);
}

/* r and s are written in nLen bytes each, however small they are; short ones verify too. */
static void test_ecdsa_signatures_keep_their_leading_zero_bytes(void **state)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_OBJECT_HANDLE pub, priv, imported;
    uint8_t sig[1024];
    size_t ossl_len;
    EVP_PKEY *check;
    int found = 0;

    assert_int_equal(tk_ec_pair(f, s, "P-256", NULL, 0, &pub, &priv), CKR_OK);
    assert_non_null(check = public_key_of(f, s, pub));
    /* The TPM's r or s starts with a zero byte once in 128 signatures or so. */
    for (unsigned i = 0; i < 3000 && !found; i++) {
        CK_ULONG sig_len = sizeof sig;
        tk_expect_rv(tk_sign(f, s, &m, priv, msg, 100 + i % 500, NULL, 0, sig, &sig_len), CKR_OK,
                     "signature %u", i);
        if (sig_len != 64)
            fail_msg("signature %u is %lu bytes", i, (unsigned long)sig_len);
        if (cu_verify(check, &m, msg, 100 + i % 500, sig, sig_len) != 1)
            fail_msg("signature %u: OpenSSL finds it invalid: %s", i, cu_hex(sig, sig_len));
        found = sig[0] == 0 || sig[32] == 0;
    }
    assert_true(found);
    EVP_PKEY_free(check);
    /* OpenSSL's signatures with a zero byte on top of r verify in the token. */
    assert_int_equal(tk_import_public(f, s, ossl_ec[0], NULL, 0, &imported), CKR_OK);
    found = 0;
    for (unsigned i = 0; i < 100000 && !found; i++) {
        assert_int_equal(cu_sign(ossl_ec[0], &m, msg, 1 + i % 4000, sig, &ossl_len), 0);
        if (sig[0] != 0)
            continue;
        found = 1;
        tk_expect_rv(tk_verify(f, s, &m, imported, msg, 1 + i % 4000, NULL, 0, sig, ossl_len),
                     CKR_OK, "a signature whose r starts with a zero byte");
    }
    assert_true(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rsa_pkcs1_signatures_of_a_generated_key_verify_in_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_pss_signatures_of_a_generated_key_verify_in_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_rsa_signatures_of_a_generated_key_verify_in_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imported_rsa_key_signs_byte_for_byte_like_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imported_rsa_key_pss_signatures_verify_with_the_original, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecdsa_signatures_of_generated_keys_verify_in_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imported_ec_keys_sign_for_the_original_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_verifies_openssl_rsa_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_verifies_openssl_ecdsa_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_verifies_its_own_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_signatures_are_signature_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_signature_lengths_are_signature_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_ends_the_operation_whatever_its_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_signatures_have_the_modulus_size_for_every_key_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_signatures_keep_their_leading_zero_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecdsa_signatures_keep_their_leading_zero_bytes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
