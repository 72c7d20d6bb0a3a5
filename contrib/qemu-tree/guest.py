#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Real guests for the QEMU-tree checks: what they boot, and how.

Guest artefacts are fetched or built once into CACHE/guest:

  firmware/     palcode-clipper, linuxboot_dma.bin, kvmvapic.bin and
                SeaBIOS, from Debian's qemu-system-data and seabios
                packages (apt-get download + dpkg-deb -x; nothing is
                installed), passed to QEMU with -L
  alpha/vmlinux an Alpha kernel built from Debian's linux-source-6.1
                (tinyconfig plus a serial console), for -M clipper
  x86_64/       Debian's linux-image-*-cloud-amd64 kernel and an
                initramfs made of busybox-static and our /init

Running QEMU: run_until() starts a QEMU, reads its serial console from
stdout and stops it through QMP; rr_cycle() records a boot with
-icount rr=record and replays it with rr=replay (see replay.py).
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# The line every Linux boot prints early; upstream's replay tests wait
# for it too.
KERNEL_MARKER = 'Kernel command line'
# Printed by our initramfs's /init once user space runs.
INIT_MARKER = 'qemu-rcu-init: up'
ALPHA_CONFIG = {
    'disable': ['ALPHA_ALCOR'],
    'enable': ['ALPHA_GENERIC', 'TTY', 'SERIAL_8250',
               'SERIAL_8250_CONSOLE', 'PRINTK', 'PCI', 'BINFMT_ELF',
               'BLK_DEV_INITRD'],
}
ALPHA_TOOLCHAIN = ['binutils-alpha-linux-gnu', 'gcc-12-alpha-linux-gnu',
                   'cpp-12-alpha-linux-gnu', 'gcc-12-alpha-linux-gnu-base',
                   'libgcc-12-dev-alpha-cross']
FIRMWARE = ['palcode-clipper', 'linuxboot_dma.bin', 'kvmvapic.bin',
            'bios-256k.bin', 'bios.bin']

# /init of the x86_64 initramfs.  The kernel command line chooses what it
# does after the marker: "rcu.idle=S" sleeps S seconds and powers off,
# "rcu.load=1" starts a CPU and memory load and then runs a shell on the
# console that answers "ping N" with "pong N".
INIT = r'''#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs -o size=64m tmp /tmp
echo "qemu-rcu-init: up, $(cat /proc/cpuinfo | grep -c ^processor) cpu(s)"
for arg in $(cat /proc/cmdline); do
    case $arg in
    rcu.idle=*) sleep "${arg#rcu.idle=}"; echo "qemu-rcu-init: poweroff"
                poweroff -f ;;
    rcu.load=1) load=1 ;;
    esac
done
if [ -n "$load" ]; then
    # CPU: one busy loop per vCPU.  Memory: rewrite 32 MiB of tmpfs.
    for c in $(grep ^processor /proc/cpuinfo | cut -d: -f2); do
        (while :; do :; done) &
    done
    (while :; do dd if=/dev/zero of=/tmp/m bs=1M count=32 2>/dev/null
                 rm -f /tmp/m; done) &
    echo "qemu-rcu-init: load running"
fi
# Hot-plugged memory comes online by itself (memhp_default_state);
# answer pings from the host on the console.
while read -r cmd arg; do
    case $cmd in
    ping) echo "pong $arg $(grep -c . /sys/bus/pci/devices/*/vendor \
                 2>/dev/null | wc -l) pci," \
               "$(grep MemTotal /proc/meminfo | tr -s ' ')" ;;
    off) poweroff -f ;;
    esac
done
poweroff -f
'''


class GuestError(Exception):
    pass


def add_cache_option(parser):
    """--cache: where downloads, builds and logs live."""
    parser.add_argument('--cache', default=os.environ.get(
        'QEMU_RCU_CACHE', os.path.expanduser('~/.cache/qemu-rcu')))


