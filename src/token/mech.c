/* The mechanism table and the queries C_GetMechanismList and C_GetMechanismInfo answer from it. */
#include "config.h"

#include <tss2/tss2_tpm2_types.h>

#include "token/der.h"
#include "token/mech.h"
#include "token/op.h"
#include "token/slot.h"
#include "tpm/tpm.h"

#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

#define SIGN_FLAGS (CKF_HW | CKF_SIGN | CKF_VERIFY)
#define CRYPT_FLAGS (CKF_HW | CKF_ENCRYPT | CKF_DECRYPT)

/* One digest, its hash-then-sign and HMAC mechanisms. */
#define HASH_ROWS(ck_digest, hash_alg, ck_rsa, ck_pss, ck_ecdsa, ck_hmac, ck_hmac_general)         \
    { .type = ck_digest, .flags = CKF_HW | CKF_DIGEST, .alg = hash_alg, .hash = hash_alg,          \
      .new_op = op_digest_new },                                                                   \
    { .type = ck_rsa, .flags = SIGN_FLAGS, .sizes = SIZES_RSA, .alg = TPM2_ALG_RSA,                \
      .alg2 = hash_alg, .keys = KEYS_RSA, .hash = hash_alg, .detail = SIG_RSA_PKCS_HASH,           \
      .new_op = op_sign_new },                                                                     \
    { .type = ck_pss, .flags = SIGN_FLAGS, .sizes = SIZES_RSA, .alg = TPM2_ALG_RSAPSS,             \
      .alg2 = hash_alg, .keys = KEYS_RSA, .hash = hash_alg, .detail = SIG_RSA_PSS_HASH,            \
      .new_op = op_sign_new },                                                                     \
    { .type = ck_ecdsa, .flags = SIGN_FLAGS | EC_FLAGS, .sizes = SIZES_EC,                         \
      .alg = TPM2_ALG_ECDSA, .alg2 = hash_alg, .keys = KEYS_EC, .hash = hash_alg,                  \
      .detail = SIG_ECDSA_HASH, .new_op = op_sign_new },                                           \
    { .type = ck_hmac, .min = 8, .max = 1024, .flags = SIGN_FLAGS, .alg = TPM2_ALG_HMAC,           \
      .alg2 = hash_alg, .keys = KEYS_HMAC, .hash = hash_alg, .detail = SIG_HMAC,                    \
      .new_op = op_sign_new },                                                                     \
    { .type = ck_hmac_general, .min = 8, .max = 1024, .flags = SIGN_FLAGS,                         \
      .alg = TPM2_ALG_HMAC, .alg2 = hash_alg, .keys = KEYS_HMAC, .hash = hash_alg,                 \
      .detail = SIG_HMAC_GENERAL, .new_op = op_sign_new }

