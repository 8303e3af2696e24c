/* Inside the operation families: what they share beyond token/op.h. */
#ifndef TPMTOK_OP_INTERNAL_H
#define TPMTOK_OP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token/op.h"

/* Fills the base's TPM and the token's primary (for sessions and sequences). */
CK_RV op_base_init(struct op *op, const struct op_init *in);

/* True if the big-endian number a (len bytes) is below the modulus n (n_len bytes). */
bool rsa_below_modulus(const uint8_t *a, size_t len, const uint8_t *n, size_t n_len);

#endif
