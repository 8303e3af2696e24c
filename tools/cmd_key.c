/* The key commands: keygen (keys made in the TPM) and delete. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "names.h"
#include "objects.h"
#include "pkey.h"
#include "uri.h"

#define SECRET_ID_LEN 8

/* What a --type word generates. */
struct key_kind {
    const char *word;
    CK_MECHANISM_TYPE mech;
    CK_KEY_TYPE kt;
    CK_ULONG size;          /* modulus bits, or secret key bytes; 0 for EC */
    const char *curve;      /* OpenSSL group name of an EC key */
};

static const struct key_kind key_kinds[] = {
    { "rsa:2048", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 2048, NULL },
    { "rsa:3072", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 3072, NULL },
    { "ec:p256", CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, "prime256v1" },
    { "ec:p384", CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, "secp384r1" },
    { "ec:p521", CKM_EC_KEY_PAIR_GEN, CKK_EC, 0, "secp521r1" },
    { "aes:128", CKM_AES_KEY_GEN, CKK_AES, 16, NULL },
    { "aes:192", CKM_AES_KEY_GEN, CKK_AES, 24, NULL },
    { "aes:256", CKM_AES_KEY_GEN, CKK_AES, 32, NULL },
    { "hmac:sha1", CKM_GENERIC_SECRET_KEY_GEN, CKK_SHA_1_HMAC, 20, NULL },
    { "hmac:sha256", CKM_GENERIC_SECRET_KEY_GEN, CKK_SHA256_HMAC, 32, NULL },
    { "hmac:sha384", CKM_GENERIC_SECRET_KEY_GEN, CKK_SHA384_HMAC, 48, NULL },
    { "hmac:sha512", CKM_GENERIC_SECRET_KEY_GEN, CKK_SHA512_HMAC, 64, NULL },
};

static const struct key_kind *key_kind_find(const char *word)
{
    for (size_t i = 0; i < sizeof key_kinds / sizeof key_kinds[0]; i++)
        if (word != NULL && strcmp(word, key_kinds[i].word) == 0)
            return &key_kinds[i];
    return NULL;
}

/* A new object, for printing its URI. */
static void new_object_print(const char *token_label, CK_OBJECT_HANDLE h, CK_OBJECT_CLASS class,
                             const char *label, const uint8_t *id, size_t id_len)
{
    struct objref o = { .h = h, .class = class, .label = (uint8_t *)label,
                        .label_len = strlen(label), .id = (uint8_t *)id, .id_len = id_len };
    char *uri = objref_uri(token_label, &o);

    printf("%s\n", uri != NULL ? uri : "(out of memory)");
    free(uri);
}

/*
 * Sets the pair's CKA_ID to the SHA-1 of its public key. EXIT_OK, or what failed (said).
 * Done after generation because only then is the public key known.
 */
static int pair_id_set(struct tool *t, CK_SESSION_HANDLE s, const CK_OBJECT_HANDLE h[2],
                       CK_KEY_TYPE kt, uint8_t id[KEY_ID_LEN])
{
    CK_ATTRIBUTE a = { CKA_ID, id, KEY_ID_LEN };
    EVP_PKEY *pkey = NULL;
    CK_RV rv;
    int ret;

    if ((ret = pkey_from_object(t, s, h[1], kt, &pkey)) != EXIT_OK) {
        if (ret == EXIT_NOT_FOUND)
            errorf("keygen: the new public key has no key material to make an id of");
        return ret == EXIT_NOT_FOUND ? EXIT_PKCS11 : ret;
    }
    if (!pkey_key_id(pkey, id)) {
        errorf("keygen: OpenSSL cannot hash the public key");
        ret = EXIT_FILE;
    } else if ((rv = t->f->C_SetAttributeValue(s, h[0], &a, 1)) != CKR_OK ||
               (rv = t->f->C_SetAttributeValue(s, h[1], &a, 1)) != CKR_OK) {
        ret = fail_rv("C_SetAttributeValue", rv);
    }
    EVP_PKEY_free(pkey);
    return ret;
}

/* The key-size or curve part of a key pair's public template. */
static int pair_size_attrs(const struct key_kind *k, CK_ATTRIBUTE *a, CK_ULONG *bits,
                           uint8_t **params)
{
    static CK_BYTE f4[] = { 0x01, 0x00, 0x01 };
    size_t len;

    if (k->kt == CKK_RSA) {
        *bits = k->size;
        a[0] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, bits, sizeof *bits };
        a[1] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, f4, sizeof f4 };
        return 2;
    }
    if (!pkey_curve_params(k->curve, params, &len)) {
        errorf("keygen: OpenSSL does not know the curve %s", k->curve);
        return -1;
    }
    a[0] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, *params, len };
    return 1;
}

