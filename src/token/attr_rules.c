/*
 * PKCS#11 v2.40's attribute rules (base spec section 4 and its footnotes 1-12) as tables: one
 * per class, key type and usage group, chained per kind of object, and the three things done
 * with them: checking and completing a new object, applying C_SetAttributeValue/C_CopyObject
 * changes, and answering C_GetAttributeValue.
 */
#include "config.h"

#include <string.h>

#include "token/attr_rules.h"
#include "tpmtok.h"

/* The spec's footnotes, one bit each, plus tpmtok's own rules. */
enum {
    F_REQ_CREATE = 1u << 0,    /* 1: must be given at C_CreateObject */
    F_NOT_CREATE = 1u << 1,    /* 2: must not be given at C_CreateObject */
    F_REQ_GEN = 1u << 2,       /* 3: must be given at generation */
    F_NOT_GEN = 1u << 3,       /* 4: must not be given at generation */
    F_REQ_UNWRAP = 1u << 4,    /* 5: must be given at C_UnwrapKey */
    F_NOT_UNWRAP = 1u << 5,    /* 6: must not be given at C_UnwrapKey */
    F_SENSITIVE = 1u << 6,     /* 7: never revealed by a sensitive or unextractable key */
    F_MODIFIABLE = 1u << 7,    /* 8: may change after creation */
    F_SO_TRUE = 1u << 8,       /* 10: only the SO may set it to true */
    F_STICKY_TRUE = 1u << 9,   /* 11: read-only once true */
    F_STICKY_FALSE = 1u << 10, /* 12: read-only once false */
    F_COPY = 1u << 11,         /* a C_CopyObject template may change it (CKA_TOKEN, ...) */
};

/* Footnotes 2, 4, 6: what the token computes (CKA_LOCAL, ...); 4, 6: key material. */
#define F_COMPUTED (F_NOT_CREATE | F_NOT_GEN | F_NOT_UNWRAP)
#define F_MATERIAL (F_NOT_GEN | F_NOT_UNWRAP)

/* The default a completed object gets when the template leaves the attribute out. */
enum dflt {
    D_NONE,
    D_FALSE,
    D_TRUE,
    D_EMPTY,
    D_ZERO,          /* CK_ULONG 0 */
    D_KEY_CLASS,     /* true for private and secret keys (CKA_PRIVATE): tpmtok's choice */
};

struct rule {
    CK_ATTRIBUTE_TYPE type;
    unsigned flags;
    enum dflt dflt;
    bool (*valid)(const uint8_t *v, size_t len);
};

struct table {
    const struct rule *r;
    size_t n;
};

#define TABLE(t) { t, sizeof t / sizeof t[0] }

/* ---- value checks */

static bool v_any(const uint8_t *v, size_t len)
{
    return true;
}

static bool v_nonempty(const uint8_t *v, size_t len)
{
    return len != 0;
}

/*
 * CKA_WRAP_TEMPLATE and CKA_UNWRAP_TEMPLATE hold CK_ATTRIBUTEs whose pointers mean nothing
 * once stored, so only the empty template is accepted.
 */
static bool v_empty(const uint8_t *v, size_t len)
{
    return len == 0;
}

static bool v_bool(const uint8_t *v, size_t len)
{
    return len == sizeof(CK_BBOOL) && (v[0] == CK_FALSE || v[0] == CK_TRUE);
}

static bool get_ulong(const uint8_t *v, size_t len, CK_ULONG *out)
{
    if (len != sizeof *out)
        return false;
    memcpy(out, v, sizeof *out);
    return true;
}

static bool v_ulong(const uint8_t *v, size_t len)
{
    CK_ULONG u;

    return get_ulong(v, len, &u);
}

/* CK_DATE: empty, or YYYYMMDD as ASCII digits. */
static bool v_date(const uint8_t *v, size_t len)
{
    if (len == 0)
        return true;
    if (len != sizeof(CK_DATE))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
    }
    return true;
}

static bool v_mechanisms(const uint8_t *v, size_t len)
{
    return len % sizeof(CK_MECHANISM_TYPE) == 0;
}

/* CKA_CERTIFICATE_CATEGORY and CKA_JAVA_MIDP_SECURITY_DOMAIN: 0 (unspecified) to 3. */
static bool v_zero_to_three(const uint8_t *v, size_t len)
{
    CK_ULONG u;

    return get_ulong(v, len, &u) && u <= 3;
}

