/*
 * token/object: PKCS#11 objects and their handles. Session objects live in memory with the
 * session that made them; token objects live in the store and are read from it when used,
 * so other processes' changes are seen. Handles are this process's own small numbers: one
 * per object, kept while it is visible, and a private object's handle dies at logout (the
 * spec: such handles stay invalid even after a new login).
 */
#ifndef TPMTOK_OBJECT_H
#define TPMTOK_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "p11.h"
#include "token/attr.h"
#include "token/module.h"
#include "token/session.h"
#include "tpm/tpm.h"

#define KEY_AUTH_LEN 32

struct object {
    CK_OBJECT_HANDLE handle;
    struct token *tok;
    struct session *owner;        /* session objects: the session that made them */
    uint64_t store_id;            /* token objects: the store row */
    struct attrs attrs;
    struct tpm_blob blob;         /* TPM keys: wrapped by the token's primary */
    uint8_t *auth_wrap;           /* token keys: the auth value sealed with the token secret */
    size_t auth_wrap_len;
    uint8_t auth[KEY_AUTH_LEN];   /* session keys (and token keys once unwrapped): secret */
    size_t auth_len;
};

struct object_table;

CK_RV object_table_new(struct object_table **out);
/* Frees every session object and handle. NULL is fine. */
void object_table_free(struct object_table *t);

/* Frees an object and wipes its secrets. NULL is fine. */
void object_free(struct object *o);
/* A deep copy, or NULL when out of memory. */
struct object *object_dup(const struct object *o);
/* The object's CKA_CLASS / CKA_KEY_TYPE / CKA_TOKEN / CKA_PRIVATE. */
CK_OBJECT_CLASS object_class(const struct object *o);
CK_KEY_TYPE object_key_type(const struct object *o);
bool object_is_token(const struct object *o);
bool object_is_private(const struct object *o);
/* A public, private or secret key (not data, not a certificate). */
bool object_is_key(const struct object *o);
/*
 * Which key o is, as 32 bytes for saved operation states: the SHA-256 of its TPM public area
 * (a copy of a key is the same key), or of its public values for a key the TPM does not hold.
 * false when o is no key.
 */
bool object_key_identity(const struct object *o, uint8_t id[32]);

/*
 * The object behind handle h, as session s may see it: a copy the caller owns.
 * CKR_OK; CKR_OBJECT_HANDLE_INVALID (no such object, another token's, private and the user
 * is not logged in, or gone from the store); CKR_DEVICE_ERROR; CKR_HOST_MEMORY.
 */
CK_RV object_get(struct module *m, struct session *s, CK_OBJECT_HANDLE h, struct object **out);

/*
 * Makes obj (complete attributes, and blob/auth for keys) an object of s's token: in the store
 * for CKA_TOKEN true, else a session object owned by s. Takes obj over in every case.
 * Checks the session's rights first: CKR_SESSION_READ_ONLY (token object, R/O session),
 * CKR_USER_NOT_LOGGED_IN (private object, or a token key, without the user logged in).
 * Then CKR_OK with *out the new handle, or a store error.
 */
CK_RV object_add(struct module *m, struct session *s, struct object *obj, CK_OBJECT_HANDLE *out);
/*
 * Adds up to OBJECT_ADD_MAX objects as one change: the token objects among them in one store
 * transaction, so a crash leaves all or none (a key pair's halves). Takes every objs[i] over
 * (and sets it NULL). Returns as object_add; on failure none of them was added.
 */
#define OBJECT_ADD_MAX 2
CK_RV object_add_many(struct module *m, struct session *s, struct object **objs, size_t n,
                      CK_OBJECT_HANDLE *out);

/* The handle for a token object found in the store (assigned on first sight). Holds m->lock. */
CK_RV object_handle_for_row_locked(struct module *m, struct token *tok, uint64_t store_id,
                                   bool private, CK_OBJECT_HANDLE *out);
/* Every session object of tok that s may see, for searches. Holds m->lock. Copies. */
CK_RV object_session_objects_locked(struct module *m, struct session *s, struct object ***out,
                                    size_t *n);
/* Reads a token object's row into an object (attributes decrypted with secret if private). */
CK_RV object_from_row(struct token *tok, const struct store_object *row, const uint8_t *secret,
                      struct object **out);

/*
 * Fills o->auth for a token key from its sealed copy (needs the user logged in).
 * CKR_OK (also for objects without one), CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_ERROR.
 */
CK_RV object_key_auth(struct module *m, struct session *s, struct object *o);

/* The token secret if the user is logged in to s's token (copied under the lock). */
bool object_user_secret(struct module *m, struct session *s, uint8_t secret[32]);

/* Drops handle h (its session object, if any, is freed). Holds m->lock. */
void object_forget_locked(struct module *m, CK_OBJECT_HANDLE h);
/* Replaces session object h's attributes with *attrs (taken). Holds m->lock. */
CK_RV object_replace_session_attrs_locked(struct module *m, CK_OBJECT_HANDLE h,
                                          struct attrs *attrs);
/* Rewrites token object o's row from its attributes. */
CK_RV object_update_row(struct module *m, struct session *s, const struct object *o);

/* Session s is closing: its session objects go. Holds m->lock. */
void object_session_closed_locked(struct module *m, struct session *s);
/* The user logged out of tok: private session objects go, private handles die. m->lock held. */
void object_logout_locked(struct module *m, struct token *tok);

/* A public key's material from its attributes (CKR_ATTRIBUTE_VALUE_INVALID, CKR_CURVE_NOT_SUPPORTED). */
CK_RV object_public_from_attrs(const struct attrs *a, struct tpm_key_public *pub);

/* The object functions, with the spec's return values. */
CK_RV object_create(struct module *m, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                    CK_OBJECT_HANDLE *out);
CK_RV object_copy(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                  CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV object_destroy(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj);
CK_RV object_size(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ULONG *size);
CK_RV object_get_attributes(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                            CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV object_set_attributes(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                            CK_ATTRIBUTE *tmpl, CK_ULONG n);

#endif