static const struct mech mechs[] = {
    /* Key generation. Sizes: RSA in modulus bits, EC in field bits, AES in bytes,
     * generic secrets in bits (as the mechanisms specification counts them). */
    { .type = CKM_RSA_PKCS_KEY_PAIR_GEN, .flags = CKF_HW | CKF_GENERATE_KEY_PAIR,
      .sizes = SIZES_RSA, .alg = TPM2_ALG_RSA },
    { .type = CKM_EC_KEY_PAIR_GEN, .flags = CKF_HW | CKF_GENERATE_KEY_PAIR | EC_FLAGS,
      .sizes = SIZES_EC, .alg = TPM2_ALG_ECC },
    { .type = CKM_AES_KEY_GEN, .flags = CKF_HW | CKF_GENERATE, .sizes = SIZES_AES,
      .alg = TPM2_ALG_AES },
    /* tss2 3.2 cannot marshal TDES parameters, so TestParms decides, not the algorithm list. */
    { .type = CKM_DES3_KEY_GEN, .min = 24, .max = 24, .flags = CKF_HW | CKF_GENERATE,
      .alg = TPM2_ALG_TDES, .sym_bits = 192 },
    { .type = CKM_GENERIC_SECRET_KEY_GEN, .min = 8, .max = 1024, .flags = CKF_HW | CKF_GENERATE,
      .alg = TPM2_ALG_KEYEDHASH, .alg2 = TPM2_ALG_HMAC },

    /* Digests, hash-then-sign and HMAC, one hash at a time. */
    HASH_ROWS(CKM_SHA_1, TPM2_ALG_SHA1, CKM_SHA1_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_ECDSA_SHA1,
              CKM_SHA_1_HMAC, CKM_SHA_1_HMAC_GENERAL),
    HASH_ROWS(CKM_SHA256, TPM2_ALG_SHA256, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS,
              CKM_ECDSA_SHA256, CKM_SHA256_HMAC, CKM_SHA256_HMAC_GENERAL),
    HASH_ROWS(CKM_SHA384, TPM2_ALG_SHA384, CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS,
              CKM_ECDSA_SHA384, CKM_SHA384_HMAC, CKM_SHA384_HMAC_GENERAL),
    HASH_ROWS(CKM_SHA512, TPM2_ALG_SHA512, CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS,
              CKM_ECDSA_SHA512, CKM_SHA512_HMAC, CKM_SHA512_HMAC_GENERAL),

    /* RSA with the caller's data; encryption runs in OpenSSL, decryption in the TPM. */
    { .type = CKM_RSA_PKCS, .flags = SIGN_FLAGS | CRYPT_FLAGS, .sizes = SIZES_RSA,
      .alg = TPM2_ALG_RSA, .keys = KEYS_RSA, .detail = SIG_RSA_PKCS, .new_op = op_sign_new,
      .new_crypt = op_rsa_new },
    { .type = CKM_RSA_X_509, .flags = SIGN_FLAGS | CRYPT_FLAGS, .sizes = SIZES_RSA,
      .alg = TPM2_ALG_RSA, .keys = KEYS_RSA, .detail = SIG_RSA_X509, .new_op = op_sign_new,
      .new_crypt = op_rsa_new },
    { .type = CKM_RSA_PKCS_PSS, .flags = SIGN_FLAGS, .sizes = SIZES_RSA, .alg = TPM2_ALG_RSAPSS,
      .keys = KEYS_RSA, .detail = SIG_RSA_PSS, .new_op = op_sign_new },
    { .type = CKM_RSA_PKCS_OAEP, .flags = CRYPT_FLAGS, .sizes = SIZES_RSA, .alg = TPM2_ALG_OAEP,
      .keys = KEYS_RSA, .detail = RSA_ENC_OAEP, .new_crypt = op_rsa_new },
    { .type = CKM_ECDSA, .flags = SIGN_FLAGS | EC_FLAGS, .sizes = SIZES_EC, .alg = TPM2_ALG_ECDSA,
      .keys = KEYS_EC, .detail = SIG_ECDSA, .new_op = op_sign_new },

    /* AES through TPM2_EncryptDecrypt2, in the modes the TPM has. */
    { .type = CKM_AES_ECB, .flags = CRYPT_FLAGS, .sizes = SIZES_AES, .alg = TPM2_ALG_AES,
      .alg2 = TPM2_ALG_ECB, .keys = KEYS_AES, .detail = CIPHER_ECB, .new_crypt = op_cipher_new },
    { .type = CKM_AES_CBC, .flags = CRYPT_FLAGS, .sizes = SIZES_AES, .alg = TPM2_ALG_AES,
      .alg2 = TPM2_ALG_CBC, .keys = KEYS_AES, .detail = CIPHER_CBC, .new_crypt = op_cipher_new },
    { .type = CKM_AES_CBC_PAD, .flags = CRYPT_FLAGS, .sizes = SIZES_AES, .alg = TPM2_ALG_AES,
      .alg2 = TPM2_ALG_CBC, .keys = KEYS_AES, .detail = CIPHER_CBC_PAD,
      .new_crypt = op_cipher_new },
    { .type = CKM_AES_CTR, .flags = CRYPT_FLAGS, .sizes = SIZES_AES, .alg = TPM2_ALG_AES,
      .alg2 = TPM2_ALG_CTR, .keys = KEYS_AES, .detail = CIPHER_CTR, .new_crypt = op_cipher_new },
    { .type = CKM_AES_CFB128, .flags = CRYPT_FLAGS, .sizes = SIZES_AES, .alg = TPM2_ALG_AES,
      .alg2 = TPM2_ALG_CFB, .keys = KEYS_AES, .detail = CIPHER_CFB, .new_crypt = op_cipher_new },

    /* AES-CMAC through TPM2_MAC (TPM2_HMAC's command with an AES key and TPM2_ALG_CMAC). */
    { .type = CKM_AES_CMAC, .flags = SIGN_FLAGS, .sizes = SIZES_AES, .alg = TPM2_ALG_AES,
      .alg2 = TPM2_ALG_CMAC, .keys = KEYS_AES, .hash = TPM2_ALG_CMAC, .detail = SIG_CMAC,
      .new_op = op_sign_new },
    { .type = CKM_AES_CMAC_GENERAL, .flags = SIGN_FLAGS, .sizes = SIZES_AES,
      .alg = TPM2_ALG_AES, .alg2 = TPM2_ALG_CMAC, .keys = KEYS_AES, .hash = TPM2_ALG_CMAC,
      .detail = SIG_CMAC_GENERAL, .new_op = op_sign_new },
};
#undef HASH_ROWS
#define N_MECHS (sizeof mechs / sizeof mechs[0])