static bool v_aes_key(const uint8_t *v, size_t len)
{
    return len == 16 || len == 24 || len == 32;
}

static bool v_aes_len(const uint8_t *v, size_t len)
{
    CK_ULONG u;

    return get_ulong(v, len, &u) && (u == 16 || u == 24 || u == 32);
}

static bool v_des3_key(const uint8_t *v, size_t len)
{
    return len == 24;
}

/* Generic secrets and HMAC keys: 1 to 128 bytes, what a TPM keyed hash can import. */
static bool v_generic_key(const uint8_t *v, size_t len)
{
    return len >= 1 && len <= 128;
}

static bool v_generic_len(const uint8_t *v, size_t len)
{
    CK_ULONG u;

    return get_ulong(v, len, &u) && u >= 1 && u <= 128;
}

/* ---- the tables */

/* Common and storage attributes, every class. */
static const struct rule storage_rules[] = {
    { CKA_CLASS, F_REQ_CREATE, D_NONE, v_ulong },
    { CKA_TOKEN, F_COPY, D_FALSE, v_bool },
    { CKA_PRIVATE, F_COPY, D_KEY_CLASS, v_bool },
    { CKA_LABEL, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_MODIFIABLE, F_COPY | F_STICKY_FALSE, D_TRUE, v_bool },
    { CKA_COPYABLE, F_MODIFIABLE | F_STICKY_FALSE, D_TRUE, v_bool },
    { CKA_DESTROYABLE, F_MODIFIABLE, D_TRUE, v_bool },
};

static const struct rule data_rules[] = {
    { CKA_APPLICATION, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_VALUE, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_OBJECT_ID, F_MODIFIABLE, D_EMPTY, v_any },
};

static const struct rule cert_rules[] = {
    { CKA_CERTIFICATE_TYPE, F_REQ_CREATE, D_NONE, v_ulong },
    { CKA_TRUSTED, F_MODIFIABLE | F_SO_TRUE, D_FALSE, v_bool },
    { CKA_START_DATE, F_MODIFIABLE, D_EMPTY, v_date },
    { CKA_END_DATE, F_MODIFIABLE, D_EMPTY, v_date },
    { CKA_CERTIFICATE_CATEGORY, 0, D_ZERO, v_zero_to_three },
    { CKA_CHECK_VALUE, 0, D_NONE, v_any },
    { CKA_PUBLIC_KEY_INFO, 0, D_EMPTY, v_any },
};

/* CKA_VALUE is required: certificates given only by CKA_URL are not supported. */
static const struct rule x509_rules[] = {
    { CKA_SUBJECT, F_REQ_CREATE, D_NONE, v_any },
    { CKA_ID, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_ISSUER, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_SERIAL_NUMBER, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_VALUE, F_REQ_CREATE, D_NONE, v_nonempty },
    { CKA_URL, 0, D_EMPTY, v_any },
    { CKA_HASH_OF_SUBJECT_PUBLIC_KEY, 0, D_EMPTY, v_any },
    { CKA_HASH_OF_ISSUER_PUBLIC_KEY, 0, D_EMPTY, v_any },
    { CKA_JAVA_MIDP_SECURITY_DOMAIN, 0, D_ZERO, v_zero_to_three },
    { CKA_NAME_HASH_ALGORITHM, 0, D_NONE, v_ulong },
};

static const struct rule key_rules[] = {
    { CKA_KEY_TYPE, F_REQ_CREATE | F_REQ_UNWRAP, D_NONE, v_ulong },
    { CKA_ID, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_START_DATE, F_MODIFIABLE, D_EMPTY, v_date },
    { CKA_END_DATE, F_MODIFIABLE, D_EMPTY, v_date },
    { CKA_DERIVE, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_LOCAL, F_COMPUTED, D_NONE, v_bool },
    { CKA_KEY_GEN_MECHANISM, F_COMPUTED, D_NONE, v_ulong },
    { CKA_ALLOWED_MECHANISMS, 0, D_NONE, v_mechanisms },
};

/*
 * CKA_ENCRYPT's default depends on the key type: in rsa_public_rules and ec_public_rules.
 * CKA_PUBLIC_KEY_INFO of keys gets no empty default: the token derives it when absent.
 */