static int keygen_pair(struct tool *t, CK_SESSION_HANDLE s, const struct token *tok,
                       const struct key_kind *k, const char *label, const uint8_t *id,
                       size_t id_len, const struct opts *o)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_MECHANISM mech = { k->mech, NULL, 0 };
    CK_ULONG bits = 0;
    uint8_t *params = NULL, made_id[KEY_ID_LEN];
    CK_OBJECT_HANDLE h[2] = { CK_INVALID_HANDLE, CK_INVALID_HANDLE };
    CK_ATTRIBUTE pub[7] = {
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_PRIVATE, &no, sizeof no },
        { CKA_VERIFY, &yes, sizeof yes }, { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_ATTRIBUTE priv[8] = {
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes }, { CKA_SIGN, &yes, sizeof yes },
        { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_ULONG n_pub = 4, n_priv = 5;
    struct policy_bufs pb = { 0 };
    int extra, ret = EXIT_OK;
    CK_RV rv;

    if ((ret = policy_attrs(o, priv, &n_priv, &pb)) != EXIT_OK)
        goto out;
    if (id != NULL) {
        pub[n_pub++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
        priv[n_priv++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
    }
    if ((extra = pair_size_attrs(k, pub + n_pub, &bits, &params)) < 0) {
        ret = EXIT_USAGE;
        goto out;
    }
    n_pub += (CK_ULONG)extra;
    if ((rv = t->f->C_GenerateKeyPair(s, &mech, pub, n_pub, priv, n_priv, &h[1], &h[0])) !=
        CKR_OK) {
        ret = fail_rv("C_GenerateKeyPair", rv);
        goto out;
    }
    if (id == NULL && (ret = pair_id_set(t, s, h, k->kt, made_id)) != EXIT_OK) {
        t->f->C_DestroyObject(s, h[0]);   /* no half-named key is left behind */
        t->f->C_DestroyObject(s, h[1]);
        goto out;
    }
    if (id == NULL) {
        id = made_id;
        id_len = sizeof made_id;
        fprintf(stderr, "tpmtok: the id is the SHA-1 of the public key\n");
    }
    new_object_print(tok->label, h[0], CKO_PRIVATE_KEY, label, id, id_len);
    new_object_print(tok->label, h[1], CKO_PUBLIC_KEY, label, id, id_len);
out:
    OPENSSL_free(params);
    policy_bufs_free(&pb);
    return ret;
}

static int keygen_secret(struct tool *t, CK_SESSION_HANDLE s, const struct token *tok,
                         const struct key_kind *k, const char *label, const uint8_t *id,
                         size_t id_len, const struct opts *o)
{
    CK_BBOOL yes = CK_TRUE;
    CK_MECHANISM mech = { k->mech, NULL, 0 };
    CK_KEY_TYPE kt = k->kt;
    CK_ULONG len = k->size;
    uint8_t made_id[SECRET_ID_LEN];
    CK_OBJECT_HANDLE h;
    CK_ATTRIBUTE tmpl[9] = {
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes }, { CKA_LABEL, (void *)label, strlen(label) },
        { CKA_ID, (void *)id, id_len }, { CKA_VALUE_LEN, &len, sizeof len },
        { CKA_KEY_TYPE, &kt, sizeof kt },
    };
    CK_ULONG n = 7;
    struct policy_bufs pb = { 0 };
    int ret;
    CK_RV rv;

    if ((ret = policy_attrs(o, tmpl, &n, &pb)) != EXIT_OK)
        goto out;
    if (id == NULL) {
        if ((rv = t->f->C_GenerateRandom(s, made_id, sizeof made_id)) != CKR_OK) {
            ret = fail_rv("C_GenerateRandom", rv);
            goto out;
        }
        tmpl[4].pValue = made_id;
        tmpl[4].ulValueLen = sizeof made_id;
        fprintf(stderr, "tpmtok: the id is %d random bytes\n", SECRET_ID_LEN);
    }
    if ((rv = t->f->C_GenerateKey(s, &mech, tmpl, n, &h)) != CKR_OK) {
        ret = fail_rv("C_GenerateKey", rv);
        goto out;
    }
    new_object_print(tok->label, h, CKO_SECRET_KEY, label, tmpl[4].pValue, tmpl[4].ulValueLen);
out:
    policy_bufs_free(&pb);
    return ret;
}

int cmd_keygen(struct tool *t, const struct opts *o)
{
    const struct key_kind *k = key_kind_find(o->type);
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    uint8_t *id = NULL;
    size_t id_len = 0;
    struct token tok;
    int ret;

    if (k == NULL) {
        errorf("keygen: --type is one of rsa:2048 rsa:3072 ec:p256 ec:p384 ec:p521 aes:128"
               " aes:192 aes:256 hmac:sha1 hmac:sha256 hmac:sha384 hmac:sha512");
        return EXIT_USAGE;
    }
    if (o->label == NULL || o->label[0] == '\0') {
        errorf("keygen: --label is required");
        return EXIT_USAGE;
    }
    if ((ret = id_option("keygen", o->id, &id, &id_len)) != EXIT_OK ||
        (ret = token_select(t, o->token, NULL, &tok)) != EXIT_OK ||
        (ret = session_open_login(t, &tok, true, o->pin, o->pin_file, &s)) != EXIT_OK)
        goto out;
    if (k->kt == CKK_RSA || k->kt == CKK_EC)
        ret = keygen_pair(t, s, &tok, k, o->label, id, id_len, o);
    else
        ret = keygen_secret(t, s, &tok, k, o->label, id, id_len, o);
    t->f->C_CloseSession(s);
out:
    free(id);
    return ret;
}

/* ---- delete */

/* Whether the objects carry more than one id (they are sorted by id). */
static bool several_ids(const struct objrefs *objs)
{
    for (size_t i = 1; i < objs->n; i++)
        if (objs->v[i].id_len != objs->v[0].id_len ||
            (objs->v[0].id_len > 0 && memcmp(objs->v[i].id, objs->v[0].id, objs->v[0].id_len)))
            return true;
    return false;
}

static bool is_pair_half(CK_OBJECT_CLASS c)
{
    return c == CKO_PRIVATE_KEY || c == CKO_PUBLIC_KEY;
}

/* Whether handle h is among the objects. */
static bool objrefs_has(const struct objrefs *objs, CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < objs->n; i++)
        if (objs->v[i].h == h)
            return true;
    return false;
}

/* Adds to objs the other half of each key pair in it (same id, public or private key). */
static int pair_halves_add(struct tool *t, CK_SESSION_HANDLE s, struct objrefs *objs)
{
    size_t n = objs->n;
    int ret = EXIT_OK;

    for (size_t i = 0; i < n && ret == EXIT_OK; i++) {
        struct objref *o = &objs->v[i];
        CK_OBJECT_CLASS other = o->class == CKO_PRIVATE_KEY ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
        CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &other, sizeof other },
                                { CKA_ID, o->id, o->id_len } };
        struct objrefs found;
        struct objref *v;

        if (!is_pair_half(o->class) || o->id_len == 0)
            continue;
        if ((ret = objects_find_template(t, s, tmpl, 2, &found)) != EXIT_OK)
            break;
        for (size_t j = 0; j < found.n; j++) {
            if (objrefs_has(objs, found.v[j].h))
                continue;
            if ((v = realloc(objs->v, (objs->n + 1) * sizeof *v)) == NULL) {
                errorf("out of memory");
                ret = EXIT_PKCS11;
                break;
            }
            objs->v = v;   /* o->id stays valid: it is a buffer of its own */
            objs->v[objs->n++] = found.v[j];
            memset(&found.v[j], 0, sizeof found.v[j]);   /* transferred */
        }
        objects_free(&found);
    }
    return ret;
}

