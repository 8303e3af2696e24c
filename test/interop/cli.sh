#!/bin/sh
# The tpmtok CLI on a private swtpm: every command, its output checked against OpenSSL,
# pkcs11-tool and ssh-keygen, its exit codes and messages; then the demo script.
set -eu

for tool in openssl pkcs11-tool; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed"
        exit 77
    fi
done
# Re-run under a private swtpm, which sets TPMTOK_TCTI and TPMTOK_STORE.
if [ -z "${TPMTOK_TEST_DIR:-}" ]; then
    exec "$TPMTOK_BUILDDIR/test/harness/with-swtpm" "$0" "$@"
fi

T="$TPMTOK_BUILDDIR/tools/tpmtok"
M="$TPMTOK_MODULE"
D="$TPMTOK_TEST_DIR"
out="$D/out"
step() { echo "== $*"; }
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }
# Runs tpmtok, output in $out; the exit status in $rc.
tpm() {
    rc=0
    "$T" "$@" >"$out" 2>&1 || rc=$?
}
ok() { tpm "$@"; [ "$rc" -eq 0 ] || fail "tpmtok $* exited $rc"; }
# Expects exit status $1 and a message matching $2.
refused() {
    want=$1 pattern=$2
    shift 2
    tpm "$@"
    [ "$rc" -eq "$want" ] || fail "tpmtok $* exited $rc, not $want"
    grep -q -e "$pattern" "$out" || fail "tpmtok $* did not say: $pattern"
}
# Clients not built with ASan need its runtime first to load a sanitized module.
client() {
    if [ "${TPMTOK_SANITIZERS:-0}" = 1 ]; then
        LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so)" \
            ASAN_OPTIONS=detect_leaks=0 "$@"
    else
        "$@"
    fi
}
# The number of objects tpmtok list shows.
count_objects() {
    ok list "$@"
    grep -c "pkcs11:token=" "$out" || true
}

step "usage errors exit 2, --help exits 0"
refused 2 "unknown command" frobnicate
refused 2 "does not apply" keygen --so-pin 1 --type ec:p256 --label k
refused 2 "is missing" export
refused 2 "unknown option" list --frobnicate
refused 2 "--type is one of" keygen --type dsa:1024 --label k --pin 1234
for cmd in info list init passwd keygen import export delete digest; do
    ok "$cmd" --help
    grep -q "^usage: tpmtok .*$cmd" "$out" || fail "$cmd --help shows no usage"
done
ok --version
grep -q "^tpmtok [0-9]" "$out" || fail "--version"
refused 3 "cannot load the module" --module "$D/no-such-module.so" list

step "init with PINs as options, and from files"
ok list
grep -q "empty (tpmtok init" "$out" || fail "a fresh store shows no empty slot"
ok init --label cli-test --so-pin 12345678 --pin 123456
printf '87654321\n' >"$D/so.pin"
printf '654321\n' >"$D/user.pin"
ok init --label second --so-pin-file "$D/so.pin" --pin-file "$D/user.pin"
ok list
grep -q 'token "cli-test"' "$out" && grep -q 'token "second"' "$out" || fail "list: tokens"
refused 2 "another token is labelled" init --label second --so-pin 12345678 --pin 123456
refused 2 "choose one with --token" keygen --type ec:p256 --label k --pin 123456
refused 5 'no token "nope"' list --token nope
ok list --token "pkcs11:token=second" --pin-file "$D/user.pin"
grep -q 'token "second"' "$out" || fail "a token named by URI, logged in with a PIN file"
refused 6 "empty file" list --token second --pin-file /dev/null
refused 2 "not a terminal" keygen --token second --type ec:p256 --label k </dev/null
ok keygen --token second --pin-file "$D/user.pin" --type aes:128 --label gone
ok init --token second --label renewed --so-pin-file "$D/so.pin" --pin 111111
ok list --token renewed --pin 111111
grep -q "objects: 0" "$out" || fail "init --token kept the old token's objects"
refused 4 "C_InitToken: CKR_PIN_INCORRECT" init --token renewed --label x --so-pin 11111111

P="--token cli-test --pin 123456"
step "keygen of every type; list shows them with their URIs"
for type in rsa:2048 rsa:3072 ec:p256 ec:p384 aes:128 aes:256 hmac:sha256; do
    label="key-${type%%:*}-${type#*:}"
    ok keygen $P --type "$type" --label "$label"
    grep -q "^pkcs11:token=cli-test;object=$label;id=%" "$out" ||
        fail "keygen $type prints no URI"
