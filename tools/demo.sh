#!/bin/sh
# tpmtok in one minute: a private swtpm, a token, an EC key in the TPM, a signature made with
# pkcs11-tool and checked by OpenSSL, and a digest saved and restored half way. Nothing outside
# a temporary directory is touched, and swtpm is stopped at the end (also on failure).
#
# Run it as `make demo` after building, or as tools/demo.sh from the build directory.
# TPMTOK_MODULE and TPMTOK_CLI may name the module and the tpmtok binary to use.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
MODULE=${TPMTOK_MODULE:-$here/../src/.libs/libtpmtok.so}
TPMTOK=${TPMTOK_CLI:-$here/tpmtok}
PIN=123456
SO_PIN=12345678

missing=""
for tool in swtpm pkcs11-tool openssl; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "demo: needs$missing (Debian: apt-get install swtpm opensc openssl)" >&2
    exit 77
fi
for f in "$MODULE" "$TPMTOK"; do
    if [ ! -e "$f" ]; then
        echo "demo: $f is missing: build first (./configure && make), or set TPMTOK_MODULE" \
            "and TPMTOK_CLI" >&2
        exit 1
    fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/tpmtok-demo.XXXXXX")
swtpm_pid=""
cleanup() {
    if [ -n "$swtpm_pid" ]; then
        kill "$swtpm_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
# Shows a command (with short names), or shows and runs it.
show() {
    echo "\$ $*" | sed -e "s|pkcs11_tool|pkcs11-tool|" -e "s|$MODULE|libtpmtok.so|g" -e "s|$TPMTOK|tpmtok|g" -e "s|$dir/||g"
}
run() {
    show "$@"
    "$@"
}

# pkcs11-tool is not built with ASan: in a sanitizer build the runtime must come first.
pkcs11_tool() {
    if [ "${TPMTOK_SANITIZERS:-0}" = 1 ]; then
        LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so)" \
            ASAN_OPTIONS=detect_leaks=0 pkcs11-tool "$@"
    else
        pkcs11-tool "$@"
    fi
}

# A free pair of loopback ports below the ephemeral range (the TCTI uses port + 1 for control).
start_swtpm() {
    mkdir "$dir/state"
    low=10000
    high=$(awk '{ print $1 - 2 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32000)
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$(od -An -N2 -tu2 /dev/urandom | awk -v l="$low" -v h="$high" '{ print l + $1 % (h - l) }')
        if swtpm socket --tpm2 --tpmstate dir="$dir/state" \
            --server type=tcp,port="$port",bindaddr=127.0.0.1 \
            --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
            --flags not-need-init,startup-clear --daemon --pid file="$dir/swtpm.pid" \
            --log file="$dir/swtpm.log" 2>/dev/null; then
            swtpm_pid=$(cat "$dir/swtpm.pid")
            echo "swtpm (pid $swtpm_pid) listens on 127.0.0.1:$port; its state is in $dir"
            TPMTOK_TCTI="swtpm:host=127.0.0.1,port=$port"
            return 0
        fi
    done
    echo "demo: swtpm did not start:" >&2
    cat "$dir/swtpm.log" >&2
    exit 1
}

step "start a private software TPM"
start_swtpm
TPMTOK_STORE="$dir/tpmtok.sqlite3"
TPMTOK_MODULE="$MODULE"
export TPMTOK_TCTI TPMTOK_STORE TPMTOK_MODULE
cd "$dir"

step "create a token, with its SO PIN and user PIN"
run "$TPMTOK" init --label demo --so-pin "$SO_PIN" --pin "$PIN"

step "generate an EC P-256 key pair in the TPM"
run "$TPMTOK" keygen --token demo --type ec:p256 --label demo-key --id 01 --pin "$PIN"

step "sign a message with pkcs11-tool (the private key never leaves the TPM)"
echo "a message signed by a key in the TPM" >msg.txt
run pkcs11_tool --module "$MODULE" --token-label demo --login --pin "$PIN" --sign \
    -m ECDSA-SHA256 --id 01 --signature-format openssl -i msg.txt -o msg.sig

step "export the public key and verify the signature with OpenSSL"
run "$TPMTOK" export --out pub.pem demo-key
cat pub.pem
run openssl dgst -sha256 -verify pub.pem -signature msg.sig msg.txt

step "digest a file in the TPM, saving the state half way and restoring it in a new session"
head -c 100000 /dev/urandom >data.bin
show "$TPMTOK" digest --resume-at 50000 data.bin
"$TPMTOK" digest --resume-at 50000 data.bin >digest.out
cat digest.out
tpm_digest=$(cut -d' ' -f1 digest.out)
ossl_digest=$(openssl dgst -sha256 -r data.bin | cut -d' ' -f1)
echo "OpenSSL says:  $ossl_digest"
if [ "$tpm_digest" != "$ossl_digest" ]; then
    echo "demo: the digests differ" >&2
    exit 1
fi
echo "the same digest"

step "list the token's objects, with their PKCS#11 URIs"
run "$TPMTOK" list --token demo --pin "$PIN"

step "stop swtpm and remove $dir"
echo "demo: all steps passed"
