#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# qemu-rcu next to its real alternatives: QEMU 10.0's and QEMU 10.2's own
# util/rcu.c with their own include/qemu/rcu.h (Debian trixie's and sid's
# source packages, fetched into the cache by
# contrib/qemu-tree/fetch-source.sh; nothing from QEMU enters this
# repository) and liburcu.  QEMU's files are compiled against qemu-rcu's
# support headers and sources (threads, events, notifiers, BQL) without
# CONFIG_MEMBARRIER, as Debian configures QEMU (read side smp_mb()), and
# for the read-side comparisons also with it, as --enable-membarrier
# builds QEMU (read side compiler barriers, QEMU's own
# sys_membarrier.c), so that both of qemu-rcu's modes have a like-for-
# like QEMU.  Symbols clash, so every implementation is its own
# executable, built into the cache.
#
#   tests/bench/anchors.sh [--quick] BUILD_DIR [qemu-rcu-bench options]
#       the full table: qemu-rcu-bench with the qemu-10.0 and qemu-10.2
#       columns, fences and membarrier (an executable each, built from
#       rcu-bench.c against that QEMU's rcu.c) and --both-modes; options
#       such as --json FILE are passed on.  Then the vgpu-unmap demo's
#       unmap latency with qemu-rcu and both QEMUs as Debian builds them
#       (tests/bench/anchor-ext.c stands in for the extensions the demo
#       calls).
#   tests/bench/anchors.sh --read [--quick] BUILD_DIR \
#           [THREADS [MILLIONS [ROUNDS]]]
#       the read side alone in the second harness (read-bench.c): median
#       over ROUNDS interleaved rounds of the wall-clock ns per iteration
#       of each implementation in each mode, against the best QEMU and
#       the best liburcu in the same mode, per round and overall, and
#       against the best QEMU as Debian builds it.
#   tests/bench/anchors.sh --growth [--quick] BUILD_DIR OUT_DIR \
#           [growth-bench options]
#       growth-bench (growth with threads) for qemu-rcu and both QEMUs,
#       writing OUT_DIR/growth-IMPLEMENTATION.json for
#       scripts/plot-bench.py.
#   tests/bench/anchors.sh --trim [--quick] BUILD_DIR [trim-bench options]
#       trim-bench (malloc_trim: RSS after a burst, CPU under a callback
#       trickle) with the qemu-10.0 and qemu-10.2 columns.
#   tests/bench/anchors.sh --rcutorture BUILD_DIR [NREADERS [SECONDS]]
#       QEMU's own benchmark, tests/unit/rcutorture's perf, rperf and
#       uperf modes, from each tree twice: linked with the tree's rcu.c
#       ("stock") and with qemu-rcu ("dropin").
#
# BUILD_DIR is a configured and built qemu-rcu build directory.  When a
# QEMU source cannot be fetched its column says so and the rest runs; an
# anchor that fails to build, and any of qemu-rcu's own runs that fails,
# makes the script fail (exit status 1), so that CI sees it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode=table quick=0
case "${1:-}" in
--read) mode="read"; shift ;;
--rcutorture) mode=torture; shift ;;
--growth) mode=growth; shift ;;
--trim) mode=trim; shift ;;
esac
if [ "${1:-}" = --quick ]; then
    quick=1
    shift
fi
usage="usage: $0 [--read|--rcutorture] [--quick] BUILD_DIR [ARGS...]"
build=$(cd "${1:?$usage}" && pwd)
shift
cache=${QEMU_RCU_CACHE:-${HOME:-/root}/.cache/qemu-rcu}/bench-anchors
mkdir -p "$cache"

support=(bql.c notify.c qemu-thread-posix.c sys_membarrier.c)
for f in cutils.c error-report.c oslib-posix.c stats64.c; do
    if [ -f "$repo/util/$f" ]; then
        support+=("$f")
    fi
done
read -r -a glib_cflags <<< "$(pkg-config --cflags glib-2.0 json-glib-1.0)"
read -r -a glib_libs <<< "$(pkg-config --libs glib-2.0 json-glib-1.0)"
cflags=(-O2 -g -std=gnu11 -pthread -fno-strict-aliasing -D_GNU_SOURCE)

die() {
    echo "anchors.sh: $*" >&2
    exit 1
}

# compile OUTPUT ARGS...: cc -o OUTPUT ARGS.  OUTPUT is removed first, so
# that a failed build never leaves an older binary to be measured; a
# failure prints the compiler's messages and ends the script.
compile() {
    local output=$1 log
    shift
    rm -f "$output"
    log=$(mktemp)
    if ! cc "${cflags[@]}" -o "$output" "$@" > "$log" 2>&1; then
        echo "anchors.sh: building $output failed:" >&2
        tail -n 40 "$log" >&2
        rm -f "$log"
        exit 1
    fi
    cat "$log" >&2
    rm -f "$log"
}

