/* Sealing with the token secret: HKDF-SHA256 per purpose, then AES-256-GCM. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "token/wrap.h"
#include "util/secret.h"

#define WRAP_FORMAT 1
#define NONCE_LEN 12
#define TAG_LEN 16

static const char *const purpose_info[] = {
    [WRAP_KEY_AUTH] = "tpmtok v1 key auth",
    [WRAP_OBJECT_ATTRS] = "tpmtok v1 private object",
    [WRAP_STATE_MAC] = "tpmtok v1 operation state",
    [WRAP_STATE_BODY] = "tpmtok v1 operation state records",
};

bool wrap_derive(const uint8_t secret[WRAP_SECRET_LEN], enum wrap_purpose purpose,
                 uint8_t key[32])
{
    const char *info = purpose_info[purpose];
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, WRAP_SECRET_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    bool ok = ctx != NULL && EVP_KDF_derive(ctx, key, 32, params) == 1;

    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok;
}

/* One GCM pass; encrypt or decrypt in_len bytes from in to out, tag in or out. */
static bool gcm(const uint8_t key[32], bool encrypt, const uint8_t *nonce, const uint8_t *ad,
                size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    bool ok;

    ok = c != NULL && in_len <= INT32_MAX && ad_len <= INT32_MAX &&
         EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, encrypt ? 1 : 0) == 1 &&
         (ad_len == 0 || EVP_CipherUpdate(c, NULL, &len, ad, (int)ad_len) == 1) &&
         (in_len == 0 || EVP_CipherUpdate(c, out, &len, in, (int)in_len) == 1) &&
         (encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
         EVP_CipherFinal_ex(c, out + in_len, &len) == 1 &&
         (!encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
    EVP_CIPHER_CTX_free(c);
    return ok;
}

bool wrap_seal(const uint8_t secret[WRAP_SECRET_LEN], enum wrap_purpose purpose,
               const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t in_len,
               uint8_t **out, size_t *out_len)
{
    uint8_t key[32];
    uint8_t *blob = NULL;
    size_t len = in_len + WRAP_OVERHEAD;
    bool ok = false;

    if (in_len > SIZE_MAX - WRAP_OVERHEAD || (blob = malloc(len)) == NULL)
        return false;
    blob[0] = WRAP_FORMAT;
    if (!wrap_derive(secret, purpose, key) || RAND_bytes(blob + 1, NONCE_LEN) != 1)
        goto out;
    ok = gcm(key, true, blob + 1, ad, ad_len, in, in_len, blob + 1 + NONCE_LEN,
             blob + 1 + NONCE_LEN + in_len);
out:
    secret_wipe(key, sizeof key);
    if (!ok) {
        free(blob);
        return false;
    }
    *out = blob;
    *out_len = len;
    return true;
}

bool wrap_open(const uint8_t secret[WRAP_SECRET_LEN], enum wrap_purpose purpose,
               const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t in_len,
               uint8_t **out, size_t *out_len)
{
    uint8_t key[32], tag[TAG_LEN];
    uint8_t *plain = NULL;
    size_t len;
    bool ok = false;

    if (in_len < WRAP_OVERHEAD || in[0] != WRAP_FORMAT)
        return false;
    len = in_len - WRAP_OVERHEAD;
    if ((plain = malloc(len ? len : 1)) == NULL)
        return false;
    memcpy(tag, in + in_len - TAG_LEN, TAG_LEN);
    if (!wrap_derive(secret, purpose, key))
        goto out;
    ok = gcm(key, false, in + 1, ad, ad_len, in + 1 + NONCE_LEN, len, plain, tag);
out:
    secret_wipe(key, sizeof key);
    if (!ok) {
        secret_free(plain, len);
        return false;
    }
    *out = plain;
    *out_len = len;
    return true;
}
