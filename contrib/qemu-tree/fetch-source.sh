#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Fetch Debian's QEMU source package and the build tools it needs, using a
# private apt configuration in the cache directory: nothing under /etc/apt
# or /var/lib/apt is read for sources or written.
#
#   fetch-source.sh 10.0     Debian trixie's qemu (QEMU 10.0.x)
#   fetch-source.sh 10.2     Debian sid's qemu (QEMU 10.2.x)
#       prints the absolute path of the pristine tree (Debian's patches
#       applied, as dpkg-source -x leaves it); treat it as read-only and
#       copy it before building or installing anything into it.
#   fetch-source.sh --tools
#       makes trixie's meson (>= 1.5, which QEMU's configure requires) and
#       pycotap available and prints "PATH=... PYTHONPATH=..." to prefix
#       configure with:  env $(fetch-source.sh --tools) ./configure ...
#
# Progress goes to stderr, the answer alone to stdout.  Concurrent runs are
# serialised with flock on the cache directory.  Options: --cache DIR
# (default ${QEMU_RCU_CACHE:-$HOME/.cache/qemu-rcu}), --refresh (update the
# private package lists and fetch the newest package again).  Environment:
# QEMU_RCU_DEBIAN_MIRROR (default http://deb.debian.org/debian).

set -euo pipefail

prog=${0##*/}
cache=${QEMU_RCU_CACHE:-${HOME:-/root}/.cache/qemu-rcu}
mirror=${QEMU_RCU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mirror=${mirror%/}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
refresh=0
what=

die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 1
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

while (($#)); do
    case $1 in
    --cache) cache=${2:?--cache needs a directory}; shift ;;
    --cache=*) cache=${1#*=} ;;
    --refresh) refresh=1 ;;
    --tools | 10.0 | 10.2) [[ -z $what ]] || die "one of 10.0, 10.2, --tools"; what=$1 ;;
    -h | --help) sed -n '4,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (want 10.0, 10.2 or --tools)" ;;
    esac
    shift
done
[[ -n $what ]] || die "usage: $prog [--cache DIR] [--refresh] 10.0|10.2|--tools"
command -v dpkg-source >/dev/null || die "dpkg-source missing (apt-get install dpkg-dev)"
[[ -f $keyring ]] || die "$keyring missing (apt-get install debian-archive-keyring)"

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
exec 9>"$cache/.fetch.lock"
flock 9

# Only the entries we need: trixie's binaries (the tools) and the sources of
# trixie and sid.  Own lists, own cache, so the system's apt state is
# neither needed nor changed.
apt_dir=$cache/apt
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::Etc::Preferences=$apt_dir/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none"
    -o "APT::Get::List-Cleanup=true"
    -o "Debug::NoLocking=true"
    # sid's Release files expire within days; one that a mirror serves
    # late must not stop the fetch (its signature is still checked).
    -o "Acquire::Check-Valid-Until=false"
)
papt() { apt-get "${apt_opts[@]}" "$@" >&2; }

apt_ready() {
    mkdir -p "$apt_dir"/{sources.list.d,preferences.d,lists/partial} \
        "$apt_dir"/cache/archives/partial
    local want
    want="deb [signed-by=$keyring] $mirror trixie main
deb-src [signed-by=$keyring] $mirror trixie main
deb-src [signed-by=$keyring] $mirror sid main"
    if [[ ! -f $apt_dir/sources.list || $(<"$apt_dir/sources.list") != "$want" ]]; then
        printf '%s\n' "$want" >"$apt_dir/sources.list"
        rm -f "$apt_dir/updated"
    fi
    if ((refresh)) || [[ ! -f $apt_dir/updated ]]; then
        log "updating the private apt lists ($mirror: trixie, sid)"
        papt update
        touch "$apt_dir/updated"
        refresh=0
    fi
}

# --- Tools ------------------------------------------------------------------

tools=$cache/tools/root
tools_env="PATH=$tools/usr/bin:$PATH PYTHONPATH=$tools/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"

if [[ $what == --tools ]]; then
    if ((refresh)) || [[ ! -f $cache/tools/complete ]]; then
        apt_ready
        rm -rf "$cache/tools"
        mkdir -p "$cache/tools/debs"
        (cd "$cache/tools/debs" && papt download meson/trixie python3-pycotap/trixie)
        for deb in "$cache"/tools/debs/*.deb; do
            log "unpacking ${deb##*/}"
            dpkg-deb -x "$deb" "$tools"
        done
        touch "$cache/tools/complete"
    fi
    # shellcheck disable=SC2086  # two VAR=VALUE words for env
    env $tools_env /usr/bin/python3 -c '
import sys, mesonbuild.coredata as c, pycotap
v = tuple(int(x) for x in c.version.split(".")[:2])
sys.exit(0 if v >= (1, 5) else "meson %s is older than 1.5" % c.version)' ||
        die "the tools in $tools are not usable"
    echo "$tools_env"
    exit 0
fi

# --- Source -----------------------------------------------------------------

series=$what
case $series in
10.0) suite=trixie ;;
10.2) suite=sid ;;
esac
src=$cache/source/$series
mkdir -p "$src"

find_dsc() {
    local f
    for f in "$src"/qemu_*.dsc; do
        if [[ -f $f ]]; then printf '%s\n' "$f"; fi
    done | sort -V | tail -n 1
}

dsc=$(find_dsc)
if ((refresh)) || [[ -z $dsc ]]; then
    apt_ready
    # A suite's index can list several qemu versions, not all of them
    # still in the pool (sid moves on to newer series): take the newest of
    # this series that downloads.
    versions=$(apt-cache "${apt_opts[@]}" showsrc qemu |
        awk -v s="$series" '$1 == "Version:" && (index($2, s ".") == 1 ||
            index($2, "1:" s ".") == 1) { print $2 }' | sort -Vru)
    [[ -n $versions ]] || die "no QEMU $series.x source package in $suite"
    tmp=$src/download.tmp
    got=
    for v in $versions; do
        log "downloading the qemu $v source package ($suite)"
        rm -rf "$tmp"
        mkdir -p "$tmp"
        if (cd "$tmp" && papt source --download-only "qemu=$v"); then
            got=$(ls "$tmp"/qemu_*.dsc 2>/dev/null | head -n 1) || true
            [[ -n $got ]] && break
        fi
        log "qemu $v is not downloadable; trying an older one"
    done
    [[ -n $got ]] || die "could not download any QEMU $series.x source package"
    mv -f "$tmp"/* "$src/"
    rmdir "$tmp"
    dsc=$(find_dsc)
fi

name=${dsc##*/}
name=${name%.dsc}
tree=$cache/$name
if [[ ! -f $tree/.qemu-rcu-pristine ]]; then
    log "unpacking $dsc"
    rm -rf "$tree" "$tree.tmp"
    # apt checked the .dsc's hash against the signed Release file and
    # dpkg-source checks the tarballs against the .dsc; the .dsc's own
    # signature would need debian-keyring.
    dpkg-source --no-copy -x "$dsc" "$tree.tmp" >&2
    echo "$name" >"$tree.tmp/.qemu-rcu-pristine"
    mv "$tree.tmp" "$tree"
fi
version=$(<"$tree/VERSION")
[[ $version == "$series".* ]] || die "$tree has VERSION $version, not $series.x"
ln -sfn "$name" "$cache/qemu-$series"
log "QEMU $version from $name"
echo "$tree"