# compile_rcu_bench DIR HEADERS [CFLAGS...] -- SOURCES...: DIR/qemu-rcu-bench
# from rcu-bench.c and SOURCES (an rcu.c and its support sources), with
# directory HEADERS searched before qemu-rcu's include/.  The QEMU anchors
# and the memory rows' qemu-rcu (build_memory_exe) share this command
# line, so that their figures stay comparable.
compile_rcu_bench() {
    local dir=$1 headers=$2 flags=()
    shift 2
    while [ "$1" != -- ]; do
        flags+=("$1")
        shift
    done
    shift
    compile "$dir/qemu-rcu-bench" -I"$headers" -I"$repo/include" \
        "${glib_cflags[@]}" "${flags[@]}" -DURCU_VERSION='"n/a"' \
        "$here/rcu-bench.c" "$here/bench-qemu-rcu.c" "$@" "${glib_libs[@]}" -lm
}

# Whether the kernel has MEMBARRIER_CMD_SHARED, which QEMU built with
# --enable-membarrier needs (it exits at start-up without it).
membarrier_shared_available() {
    local probe=$cache/membarrier-shared-probe
    printf '%s\n' '#include <linux/membarrier.h>' '#include <sys/syscall.h>' \
        '#include <unistd.h>' 'int main(void) {' \
        '    long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);' \
        '    return cmds > 0 && (cmds & MEMBARRIER_CMD_SHARED) ? 0 : 1;' \
        '}' > "$probe.c"
    compile "$probe" "$probe.c"
    "$probe"
}

# The QEMU anchors of the read-side comparisons: QEMU as Debian builds it
# (its meson option membarrier defaults to disabled, and neither
# debian/rules nor the configure options in debian/control enable it:
# read side smp_mb()), and, where the kernel allows, QEMU built with
# --enable-membarrier (read side compiler barriers), so that each of
# qemu-rcu's two modes has a like-for-like QEMU.
read_side_anchors() {
    anchors=(10.0 10.2)
    if membarrier_shared_available; then
        anchors+=(10.0-membarrier 10.2-membarrier)
    else
        echo "anchors.sh: the kernel has no MEMBARRIER_CMD_SHARED: no" \
            "QEMU --enable-membarrier columns" >&2
        echo "qemu-10.x-membarrier: the kernel has no MEMBARRIER_CMD_SHARED" \
            "(columns n/a)"
    fi
}

