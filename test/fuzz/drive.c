/* Fuzz targets' application side: data through an operation, as drive.h says. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/drive.h"
#include "fuzz/fake.h"
#include "token/opstate.h"

#define MAX_STEPS 8

/* Whether the session's operation of kind uses a key (which C_SetOperationState then needs). */
static bool keyed(enum op_kind kind)
{
    const struct op *op = fake_session()->ops[kind];

    return op != NULL && op->has_key_id;
}

void drive_save_restore(CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
    struct module *m = fake_module();
    CK_ULONG len = 0;
    uint8_t *state;
    CK_RV rv;

    if (!keyed(OP_ENCRYPT) && !keyed(OP_DECRYPT))
        enc_key = CK_INVALID_HANDLE;
    if (!keyed(OP_SIGN) && !keyed(OP_VERIFY))
        auth_key = CK_INVALID_HANDLE;
    if (opstate_get(m, FAKE_SESSION, NULL, &len) != CKR_OK || (state = malloc(len)) == NULL)
        return;
    if (opstate_get(m, FAKE_SESSION, state, &len) == CKR_OK &&
        (rv = opstate_set(m, FAKE_SESSION, state, len, enc_key, auth_key)) != CKR_OK) {
        fprintf(stderr, "a saved state does not restore: 0x%lx\n", (unsigned long)rv);
        abort();
    }
    free(state);
}

/* A copy of up to n input bytes in a buffer of exactly that size. */
static uint8_t *take_exact(struct fuzz_in *in, size_t *len)
{
    const uint8_t *p = fuzz_take_bytes(in, (size_t)fuzz_take(in, 2), len);
    uint8_t *copy = malloc(*len > 0 ? *len : 1);

    if (copy == NULL)
        abort();
    memcpy(copy, p, *len);
    return copy;
}

static void step(struct fuzz_in *in, enum op_kind kind, CK_OBJECT_HANDLE enc_key,
                 CK_OBJECT_HANDLE auth_key)
{
    struct module *m = fake_module();
    bool crypt = kind == OP_ENCRYPT || kind == OP_DECRYPT;
    uint8_t call = (uint8_t)fuzz_take(in, 1), *out = NULL, *data, *sig;
    CK_ULONG out_len = (CK_ULONG)fuzz_take(in, 2);
    size_t data_len, sig_len;

    data = take_exact(in, &data_len);
    sig = take_exact(in, &sig_len);
    if (!(call & 0x10) && (out = malloc(out_len > 0 ? out_len : 1)) == NULL)
        abort();
    if ((call & 0x20) && data_len == 0) {
        free(data);
        data = NULL;
    }
    if ((call & 0x20) && sig_len == 0) {
        free(sig);
        sig = NULL;
    }
    switch (call % 4) {
    case 0:
        fuzz_report("C_*Update", op_update(m, FAKE_SESSION, kind, data, data_len,
                                           crypt ? out : NULL, crypt ? &out_len : NULL));
        break;
    case 1:
        fuzz_report("C_*Final", kind == OP_VERIFY
                                    ? op_final(m, FAKE_SESSION, kind, sig, sig_len, NULL, NULL)
                                    : op_final(m, FAKE_SESSION, kind, NULL, 0, out, &out_len));
        break;
    case 2:
        fuzz_report("C_<single-part>",
                    kind == OP_VERIFY
                        ? op_single(m, FAKE_SESSION, kind, data, data_len, sig, sig_len, NULL,
                                    NULL)
                        : op_single(m, FAKE_SESSION, kind, data, data_len, NULL, 0, out,
                                    &out_len));
        break;
    default:
        drive_save_restore(enc_key, auth_key);
        break;
    }
    free(out);
    free(data);
    free(sig);
}

void drive_ops(struct fuzz_in *in, enum op_kind kind, CK_OBJECT_HANDLE enc_key,
               CK_OBJECT_HANDLE auth_key)
{
    for (int i = 0; i < MAX_STEPS && in->left > 0; i++)
        step(in, kind, enc_key, auth_key);
}
