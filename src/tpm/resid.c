/*
 * Residency: which of our objects are loaded in the TPM. A bare TPM holds about three transient
 * objects (a /dev/tpmrm0 descriptor too), so tpmtok keeps its own LRU of loaded objects: before
 * a load it evicts the least recently used unpinned one (context-saved first where the object
 * cannot be rebuilt, or where reloading a saved context is cheaper than rebuilding), and a
 * load that still finds the TPM full (other processes on a bare TPM) evicts more or waits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "tpm/alg.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"
#include "util/secret.h"


static const TSS2L_SYS_AUTH_COMMAND empty_password = {
    .count = 1,
    .auths = { { .sessionHandle = TPM2_RS_PW } },
};

static void list_unlink(struct tpm *t, struct tpm_obj *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else
        t->objs = o->next;
    if (o->next)
        o->next->prev = o->prev;
    o->prev = o->next = NULL;
}

static void list_push_front(struct tpm *t, struct tpm_obj *o)
{
    o->prev = NULL;
    o->next = t->objs;
    if (t->objs)
        t->objs->prev = o;
    t->objs = o;
}

struct tpm_obj *resid_obj_new(struct tpm *t, enum tpm_obj_kind kind)
{
    struct tpm_obj *o = calloc(1, sizeof *o);

    if (o == NULL)
        return NULL;
    o->kind = kind;
    list_push_front(t, o);
    return o;
}

void tpm_flush_handle(struct tpm *t, TPM2_HANDLE h)
{
    TSS2_RC rc = Tss2_Sys_FlushContext(t->sys, h);

    if (rc != TSS2_RC_SUCCESS)
        log_warn("TPM2_FlushContext(0x%08x) failed: 0x%x", (unsigned)h, (unsigned)rc);
}

void resid_obj_free(struct tpm *t, struct tpm_obj *o)
{
    if (o == NULL)
        return;
    if (o->handle != 0) {
        tpm_flush_handle(t, o->handle);
        t->loaded--;
    }
    list_unlink(t, o);
    free(o->saved);
    /* The private blob is wrapped by the TPM, but it and the auth value go together. */
    secret_wipe(&o->auth, sizeof o->auth);
    secret_wipe(&o->priv, sizeof o->priv);
    policy_free(o);
    free(o);
}

TSS2_RC resid_compute_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
    uint8_t area[sizeof(TPMT_PUBLIC)];
    size_t len = 0;
    unsigned int dlen = 0;
    const EVP_MD *md;
    TSS2_RC rc;

    if ((md = tpm_hash_md(pub->publicArea.nameAlg)) == NULL)
        return TSS2_ESYS_RC_NOT_IMPLEMENTED;
    rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, area, sizeof area, &len);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    name->name[0] = (uint8_t)(pub->publicArea.nameAlg >> 8);
    name->name[1] = (uint8_t)pub->publicArea.nameAlg;
    if (EVP_Digest(area, len, name->name + 2, &dlen, md, NULL) != 1)
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    name->size = (UINT16)(2 + dlen);
    return TSS2_RC_SUCCESS;
}

/* A sequence has no nameAlg, so its TPM name is empty (checked against libtpms). */
static void set_sequence_name(struct tpm_obj *o)
{
    o->name.size = 0;
}

/* Keys and primaries never change once loaded, so one saved context serves every reload. */
static TSS2_RC evict(struct tpm *t, struct tpm_obj *o)
{
    TSS2_RC rc;

    if (!o->saved_current) {
        if (o->saved == NULL && (o->saved = calloc(1, sizeof *o->saved)) == NULL)
            return TSS2_ESYS_RC_MEMORY;
        rc = Tss2_Sys_ContextSave(t->sys, o->handle, o->saved);
        if (rc != TSS2_RC_SUCCESS)
            return rc;
        o->saved_current = true;
    }
    tpm_flush_handle(t, o->handle);
    o->handle = 0;
    t->loaded--;
    return TSS2_RC_SUCCESS;
}

bool resid_evict_lru(struct tpm *t)
{
    struct tpm_obj *victim = NULL;
    TSS2_RC rc;

    for (struct tpm_obj *o = t->objs; o != NULL; o = o->next)
        if (o->handle != 0 && o->pins == 0)
            victim = o;
    if (victim == NULL)
        return false;
    rc = evict(t, victim);
    if (rc != TSS2_RC_SUCCESS) {
        log_warn("cannot save an object to make room in the TPM: 0x%x", (unsigned)rc);
        return false;
    }
    return true;
}

static TSS2_RC create_primary(struct tpm *t, struct tpm_obj *o, TPM2_HANDLE *handle)
{
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_CREATION_DATA creation = { 0 };
    TPM2B_DIGEST hash = { 0 };
    TPMT_TK_CREATION ticket = { 0 };
    TPM2B_NAME name = { 0 };
    TSS2_RC rc;

    /* The owner's auth is empty and the template holds no secret: a password session will do. */
    o->pub.size = 0;
    rc = Tss2_Sys_CreatePrimary(t->sys, TPM2_RH_OWNER, &empty_password, &sensitive, &o->tmpl,
                                &outside, &pcrs, handle, &o->pub, &creation, &hash, &ticket,
                                &name, NULL);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    return resid_compute_name(&o->pub, &o->name);
}

