/*
 * token/find: C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal. Token objects are searched
 * in the store on its indexed columns (class, key type, CKA_ID, CKA_LABEL); only the rows
 * those select are read and matched against the whole template.
 */
#ifndef TPMTOK_FIND_H
#define TPMTOK_FIND_H

#include "p11.h"
#include "token/module.h"

struct find_state;

CK_RV find_init(struct module *m, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV find_next(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out, CK_ULONG max,
                CK_ULONG *count);
CK_RV find_final(struct module *m, CK_SESSION_HANDLE h);
/* NULL is fine. */
void find_state_free(struct find_state *f);

#endif
