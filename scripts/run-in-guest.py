#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Run a 32-bit x86 build's tests inside a Linux guest.

Some x86-64 kernels (those built without CONFIG_IA32_EMULATION, common
in micro-VMs) cannot execute i386 binaries.  This boots Debian's cloud
kernel, which can, in qemu-system-x86_64 with an initramfs that holds
busybox, the build's test programs and the i386 libraries they load, and
runs the tests there as `meson test` would (same commands, environment
and time limits, TAP or exit status).  Prints one line per test and a
summary on stdout; everything else goes to stderr.

  scripts/run-in-guest.py BUILD [--suite unit] [--repeat N] [--load N]
                                [--test NAME ...] [--smp 2]

Downloads (the kernel, busybox) are cached under
${QEMU_RCU_CACHE:-~/.cache/qemu-rcu}/i386-guest; nothing is installed on
the host except Debian packages through scripts/setup-deps.sh.
"""

import argparse
import glob
import gzip
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(os.environ.get('QEMU_RCU_CACHE',
                                    os.path.expanduser('~/.cache/qemu-rcu')),
                     'i386-guest')
# The i386 loader and C library directories of Debian's libc6-i386.
LIBC_DIRS = ['/lib32', '/usr/lib32']
LOADER = '/lib/ld-linux.so.2'
# Loaded with dlopen(), so no DT_NEEDED names it: glibc's pthread_exit()
# and pthread_cancel() need it to unwind.
DLOPENED = ['libgcc_s.so.1']
RESULT = re.compile(r'^@@result (\S+) (\d+) (\d+) (-?\d+)$')


def log(msg):
    print('run-in-guest: ' + msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    """Runs cmd with its output on stderr; raises on failure."""
    subprocess.run(cmd, check=True, stdout=sys.stderr, **kw)


def fetch_kernel():
    """Debian's current cloud kernel image, unpacked into the cache."""
    done = glob.glob(os.path.join(CACHE, 'root/boot/vmlinuz-*-cloud-amd64'))
    if done:
        return done[0]
    os.makedirs(CACHE, exist_ok=True)
    deps = subprocess.run(['apt-cache', 'depends', 'linux-image-cloud-amd64'],
                          check=True, capture_output=True, text=True).stdout
    pkg = re.search(r'Depends: (linux-image-\S+-cloud-amd64)\b', deps).group(1)
    run(['apt-get', 'download', '-q', pkg], cwd=CACHE)
    deb = glob.glob(os.path.join(CACHE, pkg + '_*.deb'))[0]
    run(['dpkg-deb', '-x', deb, os.path.join(CACHE, 'root')])
    os.unlink(deb)
    return glob.glob(os.path.join(CACHE, 'root/boot/vmlinuz-*'))[0]


class Cpio:
    """A newc archive written from Python, so no cpio package is needed."""

    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1
        self.seen = set()

    def _entry(self, name, mode, data=b''):
        hdr = '070701' + ''.join('%08x' % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
            len(name) + 1, 0))
        self.ino += 1
        self.out.write(hdr.encode() + name.encode() + b'\0')
        self.out.write(b'\0' * (-(110 + len(name) + 1) % 4))
        self.out.write(data)
        self.out.write(b'\0' * (-len(data) % 4))

    def dirs(self, path):
        parts = path.strip('/').split('/')[:-1]
        for i in range(1, len(parts) + 1):
            d = '/'.join(parts[:i])
            if d not in self.seen:
                self.seen.add(d)
                self._entry(d, 0o040755)

    def file(self, path, data, mode=0o100755):
        path = path.strip('/')
        if path in self.seen:
            return
        self.dirs(path)
        self.seen.add(path)
        self._entry(path, mode, data)

    def symlink(self, path, target):
        path = path.strip('/')
        if path in self.seen:
            return
        self.dirs(path)
        self.seen.add(path)
        self._entry(path, 0o120777, target.encode())

    def host(self, path):
        """Adds a host file (symlinks kept, and their targets added)."""
        if os.path.islink(path):
            target = os.readlink(path)
            self.symlink(path, target)
            self.host(os.path.normpath(os.path.join(os.path.dirname(path),
                                                    target)))
        else:
            with open(path, 'rb') as f:
                self.file(path, f.read(), 0o100000 | os.stat(path).st_mode)

    def bytes(self):
        self._entry('TRAILER!!!', 0)
        return gzip.compress(self.out.getvalue(), 6)


def elf_dynamic(path):
    return subprocess.run(['readelf', '-d', path], capture_output=True,
                          text=True, check=True).stdout


def needed_libs(path, search):
    """The shared libraries an executable loads, deep: its DT_RPATH (the
    old-style one that scripts/cross-i386.ini asks for) applies to its
    libraries' dependencies too, then @search."""
    rpath = re.findall(r'\(RPATH\).*\[(.*)\]', elf_dynamic(path))
    dirs = [d for r in rpath for d in r.split(':')] + search
    found, todo = set(), [path]
    while todo:
        f = todo.pop()
        for lib in re.findall(r'\(NEEDED\).*\[(.*)\]', elf_dynamic(f)):
            for d in dirs:
                cand = os.path.join(d, lib)
                if os.path.exists(cand):
                    real = os.path.realpath(cand)
                    if cand not in found:
                        found.add(cand)
                        todo.append(real)
                    break
            else:
                raise SystemExit(f'run-in-guest: {lib} (for {f}) not found')
    return found


