/*
 * The entry layer: one file per PKCS#11 function family, each function thin (check the
 * arguments, find the handles, call down into token/, return). This header only gathers
 * what those files share.
 */
#ifndef TPMTOK_ENTRY_H
#define TPMTOK_ENTRY_H

#include "p11.h"

/* The module's exported entry points carry default visibility; everything else is hidden. */
#define P11_EXPORT __attribute__((visibility("default")))

/*
 * For entry points a later capability fills in: CKR_CRYPTOKI_NOT_INITIALIZED before
 * C_Initialize, else CKR_FUNCTION_NOT_SUPPORTED.
 */
CK_RV entry_not_supported(void);

#endif
