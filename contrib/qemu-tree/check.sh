#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Most functions only run through stage(), which shellcheck cannot follow.
# shellcheck disable=SC2317
#
# Check qemu-rcu against a real QEMU 10.0 tree (Debian trixie's qemu source
# package):
#
#   1. standalone: build and install this library, compile QEMU's five RCU
#      unit test sources unmodified against the installed headers
#      (pkg-config qemu-rcu) and run them;
#   2. in-tree: copy a pristine QEMU tree, drop our files in with
#      install.sh, configure the smallest build that has libqemuutil and the
#      unit tests (no emulators, no downloads), build it and run QEMU's unit
#      test suite, making sure the RCU users among the tests ran and passed.
#
# Everything downloaded or built lives in the cache directory
# (${QEMU_RCU_CACHE:-$HOME/.cache/qemu-rcu}); nothing from QEMU goes into
# this repository.  As root it installs the missing host packages and adds a
# deb-src entry for Debian trixie to the system's apt sources when there is
# none.  Run with --help for the options.

set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

QEMU_SERIES=10.0
SUITE=trixie
MIN_MESON=1.5.0
SYSTEM_PYTHON=/usr/bin/python3
HOST_PACKAGES=(gcc libc6-dev ninja-build pkg-config libglib2.0-dev zlib1g-dev
    python3 python3-venv dpkg-dev xz-utils)
TOOL_PACKAGES=(meson python3-pycotap)
# QEMU's RCU test programs, built by QEMU and also standalone against us.
RCU_TESTS=(rcutorture test-rcu-list test-rcu-simpleq test-rcu-tailq test-rcu-slist)
# Other unit tests that exercise RCU (call_rcu, drain_call_rcu, RCU-protected
# structures, iothreads registering as RCU readers).  Each must have been
# built and must pass; the block ones only exist in the default profile.
RCU_USERS_MINIMAL=(test-qht test-logging)
RCU_USERS_BLOCK=(test-aio test-aio-multithread test-thread-pool test-bdrv-drain
    test-block-iothread test-nested-aio-poll)

usage() {
    cat <<EOF
Usage: $prog [OPTIONS]

Build and test qemu-rcu's util/rcu.c inside Debian's QEMU $QEMU_SERIES source
and QEMU's RCU tests against the standalone library.  Prints a summary and
exits non-zero on any failure.

Options:
  --baseline        leave QEMU's own rcu.c/rcu.h in place (checks the
                    pipeline itself; the standalone part still uses ours)
  --minimal         configure without the block layer (--disable-tools):
                    ~300 build steps and 46 unit tests instead of ~800 and
                    ~85 (the block layer adds test-aio, test-aio-multithread,
                    test-thread-pool, test-bdrv-drain, ...)
  --no-standalone   skip the standalone part
  --no-qemu         skip the in-tree part
  --no-werror       do not build QEMU with --enable-werror
  --cache DIR       cache directory (default: \$QEMU_RCU_CACHE or
                    \$HOME/.cache/qemu-rcu)
  --dsc FILE        take the QEMU source package from this local .dsc (its
                    tarballs beside it) instead of downloading it
  --refresh         refresh the private apt lists and download the newest
                    QEMU $QEMU_SERIES.x source and the build tools again
  -j, --jobs N      parallel build jobs and test processes (default:
                    nproc + 2 build jobs, nproc test processes)
  -h, --help        show this help

Environment: QEMU_RCU_CACHE (cache directory), QEMU_RCU_DEBIAN_MIRROR
(Debian mirror URL; default: the one the system's apt sources use).
EOF
}

# --- Options ----------------------------------------------------------------

baseline=0
profile=block
do_standalone=1
do_qemu=1
werror=1
cache=${QEMU_RCU_CACHE:-${HOME:-/root}/.cache/qemu-rcu}
local_dsc=
refresh=0
jobs=

die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 2
}

