/* Slot and token management entry points. */
#include "config.h"

#include "p11/entry.h"
#include "token/login.h"
#include "token/mech.h"
#include "token/module.h"
#include "token/slot.h"

P11_EXPORT CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
                               CK_ULONG_PTR pulCount)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pulCount == NULL)
        return CKR_ARGUMENTS_BAD;
    return slot_list(m, tokenPresent == CK_TRUE, pSlotList, pulCount);
}

P11_EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    return slot_info(m, slotID, pInfo);
}

P11_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    return slot_token_info(m, slotID, pInfo);
}

/* Slots never come and go while a process runs, so there is never an event to wait for. */
P11_EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pSlot == NULL || pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    return (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED;
}

P11_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                    CK_ULONG_PTR pulCount)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pulCount == NULL)
        return CKR_ARGUMENTS_BAD;
    return mech_list(m, slotID, pMechanismList, pulCount);
}

P11_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                    CK_MECHANISM_INFO_PTR pInfo)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    return mech_info(m, slotID, type, pInfo);
}

P11_EXPORT CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                             CK_UTF8CHAR_PTR pLabel)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pPin == NULL || pLabel == NULL)
        return CKR_ARGUMENTS_BAD;
    return slot_init_token(m, slotID, pPin, ulPinLen, pLabel);
}

P11_EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pPin == NULL)
        return CKR_ARGUMENTS_BAD;
    return login_init_pin(m, hSession, pPin, ulPinLen);
}

P11_EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                          CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pOldPin == NULL || pNewPin == NULL)
        return CKR_ARGUMENTS_BAD;
    return login_set_pin(m, hSession, pOldPin, ulOldLen, pNewPin, ulNewLen);
}
