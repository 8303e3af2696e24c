#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (test/fuzz/corpus/<target>/seed-*).

The input layouts are described at the top of each fuzz_<target>.c. Keys and certificates
come from the openssl command line, so running this again gives other (equally valid) bytes.
Inputs the fuzzers found later live next to the seeds under their libFuzzer names.
Usage: test/fuzz/make-seeds.py [corpus-dir]
"""
import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")

# PKCS#11 constants (pkcs11t.h).
CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY = 0, 1, 2, 3, 4
CKK_RSA, CKK_EC, CKK_GENERIC_SECRET, CKK_AES = 0, 3, 0x10, 0x1F
CKA = dict(CLASS=0, TOKEN=1, PRIVATE=2, LABEL=3, VALUE=0x11, CERTIFICATE_TYPE=0x80,
           KEY_TYPE=0x100, ID=0x102, SENSITIVE=0x103, ENCRYPT=0x104, DECRYPT=0x105,
           SIGN=0x108, VERIFY=0x10A, MODULUS=0x120, MODULUS_BITS=0x121,
           PUBLIC_EXPONENT=0x122, PRIVATE_EXPONENT=0x123, PRIME_1=0x124, PRIME_2=0x125,
           EXPONENT_1=0x126, EXPONENT_2=0x127, COEFFICIENT=0x128, VALUE_LEN=0x161,
           EXTRACTABLE=0x162, MODIFIABLE=0x170, EC_PARAMS=0x180, EC_POINT=0x181)
CKM = dict(RSA_PKCS_KEY_PAIR_GEN=0, RSA_PKCS=1, RSA_X_509=3, RSA_PKCS_OAEP=9,
           RSA_PKCS_PSS=0xD, SHA256_RSA_PKCS=0x40, SHA256_RSA_PKCS_PSS=0x43, SHA256=0x250,
           SHA256_HMAC=0x251, SHA256_HMAC_GENERAL=0x252, EC_KEY_PAIR_GEN=0x1040,
           ECDSA=0x1041, ECDSA_SHA256=0x1044, AES_KEY_GEN=0x1080, AES_ECB=0x1081,
           AES_CBC=0x1082, AES_CBC_PAD=0x1085, AES_CTR=0x1086, AES_CFB128=0x2107)
CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED = 2, 1
OP_ENCRYPT, OP_DECRYPT, OP_DIGEST, OP_SIGN, OP_VERIFY = range(5)
# fake.h's objects and token.
FAKE_AES, FAKE_HMAC, FAKE_RSA_PRIV, FAKE_RSA_PUB, FAKE_EC_PRIV, FAKE_EC_PUB, FAKE_DATA = range(1, 8)
FAKE_BLOBS = {FAKE_AES: b"fake-aes", FAKE_HMAC: b"fake-hmac", FAKE_RSA_PRIV: b"fake-rsa",
              FAKE_EC_PRIV: b"fake-ec"}
FAKE_SERIAL = b"FUZZ000000000001"
FAKE_BOOTS = 0x0102030405060708

P256_OID = bytes.fromhex("06082a8648ce3d030107")
P256_G = bytes.fromhex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                       "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
EC_POINT_G = b"\x04\x41\x04" + P256_G
MODULUS = bytes([0xC5] * 127 + [0xC5 | 1])


def ulong(v):
    return struct.pack("<Q", v)   # CK_ULONG on the LP64 machines the seeds are made for


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def openssl(*args, stdin=None):
    return subprocess.run(("openssl",) + args, input=stdin, check=True,
                          capture_output=True).stdout


def rsa_components(pem):
    """The RSA key's fields as big-endian bytes, from openssl's text dump."""
    text = openssl("pkey", "-text", "-noout", stdin=pem).decode()
    fields = {}
    for m in re.finditer(r"^(\w+):\s*\n((?:\s+[0-9a-f:]+\n)+)", text, re.M):
        fields[m.group(1)] = bytes.fromhex(re.sub(r"[\s:]", "", m.group(2))).lstrip(b"\0")
    e = int(re.search(r"publicExponent: (\d+)", text).group(1))
    fields["publicExponent"] = e.to_bytes(3, "big")
    return fields


# ---- keys and certificates, shared by several targets
tmp = tempfile.mkdtemp()
ec_pem = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
rsa_pem = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")
rsa_der = openssl("pkey", "-outform", "DER", stdin=rsa_pem)
ec_der = openssl("pkey", "-outform", "DER", stdin=ec_pem)
ec_spki = openssl("pkey", "-pubout", "-outform", "DER", stdin=ec_pem)
with open(os.path.join(tmp, "k.pem"), "wb") as f:
    f.write(ec_pem)
cert_pem = openssl("req", "-x509", "-new", "-key", os.path.join(tmp, "k.pem"), "-subj",
                   "/CN=tpmtok fuzz", "-days", "1")
cert_der = openssl("x509", "-outform", "DER", stdin=cert_pem)
rsa = rsa_components(rsa_pem)


# ---- fuzz_template: call, who, which, then templates
def attr(name, value, null=False, huge=False):
    t = CKA[name] if isinstance(name, str) else name
    flags = (1 if null else 0) | (2 if huge else 0)
    if null:
        return struct.pack("<IBH", t, flags, len(value) if isinstance(value, bytes) else value)
    return struct.pack("<IBH", t, flags, len(value)) + value


def tmpl(*attrs):
    return bytes([len(attrs)]) + b"".join(attrs)


def out_attr(name, length, null=False):
    return struct.pack("<IBH", CKA[name], 1 if null else 0, length)


T, F = b"\x01", b"\x00"
calls = dict(create=0, genkey=1, genpair=2, set=3, copy=4, find=5, get=6)
template_seeds = {
    "create-data": (0, 0, 0, tmpl(attr("CLASS", ulong(CKO_DATA)), attr("LABEL", b"x"),
                                  attr("VALUE", b"hello"), attr("TOKEN", F))),
    "create-data-token-rw": (0, 5, 0, tmpl(attr("CLASS", ulong(CKO_DATA)), attr("TOKEN", T),
                                           attr("PRIVATE", T))),
    "create-aes": (0, 5, 0, tmpl(attr("CLASS", ulong(CKO_SECRET_KEY)),
                                 attr("KEY_TYPE", ulong(CKK_AES)), attr("VALUE", bytes(32)),
                                 attr("ENCRYPT", T))),
    "create-rsa-public": (0, 0, 0, tmpl(attr("CLASS", ulong(CKO_PUBLIC_KEY)),
                                        attr("KEY_TYPE", ulong(CKK_RSA)),
                                        attr("MODULUS", MODULUS),
                                        attr("PUBLIC_EXPONENT", b"\x01\x00\x01"))),
    "create-ec-public": (0, 0, 0, tmpl(attr("CLASS", ulong(CKO_PUBLIC_KEY)),
                                       attr("KEY_TYPE", ulong(CKK_EC)),
                                       attr("EC_PARAMS", P256_OID),
                                       attr("EC_POINT", EC_POINT_G), attr("VERIFY", T))),
    "create-cert": (0, 0, 0, tmpl(attr("CLASS", ulong(CKO_CERTIFICATE)),
                                  attr("CERTIFICATE_TYPE", ulong(0)),
                                  attr("VALUE", cert_der))),
    "create-rsa-private": (0, 1, 0, tmpl(
        attr("CLASS", ulong(CKO_PRIVATE_KEY)), attr("KEY_TYPE", ulong(CKK_RSA)),
        attr("MODULUS", rsa["modulus"]), attr("PUBLIC_EXPONENT", rsa["publicExponent"]),
        attr("PRIVATE_EXPONENT", rsa["privateExponent"]), attr("PRIME_1", rsa["prime1"]),
        attr("PRIME_2", rsa["prime2"]), attr("EXPONENT_1", rsa["exponent1"]),
        attr("EXPONENT_2", rsa["exponent2"]), attr("COEFFICIENT", rsa["coefficient"]),
        attr("SIGN", T))),
    "create-null-value": (0, 0, 0, tmpl(attr("CLASS", ulong(CKO_DATA)),
                                        attr("LABEL", 5, null=True))),
    "create-unavailable-length": (0, 0, 0, tmpl(attr("CLASS", ulong(CKO_DATA)),
                                                attr("VALUE", 0, null=True, huge=True))),
    "genkey-aes": (1, 5, 0, tmpl(attr("VALUE_LEN", ulong(32)), attr("TOKEN", T),
                                 attr("ENCRYPT", T))),
    "genkey-generic": (1, 1, 1, tmpl(attr("VALUE_LEN", ulong(32)), attr("SIGN", T))),
    "genpair-rsa": (2, 1, 3, tmpl(attr("MODULUS_BITS", ulong(2048)),
                                  attr("PUBLIC_EXPONENT", b"\x01\x00\x01"))
                    + tmpl(attr("SIGN", T), attr("SENSITIVE", T))),
    "genpair-ec": (2, 1, 4, tmpl(attr("EC_PARAMS", P256_OID), attr("VERIFY", T))
                   + tmpl(attr("SIGN", T), attr("EXTRACTABLE", F))),
    "set-data-label": (3, 4, FAKE_DATA, tmpl(attr("LABEL", b"new label"))),
    "set-aes-usage": (3, 1, FAKE_AES, tmpl(attr("ENCRYPT", F), attr("SENSITIVE", T))),
    "copy-aes": (4, 1, FAKE_AES, tmpl(attr("LABEL", b"copy"), attr("EXTRACTABLE", F))),
    "find-secret": (5, 1, 0, tmpl(attr("CLASS", ulong(CKO_SECRET_KEY)))),
    "find-token-label": (5, 0, 0, tmpl(attr("TOKEN", T), attr("LABEL", b"fuzz"),
                                       attr("ID", b""))),
    "find-key-type": (5, 1, 0, tmpl(attr("KEY_TYPE", ulong(CKK_EC)), attr("SIGN", T))),
    "get-rsa": (6, 1, FAKE_RSA_PRIV, bytes([4]) + out_attr("MODULUS", 256)
                + out_attr("CLASS", 8) + out_attr("PRIVATE_EXPONENT", 128)
                + out_attr("PUBLIC_EXPONENT", 0, null=True)),
    "get-ec-public": (6, 0, FAKE_EC_PUB, bytes([2]) + out_attr("EC_POINT", 67)
                      + out_attr("EC_PARAMS", 4)),
}
for name, (call, who, which, body) in template_seeds.items():
    write("template", name, bytes([call, who, which]) + body)


def step(call, out_size, data=b"", sig=b""):
    """A drive.h step: call (0 update, 1 final, 2 single, 3 save/restore; | 0x10 NULL out)."""
    return bytes([call]) + struct.pack("<HH", out_size, len(data)) + data + \
        struct.pack("<H", len(sig)) + sig


UPDATE, FINAL, SINGLE, SAVE, NULL_OUT = 0, 1, 2, 3, 0x10
pad4 = bytes(28) + bytes([4 ^ 0x5A] * 4)   # decrypts (XOR 0x5a in fake.c) to padding 04 04 04 04
oaep_block = b"\0" + bytes(254) + bytes([10])   # fake.c: "unpads" to the last 10 bytes

# ---- fuzz_mechparam: kind, key, login, mechanism, shape, parameters, then drive.h's steps
def mech(kind, key, login, m, shape, params=b""):
    return bytes([kind, key, login]) + struct.pack("<IB", CKM[m], shape) + params


pss = struct.pack("<IIH", CKM["SHA256"], CKG_MGF1_SHA256, 32)
mech_seeds = {
    "digest-sha256": mech(OP_DIGEST, 0, 0, "SHA256", 0, struct.pack("<H", 0))
    + step(UPDATE, 0, bytes(2000)) + step(SAVE, 0) + step(UPDATE, 0, b"abc")
    + step(FINAL | NULL_OUT, 0) + step(FINAL, 32),
    "digest-single": mech(OP_DIGEST, 0, 0, "SHA256", 0, struct.pack("<H", 0))
    + step(SINGLE, 31, b"abc") + step(SINGLE, 32, b"abc"),
    "aes-cbc-encrypt": mech(OP_ENCRYPT, FAKE_AES, 1, "AES_CBC", 1,
                            struct.pack("<H", 16) + bytes(range(16)))
    + step(UPDATE, 32, bytes(20)) + step(SAVE, 0) + step(UPDATE, 16, bytes(12))
    + step(FINAL, 16),
    "aes-cbc-pad-decrypt": mech(OP_DECRYPT, FAKE_AES, 1, "AES_CBC_PAD", 1,
                                struct.pack("<H", 16) + bytes(16))
    + step(UPDATE, 32, pad4) + step(SAVE, 0) + step(FINAL | NULL_OUT, 0) + step(FINAL, 16),
    "aes-cbc-pad-single": mech(OP_DECRYPT, FAKE_AES, 1, "AES_CBC_PAD", 1,
                               struct.pack("<H", 16) + bytes(16))
    + step(SINGLE | NULL_OUT, 0, pad4) + step(SINGLE, 28, pad4),
    "aes-ecb": mech(OP_ENCRYPT, FAKE_AES, 1, "AES_ECB", 0, struct.pack("<H", 0)),
    "aes-ctr": mech(OP_ENCRYPT, FAKE_AES, 1, "AES_CTR", 4, bytes([32]) + bytes(15) + b"\x01")
    + step(UPDATE, 5, bytes(5)) + step(SAVE, 0) + step(UPDATE, 40, bytes(30)) + step(FINAL, 0),
    "aes-cfb": mech(OP_DECRYPT, FAKE_AES, 1, "AES_CFB128", 1,
                    struct.pack("<H", 16) + bytes(16)),
    "hmac-sign": mech(OP_SIGN, FAKE_HMAC, 1, "SHA256_HMAC", 0, struct.pack("<H", 0))
    + step(UPDATE, 0, bytes(1500)) + step(SAVE, 0) + step(FINAL, 32),
    "hmac-general-verify": mech(OP_VERIFY, FAKE_HMAC, 1, "SHA256_HMAC_GENERAL", 5,
                                struct.pack("<Q", 16))
    + step(SINGLE, 0, b"data", bytes([0x33] * 16)),
    "pss-sign": mech(OP_SIGN, FAKE_RSA_PRIV, 1, "RSA_PKCS_PSS", 2, pss)
    + step(SINGLE, 256, bytes(32)),
    "sha256-pss-verify": mech(OP_VERIFY, FAKE_RSA_PUB, 0, "SHA256_RSA_PKCS_PSS", 2, pss)
    + step(UPDATE, 0, b"data") + step(FINAL, 0, b"", bytes(256)),
    "oaep-encrypt": mech(OP_ENCRYPT, FAKE_RSA_PUB, 0, "RSA_PKCS_OAEP", 3,
                         struct.pack("<IIIBH", CKM["SHA256"], CKG_MGF1_SHA256,
                                     CKZ_DATA_SPECIFIED, 0, 3) + b"abc"),
    "oaep-decrypt-label": mech(OP_DECRYPT, FAKE_RSA_PRIV, 1, "RSA_PKCS_OAEP", 3,
                               struct.pack("<IIIBH", CKM["SHA256"], CKG_MGF1_SHA256,
                                           CKZ_DATA_SPECIFIED, 0, 4) + b"lbl\0")
    + step(SINGLE | NULL_OUT, 0, oaep_block) + step(SINGLE, 9, oaep_block)
    + step(SINGLE, 10, oaep_block),
    "oaep-null-source": mech(OP_DECRYPT, FAKE_RSA_PRIV, 1, "RSA_PKCS_OAEP", 3,
                             struct.pack("<IIIBH", CKM["SHA256"], CKG_MGF1_SHA256,
                                         CKZ_DATA_SPECIFIED, 1, 8)),
    "rsa-pkcs-sign": mech(OP_SIGN, FAKE_RSA_PRIV, 1, "SHA256_RSA_PKCS", 0, struct.pack("<H", 0))
    + step(UPDATE, 0, b"abc") + step(FINAL, 256),
    "rsa-x509-decrypt": mech(OP_DECRYPT, FAKE_RSA_PRIV, 1, "RSA_X_509", 0, struct.pack("<H", 0))
    + step(UPDATE, 0, bytes(100)) + step(UPDATE, 0, bytes(156)) + step(FINAL, 256),
    "ecdsa-sign": mech(OP_SIGN, FAKE_EC_PRIV, 1, "ECDSA", 0, struct.pack("<H", 0))
    + step(SINGLE, 64, bytes(32)),
    "ecdsa-sha256-verify": mech(OP_VERIFY, FAKE_EC_PUB, 0, "ECDSA_SHA256", 0,
                                struct.pack("<H", 0))
    + step(SINGLE, 0, b"data", bytes([1] * 64)),
}
for name, data in mech_seeds.items():
    write("mechparam", name, data)


# ---- fuzz_opstate: mode, enc key, auth key, u16 header length, header, records in the clear
def key_id(handle):
    return hashlib.sha256(b"tpm" + FAKE_BLOBS[handle]).digest() if handle else bytes(32)


def header(keyed, ops):
    h = b"TPMTOKOS" + bytes([1, 1 if keyed else 0]) + FAKE_SERIAL + struct.pack(">Q", FAKE_BOOTS)
    h += bytes([len(ops)])
    for kind, use, handle in ops:
        h += bytes([kind, use]) + key_id(handle)
    return h


def blob(b):
    return struct.pack(">I", len(b)) + b


def record(m, params, started, state):
    return struct.pack(">Q", CKM[m]) + blob(params) + bytes([started]) + blob(state)


def hashing_state(ctx=None, held=b""):
    if ctx is None:
        return b"\x00" + blob(held)
    return b"\x01" + blob(ctx) + blob(b"") + blob(held)


def cipher_state(iv, held=b"", used=16, blocks_left=2**64 - 1):
    return iv + blob(held) + bytes(16) + bytes([used]) + bytes(16) + struct.pack(">Q", blocks_left)


def sealed_input(mode, enc, auth, head, body, kind=None, steps=b""):
    out = bytes([mode | 1, enc, auth]) + struct.pack("<H", len(head)) + head
    out += struct.pack("<H", len(body)) + body
    return out + (bytes([kind]) + steps if kind is not None else b"")




USE_NONE, USE_ENC, USE_AUTH = 0, 1, 2
SHA256_CTX = b"\x00\x0bctx"   # fake.c's saved sequence: the hash (TPM2_ALG_SHA256), "ctx"
iv = bytes(range(16))
ctr = ulong(32) + bytes(15) + b"\x01"
opstate_seeds = {
    "digest": sealed_input(0, 0, 0, header(False, [(OP_DIGEST, USE_NONE, 0)]),
                           record("SHA256", b"", 1, hashing_state(held=b"abc"))),
    "digest-sequence": sealed_input(0, 0, 0, header(False, [(OP_DIGEST, USE_NONE, 0)]),
                                    record("SHA256", b"", 1, hashing_state(SHA256_CTX)),
                                    OP_DIGEST, step(UPDATE, 0, bytes(100)) + step(FINAL, 32)),
    "aes-cbc-encrypt": sealed_input(2, FAKE_AES, 0, header(True, [(OP_ENCRYPT, USE_ENC, FAKE_AES)]),
                                    record("AES_CBC", iv, 1, cipher_state(iv, b"0123")),
                                    OP_ENCRYPT, step(UPDATE, 16, bytes(12)) + step(FINAL, 16)),
    "aes-cbc-pad-decrypt": sealed_input(
        2, FAKE_AES, 0, header(True, [(OP_DECRYPT, USE_ENC, FAKE_AES)]),
        record("AES_CBC_PAD", iv, 1, cipher_state(iv, bytes(16)))),
    "aes-ctr-decrypt": sealed_input(2, FAKE_AES, 0, header(True, [(OP_DECRYPT, USE_ENC, FAKE_AES)]),
                                    record("AES_CTR", ctr, 1, cipher_state(iv, used=5,
                                                                           blocks_left=7))),
    "hmac-sign": sealed_input(2, 0, FAKE_HMAC, header(True, [(OP_SIGN, USE_AUTH, FAKE_HMAC)]),
                              record("SHA256_HMAC", b"", 1, hashing_state(SHA256_CTX, b"x")),
                              OP_SIGN, step(SAVE, 0) + step(FINAL, 32)),
    "hmac-verify": sealed_input(2, 0, FAKE_HMAC, header(True, [(OP_VERIFY, USE_AUTH, FAKE_HMAC)]),
                                record("SHA256_HMAC_GENERAL", ulong(16), 0, hashing_state())),
    "rsa-pss-sign": sealed_input(
        2, 0, FAKE_RSA_PRIV, header(True, [(OP_SIGN, USE_AUTH, FAKE_RSA_PRIV)]),
        record("SHA256_RSA_PKCS_PSS", struct.pack("<QQQ", CKM["SHA256"], CKG_MGF1_SHA256, 32),
               1, hashing_state(SHA256_CTX))),
    "digest-encrypt": sealed_input(
        2, FAKE_AES, 0, header(True, [(OP_ENCRYPT, USE_ENC, FAKE_AES), (OP_DIGEST, USE_NONE, 0)]),
        record("AES_ECB", b"", 0, cipher_state(bytes(16)))
        + record("SHA256", b"", 0, hashing_state())),
    "raw-state": bytes([0, 0, 0]) + header(False, [(OP_DIGEST, USE_NONE, 0)])
    + blob(bytes(40)) + bytes(32),
}
for name, data in opstate_seeds.items():
    write("opstate", name, data)


# ---- fuzz_store_row: flags, u16 TPM public length, TPM public, attributes
def row_attrs(pairs):
    out = struct.pack(">I", len(pairs))
    for t, v in sorted(pairs):
        out += struct.pack(">QI", t, len(v)) + v
    return out


def tpm2b_public_rsa(modulus):
    area = struct.pack(">HHI", 0x0001, 0x000B, 0x00060072) + struct.pack(">H", 0)
    area += struct.pack(">HHHI", 0x0010, 0x0010, len(modulus) * 8, 0) + blob16(modulus)
    return blob16(area)


def tpm2b_public_ecc(point):
    area = struct.pack(">HHI", 0x0023, 0x000B, 0x00040072) + struct.pack(">H", 0)
    area += struct.pack(">HHHH", 0x0010, 0x0010, 0x0003, 0x0010)
    area += blob16(point[:32]) + blob16(point[32:])
    return blob16(area)


def blob16(b):
    return struct.pack(">H", len(b)) + b


def row(flags, tpm_pub, pairs):
    return bytes([flags]) + struct.pack("<H", len(tpm_pub)) + tpm_pub + row_attrs(pairs)


A = CKA
store_seeds = {
    "data": row(0, b"", [(A["CLASS"], ulong(CKO_DATA)), (A["TOKEN"], T), (A["PRIVATE"], F),
                         (A["LABEL"], b"fuzz"), (A["VALUE"], b"hello"),
                         (A["MODIFIABLE"], T)]),
    "private-aes": row(1, b"", [(A["CLASS"], ulong(CKO_SECRET_KEY)),
                                (A["KEY_TYPE"], ulong(CKK_AES)), (A["TOKEN"], T),
                                (A["PRIVATE"], T), (A["VALUE_LEN"], ulong(32)),
                                (A["SENSITIVE"], T), (A["ENCRYPT"], T), (A["LABEL"], b"")]),
    "rsa-private-tpm": row(1, tpm2b_public_rsa(MODULUS),
                           [(A["CLASS"], ulong(CKO_PRIVATE_KEY)), (A["KEY_TYPE"], ulong(CKK_RSA)),
                            (A["TOKEN"], T), (A["PRIVATE"], T), (A["MODULUS"], MODULUS),
                            (A["PUBLIC_EXPONENT"], b"\x01\x00\x01"), (A["SIGN"], T),
                            (A["SENSITIVE"], T), (A["ID"], b"\x01")]),
    "ec-public": row(0, b"", [(A["CLASS"], ulong(CKO_PUBLIC_KEY)), (A["KEY_TYPE"], ulong(CKK_EC)),
                              (A["TOKEN"], T), (A["EC_PARAMS"], P256_OID),
                              (A["EC_POINT"], EC_POINT_G), (A["VERIFY"], T)]),
    "ec-private-tpm": row(1, tpm2b_public_ecc(P256_G),
                          [(A["CLASS"], ulong(CKO_PRIVATE_KEY)), (A["KEY_TYPE"], ulong(CKK_EC)),
                           (A["TOKEN"], T), (A["EC_PARAMS"], P256_OID), (A["SIGN"], T)]),
    "certificate": row(0, b"", [(A["CLASS"], ulong(CKO_CERTIFICATE)),
                                (A["CERTIFICATE_TYPE"], ulong(0)), (A["TOKEN"], T),
                                (A["VALUE"], cert_der)]),
    "private-raw": row(2, b"", [(A["CLASS"], ulong(CKO_DATA))]),
    "private-logged-out": row(5, b"", [(A["CLASS"], ulong(CKO_DATA))]),
}
for name, data in store_seeds.items():
    write("store_row", name, data)

# ---- fuzz_import: what, flags, bytes
import_seeds = {
    "ec-key-der": bytes([0, 1]) + ec_der,
    "rsa-key-der": bytes([0, 3]) + rsa_der,
    "ec-key-pem": bytes([1, 1]) + ec_pem,
    "rsa-key-pem": bytes([1, 1]) + rsa_pem,
    "cert-der": bytes([2, 2]) + cert_der,
    "cert-pem": bytes([3, 0]) + cert_pem,
    "ec-spki": bytes([4, 0]) + ec_spki,
}
for name, data in import_seeds.items():
    write("import", name, data)