def init_script(tests, repeat, load):
    """The guest's /init: runs every test @repeat times, then powers off."""
    lines = ['#!/bin/busybox sh',
             '/bin/busybox --install -s /bin',
             'mount -t proc proc /proc; mount -t sysfs sys /sys',
             # The initramfs is already a writable tmpfs: no mount on
             # /tmp, which would hide a build or sysroot kept there.
             'mount -t devtmpfs dev /dev',
             'cd /tmp']
    for i in range(load):
        lines.append(f'(while :; do :; done) &  # load {i}')
    lines.append('echo @@booted')
    for r in range(repeat):
        for t in tests:
            env = ' '.join(f'{k}={shlex.quote(v)}'
                           for k, v in t['env'].items())
            cmd = ' '.join(shlex.quote(c) for c in t['cmd'])
            if t['protocol'] == 'tap':
                cmd += ' --tap'
            lines += [
                f't0=$(date +%s)',
                f'env {env} timeout -s KILL {t["timeout"]} {cmd} '
                f'> /tmp/out 2>&1; rc=$?',
                f'echo "@@result {t["name"]} {r} $(($(date +%s) - t0)) $rc"',
                'if [ $rc -ne 0 ]; then tail -n 40 /tmp/out; fi',
            ]
    lines += ['echo @@done', 'poweroff -f']
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('build')
    ap.add_argument('--suite', default='unit')
    ap.add_argument('--test', action='append', default=[],
                    help='only these tests (by meson name)')
    ap.add_argument('--repeat', type=int, default=1)
    ap.add_argument('--load', type=int, default=0,
                    help='busy loops to run in the guest meanwhile')
    ap.add_argument('--smp', type=int, default=2)
    ap.add_argument('--memory', default='2G')
    args = ap.parse_args()

    subprocess.run([os.path.join(HERE, 'setup-deps.sh'), 'qemu-system-x86',
                    'busybox-static', 'binutils'], check=True,
                   stdout=sys.stderr)
    build = os.path.abspath(args.build)
    tests = json.load(open(os.path.join(build,
                                        'meson-info/intro-tests.json')))
    tests = [t for t in tests
             if any(s.split(':')[-1] == args.suite for s in t['suite'])
             and (not args.test or t['name'] in args.test)]
    if not tests:
        raise SystemExit('run-in-guest: no test selected')
    kernel = fetch_kernel()

    cpio = Cpio()
    with open('/bin/busybox', 'rb') as f:
        cpio.file('/bin/busybox', f.read())
    cpio.file('/init', init_script(tests, args.repeat, args.load).encode())
    for d in ('proc', 'sys', 'dev', 'tmp'):
        cpio.dirs(f'/{d}/x')
    cpio.host(LOADER)
    for lib in DLOPENED:
        found = [os.path.join(d, lib) for d in LIBC_DIRS
                 if os.path.exists(os.path.join(d, lib))]
        if not found:
            raise SystemExit(f'run-in-guest: {lib} not found in {LIBC_DIRS}')
        cpio.host(found[0])
    for t in tests:
        exe = t['cmd'][0]
        cpio.host(exe)
        search = t['env'].get('LD_LIBRARY_PATH', '').split(':') + LIBC_DIRS
        for lib in needed_libs(exe, [d for d in search if d]):
            cpio.host(lib)
    initrd = os.path.join(build, 'guest-initrd.gz')
    with open(initrd, 'wb') as f:
        f.write(cpio.bytes())

    cmd = ['qemu-system-x86_64', '-M', 'pc', '-cpu', 'max',
           '-smp', str(args.smp), '-m', args.memory, '-nographic',
           '-no-reboot', '-kernel', kernel, '-initrd', initrd,
           '-append', 'console=ttyS0 panic=-1 quiet']
    log(f'{len(tests)} test(s) x {args.repeat} in '
        f'{os.path.basename(kernel)}, -smp {args.smp}, load {args.load}')
    start = time.time()
    results = {}
    failed = skipped = 0
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            stderr=sys.stderr, text=True, errors='replace')
    for line in proc.stdout:
        line = line.rstrip('\r\n')
        m = RESULT.match(line)
        if not m:
            print(line, file=sys.stderr)
            continue
        name, rnd, secs, rc = m.group(1), m.group(2), m.group(3), int(m.group(4))
        word = {0: 'ok', 77: 'SKIP'}.get(rc, 'FAIL')
        failed += word == 'FAIL'
        skipped += word == 'SKIP'
        results.setdefault(name, []).append(rc)
        print(f'{word} {name} (run {rnd}, {secs} s, status {rc})',
              flush=True)
    proc.wait()
    ran = sum(len(v) for v in results.values())
    expected = len(tests) * args.repeat
    print(f'guest: {ran - failed - skipped} passed, {failed} failed, '
          f'{skipped} skipped, {expected - ran} not run, in '
          f'{time.time() - start:.0f} s')
    return 0 if failed == 0 and ran == expected else 1


if __name__ == '__main__':
    sys.exit(main())
