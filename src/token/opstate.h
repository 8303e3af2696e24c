/*
 * token/opstate: C_GetOperationState and C_SetOperationState. A session's operations become
 * one versioned byte string that names the keys by identity, carries the families' states
 * (TPM sequence contexts, IVs, held bytes) encrypted, and is MACed with a secret of the token,
 * so a state from elsewhere, or altered in any byte, is refused before anything in it is used.
 */
#ifndef TPMTOK_OPSTATE_H
#define TPMTOK_OPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "token/module.h"

/* C_GetOperationState: out NULL asks the length; out_len is never NULL. */
CK_RV opstate_get(struct module *m, CK_SESSION_HANDLE h, uint8_t *out, CK_ULONG *out_len);
/* C_SetOperationState. */
CK_RV opstate_set(struct module *m, CK_SESSION_HANDLE h, const uint8_t *in, size_t len,
                  CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key);

#endif
