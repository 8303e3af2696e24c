/*
 * tpm/approval: policy digests and approval blobs computed without a TPM (approval.c), for the
 * policy code of this layer and for the tpmtok CLI, which signs approvals with OpenSSL. The
 * public parts are declared in tpm.h; these are the rest.
 */
#ifndef TPMTOK_TPM_APPROVAL_H
#define TPMTOK_TPM_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "tpm/tpm.h"

/* One bank's selection as the TPM takes it (sizeofSelect 3: PCRs 0..23). */
void approval_pcr_tpml(const struct tpm_pcr_sel *sel, TPML_PCR_SELECTION *out);
/* How many PCRs sel names. */
size_t approval_pcr_count(const struct tpm_pcr_sel *sel);
/* The PolicyPCR digest from an empty policy for sel and its PCR digest. */
void approval_approved_policy(const struct tpm_pcr_sel *sel, const uint8_t pcr_digest[32],
                              uint8_t out[32]);
/* A public area's TPM name (SHA-256 name algorithm): 34 bytes. False if it does not marshal. */
bool approval_name(const TPM2B_PUBLIC *pub, uint8_t *name, size_t *name_len);
/* An approval blob from its parts; false if max is too small or a part does not marshal. */
bool approval_make(const struct tpm_pcr_sel *sel, const uint8_t pcr_digest[32],
                   const uint8_t *name, size_t name_len, const TPMT_SIGNATURE *sig, uint8_t *out,
                   size_t max, size_t *len);

#endif
