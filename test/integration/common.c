/* Helpers the integration tests share: attribute reads and OpenSSL views of token keys. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "harness/loader.h"
#include "integration/common.h"

uint8_t *attr_get(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                  CK_ATTRIBUTE_TYPE type, size_t *len, CK_RV *rv)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    uint8_t *p;

    if ((*rv = f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK)
        return NULL;
    if ((p = malloc(a.ulValueLen + 1)) == NULL)
        return NULL;
    a.pValue = p;
    if ((*rv = f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK) {
        free(p);
        return NULL;
    }
    *len = a.ulValueLen;
    return p;
}

CK_ULONG attr_ulong(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                    CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG v = (CK_ULONG)-2;
    CK_ATTRIBUTE a = { type, &v, sizeof v };

    return f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK ? v : (CK_ULONG)-2;
}

bool attr_bool(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
               CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL v = 2;
    CK_ATTRIBUTE a = { type, &v, sizeof v };

    return f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && v == CK_TRUE;
}

CK_RV attr_status(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                  CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };

    return f->C_GetAttributeValue(s, o, &a, 1);
}

CK_ULONG find_all(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n,
                  CK_OBJECT_HANDLE *out, CK_ULONG max)
{
    CK_ULONG count = 0;

    if (f->C_FindObjectsInit(s, t, n) != CKR_OK)
        return (CK_ULONG)-1;
    if (f->C_FindObjects(s, out, max, &count) != CKR_OK)
        count = (CK_ULONG)-1;
    f->C_FindObjectsFinal(s);
    return count;
}

EVP_PKEY *public_key_of(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
    size_t len;
    CK_RV rv;
    uint8_t *der = attr_get(f, s, o, CKA_PUBLIC_KEY_INFO, &len, &rv);
    const unsigned char *p = der;
    EVP_PKEY *pkey = der ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;

    free(der);
    return pkey;
}

int file_contains(const char *path, const void *needle, size_t n)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int hits = 0;

    if (fp == NULL)
        return -1;
    if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size)) != NULL && fread(buf, 1, (size_t)size, fp) == (size_t)size)
        for (size_t i = 0; n <= (size_t)size && i <= (size_t)size - n; i++)
            hits += memcmp(buf + i, needle, n) == 0;
    free(buf);
    fclose(fp);
    return hits;
}

CK_SLOT_ID token_with_user(CK_FUNCTION_LIST *f, const char *label, CK_SESSION_HANDLE *s)
{
    CK_SLOT_ID slot = p11_new_token(f, label, SO_PIN, USER_PIN);

    if (slot == (CK_SLOT_ID)-1 || f->C_OpenSession(slot, RW_SESSION, NULL, NULL, s) != CKR_OK ||
        f->C_Login(*s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK)
        return (CK_SLOT_ID)-1;
    return slot;
}
