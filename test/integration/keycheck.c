/* What the fault and crash tests check afterwards: every key pair whole, and every key signs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/keycheck.h"

#define MAX_OBJECTS 512

static CK_ULONG find_class(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                           const char *label, CK_OBJECT_HANDLE *out)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, 1 },
                         { CKA_LABEL, (void *)label, label ? strlen(label) : 0 } };

    return find_all(f, s, t, label ? 3 : 2, out, MAX_OBJECTS);
}

/* Whether an object of class cls with the same CKA_ID as o exists. */
static int has_partner(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                       CK_OBJECT_CLASS cls)
{
    CK_OBJECT_HANDLE found[4];
    CK_BBOOL yes = CK_TRUE;
    size_t id_len;
    CK_RV rv;
    uint8_t *id = attr_get(f, s, o, CKA_ID, &id_len, &rv);
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, 1 },
                         { CKA_ID, id, id_len } };
    CK_ULONG n;

    if (id == NULL)
        return 0;
    n = find_all(f, s, t, 3, found, 4);
    free(id);
    return n == 1;
}

void key_census(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                struct key_census *out)
{
    CK_OBJECT_HANDLE *h = calloc(MAX_OBJECTS, sizeof *h);

    memset(out, 0, sizeof *out);
    if (h == NULL)
        return;
    out->private_keys = find_class(f, s, CKO_PRIVATE_KEY, label, h);
    for (CK_ULONG i = 0; i < out->private_keys; i++)
        out->unpaired += !has_partner(f, s, h[i], CKO_PUBLIC_KEY);
    out->public_keys = find_class(f, s, CKO_PUBLIC_KEY, label, h);
    for (CK_ULONG i = 0; i < out->public_keys; i++)
        out->unpaired += !has_partner(f, s, h[i], CKO_PRIVATE_KEY);
    out->data_objects = find_class(f, s, CKO_DATA, label, h);
    free(h);
}

/* The public half of private key o, as OpenSSL reads it. */
static EVP_PKEY *public_half(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_OBJECT_HANDLE pub;
    size_t id_len;
    CK_RV rv;
    uint8_t *id = attr_get(f, s, o, CKA_ID, &id_len, &rv);
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, id, id_len } };
    EVP_PKEY *k = NULL;

    if (id != NULL && find_all(f, s, t, 2, &pub, 1) == 1)
        k = public_key_of(f, s, pub);
    free(id);
    return k;
}

static int sign_and_verify(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
    static const char msg[] = "a message signed after a fault";
    CK_KEY_TYPE kt = attr_ulong(f, s, o, CKA_KEY_TYPE);
    CK_MECHANISM m = { kt == CKK_EC ? CKM_ECDSA_SHA256 : CKM_SHA256_RSA_PKCS, NULL, 0 };
    EVP_PKEY *pub = public_half(f, s, o);
    uint8_t sig[512];
    CK_ULONG sig_len = sizeof sig;
    CK_RV rv = CKR_GENERAL_ERROR;
    int ok = 0;

    if (pub != NULL && (rv = f->C_SignInit(s, &m, o)) == CKR_OK &&
        (rv = f->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg - 1, sig, &sig_len)) == CKR_OK)
        ok = cu_verify(pub, &m, msg, sizeof msg - 1, sig, sig_len);
    if (!ok)
        fprintf(stderr, "key %lu did not sign and verify (CK_RV 0x%lx, public half %s)\n",
                (unsigned long)o, (unsigned long)rv, pub ? "found" : "missing");
    EVP_PKEY_free(pub);
    return ok;
}

CK_ULONG keys_sign_and_verify(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE *h = calloc(MAX_OBJECTS, sizeof *h);
    CK_ULONG n, good = 0;

    if (h == NULL)
        return 0;
    n = find_class(f, s, CKO_PRIVATE_KEY, NULL, h);
    for (CK_ULONG i = 0; i < n; i++)
        good += (CK_ULONG)sign_and_verify(f, s, h[i]);
    free(h);
    return good;
}

CK_RV ec_token_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label)
{
    static const CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pt[] = { { CKA_EC_PARAMS, (void *)p256, sizeof p256 }, { CKA_TOKEN, &yes, 1 },
                          { CKA_LABEL, (void *)label, strlen(label) } };
    CK_ATTRIBUTE kt[] = { { CKA_TOKEN, &yes, 1 }, { CKA_SIGN, &yes, 1 },
                          { CKA_LABEL, (void *)label, strlen(label) } };
    CK_OBJECT_HANDLE pub, priv;

    return f->C_GenerateKeyPair(s, &m, pt, 3, kt, 3, &pub, &priv);
}

CK_RV rsa_token_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label)
{
    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pt[] = { { CKA_MODULUS_BITS, &bits, sizeof bits }, { CKA_TOKEN, &yes, 1 },
                          { CKA_LABEL, (void *)label, strlen(label) } };
    CK_ATTRIBUTE kt[] = { { CKA_TOKEN, &yes, 1 }, { CKA_SIGN, &yes, 1 },
                          { CKA_LABEL, (void *)label, strlen(label) } };
    CK_OBJECT_HANDLE pub, priv;

    return f->C_GenerateKeyPair(s, &m, pt, 3, kt, 3, &pub, &priv);
}
