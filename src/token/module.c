/*
 * The process-wide module state: C_Initialize and C_Finalize, the application's choice of
 * locking, fork handling, and the store and TPM behind every token.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "token/keycache.h"
#include "token/object.h"
#include "token/module.h"
#include "token/session.h"
#include "token/slot.h"
#include "tpm/tpm.h"
#include "util/log.h"
#include "util/surrender.h"

/* Serialises C_Initialize and C_Finalize; an OS mutex because no application one exists yet. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static struct module *current;
/*
 * A forked child must not use, nor tear down, its parent's state: the parent's TPM connection,
 * SQLite handle and held mutexes are not the child's. It is kept reachable here and never freed.
 */
static struct module *left_by_fork;

static void atfork_prepare(void)
{
    pthread_mutex_lock(&init_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&init_lock);
}

static void atfork_child(void)
{
    struct module *m = __atomic_load_n(&current, __ATOMIC_ACQUIRE);

    if (m != NULL) {
        m->next_abandoned = left_by_fork;
        left_by_fork = m;
    }
    __atomic_store_n(&current, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&init_lock);
}

static void atfork_register(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

CK_RV module_get(struct module **out)
{
    struct module *m = __atomic_load_n(&current, __ATOMIC_ACQUIRE);

    if (m == NULL)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    *out = m;
    return CKR_OK;
}

static char *env_dup(const char *name)
{
    const char *v;

#ifdef HAVE_SECURE_GETENV
    v = secure_getenv(name);
#else
    v = getenv(name);
#endif
    return v != NULL && *v != '\0' ? strdup(v) : NULL;
}

static void module_free(struct module *m)
{
    if (m == NULL)
        return;
    session_table_free(m->sessions);
    keycache_free(m);
    object_table_free(m->objects);
    slot_table_free(m->slots, m->tpm);
    tpm_close(m->tpm);
    store_close(m->store);
    mutex_free(m->lock);
    mutex_free(m->tpm_lock);
    free(m->store_path);
    free(m->tcti_conf);
    free(m);
}

/* A store that cannot be opened is logged and leaves the module usable without tokens. */
static void module_open_store(struct module *m)
{
    CK_RV rv;

    if ((m->store_path = env_dup("TPMTOK_STORE")) == NULL &&
        store_default_path(&m->store_path) != CKR_OK) {
        log_error("no store path: set TPMTOK_STORE or HOME");
        return;
    }
    rv = store_open(m->store_path, &m->locks, &m->store);
    if (rv != CKR_OK)
        log_error("the token store %s cannot be used (%s)", m->store_path,
                  rv == CKR_HOST_MEMORY ? "out of memory" : "see above");
}

static CK_RV module_new(const struct lock_ops *locks, bool threads_ok, struct module **out)
{
    struct module *m = calloc(1, sizeof *m);
    CK_RV rv;

    if (m == NULL)
        return CKR_HOST_MEMORY;
    m->locks = *locks;
    m->threads_ok = threads_ok;
    if ((rv = mutex_new(locks, &m->lock)) != CKR_OK ||
        (rv = mutex_new(locks, &m->tpm_lock)) != CKR_OK ||
        (rv = slot_table_new(&m->locks, &m->slots)) != CKR_OK ||
        (rv = session_table_new(&m->sessions)) != CKR_OK ||
        (rv = object_table_new(&m->objects)) != CKR_OK ||
        (rv = keycache_new(m)) != CKR_OK)
        goto out;
    m->tcti_conf = env_dup("TPMTOK_TCTI");
    module_open_store(m);
    if ((rv = slot_refresh(m)) != CKR_OK)
        goto out;
    *out = m;
    m = NULL;
out:
    module_free(m);
    return rv;
}

CK_RV module_initialize(const CK_C_INITIALIZE_ARGS *args)
{
    struct lock_ops locks;
    struct module *m = NULL;
    CK_RV rv;

    if ((rv = lock_ops_choose(args, &locks)) != CKR_OK)
        return rv;
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&init_lock);
    if (current != NULL) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto out;
    }
    log_init();
    if ((rv = module_new(&locks, !(args && (args->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS)),
                         &m)) != CKR_OK)
        goto out;
    __atomic_store_n(&current, m, __ATOMIC_RELEASE);
    log_debug("initialized; store %s, TCTI %s", m->store_path ? m->store_path : "(none)",
              m->tcti_conf ? m->tcti_conf : "(default)");
out:
    pthread_mutex_unlock(&init_lock);
    return rv;
}

CK_RV module_finalize(void)
{
    struct module *m;

    /* From a surrender callback, the call it interrupts still runs on this module. */
    if (surrender_asking())
        return CKR_FUNCTION_FAILED;
    pthread_mutex_lock(&init_lock);
    m = current;
    __atomic_store_n(&current, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&init_lock);
    if (m == NULL)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    module_free(m);
    return CKR_OK;
}

/*
 * A process that exits without C_Finalize would leave its loaded objects and session in a TPM
 * that has no resource manager (a bare TPM keeps them until it is reset), so finalize here.
 */
__attribute__((destructor)) static void module_at_exit(void)
{
    struct module *m = __atomic_load_n(&current, __ATOMIC_ACQUIRE);

    if (m != NULL)
        module_finalize();
}

CK_RV module_tpm(struct module *m, struct tpm **out)
{
    CK_RV rv = CKR_OK;

    mutex_lock(m->tpm_lock);
    if (m->tpm == NULL)
        rv = tpm_open(m->tcti_conf, &m->locks, m->threads_ok, &m->tpm);
    if (rv == CKR_OK)
        *out = m->tpm;
    mutex_unlock(m->tpm_lock);
    return rv;
}

CK_RV module_store(struct module *m, struct store **out)
{
    if (m->store == NULL)
        return CKR_DEVICE_ERROR;
    *out = m->store;
    return CKR_OK;
}