static const struct rule public_rules[] = {
    { CKA_SUBJECT, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_VERIFY, F_MODIFIABLE, D_TRUE, v_bool },
    { CKA_VERIFY_RECOVER, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_WRAP, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_TRUSTED, F_MODIFIABLE | F_SO_TRUE, D_FALSE, v_bool },
    { CKA_PUBLIC_KEY_INFO, 0, D_NONE, v_any },
    { CKA_WRAP_TEMPLATE, 0, D_NONE, v_empty },
};

/* CKA_DECRYPT's default depends on the key type: in rsa_private_rules and ec_private_rules. */
static const struct rule private_rules[] = {
    { CKA_SUBJECT, F_MODIFIABLE, D_EMPTY, v_any },
    { CKA_SENSITIVE, F_MODIFIABLE | F_STICKY_TRUE, D_TRUE, v_bool },
    { CKA_SIGN, F_MODIFIABLE, D_TRUE, v_bool },
    { CKA_SIGN_RECOVER, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_UNWRAP, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_EXTRACTABLE, F_MODIFIABLE | F_STICKY_FALSE, D_FALSE, v_bool },
    { CKA_ALWAYS_SENSITIVE, F_COMPUTED, D_NONE, v_bool },
    { CKA_NEVER_EXTRACTABLE, F_COMPUTED, D_NONE, v_bool },
    { CKA_PUBLIC_KEY_INFO, F_MODIFIABLE, D_NONE, v_any },
    { CKA_ALWAYS_AUTHENTICATE, 0, D_FALSE, v_bool },
    { CKA_WRAP_WITH_TRUSTED, F_MODIFIABLE | F_STICKY_TRUE, D_FALSE, v_bool },
    { CKA_UNWRAP_TEMPLATE, 0, D_NONE, v_empty },
};

/*
 * tpmtok's own (include/tpmtok.h): what a TPM key's use is bound to. Given when the key is made
 * and fixed after, as the key's authPolicy is; the policy digest is computed.
 */
static const struct rule policy_rules[] = {
    { CKA_TPMTOK_PCR_SELECTION, 0, D_NONE, v_nonempty },
    { CKA_TPMTOK_PCR_VALUES, 0, D_NONE, v_nonempty },
    { CKA_TPMTOK_POLICY_AUTHORITY, 0, D_NONE, v_nonempty },
    { CKA_TPMTOK_POLICY_DIGEST, F_COMPUTED, D_NONE, v_any },
};

/* Usage flags are in cipher_usage_rules or mac_usage_rules, by key type. */
static const struct rule secret_rules[] = {
    { CKA_SENSITIVE, F_MODIFIABLE | F_STICKY_TRUE, D_TRUE, v_bool },
    { CKA_TRUSTED, F_MODIFIABLE | F_SO_TRUE, D_FALSE, v_bool },
    { CKA_WRAP, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_UNWRAP, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_EXTRACTABLE, F_MODIFIABLE | F_STICKY_FALSE, D_FALSE, v_bool },
    { CKA_ALWAYS_SENSITIVE, F_COMPUTED, D_NONE, v_bool },
    { CKA_NEVER_EXTRACTABLE, F_COMPUTED, D_NONE, v_bool },
    { CKA_CHECK_VALUE, 0, D_NONE, v_any },
    { CKA_WRAP_WITH_TRUSTED, F_MODIFIABLE | F_STICKY_TRUE, D_FALSE, v_bool },
    { CKA_WRAP_TEMPLATE, 0, D_NONE, v_empty },
    { CKA_UNWRAP_TEMPLATE, 0, D_NONE, v_empty },
};

/* The public exponent is optional at generation: 65537 is the generator's default. */
static const struct rule rsa_public_rules[] = {
    { CKA_ENCRYPT, F_MODIFIABLE, D_TRUE, v_bool },
    { CKA_MODULUS, F_REQ_CREATE | F_NOT_GEN, D_NONE, v_nonempty },
    { CKA_MODULUS_BITS, F_NOT_CREATE | F_REQ_GEN, D_NONE, v_ulong },
    { CKA_PUBLIC_EXPONENT, F_REQ_CREATE, D_NONE, v_nonempty },
};