while (($#)); do
    case $1 in
    --baseline) baseline=1 ;;
    --minimal) profile=minimal ;;
    --no-standalone) do_standalone=0 ;;
    --no-qemu) do_qemu=0 ;;
    --no-werror) werror=0 ;;
    --cache)
        (($# >= 2)) || die "--cache needs a directory"
        cache=$2
        shift
        ;;
    --cache=*) cache=${1#*=} ;;
    --dsc)
        (($# >= 2)) || die "--dsc needs a file"
        local_dsc=$2
        shift
        ;;
    --dsc=*) local_dsc=${1#*=} ;;
    --refresh) refresh=1 ;;
    -j | --jobs)
        (($# >= 2)) || die "$1 needs a number"
        jobs=$2
        shift
        ;;
    -j*) jobs=${1#-j} ;;
    --jobs=*) jobs=${1#*=} ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        die "unknown argument '$1'"
        ;;
    esac
    shift
done
ncpu=$(nproc 2>/dev/null || echo 2)
if [[ -z $jobs ]]; then
    # ninja's own default: compiling is I/O-bound enough that two extra
    # jobs pay off, even on two cores.
    build_jobs=$((ncpu + 2))
    jobs=$ncpu
else
    [[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive number, not '$jobs'"
    build_jobs=$jobs
fi
if [[ -n $local_dsc ]]; then
    [[ -f $local_dsc ]] || die "--dsc: no such file '$local_dsc'"
    local_dsc=$(cd "$(dirname "$local_dsc")" && pwd)/$(basename "$local_dsc")
fi

cache=$(realpath -m -- "$cache")
case $cache/ in
"$repo"/*) die "the cache directory ($cache) must be outside the repository ($repo)" ;;
esac
mkdir -p "$cache" || die "cannot create the cache directory '$cache'"

# One run at a time per cache directory.
exec 9>"$cache/.lock"
if ! flock -n 9; then
    echo "$prog: another check is using $cache; waiting for it..." >&2
    flock 9
fi

t_start=$(date +%s.%N)
work=$cache/work          # this run's scratch space, wiped at the start
logs=$work/logs
rm -rf "$work"
mkdir -p "$logs"

is_root=0
[[ $(id -u) == 0 ]] && is_root=1

# --- Reporting ----------------------------------------------------------------

declare -a R_NAME=() R_RES=() R_TIME=() R_NOTE=()
n_pass=0 n_fail=0 n_skip=0

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

record() { # name PASS|FAIL|SKIP seconds note
    R_NAME+=("$1")
    R_RES+=("$2")
    R_TIME+=("$3")
    R_NOTE+=("${4:-}")
}

info() { printf '%s: %s\n' "$prog" "$*"; }

show_tail() { # log [lines]
    local log=$1 n=${2:-40}
    printf '%s: ---- last %d lines of %s ----\n' "$prog" "$n" "$log"
    tail -n "$n" "$log" | sed 's/^/  | /'
    printf '%s: ---- end of %s ----\n' "$prog" "$log"
}

# stage NAME LOG FUNC [ARGS...]: run FUNC with all output in LOG, record the
# result, show the log's tail on failure and leave FUNC's status in STAGE_RC.
# FUNC runs in a subshell with errexit on; call stage as a plain command
# (never under if, && or ||, where bash would switch errexit off inside FUNC).
STAGE_RC=0
stage() {
    local name=$1 log=$2 t0 rc
    shift 2
    t0=$(now)
    info "$name (log: $log)"
    set +e
    (
        set -e
        "$@"
    ) >"$log" 2>&1 </dev/null
    rc=$?
    set -e
    if ((rc == 0)); then
        record "$name" PASS "$(since "$t0")"
    else
        record "$name" FAIL "$(since "$t0")" "exit $rc"
        show_tail "$log" >&2
    fi
    STAGE_RC=$rc
}

skip_stage() { record "$1" SKIP 0 "$2"; }

# --- Host packages --------------------------------------------------------------

missing_packages() {
    local p st
    for p in "$@"; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $st == "install ok installed" ]] || printf '%s\n' "$p"
    done
}

ensure_host_packages() {
    local missing
    mapfile -t missing < <(missing_packages "${HOST_PACKAGES[@]}")
    if ((${#missing[@]} == 0)); then
        echo "all host packages present: ${HOST_PACKAGES[*]}"
        return 0
    fi
    if ((!is_root)); then
        echo "missing host packages: ${missing[*]}"
        echo "install them (apt-get install ${missing[*]}) or run $prog as root"
        return 1
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
        # The package lists may be missing or stale; a failing third-party
        # source must not stop us, so the update's status is ignored.
        apt-get update || echo "warning: apt-get update reported errors"
        apt-get install -y --no-install-recommends "${missing[@]}"
    fi
}

# --- apt: the system deb-src entry and our private configuration ---------------

codename() {
    (. /etc/os-release && echo "${VERSION_CODENAME:-}")
}

apt_source_files() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && printf '%s\n' "$f"
    done
}

# Print "TYPE URI SUITE" for every entry of the system's apt sources.
apt_entries() {
    local f
    while read -r f; do
        case $f in
        *.sources)
            awk '
                function flush() {
                    n = split(types, t, " "); m = split(uris, u, " "); k = split(suites, s, " ")
                    for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) for (l = 1; l <= k; l++)
                        if (enabled != "no") print t[i], u[j], s[l]
                    types = uris = suites = ""; enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                tolower($1) == "types:"   { $1 = ""; types = $0 }
                tolower($1) == "uris:"    { $1 = ""; uris = $0 }
                tolower($1) == "suites:"  { $1 = ""; suites = $0 }
                tolower($1) == "enabled:" { enabled = tolower($2) }
                END { flush() }' "$f"
            ;;
        *)
            sed -e 's/#.*//' -e 's/\[[^]]*\]//g' "$f" |
                awk '$1 == "deb" || $1 == "deb-src" { print $1, $2, $3 }'
            ;;
        esac
    done < <(apt_source_files)
}

debian_mirror() {
    if [[ -n ${QEMU_RCU_DEBIAN_MIRROR:-} ]]; then
        printf '%s\n' "${QEMU_RCU_DEBIAN_MIRROR%/}"
        return
    fi
    local cn uri
    cn=$(codename)
    # The mirror the system installs its own release from; the security
    # archive is a different tree and never carries the main suite.
    uri=$(apt_entries | awk -v cn="$cn" -v s="$SUITE" '
        $1 == "deb" && ($3 == cn || $3 == s) && $2 !~ /security/ { print $2; exit }')
    printf '%s\n' "${uri:-http://deb.debian.org/debian}" | sed 's:/*$::'
}

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SYSTEM_SRC_ENTRY=/etc/apt/sources.list.d/qemu-rcu-$SUITE-src.sources

ensure_system_deb_src() {
    if apt_entries | awk -v s="$SUITE" '$1 == "deb-src" && $3 == s { found = 1 } END { exit !found }'; then
        echo "the system's apt sources already have a deb-src entry for $SUITE"
        return 0
    fi
    if ((!is_root)); then
        echo "note: no deb-src entry for $SUITE in the system's apt sources and not root;"
        echo "      not adding one (the private apt configuration below has its own)"
        return 0
    fi
    echo "adding $SYSTEM_SRC_ENTRY (deb-src $mirror $SUITE main)"
    cat >"$SYSTEM_SRC_ENTRY.tmp" <<EOF
# Added by qemu-rcu's contrib/qemu-tree/check.sh: Debian $SUITE source
# packages (QEMU $QEMU_SERIES), so that 'apt-get source qemu/$SUITE' works
# after 'apt-get update'.  Source entries never change what gets installed.
Types: deb-src
URIs: $mirror
Suites: $SUITE
Components: main
Signed-By: $KEYRING
EOF
    mv -f "$SYSTEM_SRC_ENTRY.tmp" "$SYSTEM_SRC_ENTRY"
}

# A private apt configuration: only trixie's deb and deb-src entries, its own
# lists and cache, so downloading never needs (or disturbs) the system's own
# package lists and never installs anything.
apt_dir=$cache/apt
APT_OPTS=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::Etc::Preferences=$apt_dir/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none"
    -o "APT::Get::List-Cleanup=true"
)

private_apt() { apt-get "${APT_OPTS[@]}" "$@"; }

private_apt_update() {
    mkdir -p "$apt_dir"/{sources.list.d,preferences.d,lists/partial,cache/archives/partial}
    local want
    want="deb [signed-by=$KEYRING] $mirror $SUITE main
deb-src [signed-by=$KEYRING] $mirror $SUITE main"
    if [[ ! -f $apt_dir/sources.list ]] || [[ $(cat "$apt_dir/sources.list") != "$want" ]]; then
        printf '%s\n' "$want" >"$apt_dir/sources.list"
        rm -f "$apt_dir/updated"
    fi
    if ((refresh)) || [[ ! -f $apt_dir/updated ]]; then
        echo "updating the private apt lists ($mirror $SUITE)"
        private_apt update
        touch "$apt_dir/updated"
    fi
}

# --- Build tools from trixie: meson >= 1.5 and pycotap -------------------------

tools_root=$cache/tools/root
tools_py=$tools_root/usr/lib/python3/dist-packages

with_tools() {
    PYTHONPATH=$tools_py${PYTHONPATH:+:$PYTHONPATH} PATH=$tools_root/usr/bin:$PATH "$@"
}

tools_ok() {
    [[ -f $cache/tools/complete && -x $tools_root/usr/bin/meson ]] || return 1
    with_tools "$SYSTEM_PYTHON" - "$MIN_MESON" <<'EOF'
import sys
import mesonbuild.coredata as c
import pycotap  # noqa: F401
want = tuple(int(x) for x in sys.argv[1].split("."))
have = tuple(int(x) for x in c.version.split(".")[:3] if x.isdigit())
sys.exit(0 if have >= want else 1)
EOF
}

ensure_tools() {
    if ((!refresh)) && tools_ok; then
        echo "cached: meson $(with_tools "$SYSTEM_PYTHON" "$tools_root/usr/bin/meson" --version) and pycotap in $tools_root"
        return 0
    fi
    private_apt_update
    rm -rf "$cache/tools"
    mkdir -p "$cache/tools/debs"
    (cd "$cache/tools/debs" && private_apt download "${TOOL_PACKAGES[@]/%//$SUITE}")
    local deb
    for deb in "$cache"/tools/debs/*.deb; do
        echo "unpacking $(basename "$deb")"
        dpkg-deb -x "$deb" "$tools_root"
    done
    touch "$cache/tools/complete"
    tools_ok || {
        echo "the downloaded tools do not provide meson >= $MIN_MESON and pycotap"
        return 1
    }
    echo "meson $(with_tools "$SYSTEM_PYTHON" "$tools_root/usr/bin/meson" --version) and pycotap ready in $tools_root"
}

# --- The QEMU source package ------------------------------------------------------

src_dir=$cache/source        # .dsc, tarballs
pristine_link=$cache/qemu-pristine

find_dsc() {
    local f
    for f in "$src_dir"/qemu_*.dsc; do
        [[ -f $f ]] || continue
        [[ $(basename "$f") =~ ^qemu_(1:)?${QEMU_SERIES//./\\.}\. ]] && printf '%s\n' "$f"
    done | sort -V | tail -n 1
}

ensure_source() {
    mkdir -p "$src_dir"
    local dsc
    dsc=$(find_dsc)
    if [[ -n $local_dsc ]]; then
        echo "using the local source package $local_dsc"
        local f
        for f in "$local_dsc" $(awk '/^Files:/ { on = 1; next } /^[^ ]/ { on = 0 } on { print $3 }' "$local_dsc"); do
            [[ $f == /* ]] || f=$(dirname "$local_dsc")/$f
            [[ -f $f ]] || {
                echo "missing $f (listed in $local_dsc)"
                return 1
            }
            cp -f "$f" "$src_dir/"
        done
        dsc=$src_dir/$(basename "$local_dsc")
    elif ((refresh)) || [[ -z $dsc ]]; then
        private_apt_update
        echo "downloading Debian's qemu source package from $SUITE"
        local tmp=$src_dir/download.tmp
        rm -rf "$tmp"
        mkdir -p "$tmp"
        (cd "$tmp" && private_apt source --download-only "qemu/$SUITE")
        local got=
        for got in "$tmp"/qemu_*.dsc; do break; done
        [[ -f $got ]] || {
            echo "apt-get source produced no .dsc"
            return 1
        }
        [[ $(basename "$got") =~ ^qemu_(1:)?${QEMU_SERIES//./\\.}\. ]] || {
            echo "$SUITE's qemu is $(basename "$got"), not QEMU $QEMU_SERIES"
            return 1
        }
        mv -f "$tmp"/* "$src_dir/"
        rmdir "$tmp"
        dsc=$(find_dsc)
    else
        echo "cached: $dsc"
    fi
    [[ -n $dsc && -f $dsc ]] || {
        echo "no QEMU $QEMU_SERIES source package in $src_dir"
        return 1
    }

    local name=${dsc##*/}
    name=${name%.dsc}
    local pristine=$cache/$name
    if [[ -f $pristine/.qemu-rcu-pristine ]]; then
        echo "cached pristine tree: $pristine"
    else
        echo "unpacking $dsc"
        rm -rf "$pristine" "$pristine.tmp"
        # The archive signature on the .dsc cannot be checked without
        # debian-keyring; apt already checked its hash against the signed
        # Release file, and dpkg-source checks the tarballs against it.
        dpkg-source --no-copy -x "$dsc" "$pristine.tmp"
        echo "$name" >"$pristine.tmp/.qemu-rcu-pristine"
        mv "$pristine.tmp" "$pristine"
    fi
    local version
    version=$(head -n 1 "$pristine/VERSION")
    [[ $version == "$QEMU_SERIES".* || $version == "$QEMU_SERIES" ]] || {
        echo "$pristine has VERSION $version, not $QEMU_SERIES.x"
        return 1
    }
    ln -sfn "$name" "$pristine_link"
    echo "QEMU $version from $name"
}

# --- Standalone: QEMU's RCU tests against the installed library -------------------

lib_build=$work/lib-build
lib_prefix=$work/lib-install
sa_dir=$work/standalone

standalone_build_lib() {
    with_tools "$SYSTEM_PYTHON" "$tools_root/usr/bin/meson" setup "$lib_build" "$repo" \
        --prefix "$lib_prefix" --libdir lib -Dtests=false
    with_tools "$SYSTEM_PYTHON" "$tools_root/usr/bin/meson" compile -C "$lib_build" -j "$build_jobs"
    with_tools "$SYSTEM_PYTHON" "$tools_root/usr/bin/meson" install -C "$lib_build"
    PKG_CONFIG_PATH=$lib_prefix/lib/pkgconfig pkg-config --modversion qemu-rcu
}

standalone_compile() {
    local pc_cflags pc_libs t
    read -ra pc_cflags < <(PKG_CONFIG_PATH=$lib_prefix/lib/pkgconfig pkg-config --cflags qemu-rcu)
    read -ra pc_libs < <(PKG_CONFIG_PATH=$lib_prefix/lib/pkgconfig pkg-config --libs qemu-rcu)
    ((${#pc_libs[@]} > 0)) || {
        echo "pkg-config --libs qemu-rcu failed"
        return 1
    }
    echo "pkg-config --cflags: ${pc_cflags[*]}"
    echo "pkg-config --libs:   ${pc_libs[*]}"
    mkdir -p "$sa_dir"
    for t in "${RCU_TESTS[@]}"; do
        # Straight from the pristine QEMU tree, unmodified.  Implicit
        # declarations are errors so a missing API cannot hide as a warning.
        # shellcheck disable=SC2054  # -Wl,-rpath,DIR is one argument
        local cmd=(gcc -std=gnu11 -O2 -g -pthread
            -Werror=implicit-function-declaration -Werror=implicit-int
            "${pc_cflags[@]}" "$cache/qemu-pristine/tests/unit/$t.c"
            -o "$sa_dir/$t" "${pc_libs[@]}" -Wl,-rpath,"$lib_prefix/lib")
        echo "+ ${cmd[*]}"
        "${cmd[@]}"
    done
}

standalone_run_one() {
    local t=$1
    cd "$sa_dir"
    timeout 300 "./$t" --tap -k
}

# --- In-tree: QEMU with our files ------------------------------------------------

qsrc=$work/qemu-src
qbuild=$work/qemu-build

qemu_copy_and_install() {
    echo "copying $(readlink -f "$pristine_link") to $qsrc"
    cp -a "$(readlink -f "$pristine_link")" "$qsrc"
    if ((baseline)); then
        echo "--baseline: keeping QEMU's own util/rcu.c and include/qemu/rcu.h"
        return 0
    fi
    local stamp=$work/install.stamp out
    touch "$stamp"
    sleep 0.05
    echo "+ install.sh $qsrc"
    "$here/install.sh" "$qsrc"
    # Idempotence: a second run copies nothing.
    echo "+ install.sh $qsrc   (again)"
    out=$("$here/install.sh" "$qsrc")
    printf '%s\n' "$out"
    grep -q ": 0 of 3 files changed" <<<"$out" || {
        echo "install.sh is not idempotent: the second run changed files"
        return 1
    }
    # It touched exactly our three files and nothing else.
    local changed
    changed=$(cd "$qsrc" && find . -newer "$stamp" ! -type d | sed 's:^\./::' | sort)
    echo "files written into the tree:"
    printf '  %s\n' "${changed//$'\n'/$'\n'  }"
    if [[ $changed != $(printf '%s\n' include/qemu/rcu-ext.h include/qemu/rcu.h util/rcu.c) ]]; then
        echo "install.sh wrote something other than util/rcu.c, include/qemu/rcu.h and include/qemu/rcu-ext.h"
        return 1
    fi
    local f
    for f in util/rcu.c include/qemu/rcu.h include/qemu/rcu-ext.h; do
        cmp "$repo/$f" "$qsrc/$f"
    done
}

qemu_configure() {
    mkdir -p "$qbuild"
    cd "$qbuild"
    local args=(
        --python="$SYSTEM_PYTHON"
        --disable-download         # no subprojects, wheels or PyPI
        --disable-install-blobs    # Debian's source has no firmware blobs
        --disable-system --disable-user
        --disable-docs --disable-guest-agent
    )
    if [[ $profile == minimal ]]; then
        args+=(--disable-tools)
    else
        # The tools bring in the block layer, and with it the aio,
        # thread-pool, iothread and block-job unit tests; only the
        # libraries and tests are built, not the tools themselves.
        args+=(--enable-tools)
    fi
    ((werror)) && args+=(--enable-werror)
    echo "+ configure ${args[*]}"
    with_tools "$qsrc/configure" "${args[@]}"
}

unit_test_targets() {
    with_tools "$qbuild/pyvenv/bin/meson" introspect --tests "$qbuild" |
        "$SYSTEM_PYTHON" -c '
import json, sys
build = sys.argv[1].rstrip("/") + "/"
for t in json.load(sys.stdin):
    if "qemu:unit" in t["suite"] or "unit" in t["suite"]:
        exe = t["cmd"][0]
        if exe.startswith(build) and "/pyvenv/" not in exe:
            print(exe[len(build):])
' "$qbuild"
}

qemu_build() {
    cd "$qbuild"
    local targets
    mapfile -t targets < <(unit_test_targets)
    ((${#targets[@]} > 0)) || {
        echo "meson introspect found no unit tests"
        return 1
    }
    echo "building libqemuutil and ${#targets[@]} unit test programs"
    with_tools ninja -j "$build_jobs" "${targets[@]}"
    [[ -f libqemuutil.a ]] || {
        echo "libqemuutil.a was not built"
        return 1
    }
    # util/rcu.c was compiled from the tree that install.sh filled.
    grep -q '"file": *"\.\./qemu-src/util/rcu\.c"' compile_commands.json || {
        echo "compile_commands.json does not compile qemu-src/util/rcu.c"
        return 1
    }
    echo "global symbols defined by util/rcu.c in libqemuutil:"
    nm --defined-only -g libqemuutil.a.p/util_rcu.c.o | awk '{ print "  " $3 }'
}

qemu_test() {
    cd "$qbuild"
    with_tools pyvenv/bin/meson test --no-rebuild --suite unit --print-errorlogs \
        --num-processes "$jobs"
}

# Summarise meson-logs/testlog.json; print "ok fail skip" on the last line
# and fail if a required test is missing or did not pass.
qemu_test_report() {
    local required=("${RCU_TESTS[@]}" "${RCU_USERS_MINIMAL[@]}")
    [[ $profile == block ]] && required+=("${RCU_USERS_BLOCK[@]}")
    "$SYSTEM_PYTHON" - "$qbuild/meson-logs/testlog.json" "${required[@]}" <<'EOF'
import json, sys
path, required = sys.argv[1], sys.argv[2:]
res = {}
with open(path) as f:
    for line in f:
        line = line.strip()
        if line:
            d = json.loads(line)
            res[d["name"].split(" / ")[-1]] = d["result"]
ok = sorted(n for n, r in res.items() if r in ("OK", "EXPECTEDFAIL"))
skip = sorted(n for n, r in res.items() if r == "SKIP")
bad = sorted(n for n, r in res.items() if n not in ok and n not in skip)
rc = 0
for n in bad:
    print(f"FAILED: {n} ({res[n]})")
    rc = 1
for n in required:
    if n not in res:
        print(f"MISSING: required RCU test {n} was not built or not run")
        rc = 1
    elif res[n] != "OK":
        print(f"REQUIRED RCU TEST NOT OK: {n} ({res[n]})")
        rc = 1
print("required RCU tests: " + " ".join(
    f"{n}={res.get(n, 'missing')}" for n in required))
if skip:
    print("skipped: " + " ".join(skip))
print(len(ok), len(bad), len(skip))
sys.exit(rc)
EOF
}

# --- Run ----------------------------------------------------------------------

mode="ours"
((baseline)) && mode="baseline (QEMU's own rcu.c)"
info "repository $repo"
info "cache $cache; QEMU part: $mode, profile $profile, $build_jobs build jobs"

fatal=0
mirror=
stage "host packages" "$logs/00-host.log" ensure_host_packages
((STAGE_RC == 0)) || fatal=1

if ((!fatal)); then
    mirror=$(debian_mirror)
    stage "apt: deb-src $SUITE entry" "$logs/01-apt.log" ensure_system_deb_src
    ((STAGE_RC == 0)) || fatal=1
fi
if ((!fatal)); then
    stage "tools: meson >= $MIN_MESON, pycotap ($SUITE)" "$logs/02-tools.log" ensure_tools
    ((STAGE_RC == 0)) || fatal=1
fi
if ((!fatal)); then
    stage "QEMU $QEMU_SERIES source ($SUITE)" "$logs/03-source.log" ensure_source
    ((STAGE_RC == 0)) || fatal=1
fi

run_standalone() {
    stage "standalone: build and install qemu-rcu" "$logs/10-lib.log" standalone_build_lib
    if ((STAGE_RC == 0)); then
        stage "standalone: compile QEMU's RCU tests unmodified" "$logs/11-compile.log" standalone_compile
    fi
    if ((STAGE_RC != 0)); then
        for t in "${RCU_TESTS[@]}"; do record "standalone: $t" FAIL 0 "not built"; done
        sa_fail=${#RCU_TESTS[@]}
    else
        for t in "${RCU_TESTS[@]}"; do
            stage "standalone: $t" "$logs/12-$t.log" standalone_run_one "$t"
            if ((STAGE_RC == 0)); then
                sa_pass=$((sa_pass + 1))
            else
                sa_fail=$((sa_fail + 1))
            fi
        done
    fi
    n_pass=$((n_pass + sa_pass))
    n_fail=$((n_fail + sa_fail))
    standalone_line="standalone QEMU RCU tests: $sa_pass passed, $sa_fail failed"
}

run_qemu() {
    local label="install.sh" rc report
    ((baseline)) && label="copy tree (--baseline: no install)"
    stage "QEMU: $label" "$logs/20-install.log" qemu_copy_and_install
    if ((STAGE_RC == 0)); then
        stage "QEMU: configure ($profile)" "$logs/21-configure.log" qemu_configure
    fi
    if ((STAGE_RC == 0)); then
        stage "QEMU: build libqemuutil + unit tests" "$logs/22-build.log" qemu_build
    fi
    if ((STAGE_RC != 0)); then
        n_fail=$((n_fail + 1))
        qemu_tests_line="QEMU unit tests: not run (an earlier QEMU stage failed)"
        return 0
    fi
    stage "QEMU: unit test suite" "$logs/23-test.log" qemu_test
    if [[ ! -f $qbuild/meson-logs/testlog.json ]]; then
        n_fail=$((n_fail + 1))
        qemu_tests_line="QEMU unit tests: did not run"
        return 0
    fi
    rc=0
    report=$(qemu_test_report 2>&1) || rc=$?
    printf '%s\n' "$report" | sed '$d' >"$logs/24-report.log"
    read -r q_ok q_bad q_skip < <(printf '%s\n' "$report" | tail -n 1) || true
    if [[ ! ${q_ok:-} =~ ^[0-9]+$ ]]; then
        q_ok=0 q_bad=1 q_skip=0
        rc=1
    fi
    n_pass=$((n_pass + q_ok))
    n_fail=$((n_fail + q_bad))
    n_skip=$((n_skip + q_skip))
    qemu_tests_line="QEMU unit tests: $q_ok passed, $q_bad failed, $q_skip skipped"
    if ((rc == 0)); then
        record "QEMU: required RCU tests ran and passed" PASS 0
    else
        record "QEMU: required RCU tests ran and passed" FAIL 0
        # A missing required test is a failure of its own.
        ((q_bad > 0)) || n_fail=$((n_fail + 1))
    fi
    sed 's/^/  /' "$logs/24-report.log"
}

qemu_tests_line=
standalone_line=
sa_pass=0 sa_fail=0
if ((!fatal)) && ((do_standalone)); then
    run_standalone
elif ((!do_standalone)); then
    skip_stage "standalone" "--no-standalone"
fi

if ((!fatal)) && ((do_qemu)); then
    run_qemu
elif ((!do_qemu)); then
    skip_stage "QEMU" "--no-qemu"
fi

if ((fatal)); then
    n_fail=$((n_fail + 1))
fi

# --- Summary ------------------------------------------------------------------

echo
echo "==== qemu-rcu QEMU $QEMU_SERIES tree check: summary ===="
echo "repository: $repo"
[[ -L $pristine_link ]] && echo "QEMU source: $(readlink "$pristine_link")  (cache: $cache)"
echo "QEMU part: $mode; profile: $profile"
stage_fail=0
for i in "${!R_NAME[@]}"; do
    printf '  [%s] %-52s %7ss %s\n' "${R_RES[$i]}" "${R_NAME[$i]}" "${R_TIME[$i]}" "${R_NOTE[$i]}"
    [[ ${R_RES[$i]} == FAIL ]] && stage_fail=1
done
[[ -n $qemu_tests_line ]] && echo "$qemu_tests_line"
[[ -n $standalone_line ]] && echo "$standalone_line"
echo "logs: $logs"
echo "total time: $(since "$t_start")s"
if ((stage_fail)) && ((n_fail == 0)); then
    n_fail=1
fi
echo "qemu-tree: $n_pass passed, $n_fail failed, $n_skip skipped"
if ((n_fail > 0)); then
    exit 1
fi
exit 0
