/* Dual-function entry points: a digest or signature and an encryption in one call. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/op.h"

P11_EXPORT CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                        CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pPart == NULL && ulPartLen > 0) || pulEncryptedPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_DIGEST, OP_ENCRYPT);
    return op_dual(m, hSession, OP_ENCRYPT, OP_DIGEST, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen);
}

P11_EXPORT CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen,
                        CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pEncryptedPart == NULL && ulEncryptedPartLen > 0) || pulPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_DECRYPT, OP_DIGEST);
    return op_dual(m, hSession, OP_DECRYPT, OP_DIGEST, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen);
}

P11_EXPORT CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                        CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pPart == NULL && ulPartLen > 0) || pulEncryptedPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_SIGN, OP_ENCRYPT);
    return op_dual(m, hSession, OP_ENCRYPT, OP_SIGN, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen);
}

P11_EXPORT CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen,
                        CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pEncryptedPart == NULL && ulEncryptedPartLen > 0) || pulPartLen == NULL)
        return op_bad_arguments(m, hSession, OP_DECRYPT, OP_VERIFY);
    return op_dual(m, hSession, OP_DECRYPT, OP_VERIFY, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen);
}
