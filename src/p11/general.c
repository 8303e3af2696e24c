/* General-purpose entry points: C_Initialize, C_Finalize, C_GetInfo and the function lists. */
#include "config.h"

#include <string.h>

#include "p11/entry.h"
#include "token/module.h"
#include "token/slot.h"

static const CK_FUNCTION_LIST function_list;

CK_RV entry_not_supported(void)
{
    struct module *m;
    CK_RV rv = module_get(&m);

    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;
}

P11_EXPORT CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    return module_initialize((const CK_C_INITIALIZE_ARGS *)pInitArgs);
}

P11_EXPORT CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    return module_finalize();
}

P11_EXPORT CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pInfo == NULL)
        return CKR_ARGUMENTS_BAD;
    slot_library_info(pInfo);
    return CKR_OK;
}

/* Allowed before C_Initialize: it is how applications find C_Initialize. */
P11_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (ppFunctionList == NULL)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = (CK_FUNCTION_LIST_PTR)&function_list;
    return CKR_OK;
}

/* PKCS#11 3.0 discovery: one interface, "PKCS 11", whose functions are the 2.40 list. */
static CK_INTERFACE interfaces[] = {
    { (CK_CHAR *)"PKCS 11", (CK_VOID_PTR)&function_list, 0 },
};
#define N_INTERFACES (sizeof interfaces / sizeof interfaces[0])

P11_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    CK_ULONG room;

    if (pulCount == NULL)
        return CKR_ARGUMENTS_BAD;
    room = *pulCount;
    *pulCount = N_INTERFACES;
    if (pInterfacesList == NULL)
        return CKR_OK;
    if (room < N_INTERFACES)
        return CKR_BUFFER_TOO_SMALL;
    memcpy(pInterfacesList, interfaces, sizeof interfaces);
    return CKR_OK;
}

P11_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                                CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    const CK_VERSION *ours = &function_list.version;

    if (ppInterface == NULL)
        return CKR_ARGUMENTS_BAD;
    *ppInterface = NULL;
    if (pInterfaceName != NULL && strcmp((const char *)pInterfaceName, "PKCS 11") != 0)
        return CKR_ARGUMENTS_BAD;
    if (pVersion != NULL && (pVersion->major != ours->major || pVersion->minor != ours->minor))
        return CKR_ARGUMENTS_BAD;
    if ((flags & interfaces[0].flags) != flags)
        return CKR_ARGUMENTS_BAD;
    *ppInterface = &interfaces[0];
    return CKR_OK;
}

static const CK_FUNCTION_LIST function_list = {
    { 2, 40 },
    C_Initialize,
    C_Finalize,
    C_GetInfo,
    C_GetFunctionList,
    C_GetSlotList,
    C_GetSlotInfo,
    C_GetTokenInfo,
    C_GetMechanismList,
    C_GetMechanismInfo,
    C_InitToken,
    C_InitPIN,
    C_SetPIN,
    C_OpenSession,
    C_CloseSession,
    C_CloseAllSessions,
    C_GetSessionInfo,
    C_GetOperationState,
    C_SetOperationState,
    C_Login,
    C_Logout,
    C_CreateObject,
    C_CopyObject,
    C_DestroyObject,
    C_GetObjectSize,
    C_GetAttributeValue,
    C_SetAttributeValue,
    C_FindObjectsInit,
    C_FindObjects,
    C_FindObjectsFinal,
    C_EncryptInit,
    C_Encrypt,
    C_EncryptUpdate,
    C_EncryptFinal,
    C_DecryptInit,
    C_Decrypt,
    C_DecryptUpdate,
    C_DecryptFinal,
    C_DigestInit,
    C_Digest,
    C_DigestUpdate,
    C_DigestKey,
    C_DigestFinal,
    C_SignInit,
    C_Sign,
    C_SignUpdate,
    C_SignFinal,
    C_SignRecoverInit,
    C_SignRecover,
    C_VerifyInit,
    C_Verify,
    C_VerifyUpdate,
    C_VerifyFinal,
    C_VerifyRecoverInit,
    C_VerifyRecover,
    C_DigestEncryptUpdate,
    C_DecryptDigestUpdate,
    C_SignEncryptUpdate,
    C_DecryptVerifyUpdate,
    C_GenerateKey,
    C_GenerateKeyPair,
    C_WrapKey,
    C_UnwrapKey,
    C_DeriveKey,
    C_SeedRandom,
    C_GenerateRandom,
    C_GetFunctionStatus,
    C_CancelFunction,
    C_WaitForSlotEvent,
};
