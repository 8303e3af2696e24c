/*
 * Keys in the TPM: generation of secret keys and key pairs, and import of private and secret
 * keys given in a C_CreateObject template. The TPM makes or takes the key under the token's
 * primary with a fresh random auth value; the token keeps the blob and public attributes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <tss2/tss2_tpm2_types.h>

#include "store/store.h"
#include "token/attr_rules.h"
#include "token/der.h"
#include "token/keygen.h"
#include "token/policy.h"
#include "token/mech.h"
#include "token/object.h"
#include "token/slot.h"
#include "tpm/tpm.h"
#include "util/log.h"
#include "util/secret.h"

/* What one key creation needs besides the attributes. */
struct keymake {
    struct tpm_key_spec spec;
    struct tpm_key_public pub;     /* imports: the key's public part */
    uint8_t value[512];            /* imports: secret value, or RSA prime (secret) */
    size_t value_len;
    bool import;
};

static bool so_logged_in(struct module *m, struct session *s)
{
    bool so;

    mutex_lock(m->lock);
    so = s->tok->login == LOGIN_SO;
    mutex_unlock(m->lock);
    return so;
}

/*
 * Checks the session may hold the object these attributes describe before any TPM work:
 * the same rules object_add applies, so a key is not made only to be refused.
 */
