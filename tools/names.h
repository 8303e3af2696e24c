/* Names and words for PKCS#11 numbers: return values, mechanisms, classes, key types. */
#ifndef TPMTOK_NAMES_H
#define TPMTOK_NAMES_H

#include <stdbool.h>

#include "p11.h"

/* "CKR_PIN_INCORRECT", or NULL for a value no header names. */
const char *rv_name(CK_RV rv);
/* What the value means to a user ("wrong PIN"), or NULL. */
const char *rv_words(CK_RV rv);

/* "CKM_SHA256", or NULL for a mechanism this table does not know. */
const char *mech_name(CK_MECHANISM_TYPE type);
/* "bits" or "bytes": the unit CK_MECHANISM_INFO's key sizes count in, or NULL for none. */
const char *mech_size_unit(CK_MECHANISM_TYPE type);

/* "private key", "certificate"...; "object of class 0x..." is the caller's to print. */
const char *class_words(CK_OBJECT_CLASS class);
/* The type= value of a PKCS#11 URI (RFC 7512) for the class, or NULL. */
const char *class_uri_type(CK_OBJECT_CLASS class);
/* The class of a URI type= value or a --type word; false if unknown. */
bool class_from_word(const char *word, CK_OBJECT_CLASS *out);

/* "RSA", "EC", "AES", "generic secret"..., or NULL. */
const char *key_type_words(CK_KEY_TYPE kt);

#endif
