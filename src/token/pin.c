/* PINs: length rules, the PIN KDF, and sealing the token secret under a PIN. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "token/pin.h"
#include "tpm/tpm.h"
#include "util/log.h"
#include "util/secret.h"

CK_RV pin_check_len(size_t len)
{
    return len < PIN_MIN_LEN || len > PIN_MAX_LEN ? CKR_PIN_LEN_RANGE : CKR_OK;
}

bool pin_derive(const uint8_t *pin, size_t pin_len, const uint8_t *salt, size_t salt_len,
                uint32_t iterations, uint8_t auth[PIN_AUTH_LEN])
{
    if (pin_len > PIN_MAX_LEN || iterations == 0 || iterations > 10000000)
        return false;
    return PKCS5_PBKDF2_HMAC((const char *)pin, (int)pin_len, salt, (int)salt_len,
                             (int)iterations, EVP_sha256(), PIN_AUTH_LEN, auth) == 1;
}

CK_RV pin_seal(struct tpm *t, struct tpm_obj *parent, const uint8_t *pin, size_t pin_len,
               const uint8_t *secret, size_t secret_len, struct store_seal *seal)
{
    uint8_t auth[PIN_AUTH_LEN];
    struct tpm_blob blob = { 0 };
    CK_RV rv;

    memset(seal, 0, sizeof *seal);
    seal->iterations = PIN_KDF_ITERATIONS;
    if (RAND_bytes(seal->salt, sizeof seal->salt) != 1 ||
        !pin_derive(pin, pin_len, seal->salt, sizeof seal->salt, seal->iterations, auth)) {
        rv = CKR_FUNCTION_FAILED;
        goto out;
    }
    if ((rv = tpm_seal_create(t, parent, auth, sizeof auth, secret, secret_len, &blob)) != CKR_OK)
        goto out;
    seal->pub = blob.pub;
    seal->pub_len = blob.pub_len;
    seal->priv = blob.priv;
    seal->priv_len = blob.priv_len;
out:
    secret_wipe(auth, sizeof auth);
    return rv;
}

CK_RV pin_unseal(struct tpm *t, struct tpm_obj *parent, const struct store_seal *seal,
                 const uint8_t *pin, size_t pin_len, uint8_t *secret, size_t secret_len)
{
    uint8_t auth[PIN_AUTH_LEN];
    struct tpm_blob blob = {
        .pub = seal->pub, .pub_len = seal->pub_len,
        .priv = seal->priv, .priv_len = seal->priv_len,
    };
    size_t got = secret_len;
    CK_RV rv;

    if (!pin_derive(pin, pin_len, seal->salt, sizeof seal->salt, seal->iterations, auth)) {
        rv = CKR_FUNCTION_FAILED;
        goto out;
    }
    rv = tpm_seal_unseal(t, parent, &blob, auth, sizeof auth, secret, &got);
    if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && got != secret_len)) {
        log_error("a PIN seal does not hold a token secret");
        rv = CKR_DEVICE_ERROR;
    }
    if (rv != CKR_OK)
        secret_wipe(secret, secret_len);
out:
    secret_wipe(auth, sizeof auth);
    return rv;
}
