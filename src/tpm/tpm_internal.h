/* Inside tpm/: the connection struct, objects and residency, shared by the files of this layer. */
#ifndef TPMTOK_TPM_INTERNAL_H
#define TPMTOK_TPM_INTERNAL_H

#include <tss2/tss2_esys.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_tctildr.h>

#include "tpm/tpm.h"

struct sess;

enum tpm_obj_kind {
    TPM_OBJ_PRIMARY,   /* re-created from its template (pub) */
    TPM_OBJ_KEY,       /* re-loaded from pub/priv under parent */
    TPM_OBJ_SEQUENCE,  /* lives only in the TPM or in its saved context */
};

/*
 * One object tpmtok uses. When not loaded (handle == 0) it comes back from its saved context
 * if there is one, else from its recipe (template, or blobs under parent).
 */
struct tpm_obj {
    struct tpm_obj *prev, *next;   /* residency list, most recently used first */
    enum tpm_obj_kind kind;
    TPM2_HANDLE handle;            /* 0 when not loaded */
    TPMS_CONTEXT *saved;           /* NULL, or a context that reloads this object */
    bool saved_current;            /* saved matches the object's state in the TPM */
    TPM2B_NAME name;
    TPM2B_AUTH auth;               /* secret: wiped when the object is closed */
    struct tpm_obj *parent;        /* TPM_OBJ_KEY */
    TPM2B_PUBLIC tmpl;             /* TPM_OBJ_PRIMARY: the template it is created from */
    TPM2B_PUBLIC pub;              /* public area (once known, for primaries) */
    TPM2B_PRIVATE priv;            /* TPM_OBJ_KEY */
    unsigned pins;                 /* >0 while a command uses it: not evictable */
};

struct tpm {
    struct mutex *lock;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    TSS2_SYS_CONTEXT *sys;         /* ESAPI's own SAPI context, for commands with our sessions */
    struct tpm_props props;
    struct sess *sess;             /* the process's salted HMAC session, NULL until needed */
    struct tpm_obj *objs;          /* every open object, most recently used first */
    unsigned loaded;               /* how many of them are loaded */
    unsigned max_loaded;           /* residency limit: transient_min less one for scratch */
};

/* rc.c: the one place a TSS2_RC becomes a CK_RV; logs what failed with tss2's decoding. */
CK_RV tpm_rc_to_rv(TSS2_RC rc, const char *what);
/* Strips the format bits a layer or session/handle index adds, for comparing with TPM2_RC_*. */
TSS2_RC tpm_rc_base(TSS2_RC rc);
bool tpm_rc_is_retry(TSS2_RC rc);

/*
 * resid.c. The caller holds t->lock for all of these.
 * resid_load: makes o loaded and pins it (evicting the least recently used unpinned objects
 * when the TPM or our limit is full). resid_unpin: releases the pin.
 */
TSS2_RC resid_load(struct tpm *t, struct tpm_obj *o);
void resid_unpin(struct tpm *t, struct tpm_obj *o);
/* Saves (if needed) and flushes the least recently used unpinned object; false if none. */
bool resid_evict_lru(struct tpm *t);
/* Registers a new object (not loaded); takes ownership of nothing. */
struct tpm_obj *resid_obj_new(struct tpm *t, enum tpm_obj_kind kind);
/* Flushes o if loaded and frees it. */
void resid_obj_free(struct tpm *t, struct tpm_obj *o);
/* Marks o as just loaded at handle (for objects a command created, e.g. a sequence). */
void resid_adopt(struct tpm *t, struct tpm_obj *o, TPM2_HANDLE handle);
/* After the TPM lost our handles (restart): every object becomes not loaded. */
void resid_forget_handles(struct tpm *t);
/*
 * A key object (not loaded yet) from its marshalled blobs under parent, with its auth value.
 * Bad blobs give a TSS2_MU error code.
 */
TSS2_RC resid_key_new(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *blob,
                      const uint8_t *auth, size_t auth_len, struct tpm_obj **out);
/* Computes nameAlg || H(publicArea) into o->name. */
TSS2_RC resid_compute_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *name);
/* Flushes a TPM handle, logging a failure. */
void tpm_flush_handle(struct tpm *t, TPM2_HANDLE h);

#endif
