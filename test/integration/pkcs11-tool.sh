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

step "pkcs11-tool --login --test"
pkcs11-tool --module "$M" --token-label "pkcs11-tool test" --login --pin 24681357 \
    --test >"$out" 2>&1 || fail "--test"
grep -q "No errors" "$out" || fail "--test reported errors"
echo "pkcs11-tool: all steps passed"
