/* Signature and MAC verification entry points. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/op.h"

P11_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pMechanism == NULL)
        return CKR_ARGUMENTS_BAD;
    return op_init(m, hSession, OP_VERIFY, pMechanism, hKey);
}

P11_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                          CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pData == NULL && ulDataLen > 0) || (pSignature == NULL && ulSignatureLen > 0))
        return op_bad_arguments(m, hSession, OP_VERIFY, OP_VERIFY);
    return op_single(m, hSession, OP_VERIFY, pData, ulDataLen, pSignature, ulSignatureLen, NULL,
                     NULL);
}

P11_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pPart == NULL && ulPartLen > 0)
        return op_bad_arguments(m, hSession, OP_VERIFY, OP_VERIFY);
    return op_update(m, hSession, OP_VERIFY, pPart, ulPartLen, NULL, NULL);
}

P11_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                               CK_ULONG ulSignatureLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pSignature == NULL && ulSignatureLen > 0)
        return op_bad_arguments(m, hSession, OP_VERIFY, OP_VERIFY);
    return op_final(m, hSession, OP_VERIFY, pSignature, ulSignatureLen, NULL, NULL);
}

/* No mechanism in the table recovers data from signatures (none has CKF_VERIFY_RECOVER). */
P11_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                     CK_OBJECT_HANDLE hKey)
{
    return entry_not_supported();
}

P11_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                                 CK_ULONG ulSignatureLen, CK_BYTE_PTR pData,
                                 CK_ULONG_PTR pulDataLen)
{
    return entry_not_supported();
}
