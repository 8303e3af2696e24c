/* Fuzz targets' stand-ins for the TPM, the store and the object table (see fake.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fake.h"
#include "token/attr_rules.h"
#include "token/keycache.h"
#include "token/op.h"
#include <tss2/tss2_tpm2_types.h>

#include "tpm/alg.h"
#include "tpm/tpm.h"
#include "util/lock.h"
#include "util/log.h"

const uint8_t fake_seed[32] = { 0x5e, 0xed, 1, 2, 3, 4, 5, 6, 7, 8 };
const uint8_t fake_secret[32] = { 0x5e, 0xc2, 0xe7, 1, 2, 3, 4, 5, 6, 7 };

/*
 * The TPM's objects as this file sees them (the real struct tpm_obj is tpm/'s own and never
 * meets these): keys know their signature size, sequences their hash.
 */
struct tpm_obj {
    size_t sig_len;       /* keys: modulus size, or r || s */
    uint16_t hash;        /* sequences */
};

/* Not dereferenced by anything that is not replaced here. */
static char tpm_stand_in;
static struct tpm_obj primary_stand_in, key_objs[FAKE_OBJECTS];
#define FAKE_TPM ((struct tpm *)&tpm_stand_in)
#define FAKE_PRIMARY (&primary_stand_in)
#define SEQ_CTX_LEN 5     /* a saved sequence: its hash (u16 BE) and "ctx" */

static struct module module;
static struct token token;
static struct session session;
static struct object *objects[FAKE_OBJECTS];

static const char *const key_blobs[FAKE_OBJECTS] = {
    [FAKE_AES] = "fake-aes", [FAKE_HMAC] = "fake-hmac", [FAKE_RSA_PRIV] = "fake-rsa",
    [FAKE_EC_PRIV] = "fake-ec",
};

/* prime256v1, and its generator as CKA_EC_POINT. */
static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t p256_g[] = {
    0x04, 0x41, 0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
    0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39,
    0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7,
    0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb,
    0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};
static const uint8_t exponent[] = { 0x01, 0x00, 0x01 };

static void die(const char *what)
{
    fprintf(stderr, "fuzz fake: cannot set up %s\n", what);
    abort();
}

/* One object: the rules complete its attributes as for a new key, then its values are added. */
static void make_object(enum fake_handle h, CK_OBJECT_CLASS class, CK_KEY_TYPE kt,
                        const CK_ATTRIBUTE_TYPE *usage, size_t n_usage)
{
    struct object *o = calloc(1, sizeof *o);
    uint8_t modulus[256];
    bool ok = true;

    if (o == NULL)
        die("an object");
    attrs_init(&o->attrs);
    for (size_t i = 0; i < n_usage; i++)
        ok &= attrs_set_bool(&o->attrs, usage[i], true);
    if (class == CKO_SECRET_KEY)
        ok &= attrs_set_ulong(&o->attrs, CKA_VALUE_LEN, 32);
    if (class == CKO_PUBLIC_KEY && kt == CKK_RSA)
        ok &= attrs_set_ulong(&o->attrs, CKA_MODULUS_BITS, 2048);
    if (class == CKO_PUBLIC_KEY && kt == CKK_EC)
        ok &= attrs_set(&o->attrs, CKA_EC_PARAMS, p256_oid, sizeof p256_oid);
    if (class == CKO_DATA)
        ok &= attrs_set_bool(&o->attrs, CKA_TOKEN, true) &&
              attrs_set_ulong(&o->attrs, CKA_CLASS, class) &&
              attrs_set(&o->attrs, CKA_LABEL, "fuzz", 4);
    if (!ok || attr_rules_new_object(&o->attrs, class == CKO_DATA ? ORIGIN_CREATE : ORIGIN_GENERATE,
                                     class == CKO_DATA ? CK_UNAVAILABLE_INFORMATION : class,
                                     class == CKO_DATA ? CK_UNAVAILABLE_INFORMATION : kt,
                                     false) != CKR_OK)
        die("an object's attributes");
    memset(modulus, 0xc5, sizeof modulus);
    modulus[sizeof modulus - 1] |= 1;
    if (kt == CKK_RSA)
        ok &= attrs_set(&o->attrs, CKA_MODULUS, modulus, sizeof modulus) &&
              attrs_set(&o->attrs, CKA_PUBLIC_EXPONENT, exponent, sizeof exponent);
    if (kt == CKK_EC && class == CKO_PRIVATE_KEY)
        ok &= attrs_set(&o->attrs, CKA_EC_PARAMS, p256_oid, sizeof p256_oid);
    if (kt == CKK_EC && class == CKO_PUBLIC_KEY)
        ok &= attrs_set(&o->attrs, CKA_EC_POINT, p256_g, sizeof p256_g);
    if (!ok)
        die("an object's values");
    o->handle = h;
    o->tok = &token;
    o->store_id = class == CKO_DATA ? 7 : 0;
    o->owner = class == CKO_DATA ? NULL : &session;
    if (key_blobs[h] != NULL) {
        o->blob.pub_len = strlen(key_blobs[h]);
        if ((o->blob.pub = (uint8_t *)strdup(key_blobs[h])) == NULL)
            die("a blob");
        o->auth_len = KEY_AUTH_LEN;
        memset(o->auth, 0xa5, KEY_AUTH_LEN);
    }
    objects[h] = o;
}