CK_FLAGS mech_flag_for(int kind)
{
    static const CK_FLAGS flags[OP_KINDS] = {
        [OP_ENCRYPT] = CKF_ENCRYPT, [OP_DECRYPT] = CKF_DECRYPT, [OP_DIGEST] = CKF_DIGEST,
        [OP_SIGN] = CKF_SIGN, [OP_VERIFY] = CKF_VERIFY,
    };

    return kind >= 0 && kind < OP_KINDS ? flags[kind] : 0;
}

bool mech_key_type_ok(const struct mech *mech, CK_KEY_TYPE kt)
{
    switch (mech->keys) {
    case KEYS_RSA:
        return kt == CKK_RSA;
    case KEYS_EC:
        return kt == CKK_EC;
    case KEYS_AES:
        return kt == CKK_AES;
    case KEYS_HMAC:
        return kt == CKK_GENERIC_SECRET || kt == CKK_SHA_1_HMAC || kt == CKK_SHA256_HMAC ||
               kt == CKK_SHA384_HMAC || kt == CKK_SHA512_HMAC;
    default:
        return false;
    }
}

bool mech_is_symmetric(const struct mech *mech)
{
    return mech->keys == KEYS_AES || mech->keys == KEYS_HMAC;
}

const struct mech *mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < N_MECHS; i++)
        if (mechs[i].type == type)
            return &mechs[i];
    return NULL;
}

bool mech_available(struct tpm *tpm, const struct mech *mech)
{
    return (mech->alg == 0 || tpm_has_alg(tpm, mech->alg)) &&
           (mech->alg2 == 0 || tpm_has_alg(tpm, mech->alg2)) &&
           (mech->cc == 0 || tpm_has_command(tpm, mech->cc)) &&
           (mech->sym_bits == 0 || tpm_has_sym_bits(tpm, mech->alg, mech->sym_bits));
}

static void rsa_sizes(struct tpm *tpm, CK_ULONG *min, CK_ULONG *max)
{
    static const unsigned bits[] = { 1024, 2048, 3072, 4096 };

    *min = *max = 0;
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        if (!tpm_has_rsa_bits(tpm, bits[i]))
            continue;
        if (*min == 0)
            *min = bits[i];
        *max = bits[i];
    }
}

