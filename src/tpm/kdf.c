/* KDFa and KDFe (TPM 2.0 Part 1, 11.4.10) written on OpenSSL's HMAC and digests. */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tpm/alg.h"
#include "tpm/kdf.h"
#include "util/secret.h"

/*
 * No cached state here: OpenSSL 3 keeps fetched algorithms in its default library context's
 * method cache, so fetching "HMAC" or "SHA256" per call costs about 0.3 µs and a whole KDFa
 * of 256 bits about 2 µs. What made tss2's sessions slow was a new library context per hash,
 * which defeats that cache; without it these functions are stateless, thread-safe and need
 * no teardown ordering against OpenSSL's own atexit cleanup.
 */

static void put_u32(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

/* The output length goes into KDFa as a 32-bit count of bits; a counter wrap is impossible. */
static bool bits_ok(size_t bits)
{
    return bits != 0 && bits % 8 == 0 && bits <= UINT32_MAX;
}

/* One KDFa block: HMAC(key, counter || label || 0 || contextU || contextV || bits). */
static bool kdfa_block(EVP_MAC_CTX *ctx, const uint8_t *key, size_t key_len,
                       const OSSL_PARAM *params, uint32_t counter, const char *label,
                       const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len,
                       uint32_t bits, uint8_t *out, size_t out_size)
{
    /* EVP_MAC_init treats a NULL key as "keep the old one": pass a real pointer when empty. */
    static const uint8_t no_key[1];
    uint8_t c[4], l[4];
    size_t len = 0;

    put_u32(c, counter);
    put_u32(l, bits);
    return EVP_MAC_init(ctx, key_len ? key : no_key, key_len, params) == 1 &&
           EVP_MAC_update(ctx, c, sizeof c) == 1 &&
           EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label) + 1) == 1 &&
           (u_len == 0 || EVP_MAC_update(ctx, u, u_len) == 1) &&
           (v_len == 0 || EVP_MAC_update(ctx, v, v_len) == 1) &&
           EVP_MAC_update(ctx, l, sizeof l) == 1 &&
           EVP_MAC_final(ctx, out, &len, out_size) == 1 && len != 0;
}

bool kdfa(TPMI_ALG_HASH hash, const uint8_t *key, size_t key_len, const char *label,
          const uint8_t *context_u, size_t u_len, const uint8_t *context_v, size_t v_len,
          uint8_t *out, size_t bits)
{
    const char *name = tpm_hash_name(hash);
    OSSL_PARAM params[2];
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    uint8_t block[EVP_MAX_MD_SIZE];
    size_t done = 0, want = bits / 8, dlen;
    uint32_t counter = 0;
    bool ok = false;

    if (name == NULL || !bits_ok(bits) || label == NULL)
        return false;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
        (ctx = EVP_MAC_CTX_new(mac)) == NULL)
        goto out;
    while (done < want) {
        counter++;
        /* The digest is set once; later blocks only re-key. */
        if (!kdfa_block(ctx, key, key_len, counter == 1 ? params : NULL, counter, label,
                        context_u, u_len, context_v, v_len, (uint32_t)bits, block,
                        sizeof block))
            goto out;
        dlen = EVP_MAC_CTX_get_mac_size(ctx);
        if (dlen == 0 || dlen > sizeof block)
            goto out;
        if (dlen > want - done)
            dlen = want - done;
        memcpy(out + done, block, dlen);
        done += dlen;
    }
    ok = true;
out:
    secret_wipe(block, sizeof block);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    if (!ok)
        secret_wipe(out, want);
    return ok;
}

bool kdfa_keyed(EVP_MAC_CTX *ctx, const char *label, const uint8_t *context_u, size_t u_len,
                const uint8_t *context_v, size_t v_len, uint8_t *out, size_t bits)
{
    /* A NULL key re-initialises HMAC from the key schedule the context already holds. */
    uint8_t block[EVP_MAX_MD_SIZE];
    size_t done = 0, want = bits / 8, dlen = EVP_MAC_CTX_get_mac_size(ctx);
    uint8_t c[4], l[4];
    uint32_t counter = 0;
    bool ok = false;

    if (!bits_ok(bits) || label == NULL || dlen == 0 || dlen > sizeof block)
        return false;
    put_u32(l, (uint32_t)bits);
    while (done < want) {
        size_t len = 0, take;
        put_u32(c, ++counter);
        if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(ctx, c, sizeof c) != 1 ||
            EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label) + 1) != 1 ||
            (u_len != 0 && EVP_MAC_update(ctx, context_u, u_len) != 1) ||
            (v_len != 0 && EVP_MAC_update(ctx, context_v, v_len) != 1) ||
            EVP_MAC_update(ctx, l, sizeof l) != 1 ||
            EVP_MAC_final(ctx, block, &len, sizeof block) != 1 || len != dlen)
            goto out;
        take = dlen > want - done ? want - done : dlen;
        memcpy(out + done, block, take);
        done += take;
    }
    ok = true;
out:
    secret_wipe(block, sizeof block);
    if (!ok)
        secret_wipe(out, want);
    return ok;
}

/* One KDFe block: H(counter || Z || label || 0 || partyU || partyV). */
static bool kdfe_block(EVP_MD_CTX *ctx, const EVP_MD *md, uint32_t counter, const uint8_t *z,
                       size_t z_len, const char *label, const uint8_t *u, size_t u_len,
                       const uint8_t *v, size_t v_len, uint8_t *out)
{
    uint8_t c[4];
    unsigned int len = 0;

    put_u32(c, counter);
    return EVP_DigestInit_ex2(ctx, md, NULL) == 1 &&
           EVP_DigestUpdate(ctx, c, sizeof c) == 1 &&
           EVP_DigestUpdate(ctx, z, z_len) == 1 &&
           EVP_DigestUpdate(ctx, label, strlen(label) + 1) == 1 &&
           (u_len == 0 || EVP_DigestUpdate(ctx, u, u_len) == 1) &&
           (v_len == 0 || EVP_DigestUpdate(ctx, v, v_len) == 1) &&
           EVP_DigestFinal_ex(ctx, out, &len) == 1;
}

bool kdfe(TPMI_ALG_HASH hash, const uint8_t *z, size_t z_len, const char *label,
          const uint8_t *party_u, size_t u_len, const uint8_t *party_v, size_t v_len,
          uint8_t *out, size_t bits)
{
    const char *name = tpm_hash_name(hash);
    EVP_MD *md = NULL;
    EVP_MD_CTX *ctx = NULL;
    uint8_t block[EVP_MAX_MD_SIZE];
    size_t done = 0, want = bits / 8, dlen;
    uint32_t counter = 0;
    bool ok = false;

    if (name == NULL || !bits_ok(bits) || label == NULL)
        return false;
    if ((md = EVP_MD_fetch(NULL, name, NULL)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
        goto out;
    dlen = (size_t)EVP_MD_get_size(md);
    if (dlen == 0 || dlen > sizeof block)
        goto out;
    while (done < want) {
        counter++;
        if (!kdfe_block(ctx, md, counter, z, z_len, label, party_u, u_len, party_v, v_len,
                        block))
            goto out;
        if (dlen > want - done)
            dlen = want - done;
        memcpy(out + done, block, dlen);
        done += dlen;
    }
    ok = true;
out:
    secret_wipe(block, sizeof block);
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    if (!ok)
        secret_wipe(out, want);
    return ok;
}