static void make_objects(void)
{
    static const CK_ATTRIBUTE_TYPE crypt_sign[] = { CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN,
                                                    CKA_VERIFY };
    static const CK_ATTRIBUTE_TYPE sign_verify[] = { CKA_SIGN, CKA_VERIFY };
    static const CK_ATTRIBUTE_TYPE sign_decrypt[] = { CKA_SIGN, CKA_DECRYPT };
    static const CK_ATTRIBUTE_TYPE verify_encrypt[] = { CKA_VERIFY, CKA_ENCRYPT };
    static const CK_ATTRIBUTE_TYPE sign[] = { CKA_SIGN };
    static const CK_ATTRIBUTE_TYPE verify[] = { CKA_VERIFY };

    make_object(FAKE_AES, CKO_SECRET_KEY, CKK_AES, crypt_sign, 4);
    make_object(FAKE_HMAC, CKO_SECRET_KEY, CKK_GENERIC_SECRET, sign_verify, 2);
    make_object(FAKE_RSA_PRIV, CKO_PRIVATE_KEY, CKK_RSA, sign_decrypt, 2);
    make_object(FAKE_RSA_PUB, CKO_PUBLIC_KEY, CKK_RSA, verify_encrypt, 2);
    make_object(FAKE_EC_PRIV, CKO_PRIVATE_KEY, CKK_EC, sign, 1);
    make_object(FAKE_EC_PUB, CKO_PUBLIC_KEY, CKK_EC, verify, 1);
    make_object(FAKE_DATA, CKO_DATA, CK_UNAVAILABLE_INFORMATION, NULL, 0);
}

void fake_init(void)
{
    static bool done;
    struct lock_ops ops;

    if (done)
        return;
    done = true;
    setenv("TPMTOK_LOG", "none", 1);
    log_init();
    if (lock_ops_choose(NULL, &ops) != CKR_OK || mutex_new(&ops, &module.lock) != CKR_OK)
        die("the module lock");
    module.locks = ops;
    token.id = 1;
    token.initialized = true;
    memcpy(token.row.serial, FAKE_SERIAL, 16);
    memcpy(token.row.seed, fake_seed, sizeof fake_seed);
    session.handle = FAKE_SESSION;
    session.tok = &token;
    make_objects();
}

struct module *fake_module(void)
{
    return &module;
}

struct session *fake_session(void)
{
    return &session;
}

const char *fake_key_blob(enum fake_handle h)
{
    return key_blobs[h];
}

void fake_reset(enum login_state login, bool rw)
{
    op_end_all(&session);
    token.login = login;
    session.flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
}

/* ---- the replaced functions (-Wl,--wrap=name makes calls to name come here) ---- */

