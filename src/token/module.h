/*
 * token/module: the process-wide state behind the entry points: C_Initialize and C_Finalize,
 * the locking the application chose, fork detection, and lazy access to the store and TPM.
 */
#ifndef TPMTOK_MODULE_H
#define TPMTOK_MODULE_H

#include <stdbool.h>

#include "p11.h"
#include "util/lock.h"

struct store;
struct tpm;
struct slot_table;
struct session_table;
struct object_table;
struct u64map;

struct module {
    struct lock_ops locks;
    struct mutex *lock;            /* guards slots, sessions and login state */
    struct store *store;           /* NULL if it could not be opened */
    char *store_path;
    struct mutex *tpm_lock;        /* guards tpm and tpm_rv while the TPM is being opened */
    struct tpm *tpm;               /* opened on first use */
    char *tcti_conf;               /* TPMTOK_TCTI, or NULL for the tctildr default */
    bool threads_ok;               /* no CKF_LIBRARY_CANT_CREATE_OS_THREADS from C_Initialize */
    struct slot_table *slots;
    struct session_table *sessions;
    struct object_table *objects;  /* handles, and the session objects (under lock) */
    struct u64map *keys;           /* opened TPM keys by object (keycache.c, under lock) */
    struct module *next_abandoned; /* states forked children left behind (see module.c) */
};

/*
 * The initialized module, or CKR_CRYPTOKI_NOT_INITIALIZED (never initialized, finalized,
 * or this is a child process after fork() that has not called C_Initialize yet).
 */
CK_RV module_get(struct module **out);

/* C_Initialize and C_Finalize, with the spec's return values. */
CK_RV module_initialize(const CK_C_INITIALIZE_ARGS *args);
CK_RV module_finalize(void);

/*
 * The TPM, connected on first use. CKR_OK, CKR_DEVICE_ERROR (no TPM reachable: logged),
 * CKR_HOST_MEMORY. Must not be called with m->lock held.
 */
CK_RV module_tpm(struct module *m, struct tpm **out);

/*
 * The store, or the CK_RV its absence maps to (CKR_DEVICE_ERROR). Usable without locks:
 * the store has its own.
 */
CK_RV module_store(struct module *m, struct store **out);

#endif
