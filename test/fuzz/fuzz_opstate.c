/*
 * Fuzz target: C_SetOperationState (token/opstate) with fuzzed saved states, on a session of
 * the fake token (fake.c). A fuzzer cannot forge the state's MAC or its AES-GCM records, so
 * inputs come in two kinds:
 *
 *   byte 0   bit 0: 0 = the rest is the state as the application hands it over (the MAC
 *                       check and what precedes it);
 *                   1 = u16 header length (LE), the header, u16 length of the records and
 *                       the records in the clear: this target seals the records (with the
 *                       token secret when the header's flags byte says so) and MACs the whole
 *                       with the fake token's keys, so the parser behind the MAC sees the
 *                       fuzzer's bytes; then u8 an operation kind (mod 5) and the data steps
 *                       drive.h runs through it;
 *            bit 1: the user is logged in; bit 2: read/write session.
 *   byte 1   hEncryptionKey, byte 2 hAuthenticationKey (fake object handles; 0 = none).
 *
 * A state that restores is saved again (C_GetOperationState), data goes through it, and the
 * operations are ended.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz/drive.h"
#include "fuzz/fake.h"
#include "fuzz/fuzz.h"
#include "token/opstate.h"
#include "token/wrap.h"
#include "util/buf.h"

#define FLAGS_AT 9   /* the header's flags byte: after the magic (8) and the version */

/* The state as token/opstate would have written it around the fuzzer's header and records. */
static uint8_t *seal_state(const uint8_t *head, size_t head_len, const uint8_t *body,
                           size_t body_len, size_t *out_len)
{
    bool keyed = head_len > FLAGS_AT && (head[FLAGS_AT] & 1);
    uint8_t *sealed = NULL, key[32], mac[32];
    unsigned int mac_len = 0;
    struct buf b;
    uint8_t *out = NULL;
    size_t sealed_len = 0;

    buf_init(&b, false);
    buf_put_bytes(&b, head, head_len);
    if (!wrap_seal(keyed ? fake_secret : fake_seed, WRAP_STATE_BODY, head, head_len, body,
                   body_len, &sealed, &sealed_len))
        goto out;
    buf_put_blob(&b, sealed, sealed_len);
    if (buf_failed(&b) || !wrap_derive(fake_seed, WRAP_STATE_MAC, key) ||
        HMAC(EVP_sha256(), key, sizeof key, b.data, b.len, mac, &mac_len) == NULL)
        goto out;
    buf_put_bytes(&b, mac, mac_len);
    out = buf_steal(&b, out_len);
out:
    buf_free(&b);
    free(sealed);
    return out;
}

static void save_again(struct module *m)
{
    CK_ULONG len = 0;
    uint8_t *state;

    if (opstate_get(m, FAKE_SESSION, NULL, &len) != CKR_OK || (state = malloc(len)) == NULL)
        return;
    opstate_get(m, FAKE_SESSION, state, &len);
    free(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in;
    uint8_t mode, *state = NULL;
    const uint8_t *head, *body;
    size_t head_len, body_len, state_len;
    CK_OBJECT_HANDLE enc, auth;
    enum op_kind kind;

    fake_init();
    fuzz_in_init(&in, data, size);
    mode = (uint8_t)fuzz_take(&in, 1);
    enc = (CK_OBJECT_HANDLE)fuzz_take(&in, 1);
    auth = (CK_OBJECT_HANDLE)fuzz_take(&in, 1);
    fake_reset(mode & 2 ? LOGIN_USER : LOGIN_NONE, mode & 4);
    if (mode & 1) {
        head = fuzz_take_bytes(&in, (size_t)fuzz_take(&in, 2), &head_len);
        body = fuzz_take_bytes(&in, (size_t)fuzz_take(&in, 2), &body_len);
        if ((state = seal_state(head, head_len, body, body_len, &state_len)) == NULL)
            return 0;
    } else {
        head = fuzz_take_bytes(&in, in.left, &state_len);
        if ((state = malloc(state_len + 1)) == NULL)
            return 0;
        memcpy(state, head, state_len);
    }
    if (fuzz_report("C_SetOperationState",
                    opstate_set(fake_module(), FAKE_SESSION, state, state_len, enc, auth)) ==
        CKR_OK) {
        save_again(fake_module());
        kind = (enum op_kind)(fuzz_take(&in, 1) % OP_KINDS);
        drive_ops(&in, kind, enc, auth);
    }
    free(state);
    fake_reset(LOGIN_NONE, false);
    return 0;
}