# build_anchor NAME: builds the executables for anchor NAME (SERIES, or
# SERIES-membarrier for QEMU built with --enable-membarrier) into the
# cache and records their directory in anchor_dirs[NAME].  When the
# source cannot be fetched it records nothing and says so; when a build
# fails it ends the script.  Called in this shell, never in $(...),
# where a failure would go unnoticed.
declare -A anchor_dirs=()
build_anchor() {
    local name=$1 series=${1%-membarrier} tree out stage f extra=() sup=()
    local config=('#define CONFIG_LINUX 1' '#define CONFIG_POSIX 1'
                  '#define CONFIG_MALLOC_TRIM 1')
    if ! tree=$("$repo/contrib/qemu-tree/fetch-source.sh" "$series"); then
        echo "anchors.sh: QEMU $series: source not available, its" \
            "column stays empty" >&2
        echo "qemu-$name: source not available (column n/a)"
        return 0
    fi
    out=$cache/qemu-$name
    stage=$out/include
    rm -rf "$stage"
    mkdir -p "$stage/qemu"
    # QEMU's own read side; everything else it includes comes from
    # qemu-rcu's headers.
    cp "$tree/include/qemu/rcu.h" "$stage/qemu/rcu.h"
    for f in "${support[@]}"; do
        if [ "$name" != "$series" ] && [ "$f" = sys_membarrier.c ]; then
            sup+=("$tree/util/$f")
        else
            sup+=("$repo/util/$f")
        fi
    done
    if [ "$name" != "$series" ]; then
        # --enable-membarrier: QEMU's own barrier header and source.
        cp "$tree/include/qemu/sys_membarrier.h" "$stage/qemu/"
        config+=('#define CONFIG_MEMBARRIER 1')
    fi
    printf '%s\n' '#pragma once' "${config[@]}" > "$stage/qemu-rcu-config.h"
    # QEMU 10.0 fires force_rcu notifiers only in drain_call_rcu(); 10.2
    # (commit 55d98e3ede "rcu: Unify force quiescent state") also after
    # polling in any grace period.
    if [ "$series" = 10.0 ]; then
        extra+=(-DBENCH_ANCHOR_DRAIN_ONLY_KICK)
    fi
    local inc=(-I"$stage" -I"$repo/include" "${glib_cflags[@]}")
    case $mode in
    table)
        # The vgpu-unmap demo on QEMU's rcu.c; anchor-ext.c stands in for
        # the qemu-rcu extensions it calls.
        compile "$out/vgpu-unmap" "${inc[@]}" -I"$repo/contrib/vgpu-unmap" \
            -I"$here" "$repo"/contrib/vgpu-unmap/*.c "$here/anchor-ext.c" \
            "$tree/util/rcu.c" "${sup[@]}" "${glib_libs[@]}"
        compile_rcu_bench "$out" "$stage" "${extra[@]}" \
            -DBENCH_ANCHOR="\"qemu-$name\"" -- "$tree/util/rcu.c" "${sup[@]}" ;;
    read)
        compile "$out/read-bench" "${inc[@]}" -DREAD_BENCH_QEMU_RCU \
            -DBENCH_ANCHOR "$here/read-bench.c" "$tree/util/rcu.c" "${sup[@]}" \
            "${glib_libs[@]}" ;;
    trim)
        compile "$out/trim-bench" "${inc[@]}" -I"$repo/tests/unit" \
            -DBENCH_ANCHOR "$here/trim-bench.c" "$tree/util/rcu.c" \
            "${sup[@]}" "${glib_libs[@]}" ;;
    growth)
        compile "$out/growth-bench" "${inc[@]}" "${extra[@]}" \
            -DBENCH_ANCHOR="\"qemu-$series\"" "$here/growth-bench.c" \
            "$tree/util/rcu.c" "${sup[@]}" "${glib_libs[@]}" -lm ;;
    torture)
        compile "$out/rcutorture-stock" "${inc[@]}" \
            "$tree/tests/unit/rcutorture.c" "$tree/util/rcu.c" "${sup[@]}" \
            "${glib_libs[@]}"
        compile "$out/rcutorture-dropin" -I"$build" -I"$repo/include" \
            "${glib_cflags[@]}" "$tree/tests/unit/rcutorture.c" \
            -Wl,-rpath,"$build/util" -L"$build/util" -lqemu-rcu \
            "${glib_libs[@]}" ;;
    esac
    anchor_dirs[$name]=$out
}

# qemu-rcu-bench with qemu-rcu's rcu.c linked into the executable, with no
# liburcu, as the QEMU anchors link theirs: the memory rows' figures
# depend on the executable (its static TLS), so qemu-rcu's are taken in
# this one (--memory-exe).  Sets memory_exe.
build_memory_exe() {
    local out=$cache/qemu-rcu-static sup=()
    for f in "${support[@]}"; do
        sup+=("$repo/util/$f")
    done
    mkdir -p "$out"
    compile_rcu_bench "$out" "$build" -- "$repo/util/rcu.c" "${sup[@]}"
    memory_exe=$out/qemu-rcu-bench
}

# The vgpu-unmap demo's unmap latency with each implementation (liburcu
# has no force_rcu notifiers, so it cannot run the demo).  A QEMU whose
# grace period never kicks the vCPUs shows as hung after the demo's 30 s.
# The demo exits 0 when every unmap met its deadline, 1 when one missed
# it, 3 when one hung.  qemu-rcu must exit 0; a QEMU anchor's 1 or 3 is
# its result and reported as such; anything else (a crash, no JSON, the
# timeout) is a failure of the benchmark and ends the script.
vgpu_table() {
    local unmaps=30 size=1M impl bin json status failed=0
    if [ $quick = 1 ]; then
        unmaps=10 size=256K
    fi
    echo
    echo "vgpu-unmap demo: $unmaps unmaps of $size blobs, 2 vCPUs" \
        "kicked by force_rcu notifiers (docs/vgpu-unmap.md)"
    printf '%-12s %12s %12s %12s\n' implementation "p50 ms" "p99 ms" "max ms"
    for impl in qemu-10.0 qemu-10.2 qemu-rcu; do
        bin=$build/contrib/vgpu-unmap/vgpu-unmap
        if [ "$impl" != qemu-rcu ]; then
            if [ -z "${anchor_dirs[${impl#qemu-}]:-}" ]; then
                printf '%-12s %12s\n' "$impl" "n/a (no source)"
                continue
            fi
            bin=${anchor_dirs[${impl#qemu-}]}/vgpu-unmap
        fi
        status=0
        json=$(timeout 120 "${prio[@]}" "$bin" --unmaps "$unmaps" \
            --region-size "$size" --deadline 5000 --json -) || status=$?
        case $impl:$status in
        qemu-rcu:0 | qemu-1*:0 | qemu-1*:1 | qemu-1*:3) ;;
        *)
            echo "anchors.sh: vgpu-unmap with $impl exited with status" \
                "$status" >&2
            failed=1 ;;
        esac
        printf '%s\n' "$json" | /usr/bin/python3 -c '
import json, sys
impl, status = sys.argv[1], int(sys.argv[2])
try:
    run = json.load(sys.stdin)["runs"][0]
    lat = run["latency_ms"]
except (ValueError, KeyError, IndexError, TypeError):
    print("%-12s %12s" % (impl, "failed (no result)"))
    sys.exit(1)
if run["hung"]:
    print("%-12s %12s   (an unmap waited 30 s for its grace period)"
          % (impl, "hung"))
else:
    print("%-12s %12.1f %12.1f %12.1f%s"
          % (impl, lat["p50"], lat["p99"], lat["max"],
             "   (an unmap missed the 5 s deadline)" if status == 1 else ""))
' "$impl" "$status" || failed=1
    done
    echo "urcu-*       n/a: liburcu has no force_rcu notifiers to kick the vCPUs"
    if [ $failed = 1 ]; then
        die "the vgpu-unmap demo failed (see above)"
    fi
}

prio=()
if [ "$(id -u)" = 0 ]; then
    prio=(nice -n -5)
fi

case $mode in
trim)
    targs=()
    for series in 10.0 10.2; do
        build_anchor "$series"
        if [ -n "${anchor_dirs[$series]:-}" ]; then
            targs+=("--anchor=qemu-$series=${anchor_dirs[$series]}/trim-bench")
        fi
    done
    if [ $quick = 1 ]; then
        targs+=(--quick)
    fi
    exec "${prio[@]}" "$build/tests/bench/trim-bench" "${targs[@]}" "$@"
    ;;
growth)
    outdir=${1:?$usage}
    shift
    mkdir -p "$outdir"
    gargs=("$@")
    if [ $quick = 1 ]; then
        gargs+=(--quick)
    fi
    "${prio[@]}" "$build/tests/bench/growth-bench" "${gargs[@]}" \
        --json "$outdir/growth-qemu-rcu.json"
    for series in 10.0 10.2; do
        build_anchor "$series"
        if [ -n "${anchor_dirs[$series]:-}" ]; then
            echo
            "${prio[@]}" "${anchor_dirs[$series]}/growth-bench" \
                "${gargs[@]}" --json "$outdir/growth-qemu-$series.json"
        fi
    done
    exit 0
    ;;
table)
    args=()
    read_side_anchors
    for name in "${anchors[@]}"; do
        build_anchor "$name"
        if [ -n "${anchor_dirs[$name]:-}" ]; then
            args+=("--anchor=qemu-$name=${anchor_dirs[$name]}/qemu-rcu-bench")
        fi
    done
    build_memory_exe
    args+=("--memory-exe=$memory_exe")
    if [ $quick = 1 ]; then
        args+=(--quick)
    fi
    # Exits non-zero when one of its columns (qemu-rcu's fence mode or
    # an anchor) failed to run.
    "${prio[@]}" "$build/tests/bench/qemu-rcu-bench" --both-modes \
        "${args[@]}" "$@"
    vgpu_table
    exit 0
    ;;
torture)
    nreaders=${1:-2} seconds=${2:-1}
    echo "rcutorture NREADERS=$nreaders SECONDS=$seconds," \
         "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for series in 10.0 10.2; do
        build_anchor "$series"
        dir=${anchor_dirs[$series]:-}
        if [ -z "$dir" ]; then
            continue
        fi
        for kind in stock dropin; do
            for m in perf rperf uperf; do
                printf 'qemu-%s %-6s %-5s ' "$series" "$kind" "$m"
                "${prio[@]}" "$dir/rcutorture-$kind" "$nreaders" "$m" \
                    "$seconds" | grep 'ns/read' | tail -1
            done
        done
    done
    exit 0
    ;;
esac

# --read: ROUNDS rounds, each running every executable once (a fresh
# process, one run of MILLIONS million iterations per thread count), in
# an order that rotates from round to round, so that a host whose speed
# drifts during the minute this takes slows every implementation alike.
if [ $quick = 1 ]; then
    threads=${1:-1} millions=${2:-2} rounds=${3:-3}
else
    threads=${1:-2} millions=${2:-30} rounds=${3:-7}
fi
results=$(mktemp)
trap 'rm -f "$results"' EXIT
names=() envs=() bins=()
add() {
    names+=("$1") envs+=("$2") bins+=("$3")
}

read_side_anchors >&2
for name in "${anchors[@]}"; do
    build_anchor "$name" >&2
    if [ -n "${anchor_dirs[$name]:-}" ]; then
        add "qemu-${name%-membarrier}" "" "${anchor_dirs[$name]}/read-bench"
    else
        echo "qemu-$name n/a round=0 threads=- ns=n/a" >> "$results"
    fi
done
add qemu-rcu "" "$build/tests/bench/read-bench-qemu-rcu"
add qemu-rcu QEMU_RCU_MEMBARRIER=0 "$build/tests/bench/read-bench-qemu-rcu"
for f in memb mb; do
    if [ -x "$build/tests/bench/read-bench-urcu-$f" ]; then
        add "urcu-$f" "" "$build/tests/bench/read-bench-urcu-$f"
    fi
done

n=${#names[@]}
for ((r = 0; r < rounds; r++)); do
    echo "round $((r + 1)) of $rounds ..." >&2
    for ((k = 0; k < n; k++)); do
        i=$(((k + r) % n))
        env ${envs[i]:+"${envs[i]}"} "${prio[@]}" "${bins[i]}" \
            "$threads" "$millions" 1 |
            sed "s/^[^ ]* */${names[i]} /; s/ threads=/ round=$r&/" \
            >> "$results"
    done
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$rounds rounds of $millions million iterations per thread"
# Per row: the median, min and max over the rounds; the ratio of its
# median to the best QEMU median in the same mode (like for like); then
# paired ratios, each the median over the rounds of this run's ratio to
# a QEMU, or a liburcu, with the same barriers in the same round, against
# the one of them it compares worst with, and the rounds it was faster
# in; and the ratio to the best QEMU as Debian builds it (fences), which
# is what a Debian user switching would compare with.
python3 - "$results" <<'PY'
import statistics
import sys

