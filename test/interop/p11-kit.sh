#!/bin/sh
# p11-kit with the module registered by tpmtok.module: `p11-kit list-modules` shows the token,
# and the p11-kit proxy module (what Firefox and GnuTLS load) lists it and signs with its keys.
set -eu

. "$TPMTOK_SRCDIR/test/interop/lib.sh"
need pkcs11-tool opensc
need p11-kit p11-kit
interop_start "$@"
asan_freelocale_workaround

step "a token with an RSA and an EC key pair, made by pkcs11-tool"
make_token_with_keys
rsa_public_pem 01 "$D/rsa.pem"
ec_public_pem 02 "$D/ec.pem"

# p11-kit reads module files from its system directories and, unless it runs as root, from
# ~/.config/pkcs11/modules, where a file of the same name with an empty `module:` turns a system
# module off. The test registers the module with the file `make install` installs
# (src/tpmtok.module.in), pointed at the module under test, and hides the system's modules: as a
# user through HOME in the test directory, as root (which p11-kit keeps to the system
# configuration) by mounting the test's directory over the system's in a private mount namespace.
step "register the module with p11-kit, alone"
configs=$(pkg-config --variable=p11_module_configs p11-kit-1 2>/dev/null ||
    echo /usr/share/p11-kit/modules)
mods="$D/p11-kit-modules"
mkdir -p "$mods" "$D/empty"
sed "s|@P11MODULEDIR@|${M%/*}|" "$TPMTOK_SRCDIR/src/tpmtok.module.in" >"$mods/tpmtok.module"
grep -q "^module: $M\$" "$mods/tpmtok.module" || fail "tpmtok.module does not name the module"
if [ "$(id -u)" != 0 ]; then
    HOME="$D/home"
    export HOME
    unset XDG_CONFIG_HOME
    mkdir -p "$HOME/.config/pkcs11"
    for f in "$configs"/*.module /etc/pkcs11/modules/*.module; do
        if [ -f "$f" ]; then printf 'module:\n' >"$mods/${f##*/}"; fi
    done
    cp -r "$mods" "$HOME/.config/pkcs11/modules"
    with_registration() { "$@"; }
elif [ -d "$configs" ] && unshare -m true 2>/dev/null; then
    with_registration() {
        unshare -m sh -c 'mount --bind "$1" "$2" &&
            { [ ! -d /etc/pkcs11/modules ] || mount --bind "$3" /etc/pkcs11/modules; } &&
            shift 3 && exec "$@"' sh "$mods" "$configs" "$D/empty" "$@"
    }
else
    echo "SKIP (part): running as root without mount namespaces (unshare -m), p11-kit cannot"
    echo "be shown a private configuration"
    echo "p11-kit: all steps passed"
    exit 0
fi

step "p11-kit list-modules shows the module and its token"
with_registration p11-kit list-modules >"$out" 2>&1 || fail "p11-kit list-modules"
grep -q "^tpmtok: $M\$" "$out" || fail "p11-kit list-modules does not show tpmtok"
grep -q "library-description: tpmtok: PKCS#11 on a TPM 2.0" "$out" ||
    fail "p11-kit list-modules does not describe the module"
grep -q "^    token: $TOKEN\$" "$out" || fail "p11-kit list-modules does not show the token"

proxy=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null || true)
if [ -z "$proxy" ] || [ ! -f "$proxy" ]; then
    echo "SKIP (part): the p11-kit proxy module is not installed (p11-kit-modules)"
    echo "p11-kit: all steps passed"
    exit 0
fi
P="--module $proxy --token-label $TOKEN"

step "the p11-kit proxy module lists the token"
with_registration pkcs11-tool --module "$proxy" --list-token-slots >"$out" 2>&1 ||
    fail "proxy --list-token-slots"
grep -q "token label *: $TOKEN\$" "$out" || fail "the proxy does not list the token"

step "signatures through the proxy, checked by OpenSSL"
head -c 2000 /dev/urandom >"$D/data"
with_registration pkcs11-tool $P --login --pin "$PIN" --sign -m ECDSA-SHA256 --id 02 \
    --signature-format openssl -i "$D/data" -o "$D/sig" >"$out" 2>&1 ||
    fail "proxy --sign ECDSA-SHA256"
openssl dgst -sha256 -verify "$D/ec.pem" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "OpenSSL rejects the ECDSA signature made through the proxy"
with_registration pkcs11-tool $P --login --pin "$PIN" --sign -m SHA256-RSA-PKCS --id 01 \
    -i "$D/data" -o "$D/sig" >"$out" 2>&1 || fail "proxy --sign SHA256-RSA-PKCS"
openssl dgst -sha256 -verify "$D/rsa.pem" -signature "$D/sig" "$D/data" >"$out" 2>&1 ||
    fail "OpenSSL rejects the RSA signature made through the proxy"

step "a wrong PIN through the proxy is CKR_PIN_INCORRECT"
if with_registration pkcs11-tool $P --login --pin 999999 --generate-random 8 >"$out" 2>&1; then
    fail "the proxy accepted a wrong PIN"
fi
grep -q "CKR_PIN_INCORRECT" "$out" || fail "a wrong PIN did not give CKR_PIN_INCORRECT"
echo "p11-kit: all steps passed"
