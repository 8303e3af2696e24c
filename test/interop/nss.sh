#!/bin/sh
# NSS with the module: modutil adds it to an NSS database, certutil lists the token's
# certificate and, after login, its private keys.
set -eu

. "$TPMTOK_SRCDIR/test/interop/lib.sh"
need pkcs11-tool opensc
need certutil libnss3-tools
need modutil libnss3-tools
interop_start "$@"

step "a token with an RSA and an EC key pair, made by pkcs11-tool"
make_token_with_keys

step "a certificate for the token's EC key, written to the token"
ec_public_pem 02 "$D/ec.pem"
# A throwaway CA certifies the token's public key (-force_pubkey), so certificate and key pair.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=tpmtok-test-ca \
    -days 2 -keyout "$D/ca.key" -out "$D/ca.pem" >"$out" 2>&1 || fail "openssl req CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=unused \
    -keyout "$D/unused.key" -out "$D/unused.csr" >"$out" 2>&1 || fail "openssl req CSR"
openssl x509 -req -in "$D/unused.csr" -force_pubkey "$D/ec.pem" -subj /CN=tpmtok-nss \
    -CA "$D/ca.pem" -CAkey "$D/ca.key" -days 2 -outform DER -out "$D/cert.der" \
    >"$out" 2>&1 || fail "openssl x509 -req"
pkcs11-tool --module "$M" --token-label "$TOKEN" --login --pin "$PIN" --write-object \
    "$D/cert.der" --type cert --id 02 --label mycert >"$out" 2>&1 || fail "--write-object cert"

step "modutil -add puts the module into a new NSS database"
DB="sql:$D/nssdb"
mkdir "$D/nssdb"
certutil -N --empty-password -d "$DB" >"$out" 2>&1 || fail "certutil -N"
modutil -dbdir "$DB" -add tpmtok -libfile "$M" -force >"$out" 2>&1 || fail "modutil -add"
modutil -dbdir "$DB" -list tpmtok >"$out" 2>&1 || fail "modutil -list"
grep -q "Library file: $M" "$out" || fail "modutil -list does not show the module's path"
grep -q "Token Name: $TOKEN" "$out" || fail "modutil -list does not show the token"

printf '%s\n' "$PIN" >"$D/pin.txt"
step "certutil -L -h all lists the token's certificate"
certutil -L -h all -d "$DB" -f "$D/pin.txt" >"$out" 2>&1 || fail "certutil -L"
grep -q "^$TOKEN:mycert  *u,u,u" "$out" || fail "certutil -L does not list $TOKEN:mycert"

step "certutil -L -n gives the certificate's bytes"
certutil -L -d "$DB" -h "$TOKEN" -f "$D/pin.txt" -n "$TOKEN:mycert" -r </dev/null \
    >"$D/nss.der" 2>"$out" ||
    fail "certutil -L -n"
cmp -s "$D/nss.der" "$D/cert.der" || fail "NSS reads another certificate"

step "certutil -K -h all lists the private keys after login"
certutil -K -h all -d "$DB" -f "$D/pin.txt" >"$out" 2>&1 || fail "certutil -K"
grep -q "Checking token \"$TOKEN\"" "$out" || fail "certutil -K did not look at the token"
grep -q "<[ 0-9]*> rsa  *01  *rsa-key" "$out" || fail "certutil -K does not list the RSA key"
grep -q "<[ 0-9]*> ec  *02  *ec-key" "$out" || fail "certutil -K does not list the EC key"

step "certutil -K with a wrong PIN lists no key of the token"
printf '999999\n' >"$D/wrong.txt"
certutil -K -h "$TOKEN" -d "$DB" -f "$D/wrong.txt" </dev/null >"$out" 2>&1 || true
if grep -q "rsa-key\|ec-key" "$out"; then fail "a wrong PIN listed the private keys"; fi
echo "nss: all steps passed"
