#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Drop qemu-rcu's RCU implementation into a QEMU 10.0 or 10.2 source tree.
#
# Copies exactly three files from this repository into the tree:
#   util/rcu.c              replaces QEMU's
#   include/qemu/rcu.h      replaces QEMU's
#   include/qemu/rcu-ext.h  new; declares the extensions rcu.c defines
# Nothing else in the tree is touched and no backup is written into it.
# Running it again with the same files is a no-op.

set -euo pipefail

prog=${0##*/}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

FILES=(util/rcu.c include/qemu/rcu.h include/qemu/rcu-ext.h)

usage() {
    cat <<EOF
Usage: $prog [OPTIONS] QEMU_SRC_DIR

Install qemu-rcu's util/rcu.c, include/qemu/rcu.h and include/qemu/rcu-ext.h
into the QEMU 10.0 or 10.2 source tree QEMU_SRC_DIR.

Options:
  -n, --dry-run   say what would change, change nothing
  -f, --force     accept a QEMU tree whose VERSION is not 10.0.x or 10.2.x
                  (the layout checks still apply; untested territory)
  -q, --quiet     print only errors
  -h, --help      show this help

Exit status: 0 on success (also when nothing needed copying),
1 on a usage error, 2 when QEMU_SRC_DIR is not a QEMU 10.0/10.2 tree,
3 when this repository lacks one of the files.
EOF
}

die() {
    local code=$1
    shift
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit "$code"
}

say() {
    [[ $quiet == 1 ]] || printf '%s\n' "$*"
}

dry_run=0
force=0
quiet=0
qemu_dir=

while (($#)); do
    case $1 in
    -n | --dry-run) dry_run=1 ;;
    -f | --force) force=1 ;;
    -q | --quiet) quiet=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    --)
        shift
        break
        ;;
    -*)
        usage >&2
        die 1 "unknown option '$1'"
        ;;
    *)
        [[ -z $qemu_dir ]] || die 1 "more than one QEMU_SRC_DIR given ('$qemu_dir' and '$1')"
        qemu_dir=$1
        ;;
    esac
    shift
done
if (($#)); then
    [[ -z $qemu_dir && $# == 1 ]] || die 1 "more than one QEMU_SRC_DIR given"
    qemu_dir=$1
fi
if [[ -z $qemu_dir ]]; then
    usage >&2
    die 1 "missing QEMU_SRC_DIR"
fi

# --- Is QEMU_SRC_DIR a QEMU 10.0 or 10.2 source tree? -------------------------------

[[ -d $qemu_dir ]] || die 2 "'$qemu_dir' is not a directory"
qemu_dir=$(cd "$qemu_dir" && pwd)

not_qemu() {
    die 2 "'$qemu_dir' does not look like a QEMU 10.0/10.2 source tree: $*"
}

[[ $qemu_dir != "$repo" ]] || not_qemu "it is the qemu-rcu repository itself"
[[ -f $qemu_dir/meson.build ]] || not_qemu "no meson.build"
# QEMU's top-level meson.build opens with project('qemu', ['c'], ...);
# ours says project('qemu-rcu', ...), which this pattern does not match.
grep -Eq "^[[:space:]]*project\([[:space:]]*'qemu'[[:space:]]*," "$qemu_dir/meson.build" ||
    not_qemu "meson.build does not declare project('qemu', ...)"
[[ -f $qemu_dir/VERSION ]] || not_qemu "no VERSION file"
version=$(head -n 1 "$qemu_dir/VERSION" | tr -d '[:space:]')
for f in util/rcu.c include/qemu/rcu.h include/qemu/rcu_queue.h include/qemu/osdep.h \
    util/meson.build tests/unit/rcutorture.c; do
    [[ -f $qemu_dir/$f ]] || not_qemu "$f is missing"
done
if [[ ! $version =~ ^10\.[02](\.|$) ]]; then
    if [[ $force == 1 ]]; then
        say "warning: QEMU version '$version' is not 10.0.x or 10.2.x; continuing because of --force" >&2
    else
        not_qemu "VERSION says '$version', expected 10.0.x or 10.2.x (use --force to try anyway)"
    fi
fi

# --- Our side ---------------------------------------------------------------

for f in "${FILES[@]}"; do
    [[ -f $repo/$f ]] || die 3 "this repository ($repo) has no $f"
done

# --- Copy -------------------------------------------------------------------

changed=0
for f in "${FILES[@]}"; do
    src=$repo/$f
    dst=$qemu_dir/$f
    if [[ -f $dst ]] && cmp -s "$src" "$dst"; then
        say "$(printf '  %-13s  %s' "up to date" "$f")"
        continue
    fi
    if [[ -e $dst ]]; then
        what="replace"
    else
        what="add"
    fi
    changed=$((changed + 1))
    if [[ $dry_run == 1 ]]; then
        say "$(printf '  %-13s  %s' "would $what" "$f")"
        continue
    fi
    # Write next to the target and rename, so an interrupted run never
    # leaves a half-written file behind.
    tmp=$(mktemp "$dst.qemu-rcu.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    cp "$src" "$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$dst"
    trap - EXIT
    say "$(printf '  %-13s  %s' "${what%e}ed" "$f")"
done

if [[ $dry_run == 1 ]]; then
    say "$prog: dry run: $changed of ${#FILES[@]} files would change in $qemu_dir (QEMU $version)"
else
    say "$prog: $changed of ${#FILES[@]} files changed in $qemu_dir (QEMU $version)"
fi
