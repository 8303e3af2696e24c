/* Test fixture for the TPM layer's crypto tests: a swtpm, a primary, keys, OpenSSL checks. */
#ifndef TPMTOK_TEST_TPM_FIXTURE_H
#define TPMTOK_TEST_TPM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "harness/swtpm.h"
#include "tpm/tpm_internal.h"

#define N_CURVES 3
#define N_HASHES 4
#define N_MODES 4

/* What every test gets (cmocka state): the keys exist in the TPM and, where OpenSSL needs
 * them, in OpenSSL too. */
struct fixture {
    struct swtpm swtpm;
    struct tpm *t;
    struct tpm_obj *primary;
    EVP_PKEY *rsa;                     /* OpenSSL's copy of the imported RSA-2048 key */
    struct tpm_obj *rsa_key;           /* may sign and decrypt */
    struct tpm_obj *ec_key[N_CURVES];  /* generated in the TPM, sign only */
    EVP_PKEY *ec_pub[N_CURVES];
    uint8_t aes_bytes[2][32];          /* AES-128, AES-256 */
    struct tpm_obj *aes_key[2];        /* may encrypt and decrypt */
    uint8_t hmac_bytes[32];
    struct tpm_obj *hmac_key;          /* HMAC, 32 bytes */
};

extern const struct lock_ops zeroed_lock_ops;
extern const uint8_t primary_seed[32];
extern const uint16_t curves[N_CURVES];        /* P-256, P-384, P-521 */
extern const uint16_t hashes[N_HASHES];        /* SHA-1, SHA-256, SHA-384, SHA-512 */
extern const uint16_t modes[N_MODES];          /* CBC, ECB, CTR, CFB */
extern const char *const mode_names[N_MODES];

/* cmocka group setup and teardown: swtpm, TPM connection, primary, the fixture's keys. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

const EVP_MD *md_of(uint16_t hash);
size_t md_len(uint16_t hash);
void random_bytes(uint8_t *p, size_t n);
/* n random bytes, malloc'ed. */
uint8_t *random_buffer(size_t n);
double now_s(void);

/* Makes a key in the TPM (or brings priv in) under parent, opens it; out: its public part. */
struct tpm_obj *key_new(struct tpm *t, struct tpm_obj *parent, const struct tpm_key_spec *spec,
                        const struct tpm_key_public *pub, const struct tpm_key_private *priv,
                        struct tpm_key_public *out);
/* An OpenSSL RSA-2048 key brought into the TPM with the given uses. */
struct tpm_obj *rsa_import(struct fixture *f, EVP_PKEY *k, bool sign, bool decrypt);
struct tpm_obj *sym_import(struct fixture *f, enum tpm_key_type type, const uint8_t *bytes,
                           size_t len, bool encrypt, bool decrypt);

/* Signs a random digest with ec_key[curve] in the TPM; OpenSSL verifies it. */
void ecdsa_sign_verify(struct fixture *f, int curve, uint16_t hash);

/* CBC and ECB take whole blocks only. */
bool mode_is_blockwise(size_t m);
/* OpenSSL's AES-<128|256>-<modes[m]> (aes_bytes[k]) without padding. */
void ossl_aes(struct fixture *f, int k, size_t m, bool encrypt, const uint8_t *iv,
              const uint8_t *in, size_t len, uint8_t *out);
/* tpm_cipher with aes_key[k] and a copy of iv (NULL for ECB); asserts CKR_OK. */
void tpm_aes(struct fixture *f, int k, size_t m, bool decrypt, const uint8_t *iv,
             const uint8_t *in, size_t len, uint8_t *out);
void ossl_digest(uint16_t hash, const uint8_t *data, size_t len, uint8_t *out);
void ossl_hmac(uint16_t hash, const uint8_t *key, size_t key_len, const uint8_t *data,
               size_t len, uint8_t *out);

#endif
