/* The TPM hash and curve identifiers tpmtok uses, with their sizes and OpenSSL names. */
#include "config.h"

#include <tss2/tss2_tpm2_types.h>

#include "tpm/alg.h"

static const struct hash {
    uint16_t alg;
    size_t size;
    const char *name;
    const EVP_MD *(*md)(void);
} hashes[] = {
    { TPM2_ALG_SHA1, TPM2_SHA1_DIGEST_SIZE, "SHA1", EVP_sha1 },
    { TPM2_ALG_SHA256, TPM2_SHA256_DIGEST_SIZE, "SHA256", EVP_sha256 },
    { TPM2_ALG_SHA384, TPM2_SHA384_DIGEST_SIZE, "SHA384", EVP_sha384 },
    { TPM2_ALG_SHA512, TPM2_SHA512_DIGEST_SIZE, "SHA512", EVP_sha512 },
};

static const struct hash *hash_find(uint16_t alg)
{
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
        if (hashes[i].alg == alg)
            return &hashes[i];
    return NULL;
}

size_t tpm_hash_size(uint16_t hash)
{
    const struct hash *h = hash_find(hash);

    return h != NULL ? h->size : 0;
}

size_t tpm_mac_size(uint16_t alg)
{
    return alg == TPM2_ALG_CMAC ? 16 : tpm_hash_size(alg);
}

const char *tpm_hash_name(uint16_t hash)
{
    const struct hash *h = hash_find(hash);

    return h != NULL ? h->name : NULL;
}

const EVP_MD *tpm_hash_md(uint16_t hash)
{
    const struct hash *h = hash_find(hash);

    return h != NULL ? h->md() : NULL;
}

size_t tpm_curve_bytes(uint16_t curve)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256:
        return 32;
    case TPM2_ECC_NIST_P384:
        return 48;
    case TPM2_ECC_NIST_P521:
        return 66;
    default:
        return 0;
    }
}
