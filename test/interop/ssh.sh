#!/bin/sh
# OpenSSH with the module: ssh-keygen -D lists the token's keys, and ssh logs in to a loopback
# sshd with each of them (ssh -I, PKCS11Provider in a config file, ssh-add -s into an agent).
set -eu

. "$TPMTOK_SRCDIR/test/interop/lib.sh"
need pkcs11-tool opensc
need ssh-keygen openssh-client
interop_start "$@"

step "a token with an RSA and an EC key pair, made by pkcs11-tool"
make_token_with_keys

step "ssh-keygen -D prints both public keys"
ssh-keygen -D "$M" >"$D/keygen-D" 2>"$out" || fail "ssh-keygen -D"
cut -d' ' -f1,2 "$D/keygen-D" | sort >"$D/keygen-D.keys"
[ "$(wc -l <"$D/keygen-D.keys")" -eq 2 ] || fail "ssh-keygen -D did not print two keys"
grep -q "^ssh-rsa .* rsa-key\$" "$D/keygen-D" || fail "no RSA key labelled rsa-key"
grep -q "^ecdsa-sha2-nistp256 .* ec-key\$" "$D/keygen-D" || fail "no P-256 key labelled ec-key"

step "they are the keys pkcs11-tool reads, converted by OpenSSL and ssh-keygen -i"
rsa_public_pem 01 "$D/rsa.pem"
ec_public_pem 02 "$D/ec.pem"
for key in rsa ec; do
    ssh-keygen -i -m PKCS8 -f "$D/$key.pem" >"$D/$key.ssh" 2>"$out" || fail "ssh-keygen -i $key"
done
cat "$D/rsa.ssh" "$D/ec.ssh" | cut -d' ' -f1,2 | sort >"$D/converted.keys"
cmp -s "$D/keygen-D.keys" "$D/converted.keys" || {
    diff "$D/keygen-D.keys" "$D/converted.keys" >"$out" || true
    fail "ssh-keygen -D and the converted public keys differ"
}

if have_tpmtok_export; then
    step "tpmtok export --format ssh gives the same keys"
    for key in rsa-key ec-key; do
        "$TPMTOK_BUILDDIR/tools/tpmtok" --module "$M" export --token "$TOKEN" --format ssh \
            "$key" >>"$D/export.ssh" 2>"$out" || fail "tpmtok export --format ssh $key"
    done
    cut -d' ' -f1,2 "$D/export.ssh" | sort >"$D/export.keys"
    cmp -s "$D/keygen-D.keys" "$D/export.keys" || fail "tpmtok export and ssh-keygen -D differ"
else
    echo "(tpmtok export is not built yet: its comparison is left out)"
fi

# ---- logins to a loopback sshd that runs as the current user (root in CI).
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || ! command -v ssh >/dev/null 2>&1; then
    echo "SKIP (part): sshd or ssh (openssh-server, openssh-client) is not installed"
    echo "ssh: all steps passed"
    exit 0
fi
user=$(id -un)
# sshd running as root needs its privilege separation directory (the service makes it at boot).
if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p -m 0755 /run/sshd
fi
ssh-keygen -q -t ed25519 -N '' -f "$D/host_key" >"$out" 2>&1 || fail "ssh-keygen host key"

sshd_pid=
stop_sshd() {
    if [ -n "$sshd_pid" ]; then kill "$sshd_pid" 2>/dev/null || true; fi
    if [ -n "${agent_pid:-}" ]; then kill "$agent_pid" 2>/dev/null || true; fi
}
trap stop_sshd EXIT

# start_sshd: on a free port of 127.0.0.1 (a few tries), logging to $D/sshd.log.
start_sshd() {
    for try in 1 2 3 4 5; do
        port=$((20000 + ($$ * 7 + try * 1031) % 9000))
        cat >"$D/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $D/host_key
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
LogLevel VERBOSE
EOF
        # sshd does not load the module: it runs without the sanitizer preload.
        env -u LD_PRELOAD "$SSHD" -D -e -f "$D/sshd_config" 2>"$D/sshd.log" &
        sshd_pid=$!
        for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            grep -q "Server listening" "$D/sshd.log" && return 0
            kill -0 "$sshd_pid" 2>/dev/null || break
            sleep 0.25
        done
        kill "$sshd_pid" 2>/dev/null || true
        wait "$sshd_pid" 2>/dev/null || true
        sshd_pid=
    done
    cp "$D/sshd.log" "$out"
    fail "sshd did not start"
}
start_sshd
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$D/host_key.pub")" >"$D/known_hosts"

