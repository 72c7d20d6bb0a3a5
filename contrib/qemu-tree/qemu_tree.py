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
import signal
import subprocess
import sys
import time

import guest
import hotplug
import replay

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
# One configure per tree and build serves every check: the smallest board
# sets that run qtest-x86_64, our stall qtests, the x86_64 guest (pc with
# DIMM and ACPI memory hot-plug, q35, usb-tablet for the UHCI qtest,
# pci-testdev to hot-plug, the ISA floppy controller that fdc-test
# plugs) and the Alpha record/replay guest (clipper).
DEVICES = {
    'x86_64': 'CONFIG_I440FX=y\nCONFIG_Q35=y\nCONFIG_USB_HID=y\n'
              'CONFIG_PCI_TESTDEV=y\nCONFIG_FDC_ISA=y\n',
    'alpha': 'CONFIG_DP264=y\n',
}
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
        self.qemus = {}       # (arch, tree, build) -> emulator binary
        self.tables = []      # printed with the summary
        self.art = None
        self.asan_qemu = None
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
        if status in ('FAIL', 'XPASS') and fatal:
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
        for target, devices in DEVICES.items():
            mak = f'{src}/configs/devices/{target}-softmmu/{DEVICES_NAME}.mak'
            if not os.path.exists(mak) or open(mak).read() != devices:
                with open(mak, 'w') as f:
                    f.write(devices)
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
                     '--target-list=' + ','.join(
                         t + '-softmmu' for t in DEVICES),
                     '--without-default-features',
                     '--without-default-devices'] +
                    ['--with-devices-' + t + '=' + DEVICES_NAME
                     for t in DEVICES] + [
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
            subprocess.call(['tail', '-n', '60', log])
            e = StepFailed(f'{summary}; failed: {" ".join(bad)} '
                           f'not ok: {" ".join(missing)}')
            e.res = res
            raise e
        return res, summary

    # --- per tree ----------------------------------------------------------

    def tree(self, pristine):
        version = open(pristine + '/VERSION').read().strip()
        label = 'qemu-' + version
        builds = ['dropin', 'stock'] if (self.args.system or
                                         self.args.qtest or
                                         self.args.replay or
                                         self.args.guest) else ['dropin']
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
                    # Judged below, against stock QEMU in the same place.
                    self.step(f'{name}: qtest-x86_64 suite', self.qtests,
                              bld, log, build, qtest_res, fatal=False)
                if ok and self.args.qtest:
                    self.stall(src, bld, log, label, build, version)
            alpha = self.args.replay and (
                build == 'dropin' or self.args.replay_stock is None or
                version.startswith(tuple(self.args.replay_stock)))
            targets = ((['qemu-system-alpha'] if alpha else []) +
                       (['qemu-system-x86_64'] if self.args.guest else []))
            if targets and self.step(f'{name}: build ' + ', '.join(targets),
                                     self.ninja, bld, targets, log):
                for t in targets:
                    self.qemus[(t.split('-')[-1], label, build)] = \
                        f'{bld}/{t}'
        if self.args.system:
            self.compare_qtests(label, qtest_res)

    def compare_qtests(self, label, res):
        """The drop-in must pass every qtest that stock QEMU passes in the
        same place; a test that fails with both is reported, and is the
        environment's (or QEMU's) business, not the drop-in's."""
        t0 = time.time()
        what = f'{label}: drop-in passes every qtest stock passes'
        if not res.get('dropin') or not res.get('stock'):
            self.record(what, 'FAIL', t0, 'no qtest results for ' +
                        ' and '.join(b for b in ('dropin', 'stock')
                                     if not res.get(b)))
            return
        good = ('OK', 'SKIP', 'EXPECTEDFAIL')
        worse = sorted(n for n, r in res['stock'].items()
                       if r in good and res['dropin'].get(n) not in good)
        both = sorted(n for n, r in res['stock'].items()
                      if r not in good and res['dropin'].get(n) not in good)
        note = ' '.join(worse)
        if both:
            note += ' (failing with stock QEMU too: ' + ' '.join(both) + ')'
        self.record(what, 'FAIL' if worse else 'PASS', t0, note.strip())

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
        try:
            res, summary = self.suite(bld, log, self.qtest_list(bld),
                                      'qtest-x86_64')
        except StepFailed as e:
            out[build] = getattr(e, 'res', None)
            raise
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
        link = link.replace('tests/qtest/qmp-test.p/qmp-test.c.o', obj)
        link = re.sub(r'-o tests/qtest/qmp-test\b', '-o ' + exe, link)
        self.sh(['sh', '-c', link], log, cwd=bld)
        return bld + '/' + exe

    def stall(self, src, bld, log, label, build, version):
        name = f'{label} {build}: stall qtests'
        stock10 = build == 'stock' and version.startswith('10.0')
        t0 = time.time()
        try:
            exe = self.stall_build(src, bld, log)
            env = dict(self.env, QTEST_QEMU_BINARY=bld + '/qemu-system-x86_64')
            listed = subprocess.run([exe, '-l'], stdout=subprocess.PIPE,
                                    text=True, check=True, env=env
                                    ).stdout.split()
            listed = [t for t in listed if t.startswith('/')]
            declared = dict(re.findall(
                r'^declare (\S+) stock-10\.0=(stall|either)$',
                subprocess.run([exe], stdout=subprocess.PIPE, text=True,
                               check=True,
                               env=dict(env, QEMU_RCU_STALL_DECLARE='1')
                               ).stdout, re.M))
        except (StepFailed, subprocess.CalledProcessError) as e:
            self.record(name + ' (build)', 'FAIL', t0, str(e))
            return
        # The list and the declarations must agree, and at least one test
        # must tell stock 10.0 from the drop-in: otherwise a run that
        # tested nothing would look like a pass.
        names = sorted(t.split('/', 2)[-1] for t in listed)
        if not names or names != sorted(declared) or \
                'stall' not in declared.values():
            self.record(name + ' (list)', 'FAIL', t0,
                        f'listed {names}, declared {declared}')
            return
        for smp in self.args.smp:
            ran = 0
            for path in listed:
                expect = declared[path.split('/', 2)[-1]]
                ran += self.stall_one(exe, bld, path, smp, label, build,
                                      expect if stock10 else 'pass')
            t1 = time.time()
            self.record(f'{label} {build}: stall qtests ran -smp {smp}',
                        'PASS' if ran == len(listed) else 'FAIL', t1,
                        f'{ran} of {len(listed)} tests ran')

    def stall_one(self, exe, bld, path, smp, label, build, expect):
        """Runs one stall test; expect is 'pass', 'stall' (stock 10.0 must
        exceed the bound) or 'either'.  Returns 1 if the test ran (passed
        or exceeded the bound), 0 if it failed any other way."""
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
        passed = rc == 0 and bool(lat) and \
            re.search(r'^ok 1 ', text, re.M) is not None
        # The test aborts itself when a command exceeds the bound.
        stalled = bool(over) and rc == -signal.SIGABRT
        key = (label, build, smp, short)
        if lat:
            self.latency[key] = f'{lat[0][2]} / {lat[0][3]} (n={lat[0][1]})'
        elif over:
            self.latency[key] = f'> {self.args.bound} s (bound exceeded)'
        else:
            self.latency[key] = f'no figure (exit {rc})'
        what = f'{label} {build}: stall {short} -smp {smp}'
        why = over[0] if stalled else f'exit {rc}, log {slog}'
        if not passed and not stalled:
            self.record(what, 'FAIL', t0, f'neither passed nor exceeded the '
                        f'bound: {why}')
            return 0
        if expect == 'pass':
            self.record(what, 'PASS' if passed else 'FAIL', t0,
                        self.latency[key] if passed else why)
        elif expect == 'stall':
            # Stock 10.0 must stall here; if it stops doing so, the test no
            # longer tells the two rcu.c apart.
            self.record(what, 'XFAIL' if stalled else 'XPASS', t0,
                        why if stalled else 'stock 10.0 no longer exceeds '
                        'the bound: ' + self.latency[key])
        else:
            self.record(what, 'STALL' if stalled else 'PASS', t0,
                        why if stalled else 'stock 10.0 passes: ' +
                        self.latency[key])
        return 1

    # --- real guests under record/replay -----------------------------------

    def artefacts(self):
        if self.art is None:
            self.art = guest.Artefacts(self.cache, self.logs)
        return self.art

    def rr_builds(self, arch):
        return [(f'{label[5:]} {build}', path)
                for (a, label, build), path in sorted(self.qemus.items())
                if a == arch]

    def rr_record(self, res, what):
        """One result line per build: the drop-in must not fail, stock
        QEMU's failures are reported."""
        for (b, c), r in res.items():
            t0 = time.time()
            note = f'{r["fail"]}/{r["n"]} failed'
            if r['reasons']:
                note += ': ' + '; '.join(sorted(r['reasons']))
            if b.endswith('dropin'):
                self.record(f'{b}: {what} {c}', 'FAIL' if r['fail'] or
                            not r['n'] else 'PASS', t0, note)
            else:
                self.record(f'{b}: {what} {c}', 'INFO', t0, note)

    def replay_alpha(self):
        builds = self.rr_builds('alpha')
        if not builds:
            raise StepFailed('no qemu-system-alpha was built')
        art = self.artefacts()
        fw = art.firmware()
        kernel = art.alpha_kernel(self.args.jobs)
        cfgs = [('clipper', guest.alpha_args(kernel, fw),
                 [guest.KERNEL_MARKER])]
        res = replay.run(builds, cfgs, self.args.replay_cycles,
                         os.path.join(self.work, 'replay'), 9,
                         self.args.replay_bound, 3.0, progress=self.log)
        self.tables.append(replay.table(
            res, f'Alpha record/replay (-M clipper -icount shift=9), '
            f'{self.args.replay_cycles} cycles per build, interleaved'))
        self.rr_record(res, 'record/replay')

    def replay_x86(self):
        builds = self.rr_builds('x86_64')
        if not builds:
            raise StepFailed('no qemu-system-x86_64 was built')
        art = self.artefacts()
        fw, kernel, initrd = art.firmware(), art.x86_kernel(), \
            art.initramfs()
        # QEMU refuses record/replay with more than one vCPU; -smp 2 is
        # what the hot-plug cycles run.
        cfgs = [(f'{m} -smp 1',
                 guest.x86_args(kernel, initrd, fw, m, 1,
                                append='rcu.idle=3'),
                 [guest.KERNEL_MARKER, guest.INIT_MARKER])
                for m in ('pc', 'q35')]
        res = replay.run(builds, cfgs, self.args.guest_cycles,
                         os.path.join(self.work, 'replay'), 5,
                         self.args.replay_bound, 3.0, progress=self.log)
        self.tables.append(replay.table(
            res, f'x86_64 record/replay (Debian cloud kernel, busybox '
            f'initramfs, -smp 1, -icount shift=5), {self.args.guest_cycles} '
            f'cycles '
            f'per build and configuration, interleaved'))
        self.rr_record(res, 'record/replay')

    def hotplug(self, builds, what):
        art = self.artefacts()
        results = {}
        for name, qemu in builds:
            t0 = time.time()
            work = guest.mkwork(os.path.join(self.work, 'hotplug'),
                                name.replace(' ', '-'))
            results[name] = hotplug.one_build(
                qemu, art, work, self.args.hotplug_cycles, 2, 'pc',
                self.args.replay_bound, progress=self.log)
            problems = results[name][1]
            self.record(f'{name}: {what}', 'FAIL' if problems else 'PASS',
                        t0, '; '.join(problems) or
                        f'{self.args.hotplug_cycles} cycles, guest answered,'
                        ' clean exit')
            if not problems:
                shutil.rmtree(work)
        self.tables.append(hotplug.table(
            results, f'{what}: {self.args.hotplug_cycles} cycles per build, '
            f'-M pc -smp 2, guest under CPU and memory load'))

    def guest_checks(self):
        self.step('x86_64 record/replay cycles', self.replay_x86)
        builds = self.rr_builds('x86_64')
        if builds:
            self.hotplug(builds, 'hot-plug under load')
        if self.args.asan:
            self.step('drop-in built with AddressSanitizer', self.asan_build)
            if self.asan_qemu:
                self.hotplug([(self.asan_label + ' dropin+asan',
                               self.asan_qemu)], 'hot-plug under load, ASan')

    def asan_build(self):
        """The first tree's drop-in, configured again with
        --enable-asan in a build directory of its own."""
        label = sorted({k[1] for k in self.qemus})[0]
        src = os.path.join(self.work, label, 'dropin', 'src')
        bld = os.path.join(self.work, label, 'dropin', 'build-asan')
        log = os.path.join(self.logs, f'{label}-dropin-asan.log')
        if not os.path.exists(bld + '/build.ninja'):
            os.makedirs(bld, exist_ok=True)
            self.sh([src + '/configure', '--python=' + PY,
                     '--target-list=x86_64-softmmu',
                     '--without-default-features',
                     '--without-default-devices',
                     '--with-devices-x86_64=' + DEVICES_NAME,
                     '--disable-docs', '--disable-tools', '--disable-user',
                     '--enable-tcg', '--disable-download',
                     '--disable-install-blobs', '--enable-asan'],
                    log, cwd=bld, env=self.tenv)
        self.ninja(bld, ['qemu-system-x86_64'], log)
        self.asan_label = label[5:]
        self.asan_qemu = bld + '/qemu-system-x86_64'

    # --- report ------------------------------------------------------------

    def report(self):
        print('\n==== qemu-rcu in QEMU trees: summary ====')
        for what, status, secs, note in self.results:
            print(f'  [{status:5}] {what:62} {secs:6.0f}s {note}')
        for t in self.tables:
            print('\n' + t)
        if self.latency:
            print('\nlatency with a spinning vCPU (ms, p50 / max over n):')
            for key, v in sorted(self.latency.items()):
                label, build, smp, test = key
                print(f'  {label:14} {build:7} -smp {smp}  {test:28} {v}')
        n = {s: sum(1 for r in self.results if r[1] == s)
             for s in ('PASS', 'FAIL', 'XFAIL', 'XPASS', 'STALL', 'INFO')}
        print(f"qemu-tree: {n['PASS']} passed, {n['FAIL']} failed, "
              f"{n['XFAIL']} expected stock 10.0 stalls, {n['XPASS']} "
              f"unexpected stock 10.0 passes (fatal), {n['STALL']} stock "
              f"10.0 stalls where it may, {n['INFO']} reported figures; "
              f"logs in {self.logs}")


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
    p.add_argument('--replay', action='store_true',
                   help='build qemu-system-alpha, stock and drop-in, and '
                   'run Alpha record/replay cycles with each; the drop-in '
                   'must not fail one')
    p.add_argument('--replay-cycles', type=int, default=50,
                   help='record/replay cycles per build (default 50)')
    p.add_argument('--replay-stock', default=None, metavar='SERIES',
                   help='comma-separated series whose stock build joins the '
                   'Alpha cycles (default: every tree\'s)')
    p.add_argument('--replay-bound', type=float, default=60,
                   help='seconds a record or replay phase may take')
    p.add_argument('--guest', action='store_true',
                   help='x86_64 Linux guest under each build: record/replay '
                   'cycles (pc and q35, -smp 1: QEMU refuses record/replay '
                   'with more vCPUs) and hot-plug cycles (-smp 2)')
    p.add_argument('--guest-cycles', type=int, default=20,
                   help='x86_64 record/replay cycles per build and '
                   'configuration (default 20)')
    p.add_argument('--hotplug-cycles', type=int, default=100,
                   help='hot-plug cycles per build (default 100)')
    p.add_argument('--asan', action='store_true',
                   help='with --guest: also run the hot-plug cycles with '
                   'the drop-in built with AddressSanitizer')
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
    guest.add_cache_option(p)
    args = p.parse_args()
    guest.exit_on_sigterm()
    args.smp = [int(x) for x in args.smp.split(',')]
    if args.replay_stock is not None:
        args.replay_stock = [x for x in args.replay_stock.split(',') if x]
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
    if args.replay:
        run.step('Alpha record/replay cycles', run.replay_alpha)
    if args.guest:
        run.guest_checks()
    run.report()
    print(f'total time {time.time() - t0:.0f}s')
    sys.exit(1 if run.failed else 0)


if __name__ == '__main__':
    main()