static CK_RV rights(struct module *m, struct session *s, const struct attrs *a, bool tpm_key)
{
    bool token = attrs_get_bool(a, CKA_TOKEN, false);
    bool private = attrs_get_bool(a, CKA_PRIVATE, false);
    uint8_t secret[32];
    bool user = object_user_secret(m, s, secret);

    secret_wipe(secret, sizeof secret);
    if (token && !(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    if ((private || (token && tpm_key)) && !user)
        return CKR_USER_NOT_LOGGED_IN;
    return CKR_OK;
}

/* The TPM permissions follow the PKCS#11 usage attributes the key is made with. */
static void spec_usage(struct tpm_key_spec *spec, const struct attrs *a, CK_OBJECT_CLASS class)
{
    bool ext = attrs_get_bool(a, CKA_EXTRACTABLE, false);

    spec->fixed = !ext;
    if (class == CKO_SECRET_KEY && spec->type != TPM_KEY_HMAC) {
        /* The TPM's sign on a symmetric key allows encryption and TPM2_MAC; a long CMAC
         * also decrypts one block (token/hashing.h). */
        bool mac = attrs_get_bool(a, CKA_SIGN, false) || attrs_get_bool(a, CKA_VERIFY, false);
        spec->sign = mac || attrs_get_bool(a, CKA_ENCRYPT, false) ||
                     attrs_get_bool(a, CKA_WRAP, false);
        spec->decrypt = mac || attrs_get_bool(a, CKA_DECRYPT, false) ||
                        attrs_get_bool(a, CKA_UNWRAP, false);
    } else if (class == CKO_SECRET_KEY) {
        spec->sign = true;   /* an HMAC key signs and verifies by computing the same MAC */
        spec->decrypt = false;
    } else {
        spec->sign = attrs_get_bool(a, CKA_SIGN, false) ||
                     attrs_get_bool(a, CKA_SIGN_RECOVER, false);
        spec->decrypt = attrs_get_bool(a, CKA_DECRYPT, false) ||
                        attrs_get_bool(a, CKA_UNWRAP, false) ||
                        attrs_get_bool(a, CKA_DERIVE, false);
    }
}

/* The key sizes this call may ask for are ranges of attribute values, not key-size errors. */
static CK_RV create_rv(CK_RV rv)
{
    return rv == CKR_KEY_SIZE_RANGE ? CKR_ATTRIBUTE_VALUE_INVALID : rv;
}

/* Makes the TPM key for obj (generated or imported) with a new auth value. */
/* The key in the TPM; a (the private or secret half's attributes) may bind it to PCRs. */
static CK_RV make_tpm_key(struct module *m, struct session *s, struct keymake *k,
                          struct attrs *a, struct object *obj)
{
    struct tpm_obj *primary;
    struct tpm *tpm;
    struct tpm_key_private priv = { 0 };
    struct tpm_policy policy;
    bool bound;
    CK_RV rv;

    if ((rv = module_tpm(m, &tpm)) != CKR_OK ||
        (rv = slot_token_primary_get(m, s->tok, &primary)) != CKR_OK ||
        (rv = policy_for_new_key(tpm, a, &policy, &bound)) != CKR_OK)
        return rv;
    k->spec.policy = bound ? &policy : NULL;
    if (RAND_priv_bytes(obj->auth, KEY_AUTH_LEN) != 1)
        return CKR_FUNCTION_FAILED;
    obj->auth[KEY_AUTH_LEN - 1] |= 1;   /* the TPM drops trailing zero bytes of auth values */
    obj->auth_len = KEY_AUTH_LEN;
    if (k->import && k->spec.type == TPM_KEY_RSA) {
        priv.prime = k->value;
        priv.prime_len = k->value_len;
    } else if (k->import) {
        priv.value = k->value;
        priv.value_len = k->value_len;
    }
    rv = tpm_key_create(tpm, primary, &k->spec, obj->auth, obj->auth_len,
                        k->import ? &k->pub : NULL, k->import ? &priv : NULL, &obj->blob);
    k->spec.policy = NULL;
    return create_rv(rv);
}

static CK_RV acquire_mech(struct module *m, CK_SESSION_HANDLE h, const CK_MECHANISM *mech,
                          CK_FLAGS need, struct session **s)
{
    const struct mech *me;
    CK_RV rv;

    if ((rv = session_acquire(m, h, s)) != CKR_OK)
        return rv;
    if ((rv = mech_lookup(m, mech->mechanism, need, &me)) == CKR_OK &&
        (mech->pParameter != NULL || mech->ulParameterLen != 0))
        rv = CKR_MECHANISM_PARAM_INVALID;
    if (rv != CKR_OK) {
        session_release(m, *s);
        *s = NULL;
    }
    return rv;
}

/* Sets class and key type when the template left them out; the rules check the rest. */
static bool set_kind(struct attrs *a, CK_OBJECT_CLASS class, CK_KEY_TYPE kt)
{
    return (attrs_has(a, CKA_CLASS) || attrs_set_ulong(a, CKA_CLASS, class)) &&
           (attrs_has(a, CKA_KEY_TYPE) || attrs_set_ulong(a, CKA_KEY_TYPE, kt));
}

/* Attributes every key the TPM generated gets. */
static bool set_generated(struct attrs *a, CK_MECHANISM_TYPE mech, bool secret_part)
{
    bool ok = attrs_set_bool(a, CKA_LOCAL, true) &&
              attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM, mech);

    if (ok && secret_part)
        ok = attrs_set_bool(a, CKA_ALWAYS_SENSITIVE, attrs_get_bool(a, CKA_SENSITIVE, true)) &&
             attrs_set_bool(a, CKA_NEVER_EXTRACTABLE, !attrs_get_bool(a, CKA_EXTRACTABLE, false));
    return ok;
}

static CK_KEY_TYPE secret_key_type(CK_MECHANISM_TYPE mech, const struct attrs *a)
{
    CK_ULONG kt = CKK_GENERIC_SECRET;

    switch (mech) {
    case CKM_AES_KEY_GEN:
        return CKK_AES;
    case CKM_DES3_KEY_GEN:
        return CKK_DES3;
    default:
        /* HMAC key types are generic secrets made for one hash; allow asking for them. */
        attrs_get_ulong(a, CKA_KEY_TYPE, &kt);
        if (kt == CKK_SHA_1_HMAC || kt == CKK_SHA256_HMAC || kt == CKK_SHA384_HMAC ||
            kt == CKK_SHA512_HMAC)
            return kt;
        return CKK_GENERIC_SECRET;
    }
}

static void secret_spec(CK_KEY_TYPE kt, CK_ULONG value_len, struct tpm_key_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    if (kt == CKK_AES) {
        spec->type = TPM_KEY_AES;
        spec->bits = (unsigned)value_len * 8;
    } else if (kt == CKK_DES3) {
        spec->type = TPM_KEY_TDES;
        spec->bits = 192;
    } else {
        spec->type = TPM_KEY_HMAC;
        spec->bits = (unsigned)value_len * 8;
    }
}

CK_RV keygen_key(struct module *m, CK_SESSION_HANDLE h, const CK_MECHANISM *mech,
                 CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    struct keymake k = { 0 };
    struct session *s;
    struct object *obj = NULL;
    struct attrs a;
    CK_ULONG len = 0;
    CK_KEY_TYPE kt;
    CK_RV rv;

    attrs_init(&a);
    if ((rv = acquire_mech(m, h, mech, CKF_GENERATE, &s)) != CKR_OK)
        return rv;
    if ((rv = attrs_from_template(tmpl, n, &a)) != CKR_OK)
        goto out;
    kt = secret_key_type(mech->mechanism, &a);
    if (!set_kind(&a, CKO_SECRET_KEY, kt)) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    rv = attr_rules_new_object(&a, ORIGIN_GENERATE, CKO_SECRET_KEY, kt, so_logged_in(m, s));
    if (rv != CKR_OK || (rv = rights(m, s, &a, true)) != CKR_OK)
        goto out;
    attrs_get_ulong(&a, CKA_VALUE_LEN, &len);
    secret_spec(kt, len, &k.spec);
    spec_usage(&k.spec, &a, CKO_SECRET_KEY);
    if ((obj = calloc(1, sizeof *obj)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if ((rv = make_tpm_key(m, s, &k, &a, obj)) != CKR_OK)
        goto out;
    if (!set_generated(&a, mech->mechanism, true)) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    obj->attrs = a;
    attrs_init(&a);   /* transferred */
    rv = object_add(m, s, obj, out);
    obj = NULL;       /* taken by object_add */
out:
    object_free(obj);
    attrs_free(&a);
    session_release(m, s);
    return rv;
}

/* CKA_PUBLIC_EXPONENT as a number; absent means 65537. */
static CK_RV rsa_exponent(const struct attrs *a, uint32_t *e)
{
    const struct attr *x = attrs_find(a, CKA_PUBLIC_EXPONENT);
    size_t i = 0;
    uint64_t v = 0;

    *e = 65537;
    if (x == NULL)
        return CKR_OK;
    while (i < x->len && x->value[i] == 0)
        i++;
    if (x->len - i > 4)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    for (; i < x->len; i++)
        v = v << 8 | x->value[i];
    if (v < 3 || !(v & 1))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *e = (uint32_t)v;
    return CKR_OK;
}

static CK_RV ec_curve(struct tpm *tpm, const struct attrs *a, uint16_t *curve)
{
    const struct attr *params = attrs_find(a, CKA_EC_PARAMS);

    if (params == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    *curve = der_ec_params_curve(params->value, params->len);
    if (*curve == 0)
        return der_ec_params_wellformed(params->value, params->len) ? CKR_CURVE_NOT_SUPPORTED
                                                                     : CKR_DOMAIN_PARAMS_INVALID;
    return tpm_has_curve(tpm, *curve) ? CKR_OK : CKR_CURVE_NOT_SUPPORTED;
}

/* The TPM key a key pair's public template asks for. */
static CK_RV pair_spec(struct module *m, CK_KEY_TYPE kt, const struct attrs *pub,
                       struct tpm_key_spec *spec)
{
    struct tpm *tpm;
    CK_ULONG bits = 0;
    uint32_t e;
    CK_RV rv;

    memset(spec, 0, sizeof *spec);
    if ((rv = module_tpm(m, &tpm)) != CKR_OK)
        return rv;
    if (kt == CKK_EC) {
        spec->type = TPM_KEY_EC;
        return ec_curve(tpm, pub, &spec->curve);
    }
    spec->type = TPM_KEY_RSA;
    attrs_get_ulong(pub, CKA_MODULUS_BITS, &bits);
    if ((rv = rsa_exponent(pub, &e)) != CKR_OK)
        return rv;
    if (bits > 16384 || !tpm_has_rsa_bits(tpm, (unsigned)bits))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    spec->bits = (unsigned)bits;
    spec->exponent = e == 65537 ? 0 : e;
    return CKR_OK;
}

/* The minimal big-endian bytes of a number, for CKA_PUBLIC_EXPONENT. */
static size_t be_bytes(uint32_t v, uint8_t out[4])
{
    size_t n = 0;

    for (int shift = 24; shift >= 0; shift -= 8)
        if (n > 0 || (v >> shift) & 0xff || shift == 0)
            out[n++] = (uint8_t)(v >> shift);
    return n;
}

/* CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_PARAMS/CKA_EC_POINT, and CKA_PUBLIC_KEY_INFO. */
static CK_RV set_public_parts(struct attrs *a, const struct tpm_key_public *tp)
{
    uint8_t *der = NULL, e[4];
    size_t len = 0;
    bool ok;

    if (tp->type == TPM_KEY_RSA) {
        ok = attrs_set(a, CKA_MODULUS, tp->modulus, tp->modulus_len) &&
             attrs_set(a, CKA_PUBLIC_EXPONENT, e, be_bytes(tp->exponent, e));
    } else {
        if (!der_ec_point_encode(tp->x, tp->y, tp->coord_len, &der, &len))
            return CKR_HOST_MEMORY;
        ok = attrs_set(a, CKA_EC_POINT, der, len);
        OPENSSL_free(der);
        if (ok && !attrs_has(a, CKA_EC_PARAMS)) {
            der = NULL;
            ok = der_ec_params_encode(tp->curve, &der, &len) &&
                 attrs_set(a, CKA_EC_PARAMS, der, len);
            OPENSSL_free(der);
        }
    }
    if (!ok || !der_spki(tp, &der, &len))
        return CKR_HOST_MEMORY;
    ok = attrs_set(a, CKA_PUBLIC_KEY_INFO, der, len);
    OPENSSL_free(der);
    return ok ? CKR_OK : CKR_HOST_MEMORY;
}

/*
 * Clients pair a private key, its public key and certificate by CKA_ID: with none given, both
 * get the SHA-1 of the public key; with one given, the other gets the same.
 */
static CK_RV pair_ids(struct attrs *pub, struct attrs *priv, bool pub_had, bool priv_had,
                      const struct tpm_key_public *tp)
{
    const struct attr *id;
    uint8_t sha[20];

    if (pub_had && priv_had)
        return CKR_OK;
    if (pub_had || priv_had) {
        id = attrs_find(pub_had ? pub : priv, CKA_ID);
        return attrs_set(pub_had ? priv : pub, CKA_ID, id->value, id->len) ? CKR_OK
                                                                          : CKR_HOST_MEMORY;
    }
    if (!der_key_id(tp, sha))
        return CKR_FUNCTION_FAILED;
    return attrs_set(pub, CKA_ID, sha, sizeof sha) && attrs_set(priv, CKA_ID, sha, sizeof sha)
               ? CKR_OK
               : CKR_HOST_MEMORY;
}

struct pair {
    struct attrs pub, priv;
    bool pub_had_id, priv_had_id;
    struct tpm_key_public tp;
    struct object *priv_obj, *pub_obj;
};

static void pair_free(struct pair *p)
{
    attrs_free(&p->pub);
    attrs_free(&p->priv);
    object_free(p->priv_obj);
    object_free(p->pub_obj);
}

/* Both templates checked and completed, and the session allowed to hold both objects. */
static CK_RV pair_templates(struct module *m, struct session *s, CK_KEY_TYPE kt,
                            CK_ATTRIBUTE *pt, CK_ULONG pn, CK_ATTRIBUTE *vt, CK_ULONG vn,
                            struct pair *p)
{
    bool so = so_logged_in(m, s);
    CK_RV rv;

    if ((rv = attrs_from_template(pt, pn, &p->pub)) != CKR_OK ||
        (rv = attrs_from_template(vt, vn, &p->priv)) != CKR_OK)
        return rv;
    p->pub_had_id = attrs_has(&p->pub, CKA_ID);
    p->priv_had_id = attrs_has(&p->priv, CKA_ID);
    if (!set_kind(&p->pub, CKO_PUBLIC_KEY, kt) || !set_kind(&p->priv, CKO_PRIVATE_KEY, kt))
        return CKR_HOST_MEMORY;
    if ((rv = attr_rules_new_object(&p->pub, ORIGIN_GENERATE, CKO_PUBLIC_KEY, kt, so)) != CKR_OK ||
        (rv = attr_rules_new_object(&p->priv, ORIGIN_GENERATE, CKO_PRIVATE_KEY, kt, so)) != CKR_OK)
        return rv;
    if ((rv = rights(m, s, &p->pub, false)) != CKR_OK)
        return rv;
    return rights(m, s, &p->priv, true);
}

/* The attributes the generated key gives both halves. */
static CK_RV pair_complete(struct pair *p, CK_MECHANISM_TYPE mech)
{
    CK_RV rv;

    if ((rv = tpm_blob_public(&p->priv_obj->blob, &p->tp)) != CKR_OK ||
        (rv = set_public_parts(&p->pub, &p->tp)) != CKR_OK ||
        (rv = set_public_parts(&p->priv, &p->tp)) != CKR_OK ||
        (rv = pair_ids(&p->pub, &p->priv, p->pub_had_id, p->priv_had_id, &p->tp)) != CKR_OK)
        return rv;
    if (!set_generated(&p->pub, mech, false) || !set_generated(&p->priv, mech, true))
        return CKR_HOST_MEMORY;
    if (p->tp.type == TPM_KEY_RSA && !attrs_set_ulong(&p->pub, CKA_MODULUS_BITS, p->tp.bits))
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

/* Adds both halves as one change, so neither outlives a failure or a crash without the other. */
static CK_RV pair_add(struct module *m, struct session *s, struct pair *p,
                      CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    struct object *objs[2];
    CK_OBJECT_HANDLE h[2];
    CK_RV rv;

    p->priv_obj->attrs = p->priv;
    attrs_init(&p->priv);
    if ((p->pub_obj = calloc(1, sizeof *p->pub_obj)) == NULL)
        return CKR_HOST_MEMORY;
    p->pub_obj->attrs = p->pub;
    attrs_init(&p->pub);
    objs[0] = p->priv_obj;
    objs[1] = p->pub_obj;
    p->priv_obj = p->pub_obj = NULL;   /* taken */
    if ((rv = object_add_many(m, s, objs, 2, h)) != CKR_OK)
        return rv;
    *priv = h[0];
    *pub = h[1];
    return CKR_OK;
}

CK_RV keygen_pair(struct module *m, CK_SESSION_HANDLE h, const CK_MECHANISM *mech,
                  CK_ATTRIBUTE *pub_tmpl, CK_ULONG pub_n, CK_ATTRIBUTE *priv_tmpl,
                  CK_ULONG priv_n, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    struct keymake k = { 0 };
    struct session *s;
    struct pair p;
    CK_KEY_TYPE kt = mech->mechanism == CKM_EC_KEY_PAIR_GEN ? CKK_EC : CKK_RSA;
    CK_RV rv;

    memset(&p, 0, sizeof p);
    attrs_init(&p.pub);
    attrs_init(&p.priv);
    if ((rv = acquire_mech(m, h, mech, CKF_GENERATE_KEY_PAIR, &s)) != CKR_OK)
        return rv;
    if ((rv = pair_templates(m, s, kt, pub_tmpl, pub_n, priv_tmpl, priv_n, &p)) != CKR_OK ||
        (rv = pair_spec(m, kt, &p.pub, &k.spec)) != CKR_OK)
        goto out;
    spec_usage(&k.spec, &p.priv, CKO_PRIVATE_KEY);
    if ((p.priv_obj = calloc(1, sizeof *p.priv_obj)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if ((rv = make_tpm_key(m, s, &k, &p.priv, p.priv_obj)) != CKR_OK ||
        (rv = pair_complete(&p, mech->mechanism)) != CKR_OK)
        goto out;
    rv = pair_add(m, s, &p, pub, priv);
out:
    pair_free(&p);
    session_release(m, s);
    return rv;
}

/* Q = d * G on the curve, for an imported EC private key's public part. */
static CK_RV ec_public_of(uint16_t curve, const uint8_t *d, size_t d_len,
                          struct tpm_key_public *pub)
{
    int nid = der_curve_nid(curve);
    EC_GROUP *group = nid != NID_undef ? EC_GROUP_new_by_curve_name(nid) : NULL;
    EC_POINT *q = group ? EC_POINT_new(group) : NULL;
    BIGNUM *k = BN_secure_new(), *x = BN_new(), *y = BN_new();
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

    if (group == NULL || q == NULL || k == NULL || x == NULL || y == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if (BN_bin2bn(d, (int)d_len, k) == NULL || BN_is_zero(k) ||
        BN_cmp(k, EC_GROUP_get0_order(group)) >= 0)
        goto out;
    if (EC_POINT_mul(group, q, k, NULL, NULL, NULL) != 1 ||
        EC_POINT_get_affine_coordinates(group, q, x, y, NULL) != 1 ||
        BN_bn2binpad(x, pub->x, (int)pub->coord_len) < 0 ||
        BN_bn2binpad(y, pub->y, (int)pub->coord_len) < 0)
        goto out;
    rv = CKR_OK;
out:
    BN_clear_free(k);
    BN_free(x);
    BN_free(y);
    EC_POINT_free(q);
    EC_GROUP_free(group);
    return rv;
}

/* Copies a secret component into k->value, left-padded to width (0: as it is). */
static CK_RV take_value(struct keymake *k, const struct attr *v, size_t width)
{
    size_t skip = 0;

    if (v == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    while (width && skip < v->len && v->len - skip > width && v->value[skip] == 0)
        skip++;
    if (v->len - skip > sizeof k->value || (width && v->len - skip > width) || v->len == skip)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    k->value_len = width ? width : v->len - skip;
    memset(k->value, 0, k->value_len);
    memcpy(k->value + k->value_len - (v->len - skip), v->value + skip, v->len - skip);
    return CKR_OK;
}

static CK_RV import_private(struct module *m, const struct attrs *a, CK_KEY_TYPE kt,
                            struct keymake *k)
{
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = object_public_from_attrs(a, &k->pub)) != CKR_OK)
        return rv;
    k->spec.type = k->pub.type;
    k->spec.bits = k->pub.bits;
    k->spec.curve = k->pub.curve;
    k->spec.exponent = k->pub.exponent == 65537 ? 0 : k->pub.exponent;
    if (kt == CKK_RSA) {
        const struct attr *p = attrs_find(a, CKA_PRIME_1);
        return take_value(k, p != NULL ? p : attrs_find(a, CKA_PRIME_2), 0);
    }
    if ((rv = module_tpm(m, &tpm)) != CKR_OK)
        return rv;
    if (!tpm_has_curve(tpm, k->pub.curve))
        return CKR_CURVE_NOT_SUPPORTED;
    if ((rv = take_value(k, attrs_find(a, CKA_VALUE), k->pub.coord_len)) != CKR_OK)
        return rv;
    return ec_public_of(k->pub.curve, k->value, k->value_len, &k->pub);
}

static CK_RV import_secret(const struct attrs *a, CK_KEY_TYPE kt, struct keymake *k)
{
    const struct attr *v = attrs_find(a, CKA_VALUE);
    CK_RV rv;

    if ((rv = take_value(k, v, 0)) != CKR_OK)
        return rv;
    secret_spec(kt, v->len, &k->spec);
    return CKR_OK;
}

/* The secret components leave the attributes; what an imported key is, is said. */
static CK_RV imported_attrs(struct attrs *a, CK_OBJECT_CLASS class, bool had_id,
                            const struct keymake *k)
{
    static const CK_ATTRIBUTE_TYPE secrets[] = {
        CKA_VALUE, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
        CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
    };
    uint8_t sha[20];
    CK_RV rv;

    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        attrs_remove(a, secrets[i]);
    if (!attrs_set_bool(a, CKA_LOCAL, false) ||
        !attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION) ||
        !attrs_set_bool(a, CKA_ALWAYS_SENSITIVE, false) ||
        !attrs_set_bool(a, CKA_NEVER_EXTRACTABLE, false))
        return CKR_HOST_MEMORY;
    if (class == CKO_SECRET_KEY)
        return k->spec.type == TPM_KEY_TDES ||
                       attrs_set_ulong(a, CKA_VALUE_LEN, k->value_len) ? CKR_OK : CKR_HOST_MEMORY;
    if ((rv = set_public_parts(a, &k->pub)) != CKR_OK)
        return rv;
    if (had_id)
        return CKR_OK;
    if (!der_key_id(&k->pub, sha))
        return CKR_FUNCTION_FAILED;
    return attrs_set(a, CKA_ID, sha, sizeof sha) ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV keygen_import(struct module *m, struct session *s, struct attrs *a, CK_OBJECT_HANDLE *out)
{
    struct keymake k;
    struct object *obj = NULL;
    bool had_id = attrs_has(a, CKA_ID);
    CK_ULONG class = 0, kt = 0;
    CK_RV rv;

    memset(&k, 0, sizeof k);
    k.import = true;
    rv = attr_rules_new_object(a, ORIGIN_CREATE, CK_UNAVAILABLE_INFORMATION,
                               CK_UNAVAILABLE_INFORMATION, so_logged_in(m, s));
    if (rv != CKR_OK || (rv = rights(m, s, a, true)) != CKR_OK)
        goto out;
    attrs_get_ulong(a, CKA_CLASS, &class);
    attrs_get_ulong(a, CKA_KEY_TYPE, &kt);
    rv = class == CKO_SECRET_KEY ? import_secret(a, kt, &k) : import_private(m, a, kt, &k);
    if (rv != CKR_OK)
        goto out;
    spec_usage(&k.spec, a, class);
    if ((obj = calloc(1, sizeof *obj)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if ((rv = make_tpm_key(m, s, &k, a, obj)) != CKR_OK ||
        (rv = imported_attrs(a, class, had_id, &k)) != CKR_OK)
        goto out;
    obj->attrs = *a;
    attrs_init(a);    /* transferred */
    rv = object_add(m, s, obj, out);
    obj = NULL;       /* taken by object_add */
out:
    object_free(obj);
    secret_wipe(&k, sizeof k);
    return rv;
}
