#!/bin/sh
# GnuTLS's p11tool against the module: tokens and objects listed, test signatures with EC and RSA.
set -eu

. "$TPMTOK_SRCDIR/test/interop/lib.sh"
need pkcs11-tool opensc
need p11tool gnutls-bin
interop_start "$@"
asan_freelocale_workaround

step "a token with an RSA and an EC key pair, made by pkcs11-tool"
make_token_with_keys
P11="p11tool --provider $M"
URI="pkcs11:token=$TOKEN"

step "p11tool --list-tokens"
$P11 --list-tokens >"$out" 2>&1 || fail "--list-tokens"
grep -q "Label: $TOKEN\$" "$out" || fail "the token is not listed"

step "p11tool --list-all without login shows the public objects only"
$P11 --list-all "$URI" >"$out" 2>&1 || fail "--list-all"
for what in "object=rsa-key;type=public" "object=ec-key;type=public" "Public key (RSA-2048)" \
    "Public key (EC/ECDSA-SECP256R1)"; do
    grep -qF "$what" "$out" || fail "--list-all does not show: $what"
done
if grep -q "type=private" "$out"; then fail "private keys listed without login"; fi

step "p11tool --login --list-all shows the private keys too"
GNUTLS_PIN=$PIN $P11 --login --list-all "$URI" >"$out" 2>&1 || fail "--login --list-all"
for what in "object=rsa-key;type=private" "object=ec-key;type=private" \
    "Private key (RSA-2048)" "Private key (EC/ECDSA-SECP256R1)" "CKA_SENSITIVE"; do
    grep -qF "$what" "$out" || fail "--login --list-all does not show: $what"
done
[ "$(grep -c "^Object" "$out")" -eq 4 ] || fail "--login --list-all shows other than 4 objects"

step "p11tool --login with a wrong PIN fails"
if GNUTLS_PIN=999999 $P11 --login --list-all "$URI" >"$out" 2>&1 &&
    grep -q "type=private" "$out"; then
    fail "a wrong PIN listed the private keys"
fi

# --test-sign signs with the private key and verifies with the token's public key, in GnuTLS.
for key in ec-key rsa-key; do
    step "p11tool --test-sign with $key"
    GNUTLS_PIN=$PIN $P11 --login --test-sign "$URI;object=$key;type=private" >"$out" 2>&1 ||
        fail "--test-sign $key"
    grep -q "Verifying against public key in the token... ok" "$out" ||
        fail "--test-sign $key did not verify"
done
step "p11tool --test-sign with rsa-key, RSA-PSS"
GNUTLS_PIN=$PIN $P11 --login --sign-params RSA-PSS --test-sign \
    "$URI;object=rsa-key;type=private" >"$out" 2>&1 || fail "--test-sign RSA-PSS"
grep -q "Signing using RSA-PSS" "$out" || fail "--test-sign did not use RSA-PSS"
grep -q "Verifying against public key in the token... ok" "$out" ||
    fail "--test-sign RSA-PSS did not verify"

step "p11tool --export-pubkey gives the key pkcs11-tool reads"
GNUTLS_PIN=$PIN $P11 --login --export-pubkey "$URI;object=rsa-key;type=private" \
    --outfile "$D/gnutls.pem" >"$out" 2>&1 || fail "--export-pubkey"
rsa_public_pem 01 "$D/rsa.pem"
openssl pkey -pubin -in "$D/gnutls.pem" -outform DER -out "$D/gnutls.der" >"$out" 2>&1 ||
    fail "p11tool's public key does not parse with OpenSSL"
openssl pkey -pubin -in "$D/rsa.pem" -outform DER -out "$D/rsa.der" >"$out" 2>&1 ||
    fail "openssl pkey"
cmp -s "$D/gnutls.der" "$D/rsa.der" || fail "p11tool and pkcs11-tool read different keys"
echo "p11tool: all steps passed"
