# Sourced by the interop tests: a private swtpm, ASan for uninstrumented clients, step and
# failure reports, a token with keys made by pkcs11-tool, and public keys read back from it.

SO_PIN=12345678
PIN=123456
TOKEN=interop

# need PROGRAM PACKAGE: skip the whole test (exit 77) when a client is not installed.
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "SKIP: $1 ($2) is not installed"
        exit 77
    fi
}

# need_pkcs11_engine: skip (exit 77) without OpenSSL's pkcs11 engine; sets engines, its dir.
need_pkcs11_engine() {
    need openssl openssl
    engines=$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
    if [ ! -f "$engines/pkcs11.so" ]; then
        echo "SKIP: OpenSSL's pkcs11 engine (libengine-pkcs11-openssl) is not installed"
        exit 77
    fi
}

# engine_conf FILE: an OpenSSL config that loads the pkcs11 engine with the module and the
# PIN, as an application configures it (after need_pkcs11_engine and interop_start).
engine_conf() {
    cat >"$1" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engines/pkcs11.so
MODULE_PATH = $M
PIN = $PIN
init = 0
EOF
}

# Re-runs the calling script under a private swtpm (which sets TPMTOK_TCTI, TPMTOK_STORE and
# TPMTOK_TEST_DIR, and removes its directory at the end); does nothing once under it.
# Under the sanitizer build, the clients are not built with ASan: its runtime must be loaded
# before the module. Clients' own leaks are not ours to report.
interop_start() {
    need openssl openssl   # every test converts or checks keys with it
    if [ -z "${TPMTOK_TEST_DIR:-}" ]; then
        exec "$TPMTOK_BUILDDIR/test/harness/with-swtpm" "$0" "$@"
    fi
    if [ "${TPMTOK_SANITIZERS:-0}" = 1 ]; then
        LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so)"
        ASAN_OPTIONS="detect_leaks=0"
        export LD_PRELOAD ASAN_OPTIONS
    fi
    M="$TPMTOK_MODULE"
    D="$TPMTOK_TEST_DIR"
    out="$D/out"
}

# Programs linked with libp11-kit (p11tool, p11-kit) hang at exit under a preloaded ASan, with
# or without tpmtok: glibc's locale lock is left with a negative reader count, and p11-kit's
# destructor waits on it in freelocale. Under the sanitizer build, those clients get a
# freelocale that does nothing (the process is exiting; the locale goes with it).
asan_freelocale_workaround() {
    [ "${TPMTOK_SANITIZERS:-0}" = 1 ] || return 0
    printf '#include <locale.h>\nvoid freelocale(locale_t l) { (void)l; }\n' >"$D/nofree.c"
    ${CC:-cc} -shared -fPIC -o "$D/nofree.so" "$D/nofree.c" >"$out" 2>&1 ||
        fail "cannot build the freelocale workaround"
    LD_PRELOAD="$LD_PRELOAD:$D/nofree.so"
}

step() { echo "== $*"; }
fail() {
    echo "FAIL: $*"
    cat "$out"
    exit 1
}

# A token $TOKEN with both PINs, an RSA-2048 key pair (id 01, label rsa-key) and an EC P-256
# key pair (id 02, label ec-key), all made in the TPM through pkcs11-tool.
make_token_with_keys() {
    pkcs11-tool --module "$M" --init-token --label "$TOKEN" --so-pin "$SO_PIN" >"$out" 2>&1 ||
        fail "pkcs11-tool --init-token"
    pkcs11-tool --module "$M" --token-label "$TOKEN" --init-pin --so-pin "$SO_PIN" \
        --pin "$PIN" >"$out" 2>&1 || fail "pkcs11-tool --init-pin"
    pkcs11-tool --module "$M" --token-label "$TOKEN" --login --pin "$PIN" --keypairgen \
        --key-type rsa:2048 --id 01 --label rsa-key >"$out" 2>&1 || fail "keypairgen rsa:2048"
    pkcs11-tool --module "$M" --token-label "$TOKEN" --login --pin "$PIN" --keypairgen \
        --key-type EC:prime256v1 --id 02 --label ec-key >"$out" 2>&1 ||
        fail "keypairgen EC:prime256v1"
}

# rsa_public_pem ID FILE: the RSA public key object with CKA_ID ID, as pkcs11-tool reads it,
# converted to PEM by OpenSSL.
rsa_public_pem() {
    pkcs11-tool --module "$M" --token-label "$TOKEN" --read-object --type pubkey --id "$1" \
        --output-file "$D/pub.der" >"$out" 2>&1 || fail "pkcs11-tool --read-object pubkey $1"
    openssl pkey -pubin -inform DER -in "$D/pub.der" -out "$2" >"$out" 2>&1 ||
        fail "the RSA public key $1 does not parse with OpenSSL"
}

hex_to_file() { perl -e 'print pack("H*", $ARGV[0])' "$1" >"$2"; }

# ec_public_pem ID FILE: the EC public key object with CKA_ID ID, from its CKA_EC_PARAMS and
# CKA_EC_POINT as pkcs11-tool lists them, assembled into a SubjectPublicKeyInfo by OpenSSL.
# (pkcs11-tool 0.23 cannot --read-object an EC public key with OpenSSL 3: OpenSC issue 3200.)
ec_public_pem() {
    pkcs11-tool --module "$M" --token-label "$TOKEN" --list-objects --type pubkey --id "$1" \
        >"$out" 2>&1 || fail "pkcs11-tool --list-objects pubkey $1"
    point_hex=$(sed -n 's/^ *EC_POINT: *\([0-9a-f]*\).*/\1/p' "$out")
    params_hex=$(sed -n 's/^ *EC_PARAMS: *\([0-9a-f]*\).*/\1/p' "$out")
    [ -n "$point_hex" ] && [ -n "$params_hex" ] || fail "no EC_POINT or EC_PARAMS listed for $1"
    hex_to_file "$point_hex" "$D/ec_point.der"
    hex_to_file "$params_hex" "$D/ec_params.der"
    # CKA_EC_POINT is a DER OCTET STRING holding the point; CKA_EC_PARAMS a named curve's OID.
    point=$(openssl asn1parse -inform DER -in "$D/ec_point.der" | sed -n 's/.*\[HEX DUMP\]://p')
    curve=$(openssl asn1parse -inform DER -in "$D/ec_params.der" | sed -n 's/.*OBJECT *://p')
    [ -n "$point" ] && [ -n "$curve" ] || fail "EC_POINT or EC_PARAMS of $1 is not DER"
    cat >"$D/spki.cnf" <<EOF
asn1 = SEQUENCE:spki
[spki]
algorithm = SEQUENCE:algorithm
key = FORMAT:HEX,BITSTRING:$point
[algorithm]
type = OID:id-ecPublicKey
curve = OID:$curve
EOF
    openssl asn1parse -genconf "$D/spki.cnf" -noout -out "$D/spki.der" >"$out" 2>&1 ||
        fail "cannot assemble the EC public key $1"
    openssl pkey -pubin -inform DER -in "$D/spki.der" -out "$2" >"$out" 2>&1 ||
        fail "the EC public key $1 does not parse with OpenSSL"
}

# Whether the tpmtok CLI can export public keys: its usage lists `export`.
have_tpmtok_export() {
    "$TPMTOK_BUILDDIR/tools/tpmtok" --help 2>&1 | grep -q "^ *export "
}
