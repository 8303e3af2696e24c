/* The object functions: C_CreateObject, C_CopyObject, C_DestroyObject, sizes and attributes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store/store.h"
#include "token/attr_rules.h"
#include "token/der.h"
#include "token/keycache.h"
#include "token/keygen.h"
#include "token/object.h"
#include "tpm/alg.h"
#include "util/log.h"
#include "util/secret.h"

static bool so_logged_in(struct module *m, struct session *s)
{
    bool so;

    mutex_lock(m->lock);
    so = s->tok->login == LOGIN_SO;
    mutex_unlock(m->lock);
    return so;
}

/* Sets type from a DER buffer unless the template gave it. */
static bool set_if_absent(struct attrs *a, CK_ATTRIBUTE_TYPE type, const uint8_t *v, size_t len)
{
    return attrs_has(a, type) || attrs_set(a, type, v, len);
}

/* An X.509 certificate: subject, issuer, serial number and key info come from its value. */
static CK_RV certificate_complete(struct attrs *a)
{
    const struct attr *value = attrs_find(a, CKA_VALUE);
    struct der_cert c;
    CK_ULONG type;
    bool ok;

    if (!attrs_get_ulong(a, CKA_CERTIFICATE_TYPE, &type) || type != CKC_X_509 || value == NULL)
        return CKR_OK;   /* the rules say what is wrong */
    if (!der_cert_parse(value->value, value->len, &c))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    ok = set_if_absent(a, CKA_SUBJECT, c.subject, c.subject_len) &&
         set_if_absent(a, CKA_ISSUER, c.issuer, c.issuer_len) &&
         set_if_absent(a, CKA_SERIAL_NUMBER, c.serial, c.serial_len) &&
         set_if_absent(a, CKA_PUBLIC_KEY_INFO, c.spki, c.spki_len);
    der_cert_free(&c);
    return ok ? CKR_OK : CKR_HOST_MEMORY;
}

