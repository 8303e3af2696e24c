/*
 * token/mech: the mechanism table. One static table says, for each mechanism, its key sizes,
 * its flags, what the TPM must support for it, and which code runs it; C_GetMechanismList,
 * C_GetMechanismInfo and every *Init read it.
 */
#ifndef TPMTOK_MECH_H
#define TPMTOK_MECH_H

#include "p11.h"
#include "token/module.h"

/* C_GetMechanismList and C_GetMechanismInfo for slot (mechanisms the TPM in use supports). */
CK_RV mech_list(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV mech_info(struct module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                CK_MECHANISM_INFO *info);

#endif
