#!/bin/sh
# OpenSSL's pkcs11 engine (libp11) with the module: signatures by PKCS#11 URI, checked by
# `openssl dgst -verify` with the public key pkcs11-tool reads.
set -eu

. "$TPMTOK_SRCDIR/test/interop/lib.sh"
need pkcs11-tool opensc
need_pkcs11_engine
interop_start "$@"

step "a token with an RSA and an EC key pair, made by pkcs11-tool"
make_token_with_keys
rsa_public_pem 01 "$D/rsa.pem"
ec_public_pem 02 "$D/ec.pem"

# The engine as an application configures it: the module and the PIN in the OpenSSL config.
engine_conf "$D/openssl.cnf"
OPENSSL_CONF="$D/openssl.cnf"
export OPENSSL_CONF
URI="pkcs11:token=$TOKEN"
head -c 5000 /dev/urandom >"$D/data"
cp "$D/data" "$D/tampered"
printf 'x' >>"$D/tampered"

step "the engine reads the public keys pkcs11-tool reads"
for key in rsa ec; do
    openssl pkey -engine pkcs11 -inform engine -pubin -in "$URI;object=$key-key;type=public" \
        -pubout -out "$D/$key.engine.pem" >"$out" 2>&1 || fail "openssl pkey $key-key"
    cmp -s "$D/$key.engine.pem" "$D/$key.pem" || fail "the engine reads another $key public key"
done

if have_tpmtok_export; then
    step "tpmtok export gives the same public keys"
    for key in rsa ec; do
        "$TPMTOK_BUILDDIR/tools/tpmtok" --module "$M" export --token "$TOKEN" --format pem \
            --out "$D/$key.export.pem" "$key-key" >"$out" 2>&1 || fail "tpmtok export $key-key"
        cmp -s "$D/$key.export.pem" "$D/$key.pem" || fail "tpmtok export gives another $key key"
    done
else
    echo "(tpmtok export is not built yet: its comparison is left out)"
fi

# sign KEY DIGEST [SIGOPT...]: signs with the engine; OpenSSL verifies, and rejects a changed file.
sign() {
    key=$1 md=$2
    shift 2
    openssl dgst -engine pkcs11 -keyform engine -sign "$URI;object=$key-key;type=private" \
        "-$md" "$@" -out "$D/sig" "$D/data" >"$out" 2>&1 || fail "openssl dgst -sign $key $md $*"
    openssl dgst -verify "$D/$key.pem" "-$md" "$@" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
        fail "openssl dgst -verify rejects the $key $md $* signature"
    grep -q "Verified OK" "$out" || fail "no 'Verified OK' for $key $md $*"
    if openssl dgst -verify "$D/$key.pem" "-$md" "$@" -signature "$D/sig" "$D/tampered" \
        >"$out" 2>&1; then
        fail "openssl dgst -verify accepts the $key $md $* signature of a changed file"
    fi
}

step "openssl dgst -sign with the EC key, SHA-256 and SHA-384"
sign ec sha256
sign ec sha384
step "openssl dgst -sign with the RSA key, PKCS#1 v1.5 SHA-256 and SHA-512"
sign rsa sha256
sign rsa sha512
step "openssl dgst -sign with the RSA key, PSS SHA-256"
sign rsa sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest

step "a wrong PIN in the configuration signs nothing"
sed "s/^PIN = .*/PIN = 999999/" "$D/openssl.cnf" >"$D/wrong.cnf"
if OPENSSL_CONF="$D/wrong.cnf" openssl dgst -engine pkcs11 -keyform engine \
    -sign "$URI;object=ec-key;type=private" -sha256 -out "$D/sig" "$D/data" \
    </dev/null >"$out" 2>&1; then
    fail "a wrong PIN signed"
fi
grep -q "Login failed" "$out" || fail "a wrong PIN did not fail the login"
echo "openssl-engine: all steps passed"
