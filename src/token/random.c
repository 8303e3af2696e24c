/* Random numbers from the TPM (TPM2_GetRandom), and seeding it (TPM2_StirRandom). */
#include "config.h"

#include "token/random.h"
#include "token/session.h"
#include "tpm/tpm.h"

CK_RV random_generate(struct module *m, CK_SESSION_HANDLE h, uint8_t *out, size_t len)
{
    struct session *s = NULL;
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if (len > 0 && (rv = module_tpm(m, &tpm)) == CKR_OK)
        rv = tpm_random(tpm, out, len);
    session_release(m, s);
    return rv;
}

CK_RV random_seed(struct module *m, CK_SESSION_HANDLE h, const uint8_t *seed, size_t len)
{
    struct session *s = NULL;
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if (len > 0 && (rv = module_tpm(m, &tpm)) == CKR_OK)
        rv = tpm_stir_random(tpm, seed, len);
    session_release(m, s);
    return rv;
}