CK_RV __wrap_session_acquire(struct module *m, CK_SESSION_HANDLE h, struct session **out);
void __wrap_session_release(struct module *m, struct session *s);
CK_RV __wrap_module_tpm(struct module *m, struct tpm **out);
CK_RV __wrap_slot_token_primary_get(struct module *m, struct token *tok, struct tpm_obj **out);
bool __wrap_tpm_has_alg(struct tpm *t, uint16_t alg);
bool __wrap_tpm_has_curve(struct tpm *t, uint16_t curve);
bool __wrap_tpm_has_command(struct tpm *t, uint32_t cc);
bool __wrap_tpm_has_rsa_bits(struct tpm *t, unsigned bits);
bool __wrap_tpm_has_sym_bits(struct tpm *t, uint16_t alg, unsigned bits);
size_t __wrap_tpm_buffer_size(const struct tpm *t);
CK_RV __wrap_tpm_boots(struct tpm *t, bool fresh, uint64_t *boots);
CK_RV __wrap_tpm_seq_restore(struct tpm *t, const uint8_t *ctx, size_t ctx_len,
                             const uint8_t *auth, size_t auth_len, struct tpm_obj **seq);
CK_RV __wrap_tpm_seq_save(struct tpm *t, struct tpm_obj *seq, uint8_t **out, size_t *out_len,
                          uint8_t *auth, size_t *auth_len);
void __wrap_tpm_obj_close(struct tpm *t, struct tpm_obj *o);
CK_RV __wrap_tpm_hash_start(struct tpm *t, struct tpm_obj *salt, uint16_t hash,
                            struct tpm_obj **seq);
CK_RV __wrap_tpm_hmac_start(struct tpm *t, struct tpm_obj *key, uint16_t hash,
                            struct tpm_obj **seq);
CK_RV __wrap_tpm_seq_update(struct tpm *t, struct tpm_obj *seq, const uint8_t *data, size_t len);
CK_RV __wrap_tpm_seq_complete(struct tpm *t, struct tpm_obj *seq, const uint8_t *data,
                              size_t len, uint8_t *out, size_t *out_len);
CK_RV __wrap_tpm_hash(struct tpm *t, struct tpm_obj *salt, uint16_t hash, const uint8_t *data,
                      size_t len, uint8_t *out, size_t *out_len);
CK_RV __wrap_tpm_hmac(struct tpm *t, struct tpm_obj *key, uint16_t hash, const uint8_t *data,
                      size_t len, uint8_t *out, size_t *out_len);
CK_RV __wrap_tpm_sign(struct tpm *t, struct tpm_obj *key, enum tpm_sig_scheme scheme,
                      uint16_t hash, const uint8_t *digest, size_t digest_len, uint8_t *sig,
                      size_t *sig_len);