static void ec_sizes(struct tpm *tpm, CK_ULONG *min, CK_ULONG *max)
{
    static const uint16_t curves[] = { TPM2_ECC_NIST_P256, TPM2_ECC_NIST_P384, TPM2_ECC_NIST_P521 };
    static const CK_ULONG field_bits[] = { 256, 384, 521 };

    *min = *max = 0;
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        if (!tpm_has_curve(tpm, curves[i]))
            continue;
        if (*min == 0)
            *min = field_bits[i];
        *max = field_bits[i];
    }
}

static void aes_sizes(struct tpm *tpm, CK_ULONG *min, CK_ULONG *max)
{
    static const unsigned bits[] = { 128, 192, 256 };

    *min = *max = 0;
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        if (!tpm_has_sym_bits(tpm, TPM2_ALG_AES, bits[i]))
            continue;
        if (*min == 0)
            *min = bits[i] / 8;
        *max = bits[i] / 8;
    }
}

static void mech_fill_info(struct tpm *tpm, const struct mech *mech, CK_MECHANISM_INFO *info)
{
    info->flags = mech->flags;
    switch (mech->sizes) {
    case SIZES_RSA:
        rsa_sizes(tpm, &info->ulMinKeySize, &info->ulMaxKeySize);
        break;
    case SIZES_EC:
        ec_sizes(tpm, &info->ulMinKeySize, &info->ulMaxKeySize);
        break;
    case SIZES_AES:
        aes_sizes(tpm, &info->ulMinKeySize, &info->ulMaxKeySize);
        break;
    default:
        info->ulMinKeySize = mech->min;
        info->ulMaxKeySize = mech->max;
        break;
    }
}

static CK_RV slot_tpm(struct module *m, CK_SLOT_ID slot, struct tpm **tpm)
{
    CK_RV rv;

    mutex_lock(m->lock);
    rv = slot_find_locked(m, slot) != NULL ? CKR_OK : CKR_SLOT_ID_INVALID;
    mutex_unlock(m->lock);
    if (rv == CKR_OK)
        rv = module_tpm(m, tpm);
    return rv == CKR_HOST_MEMORY || rv == CKR_OK || rv == CKR_SLOT_ID_INVALID ? rv
                                                                               : CKR_DEVICE_ERROR;
}

CK_RV mech_lookup(struct module *m, CK_MECHANISM_TYPE type, CK_FLAGS need,
                  const struct mech **out)
{
    const struct mech *mech = mech_find(type);
    struct tpm *tpm;
    CK_RV rv;

    if (mech == NULL || (mech->flags & need) != need)
        return CKR_MECHANISM_INVALID;
    if ((rv = module_tpm(m, &tpm)) != CKR_OK)
        return rv;
    if (!mech_available(tpm, mech))
        return CKR_MECHANISM_INVALID;
    *out = mech;
    return CKR_OK;
}

CK_RV mech_list(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    struct tpm *tpm;
    CK_ULONG n = 0;
    CK_RV rv;

    if ((rv = slot_tpm(m, slot, &tpm)) != CKR_OK)
        return rv;
    for (size_t i = 0; i < N_MECHS; i++) {
        if (!mech_available(tpm, &mechs[i]))
            continue;
        if (list != NULL && n < *count)
            list[n] = mechs[i].type;
        n++;
    }
    rv = list != NULL && *count < n ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    *count = n;
    return rv;
}

CK_RV mech_info(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                CK_MECHANISM_INFO *info)
{
    const struct mech *mech = mech_find(type);
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = slot_tpm(m, slot, &tpm)) != CKR_OK)
        return rv;
    if (mech == NULL || !mech_available(tpm, mech))
        return CKR_MECHANISM_INVALID;
    mech_fill_info(tpm, mech, info);
    return CKR_OK;
}
