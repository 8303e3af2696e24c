/*
 * tpm/alg: fixed facts about the TPM's hash and curve identifiers (sizes, OpenSSL names),
 * kept in one table for every layer that needs them.
 */
#ifndef TPMTOK_TPM_ALG_H
#define TPMTOK_TPM_ALG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Digest size of a TPM2_ALG_SHA* hash; 0 for a hash tpmtok does not use. */
size_t tpm_hash_size(uint16_t hash);
/* Size of a MAC the TPM computes with alg: an HMAC hash's digest, or 16 for TPM2_ALG_CMAC. */
size_t tpm_mac_size(uint16_t alg);
/* OpenSSL's name for it ("SHA256"...), or NULL. */
const char *tpm_hash_name(uint16_t hash);
/* OpenSSL's digest for it, or NULL. */
const EVP_MD *tpm_hash_md(uint16_t hash);
/* Bytes of a TPM2_ECC_* curve's coordinates (and of r and s); 0 for an unknown curve. */
size_t tpm_curve_bytes(uint16_t curve);

#endif