CK_RV __wrap_tpm_rsa_decrypt(struct tpm *t, struct tpm_obj *key, enum tpm_rsa_padding padding,
                             uint16_t hash, const uint8_t *label, size_t label_len,
                             const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
CK_RV __wrap_tpm_cipher(struct tpm *t, struct tpm_obj *key, bool decrypt, uint16_t mode,
                        uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out);
CK_RV __wrap_tpm_key_create(struct tpm *t, struct tpm_obj *parent,
                            const struct tpm_key_spec *spec, const uint8_t *auth,
                            size_t auth_len, const struct tpm_key_public *pub,
                            const struct tpm_key_private *priv, struct tpm_blob *out);
bool __wrap_object_user_secret(struct module *m, struct session *s, uint8_t secret[32]);
CK_RV __wrap_object_get(struct module *m, struct session *s, CK_OBJECT_HANDLE h,
                        struct object **out);
CK_RV __wrap_object_key_auth(struct module *m, struct session *s, struct object *o);
CK_RV __wrap_object_add(struct module *m, struct session *s, struct object *obj,
                        CK_OBJECT_HANDLE *out);
CK_RV __wrap_object_update_row(struct module *m, struct session *s, const struct object *o);
CK_RV __wrap_object_replace_session_attrs_locked(struct module *m, CK_OBJECT_HANDLE h,
                                                 struct attrs *attrs);
CK_RV __wrap_object_session_objects_locked(struct module *m, struct session *s,
                                           struct object ***out, size_t *n);
CK_RV __wrap_keycache_get(struct module *m, struct session *s, struct object *o,
                          struct key_ref **out);
void __wrap_keycache_put(struct key_ref *k);
void __wrap_keycache_put_locked(struct key_ref *k);

CK_RV __wrap_session_acquire(struct module *m, CK_SESSION_HANDLE h, struct session **out)
{
    if (h != FAKE_SESSION)
        return CKR_SESSION_HANDLE_INVALID;
    *out = &session;
    return CKR_OK;
}

void __wrap_session_release(struct module *m, struct session *s)
{
}

CK_RV __wrap_module_tpm(struct module *m, struct tpm **out)
{
    *out = FAKE_TPM;
    return CKR_OK;
}

CK_RV __wrap_slot_token_primary_get(struct module *m, struct token *tok, struct tpm_obj **out)
{
    *out = FAKE_PRIMARY;
    return CKR_OK;
}

bool __wrap_tpm_has_alg(struct tpm *t, uint16_t alg)
{
    return true;
}

bool __wrap_tpm_has_curve(struct tpm *t, uint16_t curve)
{
    return true;
}

bool __wrap_tpm_has_command(struct tpm *t, uint32_t cc)
{
    return true;
}

bool __wrap_tpm_has_rsa_bits(struct tpm *t, unsigned bits)
{
    return bits >= 1024 && bits <= 4096 && bits % 1024 == 0;
}

bool __wrap_tpm_has_sym_bits(struct tpm *t, uint16_t alg, unsigned bits)
{
    return bits == 128 || bits == 192 || bits == 256;
}

size_t __wrap_tpm_buffer_size(const struct tpm *t)
{
    return 1024;
}

CK_RV __wrap_tpm_boots(struct tpm *t, bool fresh, uint64_t *boots)
{
    *boots = FAKE_BOOTS;
    return CKR_OK;
}

/* A TPM contract the token layer broke: a bug of the module, so the fuzzer must hear of it. */
static void contract(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz fake: the token layer broke a TPM layer contract: %s\n", what);
        abort();
    }
}

static CK_RV new_seq(uint16_t hash, struct tpm_obj **seq)
{
    if (tpm_hash_size(hash) == 0)
        return CKR_MECHANISM_INVALID;
    if ((*seq = calloc(1, sizeof **seq)) == NULL)
        return CKR_HOST_MEMORY;
    (*seq)->hash = hash;
    return CKR_OK;
}

/* A sequence "loads" from a context that names a hash: what else the TPM checks is not ours. */
CK_RV __wrap_tpm_seq_restore(struct tpm *t, const uint8_t *ctx, size_t ctx_len,
                             const uint8_t *auth, size_t auth_len, struct tpm_obj **seq)
{
    if (ctx_len < 2 || new_seq((uint16_t)(ctx[0] << 8 | ctx[1]), seq) != CKR_OK)
        return CKR_SAVED_STATE_INVALID;
    return CKR_OK;
}

CK_RV __wrap_tpm_seq_save(struct tpm *t, struct tpm_obj *seq, uint8_t **out, size_t *out_len,
                          uint8_t *auth, size_t *auth_len)
{
    contract(seq != NULL, "save of no sequence");
    if ((*out = malloc(SEQ_CTX_LEN)) == NULL)
        return CKR_HOST_MEMORY;
    (*out)[0] = (uint8_t)(seq->hash >> 8);
    (*out)[1] = (uint8_t)seq->hash;
    memcpy(*out + 2, "ctx", 3);
    *out_len = SEQ_CTX_LEN;
    *auth_len = 0;
    return CKR_OK;
}

CK_RV __wrap_tpm_hash_start(struct tpm *t, struct tpm_obj *salt, uint16_t hash,
                            struct tpm_obj **seq)
{
    return new_seq(hash, seq);
}

