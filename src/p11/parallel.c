/* The legacy parallel-function entry points, which PKCS#11 keeps only for compatibility. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"

/* The spec says these "should simply return CKR_FUNCTION_NOT_PARALLEL" once initialized. */
P11_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return CKR_FUNCTION_NOT_PARALLEL;
}

P11_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return CKR_FUNCTION_NOT_PARALLEL;
}
