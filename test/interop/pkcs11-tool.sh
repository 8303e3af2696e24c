#!/bin/sh
# OpenSC's pkcs11-tool against the module on a private swtpm: slots, token, PINs, login, --test.
set -eu

if ! command -v pkcs11-tool >/dev/null 2>&1; then
    echo "SKIP: pkcs11-tool (opensc) is not installed"
    exit 77
fi
# Re-run under a private swtpm, which sets TPMTOK_TCTI and TPMTOK_STORE.
if [ -z "${TPMTOK_TEST_DIR:-}" ]; then
    exec "$TPMTOK_BUILDDIR/test/harness/with-swtpm" "$0" "$@"
fi
if [ "${TPMTOK_SANITIZERS:-0}" = 1 ]; then
    # pkcs11-tool is not built with ASan: the runtime must be loaded before the module.
    LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so)"
    ASAN_OPTIONS="detect_leaks=0"
    export LD_PRELOAD ASAN_OPTIONS
fi

M="$TPMTOK_MODULE"
out="$TPMTOK_TEST_DIR/out"
step() { echo "== $*"; }
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }

step "list slots on a fresh store"
pkcs11-tool --module "$M" --list-slots >"$out" 2>&1 || fail "--list-slots"
grep -q "token state:.*uninitialized" "$out" || fail "no uninitialized token listed"

step "init token"
pkcs11-tool --module "$M" --init-token --label "pkcs11-tool test" --so-pin 12345678 >"$out" 2>&1 ||
    fail "--init-token"
pkcs11-tool --module "$M" --list-slots >"$out" 2>&1 || fail "--list-slots"
grep -q "token label *: pkcs11-tool test" "$out" || fail "the new token is not listed"

step "init user PIN"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --init-pin --so-pin 12345678 \
    --pin 123456 >"$out" 2>&1 || fail "--init-pin"
pkcs11-tool --module "$M" --list-slots >"$out" 2>&1 || fail "--list-slots"
grep -q "PIN initialized" "$out" || fail "the user PIN is not marked initialized"

step "login with the right and a wrong PIN"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --login --pin 123456 \
    --generate-random 8 >"$out" 2>&1 || fail "login with the right PIN"
if pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --login --pin 654321 \
    --generate-random 8 >"$out" 2>&1; then
    fail "a wrong PIN was accepted"
fi
grep -q "CKR_PIN_INCORRECT" "$out" || fail "a wrong PIN did not give CKR_PIN_INCORRECT"

step "change the user PIN"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --change-pin --pin 123456 \
    --new-pin 24681357 >"$out" 2>&1 || fail "--change-pin"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --login --pin 24681357 \
    --generate-random 8 >"$out" 2>&1 || fail "login with the new PIN"

step "random numbers"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --generate-random 64 \
    --output-file "$TPMTOK_TEST_DIR/rnd" >"$out" 2>&1 || fail "--generate-random"
[ "$(wc -c <"$TPMTOK_TEST_DIR/rnd")" -eq 64 ] || fail "64 random bytes"

P="--module $M --login --pin 24681357"
step "generate an RSA-2048 and an EC P-256 key pair, and an AES-256 key"
pkcs11-tool $P --keypairgen --key-type rsa:2048 --id 01 --label rsa-key >"$out" 2>&1 ||
    fail "--keypairgen rsa:2048"
pkcs11-tool $P --keypairgen --key-type EC:prime256v1 --id 02 --label ec-key >"$out" 2>&1 ||
    fail "--keypairgen EC:prime256v1"
pkcs11-tool $P --keygen --key-type AES:32 --id 03 --label aes-key >"$out" 2>&1 ||
    fail "--keygen AES:32"

step "write a certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=tpmtok-test \
    -days 2 -keyout "$TPMTOK_TEST_DIR/cert.key" -outform DER -out "$TPMTOK_TEST_DIR/cert.der" \
    >/dev/null 2>&1 || fail "openssl req"
pkcs11-tool $P --write-object "$TPMTOK_TEST_DIR/cert.der" --type cert --id 04 \
    --label cert >"$out" 2>&1 || fail "--write-object cert"

step "list the objects"
pkcs11-tool $P --list-objects >"$out" 2>&1 || fail "--list-objects"
for what in "Private Key Object; RSA" "Public Key Object; RSA 2048 bits" \
    "Private Key Object; EC" "Public Key Object; EC" "Secret Key Object; AES length 32" \
    "Certificate Object; type = X.509 cert" "subject:.*CN=tpmtok-test"; do
    grep -q "$what" "$out" || fail "--list-objects does not show: $what"
