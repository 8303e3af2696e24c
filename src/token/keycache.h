/*
 * token/keycache: the TPM keys operations use, opened once per object and kept (the TPM's
 * residency decides whether they stay loaded), so C_SignInit costs no TPM command. Operations
 * hold counted references; a destroyed object or a logout drops the cache's own reference,
 * and the key goes when the last operation using it ends.
 */
#ifndef TPMTOK_KEYCACHE_H
#define TPMTOK_KEYCACHE_H

#include <stdint.h>

#include "p11.h"
#include "token/module.h"
#include "tpm/tpm.h"

struct session;
struct object;
struct token;

struct key_ref {
    struct tpm *tpm;
    struct tpm_obj *obj;
    struct tpm_key_public pub;
    struct token *tok;
    uint64_t id;              /* the cache's key: store row id, or handle | top bit */
    unsigned refs;            /* guarded by the module lock */
    bool cached;              /* still reachable from the cache */
    bool authorize;           /* bound to an authority's approvals, read at each use */
    struct module *m;
};

/*
 * The TPM key of key object o (which has a blob), with a new reference.
 * CKR_OK; CKR_USER_NOT_LOGGED_IN (a token key's auth value needs the user); device and host
 * errors.
 */
CK_RV keycache_get(struct module *m, struct session *s, struct object *o, struct key_ref **out);
/* Drops a reference. NULL is fine. Must not be called with the module lock held. */
void keycache_put(struct key_ref *k);
/* The same, with the module lock held. */
void keycache_put_locked(struct key_ref *k);
/* Forgets object id's key, or every key of tok when id is 0. Holds the module lock. */
void keycache_drop_locked(struct module *m, struct token *tok, uint64_t id);
/* The cache id of an object: its store row, or its session handle with the top bit set. */
uint64_t keycache_id(const struct object *o);

CK_RV keycache_new(struct module *m);
void keycache_free(struct module *m);

#endif
