/* Session management entry points, login and logout. */
#include "config.h"

#include "p11/entry.h"
#include "token/login.h"
#include "token/module.h"
#include "token/session.h"

P11_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                               CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (phSession == NULL)
        return CKR_ARGUMENTS_BAD;
    /* Parallel sessions are a retired PKCS#11 feature; the flag must be set. */
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    return session_open(m, slotID, flags, pApplication, Notify, phSession);
}

P11_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return session_close(m, hSession);
}

P11_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return session_close_all(m, slotID);
}

P11_EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    return session_info(m, hSession, pInfo);
}

P11_EXPORT CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                         CK_ULONG ulPinLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    /* No protected authentication path: the PIN must be given. */
    if (pPin == NULL)
        return CKR_ARGUMENTS_BAD;
    return login_login(m, hSession, userType, pPin, ulPinLen);
}

P11_EXPORT CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return login_logout(m, hSession);
}
