/*
 * token/pin: from a PIN to the auth value of its sealed object, and sealing and unsealing the
 * token secret with it. The TPM checks the PIN (the seal is dictionary-attack protected), so
 * the KDF only has to make the auth value uniform and salted per token.
 */
#ifndef TPMTOK_PIN_H
#define TPMTOK_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "store/store.h"

struct tpm;
struct tpm_obj;

#define PIN_MIN_LEN 4
#define PIN_MAX_LEN 128
#define PIN_AUTH_LEN 32
#define PIN_KDF_ITERATIONS 2000

/* CKR_OK, or CKR_PIN_LEN_RANGE outside [PIN_MIN_LEN, PIN_MAX_LEN]. */
CK_RV pin_check_len(size_t len);

/* PBKDF2-HMAC-SHA256(pin, salt, iterations) -> auth[PIN_AUTH_LEN]. Returns true on success. */
bool pin_derive(const uint8_t *pin, size_t pin_len, const uint8_t *salt, size_t salt_len,
                uint32_t iterations, uint8_t auth[PIN_AUTH_LEN]);

/*
 * Seals secret under parent for pin: a new salt, the derived auth value, a TPM seal. Fills
 * seal (whose blobs the caller frees with the row). CKR_OK or a device/host error.
 */
CK_RV pin_seal(struct tpm *t, struct tpm_obj *parent, const uint8_t *pin, size_t pin_len,
               const uint8_t *secret, size_t secret_len, struct store_seal *seal);

/*
 * Unseals the secret the seal holds, with pin. The TPM checks it.
 * CKR_OK, CKR_PIN_INCORRECT, CKR_PIN_LOCKED, or a device/host error.
 */
CK_RV pin_unseal(struct tpm *t, struct tpm_obj *parent, const struct store_seal *seal,
                 const uint8_t *pin, size_t pin_len, uint8_t *secret, size_t secret_len);

#endif
