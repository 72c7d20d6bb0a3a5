#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Run a model program and judge its result against docs/model-checking.md.

    model-verdict.py --doc DOC --model MODEL [--fault FAULT] -- CMD [ARG...]

Every model program (Relacy models and the x86-TSO explorer) prints one
line per configuration,

    === <configuration>: holds (<detail>)
    === <configuration>: VIOLATED (<violation>)

and a last line "<model>: holds in ..." or "<model>: violated in V of N
configurations", and exits 0 when everything holds, 1 when the checker
found a counterexample, 99 when the model itself misbehaved.

Without --fault the program must exit 0 with every configuration holding.
With --fault the program is the variant built with MODEL_BUG_<FAULT>, and
the table "| Model | Fault | Violation | Configurations |" of DOC says what
it must find: it passes only if the program exits 1, every configuration
matched by a row of MODEL and FAULT is violated with one of the kinds of
that row ("A or B"), and every other configuration holds.  A crash, a
timeout, exit 2, a model error, a different violation or a different set
of configurations is a failure.

The verdict is the last line on stdout; the program's own output goes to
stderr, so that meson's log keeps both.
"""
import argparse
import fnmatch
import re
import subprocess
import sys

CONFIG_RE = re.compile(r'^=== (.*): (holds|VIOLATED|MODEL ERROR) \((.*)\)$')
SUMMARY_RE = re.compile(
    r'^(\S+): (?:holds in (?:all )?(\d+) configurations?|'
    r'violated in (\d+) of (\d+) configurations|'
    r'model error in (\d+) of (\d+) configurations)$')
TABLE_HEADER = ['Model', 'Fault', 'Violation', 'Configurations']


class Expectation:
    def __init__(self, kinds, patterns, line):
        self.kinds = kinds
        self.patterns = patterns
        self.line = line


def cells(line):
    return [c.strip() for c in line.strip().strip('|').split('|')]


def backticked(cell):
    return re.findall(r'`([^`]+)`', cell)


def read_expectations(doc, model, fault):
    """Rows of the fault table for MODEL and FAULT."""
    rows = []
    in_table = False
    with open(doc, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.startswith('|'):
                in_table = False
                continue
            c = cells(line)
            if c == TABLE_HEADER:
                in_table = True
                continue
            if not in_table or set(''.join(c)) <= set('-: '):
                continue
            if len(c) != 4:
                raise ValueError(f'{doc}:{n}: expected 4 cells, got {len(c)}')
            names = backticked(c[0])
            faults = backticked(c[1])
            patterns = backticked(c[3])
            kinds = [k.strip() for k in c[2].split(' or ')]
            if not names or not faults or not patterns or not all(kinds):
                raise ValueError(f'{doc}:{n}: malformed fault row')
            if names[0] == model and faults[0] == fault:
                rows.append(Expectation(kinds, patterns, n))
    return rows


def judge(out, rc, model, expectations, fault):
    """Returns a list of reasons why the run does not match; [] if it does."""
    want_rc = 1 if fault else 0
    problems = []
    if rc < 0:
        problems.append(f'killed by signal {-rc}')
    elif rc != want_rc:
        problems.append(f'exit code {rc}, expected {want_rc}')

    configs = []
    summary = None
    for line in out.splitlines():
        m = CONFIG_RE.match(line)
        if m:
            configs.append((m.group(1), m.group(2), m.group(3)))
            continue
        m = SUMMARY_RE.match(line)
        if m and m.group(1) == model:
            summary = m
    if not configs:
        problems.append('no configuration verdict printed')
    if summary is None:
        problems.append(f'no final "{model}: ..." line')
    else:
        total = next(int(g) for g in (summary.group(2), summary.group(4),
                                      summary.group(6)) if g)
        if total != len(configs):
            problems.append(f'summary counts {total} configurations, '
                            f'{len(configs)} verdicts printed')

    matched = set()
    for name, verdict, detail in configs:
        exp = [e for e in expectations
               if any(fnmatch.fnmatchcase(name, p) for p in e.patterns)]
        if len(exp) > 1:
            problems.append(f'"{name}" matches rows at lines '
                            f'{", ".join(str(e.line) for e in exp)}')
            continue
        if not exp:
            if verdict != 'holds':
                problems.append(f'"{name}": {verdict} ({detail}), '
                                f'expected to hold')
            continue
        matched.add(exp[0].line)
        if verdict != 'VIOLATED':
            problems.append(f'"{name}": {verdict} ({detail}), expected '
                            f'{" or ".join(exp[0].kinds)}')
        elif detail not in exp[0].kinds:
            problems.append(f'"{name}": violated as "{detail}", expected '
                            f'{" or ".join(exp[0].kinds)}')
    for e in expectations:
        if e.line not in matched:
            problems.append(f'no configuration matches the row at line '
                            f'{e.line} ({"; ".join(e.patterns)})')
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--doc', required=True)
    ap.add_argument('--model', required=True)
    ap.add_argument('--fault')
    ap.add_argument('cmd', nargs='+')
    args = ap.parse_args()

    what = f'{args.model}' + (f' with {args.fault}' if args.fault else '')
    expectations = []
    if args.fault:
        try:
            expectations = read_expectations(args.doc, args.model,
                                             args.fault)
        except (OSError, ValueError) as e:
            print(f'model-verdict: {what}: FAIL: {e}')
            return 1
        if not expectations:
            print(f'model-verdict: {what}: FAIL: no row for it in '
                  f'{args.doc}')
            return 1

    p = subprocess.run(args.cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, errors='replace')
    sys.stderr.write(p.stdout)
    sys.stderr.flush()
    problems = judge(p.stdout, p.returncode, args.model, expectations,
                     args.fault)
    if problems:
        for why in problems:
            print(f'model-verdict: {what}: {why}', file=sys.stderr)
        print(f'model-verdict: {what}: FAIL ({len(problems)} '
              f'mismatch{"es" if len(problems) > 1 else ""} with '
              f'{args.doc if args.fault else "a holding model"})')
        return 1
    if args.fault:
        print(f'model-verdict: {what}: PASS: found as documented')
    else:
        print(f'model-verdict: {what}: PASS: holds in every configuration')
    return 0


if __name__ == '__main__':
    sys.exit(main())
