#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Checks the dynamic symbol table of libqemu-rcu.so (docs/abi.md):
#   - every exported symbol is listed in util/qemu-rcu.map and declared
#     by an installed header (so nothing internal leaks);
#   - every function and variable the installed headers declare is
#     exported (so a new API function is not forgotten in the map);
#   - the soname is libqemu-rcu.so.<major>.
#   scripts/check-exports.sh BUILD_DIR
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: $0 BUILD_DIR}
lib=$build/util/libqemu-rcu.so
[ -f "$lib" ] || { echo "check-exports: $lib not found" >&2; exit 1; }

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
case $soname in
libqemu-rcu.so.[0-9]*) ;;
*) echo "check-exports: unexpected soname '$soname'" >&2; exit 1 ;;
esac

# Defined dynamic symbols, version suffix dropped, version nodes (type A)
# skipped.
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    sort -u > "$build/exports.txt"

python3 - "$top" "$build/exports.txt" ${CHECK_EXPORTS_VERBOSE:+-v} <<'PY'
import re
import sys

top, exports_file = sys.argv[1], sys.argv[2]
exports = set(open(exports_file).read().split())

text = open(f"{top}/util/qemu-rcu.map").read()
text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
body = text.split("local:")[0]
listed = set(re.findall(r"^\s*([A-Za-z_]\w*);", body, re.M))
patterns = [p.replace("*", ".*")
            for p in re.findall(r"^\s*([A-Za-z_]\w*\*);", body, re.M)]

meson = open(f"{top}/include/meson.build").read()
headers = re.findall(r"'(qemu/[\w\-]+\.h)'", meson)


def strip(src):
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    return re.sub(r"^\s*#(?:[^\n]*\\\n)*[^\n]*", " ", src, flags=re.M)


def top_level(src):
    """The text outside braces: declarations, not inline bodies."""
    out, depth = [], 0
    for ch in src:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out.append(";")
        elif depth == 0:
            out.append(ch)
    return "".join(out)


tokens, declared = set(), set()
for h in headers:
    raw = open(f"{top}/include/{h}").read()
    src = strip(raw)
    tokens |= set(re.findall(r"\b[A-Za-z_]\w*\b", src))
    for var in re.findall(r"QEMU_DECLARE_CO_TLS\(\s*[^,]+,\s*(\w+)\)", src):
        tokens.add("co_tls_" + var)
        declared.add("co_tls_" + var)
    src = re.sub(r"QEMU_DECLARE_CO_TLS\([^)]*\)", ";", src)
    for decl in top_level(src).split(";"):
        decl = " ".join(decl.split())
        if not decl or re.match(r"(static|typedef|struct \w+$|enum|union)\b",
                                decl):
            continue
        m = re.search(r"(\w+)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)"
                      r"(?:\s*(?:G_GNUC_\w+|QEMU_\w+|__attribute__)"
                      r"(?:\(\([^)]*\)\)|\([^)]*\))?)*$", decl)
        if m and not m.group(1).isupper():
            declared.add(m.group(1))
            continue
        m = re.match(r"extern\s+.*?\b(\w+)(?:\[\w*\])?$", decl)
        if m:
            declared.add(m.group(1))

errors = []
for s in sorted(exports):
    if s not in listed and not any(re.fullmatch(p, s) for p in patterns):
        errors.append(f"exported but not in util/qemu-rcu.map: {s}")
    if s not in tokens:
        errors.append(f"exported but declared by no installed header: {s}")
for s in sorted(declared - exports):
    if s.startswith("stat64_"):
        continue    # out of line only without 64-bit atomics
    errors.append(f"declared by an installed header but not exported: {s}")
if "-v" in sys.argv:
    print("not parsed as declarations:", sorted(exports - declared))
    print("declared, not exported:", sorted(declared - exports))
for e in errors:
    print("check-exports:", e, file=sys.stderr)
print(f"check-exports: {len(exports)} exported symbols, "
      f"{len(declared)} declared, {len(errors)} problems")
sys.exit(1 if errors else 0)
PY
