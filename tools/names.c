/*
 * Names and words for PKCS#11 numbers. The CK_RV table holds every CKR_ value of the PKCS#11
 * 2.40 header (p11-kit's), so any error the module returns is named; the words say what it
 * usually means for a tpmtok user. The mechanism table holds what a TPM-backed token offers
 * and its near relatives; others print as numbers.
 */
#include "config.h"

#include <string.h>

#include "names.h"

struct rv_row {
    CK_RV rv;
    const char *name;
    const char *words;
};

#define RV(x, words) { x, #x, words }
static const struct rv_row rv_rows[] = {
    RV(CKR_OK, "success"),
    RV(CKR_CANCEL, "cancelled by the application"),
    RV(CKR_HOST_MEMORY, "out of memory"),
    RV(CKR_SLOT_ID_INVALID, "no such slot"),
    RV(CKR_GENERAL_ERROR, "the module failed; TPMTOK_LOG=info says more"),
    RV(CKR_FUNCTION_FAILED, "the operation failed; TPMTOK_LOG=info says more"),
    RV(CKR_ARGUMENTS_BAD, "bad arguments to the call"),
    RV(CKR_NO_EVENT, "no slot event"),
    RV(CKR_NEED_TO_CREATE_THREADS, "the module needs to create threads"),
    RV(CKR_CANT_LOCK, "the module cannot lock as asked"),
    RV(CKR_ATTRIBUTE_READ_ONLY, "an attribute cannot be set or changed"),
    RV(CKR_ATTRIBUTE_SENSITIVE, "an attribute is secret and cannot be read"),
    RV(CKR_ATTRIBUTE_TYPE_INVALID, "an attribute does not apply to this object"),
    RV(CKR_ATTRIBUTE_VALUE_INVALID, "an attribute has a value the token refuses"),
    RV(CKR_ACTION_PROHIBITED, "the token's policy forbids this"),
    RV(CKR_DATA_INVALID, "the data is not valid for the operation"),
    RV(CKR_DATA_LEN_RANGE, "the data has the wrong length"),
    RV(CKR_DEVICE_ERROR, "TPM or store failure; TPMTOK_LOG=info says more"),
    RV(CKR_DEVICE_MEMORY, "the TPM or the store is out of space"),
    RV(CKR_DEVICE_REMOVED, "the TPM went away"),
    RV(CKR_ENCRYPTED_DATA_INVALID, "the encrypted data is not valid"),
    RV(CKR_ENCRYPTED_DATA_LEN_RANGE, "the encrypted data has the wrong length"),
    RV(CKR_FUNCTION_CANCELED, "cancelled"),
    RV(CKR_FUNCTION_NOT_PARALLEL, "no function runs in parallel"),
    RV(CKR_FUNCTION_NOT_SUPPORTED, "the module does not do this"),
    RV(CKR_KEY_HANDLE_INVALID, "no such key"),
    RV(CKR_KEY_SIZE_RANGE, "the TPM does not support this key size"),
    RV(CKR_KEY_TYPE_INCONSISTENT, "the key's type does not fit the mechanism"),
    RV(CKR_KEY_NOT_NEEDED, "the operation takes no key"),
    RV(CKR_KEY_CHANGED, "the key changed"),
    RV(CKR_KEY_NEEDED, "the operation needs a key"),
    RV(CKR_KEY_INDIGESTIBLE, "the key cannot be digested"),
    RV(CKR_KEY_FUNCTION_NOT_PERMITTED, "the key's attributes do not allow this use"),
    RV(CKR_KEY_NOT_WRAPPABLE, "the key cannot be wrapped"),
    RV(CKR_KEY_UNEXTRACTABLE, "the key cannot leave the token"),
    RV(CKR_MECHANISM_INVALID, "the TPM does not offer this mechanism"),
    RV(CKR_MECHANISM_PARAM_INVALID, "bad mechanism parameters"),
    RV(CKR_OBJECT_HANDLE_INVALID, "no such object"),
    RV(CKR_OPERATION_ACTIVE, "another operation is in progress"),
    RV(CKR_OPERATION_NOT_INITIALIZED, "no operation in progress"),
    RV(CKR_PIN_INCORRECT, "wrong PIN"),
    RV(CKR_PIN_INVALID, "the PIN has characters the token refuses"),
    RV(CKR_PIN_LEN_RANGE, "PIN too short or too long"),
    RV(CKR_PIN_EXPIRED, "the PIN has expired"),
    RV(CKR_PIN_LOCKED, "the TPM is locked out after wrong PINs"),
    RV(CKR_SESSION_CLOSED, "the session was closed"),
    RV(CKR_SESSION_COUNT, "too many sessions"),
    RV(CKR_SESSION_HANDLE_INVALID, "no such session"),
    RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED, "parallel sessions are not supported"),
    RV(CKR_SESSION_READ_ONLY, "the session is read-only"),
    RV(CKR_SESSION_EXISTS, "the token is in use"),
    RV(CKR_SESSION_READ_ONLY_EXISTS, "a read-only session exists, so the SO cannot log in"),
    RV(CKR_SESSION_READ_WRITE_SO_EXISTS, "the SO is logged in elsewhere"),
    RV(CKR_SIGNATURE_INVALID, "the signature does not verify"),
    RV(CKR_SIGNATURE_LEN_RANGE, "the signature has the wrong length"),
    RV(CKR_TEMPLATE_INCOMPLETE, "an attribute the object needs is missing"),
    RV(CKR_TEMPLATE_INCONSISTENT, "the attributes contradict each other"),
    RV(CKR_TOKEN_NOT_PRESENT, "no token in the slot"),
    RV(CKR_TOKEN_NOT_RECOGNIZED, "the token is not recognized"),
    RV(CKR_TOKEN_WRITE_PROTECTED, "the store is read-only"),
    RV(CKR_UNWRAPPING_KEY_SIZE_RANGE, "the unwrapping key has a size the token refuses"),
    RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "the unwrapping key's type does not fit"),
    RV(CKR_USER_ALREADY_LOGGED_IN, "already logged in"),
    RV(CKR_USER_NOT_LOGGED_IN, "this needs a login (give the PIN)"),
    RV(CKR_USER_PIN_NOT_INITIALIZED, "the token has no user PIN yet"),
    RV(CKR_USER_TYPE_INVALID, "no such kind of user"),
    RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "another user is logged in"),
    RV(CKR_USER_TOO_MANY_TYPES, "too many kinds of user logged in"),
    RV(CKR_WRAPPED_KEY_INVALID, "the wrapped key is not valid"),
    RV(CKR_WRAPPED_KEY_LEN_RANGE, "the wrapped key has the wrong length"),
    RV(CKR_WRAPPING_KEY_HANDLE_INVALID, "no such wrapping key"),
    RV(CKR_WRAPPING_KEY_SIZE_RANGE, "the wrapping key has a size the token refuses"),
    RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "the wrapping key's type does not fit"),
    RV(CKR_RANDOM_SEED_NOT_SUPPORTED, "the TPM takes no seed"),
    RV(CKR_RANDOM_NO_RNG, "no random number generator"),
    RV(CKR_DOMAIN_PARAMS_INVALID, "bad domain parameters"),
    RV(CKR_CURVE_NOT_SUPPORTED, "the TPM does not support this curve"),
    RV(CKR_BUFFER_TOO_SMALL, "the output buffer is too small"),
    RV(CKR_SAVED_STATE_INVALID, "the saved operation state is not valid here"),
    RV(CKR_INFORMATION_SENSITIVE, "the information is secret"),
    RV(CKR_STATE_UNSAVEABLE, "this operation's state cannot be saved"),
    RV(CKR_CRYPTOKI_NOT_INITIALIZED, "the module is not initialized"),
    RV(CKR_CRYPTOKI_ALREADY_INITIALIZED, "the module is already initialized"),
    RV(CKR_MUTEX_BAD, "bad mutex"),
    RV(CKR_MUTEX_NOT_LOCKED, "mutex not locked"),
    RV(CKR_NEW_PIN_MODE, "a new PIN is needed"),
    RV(CKR_NEXT_OTP, "the next one-time password is needed"),
    RV(CKR_EXCEEDED_MAX_ITERATIONS, "too many iterations"),
    RV(CKR_FIPS_SELF_TEST_FAILED, "a FIPS self-test failed"),
    RV(CKR_LIBRARY_LOAD_FAILED, "a library the module needs cannot be loaded"),
    RV(CKR_PIN_TOO_WEAK, "the PIN is too weak"),
    RV(CKR_PUBLIC_KEY_INVALID, "the public key is not valid"),
    RV(CKR_FUNCTION_REJECTED, "the request was rejected"),
    RV(CKR_VENDOR_DEFINED, "a vendor-defined error"),
};
#undef RV

