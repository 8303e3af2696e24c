#!/bin/sh
# Measured-boot signing end to end: keys made by the tpmtok CLI bound to a PCR, or to an
# authority's approvals; OpenSSL's pkcs11 engine signs a file by PKCS#11 URI only while the PCR
# holds approved values; tpm2-tools changes the PCR as a boot would.
set -eu

. "$TPMTOK_SRCDIR/test/interop/lib.sh"
need tpm2_pcrextend tpm2-tools
need tpm2_pcrread tpm2-tools
need_pkcs11_engine
interop_start "$@"

T="$TPMTOK_BUILDDIR/tools/tpmtok"
TPM2TOOLS_TCTI="$TPMTOK_TCTI"
export TPM2TOOLS_TCTI
PCR=16   # the debug PCR: a test may extend it

engine_conf "$D/openssl.cnf"
head -c 3000 /dev/urandom >"$D/firmware.bin"

# signs KEY: 0 when the engine signs the file with KEY and the exported public key verifies it.
signs() {
    OPENSSL_CONF="$D/openssl.cnf" openssl dgst -engine pkcs11 -keyform engine -sha256 \
        -sign "pkcs11:token=$TOKEN;object=$1;type=private" -out "$D/sig" "$D/firmware.bin" \
        >"$out" 2>&1 || return 1
    "$T" --module "$M" export --token "$TOKEN" --out "$D/pub.pem" "$1" >>"$out" 2>&1 ||
        fail "tpmtok export $1"
    openssl dgst -sha256 -verify "$D/pub.pem" -signature "$D/sig" "$D/firmware.bin" \
        >>"$out" 2>&1 || fail "a signature by $1 does not verify"
}

# tpm2-tools do not load the module: they run without the sanitizer runtime the build preloads
# for clients (under it, tpm2_pcrextend hangs), and with a time limit.
tpm2() { env -u LD_PRELOAD -u ASAN_OPTIONS timeout 60 "$@"; }
boot() {
    tpm2 tpm2_pcrextend "$PCR:sha256=$(openssl rand -hex 32)" >"$out" 2>&1 || fail "tpm2_pcrextend"
}

step "a token, a key bound to PCR $PCR as it is now, and a key bound to nothing"
"$T" --module "$M" init --label "$TOKEN" --so-pin "$SO_PIN" --pin "$PIN" >"$out" 2>&1 ||
    fail "tpmtok init"
"$T" --module "$M" keygen --token "$TOKEN" --pin "$PIN" --type ec:p256 --label boot-key \
    --pcrs "sha256:$PCR" >"$out" 2>&1 || fail "tpmtok keygen --pcrs"
"$T" --module "$M" keygen --token "$TOKEN" --pin "$PIN" --type ec:p256 --label plain-key \
    >"$out" 2>&1 || fail "tpmtok keygen"

step "the engine signs with the bound key while the PCR holds its value"
signs boot-key || fail "the bound key does not sign"
boot
step "after PCR $PCR changes, the bound key does not sign; the other key does"
if signs boot-key; then fail "the bound key signs in another boot state"; fi
signs plain-key || fail "the unbound key does not sign"

step "a key bound to PCR values given in a file (tpm2_pcrread -o)"
tpm2 tpm2_pcrread "sha256:$PCR" -o "$D/now.bin" >"$out" 2>&1 || fail "tpm2_pcrread"
"$T" --module "$M" keygen --token "$TOKEN" --pin "$PIN" --type rsa:2048 --label values-key \
    --pcrs "sha256:$PCR" --pcr-values "$D/now.bin" >"$out" 2>&1 || fail "keygen --pcr-values"
signs values-key || fail "the key bound to the values of now does not sign"

step "a key bound to an authority: refused before any approval"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/authority.pem" \
    >"$out" 2>&1 || fail "openssl genpkey"
openssl pkey -in "$D/authority.pem" -pubout -out "$D/authority.pub" >"$out" 2>&1 ||
    fail "openssl pkey -pubout"
"$T" --module "$M" keygen --token "$TOKEN" --pin "$PIN" --type ec:p256 --label update-key \
    --authority "$D/authority.pub" >"$out" 2>&1 || fail "tpmtok keygen --authority"
if signs update-key; then fail "a key signs without an approval"; fi

# approve [KEY]: the authority (default authority.pem) approves PCR $PCR as it is now, and the
# approval goes on the token.
approve() {
    tpm2 tpm2_pcrread "sha256:$PCR" -o "$D/values.bin" >"$out" 2>&1 || fail "tpm2_pcrread"
    "$T" policy sign --key "$D/${1:-authority.pem}" --pcrs "sha256:$PCR" \
        --pcr-values "$D/values.bin" --out "$D/approval.bin" >"$out" 2>&1 ||
        fail "tpmtok policy sign"
    "$T" --module "$M" policy add --token "$TOKEN" "$D/approval.bin" >"$out" 2>&1 ||
        fail "tpmtok policy add"
}

step "approved: it signs"
approve
signs update-key || fail "the approved key does not sign"
step "an update changes the PCR: refused, until the new values are approved"
boot
if signs update-key; then fail "the key signs in a boot state nobody approved"; fi
approve
signs update-key || fail "the key does not sign after the new approval"

step "an RSA authority's approvals work the same"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa-authority.pem" \
    >"$out" 2>&1 || fail "openssl genpkey RSA"
"$T" --module "$M" keygen --token "$TOKEN" --pin "$PIN" --type rsa:2048 --label rsa-update-key \
    --authority "$D/rsa-authority.pem" >"$out" 2>&1 || fail "tpmtok keygen --authority (RSA)"
if signs rsa-update-key; then fail "a key signs with only another authority's approval"; fi
approve rsa-authority.pem
signs rsa-update-key || fail "the key approved by an RSA authority does not sign"

step "a file that is not an approval is refused"
printf 'not an approval' >"$D/junk"
if "$T" --module "$M" policy add --token "$TOKEN" "$D/junk" >"$out" 2>&1; then
    fail "policy add took junk"
fi
grep -q "not an approval" "$out" || fail "policy add does not say why"
echo "PASS"
