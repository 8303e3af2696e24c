/* Mutexes over either pthreads or the callbacks an application passed to C_Initialize. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/lock.h"
#include "util/log.h"
#include "util/surrender.h"

struct mutex {
    struct lock_ops ops;
    void *app;             /* the application's mutex, when ops.create is set */
    pthread_mutex_t os;    /* otherwise */
};

/*
 * The mutexes this thread holds, innermost last, so a call that comes back into the module
 * from an application callback can see it would wait on itself (the module never nests
 * deeper than a few).
 */
#define HELD_MAX 8
static __thread const struct mutex *held[HELD_MAX];
static __thread int n_held;

CK_RV lock_ops_choose(const CK_C_INITIALIZE_ARGS *args, struct lock_ops *out)
{
    int given;

    out->create = NULL;
    out->destroy = NULL;
    out->lock = NULL;
    out->unlock = NULL;
    if (args == NULL)
        return CKR_OK;
    if (args->pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    given = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
            (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    /* With CKF_OS_LOCKING_OK we may pick either; OS locks need no calls back into the app. */
    if (given == 4 && !(args->flags & CKF_OS_LOCKING_OK)) {
        out->create = args->CreateMutex;
        out->destroy = args->DestroyMutex;
        out->lock = args->LockMutex;
        out->unlock = args->UnlockMutex;
    }
    return CKR_OK;
}

CK_RV mutex_new(const struct lock_ops *ops, struct mutex **out)
{
    struct mutex *m = calloc(1, sizeof *m);
    CK_RV rv;

    if (m == NULL)
        return CKR_HOST_MEMORY;
    m->ops = *ops;
    if (ops->create != NULL) {
        rv = ops->create(&m->app);
        if (rv != CKR_OK) {
            log_error("the application's CreateMutex failed (0x%lx)", (unsigned long)rv);
            free(m);
            return rv == CKR_HOST_MEMORY ? CKR_HOST_MEMORY : CKR_CANT_LOCK;
        }
    } else if (pthread_mutex_init(&m->os, NULL) != 0) {
        free(m);
        return CKR_CANT_LOCK;
    }
    *out = m;
    return CKR_OK;
}

void mutex_free(struct mutex *m)
{
    if (m == NULL)
        return;
    if (m->ops.create != NULL)
        m->ops.destroy(m->app);
    else
        pthread_mutex_destroy(&m->os);
    free(m);
}

void mutex_lock(struct mutex *m)
{
    if (m->ops.create != NULL) {
        if (m->ops.lock(m->app) != CKR_OK)
            log_error("the application's LockMutex failed");
    } else {
        pthread_mutex_lock(&m->os);
    }
    if (n_held < HELD_MAX)
        held[n_held] = m;
    n_held++;
}

bool mutex_held(const struct mutex *m)
{
    for (int i = 0; i < n_held && i < HELD_MAX; i++)
        if (held[i] == m)
            return true;
    return false;
}

int mutex_held_count(void)
{
    return n_held;
}

bool mutex_enter(struct mutex *m)
{
    /* Inside an application callback a lock may be held by a thread waiting on this one. */
    if (mutex_held(m) || surrender_asking())
        return false;
    mutex_lock(m);
    return true;
}

void mutex_unlock(struct mutex *m)
{
    for (int i = (n_held < HELD_MAX ? n_held : HELD_MAX) - 1; i >= 0; i--) {
        if (held[i] == m) {
            for (int j = i; j + 1 < n_held && j + 1 < HELD_MAX; j++)
                held[j] = held[j + 1];
            break;
        }
    }
    if (n_held > 0)
        n_held--;
    if (m->ops.create != NULL) {
        if (m->ops.unlock(m->app) != CKR_OK)
            log_error("the application's UnlockMutex failed");
    } else {
        pthread_mutex_unlock(&m->os);
    }
}