done
ok keygen $P --type ec:p256 --label ec-key --id 0a0b
grep -qx "pkcs11:token=cli-test;object=ec-key;id=%0A%0B;type=private" "$out" ||
    fail "keygen --id: the private key's URI"
grep -qx "pkcs11:token=cli-test;object=ec-key;id=%0A%0B;type=public" "$out" ||
    fail "keygen --id: the public key's URI"
[ "$(count_objects $P)" -eq 13 ] || fail "list shows not 13 objects (5 pairs, 3 secret keys)"
grep -q "private key  EC .*label=\"ec-key\" id=0a0b  pkcs11:token=cli-test;object=ec-key;id=%0A%0B;type=private" \
    "$out" || fail "list: the EC private key's line"
grep -q "secret key   AES .*label=\"key-aes-256\"" "$out" || fail "list: the AES key's line"
grep -q "secret key   HMAC-SHA256 " "$out" || fail "list: the HMAC key's line"
[ "$(count_objects --token cli-test)" -eq 5 ] || fail "without a PIN, list shows other than the 5 public keys"

step "export PEM: signatures made by pkcs11-tool verify with the exported keys"
head -c 5000 /dev/urandom >"$D/data"
ok export --token cli-test --out "$D/ec.pub.pem" ec-key
client pkcs11-tool --module "$M" --token-label cli-test --login --pin 123456 --sign \
    -m ECDSA-SHA256 --id 0a0b --signature-format openssl -i "$D/data" -o "$D/sig" \
    >"$out" 2>&1 || fail "pkcs11-tool --sign ECDSA-SHA256"
openssl dgst -sha256 -verify "$D/ec.pub.pem" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "OpenSSL rejects the ECDSA signature with the exported key"
# A private key's URI stands for its public half.
ok export $P --out "$D/rsa.pub.pem" "pkcs11:object=key-rsa-2048;type=private"
ok list $P
rsa_id=$(sed -n 's/.*private key  RSA .*label="key-rsa-2048" id=\([0-9a-f]*\) .*/\1/p' "$out")
[ -n "$rsa_id" ] || fail "no id of the RSA key in the list"
client pkcs11-tool --module "$M" --token-label cli-test --login --pin 123456 --sign \
    -m SHA256-RSA-PKCS --id "$rsa_id" -i "$D/data" -o "$D/sig" >"$out" 2>&1 ||
    fail "pkcs11-tool --sign SHA256-RSA-PKCS"
openssl dgst -sha256 -verify "$D/rsa.pub.pem" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "OpenSSL rejects the RSA signature with the exported key (named by a private key URI)"
# The default id of a generated pair is the SHA-1 of the public key (RFC 5280 method 1).
ski=$(openssl rsa -pubin -in "$D/rsa.pub.pem" -RSAPublicKey_out -outform DER 2>/dev/null |
    openssl dgst -sha1 -r | cut -d' ' -f1)
[ "$ski" = "$rsa_id" ] || fail "the RSA pair's id $rsa_id is not the SHA-1 of its key, $ski"

if command -v ssh-keygen >/dev/null 2>&1; then
    step "export --format ssh equals what ssh-keygen -D prints"
    client ssh-keygen -D "$M" >"$D/ssh-keygen.out" 2>"$out" || fail "ssh-keygen -D"
    for key in ec-key key-rsa-2048 key-ec-p384 key-rsa-3072; do
        ok export --token cli-test --format ssh "$key"
        line=$(cut -d' ' -f1,2 "$out")
        grep -q "^$line" "$D/ssh-keygen.out" || fail "ssh-keygen -D has no key $line ($key)"
    done
else
    echo "ssh-keygen is not installed: the ssh format is not compared"
fi

step "import a PEM EC key and its certificate made by OpenSSL, and a DER RSA key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/imp.key" \
    >/dev/null 2>&1 || fail "openssl genpkey EC"
openssl req -x509 -key "$D/imp.key" -subj "/CN=imported cert" -days 2 -out "$D/imp.crt" \
    >/dev/null 2>&1 || fail "openssl req"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa.key" \
    >/dev/null 2>&1 || fail "openssl genpkey RSA"
openssl rsa -in "$D/rsa.key" -traditional -outform DER -out "$D/rsa.der" >/dev/null 2>&1 ||
    fail "openssl rsa -outform DER"
ok import $P "$D/imp.key"
grep -q "object=imp;id=%[0-9A-F%]*;type=private" "$out" || fail "import: label from the file name"
ok import $P "$D/imp.crt"
grep -q "object=imported%20cert;id=%.*;type=cert" "$out" || fail "import: label from the CN"
ok import $P --label rsa-der --id 77 "$D/rsa.der"
ok list $P
[ "$(grep -c 'label="imp"' "$out")" -eq 2 ] || fail "import: not 2 halves of the EC key"
key_id=$(sed -n 's/.*private key  EC .*label="imp" id=\([0-9a-f]*\) .*/\1/p' "$out")
grep -q "certificate  X.509 .*label=\"imported cert\" id=$key_id " "$out" ||
    fail "the certificate's id is not its key's"
