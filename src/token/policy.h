/*
 * token/policy: keys bound to PCRs. The vendor attributes of include/tpmtok.h become a TPM
 * policy when a key is made (its authPolicy), and again when it is used, when an authority's
 * approvals stored on the token are handed to the TPM layer too.
 */
#ifndef TPMTOK_TOKEN_POLICY_H
#define TPMTOK_TOKEN_POLICY_H

#include <stdbool.h>

#include "p11.h"
#include "token/attr.h"
#include "token/module.h"
#include "tpm/tpm.h"

struct token;

/*
 * For a new key with attributes a: *bound says whether they bind it; then p is its policy, the
 * PCR values are read from the TPM when a does not give them, and a gets CKA_TPMTOK_PCR_VALUES
 * and CKA_TPMTOK_POLICY_DIGEST. CKR_OK, CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT,
 * CKR_HOST_MEMORY, device errors.
 */
CK_RV policy_for_new_key(struct tpm *tpm, struct attrs *a, struct tpm_policy *p, bool *bound);
/* The policy an existing key's attributes name (no TPM command). As above. */
CK_RV policy_of_key(const struct attrs *a, struct tpm_policy *p, bool *bound);
/* Gives key the approvals on tok (public data objects) of its authority. */
CK_RV policy_load_approvals(struct module *m, struct token *tok, struct tpm *tpm,
                            struct tpm_obj *key);

#endif