static const struct rv_row *rv_find(CK_RV rv)
{
    for (size_t i = 0; i < sizeof rv_rows / sizeof rv_rows[0]; i++)
        if (rv_rows[i].rv == rv)
            return &rv_rows[i];
    return NULL;
}

const char *rv_name(CK_RV rv)
{
    const struct rv_row *r = rv_find(rv);

    return r != NULL ? r->name : NULL;
}

const char *rv_words(CK_RV rv)
{
    const struct rv_row *r = rv_find(rv);

    return r != NULL ? r->words : NULL;
}

/* The unit of CK_MECHANISM_INFO's sizes, as the mechanisms specification counts them. */
enum unit { NONE, BITS, BYTES };

struct mech_row {
    CK_MECHANISM_TYPE type;
    const char *name;
    enum unit unit;
};

#define M(x, unit) { x, #x, unit }
static const struct mech_row mech_rows[] = {
    M(CKM_RSA_PKCS_KEY_PAIR_GEN, BITS),
    M(CKM_RSA_PKCS, BITS),
    M(CKM_RSA_X_509, BITS),
    M(CKM_RSA_PKCS_OAEP, BITS),
    M(CKM_RSA_PKCS_PSS, BITS),
    M(CKM_SHA1_RSA_PKCS, BITS),
    M(CKM_SHA224_RSA_PKCS, BITS),
    M(CKM_SHA256_RSA_PKCS, BITS),
    M(CKM_SHA384_RSA_PKCS, BITS),
    M(CKM_SHA512_RSA_PKCS, BITS),
    M(CKM_SHA1_RSA_PKCS_PSS, BITS),
    M(CKM_SHA224_RSA_PKCS_PSS, BITS),
    M(CKM_SHA256_RSA_PKCS_PSS, BITS),
    M(CKM_SHA384_RSA_PKCS_PSS, BITS),
    M(CKM_SHA512_RSA_PKCS_PSS, BITS),
    M(CKM_EC_KEY_PAIR_GEN, BITS),
    M(CKM_ECDSA, BITS),
    M(CKM_ECDSA_SHA1, BITS),
    M(CKM_ECDSA_SHA224, BITS),
    M(CKM_ECDSA_SHA256, BITS),
    M(CKM_ECDSA_SHA384, BITS),
    M(CKM_ECDSA_SHA512, BITS),
    M(CKM_ECDH1_DERIVE, BITS),
    M(CKM_ECDH1_COFACTOR_DERIVE, BITS),
    M(CKM_SHA_1, NONE),
    M(CKM_SHA224, NONE),
    M(CKM_SHA256, NONE),
    M(CKM_SHA384, NONE),
    M(CKM_SHA512, NONE),
    M(CKM_SHA_1_HMAC, BITS),
    M(CKM_SHA_1_HMAC_GENERAL, BITS),
    M(CKM_SHA224_HMAC, BITS),
    M(CKM_SHA224_HMAC_GENERAL, BITS),
    M(CKM_SHA256_HMAC, BITS),
    M(CKM_SHA256_HMAC_GENERAL, BITS),
    M(CKM_SHA384_HMAC, BITS),
    M(CKM_SHA384_HMAC_GENERAL, BITS),
    M(CKM_SHA512_HMAC, BITS),
    M(CKM_SHA512_HMAC_GENERAL, BITS),
    M(CKM_GENERIC_SECRET_KEY_GEN, BITS),
    M(CKM_AES_KEY_GEN, BYTES),
    M(CKM_AES_ECB, BYTES),
    M(CKM_AES_CBC, BYTES),
    M(CKM_AES_CBC_PAD, BYTES),
    M(CKM_AES_CTR, BYTES),
    M(CKM_AES_CFB8, BYTES),
    M(CKM_AES_CFB64, BYTES),
    M(CKM_AES_CFB128, BYTES),
    M(CKM_AES_OFB, BYTES),
    M(CKM_AES_GCM, BYTES),
    M(CKM_AES_CCM, BYTES),
    M(CKM_AES_CTS, BYTES),
    M(CKM_AES_CMAC, BYTES),
    M(CKM_AES_CMAC_GENERAL, BYTES),
    M(CKM_AES_MAC, BYTES),
    M(CKM_AES_MAC_GENERAL, BYTES),
    M(CKM_AES_KEY_WRAP, BYTES),
    M(CKM_AES_KEY_WRAP_PAD, BYTES),
    M(CKM_DES3_KEY_GEN, BYTES),
    M(CKM_DES3_ECB, BYTES),
    M(CKM_DES3_CBC, BYTES),
    M(CKM_DES3_CBC_PAD, BYTES),
};
#undef M

