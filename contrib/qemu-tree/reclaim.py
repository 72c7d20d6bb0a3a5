#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""How long a real QEMU takes to give back unplugged guest memory.

The x86_64 guest of hotplug.py runs its CPU and memory load on -M pc (or
q35) -smp 2 (MTTCG: each vCPU thread runs guest code inside a read-side
critical section that lasts until it leaves its execution loop).  Each
cycle plugs a pc-dimm backed by a preallocated memory-backend-ram,
unplugs it (the guest offlines and ejects it), then sends object-del and
polls the QEMU process's resident set until 3/4 of the backend's memory
is gone.  object-del
frees the RAMBlock through call_rcu(), so the time from the command to
the RSS drop is grace periods behind busy vCPUs plus the callback's
munmap(): the virtio-gpu blob unmap of docs/vgpu-unmap.md, in QEMU.

QEMU has no caller of force_rcu().  A drop-in build run with
QEMU_RCU_FORCE_CALLBACKS=1 (NAME=PATH,QEMU_RCU_FORCE_CALLBACKS=1) forces
every grace period that has a callback waiting at once, kicking the
vCPUs through their force_rcu notifiers: what a device that calls
force_rcu() after its unmap gets.

With --probe (root and perf(1) needed, e.g. Debian's linux-perf), uprobes
on QEMU's qemu_ram_free() and reclaim_ramblock() also time the path inside
QEMU: from the call_rcu() of the RAMBlock to its callback, and the
callback (the munmap()) itself, free of the QMP round trip and of the
poller.  The poller then looks every 2 ms instead of every 0.1 ms, so
that it takes less CPU time from the vCPUs that RCU waits for.

  reclaim.py --qemu NAME=PATH[,VAR=VALUE...] [--qemu ...] [--cycles 30]
             [--machine q35] [--probe]

Prints a table of milliseconds per build (p50, p99, max) on stdout.
"""

import argparse
import ctypes
import mmap
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
import hotplug  # noqa: E402

DIMM_MB = 128


def say(msg):
    print('reclaim: ' + msg, file=sys.stderr, flush=True)


def rss_kib(pid):
    with open(f'/proc/{pid}/statm') as f:
        pages = int(f.read().split()[1])
    return pages * (os.sysconf('SC_PAGE_SIZE') // 1024)


def munmap_ms(huge):
    """What the callback's munmap() of the backend costs by itself: 128
    MiB, 2 MiB-aligned, touched, with or without transparent huge pages."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    size, align = DIMM_MB << 20, 2 << 20
    base = libc.mmap(None, size + align, mmap.PROT_READ | mmap.PROT_WRITE,
                     mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), 'mmap')
    p = (base + align - 1) & ~(align - 1)
    if huge:
        libc.madvise(p, size, mmap.MADV_HUGEPAGE)
    ctypes.memset(p, 1, size)
    t0 = time.monotonic()
    libc.munmap(base, size + align)
    return (time.monotonic() - t0) * 1000


class Probes:
    """perf uprobes on the RAMBlock's call_rcu() and its callback."""

    GROUP = 'qemu_rcu_reclaim'
    POINTS = (('free', 'qemu_ram_free'), ('cb', 'reclaim_ramblock'),
              ('done', 'reclaim_ramblock%return'))

    def __init__(self, qemu, work):
        self.out = os.path.join(work, 'probes.data')
        self.log = open(os.path.join(work, 'perf.log'), 'w')
        self.rec = None
        self._perf(['probe', '-q', '-d', self.GROUP + ':*'], check=False)
        for name, point in self.POINTS:
            self._perf(['probe', '-q', '-x', qemu, '-a',
                        f'{self.GROUP}:{name}={point}'])

    def _perf(self, args, check=True, **kw):
        r = subprocess.run(['perf'] + args, stderr=self.log, **kw)
        if check and r.returncode != 0:
            raise hotplug.HotplugError(
                f'perf {" ".join(args)} failed, see {self.log.name}')
        return r

    def start(self, pid):
        self.rec = subprocess.Popen(
            ['perf', 'record', '-q', '-o', self.out, '-p', str(pid),
             '-e', self.GROUP + ':*'], stdout=self.log, stderr=self.log)
        time.sleep(1)

    def stop(self):
        """Returns [(ms to the callback, ms in the callback)] per free."""
        if self.rec is None:
            return []
        # The RSS poll sees the pages go during the last callback's
        # munmap(); give the callback time to return before stopping.
        time.sleep(0.5)
        self.rec.send_signal(signal.SIGINT)
        self.rec.wait(timeout=60)
        text = self._perf(['script', '-i', self.out, '-F', 'time,event'],
                          stdout=subprocess.PIPE, text=True).stdout
        self._perf(['probe', '-q', '-d', self.GROUP + ':*'], check=False)
        hits = re.findall(r'([0-9.]+):\s+' + self.GROUP + r':(\w+):', text)
        spans, start, cb = [], None, None
        for t, name in hits:
            t, name = float(t) * 1000, name.split('__')[0]
            if name == 'free':
                start, cb = t, None
            elif name == 'cb' and start is not None:
                cb = t
            elif name == 'done' and cb is not None:
                spans.append((cb - start, t - cb))
                start = cb = None
        return spans