static TSS2_RC load_from_recipe(struct tpm *t, struct tpm_obj *o, TPM2_HANDLE *handle)
{
    TPM2B_NAME name = { 0 };
    TSS2_RC rc;

    if (o->kind == TPM_OBJ_PRIMARY)
        return create_primary(t, o, handle);
    if (o->kind != TPM_OBJ_KEY || o->parent == NULL)
        return TSS2_ESYS_RC_BAD_REFERENCE;
    if ((rc = resid_load(t, o->parent)) != TSS2_RC_SUCCESS)
        return rc;
    /* Parents are storage keys with an empty auth value: nothing to protect. */
    rc = Tss2_Sys_Load(t->sys, o->parent->handle, &empty_password, &o->priv, &o->pub, handle,
                       &name, NULL);
    resid_unpin(t, o->parent);
    return rc;
}

static TSS2_RC load_once(struct tpm *t, struct tpm_obj *o, TPM2_HANDLE *handle)
{
    TSS2_RC rc;

    if (o->saved != NULL) {
        rc = Tss2_Sys_ContextLoad(t->sys, o->saved, handle);
        if (rc == TSS2_RC_SUCCESS || o->kind == TPM_OBJ_SEQUENCE ||
            tpm_rc_base(rc) == TPM2_RC_OBJECT_MEMORY || tpm_rc_is_retry(rc))
            return rc;
        /* A context from before a TPM reset no longer loads; rebuild from the recipe. */
        log_debug("saved context no longer loads (0x%x); rebuilding the object", (unsigned)rc);
        free(o->saved);
        o->saved = NULL;
        o->saved_current = false;
    }
    return load_from_recipe(t, o, handle);
}

TSS2_RC resid_load(struct tpm *t, struct tpm_obj *o)
{
    TPM2_HANDLE handle = 0;
    TSS2_RC rc;

    if (o->handle == 0) {
        while (t->loaded >= t->max_loaded && resid_evict_lru(t))
            ;
        /* Full of our own objects: make room and try again; tpm_call waits for others'. */
        while ((rc = load_once(t, o, &handle)) != TSS2_RC_SUCCESS) {
            if (tpm_rc_base(rc) != TPM2_RC_OBJECT_MEMORY || !resid_evict_lru(t))
                return rc;
        }
        o->handle = handle;
        t->loaded++;
        if (o->kind == TPM_OBJ_SEQUENCE)
            set_sequence_name(o);
    }
    o->pins++;
    list_unlink(t, o);
    list_push_front(t, o);
    /* A key loaded with its parent took one slot more than the limit: give one back. */
    while (t->loaded > t->max_loaded && resid_evict_lru(t))
        ;
    return TSS2_RC_SUCCESS;
}

void resid_unpin(struct tpm *t, struct tpm_obj *o)
{
    (void)t;
    if (o != NULL && o->pins > 0)
        o->pins--;
}

void resid_adopt(struct tpm *t, struct tpm_obj *o, TPM2_HANDLE handle)
{
    o->handle = handle;
    o->saved_current = false;
    t->loaded++;
    if (o->kind == TPM_OBJ_SEQUENCE)
        set_sequence_name(o);
    o->pins++;
    list_unlink(t, o);
    list_push_front(t, o);
    while (t->loaded > t->max_loaded && resid_evict_lru(t))
        ;
}

void resid_forget(struct tpm *t, struct tpm_obj *o)
{
    if (o->handle != 0) {
        o->handle = 0;
        t->loaded--;
    }
    free(o->saved);
    o->saved = NULL;
    o->saved_current = false;
}

void resid_flush_loaded(struct tpm *t)
{
    for (struct tpm_obj *o = t->objs; o != NULL; o = o->next)
        if (o->handle != 0)
            (void)Tss2_Sys_FlushContext(t->sys, o->handle);
}

void resid_forget_handles(struct tpm *t)
{
    for (struct tpm_obj *o = t->objs; o != NULL; o = o->next) {
        o->handle = 0;
        /* What was saved before a TPM reset will not load again either. */
        if (o->kind != TPM_OBJ_SEQUENCE) {
            free(o->saved);
            o->saved = NULL;
            o->saved_current = false;
        }
    }
    t->loaded = 0;
}

TSS2_RC resid_key_new(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *blob,
                      const uint8_t *auth, size_t auth_len, struct tpm_obj **out)
{
    struct tpm_obj *o;
    size_t off = 0;
    TSS2_RC rc;

    if (auth_len > sizeof o->auth.buffer)
        return TSS2_ESYS_RC_BAD_VALUE;
    if ((o = resid_obj_new(t, TPM_OBJ_KEY)) == NULL)
        return TSS2_ESYS_RC_MEMORY;
    rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob->pub, blob->pub_len, &off, &o->pub);
    if (rc == TSS2_RC_SUCCESS && off != blob->pub_len)
        rc = TSS2_MU_RC_BAD_SIZE;
    off = 0;
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob->priv, blob->priv_len, &off, &o->priv);
    if (rc == TSS2_RC_SUCCESS && off != blob->priv_len)
        rc = TSS2_MU_RC_BAD_SIZE;
    if (rc == TSS2_RC_SUCCESS)
        rc = resid_compute_name(&o->pub, &o->name);
    if (rc != TSS2_RC_SUCCESS) {
        resid_obj_free(t, o);
        return rc;
    }
    o->parent = parent;
    o->auth.size = (UINT16)auth_len;
    if (auth_len)
        memcpy(o->auth.buffer, auth, auth_len);
    *out = o;
    return TSS2_RC_SUCCESS;
}
