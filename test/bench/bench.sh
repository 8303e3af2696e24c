#!/bin/sh
# make bench: measures tpmtok (or another PKCS#11 module) and the TPM's own limit on a private
# swtpm, and prints one table: figure | tpmtok | TPM limit | tpmtok / limit | ... (CSV as well).
set -eu

usage() {
    cat <<EOF
usage: bench.sh [--seconds S] [--objects N] [--only FIGURES] [--csv FILE] [--softhsm]
                [--baseline FILE]
                [--module PATH --token LABEL --pin PIN]
  --seconds S      time budget of each figure (default 1)
  --objects N      token objects in the largest store (default 10000; 0: no store figures)
  --only FIGURES   comma-separated prefixes of figure names (sign,digest,cold_start/0,...)
  --csv FILE       where the table goes as CSV (default test/bench/results.csv in the build)
  --softhsm        also measure SoftHSM (a token made with softhsm2-util in a temp dir)
  --baseline FILE  compare with an earlier run's CSV: a figure more than 10% worse is
                   marked REGRESSED (the issue's rule: such a change needs a note saying why)
  --module PATH    measure this module instead of tpmtok, with its existing token LABEL
                   (logged in with PIN); the TPM limit is still the private swtpm's
Runs under test/harness/with-swtpm; make bench passes the build's paths in the environment.
EOF
}

B="${TPMTOK_BUILDDIR:-$(pwd)}"
# Re-run under a private swtpm, which sets TPMTOK_TCTI, TPMTOK_STORE and TPMTOK_TEST_DIR.
if [ -z "${TPMTOK_TEST_DIR:-}" ]; then
    case " $* " in *" --help "* | *" -h "*) usage; exit 0 ;; esac
    exec "$B/test/harness/with-swtpm" "$0" "$@"
fi

seconds=1 objects=10000 only="" csv="$B/test/bench/results.csv" softhsm=0 baseline=""
module="${TPMTOK_MODULE:-$B/src/.libs/libtpmtok.so}" token="" pin=""
name=tpmtok
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --objects) objects="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --csv) csv="$2"; shift 2 ;;
    --softhsm) softhsm=1; shift ;;
    --baseline) baseline="$2"; shift 2 ;;
    --module) module="$2"; name="$(basename "$2" .so)"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --pin) pin="$2"; shift 2 ;;
    *) usage >&2; exit 2 ;;
    esac
done
if [ "$name" != tpmtok ] && { [ -z "$token" ] || [ -z "$pin" ]; }; then
    echo "bench.sh: --module needs --token and --pin" >&2
    exit 2
fi

D="$TPMTOK_TEST_DIR"
load_before="$(cut -d" " -f1-3 /proc/loadavg)"
say() { echo "bench: $*" >&2; }
only_args() { if [ -n "$only" ]; then echo "--only $only"; fi; }

# Every TPM command goes through the counting TCTI, so each figure says what it sent.
raw_tcti="$TPMTOK_TCTI"
count_lib="${TPMTOK_TCTI_COUNT_LIB:-$B/test/harness/.libs/libtcti-count.so}"
if [ -f "$count_lib" ]; then
    TPMTOK_TCTI="$count_lib:$raw_tcti"
    TPMTOK_TCTI_COUNT="$D/counts"
    export TPMTOK_TCTI TPMTOK_TCTI_COUNT
else
    say "no $count_lib: TPM commands are not counted"
fi

# The token objects that fill the store stay in a store of our own, which goes away at the end
# (SoftHSM takes minutes to destroy 10,000 of them); a token of the user's is left as it was.
keep=""
if [ "$name" = tpmtok ]; then
    keep=--keep-objects
    if ! command -v pkcs11-tool >/dev/null 2>&1; then
        echo "bench.sh: pkcs11-tool (opensc) makes the token; it is not installed" >&2
        exit 1
    fi
    token=bench pin=123456
    say "token \"$token\" in $TPMTOK_STORE"
    p11tool() { pkcs11-tool --module "$module" "$@" >>"$D/init.out" 2>&1; }
    if [ "${TPMTOK_SANITIZERS:-0}" = 1 ]; then
        say "a sanitizer build: its figures say nothing about tpmtok's speed"
        # pkcs11-tool is not built with ASan: the runtime must be loaded before the module.
        asan="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so)"
        p11tool() { LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 \
            pkcs11-tool --module "$module" "$@" >>"$D/init.out" 2>&1; }
    fi
    if ! p11tool --init-token --label "$token" --so-pin 12345678 ||
        ! p11tool --token-label "$token" --init-pin --so-pin 12345678 --pin "$pin"; then
        cat "$D/init.out" >&2
        exit 1
    fi