done
# The public key pkcs11-tool reads back is the one the TPM made (same modulus as the private key).
pkcs11-tool $P --read-object --type pubkey --id 01 --output-file "$TPMTOK_TEST_DIR/rsa.der" \
    >"$out" 2>&1 || fail "--read-object pubkey"
openssl pkey -pubin -inform DER -in "$TPMTOK_TEST_DIR/rsa.der" -noout >/dev/null 2>&1 ||
    fail "the RSA public key does not parse with OpenSSL"

D="$TPMTOK_TEST_DIR"
head -c 3000 /dev/urandom >"$D/data"
openssl pkey -pubin -inform DER -in "$D/rsa.der" -out "$D/rsa.pem" >/dev/null 2>&1 ||
    fail "the RSA public key as PEM"
# An EC key from OpenSSL, brought into the TPM, so OpenSSL can check its signatures. (Reading
# an EC public key back makes pkcs11-tool 0.23 itself use freed memory, which ASan stops.)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$D/ec.key" >/dev/null 2>&1 ||
    fail "openssl genpkey EC"
openssl pkey -in "$D/ec.key" -pubout -out "$D/ec.pem" >/dev/null 2>&1 || fail "openssl pkey -pubout"
pkcs11-tool $P --write-object "$D/ec.key" --type privkey --id 05 --label ec-imported \
    >"$out" 2>&1 || fail "--write-object EC private key"

step "hash, compared with OpenSSL"
for h in SHA-1:sha1 SHA256:sha256 SHA384:sha384 SHA512:sha512; do
    pkcs11-tool --module "$M" --hash -m "${h%%:*}" -i "$D/data" -o "$D/hash" >"$out" 2>&1 ||
        fail "--hash ${h%%:*}"
    openssl dgst "-${h#*:}" -binary "$D/data" >"$D/hash.ref"
    cmp -s "$D/hash" "$D/hash.ref" || fail "--hash ${h%%:*} differs from OpenSSL"
done

step "sign, verified by OpenSSL and by the token"
pkcs11-tool $P --sign -m SHA256-RSA-PKCS --id 01 -i "$D/data" -o "$D/sig" >"$out" 2>&1 ||
    fail "--sign SHA256-RSA-PKCS"
openssl dgst -sha256 -verify "$D/rsa.pem" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "OpenSSL rejects the SHA256-RSA-PKCS signature"
pkcs11-tool $P --verify -m SHA256-RSA-PKCS --id 01 -i "$D/data" --signature-file "$D/sig" \
    >"$out" 2>&1 || fail "--verify SHA256-RSA-PKCS"
grep -q "Signature is valid" "$out" || fail "--verify SHA256-RSA-PKCS is not valid"
pkcs11-tool $P --sign -m SHA384-RSA-PKCS-PSS --id 01 -i "$D/data" -o "$D/sig" >"$out" 2>&1 ||
    fail "--sign SHA384-RSA-PKCS-PSS"
openssl dgst -sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -verify "$D/rsa.pem" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "OpenSSL rejects the SHA384-RSA-PKCS-PSS signature"
pkcs11-tool $P --sign -m ECDSA-SHA384 --id 05 --signature-format openssl -i "$D/data" \
    -o "$D/sig" >"$out" 2>&1 || fail "--sign ECDSA-SHA384 with the imported key"
openssl dgst -sha384 -verify "$D/ec.pem" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "OpenSSL rejects the imported key's ECDSA-SHA384 signature"
pkcs11-tool $P --sign -m ECDSA-SHA256 --id 02 --signature-format openssl -i "$D/data" \
    -o "$D/sig" >"$out" 2>&1 || fail "--sign ECDSA-SHA256"
pkcs11-tool $P --verify -m ECDSA-SHA256 --id 02 --signature-format openssl -i "$D/data" \
    --signature-file "$D/sig" >"$out" 2>&1 || fail "--verify ECDSA-SHA256"
grep -q "Signature is valid" "$out" || fail "--verify ECDSA-SHA256 is not valid"
# A signature of other data is refused (pkcs11-tool 0.23 says so but exits 0).
head -c 100 /dev/urandom >"$D/other"
pkcs11-tool $P --verify -m ECDSA-SHA256 --id 02 --signature-format openssl -i "$D/other" \
    --signature-file "$D/sig" >"$out" 2>&1 || true
