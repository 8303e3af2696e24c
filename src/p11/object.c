/* Object management entry points: create, copy, destroy, attributes, search. */
#include "config.h"

#include "p11/entry.h"
#include "token/find.h"
#include "token/module.h"
#include "token/object.h"

P11_EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pTemplate == NULL && ulCount > 0) || phObject == NULL)
        return CKR_ARGUMENTS_BAD;
    return object_create(m, hSession, pTemplate, ulCount, phObject);
}

P11_EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                              CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                              CK_OBJECT_HANDLE_PTR phNewObject)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((pTemplate == NULL && ulCount > 0) || phNewObject == NULL)
        return CKR_ARGUMENTS_BAD;
    return object_copy(m, hSession, hObject, pTemplate, ulCount, phNewObject);
}

P11_EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return object_destroy(m, hSession, hObject);
}

P11_EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                 CK_ULONG_PTR pulSize)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pulSize == NULL)
        return CKR_ARGUMENTS_BAD;
    return object_size(m, hSession, hObject, pulSize);
}

P11_EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                     CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pTemplate == NULL && ulCount > 0)
        return CKR_ARGUMENTS_BAD;
    return object_get_attributes(m, hSession, hObject, pTemplate, ulCount);
}

P11_EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                     CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pTemplate == NULL && ulCount > 0)
        return CKR_ARGUMENTS_BAD;
    return object_set_attributes(m, hSession, hObject, pTemplate, ulCount);
}

P11_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                   CK_ULONG ulCount)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pTemplate == NULL && ulCount > 0)
        return CKR_ARGUMENTS_BAD;
    return find_init(m, hSession, pTemplate, ulCount);
}

P11_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                               CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if ((phObject == NULL && ulMaxObjectCount > 0) || pulObjectCount == NULL)
        return CKR_ARGUMENTS_BAD;
    return find_next(m, hSession, phObject, ulMaxObjectCount, pulObjectCount);
}

P11_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    return find_final(m, hSession);
}
