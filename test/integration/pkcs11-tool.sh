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

step "delete an object"
pkcs11-tool $P --delete-object --type secrkey --id 03 >"$out" 2>&1 || fail "--delete-object"
pkcs11-tool $P --list-objects >"$out" 2>&1 || fail "--list-objects"
if grep -q "Secret Key Object" "$out"; then fail "the AES key is still there"; fi

step "pkcs11-tool --login --test"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --login --pin 24681357 \
    --test >"$out" 2>&1 || fail "--test"
grep -q "No errors" "$out" || fail "--test reported errors"
echo "pkcs11-tool: all steps passed"
