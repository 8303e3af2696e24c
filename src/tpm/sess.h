/*
 * sess.c: tpmtok's own authorization session, run on SAPI.
 *
 * Why not ESAPI's sessions: tss2 3.2 builds a new OpenSSL library context for every hash and
 * HMAC it computes, which costs 2-3 ms of client CPU per authorized command on OpenSSL 3
 * (measured: 1454 ECDSA signs/s with a password session, 293/s with an ESAPI HMAC session).
 * This engine does the same protocol (TPM 2.0 Part 1, 19.6 and 21) with OpenSSL objects
 * fetched once, so protection costs microseconds.
 *
 * One salted, unbound HMAC session per process (salted to a token's primary by ECDH), kept
 * alive with continueSession and used for every authorized command: the HMAC key is
 * sessionKey || authValue, so neither PINs nor key auth values cross to the TPM in the
 * clear, and parameter encryption (AES-128-CFB) hides secret parameters.
 */
#ifndef TPMTOK_SESS_H
#define TPMTOK_SESS_H

#include "tpm/tpm_internal.h"

struct sess;

/* Encrypt the first command parameter (a TPM2B) on the way to the TPM. */
#define SESS_ENCRYPT_CMD 0x1u
/* Ask the TPM to encrypt the first response parameter, and decrypt it. */
#define SESS_DECRYPT_RSP 0x2u

/* What the auth area of one command needs. */
struct sess_auth {
    /* Names of every handle in the command's handle area, in order (for cpHash). */
    const TPM2B_NAME *names[3];
    size_t n_names;
    /* The auth value of handle 0 when the session authorizes it; NULL when the command has no
     * authorization handle and the session only encrypts. */
    const TPM2B_AUTH *auth;
};

/*
 * Starts a salted session (SHA-256, AES-128-CFB) of type (TPM2_SE_HMAC, or TPM2_SE_POLICY for
 * keys bound to a policy, which then runs its policy commands first) with salt_handle, a
 * loaded ECC P-256 decryption key whose public area is salt_pub: the salt is agreed by ECDH
 * with that key. Returns a TSS2_RC; *out is set on success. A policy session whose policy
 * includes PolicyAuthValue is HMAC'd like an HMAC session, so sess_run serves both.
 */
TSS2_RC sess_start(struct tpm *t, TPM2_HANDLE salt_handle, const TPM2B_PUBLIC *salt_pub,
                   TPM2_SE type, struct sess **out);
/* The session's TPM handle (policy commands name it). */
TPMI_SH_AUTH_SESSION sess_handle(const struct sess *s);
/* Frees the session; flushes it from the TPM when flush is true. NULL is fine. */
void sess_free(struct tpm *t, struct sess *s, bool flush);

/*
 * Runs the command the caller just prepared with Tss2_Sys_<Command>_Prepare on t->sys: fresh
 * caller nonce, optional command parameter encryption, cpHash and HMAC, execute, response HMAC
 * check (a bad one is TSS2_ESYS_RC_RSP_AUTH_FAILED), optional response parameter decryption,
 * nonce update. On TSS2_RC_SUCCESS the caller calls Tss2_Sys_<Command>_Complete.
 * TPM error responses come back as they are; the session stays usable after them.
 * A prepared command runs once: to retry (TPM2_RC_RETRY...), prepare it again.
 *
 * When the command may have run but its outcome is unknown (a transport error after sending,
 * a malformed response, TSS2_ESYS_RC_RSP_AUTH_FAILED) the session is out of step with the
 * TPM's nonce; using it against a DA-protected object would count as a failed authorization,
 * so every later sess_run on it returns TSS2_ESYS_RC_INVALID_SESSIONS without sending
 * anything, and sess_rc_lost() says true for that: free it and start another.
 */
TSS2_RC sess_run(struct tpm *t, struct sess *s, TPM2_CC cc, const struct sess_auth *a,
                 unsigned flags);

/*
 * True when rc means the session is gone and the command did not run, so a new session and
 * a retry are safe: the TPM no longer knows it (flushed, TPM reset: TPM2_RC_REFERENCE_S0..S6,
 * TPM2_RC_HANDLE on a session) or sess_run refused it as out of step.
 */
bool sess_rc_lost(TSS2_RC rc);

/* Tests only: the next response HMAC check of s fails, as it would for a tampered response. */
void sess_test_corrupt_rsp_check(struct sess *s);

#endif