def one_build(qemu, art, work, cycles, bound, machine='pc', env=None,
              probe=False):
    """Returns (milliseconds from object-del to the RSS drop, problems,
    probed spans)."""
    kernel, initrd, fw = art.x86_kernel(), art.initramfs(), art.firmware()
    args = guest.x86_args(
        kernel, initrd, fw, machine, 2,
        mem=f'512M,slots=2,maxmem={512 + 2 * DIMM_MB}M',
        append='rcu.load=1 memhp_default_state=online_movable')
    probes = Probes(qemu, work) if probe else None
    nap = 0.002 if probe else 0.0001
    q = guest.Qemu([qemu] + args, work, 'reclaim', env=env)
    lat, problems, spans = [], [], []

    def ok(r, what):
        if 'error' in r:
            raise hotplug.HotplugError(f'{what}: {r["error"]}')

    try:
        if q.wait_for('qemu-rcu-init: load running', bound) is None:
            raise hotplug.HotplugError('the guest never started its load')
        qmp = q.connect()
        pid = q.proc.pid
        if probes:
            probes.start(pid)
        for i in range(cycles):
            r, _ = qmp.cmd('object-add', timeout=bound,
                           **{'qom-type': 'memory-backend-ram', 'id': f'm{i}',
                              'size': DIMM_MB << 20, 'prealloc': True})
            ok(r, 'object-add')
            r, _ = qmp.cmd('device_add', timeout=bound, driver='pc-dimm',
                           id=f'd{i}', memdev=f'm{i}')
            ok(r, 'device_add pc-dimm')
            time.sleep(0.2)
            r, _ = qmp.cmd('device_del', timeout=bound, id=f'd{i}')
            ok(r, 'device_del')
            if qmp.wait_event('DEVICE_DELETED', bound,
                              lambda e: e['data'].get('device') ==
                              f'd{i}') is None:
                raise hotplug.HotplugError(f'no DEVICE_DELETED for d{i}')
            before = rss_kib(pid)
            t0 = time.monotonic()
            r, _ = qmp.cmd('object-del', timeout=bound, id=f'm{i}')
            ok(r, 'object-del')
            while rss_kib(pid) > before - (DIMM_MB * 1024) * 3 // 4:
                if time.monotonic() - t0 > bound:
                    raise hotplug.HotplugError(
                        f'RSS still {rss_kib(pid)} KiB {bound} s after '
                        f'object-del (was {before} KiB)')
                # Leaves the CPUs to the vCPUs.
                time.sleep(nap)
            lat.append((time.monotonic() - t0) * 1000)
    except (hotplug.HotplugError, guest.GuestError, OSError) as e:
        problems.append(str(e))
    finally:
        if probes:
            try:
                spans = probes.stop()
            except (hotplug.HotplugError, OSError,
                    subprocess.TimeoutExpired) as e:
                problems.append(str(e))
        rc = q.quit(timeout=bound)
    if rc != 0:
        problems.append(f'QEMU exited {rc}: ' + q.stderr()[-300:])
    if probe and len(spans) < len(lat):
        problems.append(f'{len(spans)} probed callbacks for {len(lat)} '
                        'cycles')
    return lat, problems, spans


def summary(v, sep=' | '):
    return sep.join(f'{x:.2f}' for x in
                    (hotplug.pct(v, 50), hotplug.pct(v, 99), max(v)))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.
                                RawDescriptionHelpFormatter)
    p.add_argument('--qemu', action='append', required=True,
                   metavar='NAME=PATH[,VAR=VALUE...]')
    p.add_argument('--cycles', type=int, default=30)
    p.add_argument('--machine', default='pc', help='pc or q35')
    p.add_argument('--bound', type=float, default=60)
    p.add_argument('--probe', action='store_true',
                   help='also time call_rcu() to the callback with uprobes')
    guest.add_cache_option(p)
    args = p.parse_args()
    if args.probe and (os.geteuid() != 0 or not shutil.which('perf')):
        p.error('--probe needs root and perf(1) (Debian: linux-perf)')
    guest.exit_on_sigterm()
    art = guest.Artefacts(args.cache)
    rows, failed = [], False
    for spec in args.qemu:
        name, rest = spec.split('=', 1)
        path, *sets = rest.split(',')
        env = dict(os.environ, **dict(s.split('=', 1) for s in sets))
        work = guest.mkwork(os.path.join(args.cache, 'work', 'reclaim'),
                            name)
        lat, problems, spans = one_build(path, art, work, args.cycles,
                                         args.bound, args.machine, env,
                                         args.probe)
        say(f'{name}: {len(lat)} cycles, problems: {problems or "none"}')
        failed |= bool(problems)
        if not problems:
            shutil.rmtree(work)
        rows.append((name, lat, problems, spans))
    print(f'object-del until the RSS has dropped by {DIMM_MB * 3 // 4} of '
          f'the {DIMM_MB} MiB, -M {args.machine} -smp 2, guest under load '
          f'({args.cycles} cycles per build)\n')
    print('| build | n | p50 ms | p99 ms | max ms |')
    print('| --- | --- | --- | --- | --- |')
    for name, lat, problems, _ in rows:
        if lat:
            print(f'| {name} | {len(lat)} | {summary(lat)} |')
        for pr in problems:
            print(f'| {name} | problem: {pr} | | | |')
    if args.probe:
        print('\nInside QEMU (uprobes): from qemu_ram_free()\'s call_rcu() '
              'to reclaim_ramblock(), and reclaim_ramblock() itself\n')
        print('| build | n | to the callback | in the callback '
              '| to its end |')
        print('| --- | --- | --- | --- | --- |')
        for name, _, _, spans in rows:
            if spans:
                cols = ([w for w, _ in spans], [c for _, c in spans],
                        [w + c for w, c in spans])
                print(f'| {name} | {len(spans)} | ' +
                      ' | '.join(summary(v, ' / ') for v in cols) + ' |')
        print('\n(p50 / p99 / max ms)')
    for huge in (True, False):
        v = sorted(munmap_ms(huge) for _ in range(5))
        print(f'\nmunmap() of {DIMM_MB} MiB of touched memory by itself, '
              f'{"with" if huge else "without"} transparent huge pages: '
              f'{v[2]:.2f} ms (median of 5)', end='')
    print()
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
