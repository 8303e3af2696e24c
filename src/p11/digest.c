/* Message digest entry points. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/op.h"

P11_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pMechanism == NULL)
        return CKR_ARGUMENTS_BAD;
    return op_init(m, hSession, OP_DIGEST, pMechanism, CK_INVALID_HANDLE);
}

P11_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                        CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pData == NULL && ulDataLen > 0) || pulDigestLen == NULL)
        return op_bad_arguments(m, hSession, OP_DIGEST, OP_DIGEST);
    return op_single(m, hSession, OP_DIGEST, pData, ulDataLen, NULL, 0, pDigest, pulDigestLen);
}

P11_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pPart == NULL && ulPartLen > 0)
        return op_bad_arguments(m, hSession, OP_DIGEST, OP_DIGEST);
    return op_update(m, hSession, OP_DIGEST, pPart, ulPartLen, NULL, NULL);
}

P11_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return op_digest_key(m, hSession, hKey);
}

P11_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pulDigestLen == NULL)
        return op_bad_arguments(m, hSession, OP_DIGEST, OP_DIGEST);
    return op_final(m, hSession, OP_DIGEST, NULL, 0, pDigest, pulDigestLen);
}