grep -q "Invalid signature" "$out" || fail "--verify accepted a signature of other data"

step "decrypt what OpenSSL encrypted to the RSA key"
head -c 100 /dev/urandom >"$D/secret"
openssl pkeyutl -encrypt -pubin -inkey "$D/rsa.pem" -in "$D/secret" -out "$D/ct" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 ||
    fail "openssl pkeyutl -encrypt"
pkcs11-tool $P --decrypt -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 --id 01 \
    -i "$D/ct" -o "$D/pt" >"$out" 2>&1 || fail "--decrypt RSA-PKCS-OAEP"
cmp -s "$D/pt" "$D/secret" || fail "RSA-PKCS-OAEP decryption differs from the plaintext"
openssl pkeyutl -encrypt -pubin -inkey "$D/rsa.pem" -in "$D/secret" -out "$D/ct" ||
    fail "openssl pkeyutl -encrypt PKCS#1"
pkcs11-tool $P --decrypt -m RSA-PKCS --id 01 -i "$D/ct" -o "$D/pt" >"$out" 2>&1 ||
    fail "--decrypt RSA-PKCS"
cmp -s "$D/pt" "$D/secret" || fail "RSA-PKCS decryption differs from the plaintext"

step "AES-CBC-PAD encrypt and decrypt, round trip"
iv=000102030405060708090a0b0c0d0e0f
pkcs11-tool $P --encrypt -m AES-CBC-PAD --id 03 --iv "$iv" -i "$D/data" -o "$D/ct" \
    >"$out" 2>&1 || fail "--encrypt AES-CBC-PAD"
[ "$(wc -c <"$D/ct")" -eq 3008 ] || fail "AES-CBC-PAD of 3000 bytes is not 3008 bytes"
pkcs11-tool $P --decrypt -m AES-CBC-PAD --id 03 --iv "$iv" -i "$D/ct" -o "$D/pt" \
    >"$out" 2>&1 || fail "--decrypt AES-CBC-PAD"
cmp -s "$D/pt" "$D/data" || fail "AES-CBC-PAD round trip differs"

step "AES-CBC-PAD and AES-ECB with a known key, compared with OpenSSL"
head -c 32 /dev/urandom >"$D/aes.key"
key_hex=$(od -An -tx1 -v "$D/aes.key" | tr -d ' \n')
pkcs11-tool $P --write-object "$D/aes.key" --type secrkey --key-type AES:32 --id 06 \
    --label aes-known >"$out" 2>&1 || fail "--write-object secrkey AES:32"
pkcs11-tool $P --encrypt -m AES-CBC-PAD --id 06 --iv "$iv" -i "$D/data" -o "$D/ct" \
    >"$out" 2>&1 || fail "--encrypt AES-CBC-PAD with the known key"
openssl enc -aes-256-cbc -K "$key_hex" -iv "$iv" -in "$D/data" -out "$D/ct.ref" ||
    fail "openssl enc -aes-256-cbc"
cmp -s "$D/ct" "$D/ct.ref" || fail "AES-CBC-PAD differs from OpenSSL"
head -c 2992 "$D/data" >"$D/blocks"   # whole blocks
pkcs11-tool $P --encrypt -m AES-ECB --id 06 -i "$D/blocks" -o "$D/ct" >"$out" 2>&1 ||
    fail "--encrypt AES-ECB"
openssl enc -aes-256-ecb -nopad -K "$key_hex" -in "$D/blocks" -out "$D/ct.ref" ||
    fail "openssl enc -aes-256-ecb"
cmp -s "$D/ct" "$D/ct.ref" || fail "AES-ECB differs from OpenSSL"

step "delete an object"
pkcs11-tool $P --delete-object --type secrkey --id 03 >"$out" 2>&1 || fail "--delete-object"
pkcs11-tool $P --list-objects >"$out" 2>&1 || fail "--list-objects"
if grep -q "label: *aes-key$" "$out"; then fail "the AES key is still there"; fi
grep -q "label: *aes-known$" "$out" || fail "another AES key was deleted too"

step "pkcs11-tool --login --test"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --login --pin 24681357 \
    --test >"$out" 2>&1 || fail "--test"
grep -q "No errors" "$out" || fail "--test reported errors"
echo "pkcs11-tool: all steps passed"
