/* Operation state entry points: saving and restoring a session's cryptographic operations. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/opstate.h"

P11_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                     CK_ULONG_PTR pulOperationStateLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    /* The function's return values have no CKR_ARGUMENTS_BAD: a missing length is a failure. */
    if (pulOperationStateLen == NULL)
        return CKR_FUNCTION_FAILED;
    return opstate_get(m, hSession, pOperationState, pulOperationStateLen);
}

P11_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                     CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                     CK_OBJECT_HANDLE hAuthenticationKey)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pOperationState == NULL && ulOperationStateLen > 0)
        return CKR_ARGUMENTS_BAD;
    return opstate_set(m, hSession, pOperationState, ulOperationStateLen, hEncryptionKey,
                       hAuthenticationKey);
}