static const struct mech_row *mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < sizeof mech_rows / sizeof mech_rows[0]; i++)
        if (mech_rows[i].type == type)
            return &mech_rows[i];
    return NULL;
}

const char *mech_name(CK_MECHANISM_TYPE type)
{
    const struct mech_row *r = mech_find(type);

    return r != NULL ? r->name : NULL;
}

const char *mech_size_unit(CK_MECHANISM_TYPE type)
{
    const struct mech_row *r = mech_find(type);

    if (r == NULL || r->unit == NONE)
        return NULL;
    return r->unit == BITS ? "bits" : "bytes";
}

struct class_row {
    CK_OBJECT_CLASS class;
    const char *words;
    const char *uri_type;   /* RFC 7512 */
    const char *word;       /* what --type takes besides the URI word */
};

static const struct class_row class_rows[] = {
    { CKO_PRIVATE_KEY, "private key", "private", "private" },
    { CKO_PUBLIC_KEY, "public key", "public", "public" },
    { CKO_SECRET_KEY, "secret key", "secret-key", "secret" },
    { CKO_CERTIFICATE, "certificate", "cert", "cert" },
    { CKO_DATA, "data", "data", "data" },
};

static const struct class_row *class_find(CK_OBJECT_CLASS class)
{
    for (size_t i = 0; i < sizeof class_rows / sizeof class_rows[0]; i++)
        if (class_rows[i].class == class)
            return &class_rows[i];
    return NULL;
}