static int objects_delete(struct tool *t, CK_SESSION_HANDLE s, const struct token *tok,
                          const struct objrefs *objs)
{
    char *uri;
    CK_RV rv;

    for (size_t i = 0; i < objs->n; i++) {
        if ((rv = t->f->C_DestroyObject(s, objs->v[i].h)) != CKR_OK)
            return fail_rv("C_DestroyObject", rv);
        uri = objref_uri(tok->label, &objs->v[i]);
        printf("deleted %s\n", uri != NULL ? uri : "(out of memory)");
        free(uri);
    }
    return EXIT_OK;
}

/* Whether the name picks objects of one class only (a URI with type=). */
static bool name_has_type(const char *name)
{
    struct uri u;
    bool has = uri_is(name) && uri_parse(name, &u) == EXIT_OK && u.has_class;

    if (uri_is(name))
        uri_free(&u);
    return has;
}

int cmd_delete(struct tool *t, const struct opts *o)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    struct objrefs objs = { 0 };
    struct token tok;
    int ret;

    if ((ret = token_select(t, o->token, o->arg, &tok)) != EXIT_OK ||
        (ret = session_open_login(t, &tok, true, o->pin, o->pin_file, &s)) != EXIT_OK)
        return ret;
    if ((ret = objects_find(t, s, o->arg, &objs)) != EXIT_OK)
        goto out;
    if (objs.n == 0) {
        errorf("delete: no object \"%s\" on token \"%s\"", o->arg, tok.label);
        ret = EXIT_NOT_FOUND;
        goto out;
    }
    if (several_ids(&objs) && !o->all) {
        errorf("delete: \"%s\" names %zu objects of several ids (tpmtok list shows them);"
               " --all deletes them all", o->arg, objs.n);
        ret = EXIT_USAGE;
        goto out;
    }
    if (!name_has_type(o->arg) && (ret = pair_halves_add(t, s, &objs)) != EXIT_OK)
        goto out;
    ret = objects_delete(t, s, &tok, &objs);
out:
    objects_free(&objs);
    t->f->C_CloseSession(s);
    return ret;
}
