/* Opened TPM keys by object, with reference counts so operations outlive a destroy or logout. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "token/keycache.h"
#include "token/policy.h"
#include "token/object.h"
#include "token/session.h"
#include "token/slot.h"
#include "util/log.h"
#include "util/u64map.h"

uint64_t keycache_id(const struct object *o)
{
    return o->store_id != 0 ? o->store_id : (uint64_t)o->handle | (1ULL << 63);
}

CK_RV keycache_new(struct module *m)
{
    if ((m->keys = calloc(1, sizeof *m->keys)) == NULL)
        return CKR_HOST_MEMORY;
    u64map_init(m->keys);
    return CKR_OK;
}

static void key_close(struct key_ref *k)
{
    tpm_obj_close(k->tpm, k->obj);
    free(k);
}

/* Drops the cache's reference; returns the key if nobody else holds it (to close unlocked). */
static struct key_ref *uncache_locked(struct module *m, struct key_ref *k)
{
    u64map_remove(m->keys, k->id);
    k->cached = false;
    return --k->refs == 0 ? k : NULL;
}

void keycache_free(struct module *m)
{
    if (m->keys == NULL)
        return;
    for (size_t i = 0; i < m->keys->cap; i++)
        if (m->keys->keys[i] != 0)
            key_close((struct key_ref *)(uintptr_t)m->keys->values[i]);
    u64map_free(m->keys);
    free(m->keys);
    m->keys = NULL;
}

void keycache_drop_locked(struct module *m, struct token *tok, uint64_t id)
{
    struct key_ref *doomed[64];
    size_t n = 0;
    uint64_t v;

    if (id != 0) {
        struct key_ref *k;
        if (u64map_get(m->keys, id, &v) && (k = uncache_locked(m, (struct key_ref *)(uintptr_t)v)))
            key_close(k);
        return;
    }
    /* Removing moves map slots: collect, then remove, in rounds of a fixed size. */
    do {
        n = 0;
        for (size_t i = 0; i < m->keys->cap && n < 64; i++) {
            struct key_ref *k = (struct key_ref *)(uintptr_t)m->keys->values[i];
            if (m->keys->keys[i] != 0 && k->tok == tok)
                doomed[n++] = k;
        }
        for (size_t i = 0; i < n; i++)
            if (uncache_locked(m, doomed[i]) != NULL)
                key_close(doomed[i]);
    } while (n == 64);
}

void keycache_put_locked(struct key_ref *k)
{
    if (k != NULL && --k->refs == 0)
        key_close(k);
}

void keycache_put(struct key_ref *k)
{
    bool last;

    if (k == NULL)
        return;
    mutex_lock(k->m->lock);
    last = --k->refs == 0;
    mutex_unlock(k->m->lock);
    if (last)
        key_close(k);
}

/* A key bound to PCRs takes its policy along (from its attributes: no TPM command). */
static CK_RV key_bind(struct key_ref *k, const struct object *o)
{
    struct tpm_policy p;
    bool bound;
    CK_RV rv;

    if ((rv = policy_of_key(&o->attrs, &p, &bound)) != CKR_OK) {
        log_error("a key's policy attributes do not parse (0x%lx)", (unsigned long)rv);
        return CKR_DEVICE_ERROR;
    }
    if (!bound)
        return CKR_OK;
    k->authorize = p.authorize;
    return tpm_key_set_policy(k->tpm, k->obj, &p);
}

/* Opens o's TPM key (no TPM command yet: the key loads on first use). */
static CK_RV key_open(struct module *m, struct session *s, struct object *o, struct key_ref **out)
{
    struct key_ref *k = calloc(1, sizeof *k);
    struct tpm_obj *primary;
    CK_RV rv;

    if (k == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = object_key_auth(m, s, o)) != CKR_OK || (rv = module_tpm(m, &k->tpm)) != CKR_OK)
        goto out;
    if ((rv = slot_token_primary_get(m, s->tok, &primary)) != CKR_OK ||
        (rv = tpm_key_open(k->tpm, primary, &o->blob, o->auth, o->auth_len, &k->obj)) != CKR_OK ||
        (rv = tpm_blob_public(&o->blob, &k->pub)) != CKR_OK ||
        (rv = key_bind(k, o)) != CKR_OK)
        goto out;
    k->m = m;
    k->tok = s->tok;
    k->id = keycache_id(o);
    *out = k;
    k = NULL;
out:
    if (k != NULL) {
        tpm_obj_close(k->tpm, k->obj);
        free(k);
    }
    return rv;
}

static struct key_ref *keycache_keep(struct module *m, struct key_ref *mine);

CK_RV keycache_get(struct module *m, struct session *s, struct object *o, struct key_ref **out)
{
    struct key_ref *k = NULL, *mine = NULL;
    uint64_t v;
    CK_RV rv;

    mutex_lock(m->lock);
    if (u64map_get(m->keys, keycache_id(o), &v)) {
        k = (struct key_ref *)(uintptr_t)v;
        k->refs++;
    }
    mutex_unlock(m->lock);
    if (k == NULL) {
        if ((rv = key_open(m, s, o, &mine)) != CKR_OK)
            return rv;
        k = keycache_keep(m, mine);
        if (k == NULL)
            return CKR_HOST_MEMORY;
    }
    /* Approvals added since the last use count at once. */
    if (k->authorize && (rv = policy_load_approvals(m, s->tok, k->tpm, k->obj)) != CKR_OK) {
        keycache_put(k);
        return rv;
    }
    *out = k;
    return CKR_OK;
}

/* Puts a newly opened key in the cache, or takes the one another thread put there first. */
static struct key_ref *keycache_keep(struct module *m, struct key_ref *mine)
{
    struct key_ref *k = NULL;
    uint64_t v;

    mutex_lock(m->lock);
    if (u64map_get(m->keys, mine->id, &v)) {            /* another thread opened it meanwhile */
        k = (struct key_ref *)(uintptr_t)v;
        k->refs++;
    } else if (u64map_put(m->keys, mine->id, (uint64_t)(uintptr_t)mine)) {
        mine->refs = 2;                                   /* the cache's and the caller's */
        mine->cached = true;
        k = mine;
        mine = NULL;
    }
    mutex_unlock(m->lock);
    if (mine != NULL)
        key_close(mine);
    return k;
}
