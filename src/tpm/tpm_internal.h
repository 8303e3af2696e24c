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
    struct tpm_obj *grave_next;    /* closed, awaiting the TPM lock to be flushed */
    TPM2B_PUBLIC tmpl;             /* TPM_OBJ_PRIMARY: the template it is created from */
    TPM2B_PUBLIC pub;              /* public area (once known, for primaries) */
    TPM2B_PRIVATE priv;            /* TPM_OBJ_KEY */
    unsigned pins;                 /* >0 while a command uses it: not evictable */
    struct key_policy *policy;     /* keys bound to a policy (policy.c), else NULL */
};

/*
 * caps.c: what the TPM implements, read on first use and fixed after. The limits are far above
 * what TPMs report (libtpms 0.9: 33 algorithms, 8 curves, 110 commands); more is logged and
 * left out. TestParms answers are remembered per (type, algorithm, bits) up to CAPS_MAX_PARMS.
 */
#define CAPS_MAX_ALGS 128
#define CAPS_MAX_CURVES 32
#define CAPS_MAX_COMMANDS 256
#define CAPS_MAX_PARMS 24

struct tpm_caps {
    bool read;                          /* the three lists below are filled */
    uint16_t algs[CAPS_MAX_ALGS];
    size_t n_algs;
    uint16_t curves[CAPS_MAX_CURVES];
    size_t n_curves;
    uint32_t commands[CAPS_MAX_COMMANDS]; /* command codes, with the vendor bit when set */
    size_t n_commands;
    struct {
        uint16_t type;                  /* TPM2_ALG_RSA or TPM2_ALG_SYMCIPHER */
        uint16_t alg;                   /* the symmetric algorithm; TPM2_ALG_RSA for RSA */
        unsigned bits;
        bool ok;
    } parms[CAPS_MAX_PARMS];
    size_t n_parms;
};

struct tpm {
    struct mutex *lock;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    TSS2_SYS_CONTEXT *sys;         /* ESAPI's own SAPI context, for commands with our sessions */
    struct tpm_props props;
    struct sess *sess;             /* the process's salted HMAC session, NULL until needed */
    struct sess *psess;            /* the policy session for policy-bound keys, NULL until needed */
    bool psess_dirty;              /* psess holds policy state from an unfinished use */
    struct tpm_obj *objs;          /* every open object, most recently used first */
    unsigned loaded;               /* how many of them are loaded */
    unsigned max_loaded;           /* residency limit: transient_min less one for scratch */
    struct tpm_caps caps;          /* caps.c, under lock */
    struct tpm_obj *graveyard;     /* objects closed under other locks (atomic push) */
    bool boots_known;              /* boots holds the TPM's counts (cleared by a restart seen) */
    uint64_t boots;                /* resetCount << 32 | restartCount */
};

/* What TPM2_Create takes (secret: sensitive) and gives (priv, pub). */
struct tpm_create {
    struct tpm_obj *parent;
    TPM2B_PUBLIC tmpl;
    TPM2B_SENSITIVE_CREATE sensitive;
    TPM2B_PRIVATE priv;
    TPM2B_PUBLIC pub;
};

/*
 * key.c: one TPM2_Create attempt for tpm_call (arg: struct tpm_create), parent authorized by
 * our session, the sensitive part encrypted on the way.
 */
TSS2_RC tpm_create_once(struct tpm *t, void *arg);

/*
 * tcti_wait.c: the module's TCTI around the real one (inner, which it then owns): while the
 * calling thread's function has an application to ask (util/surrender), a response is awaited
 * on a worker thread (when threads_ok) and the application asked meanwhile.
 */
TSS2_RC tcti_wait_new(TSS2_TCTI_CONTEXT *inner, bool threads_ok, TSS2_TCTI_CONTEXT **out);
void tcti_wait_free(TSS2_TCTI_CONTEXT **ctx);
/* Whether an exchange with the TPM failed (transport, not a TPM error) since last asked. */
bool tcti_wait_take_failure(TSS2_TCTI_CONTEXT *ctx);
/*
 * ctx.c: after a failed exchange, a fresh ESAPI context (the old one is stuck mid-command) and
 * nothing assumed of what the TPM held: loaded objects and the session are flushed if the TPM
 * answers, and reloaded on demand. Lock held; tpm_enter and tpm_call run it when needed.
 */
void tpm_transport_check(struct tpm *t);

/*
 * The TPM lock, which every function of this layer takes. tpm_enter does not wait when this
 * thread holds it already (an application callback, made during one of this thread's TPM
 * commands, that calls back into the module): it returns false, and the function fails with
 * TPMTOK_RC_REENTERED, which is CKR_FUNCTION_FAILED.
 */
bool tpm_enter(struct tpm *t);
void tpm_leave(struct tpm *t);
#define TPMTOK_RC_REENTERED ((TSS2_RC)0xF00002u)

/*
 * A function cancelled by the application (CKR_CANCEL from its surrender callback): tpm_call
 * returns it, and tpm_rc_to_rv makes it CKR_FUNCTION_CANCELED.
 */
#define TPMTOK_RC_CANCELED ((TSS2_RC)0xF00001u)

/*
 * policy.c: before a use of key, its policy in the policy session (*out: that session, or the
 * HMAC session for keys without a policy); after the command, policy_end with its outcome.
 * TPMTOK_RC_POLICY: the PCRs are not in a state the key is bound to (logged, naming them),
 * which tpm_use_rc_to_rv makes CKR_FUNCTION_FAILED.
 */
#define TPMTOK_RC_POLICY ((TSS2_RC)0xF00003u)
struct sess;
TSS2_RC policy_begin(struct tpm *t, struct tpm_obj *key, struct sess **out);
void policy_end(struct tpm *t, struct tpm_obj *key, TSS2_RC rc);
void policy_free(struct tpm_obj *o);

/* rc.c: the one place a TSS2_RC becomes a CK_RV; logs what failed with tss2's decoding. */
CK_RV tpm_rc_to_rv(TSS2_RC rc, const char *what);
/*
 * crypto.c: tpm_rc_to_rv for commands that use a key: the key's attributes forbid it
 * (TPM_RC_ATTRIBUTES, TPM_RC_KEY) is CKR_KEY_FUNCTION_NOT_PERMITTED, the wrong type of key
 * CKR_KEY_TYPE_INCONSISTENT, a hash, scheme or mode the TPM lacks CKR_MECHANISM_INVALID.
 */
CK_RV tpm_use_rc_to_rv(TSS2_RC rc, const char *what);
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
/*
 * o no longer exists in the TPM because a command consumed it (TPM2_SequenceComplete): not
 * loaded, nothing flushed, and its saved context dropped, since that would bring back a state
 * the caller has finished with.
 */
void resid_forget(struct tpm *t, struct tpm_obj *o);
/* After the TPM lost our handles (restart): every object becomes not loaded. */
void resid_forget_handles(struct tpm *t);
/* Asks the TPM to flush every object we have loaded, whatever it answers (before forgetting). */
void resid_flush_loaded(struct tpm *t);
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

/*
 * key.c: marshals pub and priv into a new blob (the caller frees it with tpm_blob_clear).
 * TSS2_RC_SUCCESS, TSS2_ESYS_RC_MEMORY, or a TSS2_MU error.
 */
TSS2_RC tpm_blob_from(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv, struct tpm_blob *out);

#endif