def exit_on_sigterm():
    """Turn SIGTERM (CI's timeout) into SystemExit, so that the finally
    clauses stop the QEMUs started here, which run in sessions of their
    own and would otherwise outlive the harness."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))


def _log(msg):
    print('guest: ' + msg, file=sys.stderr, flush=True)


def _sh(cmd, log, cwd=None, env=None):
    with open(log, 'a') as f:
        f.write('+ ' + ' '.join(cmd) + '\n')
        f.flush()
        rc = subprocess.call(cmd, cwd=cwd, env=env, stdout=f,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    if rc:
        subprocess.call(['tail', '-n', '30', log],
                        stdout=sys.stderr)
        raise GuestError(f'{cmd[0]} exited {rc}, log {log}')


class Artefacts:
    """Fetches or builds what the guests boot, once, into CACHE/guest;
    logs go to LOGS, by default CACHE/work/logs."""

    def __init__(self, cache, logs=None):
        logs = logs or os.path.join(cache, 'work', 'logs')
        self.dir = os.path.join(cache, 'guest')
        self.logs = logs
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(logs, exist_ok=True)

    def _download(self, pkgs, log):
        """apt-get download into guest/debs; returns the .deb paths."""
        debs = os.path.join(self.dir, 'debs')
        os.makedirs(debs, exist_ok=True)
        for attempt in (1, 2):
            try:
                _sh(['apt-get', 'download', '-q'] + pkgs, log, cwd=debs)
                break
            except GuestError:
                if attempt == 2:
                    raise
                # A machine whose package lists are missing or stale.
                _sh(['apt-get', 'update', '-q'], log)
        out = []
        for p in pkgs:
            name = p.split('=')[0]
            found = sorted(glob.glob(f'{debs}/{name}_*.deb'))
            if not found:
                raise GuestError(f'apt-get download left no {name}_*.deb')
            out.append(found[-1])
        return out

    def firmware(self):
        d = os.path.join(self.dir, 'firmware')
        if all(os.path.exists(os.path.join(d, f)) for f in FIRMWARE):
            return d
        log = os.path.join(self.logs, 'guest-firmware.log')
        root = os.path.join(self.dir, 'firmware-root')
        shutil.rmtree(root, ignore_errors=True)
        for deb in self._download(['qemu-system-data', 'seabios'], log):
            _sh(['dpkg-deb', '-x', deb, root], log)
        tmp = d + '.tmp'
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        for f in FIRMWARE:
            src = (glob.glob(f'{root}/usr/share/qemu/{f}') +
                   glob.glob(f'{root}/usr/share/seabios/{f}'))
            if not src:
                raise GuestError(f'no {f} in qemu-system-data or seabios')
            shutil.copy(os.path.realpath(src[0]), os.path.join(tmp, f))
        shutil.rmtree(d, ignore_errors=True)
        os.rename(tmp, d)
        return d

    def alpha_toolchain(self):
        """Debian's Alpha cross compiler, unpacked into the cache: the
        gcc-alpha-linux-gnu package conflicts with gcc-multilib, which the
        32-bit build needs, so it is never installed.  Returns the bin
        directory to put first on PATH."""
        root = os.path.join(self.dir, 'alpha-toolchain')
        bindir = os.path.join(root, 'bin')
        gcc = os.path.join(bindir, 'alpha-linux-gnu-gcc')
        if os.path.exists(gcc):
            return bindir
        log = os.path.join(self.logs, 'guest-alpha-toolchain.log')
        shutil.rmtree(root, ignore_errors=True)
        for deb in self._download(ALPHA_TOOLCHAIN, log):
            _sh(['dpkg-deb', '-x', deb, root], log)
        os.makedirs(bindir)
        for tool in glob.glob(root + '/usr/bin/alpha-linux-gnu-*'):
            name = os.path.basename(tool)
            short = re.sub(r'-12$', '', name)
            os.symlink(tool, os.path.join(bindir, short))
        if not os.path.exists(gcc):
            raise GuestError(f'no alpha-linux-gnu-gcc in {root}')
        return bindir

    def alpha_kernel(self, jobs=2):
        """vmlinux from Debian's linux-source-6.1 (installed by the caller's
        setup step: linux-source-6.1 bc flex bison), built with
        alpha_toolchain()."""
        d = os.path.join(self.dir, 'alpha')
        out = os.path.join(d, 'vmlinux')
        tarballs = sorted(glob.glob('/usr/src/linux-source-6.1.tar.xz'))
        if not tarballs:
            raise GuestError('/usr/src/linux-source-6.1.tar.xz missing '
                             '(apt-get install linux-source-6.1)')
        stamp = os.path.join(d, 'source')
        key = f'{tarballs[0]} {os.path.getsize(tarballs[0])} {ALPHA_CONFIG}'
        if (os.path.exists(out) and os.path.exists(stamp) and
                open(stamp).read() == key):
            return out
        bindir = self.alpha_toolchain()
        # The unpacked assembler and linker load libbfd and libopcodes
        # from the unpacked tree, where the dynamic loader does not look.
        libdirs = glob.glob(os.path.join(os.path.dirname(bindir),
                                         'usr/lib/*-linux-gnu'))
        env = dict(os.environ, PATH=bindir + ':' + os.environ['PATH'],
                   LD_LIBRARY_PATH=':'.join(
                       libdirs + [d for d in os.environ.get(
                           'LD_LIBRARY_PATH', '').split(':') if d]))
        log = os.path.join(self.logs, 'guest-alpha-kernel.log')
        open(log, 'w').close()
        _log('building the Alpha kernel (about 2 minutes)')
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        _sh(['tar', 'xf', tarballs[0], '-C', d], log)
        src = glob.glob(d + '/linux-source-*')[0]
        make = ['make', 'ARCH=alpha', 'CROSS_COMPILE=alpha-linux-gnu-']
        _sh(make + ['tinyconfig'], log, cwd=src, env=env)
        cfg = ['scripts/config']
        for o in ALPHA_CONFIG['disable']:
            cfg += ['--disable', o]
        for o in ALPHA_CONFIG['enable']:
            cfg += ['--enable', o]
        _sh(cfg, log, cwd=src, env=env)
        _sh(make + ['olddefconfig'], log, cwd=src, env=env)
        _sh(['nice', '-n', '10'] + make + [f'-j{jobs}', 'vmlinux'], log,
            cwd=src, env=env)
        shutil.copy(os.path.join(src, 'vmlinux'), out)
        shutil.rmtree(src)
        open(stamp, 'w').write(key)
        return out

    def x86_kernel(self):
        d = os.path.join(self.dir, 'x86_64')
        found = sorted(glob.glob(d + '/vmlinuz-*-cloud-amd64'))
        if found:
            return found[-1]
        log = os.path.join(self.logs, 'guest-x86-kernel.log')
        meta = subprocess.run(['apt-cache', 'depends',
                               'linux-image-cloud-amd64'],
                              stdout=subprocess.PIPE, text=True).stdout
        m = re.search(r'Depends: (linux-image-6\.1\.\S+-cloud-amd64)', meta)
        if not m:
            _sh(['apt-get', 'update', '-q'], log)
            meta = subprocess.run(['apt-cache', 'depends',
                                   'linux-image-cloud-amd64'],
                                  stdout=subprocess.PIPE, text=True).stdout
            m = re.search(r'Depends: (linux-image-6\.1\.\S+-cloud-amd64)',
                          meta)
        if not m:
            raise GuestError('no linux-image-6.1.*-cloud-amd64 in the '
                             'package lists (a Debian 12 machine has it)')
        root = os.path.join(self.dir, 'x86_64-root')
        shutil.rmtree(root, ignore_errors=True)
        for deb in self._download([m.group(1)], log):
            _sh(['dpkg-deb', '-x', deb, root], log)
        kernel = glob.glob(root + '/boot/vmlinuz-*')[0]
        os.makedirs(d, exist_ok=True)
        shutil.copy(kernel, d)
        shutil.rmtree(root)
        return sorted(glob.glob(d + '/vmlinuz-*-cloud-amd64'))[-1]

    def initramfs(self):
        d = os.path.join(self.dir, 'x86_64')
        out = os.path.join(d, 'initramfs.cpio.gz')
        stamp = os.path.join(d, 'init')
        if os.path.exists(out) and os.path.exists(stamp) and \
                open(stamp).read() == INIT:
            return out
        log = os.path.join(self.logs, 'guest-initramfs.log')
        root = os.path.join(d, 'initramfs-root')
        shutil.rmtree(root, ignore_errors=True)
        deb = self._download(['busybox-static'], log)[0]
        _sh(['dpkg-deb', '-x', deb, root], log)
        for sub in ('proc', 'sys', 'dev', 'tmp'):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        init = os.path.join(root, 'init')
        open(init, 'w').write(INIT)
        os.chmod(init, 0o755)
        tmp = out + '.tmp'
        with open(tmp, 'wb') as f:
            find = subprocess.Popen(['find', '.', '-print0'], cwd=root,
                                    stdout=subprocess.PIPE)
            cpio = subprocess.Popen(['cpio', '--null', '-o', '-H', 'newc',
                                     '--quiet'], cwd=root, stdin=find.stdout,
                                    stdout=subprocess.PIPE)
            gz = subprocess.Popen(['gzip', '-9'], stdin=cpio.stdout,
                                  stdout=f)
            find.stdout.close()
            cpio.stdout.close()
            if gz.wait() or cpio.wait() or find.wait():
                raise GuestError('could not pack the initramfs')
        os.rename(tmp, out)
        open(stamp, 'w').write(INIT)
        shutil.rmtree(root)
        return out


# --- running QEMU ---------------------------------------------------------

class Qmp:
    """The few QMP commands the checks need, over a unix socket."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise GuestError(f'QMP socket {path} never answered')
                time.sleep(0.05)
        self.buf = b''
        self.events = []
        self._read()                       # greeting
        self.cmd('qmp_capabilities')

    def _read(self, timeout=None):
        while b'\n' not in self.buf:
            self.sock.settimeout(timeout)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise GuestError('QMP connection closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, name, timeout=None, **args):
        """Send a command; returns (reply, seconds until it came)."""
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        t0 = time.monotonic()
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            r = self._read(timeout)
            if 'event' in r:
                self.events.append(r)
                continue
            return r, time.monotonic() - t0

    def wait_event(self, name, timeout, match=None):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e['event'] == name and (match is None or match(e)):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                r = self._read(left)
            except socket.timeout:
                return None
            if 'event' in r:
                self.events.append(r)

    def close(self):
        self.sock.close()


class Qemu:
    """One QEMU process: console on stdout (kept in memory and a file),
    QMP on a unix socket, stdin a pipe to the serial console."""

    def __init__(self, argv, workdir, name, env=None):
        self.qmp_path = os.path.join(workdir, name + '.qmp')
        self.console_path = os.path.join(workdir, name + '.console')
        self.stderr_path = os.path.join(workdir, name + '.stderr')
        if os.path.exists(self.qmp_path):
            os.unlink(self.qmp_path)
        self.argv = argv + ['-qmp', f'unix:{self.qmp_path},server=on,'
                            'wait=off']
        self.console = b''
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.errf = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.errf, env=env,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()
        self.qmp = None

    def _pump(self):
        with open(self.console_path, 'wb') as f:
            while True:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return
                f.write(chunk)
                f.flush()
                with self.lock:
                    self.console += chunk

    def text(self):
        with self.lock:
            return self.console.decode('utf-8', 'replace')

    def has_line(self, marker, start=0):
        """Has the console a complete line holding marker?"""
        text = self.text()
        i = text.find(marker, start)
        return i >= 0 and text.find('\n', i) >= 0

    def wait_for(self, marker, timeout, start=0):
        """Seconds until a complete line holding marker appears after
        offset start, or None."""
        deadline = self.t0 + timeout if start == 0 else \
            time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.has_line(marker, start):
                return time.monotonic() - self.t0
            if self.proc.poll() is not None:
                self.reader.join(1)
                return (time.monotonic() - self.t0
                        if self.has_line(marker, start) else None)
            time.sleep(0.02)
        return None

    def connect(self):
        if self.qmp is None:
            self.qmp = Qmp(self.qmp_path)
        return self.qmp

    def send(self, line):
        self.proc.stdin.write(line.encode() + b'\n')
        self.proc.stdin.flush()

    def quit(self, timeout=30):
        """QMP quit; returns QEMU's exit status (killed: negative)."""
        if self.proc.poll() is None:
            try:
                self.connect().cmd('quit', timeout=timeout)
            except (GuestError, OSError, ValueError):
                pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
        if rc is None:
            self.kill()
            rc = 'killed'
        self.reader.join(5)
        if self.qmp:
            self.qmp.close()
        self.errf.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stderr(self):
        return open(self.stderr_path, errors='replace').read()


def upto(text, marker):
    """The console up to the end of the line holding marker, or None if
    that line is missing or incomplete."""
    i = text.find(marker)
    j = text.find('\n', i) if i >= 0 else -1
    return text[:j + 1] if j >= 0 else None


def rr_cycle(qemu, args, workdir, markers, shift=9, bound=60, extra=3.0,
             env=None):
    """Record a boot until every marker (in order) and `extra` seconds
    more, quit; replay it until the same markers.  Returns a dict: ok,
    reason, record_s, replay_s (seconds until the last marker)."""
    rrfile = os.path.join(workdir, 'rr.bin')
    res = {'ok': False, 'reason': '', 'record_s': None, 'replay_s': None}
    consoles = {}
    for mode in ('record', 'replay'):
        argv = [qemu] + args + ['-icount', f'shift={shift},rr={mode},'
                                f'rrfile={rrfile}']
        q = Qemu(argv, workdir, mode, env=env)
        t = 0
        try:
            for m in markers:
                t = q.wait_for(m, bound)
                if t is None:
                    break
            if t is not None and mode == 'record':
                time.sleep(extra)
        finally:
            rc = q.quit()
        consoles[mode] = q.text()
        res[mode + '_s'] = t
        if t is None:
            res['reason'] = (f'{mode}: "{markers[-1]}" not seen within '
                             f'{bound} s (exit {rc})')
            if q.stderr().strip():
                res['reason'] += ': ' + q.stderr().strip().splitlines()[-1]
            return res, consoles
        if rc != 0:
            res['reason'] = f'{mode}: QEMU exited {rc}: ' + \
                (q.stderr().strip().splitlines() or [''])[-1]
            return res, consoles
    a = upto(consoles['record'], markers[-1])
    b = upto(consoles['replay'], markers[-1])
    if a is None or a != b:
        res['reason'] = 'replayed console differs from the recorded one'
        return res, consoles
    res['ok'] = True
    return res, consoles


def alpha_args(kernel, firmware):
    return ['-M', 'clipper', '-display', 'none', '-vga', 'none',
            '-nodefaults', '-serial', 'stdio', '-net', 'none',
            '-kernel', kernel, '-append', 'printk.time=0 console=ttyS0',
            '-L', firmware]


def x86_args(kernel, initrd, firmware, machine='pc', smp=1, mem='256M',
             append='', extra=()):
    return (['-M', machine, '-accel', 'tcg', '-smp', str(smp), '-m', mem,
             '-display', 'none', '-vga', 'none', '-nodefaults',
             '-serial', 'stdio', '-net', 'none', '-kernel', kernel,
             '-initrd', initrd, '-L', firmware,
             '-append', 'printk.time=0 console=ttyS0 panic=-1 ' + append] +
            list(extra))


def mkwork(base, name):
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=name + '-', dir=base)
