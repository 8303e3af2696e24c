/*
 * token/mech: the mechanism table. One static table says, for each mechanism, its key sizes,
 * its flags, and what the TPM must support for it; C_GetMechanismList, C_GetMechanismInfo and
 * every function that takes a mechanism read it.
 */
#ifndef TPMTOK_MECH_H
#define TPMTOK_MECH_H

#include <stdbool.h>
#include <stdint.h>

#include "p11.h"
#include "token/module.h"

struct tpm;

/* How a mechanism's key size range comes from the TPM. */
enum mech_sizes {
    SIZES_FIXED,      /* min/max as in the table */
    SIZES_RSA,        /* modulus bits the TPM accepts */
    SIZES_EC,         /* field bits of the curves the TPM has */
    SIZES_AES,        /* AES key bytes the TPM accepts */
};

/* Which keys a mechanism takes. */
enum mech_keys {
    KEYS_NONE,
    KEYS_RSA,
    KEYS_EC,
    KEYS_AES,
    KEYS_HMAC,        /* generic secrets and the CKK_SHA*_HMAC types */
};

/* What a mechanism does within its family. */
enum mech_detail {
    DETAIL_NONE,
    SIG_RSA_PKCS,       /* the caller's DigestInfo, or any data up to k - 11 bytes */
    SIG_RSA_X509,       /* raw RSA */
    SIG_RSA_PSS,        /* the caller's digest */
    SIG_RSA_PKCS_HASH,  /* SHA*_RSA_PKCS */
    SIG_RSA_PSS_HASH,   /* SHA*_RSA_PKCS_PSS */
    SIG_ECDSA,          /* the caller's digest, any length */
    SIG_ECDSA_HASH,
    SIG_HMAC,
    SIG_HMAC_GENERAL,
    SIG_CMAC,
    SIG_CMAC_GENERAL,
    CIPHER_ECB,
    CIPHER_CBC,
    CIPHER_CBC_PAD,
    CIPHER_CTR,
    CIPHER_CFB,
    RSA_ENC_PKCS,
    RSA_ENC_OAEP,
    RSA_ENC_X509,
};

struct op;
struct op_init;

struct mech {
    CK_MECHANISM_TYPE type;
    CK_ULONG min, max;        /* key sizes, in the unit PKCS#11 uses for this mechanism */
    CK_FLAGS flags;
    enum mech_sizes sizes;
    uint16_t alg;             /* TPM algorithm it needs, or 0 */
    uint16_t alg2;            /* a second one (a mode or scheme), or 0 */
    uint32_t cc;              /* TPM command it needs, or 0 */
    unsigned sym_bits;        /* a symmetric key size of alg TPM2_TestParms must accept, or 0 */
    enum mech_keys keys;
    uint16_t hash;            /* TPM2_ALG_SHA*: the digest, hash-then-sign or HMAC hash;
                                 TPM2_ALG_CMAC for the CMACs */
    enum mech_detail detail;
    /* Constructors: digest, sign and verify; encrypt and decrypt. NULL where not offered. */
    CK_RV (*new_op)(const struct op_init *in, struct op **out);
    CK_RV (*new_crypt)(const struct op_init *in, struct op **out);
};

/* The mechanism-info flag an operation kind needs (enum op_kind). */
CK_FLAGS mech_flag_for(int kind);
/* True if keys of type kt may be used with mech. */
bool mech_key_type_ok(const struct mech *mech, CK_KEY_TYPE kt);
/* True for mechanisms of secret keys (AES, HMAC). */
bool mech_is_symmetric(const struct mech *mech);

/* The table entry for type, or NULL. */
const struct mech *mech_find(CK_MECHANISM_TYPE type);
/* True if the TPM has what mech needs. */
bool mech_available(struct tpm *tpm, const struct mech *mech);
/*
 * The entry for type if the TPM supports it and it has every flag in `need` (e.g.
 * CKF_GENERATE_KEY_PAIR). CKR_OK or CKR_MECHANISM_INVALID; a TPM that cannot be reached
 * gives its device error.
 */
CK_RV mech_lookup(struct module *m, CK_MECHANISM_TYPE type, CK_FLAGS need,
                  const struct mech **out);

/* C_GetMechanismList and C_GetMechanismInfo for slot (mechanisms the TPM in use supports). */
CK_RV mech_list(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV mech_info(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                CK_MECHANISM_INFO *info);

#endif
