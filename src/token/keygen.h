/*
 * token/keygen: keys made by the TPM (C_GenerateKey, C_GenerateKeyPair) and keys brought into
 * it (C_CreateObject of a private or secret key). Every key gets a random auth value; the TPM
 * holds the key, the token keeps the wrapped blob and the public attributes.
 */
#ifndef TPMTOK_KEYGEN_H
#define TPMTOK_KEYGEN_H

#include "p11.h"
#include "token/attr.h"
#include "token/module.h"
#include "token/session.h"

CK_RV keygen_key(struct module *m, CK_SESSION_HANDLE h, const CK_MECHANISM *mech,
                 CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV keygen_pair(struct module *m, CK_SESSION_HANDLE h, const CK_MECHANISM *mech,
                  CK_ATTRIBUTE *pub_tmpl, CK_ULONG pub_n, CK_ATTRIBUTE *priv_tmpl,
                  CK_ULONG priv_n, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
/*
 * C_CreateObject of a CKO_PRIVATE_KEY or CKO_SECRET_KEY (the template in a): the key goes into
 * the TPM and its secret components are dropped; only the wrapped blob is kept.
 */
CK_RV keygen_import(struct module *m, struct session *s, struct attrs *a, CK_OBJECT_HANDLE *out);

#endif
