/* Random number entry points, served by the TPM's RNG. */
#include "config.h"

#include "p11/entry.h"
#include "token/module.h"
#include "token/random.h"

P11_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (pSeed == NULL && ulSeedLen != 0)
        return CKR_ARGUMENTS_BAD;
    return random_seed(m, hSession, pSeed, ulSeedLen);
}

P11_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
                                  CK_ULONG ulRandomLen)
{
    struct module *m;
    CK_RV rv;

    if ((rv = module_get(&m)) != CKR_OK)
        return rv;
    if (RandomData == NULL && ulRandomLen != 0)
        return CKR_ARGUMENTS_BAD;
    return random_generate(m, hSession, RandomData, ulRandomLen);
}
