/* Decryption entry points. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/op.h"

P11_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pMechanism == NULL)
        return CKR_ARGUMENTS_BAD;
    return op_init(m, hSession, OP_DECRYPT, pMechanism, hKey);
}

P11_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                        CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pEncryptedData == NULL && ulEncryptedDataLen > 0) || pulDataLen == NULL)
        return op_bad_arguments(m, hSession, OP_DECRYPT, OP_DECRYPT);
    return op_single(m, hSession, OP_DECRYPT, pEncryptedData, ulEncryptedDataLen, NULL, 0, pData, pulDataLen);
}

P11_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen,
                        CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pEncryptedPart == NULL && ulEncryptedPartLen > 0) || pulPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_DECRYPT, OP_DECRYPT);
    return op_update(m, hSession, OP_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen);
}

P11_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pulLastPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_DECRYPT, OP_DECRYPT);
    return op_final(m, hSession, OP_DECRYPT, NULL, 0, pLastPart, pulLastPartLen);
}