CK_RV __wrap_tpm_hmac_start(struct tpm *t, struct tpm_obj *key, uint16_t hash,
                            struct tpm_obj **seq)
{
    return new_seq(hash, seq);
}

CK_RV __wrap_tpm_seq_update(struct tpm *t, struct tpm_obj *seq, const uint8_t *data, size_t len)
{
    contract(seq != NULL, "update of no sequence");
    return CKR_OK;
}

/* A digest of hash into out, as TPM2_Hash, TPM2_HMAC and TPM2_SequenceComplete give one. */
static CK_RV digest_out(uint16_t hash, size_t len, uint8_t *out, size_t *out_len)
{
    size_t size = tpm_mac_size(hash);

    contract(len <= 1024, "more than one TPM buffer for a one-command digest");
    if (size == 0)
        return CKR_MECHANISM_INVALID;
    if (*out_len < size)
        return CKR_BUFFER_TOO_SMALL;
    memset(out, 0x33, size);
    *out_len = size;
    return CKR_OK;
}

CK_RV __wrap_tpm_seq_complete(struct tpm *t, struct tpm_obj *seq, const uint8_t *data,
                              size_t len, uint8_t *out, size_t *out_len)
{
    contract(seq != NULL, "completion of no sequence");
    return digest_out(seq->hash, len, out, out_len);
}

CK_RV __wrap_tpm_hash(struct tpm *t, struct tpm_obj *salt, uint16_t hash, const uint8_t *data,
                      size_t len, uint8_t *out, size_t *out_len)
{
    return digest_out(hash, len, out, out_len);
}

CK_RV __wrap_tpm_hmac(struct tpm *t, struct tpm_obj *key, uint16_t hash, const uint8_t *data,
                      size_t len, uint8_t *out, size_t *out_len)
{
    return digest_out(hash, len, out, out_len);
}

