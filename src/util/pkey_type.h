/* Key type names for EVP_PKEY_CTX_new_from_name that keep the work in OpenSSL's providers. */
#ifndef TPMTOK_PKEY_TYPE_H
#define TPMTOK_PKEY_TYPE_H

/*
 * The module runs inside applications that may have made an ENGINE the default for RSA or EC
 * keys (`openssl dgst -engine pkcs11` does, for every algorithm). OpenSSL 3.0 gives a context
 * made from a name with a legacy NID ("EC", "RSA") to that engine, and an engine's context cannot
 * build a key from parameters (EVP_PKEY_fromdata_init fails). The providers also know each key
 * type by its OID, which has no legacy NID by that spelling, so a context made from the OID is
 * always a provider's.
 */
#define PKEY_TYPE_EC "1.2.840.10045.2.1"      /* id-ecPublicKey */
#define PKEY_TYPE_RSA "1.2.840.113549.1.1.1"  /* rsaEncryption */

#endif
