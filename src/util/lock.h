/* Mutexes: the application's (from C_Initialize's arguments) or the OS's, behind one small type. */
#ifndef TPMTOK_LOCK_H
#define TPMTOK_LOCK_H

#include <stdbool.h>

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
/* True if this thread holds m. */
bool mutex_held(const struct mutex *m);
/* How many mutexes this thread holds. */
int mutex_held_count(void);
/*
 * Locks m, unless waiting could deadlock: this thread holds m already, or is inside an
 * application callback (util/surrender), made while the module holds locks that other threads
 * waiting on m may hold too. Then false, and nothing is locked.
 */
bool mutex_enter(struct mutex *m);

#endif
