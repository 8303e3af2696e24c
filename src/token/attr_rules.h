/*
 * token/attr_rules: PKCS#11 v2.40's attribute rules for every object class and key type
 * tpmtok supports, as one table per class and key type: which attributes are valid, which
 * must or must not be given when creating, generating or unwrapping, defaults, which are
 * sensitive, which may change afterwards and how (footnotes 1-12 of the spec's tables).
 *
 * Classes: CKO_DATA, CKO_CERTIFICATE (CKC_X_509), CKO_PUBLIC_KEY, CKO_PRIVATE_KEY,
 * CKO_SECRET_KEY. Key types: CKK_RSA, CKK_EC, CKK_AES, CKK_DES3, CKK_GENERIC_SECRET,
 * CKK_SHA_1_HMAC, CKK_SHA256_HMAC, CKK_SHA384_HMAC, CKK_SHA512_HMAC.
 *
 * tpmtok's own policy, on top of the spec: the values of private and secret keys live only in
 * the TPM, so a key may not be both not sensitive and extractable (CKR_TEMPLATE_INCONSISTENT):
 * with either of CKA_SENSITIVE true or CKA_EXTRACTABLE false its value is unreadable anyway.
 */
#ifndef TPMTOK_ATTR_RULES_H
#define TPMTOK_ATTR_RULES_H

#include <stdbool.h>

#include "p11.h"
#include "token/attr.h"

/* How an object comes to be. */
enum attr_origin {
    ORIGIN_CREATE,     /* C_CreateObject (import) */
    ORIGIN_GENERATE,   /* C_GenerateKey / C_GenerateKeyPair */
    ORIGIN_COPY,       /* C_CopyObject: the template modifies a copy (attr_rules_change) */
    ORIGIN_UNWRAP,     /* C_UnwrapKey: footnotes 5 and 6 */
};

/*
 * Checks a template for a new object and completes it: class and key type from the
 * template (or `class`/`key_type` when the caller knows them: generation; pass
 * CK_UNAVAILABLE_INFORMATION otherwise), every attribute valid for them, the must/must-not
 * rules for origin, values of the right size and range, tpmtok's policy, then the spec's
 * defaults added for what is absent (CKA_TOKEN false, CKA_PRIVATE true for private and
 * secret keys and false otherwise, CKA_MODIFIABLE/COPYABLE/DESTROYABLE true, CKA_LABEL and
 * CKA_ID empty, usage flags by key type, CKA_SENSITIVE true, CKA_EXTRACTABLE false, ...).
 * Attributes the token computes (CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE,
 * CKA_NEVER_EXTRACTABLE, CKA_MODULUS_BITS...) are NOT added here; the caller adds them.
 * so_login: the SO is logged in (only the SO may set CKA_TRUSTED to true).
 *
 * CKR_OK; CKR_TEMPLATE_INCOMPLETE (a required attribute missing, including CKA_CLASS);
 * CKR_TEMPLATE_INCONSISTENT (a must-not attribute given, or values that contradict);
 * CKR_ATTRIBUTE_TYPE_INVALID (not valid for the class/key type);
 * CKR_ATTRIBUTE_VALUE_INVALID (wrong size or value, an unsupported class, key type or
 * certificate type); CKR_ATTRIBUTE_READ_ONLY (CKA_TRUSTED true without SO);
 * CKR_HOST_MEMORY; CKR_FUNCTION_FAILED (origin ORIGIN_COPY: copies go through
 * attr_rules_change on a copy of the object). On success a holds the completed set, CKA_CLASS
 * and CKA_KEY_TYPE included; on failure it is unchanged.
 *
 * CKA_WRAP_TEMPLATE/CKA_UNWRAP_TEMPLATE are accepted only empty: an array of CK_ATTRIBUTE
 * holds pointers that mean nothing once stored. CKA_EC_POINT is valid on EC private keys as
 * a read-only attribute the token computes (not given in templates).
 */
CK_RV attr_rules_new_object(struct attrs *a, enum attr_origin origin, CK_OBJECT_CLASS class,
                            CK_KEY_TYPE key_type, bool so_login);

/*
 * Applies the changes a C_SetAttributeValue (copy == false) or C_CopyObject (copy == true)
 * template asks for to obj, after checking every one: the object must have CKA_MODIFIABLE
 * (C_SetAttributeValue only) else CKR_ACTION_PROHIBITED; C_CopyObject needs CKA_COPYABLE
 * else CKR_ACTION_PROHIBITED; only modifiable attributes (footnote 8) may change, else
 * CKR_ATTRIBUTE_READ_ONLY; sticky booleans (CKA_SENSITIVE false->true only, CKA_EXTRACTABLE
 * true->false only, CKA_COPYABLE true->false only, CKA_WRAP_WITH_TRUSTED false->true only)
 * else CKR_ATTRIBUTE_READ_ONLY; CKA_TRUSTED true only for the SO; types not valid for the
 * object CKR_ATTRIBUTE_TYPE_INVALID; bad values CKR_ATTRIBUTE_VALUE_INVALID. A change to
 * the same value is allowed (not for sensitive components: that would confirm a guessed
 * value). Copy may also set CKA_TOKEN and CKA_PRIVATE (the spec lets a copy change them),
 * and CKA_MODIFIABLE true->false; set may not. Nothing changes unless everything is valid.
 * CKR_FUNCTION_FAILED if obj's class and key type are not one attr_rules_new_object accepts.
 */
CK_RV attr_rules_change(struct attrs *obj, const struct attrs *changes, bool copy, bool so_login);

/*
 * C_GetAttributeValue for one object: processes every entry of tmpl even when one fails.
 * pValue NULL: ulValueLen = the length. Too small: ulValueLen = CK_UNAVAILABLE_INFORMATION,
 * CKR_BUFFER_TOO_SMALL. Sensitive (footnote 7) attribute of a sensitive or unextractable
 * key, or one the token never keeps (a TPM key's private value): CK_UNAVAILABLE_INFORMATION,
 * CKR_ATTRIBUTE_SENSITIVE. Not valid for the object: CK_UNAVAILABLE_INFORMATION,
 * CKR_ATTRIBUTE_TYPE_INVALID. When several fail, the spec lets any one of those codes be
 * returned; this returns the first failure's code. Attributes valid for the object but not
 * set (e.g. CKA_START_DATE) are returned with length 0. CKR_FUNCTION_FAILED (every entry
 * CK_UNAVAILABLE_INFORMATION) if obj's class and key type are not one tpmtok supports.
 */
CK_RV attr_rules_get(const struct attrs *obj, CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* The size C_GetObjectSize reports: the length of the object's store encoding. */
CK_ULONG attr_rules_object_size(const struct attrs *obj);

/* True if type is a sensitive component (footnote 7) of obj's class and key type. */
bool attr_rules_is_sensitive(const struct attrs *obj, CK_ATTRIBUTE_TYPE type);

#endif
