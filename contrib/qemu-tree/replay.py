#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Record/replay cycles of real guests, and a table of failure rates.

One cycle does what QEMU's replay tests do (tests/functional/
replay_kernel.py): boot with -icount shift=N,rr=record,rrfile=F until the
console shows the marker(s) and EXTRA seconds more, quit through QMP;
boot again with rr=replay until the same marker(s).  A cycle fails when a
phase does not reach its marker within BOUND seconds, QEMU exits with an
error, or the replayed console up to the marker differs from the
recorded one.  Cycles of the builds compared are interleaved, so that
every build sees the same machine load.

  replay.py --qemu NAME=PATH [--qemu NAME=PATH ...] --guest alpha
            [--cycles N] [--shift 9] [--bound 60] [--extra 3]
  replay.py --qemu ... --guest x86_64 --machine pc,q35 --smp 1,2

Guest artefacts come from CACHE/guest (see guest.py).  The table goes to
stdout, progress to stderr; exit status 0 whatever the failure counts
(callers decide what must pass).
"""

import argparse
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402


def say(msg):
    print('replay: ' + msg, file=sys.stderr, flush=True)


def configs(args, art):
    """(config name, QEMU arguments, markers) for the guest asked for."""
    fw = art.firmware()
    if args.guest == 'alpha':
        kernel = art.alpha_kernel(args.jobs)
        return [('clipper', guest.alpha_args(kernel, fw),
                 [guest.KERNEL_MARKER])]
    kernel, initrd = art.x86_kernel(), art.initramfs()
    out = []
    for m in args.machine.split(','):
        for smp in args.smp.split(','):
            out.append((f'{m} -smp {smp}',
                        guest.x86_args(kernel, initrd, fw, m, int(smp),
                                       append='rcu.idle=3'),
                        [guest.KERNEL_MARKER, guest.INIT_MARKER]))
    return out


def run(builds, cfgs, cycles, work, shift, bound, extra, env=None,
        keep_failed=2, progress=say):
    """Runs `cycles` cycles per build and config, interleaved.  Returns
    {(build, config): {'n', 'fail', 'reasons', 'record', 'replay'}}."""
    res = {}
    for b, _ in builds:
        for c, _, _ in cfgs:
            res[(b, c)] = {'n': 0, 'fail': 0, 'reasons': {},
                           'record': [], 'replay': [], 'kept': []}
    for i in range(cycles):
        for cname, cargs, markers in cfgs:
            for bname, qemu in builds:
                r = res[(bname, cname)]
                d = guest.mkwork(work, f'{bname}-{cname.replace(" ", "")}')
                t0 = time.monotonic()
                out, _ = guest.rr_cycle(qemu, cargs, d, markers, shift=shift,
                                        bound=bound, extra=extra, env=env)
                r['n'] += 1
                if out['ok']:
                    r['record'].append(out['record_s'])
                    r['replay'].append(out['replay_s'])
                    shutil.rmtree(d)
                else:
                    r['fail'] += 1
                    why = out['reason']
                    r['reasons'][why] = r['reasons'].get(why, 0) + 1
                    if len(r['kept']) < keep_failed:
                        r['kept'].append(d)
                    else:
                        shutil.rmtree(d)
                progress(f'{bname:14} {cname:10} cycle {i + 1}/{cycles}: '
                         f'{"ok" if out["ok"] else "FAIL " + out["reason"]}'
                         f' ({time.monotonic() - t0:.1f} s)')
    return res


def table(res, title):
    lines = [title, '',
             '| build | guest | cycles | failures | rate | record s '
             '(median) | replay s (median) |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for (b, c), r in res.items():
        med = (lambda v: f'{statistics.median(v):.2f}' if v else '-')
        lines.append(f'| {b} | {c} | {r["n"]} | {r["fail"]} | '
                     f'{100.0 * r["fail"] / max(r["n"], 1):.0f} % | '
                     f'{med(r["record"])} | {med(r["replay"])} |')
    reasons = [(b, c, why, k) for (b, c), r in res.items()
               for why, k in r['reasons'].items()]
    if reasons:
        lines.append('')
        lines.append('failures:')
        for b, c, why, k in reasons:
            lines.append(f'  {b} {c}: {k} x {why}')
        for (b, c), r in res.items():
            for d in r['kept']:
                lines.append(f'  kept: {d}')
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.
                                RawDescriptionHelpFormatter)
    p.add_argument('--qemu', action='append', required=True,
                   metavar='NAME=PATH', help='a build to compare')
    p.add_argument('--guest', choices=('alpha', 'x86_64'), default='alpha')
    p.add_argument('--machine', default='pc', help='x86_64: pc,q35')
    p.add_argument('--smp', default='1',
                   help='x86_64 vCPUs (QEMU 10.x refuses record/replay with '
                   'more than 1)')
    p.add_argument('--cycles', type=int, default=20)
    p.add_argument('--shift', type=int, default=None,
                   help='icount shift (alpha 9, x86_64 5)')
    p.add_argument('--bound', type=float, default=60)
    p.add_argument('--extra', type=float, default=3)
    p.add_argument('--env', action='append', default=[],
                   metavar='VAR=VALUE', help='set in every QEMU\'s '
                   'environment (e.g. qemu-rcu tunables)')
    p.add_argument('-j', '--jobs', type=int, default=2)
    guest.add_cache_option(p)
    args = p.parse_args()
    guest.exit_on_sigterm()
    if args.shift is None:
        args.shift = 9 if args.guest == 'alpha' else 5
    builds = [tuple(q.split('=', 1)) for q in args.qemu]
    art = guest.Artefacts(args.cache)
    cfgs = configs(args, art)
    work = os.path.join(args.cache, 'work', 'replay')
    t0 = time.time()
    env = dict(os.environ, **dict(e.split('=', 1) for e in args.env))
    res = run(builds, cfgs, args.cycles, work, args.shift, args.bound,
              args.extra, env=env)
    print(table(res, f'record/replay, {args.guest}, -icount shift='
                f'{args.shift}, bound {args.bound:.0f} s'
                f'{", " + " ".join(args.env) if args.env else ""}, '
                f'{time.time() - t0:.0f} s'))


if __name__ == '__main__':
    main()