const char *class_words(CK_OBJECT_CLASS class)
{
    const struct class_row *r = class_find(class);

    return r != NULL ? r->words : NULL;
}

const char *class_uri_type(CK_OBJECT_CLASS class)
{
    const struct class_row *r = class_find(class);

    return r != NULL ? r->uri_type : NULL;
}

bool class_from_word(const char *word, CK_OBJECT_CLASS *out)
{
    for (size_t i = 0; i < sizeof class_rows / sizeof class_rows[0]; i++) {
        if (strcmp(word, class_rows[i].uri_type) == 0 || strcmp(word, class_rows[i].word) == 0) {
            *out = class_rows[i].class;
            return true;
        }
    }
    return false;
}

const char *key_type_words(CK_KEY_TYPE kt)
{
    switch (kt) {
    case CKK_RSA: return "RSA";
    case CKK_EC: return "EC";
    case CKK_AES: return "AES";
    case CKK_DES3: return "DES3";
    case CKK_GENERIC_SECRET: return "generic secret";
    case CKK_SHA_1_HMAC: return "HMAC-SHA1";
    case CKK_SHA256_HMAC: return "HMAC-SHA256";
    case CKK_SHA384_HMAC: return "HMAC-SHA384";
    case CKK_SHA512_HMAC: return "HMAC-SHA512";
    default: return NULL;
    }
}