fi

say "the TPM's own limit (bench_tpm)"
# shellcheck disable=SC2046
"$B/test/bench/bench_tpm" --seconds "$seconds" --csv "$D/tpm.csv" $(only_args) >&2
# A bare swtpm holds 3 objects: leave none behind for the module, whatever bench_tpm did.
if command -v tpm2_flushcontext >/dev/null 2>&1; then
    tpm2_flushcontext -T "$raw_tcti" -t >/dev/null 2>&1 || true
fi

say "$name (bench_p11)"
# shellcheck disable=SC2046
"$B/test/bench/bench_p11" --module "$module" --token "$token" --pin "$pin" --seconds "$seconds" \
    --objects "$objects" --csv "$D/p11.csv" $(only_args) $keep >&2

: >"$D/softhsm.csv"
if [ "$softhsm" = 1 ]; then
    shm=/usr/lib/softhsm/libsofthsm2.so
    [ -f "$shm" ] || shm="$(find /usr/lib -name libsofthsm2.so 2>/dev/null | head -n 1)"
    if [ -z "$shm" ] || ! command -v softhsm2-util >/dev/null 2>&1; then
        say "SoftHSM is not installed: no SoftHSM column"
    else
        mkdir -p "$D/softhsm-tokens"
        printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$D/softhsm-tokens" \
            >"$D/softhsm2.conf"
        SOFTHSM2_CONF="$D/softhsm2.conf"
        export SOFTHSM2_CONF
        softhsm2-util --init-token --free --label bench --so-pin 12345678 --pin 123456 >/dev/null
        say "SoftHSM (bench_p11 on $shm)"
        # shellcheck disable=SC2046
        "$B/test/bench/bench_p11" --module "$shm" --token bench --pin 123456 \
            --seconds "$seconds" --objects "$objects" --csv "$D/softhsm.csv" $(only_args) \
            --keep-objects >&2
    fi
fi

mkdir -p "$(dirname "$csv")"
with_base=0
if [ -n "$baseline" ]; then
    # Read before the new CSV is written: it may be the same file.
    cp "$baseline" "$D/baseline.csv" || exit 1
    baseline="$D/baseline.csv" with_base=1
fi
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1))"
echo "tss2 $(pkg-config --modversion tss2-esys 2>/dev/null || echo '?'), $(openssl version 2>/dev/null | cut -d' ' -f1-2)," \
    "$(swtpm --version 2>/dev/null | head -n 1 | sed 's/,.*//')," \
    "libtpms $(dpkg-query -W -f '${Version}' 'libtpms0*' 2>/dev/null || echo '?'), $seconds s per figure," \
    "load average $load_before before the run"
echo
awk -F, -v name="$name" -v csv="$csv" -v with_shm="$softhsm" -v with_base="$with_base" \
    -v tpm_csv="$D/tpm.csv" -v p11_csv="$D/p11.csv" -v shm_csv="$D/softhsm.csv" -v base_csv="$baseline" '
