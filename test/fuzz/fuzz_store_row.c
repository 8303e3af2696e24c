/*
 * Fuzz target: object rows as read back from the store (token/object: object_from_row, the
 * attribute decoding, private rows opened with the token secret), then what the module does
 * with an object it read: C_GetAttributeValue over all its attributes, its size, its key
 * identity, its public key, its TPM public blob.
 *
 *   byte 0   bit 0: a private row, whose attributes this target seals with the token secret
 *                   as token/object does (so the decoder sees the fuzzer's bytes);
 *            bit 1: a private row, the bytes as they are (the seal must refuse them);
 *            bit 2: no user logged in (no secret)
 *   u16      length (LE) of the TPM public blob, then the blob
 *   rest     the attributes (u32 count, then per attribute u64 type, u32 length, bytes)
 *
 * Checked: attributes that decode encode back to exactly the same bytes, and the object
 * matches a template of its own attributes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fuzz/fake.h"
#include "fuzz/fuzz.h"
#include "store/store.h"
#include "token/attr_rules.h"
#include "token/der.h"
#include "token/object.h"
#include "token/wrap.h"
#include "util/secret.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_store_row: %s\n", what);
    abort();
}

static void check_canonical(const struct attrs *a, const uint8_t *plain, size_t plain_len)
{
    uint8_t *enc = NULL;
    size_t enc_len = 0;

    if (!attrs_encode(a, &enc, &enc_len))
        fail("decoded attributes do not encode");
    if (enc_len != plain_len || memcmp(enc, plain, plain_len) != 0)
        fail("decoded attributes encode to other bytes");
    secret_free(enc, enc_len);
}

/* C_GetAttributeValue as an application calls it: lengths first, then the values. */
static void get_all(const struct object *o)
{
    CK_ATTRIBUTE *t = calloc(o->attrs.n + 1, sizeof *t);
    size_t n = o->attrs.n;

    if (t == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        t[i].type = o->attrs.a[i].type;
    attr_rules_get(&o->attrs, t, n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
            continue;
        if ((t[i].pValue = malloc(t[i].ulValueLen > 0 ? t[i].ulValueLen : 1)) == NULL)
            abort();
    }
    attr_rules_get(&o->attrs, t, n);
    for (size_t i = 0; i < n; i++) {
        attr_rules_is_sensitive(&o->attrs, t[i].type);
        free(t[i].pValue);
        t[i].pValue = o->attrs.a[i].value;
        t[i].ulValueLen = o->attrs.a[i].len;
    }
    if (!attrs_match(&o->attrs, t, n))
        fail("an object does not match its own attributes");
    free(t);
}

static void use_object(const struct object *o)
{
    struct tpm_key_public pub;
    const struct attr *value;
    struct der_cert cert;
    uint8_t id[32];
    EVP_PKEY *pkey;

    get_all(o);
    attr_rules_object_size(&o->attrs);
    object_key_identity(o, id);
    if (o->blob.pub != NULL)
        tpm_blob_public(&o->blob, &pub);
    if (object_public_from_attrs(&o->attrs, &pub) == CKR_OK &&
        (pkey = der_pkey_from_public(&pub)) != NULL)
        EVP_PKEY_free(pkey);
    if (object_class(o) == CKO_CERTIFICATE && (value = attrs_find(&o->attrs, CKA_VALUE)) != NULL &&
        der_cert_parse(value->value, value->len, &cert))
        der_cert_free(&cert);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_object row = { .id = 9, .token_id = 1 };
    struct token *tok;
    struct object *o = NULL;
    struct fuzz_in in;
    const uint8_t *attrs, *pub;
    uint8_t flags, *sealed = NULL;
    size_t attrs_len, pub_len, sealed_len = 0;

    fake_init();
    tok = fake_session()->tok;
    fuzz_in_init(&in, data, size);
    flags = (uint8_t)fuzz_take(&in, 1);
    pub = fuzz_take_bytes(&in, (size_t)fuzz_take(&in, 2), &pub_len);
    attrs = fuzz_take_bytes(&in, in.left, &attrs_len);
    row.private = flags & 3;
    row.attrs = (uint8_t *)attrs;
    row.attrs_len = attrs_len;
    if (flags & 1) {
        if (!wrap_seal(fake_secret, WRAP_OBJECT_ATTRS, (const uint8_t *)tok->row.serial,
                       strlen(tok->row.serial), attrs, attrs_len, &sealed, &sealed_len))
            return 0;
        row.attrs = sealed;
        row.attrs_len = sealed_len;
    }
    if (pub_len > 0) {
        row.tpm_pub = (uint8_t *)pub;
        row.tpm_pub_len = pub_len;
    }
    if (fuzz_report("object_from_row",
                    object_from_row(tok, &row, flags & 4 ? NULL : fake_secret, &o)) == CKR_OK) {
        check_canonical(&o->attrs, attrs, attrs_len);
        use_object(o);
    }
    object_free(o);
    free(sealed);
    return 0;
}
