/*
 * Fuzz target: mechanisms and their parameters through C_*Init (token/op: the mechanism
 * table, the key checks and each family's parameter checks: PSS, OAEP, IVs, CTR counter
 * blocks, HMAC lengths), on a session of the fake token (fake.c). An operation that starts
 * is saved (C_GetOperationState) and the state given back (C_SetOperationState), then data
 * goes through it (drive.h: the rest of the input).
 *
 *   byte 0   the operation kind (mod 5: encrypt, decrypt, digest, sign, verify)
 *   byte 1   the key handle (fake objects; 0 and >= 8 are not objects)
 *   byte 2   bit 0: the user is logged in
 *   4 bytes  the mechanism type (LE)
 *   byte     the parameters' shape (mod 6):
 *              0  pParameter NULL, ulParameterLen u16
 *              1  u16 length and that many bytes (any structure, as raw bytes)
 *              2  CK_RSA_PKCS_PSS_PARAMS: hashAlg u32, mgf u32, sLen u16
 *              3  CK_RSA_PKCS_OAEP_PARAMS: hashAlg u32, mgf u32, source u32, u8 (1: pSourceData
 *                 NULL), u16 ulSourceDataLen, then the source data (if not NULL)
 *              4  CK_AES_CTR_PARAMS: ulCounterBits u8, cb 16 bytes
 *              5  a CK_ULONG (u64), as CKM_*_HMAC_GENERAL takes
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz/drive.h"
#include "fuzz/fake.h"
#include "fuzz/fuzz.h"
#include "token/op.h"

/* Everything the parameters point to, each in a buffer of its exact length. */
struct params {
    CK_MECHANISM mech;
    union {
        CK_RSA_PKCS_PSS_PARAMS pss;
        CK_RSA_PKCS_OAEP_PARAMS oaep;
        CK_AES_CTR_PARAMS ctr;
        CK_ULONG ulong;
    } s;
    uint8_t *raw;
    uint8_t *source;
};

static void *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n > 0 ? n : 1);

    if (copy == NULL)
        abort();
    if (n > 0)
        memcpy(copy, p, n);
    return copy;
}

static void oaep_read(struct fuzz_in *in, struct params *pa)
{
    CK_RSA_PKCS_OAEP_PARAMS *o = &pa->s.oaep;
    bool null_source;
    size_t want, got;
    const uint8_t *src;

    o->hashAlg = (CK_MECHANISM_TYPE)fuzz_take(in, 4);
    o->mgf = (CK_RSA_PKCS_MGF_TYPE)fuzz_take(in, 4);
    o->source = (CK_RSA_PKCS_OAEP_SOURCE_TYPE)fuzz_take(in, 4);
    null_source = fuzz_take(in, 1) & 1;
    want = (size_t)fuzz_take(in, 2);
    if (null_source) {
        o->ulSourceDataLen = want;
        return;
    }
    src = fuzz_take_bytes(in, want, &got);
    o->pSourceData = pa->source = dup_exact(src, got);
    o->ulSourceDataLen = got;
}

static void params_read(struct fuzz_in *in, struct params *pa)
{
    const uint8_t *p;
    size_t got;

    memset(pa, 0, sizeof *pa);
    pa->mech.mechanism = (CK_MECHANISM_TYPE)fuzz_take(in, 4);
    switch (fuzz_take(in, 1) % 6) {
    case 0:
        pa->mech.ulParameterLen = (CK_ULONG)fuzz_take(in, 2);
        return;
    case 1:
        p = fuzz_take_bytes(in, (size_t)fuzz_take(in, 2), &got);
        /* Raw bytes the size of OAEP's structure would hold a wild pointer: shape 3 does it. */
        if (got == sizeof(CK_RSA_PKCS_OAEP_PARAMS))
            got--;
        pa->mech.pParameter = pa->raw = dup_exact(p, got);
        pa->mech.ulParameterLen = got;
        return;
    case 2:
        pa->s.pss.hashAlg = (CK_MECHANISM_TYPE)fuzz_take(in, 4);
        pa->s.pss.mgf = (CK_RSA_PKCS_MGF_TYPE)fuzz_take(in, 4);
        pa->s.pss.sLen = (CK_ULONG)fuzz_take(in, 2);
        pa->mech.ulParameterLen = sizeof pa->s.pss;
        break;
    case 3:
        oaep_read(in, pa);
        pa->mech.ulParameterLen = sizeof pa->s.oaep;
        break;
    case 4:
        pa->s.ctr.ulCounterBits = (CK_ULONG)fuzz_take(in, 1);
        p = fuzz_take_bytes(in, sizeof pa->s.ctr.cb, &got);
        memcpy(pa->s.ctr.cb, p, got);
        pa->mech.ulParameterLen = sizeof pa->s.ctr;
        break;
    default:
        pa->s.ulong = (CK_ULONG)fuzz_take(in, 8);
        pa->mech.ulParameterLen = sizeof pa->s.ulong;
        break;
    }
    pa->mech.pParameter = &pa->s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in;
    struct params pa;
    enum op_kind kind;
    CK_OBJECT_HANDLE key;
    CK_RV rv;

    fake_init();
    fuzz_in_init(&in, data, size);
    kind = (enum op_kind)(fuzz_take(&in, 1) % OP_KINDS);
    key = (CK_OBJECT_HANDLE)fuzz_take(&in, 1);
    fake_reset(fuzz_take(&in, 1) & 1 ? LOGIN_USER : LOGIN_NONE, false);
    params_read(&in, &pa);
    rv = op_init(fake_module(), FAKE_SESSION, kind, &pa.mech, key);
    if (fuzz_report("C_*Init", rv) == CKR_OK) {
        drive_save_restore(key, key);
        drive_ops(&in, kind, key, key);
    }
    free(pa.raw);
    free(pa.source);
    fake_reset(LOGIN_NONE, false);
    return 0;
}