# Targets from the benchmark issue; "ratio" ones compare with the TPM limit.
BEGIN {
    target["sign_ecdsa_p256"] = ">= 1500"
    target["aes128_cbc_enc_1call"] = ">= 8"; target["aes128_cbc_enc_4k"] = ">= 8"
    target["aes128_cbc_dec_1call"] = ">= 8"; target["aes128_cbc_dec_4k"] = ">= 8"
    target["digest_sha256_1call"] = "ratio >= 0.9"; target["digest_sha256_100B"] = "ratio >= 0.9"
    target["opstate_get_set"] = ">= 2500"
    target["find_by_id/10k"] = "<= 1"; target["keygen_ec_p256"] = "<= 3"
    target["random_32"] = ">= 15000"
}
FNR == 1 { next }
FILENAME == tpm_csv { tv[$1] = $2; tu[$1] = $3; tc[$1] = $5; tstat[$1] = $7; tfig[++nt] = $1; next }
FILENAME == p11_csv { pv[$1] = $2; pu[$1] = $3; pc[$1] = $5; pd[$1] = $6; pstat[$1] = $7; pfig[++np] = $1; next }
FILENAME == shm_csv { sv[$1] = $2; sstat[$1] = $7; next }
FILENAME == base_csv { bv[$1] = $2; next }
function limit_of(f) { sub(/_(1call|100B|4k)$/, "", f); return f }
function shown(v, st) { return st == "ok" ? v : (st == "" ? "-" : st) }
function target_of(f) { return f ~ /^cold_start\/[^ ]*$/ ? "<= 6" : target[f] }
function judge(f, v, r,    t, op, want, x) {
    t = target_of(f)
    if (t == "" || v == "") return ""
    x = v
    if (t ~ /^ratio/) { if (r == "") return ""; x = r; sub(/^ratio /, "", t) }
    split(t, parts, " "); op = parts[1]; want = parts[2]
    return ((op == ">=" && x + 0 >= want + 0) || (op == "<=" && x + 0 <= want + 0)) ? "ok" : "MISS"
}
# The change from the baseline run, and whether it is a regression of more than 10% (times and
# the flat-start ratio are better lower, rates higher).
function versus(f, v, unit,    old, c) {
    old = bv[f]
    if (v == "" || old == "" || old + 0 <= 0) return "-"
    c = v / old
    if (unit == "ms" || unit == "x") return sprintf("%.2f%s", c, c > 1.1 ? " REGRESSED" : "")
    return sprintf("%.2f%s", c, c < 1 / 1.1 ? " REGRESSED" : "")
}
function row(f, mine, mst, lim, lst, unit, cmds, detail, shm, shmst,    r, j, tg, vs) {
    r = ""
    if (mst == "ok" && lst == "ok" && lim + 0 > 0) r = sprintf("%.2f", mine / lim)
    j = mst == "ok" ? judge(f, mine, r) : (mst == "" ? "" : "MISS")
    tg = target_of(f)
    if (tg != "" && j != "") tg = tg " " j
    vs = versus(f, mst == "ok" ? mine : "", unit)
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |", f, shown(mine, mst), shown(lim, lst), \
        r == "" ? "-" : r, unit, tg == "" ? "-" : tg, cmds == "" ? "-" : cmds, detail == "" ? "-" : detail
    if (with_shm) printf " %s |", shown(shm, shmst)
    if (with_base) printf " %s |", vs
    printf "\n"
    printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s", f, mine, lim, r, unit, tg, mst, cmds, lim_cmds, detail >> csv
    if (with_shm) printf ",%s", shm >> csv
    if (with_base) printf ",%s", vs >> csv
    printf "\n" >> csv
}
END {
    printf "| figure | %s | TPM limit | %s / limit | unit | target | TPM cmds/op | TPM commands per op |", name, name
    if (with_shm) printf " SoftHSM |"
    if (with_base) printf " vs baseline |"
    printf "\n|---|---:|---:|---:|---|---|---:|---|"
    if (with_shm) printf "---:|"
    if (with_base) printf "---:|"
    printf "\n"
    printf "figure,%s,tpm_limit,ratio,unit,target,status,cmds_per_op,limit_cmds_per_op,cmds_detail%s%s\n", \
        name, with_shm ? ",softhsm" : "", with_base ? ",vs_baseline" : "" > csv
    for (i = 1; i <= np; i++) {
        f = pfig[i]; l = limit_of(f); used[l] = 1; lim_cmds = tc[l]
        row(f, pv[f], pstat[f], tv[l], tstat[l], pu[f], pc[f], pd[f], sv[f], sstat[f])
    }
    # Flat start: the cold start with the largest store over the empty one.
    big = ""
    for (i = 1; i <= np; i++) if (pfig[i] ~ /^cold_start\// && pfig[i] != "cold_start/0") big = pfig[i]
    if (big != "" && pv["cold_start/0"] > 0 && pstat[big] == "ok") {
        x = sprintf("%.2f", pv[big] / pv["cold_start/0"])
        lim_cmds = ""
        f = big " / cold_start/0"; target[f] = "<= 1.2"
        row(f, x, "ok", "", "", "x", "", "", "", "")
    }
    # What only the TPM side measures: the cost of sessions.
    for (i = 1; i <= nt; i++) {
        f = tfig[i]
        if (f in used) continue
        lim_cmds = tc[f]
        row(f, "", "", tv[f], tstat[f], tu[f], "", "", "", "")
    }
}' "$D/tpm.csv" "$D/p11.csv" "$D/softhsm.csv" ${baseline:+"$baseline"}
echo
say "CSV: $csv"
