/*
 * tpmtok.h: tpmtok's vendor-defined PKCS#11 attributes, for applications that bind keys to the
 * TPM's PCRs (libtpmtok(8), "Keys bound to PCRs"). Include after a PKCS#11 header.
 */
#ifndef TPMTOK_H
#define TPMTOK_H

/*
 * CKA_TPMTOK_PCR_SELECTION (CK_TPMTOK_PCR_SELECTION): on a new private or secret key, binds its
 * use to these PCRs having the values of CKA_TPMTOK_PCR_VALUES (by default, the values they
 * have when the key is made). The user's login is still needed, as for any key.
 */
#define CKA_TPMTOK_PCR_SELECTION (CKA_VENDOR_DEFINED | 0x54504d01UL)
/* The PCRs' values (each the bank's digest size, in ascending index order). */
#define CKA_TPMTOK_PCR_VALUES (CKA_VENDOR_DEFINED | 0x54504d02UL)
/*
 * CKA_TPMTOK_POLICY_AUTHORITY (DER SubjectPublicKeyInfo, EC P-256/P-384 or RSA): on a new key,
 * binds its use to PCR values that this authority approves (signed approvals stored on the
 * token as data objects, CKA_APPLICATION TPMTOK_APPROVAL_APPLICATION), instead of fixed ones.
 */
#define CKA_TPMTOK_POLICY_AUTHORITY (CKA_VENDOR_DEFINED | 0x54504d03UL)
/* Read-only: the key's TPM authPolicy (SHA-256). */
#define CKA_TPMTOK_POLICY_DIGEST (CKA_VENDOR_DEFINED | 0x54504d04UL)

typedef struct CK_TPMTOK_PCR_SELECTION {
    CK_MECHANISM_TYPE hashAlg;   /* the bank: CKM_SHA_1, CKM_SHA256, CKM_SHA384, CKM_SHA512 */
    CK_ULONG pcrMask;            /* bit n selects PCR n (0..23) */
} CK_TPMTOK_PCR_SELECTION;

/* CKA_APPLICATION of the data objects that hold an authority's approvals (CKA_VALUE). */
#define TPMTOK_APPROVAL_APPLICATION "tpmtok approved policy"

#endif
