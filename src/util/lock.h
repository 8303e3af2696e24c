/* Mutexes: the application's (from C_Initialize's arguments) or the OS's, behind one small type. */
#ifndef TPMTOK_LOCK_H
#define TPMTOK_LOCK_H

#include "p11.h"

struct lock_ops {
    CK_CREATEMUTEX create;
    CK_DESTROYMUTEX destroy;
    CK_LOCKMUTEX lock;
    CK_UNLOCKMUTEX unlock;
};

/*
 * Chooses the locking C_Initialize asked for.
 * CKR_OK; CKR_ARGUMENTS_BAD for pReserved or a partial set of callbacks.
 * NULL args, or CKF_OS_LOCKING_OK: OS mutexes. Callbacks without the flag: the callbacks.
 */
CK_RV lock_ops_choose(const CK_C_INITIALIZE_ARGS *args, struct lock_ops *out);

struct mutex;

/* CKR_OK, CKR_HOST_MEMORY, or CKR_CANT_LOCK when the application's CreateMutex fails. */
CK_RV mutex_new(const struct lock_ops *ops, struct mutex **out);
void mutex_free(struct mutex *m);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

#endif