CK_RV __wrap_tpm_sign(struct tpm *t, struct tpm_obj *key, enum tpm_sig_scheme scheme,
                      uint16_t hash, const uint8_t *digest, size_t digest_len, uint8_t *sig,
                      size_t *sig_len)
{
    contract(key != NULL && key->sig_len > 0, "signing with no key");
    if (*sig_len < key->sig_len) {
        *sig_len = key->sig_len;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (hash != 0 && digest_len != tpm_hash_size(hash))
        return CKR_DATA_LEN_RANGE;
    memset(sig, 0x11, key->sig_len);
    *sig_len = key->sig_len;
    return CKR_OK;
}

/*
 * Raw: the block as it came. Padded: the block's first byte must be 0 and its last says the
 * message's length, so the fuzzer decides what the unpadding gives.
 */
CK_RV __wrap_tpm_rsa_decrypt(struct tpm *t, struct tpm_obj *key, enum tpm_rsa_padding padding,
                             uint16_t hash, const uint8_t *label, size_t label_len,
                             const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    size_t k, n;

    contract(key != NULL && key->sig_len > 11, "decryption with no RSA key");
    k = key->sig_len;
    if (in_len != k)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (padding == TPM_RSA_RAW) {
        if (*out_len < k)
            return CKR_BUFFER_TOO_SMALL;
        memcpy(out, in, k);
        *out_len = k;
        return CKR_OK;
    }
    n = in[k - 1] % (k - 11);
    if (in[0] != 0)
        return CKR_ENCRYPTED_DATA_INVALID;
    if (*out_len < n)
        return CKR_BUFFER_TOO_SMALL;
    memcpy(out, in + k - n, n);
    *out_len = n;
    return CKR_OK;
}

/* A cipher that is its own inverse (XOR), with the TPM layer's length rules. */
CK_RV __wrap_tpm_cipher(struct tpm *t, struct tpm_obj *key, bool decrypt, uint16_t mode,
                        uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out)
{
    bool block = mode == TPM2_ALG_CBC || mode == TPM2_ALG_ECB;

    if (iv_len != (mode == TPM2_ALG_ECB ? 0 : 16) || (iv_len > 0 && iv == NULL))
        return CKR_MECHANISM_PARAM_INVALID;
    if (block && len % 16 != 0)
        return decrypt ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
    for (size_t i = 0; i < len; i++)
        out[i] = in[i] ^ 0x5a;
    if (iv_len > 0)
        iv[15]++;
    return CKR_OK;
}

void __wrap_tpm_obj_close(struct tpm *t, struct tpm_obj *o)
{
    /* Only sequences are closed through here: keys go back to the (fake) key cache. */
    contract(o != FAKE_PRIMARY && (o < key_objs || o >= key_objs + FAKE_OBJECTS),
             "closing a key or the primary");
    free(o);
}

/* The TPM is full: the paths up to the TPM call are what is fuzzed. */
CK_RV __wrap_tpm_key_create(struct tpm *t, struct tpm_obj *parent,
                            const struct tpm_key_spec *spec, const uint8_t *auth,
                            size_t auth_len, const struct tpm_key_public *pub,
                            const struct tpm_key_private *priv, struct tpm_blob *out)
{
    return CKR_DEVICE_MEMORY;
}

bool __wrap_object_user_secret(struct module *m, struct session *s, uint8_t secret[32])
{
    if (token.login != LOGIN_USER)
        return false;
    memcpy(secret, fake_secret, 32);
    return true;
}

CK_RV __wrap_object_get(struct module *m, struct session *s, CK_OBJECT_HANDLE h,
                        struct object **out)
{
    if (h == CK_INVALID_HANDLE || h >= FAKE_OBJECTS)
        return CKR_OBJECT_HANDLE_INVALID;
    if ((*out = object_dup(objects[h])) == NULL)
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

CK_RV __wrap_object_key_auth(struct module *m, struct session *s, struct object *o)
{
    return CKR_OK;
}

CK_RV __wrap_object_add(struct module *m, struct session *s, struct object *obj,
                        CK_OBJECT_HANDLE *out)
{
    object_free(obj);
    *out = 100;
    return CKR_OK;
}

CK_RV __wrap_object_update_row(struct module *m, struct session *s, const struct object *o)
{
    return CKR_OK;
}

CK_RV __wrap_object_replace_session_attrs_locked(struct module *m, CK_OBJECT_HANDLE h,
                                                 struct attrs *attrs)
{
    attrs_free(attrs);
    return CKR_OK;
}

CK_RV __wrap_object_session_objects_locked(struct module *m, struct session *s,
                                           struct object ***out, size_t *n)
{
    struct object **list = calloc(FAKE_OBJECTS, sizeof *list);
    size_t count = 0;

    *out = NULL;
    *n = 0;
    if (list == NULL)
        return CKR_HOST_MEMORY;
    for (int h = 1; h < FAKE_OBJECTS; h++) {
        if (objects[h]->owner == NULL)
            continue;
        if ((list[count] = object_dup(objects[h])) == NULL)
            break;
        count++;
    }
    *out = list;
    *n = count;
    return CKR_OK;
}

CK_RV __wrap_keycache_get(struct module *m, struct session *s, struct object *o,
                          struct key_ref **out)
{
    struct key_ref *k = calloc(1, sizeof *k);
    CK_KEY_TYPE kt = object_key_type(o);

    if (k == NULL)
        return CKR_HOST_MEMORY;
    contract(o->handle > 0 && o->handle < FAKE_OBJECTS, "a key the fake does not have");
    k->tpm = FAKE_TPM;
    k->obj = &key_objs[o->handle];
    k->tok = &token;
    k->refs = 1;
    if ((kt == CKK_RSA || kt == CKK_EC) && object_public_from_attrs(&o->attrs, &k->pub) != CKR_OK) {
        free(k);
        return CKR_DEVICE_ERROR;
    }
    k->obj->sig_len = k->pub.type == TPM_KEY_EC ? 2 * k->pub.coord_len : k->pub.modulus_len;
    *out = k;
    return CKR_OK;
}

void __wrap_keycache_put(struct key_ref *k)
{
    free(k);
}

void __wrap_keycache_put_locked(struct key_ref *k)
{
    free(k);
}
