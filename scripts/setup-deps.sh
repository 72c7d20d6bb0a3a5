#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Installs the Debian packages the build needs, if any are missing.
#   scripts/setup-deps.sh [extra-package ...]
set -euo pipefail

packages=(meson ninja-build pkg-config gcc g++ libc6-dev libglib2.0-dev
          libjson-glib-dev liburcu-dev liburing-dev relacy-dev "$@")
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
        grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "setup-deps: need root (or sudo) to install ${missing[*]}" >&2
        exit 1
    }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# apt's chatter goes to a log, printed only when apt fails; stdout stays
# free for the results of the scripts that call this one.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -q &&
       $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
     } > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "setup-deps: apt-get failed to install ${missing[*]}" >&2
    exit 1
fi
for p in "${missing[@]}"; do
    installed "$p" || {
        echo "setup-deps: $p is still not installed" >&2
        exit 1
    }
done