/* Reads a public key's material into pub. CKR_ATTRIBUTE_VALUE_INVALID, CKR_CURVE_NOT_SUPPORTED. */
CK_RV object_public_from_attrs(const struct attrs *a, struct tpm_key_public *pub)
{
    const struct attr *n = attrs_find(a, CKA_MODULUS), *e = attrs_find(a, CKA_PUBLIC_EXPONENT);
    const struct attr *params = attrs_find(a, CKA_EC_PARAMS), *point = attrs_find(a, CKA_EC_POINT);
    CK_ULONG type = CK_UNAVAILABLE_INFORMATION;
    size_t skip = 0;

    memset(pub, 0, sizeof *pub);
    attrs_get_ulong(a, CKA_KEY_TYPE, &type);
    if (type == CKK_RSA) {
        while (n != NULL && skip < n->len && n->value[skip] == 0)
            skip++;
        if (n == NULL || n->len - skip == 0 || n->len - skip > sizeof pub->modulus || e == NULL ||
            e->len == 0 || e->len > 4)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        pub->type = TPM_KEY_RSA;
        pub->modulus_len = n->len - skip;
        memcpy(pub->modulus, n->value + skip, pub->modulus_len);
        pub->bits = (unsigned)pub->modulus_len * 8;
        for (size_t i = 0; i < e->len; i++)
            pub->exponent = pub->exponent << 8 | e->value[i];
        return pub->exponent > 1 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (type != CKK_EC || params == NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    pub->type = TPM_KEY_EC;
    if ((pub->curve = der_ec_params_curve(params->value, params->len)) == 0)
        return CKR_CURVE_NOT_SUPPORTED;
    pub->coord_len = tpm_curve_bytes(pub->curve);
    pub->bits = (unsigned)pub->coord_len * 8;
    if (point != NULL &&
        !der_ec_point_decode(point->value, point->len, pub->coord_len, pub->x, pub->y))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_OK;
}

/* A public key: its material must parse, and the token computes what the spec says it does. */
static CK_RV public_key_complete(struct attrs *a)
{
    struct tpm_key_public pub;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    EVP_PKEY *pkey;
    CK_RV rv;

    if ((rv = object_public_from_attrs(a, &pub)) != CKR_OK)
        return rv;
    /* OpenSSL refuses a point off the curve or a malformed modulus. */
    if ((pkey = der_pkey_from_public(&pub)) == NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    EVP_PKEY_free(pkey);
    if (pub.type == TPM_KEY_RSA && !attrs_set_ulong(a, CKA_MODULUS_BITS, pub.bits))
        return CKR_HOST_MEMORY;
    if (!attrs_has(a, CKA_PUBLIC_KEY_INFO)) {
        if (!der_spki(&pub, &spki, &spki_len))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        rv = attrs_set(a, CKA_PUBLIC_KEY_INFO, spki, spki_len) ? CKR_OK : CKR_HOST_MEMORY;
        OPENSSL_free(spki);
    }
    return rv;
}

static CK_RV create_plain(struct module *m, struct session *s, struct attrs *a,
                          CK_OBJECT_HANDLE *out)
{
    struct object *o;
    CK_ULONG class = CK_UNAVAILABLE_INFORMATION;
    CK_RV rv;

    attrs_get_ulong(a, CKA_CLASS, &class);
    if (class == CKO_CERTIFICATE && (rv = certificate_complete(a)) != CKR_OK)
        return rv;
    rv = attr_rules_new_object(a, ORIGIN_CREATE, CK_UNAVAILABLE_INFORMATION,
                               CK_UNAVAILABLE_INFORMATION, so_logged_in(m, s));
    if (rv != CKR_OK)
        return rv;
    if (class == CKO_PUBLIC_KEY) {
        if ((rv = public_key_complete(a)) != CKR_OK)
            return rv;
        if (!attrs_set_bool(a, CKA_LOCAL, false) ||
            !attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION))
            return CKR_HOST_MEMORY;
    }
    if ((o = calloc(1, sizeof *o)) == NULL)
        return CKR_HOST_MEMORY;
    o->attrs = *a;
    attrs_init(a);   /* transferred */
    return object_add(m, s, o, out);
}

CK_RV object_create(struct module *m, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                    CK_OBJECT_HANDLE *out)
{
    struct session *s = NULL;
    struct attrs a;
    CK_ULONG class = CK_UNAVAILABLE_INFORMATION;
    CK_RV rv;

    attrs_init(&a);
    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if ((rv = attrs_from_template(tmpl, n, &a)) != CKR_OK)
        goto out;
    attrs_get_ulong(&a, CKA_CLASS, &class);
    if (class == CKO_PRIVATE_KEY || class == CKO_SECRET_KEY)
        rv = keygen_import(m, s, &a, out);
    else
        rv = create_plain(m, s, &a, out);
out:
    attrs_free(&a);
    session_release(m, s);
    return rv;
}

/* The session and the object one of the object functions works on. */
static CK_RV acquire_object(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh,
                            struct session **s, struct object **o)
{
    CK_RV rv;

    *o = NULL;
    if ((rv = session_acquire(m, h, s)) != CKR_OK)
        return rv;
    if ((rv = object_get(m, *s, oh, o)) != CKR_OK) {
        session_release(m, *s);
        *s = NULL;
    }
    return rv;
}

CK_RV object_destroy(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
    struct session *s;
    struct object *o;
    bool found = true;
    CK_RV rv;

    if ((rv = acquire_object(m, h, oh, &s, &o)) != CKR_OK)
        return rv;
    if (!attrs_get_bool(&o->attrs, CKA_DESTROYABLE, true))
        rv = CKR_ACTION_PROHIBITED;
    else if (object_is_token(o) && !(s->flags & CKF_RW_SESSION))
        rv = CKR_SESSION_READ_ONLY;
    else if (object_is_token(o))
        rv = store_object_delete(m->store, s->tok->id, o->store_id, &found);
    if (rv == CKR_OK) {
        mutex_lock(m->lock);
        keycache_drop_locked(m, s->tok, keycache_id(o));
        object_forget_locked(m, oh);
        mutex_unlock(m->lock);
        if (!found)
            rv = CKR_OBJECT_HANDLE_INVALID;   /* another process destroyed it first */
    }
    object_free(o);
    session_release(m, s);
    return rv;
}

CK_RV object_size(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ULONG *size)
{
    struct session *s;
    struct object *o;
    CK_RV rv;

    if ((rv = acquire_object(m, h, oh, &s, &o)) != CKR_OK)
        return rv;
    *size = attr_rules_object_size(&o->attrs);
    object_free(o);
    session_release(m, s);
    return CKR_OK;
}

CK_RV object_get_attributes(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh,
                            CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct session *s;
    struct object *o;
    CK_RV rv;

    if ((rv = acquire_object(m, h, oh, &s, &o)) != CKR_OK)
        return rv;
    rv = attr_rules_get(&o->attrs, tmpl, n);
    object_free(o);
    session_release(m, s);
    return rv;
}

/* Writes o's changed attributes back where the object lives. */
static CK_RV object_write_back(struct module *m, struct session *s, struct object *o)
{
    CK_RV rv;

    if (object_is_token(o))
        return object_update_row(m, s, o);
    mutex_lock(m->lock);
    rv = object_replace_session_attrs_locked(m, o->handle, &o->attrs);
    mutex_unlock(m->lock);
    return rv;
}

CK_RV object_set_attributes(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh,
                            CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct session *s;
    struct object *o;
    struct attrs changes;
    CK_RV rv;

    attrs_init(&changes);
    if ((rv = acquire_object(m, h, oh, &s, &o)) != CKR_OK)
        return rv;
    if (object_is_token(o) && !(s->flags & CKF_RW_SESSION))
        rv = CKR_SESSION_READ_ONLY;
    else if ((rv = attrs_from_template(tmpl, n, &changes)) == CKR_OK &&
             (rv = attr_rules_change(&o->attrs, &changes, false, so_logged_in(m, s))) == CKR_OK)
        rv = object_write_back(m, s, o);
    attrs_free(&changes);
    object_free(o);
    session_release(m, s);
    return rv;
}

/* The copy shares the original's TPM key; its auth value travels with it. */
static CK_RV copy_of(struct module *m, struct session *s, struct object *src,
                     const struct attrs *changes, struct object **out)
{
    struct object *c = object_dup(src);
    CK_RV rv;

    if (c == NULL)
        return CKR_HOST_MEMORY;
    c->store_id = 0;
    c->owner = NULL;
    c->handle = CK_INVALID_HANDLE;
    free(c->auth_wrap);
    c->auth_wrap = NULL;
    c->auth_wrap_len = 0;
    if ((rv = object_key_auth(m, s, src)) != CKR_OK)
        goto out;
    memcpy(c->auth, src->auth, src->auth_len);
    c->auth_len = src->auth_len;
    rv = attr_rules_change(&c->attrs, changes, true, so_logged_in(m, s));
out:
    if (rv != CKR_OK)
        object_free(c);
    else
        *out = c;
    return rv;
}

CK_RV object_copy(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh,
                  CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    struct session *s;
    struct object *o, *c = NULL;
    struct attrs changes;
    CK_RV rv;

    attrs_init(&changes);
    if ((rv = acquire_object(m, h, oh, &s, &o)) != CKR_OK)
        return rv;
    if ((rv = attrs_from_template(tmpl, n, &changes)) == CKR_OK &&
        (rv = copy_of(m, s, o, &changes, &c)) == CKR_OK)
        rv = object_add(m, s, c, out);   /* takes c */
    attrs_free(&changes);
    object_free(o);
    session_release(m, s);
    return rv;
}