# ssh asks for the PIN through SSH_ASKPASS when told to (it has no terminal here).
printf '#!/bin/sh\necho %s\n' "$PIN" >"$D/askpass"
chmod 700 "$D/askpass"
SSH_ASKPASS="$D/askpass"
SSH_ASKPASS_REQUIRE=force
export SSH_ASKPASS SSH_ASKPASS_REQUIRE
SSH_OPTS="-p $port -o UserKnownHostsFile=$D/known_hosts -o StrictHostKeyChecking=yes
    -o IdentityFile=none -o PreferredAuthentications=publickey -o ConnectTimeout=10"

# login KEYTYPE-IN-SSHD-LOG SSH-ARGS...: logs in, runs `echo ok`, and checks which key sshd took.
login() {
    want=$1
    shift
    before=$(wc -l <"$D/sshd.log")
    ssh $SSH_OPTS "$@" "$user@127.0.0.1" echo ok </dev/null >"$D/ssh.out" 2>"$out" ||
        { cat "$D/sshd.log" >>"$out"; fail "ssh $* could not log in"; }
    [ "$(cat "$D/ssh.out")" = ok ] || fail "ssh $* did not run the command"
    tail -n +"$((before + 1))" "$D/sshd.log" | grep -q "Accepted publickey for $user .*: $want " ||
        { cat "$D/sshd.log" >>"$out"; fail "sshd did not accept the $want key"; }
}

step "ssh -I logs in with the RSA key"
grep "rsa-key\$" "$D/keygen-D" >"$D/authorized_keys"
login RSA -F /dev/null -o IdentityAgent=none -I "$M"

step "ssh with PKCS11Provider in its config logs in with the EC key"
grep "ec-key\$" "$D/keygen-D" >"$D/authorized_keys"
printf 'Host *\n    PKCS11Provider %s\n    IdentityAgent none\n' "$M" >"$D/ssh_config"
login ECDSA -F "$D/ssh_config"

step "a wrong PIN does not log in"
printf '#!/bin/sh\necho 999999\n' >"$D/askpass"
if ssh $SSH_OPTS -F /dev/null -o IdentityAgent=none -I "$M" "$user@127.0.0.1" echo ok \
    </dev/null >"$D/ssh.out" 2>"$out"; then
    fail "ssh logged in with a wrong PIN"
fi
printf '#!/bin/sh\necho %s\n' "$PIN" >"$D/askpass"

if [ "${TPMTOK_SANITIZERS:-0}" = 1 ]; then
    # ssh-agent is setgid: the loader drops LD_PRELOAD from its environment, so the
    # ssh-pkcs11-helper it starts cannot load the ASan runtime first.
    echo "SKIP (part): ssh-add -s under the sanitizer build (setgid ssh-agent drops LD_PRELOAD)"
    echo "ssh: all steps passed"
    exit 0
fi
step "ssh-add -s puts the keys in an agent, and ssh logs in through it"
# ssh-agent loads only providers its -P list allows; its helper inherits the TPMTOK_ variables.
ssh-agent -D -a "$D/agent.sock" -P "$M" >"$D/agent.log" 2>&1 &
agent_pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -S "$D/agent.sock" ] && break
    sleep 0.25
done
SSH_AUTH_SOCK="$D/agent.sock" ssh-add -s "$M" </dev/null >"$out" 2>&1 ||
    { cat "$D/agent.log" >>"$out"; fail "ssh-add -s"; }
SSH_AUTH_SOCK="$D/agent.sock" ssh-add -L >"$D/agent.keys" 2>"$out" || fail "ssh-add -L"
cut -d' ' -f1,2 "$D/agent.keys" | sort | cmp -s - "$D/keygen-D.keys" ||
    fail "the agent does not hold the token's two keys"
login ECDSA -F /dev/null -o IdentityAgent="$D/agent.sock"
echo "ssh: all steps passed"
