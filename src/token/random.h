/* token/random: C_GenerateRandom and C_SeedRandom on a session's TPM. */
#ifndef TPMTOK_RANDOM_H
#define TPMTOK_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "token/module.h"

CK_RV random_generate(struct module *m, CK_SESSION_HANDLE h, uint8_t *out, size_t len);
CK_RV random_seed(struct module *m, CK_SESSION_HANDLE h, const uint8_t *seed, size_t len);

#endif