/* The TPM imports an RSA key from its public exponent and a prime (see rsa_private_check). */
static const struct rule rsa_private_rules[] = {
    { CKA_DECRYPT, F_MODIFIABLE, D_TRUE, v_bool },
    { CKA_MODULUS, F_REQ_CREATE | F_MATERIAL, D_NONE, v_nonempty },
    { CKA_PUBLIC_EXPONENT, F_REQ_CREATE | F_MATERIAL, D_NONE, v_nonempty },
    { CKA_PRIVATE_EXPONENT, F_REQ_CREATE | F_MATERIAL | F_SENSITIVE, D_NONE, v_nonempty },
    { CKA_PRIME_1, F_MATERIAL | F_SENSITIVE, D_NONE, v_nonempty },
    { CKA_PRIME_2, F_MATERIAL | F_SENSITIVE, D_NONE, v_nonempty },
    { CKA_EXPONENT_1, F_MATERIAL | F_SENSITIVE, D_NONE, v_nonempty },
    { CKA_EXPONENT_2, F_MATERIAL | F_SENSITIVE, D_NONE, v_nonempty },
    { CKA_COEFFICIENT, F_MATERIAL | F_SENSITIVE, D_NONE, v_nonempty },
};

static const struct rule ec_public_rules[] = {
    { CKA_ENCRYPT, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_EC_PARAMS, F_REQ_CREATE | F_REQ_GEN, D_NONE, v_nonempty },
    { CKA_EC_POINT, F_REQ_CREATE | F_NOT_GEN, D_NONE, v_nonempty },
};

/*
 * CKA_EC_POINT is not the spec's, but many clients look for it on the private key: the
 * token computes it from the TPM's public area.
 */
static const struct rule ec_private_rules[] = {
    { CKA_DECRYPT, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_VALUE, F_REQ_CREATE | F_MATERIAL | F_SENSITIVE, D_NONE, v_nonempty },
    { CKA_EC_PARAMS, F_REQ_CREATE | F_MATERIAL, D_NONE, v_nonempty },
    { CKA_EC_POINT, F_COMPUTED, D_NONE, v_nonempty },
};

static const struct rule cipher_usage_rules[] = {
    { CKA_ENCRYPT, F_MODIFIABLE, D_TRUE, v_bool },
    { CKA_DECRYPT, F_MODIFIABLE, D_TRUE, v_bool },
    { CKA_SIGN, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_VERIFY, F_MODIFIABLE, D_FALSE, v_bool },
};

static const struct rule mac_usage_rules[] = {
    { CKA_ENCRYPT, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_DECRYPT, F_MODIFIABLE, D_FALSE, v_bool },
    { CKA_SIGN, F_MODIFIABLE, D_TRUE, v_bool },
    { CKA_VERIFY, F_MODIFIABLE, D_TRUE, v_bool },
};

static const struct rule aes_rules[] = {
    { CKA_VALUE, F_REQ_CREATE | F_MATERIAL | F_SENSITIVE, D_NONE, v_aes_key },
    { CKA_VALUE_LEN, F_NOT_CREATE | F_REQ_GEN | F_NOT_UNWRAP, D_NONE, v_aes_len },
};

/* DES3 has no CKA_VALUE_LEN: the length is fixed. */
static const struct rule des3_rules[] = {
    { CKA_VALUE, F_REQ_CREATE | F_MATERIAL | F_SENSITIVE, D_NONE, v_des3_key },
};

static const struct rule generic_rules[] = {
    { CKA_VALUE, F_REQ_CREATE | F_MATERIAL | F_SENSITIVE, D_NONE, v_generic_key },
    { CKA_VALUE_LEN, F_NOT_CREATE | F_REQ_GEN, D_NONE, v_generic_len },
};

/* ---- kinds of object: a class, a subtype (key or certificate type) and its tables */

#define NO_SUBTYPE ((CK_ULONG)-1)

static CK_RV rsa_private_check(const struct attrs *a, enum attr_origin origin);

struct kind {
    CK_OBJECT_CLASS class;
    CK_ULONG subtype;
    struct table tables[6];
    /* Rules that span attributes; NULL when there are none. */
    CK_RV (*check)(const struct attrs *a, enum attr_origin origin);
};

#define T_STORAGE TABLE(storage_rules)
#define T_PUBLIC T_STORAGE, TABLE(key_rules), TABLE(public_rules)
#define T_PRIVATE T_STORAGE, TABLE(key_rules), TABLE(private_rules), TABLE(policy_rules)
#define T_SECRET T_STORAGE, TABLE(key_rules), TABLE(secret_rules), TABLE(policy_rules)