ok export --token cli-test imp
openssl pkey -in "$D/imp.key" -pubout | cmp -s - "$out" || fail "imported EC public key differs"
ok export --token cli-test "imported cert"
openssl x509 -in "$D/imp.crt" | cmp -s - "$out" || fail "exported certificate differs"
ok export --token cli-test rsa-der
openssl pkey -in "$D/rsa.key" -pubout | cmp -s - "$out" || fail "imported RSA public key differs"
client pkcs11-tool --module "$M" --token-label cli-test --login --pin 123456 --sign \
    -m ECDSA-SHA256 --id "$key_id" --signature-format openssl -i "$D/data" -o "$D/sig" \
    >"$out" 2>&1 || fail "pkcs11-tool --sign with the imported key"
openssl x509 -in "$D/imp.crt" -pubkey -noout >"$D/imp.pub" || fail "openssl x509 -pubkey"
openssl dgst -sha256 -verify "$D/imp.pub" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "the imported key's signature does not verify with the certificate's key"
refused 6 "neither PEM nor" import $P "$D/data"
refused 6 "No such file" import $P "$D/no-such-file"

step "delete"
before=$(count_objects $P)
ok delete $P imp
[ "$(grep -c '^deleted pkcs11:' "$out")" -eq 2 ] || fail "delete imp: not both halves"
[ "$(count_objects $P)" -eq $((before - 2)) ] || fail "delete imp: the count did not drop by 2"
ok delete $P "pkcs11:object=rsa-der;type=public"
[ "$(count_objects $P)" -eq $((before - 3)) ] || fail "delete type=public deleted more than 1"
ok keygen $P --type aes:128 --label twin --id 01
ok keygen $P --type aes:128 --label twin --id 02
refused 2 "several ids" delete $P twin
ok delete $P --all twin
[ "$(count_objects $P)" -eq $((before - 3)) ] || fail "delete --all left the twins"
refused 5 'no object "imp"' delete $P imp
refused 5 'no object "nothing"' export --token cli-test nothing

step "passwd, and wrong PINs"
refused 4 "C_Login: CKR_PIN_INCORRECT (wrong PIN)" list --token cli-test --pin 999999
ok passwd --token cli-test --old-pin 123456 --new-pin 24681357
refused 4 "CKR_PIN_INCORRECT" list --token cli-test --pin 123456
ok list --token cli-test --pin 24681357
refused 4 "C_SetPIN: CKR_PIN_INCORRECT" passwd --token cli-test --old-pin 123456 --new-pin 1111
ok passwd --token cli-test --so --old-pin 12345678 --new-pin 11223344
ok passwd --token cli-test --so-pin 11223344 --new-pin 55555555
ok list --token cli-test --pin 55555555

step "digest, straight and resumed in a new session"
head -c 300000 /dev/urandom >"$D/big"
want=$(openssl dgst -sha256 -r "$D/big" | cut -d' ' -f1)
ok digest --token cli-test "$D/big"
[ "$(cut -d' ' -f1 "$out")" = "$want" ] || fail "digest differs from OpenSSL's"
ok digest --token cli-test --resume-at 123457 "$D/big"
grep -q "^$want  " "$out" || fail "digest --resume-at differs from OpenSSL's"
grep -q "saved the digest's state" "$out" || fail "digest --resume-at did not move the state"
want=$(openssl dgst -sha384 -r "$D/big" | cut -d' ' -f1)
ok digest --token cli-test --mechanism sha384 --resume-at 0 "$D/big"
grep -q "^$want  " "$out" || fail "sha384 digest resumed at 0 differs from OpenSSL's"
refused 2 "past the end" digest --token cli-test --resume-at 300001 "$D/big"

step "info"
ok info
for what in "TPM vendor" "TPM firmware" "dictionary attack" "store: $TPMTOK_STORE" \
    "CKM_ECDSA_SHA256 .* sign verify" "CKM_SHA256 "; do
    grep -q "$what" "$out" || fail "info does not show: $what"
done

step "the demo"
TPMTOK_CLI="$T" sh "$TPMTOK_SRCDIR/tools/demo.sh" >"$out" 2>&1 || fail "tools/demo.sh"
grep -q "Verified OK" "$out" && grep -q "demo: all steps passed" "$out" || fail "demo output"
echo "cli: all steps passed"
