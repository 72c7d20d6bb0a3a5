#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Hot-plug cycles against a busy x86_64 Linux guest, per QEMU build.

The guest (guest.py's initramfs with rcu.load=1) runs one busy loop per
vCPU and rewrites 32 MiB of tmpfs in a loop.  Each cycle then sends, and
times until its reply:

  pci-add      device_add pci-testdev (ACPI PCI hot-plug)
  pci-del      device_del of it, then the wait for DEVICE_DELETED, which
               comes once the guest's acpiphp has ejected it
  mem-add      object-add memory-backend-ram + device_add pc-dimm (ACPI
               memory hot-plug; memhp_default_state=online_movable
               onlines it in the guest)
  mem-del      device_del of the DIMM and the wait for DEVICE_DELETED
               (the guest offlines and ejects it), then object-del
  drain        a device_add that fails, after which QEMU calls
               drain_call_rcu(): the command returns only when every RCU
               callback queued before it (the FlatViews the plugs above
               replaced) has run

Every plug and unplug changes the guest's memory map, so the old FlatView
goes to call_rcu() while the vCPUs run guest code inside their read-side
critical sections.  After the cycles the guest must answer "ping" on its
console with the memory and PCI devices it sees, and QEMU must exit with
status 0 on QMP quit.

  hotplug.py --qemu NAME=PATH [--qemu ...] [--cycles 100] [--smp 2]

Prints a table of p50/p99/max per command and build on stdout.
"""

import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402

COMMANDS = ['pci-add', 'pci-del', 'mem-add', 'mem-del', 'drain']
DIMM_MB = 128


def say(msg):
    print('hotplug: ' + msg, file=sys.stderr, flush=True)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


class HotplugError(Exception):
    pass


def one_build(qemu, art, work, cycles, smp, machine, bound, env=None,
              progress=say):
    """Runs the workload on one build.  Returns (latencies by command in
    ms, problems found: a list of strings, empty when all went well)."""
    kernel, initrd, fw = art.x86_kernel(), art.initramfs(), art.firmware()
    args = guest.x86_args(
        kernel, initrd, fw, machine, smp,
        mem=f'512M,slots=4,maxmem={512 + 4 * DIMM_MB}M',
        append='rcu.load=1 memhp_default_state=online_movable')
    q = guest.Qemu([qemu] + args, work, 'hotplug', env=env)
    lat = {c: [] for c in COMMANDS}
    problems = []
    try:
        if q.wait_for('qemu-rcu-init: load running', bound) is None:
            raise HotplugError('the guest never started its load: ' +
                               q.text()[-300:])
        qmp = q.connect()

        def cmd(name, what, **a):
            r, secs = qmp.cmd(what, timeout=bound, **a)
            if 'error' in r:
                raise HotplugError(f'{what} {a}: {r["error"]}')
            lat[name].append(secs * 1000)
            return secs

        def unplug(name, dev):
            t0 = time.monotonic()
            r, _ = qmp.cmd('device_del', timeout=bound, id=dev)
            if 'error' in r:
                raise HotplugError(f'device_del {dev}: {r["error"]}')
            e = qmp.wait_event('DEVICE_DELETED', bound,
                               lambda e: e['data'].get('device') == dev)
            if e is None:
                raise HotplugError(f'no DEVICE_DELETED for {dev} within '
                                   f'{bound} s (the guest did not eject it)')
            lat[name].append((time.monotonic() - t0) * 1000)

        for i in range(cycles):
            cmd('pci-add', 'device_add', driver='pci-testdev', id=f'p{i}')
            unplug('pci-del', f'p{i}')
            t0 = time.monotonic()
            r, _ = qmp.cmd('object-add', timeout=bound,
                           **{'qom-type': 'memory-backend-ram',
                              'id': f'm{i}', 'size': DIMM_MB << 20})
            if 'error' in r:
                raise HotplugError(f'object-add: {r["error"]}')
            r, _ = qmp.cmd('device_add', timeout=bound, driver='pc-dimm',
                           id=f'd{i}', memdev=f'm{i}')
            if 'error' in r:
                raise HotplugError(f'device_add pc-dimm: {r["error"]}')
            lat['mem-add'].append((time.monotonic() - t0) * 1000)
            # Let the guest online the memory before asking it back.
            time.sleep(0.2)
            unplug('mem-del', f'd{i}')
            r, _ = qmp.cmd('object-del', timeout=bound, id=f'm{i}')
            if 'error' in r:
                raise HotplugError(f'object-del m{i}: {r["error"]}')
            r, secs = qmp.cmd('device_add', timeout=bound, driver='pc-dimm',
                              id=f'bad{i}', memdev='no-such-backend')
            if 'error' not in r:
                raise HotplugError('a pc-dimm without memdev was accepted')
            lat['drain'].append(secs * 1000)
            if (i + 1) % 10 == 0:
                progress(f'{i + 1}/{cycles} cycles')
        start = len(q.text())
        q.send(f'ping {cycles}')
        if q.wait_for(f'pong {cycles}', bound, start=start) is None:
            problems.append('the guest did not answer on its console: ' +
                            q.text()[-300:])
        else:
            line = [x for x in q.text()[start:].splitlines()
                    if x.startswith(f'pong {cycles}')][0]
            progress('guest answered: ' + line)
    except (HotplugError, guest.GuestError, OSError) as e:
        problems.append(str(e))
    finally:
        rc = q.quit(timeout=bound)
    if rc != 0:
        problems.append(f'QEMU exited {rc}: ' + q.stderr()[-300:])
    elif q.stderr().strip():
        # Warnings are fine; sanitizer reports are not.
        err = q.stderr()
        if 'ERROR: AddressSanitizer' in err or 'runtime error:' in err:
            problems.append('sanitizer report: ' + err[-500:])
    return lat, problems


def table(results, title):
    lines = [title, '', '| build | command | n | p50 ms | p99 ms | max ms |',
             '| --- | --- | --- | --- | --- | --- |']
    for b, (lat, problems) in results.items():
        for c in COMMANDS:
            v = lat[c]
            if v:
                lines.append(f'| {b} | {c} | {len(v)} | {pct(v, 50):.1f} | '
                             f'{pct(v, 99):.1f} | {max(v):.1f} |')
            else:
                lines.append(f'| {b} | {c} | 0 | - | - | - |')
    bad = [(b, p) for b, (_, ps) in results.items() for p in ps]
    if bad:
        lines += ['', 'problems:'] + [f'  {b}: {p}' for b, p in bad]
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.
                                RawDescriptionHelpFormatter)
    p.add_argument('--qemu', action='append', required=True,
                   metavar='NAME=PATH')
    p.add_argument('--cycles', type=int, default=100)
    p.add_argument('--smp', type=int, default=2)
    p.add_argument('--machine', default='pc')
    p.add_argument('--bound', type=float, default=60)
    guest.add_cache_option(p)
    args = p.parse_args()
    guest.exit_on_sigterm()
    art = guest.Artefacts(args.cache)
    results = {}
    failed = False
    for name, path in (q.split('=', 1) for q in args.qemu):
        work = guest.mkwork(os.path.join(args.cache, 'work', 'hotplug'),
                            name)
        t0 = time.time()
        results[name] = one_build(path, art, work, args.cycles, args.smp,
                                  args.machine, args.bound)
        say(f'{name}: {time.time() - t0:.0f} s, problems: '
            f'{results[name][1] or "none"}')
        failed |= bool(results[name][1])
        if not results[name][1]:
            shutil.rmtree(work)
    print(table(results, f'hot-plug cycles ({args.cycles} per build, '
                f'-M {args.machine} -smp {args.smp}, guest under load)'))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