static const struct kind kinds[] = {
    { CKO_DATA, NO_SUBTYPE, { T_STORAGE, TABLE(data_rules) }, NULL },
    { CKO_CERTIFICATE, CKC_X_509, { T_STORAGE, TABLE(cert_rules), TABLE(x509_rules) }, NULL },
    { CKO_PUBLIC_KEY, CKK_RSA, { T_PUBLIC, TABLE(rsa_public_rules) }, NULL },
    { CKO_PUBLIC_KEY, CKK_EC, { T_PUBLIC, TABLE(ec_public_rules) }, NULL },
    { CKO_PRIVATE_KEY, CKK_RSA, { T_PRIVATE, TABLE(rsa_private_rules) }, rsa_private_check },
    { CKO_PRIVATE_KEY, CKK_EC, { T_PRIVATE, TABLE(ec_private_rules) }, NULL },
    { CKO_SECRET_KEY, CKK_AES, { T_SECRET, TABLE(aes_rules), TABLE(cipher_usage_rules) }, NULL },
    { CKO_SECRET_KEY, CKK_DES3, { T_SECRET, TABLE(des3_rules), TABLE(cipher_usage_rules) }, NULL },
    { CKO_SECRET_KEY, CKK_GENERIC_SECRET,
      { T_SECRET, TABLE(generic_rules), TABLE(mac_usage_rules) }, NULL },
    { CKO_SECRET_KEY, CKK_SHA_1_HMAC,
      { T_SECRET, TABLE(generic_rules), TABLE(mac_usage_rules) }, NULL },
    { CKO_SECRET_KEY, CKK_SHA256_HMAC,
      { T_SECRET, TABLE(generic_rules), TABLE(mac_usage_rules) }, NULL },
    { CKO_SECRET_KEY, CKK_SHA384_HMAC,
      { T_SECRET, TABLE(generic_rules), TABLE(mac_usage_rules) }, NULL },
    { CKO_SECRET_KEY, CKK_SHA512_HMAC,
      { T_SECRET, TABLE(generic_rules), TABLE(mac_usage_rules) }, NULL },
};

/* The classes tpmtok supports and which attribute names the subtype of each. */
static const struct class_info {
    CK_OBJECT_CLASS class;
    bool has_subtype;
    CK_ATTRIBUTE_TYPE subtype_attr;
} classes[] = {
    { CKO_DATA, false, 0 },
    { CKO_CERTIFICATE, true, CKA_CERTIFICATE_TYPE },
    { CKO_PUBLIC_KEY, true, CKA_KEY_TYPE },
    { CKO_PRIVATE_KEY, true, CKA_KEY_TYPE },
    { CKO_SECRET_KEY, true, CKA_KEY_TYPE },
};

/* The footnotes that apply to each origin. */
static const struct {
    unsigned need;
    unsigned forbid;
} origin_rules[] = {
    [ORIGIN_CREATE] = { F_REQ_CREATE, F_NOT_CREATE },
    [ORIGIN_GENERATE] = { F_REQ_GEN, F_NOT_GEN },
    [ORIGIN_COPY] = { 0, 0 },
    [ORIGIN_UNWRAP] = { F_REQ_UNWRAP, F_NOT_UNWRAP },
};

static CK_RV rsa_private_check(const struct attrs *a, enum attr_origin origin)
{
    if (origin == ORIGIN_CREATE && !attrs_has(a, CKA_PRIME_1) && !attrs_has(a, CKA_PRIME_2))
        return CKR_TEMPLATE_INCOMPLETE;
    return CKR_OK;
}

static const struct rule *kind_rule(const struct kind *k, CK_ATTRIBUTE_TYPE type)
{
    for (size_t t = 0; t < sizeof k->tables / sizeof k->tables[0]; t++) {
        for (size_t i = 0; i < k->tables[t].n; i++) {
            if (k->tables[t].r[i].type == type)
                return &k->tables[t].r[i];
        }
    }
    return NULL;
}

static const struct kind *kind_find(CK_OBJECT_CLASS class, CK_ULONG subtype)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (kinds[i].class == class && kinds[i].subtype == subtype)
            return &kinds[i];
    }
    return NULL;
}

/* Which attribute names the subtype of cls; NULL for a class tpmtok does not support. */
static const struct class_info *class_find(CK_OBJECT_CLASS cls)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        if (classes[i].class == cls)
            return &classes[i];
    }
    return NULL;
}