samples = {}
for line in open(sys.argv[1]):
    w = line.split()
    if not w:
        continue
    d = dict(kv.split("=", 1) for kv in w[2:] if "=" in kv)
    key = (w[0], w[1], d["threads"])
    run = samples.setdefault(key, {})
    if d["ns"] != "n/a":
        run[int(d["round"])] = float(d["ns"])

def best(prefix, mode, threads):
    """The best median of a group."""
    vals = [statistics.median(run.values())
            for (impl, m, t), run in samples.items()
            if impl.startswith(prefix) and (m, t) == (mode, threads) and run]
    return min(vals) if vals else None

def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "n/a"

def paired(key, prefix):
    """Against each of the group in the same mode, round by round: the
    median ratio to the one it is furthest behind (or least ahead of),
    not to the best of the group in each round, which would put two
    equal QEMUs ahead of either by the noise of the rounds alone."""
    impl, mode, threads = key
    if impl.startswith(prefix):
        return "-"
    worst = None
    for (other, m, t), run in samples.items():
        if not other.startswith(prefix) or (m, t) != (mode, threads):
            continue
        q = [ns / run[rnd] for rnd, ns in samples[key].items()
             if run.get(rnd)]
        if q and (worst is None or statistics.median(q) > worst[0]):
            worst = (statistics.median(q), sum(1 for x in q if x < 1), len(q))
    if worst is None:
        return "n/a"
    return f"{worst[0]:.2f}x {worst[1]}/{worst[2]}"

print(f"{'implementation':<14} {'mode':<11} {'threads':<7} {'ns/iter':>8} "
      f"{'min':>7} {'max':>7} {'vs QEMU':>8} {'QEMU, rounds':>13} "
      f"{'urcu, rounds':>13} {'vs Debian QEMU':>14}")
for key, run in samples.items():
    impl, mode, threads = key
    if not run:
        print(f"{impl:<14} {mode:<11} {threads:<7} {'n/a':>8}")
        continue
    med = statistics.median(run.values())
    print(f"{impl:<14} {mode:<11} {threads:<7} {med:>8.2f} "
          f"{min(run.values()):>7.2f} {max(run.values()):>7.2f} "
          f"{ratio(med, best('qemu-1', mode, threads)):>8} "
          f"{paired(key, 'qemu-1'):>13} {paired(key, 'urcu-'):>13} "
          f"{ratio(med, best('qemu-1', 'fences', threads)):>14}")
PY
