/* Signing and MACing entry points. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/op.h"

P11_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pMechanism == NULL)
        return CKR_ARGUMENTS_BAD;
    return op_init(m, hSession, OP_SIGN, pMechanism, hKey);
}

P11_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                        CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pData == NULL && ulDataLen > 0) || pulSignatureLen == NULL)
        return op_bad_arguments(m, hSession, OP_SIGN, OP_SIGN);
    return op_single(m, hSession, OP_SIGN, pData, ulDataLen, NULL, 0, pSignature, pulSignatureLen);
}

P11_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pPart == NULL && ulPartLen > 0)
        return op_bad_arguments(m, hSession, OP_SIGN, OP_SIGN);
    return op_update(m, hSession, OP_SIGN, pPart, ulPartLen, NULL, NULL);
}

P11_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pulSignatureLen == NULL)
        return op_bad_arguments(m, hSession, OP_SIGN, OP_SIGN);
    return op_final(m, hSession, OP_SIGN, NULL, 0, pSignature, pulSignatureLen);
}

/* No mechanism in the table recovers data from signatures (none has CKF_SIGN_RECOVER). */
P11_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                   CK_OBJECT_HANDLE hKey)
{
    return entry_not_supported();
}

P11_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                               CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    return entry_not_supported();
}
