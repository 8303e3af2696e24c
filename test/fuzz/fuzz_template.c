/*
 * Fuzz target: attribute templates through the token layer's entry functions, as
 * C_CreateObject, C_GenerateKey, C_GenerateKeyPair, C_SetAttributeValue, C_CopyObject,
 * C_FindObjectsInit and C_GetAttributeValue pass them, on a session of the fake token
 * (fake.c: no TPM, so key creation stops at the TPM call, after every template check).
 *
 *   byte 0   the call (mod 7: create, generate key, generate pair, set, copy, find, get)
 *   byte 1   bit 0: the user is logged in, bit 1: the SO is, bit 2: read/write session
 *   byte 2   the object handle (set, copy, get) or the generation mechanism
 *   then one template (two for a pair): u8 count, then per attribute u32 type (LE), u8
 *   flags (bit 0: pValue NULL, bit 1: ulValueLen CK_UNAVAILABLE_INFORMATION, bit 2: the
 *   type's top bit set), u16 length (LE), and unless pValue is NULL that many bytes.
 *
 * Every value gets a buffer of exactly its length, so a read past it is caught.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz/fake.h"
#include "fuzz/fuzz.h"
#include "token/find.h"
#include "token/keygen.h"
#include "token/object.h"

#define MAX_ATTRS 64

struct template {
    CK_ATTRIBUTE a[MAX_ATTRS];
    CK_ULONG n;
};

static void template_read(struct fuzz_in *in, struct template *t, bool for_output)
{
    size_t count = (size_t)fuzz_take(in, 1) % (MAX_ATTRS + 1);

    memset(t, 0, sizeof *t);
    for (t->n = 0; t->n < count; t->n++) {
        CK_ATTRIBUTE *a = &t->a[t->n];
        uint8_t flags;
        size_t want, got = 0;
        const uint8_t *v;

        a->type = (CK_ATTRIBUTE_TYPE)fuzz_take(in, 4);
        flags = (uint8_t)fuzz_take(in, 1);
        want = (size_t)fuzz_take(in, 2);
        if (flags & 4)
            a->type |= (CK_ATTRIBUTE_TYPE)1 << (sizeof(CK_ULONG) * 8 - 1);
        if (flags & 1) {
            a->ulValueLen = flags & 2 ? CK_UNAVAILABLE_INFORMATION : want;
            continue;
        }
        v = for_output ? NULL : fuzz_take_bytes(in, want, &got);
        a->ulValueLen = for_output ? want : got;
        /* Exactly the length (an empty value still gets a pointer that is not NULL). */
        if ((a->pValue = malloc(a->ulValueLen > 0 ? a->ulValueLen : 1)) == NULL)
            abort();
        if (got > 0)
            memcpy(a->pValue, v, got);
    }
}

static void template_free(struct template *t)
{
    for (CK_ULONG i = 0; i < t->n; i++)
        free(t->a[i].pValue);
}

static const CK_MECHANISM_TYPE generators[] = {
    CKM_AES_KEY_GEN, CKM_GENERIC_SECRET_KEY_GEN, CKM_DES3_KEY_GEN,
    CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN, CKM_SHA256,
};

static void find(struct module *m, struct template *t)
{
    CK_OBJECT_HANDLE found[8];
    CK_ULONG count = 0;

    if (fuzz_report("C_FindObjectsInit", find_init(m, FAKE_SESSION, t->a, t->n)) != CKR_OK)
        return;
    while (find_next(m, FAKE_SESSION, found, 8, &count) == CKR_OK && count > 0)
        fuzz_report("C_FindObjects count", count);
    find_final(m, FAKE_SESSION);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct module *m;
    struct fuzz_in in;
    struct template t1, t2;
    CK_MECHANISM mech = { 0 };
    CK_OBJECT_HANDLE h1, h2;
    uint8_t call, who, which;

    fake_init();
    m = fake_module();
    fuzz_in_init(&in, data, size);
    call = (uint8_t)(fuzz_take(&in, 1) % 7);
    who = (uint8_t)fuzz_take(&in, 1);
    which = (uint8_t)fuzz_take(&in, 1);
    fake_reset(who & 2 ? LOGIN_SO : who & 1 ? LOGIN_USER : LOGIN_NONE, who & 4);
    template_read(&in, &t1, call == 6);
    template_read(&in, &t2, false);
    mech.mechanism = generators[which % (sizeof generators / sizeof generators[0])];
    switch (call) {
    case 0:
        fuzz_report("C_CreateObject", object_create(m, FAKE_SESSION, t1.a, t1.n, &h1));
        break;
    case 1:
        fuzz_report("C_GenerateKey", keygen_key(m, FAKE_SESSION, &mech, t1.a, t1.n, &h1));
        break;
    case 2:
        fuzz_report("C_GenerateKeyPair",
                    keygen_pair(m, FAKE_SESSION, &mech, t1.a, t1.n, t2.a, t2.n, &h1, &h2));
        break;
    case 3:
        fuzz_report("C_SetAttributeValue",
                    object_set_attributes(m, FAKE_SESSION, which % (FAKE_OBJECTS + 1), t1.a, t1.n));
        break;
    case 4:
        fuzz_report("C_CopyObject",
                    object_copy(m, FAKE_SESSION, which % (FAKE_OBJECTS + 1), t1.a, t1.n, &h1));
        break;
    case 5:
        find(m, &t1);
        break;
    default:
        fuzz_report("C_GetAttributeValue",
                    object_get_attributes(m, FAKE_SESSION, which % (FAKE_OBJECTS + 1), t1.a, t1.n));
        break;
    }
    template_free(&t1);
    template_free(&t2);
    fake_reset(LOGIN_NONE, false);
    return 0;
}
