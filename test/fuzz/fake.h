/*
 * test/fuzz/fake: a module, a token and a session without a TPM or a store, for fuzz targets
 * that drive the token layer's real entry functions. The targets are linked with
 * -Wl,--wrap=<function> for every function fake.c replaces (see FUZZ_WRAP in Makefile.am):
 * the TPM, the store and the object table end here, everything above them is the module's.
 */
#ifndef TPMTOK_FUZZ_FAKE_H
#define TPMTOK_FUZZ_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "token/module.h"
#include "token/object.h"
#include "token/session.h"
#include "token/slot.h"

/* The one session fake_session_acquire knows. */
#define FAKE_SESSION 0x51u

/* Objects fake object_get knows, by handle (1 .. FAKE_OBJECTS - 1). */
enum fake_handle {
    FAKE_AES = 1,       /* AES-256 secret key in the TPM */
    FAKE_HMAC,          /* 32-byte generic secret in the TPM */
    FAKE_RSA_PRIV,      /* RSA-2048 private key in the TPM */
    FAKE_RSA_PUB,       /* RSA-2048 public key (OpenSSL) */
    FAKE_EC_PRIV,       /* P-256 private key in the TPM */
    FAKE_EC_PUB,        /* P-256 public key (OpenSSL) */
    FAKE_DATA,          /* a token data object */
    FAKE_OBJECTS,
};

/* The token the session belongs to: serial, seed, boots, the user's secret. */
#define FAKE_SERIAL "FUZZ000000000001"
#define FAKE_BOOTS 0x0102030405060708ull
extern const uint8_t fake_seed[32];
extern const uint8_t fake_secret[32];

/* Sets up logging (off), the module, token, session and objects once; aborts if it cannot. */
void fake_init(void);
struct module *fake_module(void);
struct session *fake_session(void);
/* Per input: who is logged in, and the session's flags; ends the session's operations. */
void fake_reset(enum login_state login, bool rw);
/* The TPM blob a fake key object carries (its identity is SHA-256("tpm" || this)). */
const char *fake_key_blob(enum fake_handle h);

#endif
