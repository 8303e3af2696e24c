/* Encryption entry points. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/op.h"

P11_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pMechanism == NULL)
        return CKR_ARGUMENTS_BAD;
    return op_init(m, hSession, OP_ENCRYPT, pMechanism, hKey);
}

P11_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                        CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pData == NULL && ulDataLen > 0) || pulEncryptedDataLen == NULL)
        return op_bad_arguments(m, hSession, OP_ENCRYPT, OP_ENCRYPT);
    return op_single(m, hSession, OP_ENCRYPT, pData, ulDataLen, NULL, 0, pEncryptedData, pulEncryptedDataLen);
}

P11_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                        CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pPart == NULL && ulPartLen > 0) || pulEncryptedPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_ENCRYPT, OP_ENCRYPT);
    return op_update(m, hSession, OP_ENCRYPT, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen);
}

P11_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart, CK_ULONG_PTR pulLastEncryptedPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pulLastEncryptedPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_ENCRYPT, OP_ENCRYPT);
    return op_final(m, hSession, OP_ENCRYPT, NULL, 0, pLastEncryptedPart, pulLastEncryptedPartLen);
}
