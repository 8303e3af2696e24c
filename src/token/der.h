/*
 * token/der: the DER encodings PKCS#11 attributes carry (EC parameters and points, public key
 * info, X.509 names and serial numbers), produced and parsed by OpenSSL.
 */
#ifndef TPMTOK_DER_H
#define TPMTOK_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "tpm/tpm.h"

/*
 * The TPM curve (TPM2_ECC_*) named by CKA_EC_PARAMS: a DER namedCurve OID, or a DER
 * PrintableString with the curve's name ("prime256v1", "secp384r1", "P-521"...). 0 if the
 * encoding is malformed or the curve is not one tpmtok knows.
 */
uint16_t der_ec_params_curve(const uint8_t *der, size_t len);
/* True if der is one DER namedCurve OID or PrintableString (known to tpmtok or not). */
bool der_ec_params_wellformed(const uint8_t *der, size_t len);
/* CKA_EC_PARAMS for a TPM curve (the namedCurve OID). false if unknown. Free *out with OPENSSL_free. */
bool der_ec_params_encode(uint16_t curve, uint8_t **out, size_t *len);
/* OpenSSL's NID for a TPM curve, or NID_undef (0). */
int der_curve_nid(uint16_t curve);
/* OpenSSL's group name for a TPM curve, or NULL. */
const char *der_curve_group(uint16_t curve);

/* CKA_EC_POINT: a DER OCTET STRING holding 04 || x || y. Free *out with OPENSSL_free. */
bool der_ec_point_encode(const uint8_t *x, const uint8_t *y, size_t coord, uint8_t **out,
                         size_t *len);
/* Reads CKA_EC_POINT (DER OCTET STRING, or the bare 04 || x || y some applications send). */
bool der_ec_point_decode(const uint8_t *in, size_t len, size_t coord, uint8_t *x, uint8_t *y);

/* The public key as an OpenSSL key, or NULL. */
EVP_PKEY *der_pkey_from_public(const struct tpm_key_public *pub);
/* Its DER SubjectPublicKeyInfo (CKA_PUBLIC_KEY_INFO). Free *out with OPENSSL_free. */
bool der_spki(const struct tpm_key_public *pub, uint8_t **out, size_t *len);
/* The default CKA_ID: SHA-1 of the RSA modulus, or of the EC point 04 || x || y. */
bool der_key_id(const struct tpm_key_public *pub, uint8_t out[20]);

/* What PKCS#11 takes from an X.509 certificate: DER fields, freed by der_cert_free. */
struct der_cert {
    uint8_t *subject;
    size_t subject_len;
    uint8_t *issuer;
    size_t issuer_len;
    uint8_t *serial;      /* the serial number as a DER INTEGER */
    size_t serial_len;
    uint8_t *spki;        /* the subject's SubjectPublicKeyInfo */
    size_t spki_len;
};
/* false if der is not exactly one X.509 certificate. */
bool der_cert_parse(const uint8_t *der, size_t len, struct der_cert *out);
void der_cert_free(struct der_cert *c);

#endif