/*
 * One ulong that may come from the set or from the caller (CK_UNAVAILABLE_INFORMATION: not
 * known). CKR_OK with *v set and *known false when neither has it;
 * CKR_ATTRIBUTE_VALUE_INVALID (not a CK_ULONG); CKR_TEMPLATE_INCONSISTENT (they differ).
 */
static CK_RV resolve_ulong(const struct attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG given,
                           CK_ULONG *v, bool *known)
{
    const struct attr *at = attrs_find(a, type);
    CK_ULONG u;

    *v = given;
    *known = given != CK_UNAVAILABLE_INFORMATION;
    if (at == NULL)
        return CKR_OK;
    if (!get_ulong(at->value, at->len, &u))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (*known && u != given)
        return CKR_TEMPLATE_INCONSISTENT;
    *v = u;
    *known = true;
    return CKR_OK;
}

/*
 * The kind of a new object or a stored one. CKR_OK; CKR_TEMPLATE_INCOMPLETE (no class, or no
 * key or certificate type); CKR_TEMPLATE_INCONSISTENT; CKR_ATTRIBUTE_VALUE_INVALID (not a
 * CK_ULONG, or a class, key type or certificate type tpmtok does not support).
 */
static CK_RV resolve_kind(const struct attrs *a, CK_OBJECT_CLASS class, CK_KEY_TYPE key_type,
                          const struct kind **out)
{
    const struct class_info *ci;
    CK_ULONG cls, sub = NO_SUBTYPE;
    bool known;
    CK_RV rv;

    if ((rv = resolve_ulong(a, CKA_CLASS, class, &cls, &known)) != CKR_OK)
        return rv;
    if (!known)
        return CKR_TEMPLATE_INCOMPLETE;
    if ((ci = class_find(cls)) == NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (ci->has_subtype) {
        /* Only key types come from the caller; a certificate's type is always in the set. */
        CK_ULONG given = ci->subtype_attr == CKA_KEY_TYPE ? key_type : CK_UNAVAILABLE_INFORMATION;

        if ((rv = resolve_ulong(a, ci->subtype_attr, given, &sub, &known)) != CKR_OK)
            return rv;
        if (!known)
            return CKR_TEMPLATE_INCOMPLETE;
    }
    *out = kind_find(cls, sub);
    return *out != NULL ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
}

/* The kind of a stored object; NULL if its set is not one new_object could have made. */
static const struct kind *object_kind(const struct attrs *obj)
{
    const struct kind *k = NULL;

    if (resolve_kind(obj, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION, &k) != CKR_OK)
        return NULL;
    return k;
}

static bool is_true(const struct attr *at)
{
    return at != NULL && at->len == sizeof(CK_BBOOL) && at->value[0] == CK_TRUE;
}

static bool is_false(const struct attr *at)
{
    return at != NULL && at->len == sizeof(CK_BBOOL) && at->value[0] == CK_FALSE;
}

/*
 * The value rules every new or changed attribute obeys. CKR_OK; CKR_ATTRIBUTE_VALUE_INVALID;
 * CKR_ATTRIBUTE_READ_ONLY (CKA_TRUSTED true without the SO).
 */
static CK_RV check_value(const struct rule *r, const struct attr *at, bool so_login)
{
    if (!r->valid(at->value, at->len))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if ((r->flags & F_SO_TRUE) && is_true(at) && !so_login)
        return CKR_ATTRIBUTE_READ_ONLY;
    return CKR_OK;
}

/* Every given attribute: valid for the kind, allowed for origin, a good value. */
static CK_RV check_given(const struct kind *k, const struct attrs *a, enum attr_origin origin,
                         bool so_login)
{
    CK_RV rv;

    for (size_t i = 0; i < a->n; i++) {
        const struct rule *r = kind_rule(k, a->a[i].type);

        if (r == NULL)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if (r->flags & origin_rules[origin].forbid)
            return CKR_TEMPLATE_INCONSISTENT;
        if ((rv = check_value(r, &a->a[i], so_login)) != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

/* Every attribute origin requires is there. */
static CK_RV check_required(const struct kind *k, const struct attrs *a, enum attr_origin origin)
{
    for (size_t t = 0; t < sizeof k->tables / sizeof k->tables[0]; t++) {
        for (size_t i = 0; i < k->tables[t].n; i++) {
            const struct rule *r = &k->tables[t].r[i];

            if ((r->flags & origin_rules[origin].need) && !attrs_has(a, r->type))
                return CKR_TEMPLATE_INCOMPLETE;
        }
    }
    return k->check != NULL ? k->check(a, origin) : CKR_OK;
}

static bool add_default(struct attrs *a, const struct kind *k, const struct rule *r)
{
    switch (r->dflt) {
    case D_NONE:
        return true;
    case D_FALSE:
        return attrs_set_bool(a, r->type, false);
    case D_TRUE:
        return attrs_set_bool(a, r->type, true);
    case D_EMPTY:
        return attrs_set(a, r->type, NULL, 0);
    case D_ZERO:
        return attrs_set_ulong(a, r->type, 0);
    case D_KEY_CLASS:
        return attrs_set_bool(a, r->type,
                              k->class == CKO_PRIVATE_KEY || k->class == CKO_SECRET_KEY);
    }
    return false;
}

/*
 * tpmtok's policy: a key's value lives only in the TPM, so a private or secret key may not be
 * both not sensitive and extractable (that would promise a readable value). Either alone is
 * fine: footnote 7 keeps the value unreadable while the other holds.
 */
static CK_RV check_policy(const struct kind *k, const struct attrs *a)
{
    if (k->class != CKO_PRIVATE_KEY && k->class != CKO_SECRET_KEY)
        return CKR_OK;
    if (!attrs_get_bool(a, CKA_SENSITIVE, true) && attrs_get_bool(a, CKA_EXTRACTABLE, false))
        return CKR_TEMPLATE_INCONSISTENT;
    return CKR_OK;
}

/* The class, the subtype and every default the set lacks. false when out of memory. */
static bool complete(struct attrs *a, const struct kind *k)
{
    const struct class_info *ci = class_find(k->class);

    if (!attrs_has(a, CKA_CLASS) && !attrs_set_ulong(a, CKA_CLASS, k->class))
        return false;
    if (ci->has_subtype && !attrs_has(a, ci->subtype_attr) &&
        !attrs_set_ulong(a, ci->subtype_attr, k->subtype))
        return false;
    for (size_t t = 0; t < sizeof k->tables / sizeof k->tables[0]; t++) {
        for (size_t i = 0; i < k->tables[t].n; i++) {
            const struct rule *r = &k->tables[t].r[i];

            if (!attrs_has(a, r->type) && !add_default(a, k, r))
                return false;
        }
    }
    return true;
}

CK_RV attr_rules_new_object(struct attrs *a, enum attr_origin origin, CK_OBJECT_CLASS class,
                            CK_KEY_TYPE key_type, bool so_login)
{
    const struct kind *k = NULL;
    struct attrs done;
    CK_RV rv;

    attrs_init(&done);
    /* Copies are made by attr_rules_change on a copy of the object. */
    if (origin == ORIGIN_COPY || (unsigned)origin >= sizeof origin_rules / sizeof origin_rules[0]) {
        rv = CKR_FUNCTION_FAILED;
        goto out;
    }
    if ((rv = resolve_kind(a, class, key_type, &k)) != CKR_OK)
        goto out;
    /* Class and key type given by the caller count as given for the footnotes. */
    if (!attrs_copy(&done, a) || !complete(&done, k)) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if ((rv = check_given(k, a, origin, so_login)) != CKR_OK)
        goto out;
    if ((rv = check_required(k, &done, origin)) != CKR_OK || (rv = check_policy(k, &done)) != CKR_OK)
        goto out;
    attrs_free(a);
    *a = done;
    attrs_init(&done); /* transferred */
out:
    attrs_free(&done);
    return rv;
}

/*
 * Whether one change may be made to obj. CKR_OK; CKR_ATTRIBUTE_TYPE_INVALID;
 * CKR_ATTRIBUTE_READ_ONLY; CKR_ATTRIBUTE_VALUE_INVALID.
 */
static CK_RV check_change(const struct kind *k, const struct attrs *obj, const struct attr *ch,
                          bool copy, bool so_login)
{
    const struct rule *r = kind_rule(k, ch->type);
    const struct attr *cur = attrs_find(obj, ch->type);

    if (r == NULL)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    /*
     * Setting what is already there changes nothing, so even read-only attributes allow it;
     * not sensitive ones, where the answer would tell whether a guess of the value is right.
     */
    if (!(r->flags & F_SENSITIVE) && cur != NULL && cur->len == ch->len &&
        (ch->len == 0 || memcmp(cur->value, ch->value, ch->len) == 0))
        return CKR_OK;
    if (!(r->flags & F_MODIFIABLE) && !(copy && (r->flags & F_COPY)))
        return CKR_ATTRIBUTE_READ_ONLY;
    if (!r->valid(ch->value, ch->len))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    /* Any value differing from a sticky one turns it back, which the footnotes forbid. */
    if ((r->flags & F_STICKY_TRUE) && is_true(cur))
        return CKR_ATTRIBUTE_READ_ONLY;
    if ((r->flags & F_STICKY_FALSE) && is_false(cur))
        return CKR_ATTRIBUTE_READ_ONLY;
    return check_value(r, ch, so_login);
}

CK_RV attr_rules_change(struct attrs *obj, const struct attrs *changes, bool copy, bool so_login)
{
    const struct kind *k = object_kind(obj);
    struct attrs next;
    CK_RV rv;

    attrs_init(&next);
    if (k == NULL) {
        rv = CKR_FUNCTION_FAILED;
        goto out;
    }
    if (!attrs_get_bool(obj, copy ? CKA_COPYABLE : CKA_MODIFIABLE, true)) {
        rv = CKR_ACTION_PROHIBITED;
        goto out;
    }
    for (size_t i = 0; i < changes->n; i++) {
        if ((rv = check_change(k, obj, &changes->a[i], copy, so_login)) != CKR_OK)
            goto out;
    }
    /* Applied to a copy, so running out of memory half way leaves obj as it was too. */
    rv = CKR_HOST_MEMORY;
    if (!attrs_copy(&next, obj))
        goto out;
    for (size_t i = 0; i < changes->n; i++) {
        const struct attr *ch = &changes->a[i];

        if (!attrs_set(&next, ch->type, ch->value, ch->len))
            goto out;
    }
    attrs_free(obj);
    *obj = next;
    attrs_init(&next); /* transferred */
    rv = CKR_OK;
out:
    attrs_free(&next);
    return rv;
}

/* A key whose sensitive components must not leave the token (footnote 7). */
static bool withholds(const struct attrs *obj)
{
    return attrs_get_bool(obj, CKA_SENSITIVE, true) || !attrs_get_bool(obj, CKA_EXTRACTABLE, false);
}

/* One C_GetAttributeValue entry; sets ulValueLen on every path. */
static CK_RV get_one(const struct kind *k, const struct attrs *obj, CK_ATTRIBUTE *t)
{
    const struct rule *r = k != NULL ? kind_rule(k, t->type) : NULL;
    const struct attr *at = attrs_find(obj, t->type);
    CK_ULONG room = t->ulValueLen;

    t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
    if (k == NULL)
        return CKR_FUNCTION_FAILED;
    if (r == NULL)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    /* Absent sensitive components are the ones the TPM holds: sensitive too, not empty. */
    if ((r->flags & F_SENSITIVE) && (at == NULL || withholds(obj)))
        return CKR_ATTRIBUTE_SENSITIVE;
    if (at == NULL) {
        t->ulValueLen = 0;
        return CKR_OK;
    }
    if (t->pValue != NULL && room < at->len)
        return CKR_BUFFER_TOO_SMALL;
    if (t->pValue != NULL && at->len != 0)
        memcpy(t->pValue, at->value, at->len);
    t->ulValueLen = at->len;
    return CKR_OK;
}

CK_RV attr_rules_get(const struct attrs *obj, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    const struct kind *k = object_kind(obj);
    CK_RV rv = CKR_OK;

    /* Every entry is answered even after a failure; the first failure is the result. */
    for (CK_ULONG i = 0; i < n; i++) {
        CK_RV one = get_one(k, obj, &tmpl[i]);

        if (rv == CKR_OK)
            rv = one;
    }
    return rv;
}

CK_ULONG attr_rules_object_size(const struct attrs *obj)
{
    return (CK_ULONG)attrs_encoded_len(obj);
}

bool attr_rules_is_sensitive(const struct attrs *obj, CK_ATTRIBUTE_TYPE type)
{
    const struct kind *k = object_kind(obj);
    const struct rule *r = k != NULL ? kind_rule(k, type) : NULL;

    return r != NULL && (r->flags & F_SENSITIVE);
}
