#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Check qemu-rcu inside real QEMU trees; see check.sh --help."""

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = '/usr/bin/python3'
DROPIN = ['util/rcu.c', 'include/qemu/rcu.h', 'include/qemu/rcu-ext.h']
RCU_TESTS = ['rcutorture', 'test-rcu-list', 'test-rcu-simpleq',
             'test-rcu-tailq', 'test-rcu-slist']
# Unit tests that use call_rcu, drain_call_rcu, RCU-protected structures or
# iothreads registered as RCU readers: each must be built and pass.
RCU_USERS = ['test-qht', 'test-logging', 'test-aio', 'test-aio-multithread',
             'test-thread-pool', 'test-bdrv-drain', 'test-block-iothread',
             'test-nested-aio-poll']
# The smallest board set that runs qtest-x86_64 and our stall tests: pc
# (with DIMM and ACPI memory hot-plug), q35, and usb-tablet for the UHCI test.
DEVICES = 'CONFIG_I440FX=y\nCONFIG_Q35=y\nCONFIG_USB_HID=y\n'
DEVICES_NAME = 'qemu-rcu'
STALL_TEST = 'rcu-stall-test'


class Run:
    def __init__(self, args):
        self.args = args
        self.cache = os.path.realpath(args.cache)
        self.work = os.path.join(self.cache, 'work')
        self.logs = os.path.join(self.work, 'logs')
        os.makedirs(self.logs, exist_ok=True)
        self.results = []     # (what, status, seconds, note)
        self.failed = False
        self.latency = {}     # (tree, build, smp) -> "p50 / max" text
        ccache = os.path.join(self.cache, 'ccache')
        path = os.environ['PATH']
        if os.path.isdir('/usr/lib/ccache'):
            path = '/usr/lib/ccache:' + path
        self.env = dict(os.environ, CCACHE_DIR=ccache,
                        CCACHE_BASEDIR=self.work, CCACHE_NOHASHDIR='1',
                        CCACHE_MAXSIZE='6G', PATH=path)

    # --- bookkeeping -------------------------------------------------------

    def log(self, msg):
        print('qemu-tree: ' + msg, flush=True)

    def record(self, what, status, t0, note='', fatal=True):
        secs = time.time() - t0
        self.results.append((what, status, secs, note))
        self.log(f'[{status}] {what} ({secs:.0f}s) {note}')
        if status == 'FAIL' and fatal:
            self.failed = True

    def sh(self, cmd, log, cwd=None, env=None, timeout=None, check=True):
        """Run cmd with output appended to log; return its exit status."""
        with open(log, 'a') as f:
            f.write('+ ' + ' '.join(cmd) + '\n')
            f.flush()
            try:
                rc = subprocess.call(cmd, cwd=cwd, env=env or self.env,
                                     stdout=f, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     timeout=timeout)
            except subprocess.TimeoutExpired:
                f.write(f'timed out after {timeout}s\n')
                rc = 124
        if rc and check:
            subprocess.call(['tail', '-n', '30', log])
            raise StepFailed(f'{cmd[0]} exited {rc}, log {log}')
        return rc

    def step(self, what, func, *a, fatal=True):
        t0 = time.time()
        try:
            note = func(*a) or ''
        except StepFailed as e:
            self.record(what, 'FAIL', t0, str(e), fatal)
            return False
        self.record(what, 'PASS', t0, note)
        return True

    # --- sources -----------------------------------------------------------

    def fetch(self, what):
        out = subprocess.run([os.path.join(HERE, 'fetch-source.sh'),
                              '--cache', self.cache, what],
                             stdout=subprocess.PIPE, check=True, text=True)
        return out.stdout.strip()

    def tools_env(self):
        env = dict(self.env)
        for word in self.fetch('--tools').split():
            k, v = word.split('=', 1)
            env[k] = v if k != 'PATH' else '/usr/lib/ccache:' + v
        return env

    # --- standalone: QEMU's RCU tests against the installed library --------

    def standalone(self, trees):
        d = os.path.join(self.work, 'standalone')
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        log = os.path.join(self.logs, 'standalone.log')
        open(log, 'w').close()
        env = self.tenv
        self.sh(['meson', 'setup', d + '/build', REPO, '--prefix',
                 d + '/inst', '--libdir', 'lib', '-Dtests=false'], log,
                env=env)
        self.sh(['meson', 'install', '-C', d + '/build'], log, env=env)
        pc = dict(env, PKG_CONFIG_PATH=d + '/inst/lib/pkgconfig')
        flags = subprocess.run(['pkg-config', '--cflags', '--libs',
                                'qemu-rcu'], env=pc, check=True, text=True,
                               stdout=subprocess.PIPE).stdout.split()
        bad = []
        for tree in trees:
            version = open(tree + '/VERSION').read().strip()
            for t in RCU_TESTS:
                # Unmodified sources; an implicit declaration would hide a
                # missing API behind a warning.
                exe = f'{d}/{t}-{version}'
                self.sh(['gcc', '-std=gnu11', '-O2', '-g', '-pthread',
                         '-Werror=implicit-function-declaration',
                         f'{tree}/tests/unit/{t}.c', '-o', exe] + flags +
                        [f'-Wl,-rpath,{d}/inst/lib'], log)
                if self.sh([exe, '--tap', '-k'], log, cwd=d, timeout=300,
                           check=False):
                    bad.append(f'{t} ({version})')
        if bad:
            raise StepFailed('failed: ' + ' '.join(bad))
        return f'{len(RCU_TESTS) * len(trees)} runs passed'

    # --- a QEMU build (one tree, stock or drop-in) -------------------------

    def prepare(self, pristine, label, build):
        """Copy the tree (once), install the drop-in, configure."""
        top = os.path.join(self.work, label, build)
        src, bld = top + '/src', top + '/build'
        log = os.path.join(self.logs, f'{label}-{build}.log')
        stamp = os.path.join(top, 'pristine')
        if (self.args.clean or not os.path.exists(stamp) or
                open(stamp).read() != pristine):
            shutil.rmtree(top, ignore_errors=True)
            os.makedirs(top)
            self.sh(['cp', '-a', pristine, src], log)
            # Debian's source has no edk2 archives: unpack them only when
            # installing blobs.  Check-only change, not part of the drop-in.
            mb = os.path.join(src, 'meson.build')
            text = open(mb).read()
            old = "unpack_edk2_blobs = bzip2.found()"
            if old in text:
                text = text.replace(
                    old, old + " and get_option('install_blobs')")
                open(mb, 'w').write(text)
            open(stamp, 'w').write(pristine)
        mak = f'{src}/configs/devices/x86_64-softmmu/{DEVICES_NAME}.mak'
        if not os.path.exists(mak) or open(mak).read() != DEVICES:
            with open(mak, 'w') as f:
                f.write(DEVICES)
        # QEMU 10.2's hw/acpi/cxl.c (ACPI_CXL, which pc and q35 select)
        # calls cxl_fmws_get_all_sorted(), which only CONFIG_CXL builds and
        # a minimal device config cannot enable; give the stubs one.
        # Check-only change, not part of the drop-in.
        stubs = os.path.join(src, 'hw/cxl/cxl-host-stubs.c')
        header = os.path.join(src, 'include/hw/cxl/cxl_host.h')
        if os.path.exists(stubs) and \
                'cxl_fmws_get_all_sorted' in open(header).read():
            text = open(stubs).read()
            if 'cxl_fmws_get_all_sorted' not in text:
                open(stubs, 'a').write(
                    '\nGSList *cxl_fmws_get_all_sorted(void)\n'
                    '{\n    return NULL;\n}\n')
        if build == 'dropin':
            # Always the repository's current files: install.sh leaves an
            # unchanged file alone, so ninja recompiles only what changed.
            force = ['--force'] if self.args.force else []
            self.sh([HERE + '/install.sh'] + force + [src], log)
            again = subprocess.run([HERE + '/install.sh'] + force + [src],
                                   text=True,
                                   stdout=subprocess.PIPE).stdout
            if ': 0 of 3 files changed' not in again:
                raise StepFailed('install.sh changed files a second time')
            for f in DROPIN:
                if open(f'{REPO}/{f}', 'rb').read() != \
                        open(f'{src}/{f}', 'rb').read():
                    raise StepFailed(f'{f} not installed')
        if not os.path.exists(bld + '/build.ninja'):
            os.makedirs(bld, exist_ok=True)
            self.sh([src + '/configure', '--python=' + PY,
                     '--target-list=x86_64-softmmu',
                     '--without-default-features',
                     '--without-default-devices',
                     '--with-devices-x86_64=' + DEVICES_NAME,
                     '--disable-docs', '--disable-tools', '--disable-user',
                     '--enable-tcg', '--disable-download',
                     '--disable-install-blobs', '--enable-werror'],
                    log, cwd=bld, env=self.tenv)
        return src, bld, log

    def tests(self, bld, suite):
        out = subprocess.run([bld + '/pyvenv/bin/meson', 'introspect',
                              '--tests', bld], env=self.tenv, check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        return [t for t in json.loads(out) if 'qemu:' + suite in t['suite']]

    def ninja(self, bld, targets, log):
        self.sh(['nice', '-n', '10', 'ninja', '-j', str(self.args.jobs)] +
                targets, log, cwd=bld, env=self.tenv)

    def suite(self, bld, log, tests, what, required=()):
        names = [t['name'] for t in tests]
        rc = self.sh([bld + '/pyvenv/bin/meson', 'test', '--no-rebuild',
                      '--print-errorlogs', '--num-processes',
                      str(self.args.jobs)] + names, log, cwd=bld,
                     env=self.tenv, check=False)
        res = {}
        with open(bld + '/meson-logs/testlog.json') as f:
            for line in f:
                d = json.loads(line)
                res[d['name'].split(' / ')[-1]] = d['result']
        count = {}
        for r in res.values():
            count[r] = count.get(r, 0) + 1
        summary = ' '.join(f'{k.lower()} {v}'
                           for k, v in sorted(count.items()))
        bad = sorted(n for n, r in res.items()
                     if r not in ('OK', 'SKIP', 'EXPECTEDFAIL'))
        missing = [n for n in required if res.get(n) != 'OK']
        with open(log, 'a') as f:
            f.write(f'{what}: {json.dumps(res, sort_keys=True)}\n')
        if rc or bad or missing:
            raise StepFailed(f'{summary}; failed: {" ".join(bad)} '
                             f'not ok: {" ".join(missing)}')
        return res, summary

    # --- per tree ----------------------------------------------------------

    def tree(self, pristine):
        version = open(pristine + '/VERSION').read().strip()
        label = 'qemu-' + version
        builds = ['dropin', 'stock'] if (self.args.system or
                                         self.args.qtest) else ['dropin']
        qtest_res = {}
        for build in builds:
            name = f'{label} {build}'
            try:
                t0 = time.time()
                src, bld, log = self.prepare(pristine, label, build)
                self.record(f'{name}: copy, install, configure', 'PASS', t0)
            except StepFailed as e:
                self.record(f'{name}: copy, install, configure', 'FAIL', t0,
                            str(e))
                continue
            if build == 'dropin' and self.args.unit:
                self.step(f'{name}: unit suite', self.unit, bld, log)
            if self.args.system or self.args.qtest:
                ok = self.step(f'{name}: build qemu-system-x86_64 + qtests',
                               self.system_build, bld, log)
                if ok and self.args.system:
                    self.step(f'{name}: qtest-x86_64 suite', self.qtests,
                              bld, log, build, qtest_res)
                if ok and self.args.qtest:
                    self.stall(src, bld, log, label, build, version)
        if len(qtest_res) == 2:
            t0 = time.time()
            worse = sorted(n for n, r in qtest_res['stock'].items()
                           if r == 'OK' and qtest_res['dropin'].get(n) != 'OK')
            self.record(f'{label}: drop-in passes every qtest stock passes',
                        'FAIL' if worse else 'PASS', t0, ' '.join(worse))

    def unit(self, bld, log):
        tests = self.tests(bld, 'unit')
        exes = sorted({os.path.relpath(t['cmd'][0], bld) for t in tests
                       if t['cmd'][0].startswith(bld + '/tests/')})
        self.ninja(bld, exes, log)
        res, summary = self.suite(bld, log, tests, 'unit',
                                  RCU_TESTS + RCU_USERS)
        return summary

    def system_build(self, bld, log):
        exes = {'qemu-system-x86_64'}
        for t in self.qtest_list(bld):
            exes.add(os.path.relpath(t['cmd'][0], bld))
        self.ninja(bld, sorted(exes), log)
        # Debian's source has no firmware; QEMU run from its build tree
        # looks in qemu-bundle/PREFIX/share/qemu.
        for d in glob.glob(bld + '/qemu-bundle/**/share/qemu',
                           recursive=True):
            for f in ('bios.bin', 'bios-256k.bin'):
                if not os.path.exists(f'{d}/{f}'):
                    os.symlink('/usr/share/seabios/' + f, f'{d}/{f}')

    def qtest_list(self, bld):
        tests = self.tests(bld, 'qtest-x86_64')
        if not self.args.slow:
            # ~8 minutes with either rcu.c: the slow setup's business.
            tests = [t for t in tests
                     if not t['name'].endswith('/migration-test')]
        return tests

    def qtests(self, bld, log, build, out):
        res, summary = self.suite(bld, log, self.qtest_list(bld),
                                  'qtest-x86_64')
        out[build] = res
        return summary

    # --- our stall qtests --------------------------------------------------

    def stall_build(self, src, bld, log):
        """Compile and link the test the way meson links qmp-test."""
        ref = 'tests/qtest/qmp-test'
        exe = f'tests/qtest/{STALL_TEST}'
        obj = f'tests/qtest/{STALL_TEST}.o'
        ccmds = json.load(open(bld + '/compile_commands.json'))
        cc = [c for c in ccmds if c['file'].endswith('tests/qtest/qmp-test.c')]
        if not cc:
            raise StepFailed('no compile command for qmp-test.c')
        cmd = cc[0]['command']
        cmd = re.sub(r'-MD -MQ \S+ -MF \S+ ', '', cmd)
        cmd = re.sub(r'-o \S+', '-o ' + obj, cmd)
        cmd = re.sub(r'-c \S+$', f'-c {HERE}/qtest/{STALL_TEST}.c', cmd)
        self.sh(['sh', '-c', cmd], log, cwd=bld)
        link = subprocess.run(['ninja', '-t', 'commands', ref], cwd=bld,
                              stdout=subprocess.PIPE, text=True,
                              check=True).stdout.strip().splitlines()[-1]
        link = link.replace(f'tests/qtest/qmp-test.p/qmp-test.c.o', obj)
        link = re.sub(r'-o tests/qtest/qmp-test\b', '-o ' + exe, link)
        self.sh(['sh', '-c', link], log, cwd=bld)
        return bld + '/' + exe

    def stall(self, src, bld, log, label, build, version):
        name = f'{label} {build}: stall qtests'
        stock10 = build == 'stock' and version.startswith('10.0')
        t0 = time.time()
        try:
            exe = self.stall_build(src, bld, log)
        except StepFailed as e:
            self.record(name + ' (build)', 'FAIL', t0, str(e))
            return
        tests = subprocess.run([exe, '-l'], stdout=subprocess.PIPE,
                               text=True, check=True,
                               env=dict(self.env, QTEST_QEMU_BINARY=bld +
                                        '/qemu-system-x86_64')
                               ).stdout.split()
        tests = [t for t in tests if t.startswith('/')]
        for smp in self.args.smp:
            for path in tests:
                self.stall_one(exe, bld, path, smp, label, build, stock10)

    def stall_one(self, exe, bld, path, smp, label, build, stock10):
        t0 = time.time()
        env = dict(self.env, QTEST_QEMU_BINARY=bld + '/qemu-system-x86_64',
                   QEMU_RCU_STALL_SMP=str(smp),
                   QEMU_RCU_STALL_RUNS=str(self.args.runs),
                   QEMU_RCU_STALL_BOUND=str(self.args.bound))
        short = path.split('/rcu-stall/')[-1]
        slog = os.path.join(self.logs, f'{label}-{build}-stall.log')
        rc = self.sh([exe, '--tap', '-p', path], slog, env=env, check=False,
                     timeout=self.args.bound * (self.args.runs + 6))
        text = open(slog).read().split('+ ' + exe)[-1]
        lat = re.findall(r'latency (\S+): n=(\d+) p50=(\S+) ms max=(\S+) ms',
                         text)
        over = re.findall(r'bound exceeded: (.*)', text)
        key = (label, build, smp, short)
        if lat:
            self.latency[key] = f'{lat[0][2]} / {lat[0][3]} (n={lat[0][1]})'
        elif over:
            self.latency[key] = f'> {self.args.bound} s (bound exceeded)'
        else:
            self.latency[key] = f'no figure (exit {rc})'
        what = f'{label} {build}: stall {short} -smp {smp}'
        if stock10:
            # Stock 10.0 is expected to stall here: reported, not an error.
            self.record(what, 'XFAIL' if rc else 'XPASS', t0,
                        over[0] if over else f'exit {rc}', fatal=False)
        else:
            self.record(what, 'FAIL' if rc else 'PASS', t0,
                        f'exit {rc}, log {slog}' if rc else self.latency[key])

    # --- report ------------------------------------------------------------

    def report(self):
        print('\n==== qemu-rcu in QEMU trees: summary ====')
        for what, status, secs, note in self.results:
            print(f'  [{status:5}] {what:62} {secs:6.0f}s {note}')
        if self.latency:
            print('\nlatency with a spinning vCPU (ms, p50 / max over n):')
            for key, v in sorted(self.latency.items()):
                label, build, smp, test = key
                print(f'  {label:14} {build:7} -smp {smp}  {test:28} {v}')
        n = {s: sum(1 for r in self.results if r[1] == s)
             for s in ('PASS', 'FAIL', 'XFAIL', 'XPASS')}
        print(f"qemu-tree: {n['PASS']} passed, {n['FAIL']} failed, "
              f"{n['XFAIL']} expected failures, {n['XPASS']} unexpected "
              f"passes; logs in {self.logs}")


class StepFailed(Exception):
    pass


def main():
    p = argparse.ArgumentParser(prog='check.sh', description=__doc__)
    p.add_argument('--qemu-src', action='append', default=[], metavar='DIR',
                   help='a pristine QEMU tree (copied, never modified); '
                   'repeatable; default: Debian\'s 10.0 and 10.2')
    p.add_argument('--series', default='10.0,10.2',
                   help='Debian trees to fetch when no --qemu-src is given')
    p.add_argument('--system', action='store_true',
                   help='build qemu-system-x86_64, stock and drop-in, and '
                   'run the qtest-x86_64 suite against both')
    p.add_argument('--qtest', action='store_true',
                   help='run our RCU stall qtests with both builds')
    p.add_argument('--no-unit', dest='unit', action='store_false',
                   help='skip QEMU\'s unit suite')
    p.add_argument('--no-standalone', dest='standalone', action='store_false',
                   help='skip QEMU\'s RCU tests against the installed library')
    p.add_argument('--slow', action='store_true',
                   help='include migration-test (~8 minutes)')
    p.add_argument('--smp', default='1,2', help='vCPU counts for --qtest')
    p.add_argument('--runs', type=int, default=20,
                   help='commands timed per stall test (default 20)')
    p.add_argument('--bound', type=int, default=10,
                   help='seconds one RCU-waiting command may take')
    p.add_argument('--force', action='store_true',
                   help='pass --force to install.sh (a QEMU other than '
                   '10.0.x or 10.2.x)')
    p.add_argument('--clean', action='store_true',
                   help='copy and configure the trees again')
    p.add_argument('-j', '--jobs', type=int, default=2)
    p.add_argument('--cache', default=os.environ.get(
        'QEMU_RCU_CACHE', os.path.expanduser('~/.cache/qemu-rcu')))
    args = p.parse_args()
    args.smp = [int(x) for x in args.smp.split(',')]
    run = Run(args)
    t0 = time.time()
    run.tenv = run.tools_env()
    trees = [os.path.realpath(d) for d in args.qemu_src] or \
        [run.fetch(s) for s in args.series.split(',')]
    if args.standalone:
        run.step('standalone: QEMU RCU tests against installed qemu-rcu',
                 run.standalone, trees)
    for t in trees:
        run.tree(t)
    run.report()
    print(f'total time {time.time() - t0:.0f}s')
    sys.exit(1 if run.failed else 0)


if __name__ == '__main__':
    main()
