#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Check that model-verdict.py rejects every result but the documented one.

    model-verdict-selftest.py VERDICT_SCRIPT

Runs the verdict script on stand-in model programs (small Python scripts
that print a model's output and exit as told) against a small fault
table, and checks which runs it accepts: only exit 1 with exactly the
documented violations, or exit 0 with everything holding for a model run
without a fault.  Prints one line per case and "selftest: N cases passed"
or the cases that went wrong.
"""
import os
import subprocess
import sys
import tempfile

DOC = """\
| Model | Fault | Violation | Configurations |
| --- | --- | --- | --- |
| `model-x` | `RACE`: a fault | DATA RACE | `fence, *` |
| `model-x` | `MIXED`: another | LIVELOCK or DATA RACE | `membarrier, normal` |
| `model-x` | `MIXED`: another | USER ASSERT FAILED: payload intact | \
`membarrier, forced` |
"""

CONFIGS = ['fence, normal', 'fence, forced', 'membarrier, normal',
           'membarrier, forced']


def output(verdicts, model='model-x'):
    """A model program's output; verdicts maps configuration -> kind."""
    lines = []
    violated = 0
    for c in CONFIGS:
        lines.append(f'=== {c}: 1000 iterations')
        if c in verdicts:
            lines.append(f'=== {c}: VIOLATED ({verdicts[c]})')
            violated += 1
        else:
            lines.append(f'=== {c}: holds (SUCCESS)')
    if violated:
        lines.append(f'{model}: violated in {violated} of {len(CONFIGS)} '
                     'configurations')
    else:
        lines.append(f'{model}: holds in all {len(CONFIGS)} configurations')
    return '\n'.join(lines) + '\n'


RACE = {'fence, normal': 'DATA RACE', 'fence, forced': 'DATA RACE'}

# (description, fault, program output, how it ends, accepted?)
CASES = [
    ('documented violation, exit 1', 'RACE', output(RACE), 'exit 1', True),
    ('documented violation, exit 2', 'RACE', output(RACE), 'exit 2', False),
    ('documented violation, then SIGSEGV', 'RACE', output(RACE),
     'segv', False),
    ('documented violation, exit 99', 'RACE', output(RACE), 'exit 99',
     False),
    ('a different kind', 'RACE',
     output({'fence, normal': 'DATA RACE', 'fence, forced': 'LIVELOCK'}),
     'exit 1', False),
    ('an undocumented configuration violated', 'RACE',
     output(dict(RACE, **{'membarrier, normal': 'DATA RACE'})),
     'exit 1', False),
    ('a documented configuration holds', 'RACE',
     output({'fence, normal': 'DATA RACE'}), 'exit 1', False),
    ('a model error instead of a violation', 'RACE',
     output(RACE).replace('=== fence, forced: VIOLATED (DATA RACE)',
                          '=== fence, forced: MODEL ERROR (DATA RACE)'),
     'exit 1', False),
    ('output cut short', 'RACE',
     output(RACE).rsplit('\n', 2)[0] + '\n', 'exit 1', False),
    ('either documented kind', 'MIXED',
     output({'membarrier, normal': 'DATA RACE',
             'membarrier, forced': 'USER ASSERT FAILED: payload intact'}),
     'exit 1', True),
    ('a different failed check', 'MIXED',
     output({'membarrier, normal': 'LIVELOCK',
             'membarrier, forced': 'USER ASSERT FAILED: chain complete'}),
     'exit 1', False),
    ('an undocumented fault', 'OTHER', output(RACE), 'exit 1', False),
    ('no fault, everything holds, exit 0', None, output({}), 'exit 0',
     True),
    ('no fault, exit 1', None, output({}), 'exit 1', False),
    ('no fault, a violation printed', None,
     output({'fence, normal': 'DATA RACE'}), 'exit 0', False),
]


def stand_in(out, end):
    """Source of a program that prints @out and ends as @end says."""
    if end == 'segv':
        tail = 'os.kill(os.getpid(), signal.SIGSEGV)'
    else:
        tail = f'sys.exit({int(end.split()[1])})'
    return (f'import os, signal, sys\n'
            f'sys.stdout.write({out!r})\n'
            f'sys.stdout.flush()\n'
            f'{tail}\n')


def main():
    verdict = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        doc = os.path.join(tmp, 'doc.md')
        with open(doc, 'w', encoding='utf-8') as f:
            f.write(DOC)
        for i, (desc, fault, out, end, accept) in enumerate(CASES):
            prog = os.path.join(tmp, f'case{i}.py')
            with open(prog, 'w', encoding='utf-8') as f:
                f.write(stand_in(out, end))
            cmd = [sys.executable, verdict, '--doc', doc, '--model',
                   'model-x']
            if fault:
                cmd += ['--fault', fault]
            cmd += ['--', sys.executable, prog]
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            got = p.returncode == 0
            ok = got == accept and p.returncode in (0, 1)
            failures += not ok
            print(f'{"ok  " if ok else "BAD "} {desc}: '
                  f'{"accepted" if got else "rejected"} '
                  f'(exit {p.returncode})', file=sys.stderr)
            if not ok:
                sys.stderr.write(p.stdout + p.stderr)
    if failures:
        print(f'selftest: {failures} of {len(CASES)} cases judged wrongly')
        return 1
    print(f'selftest: {len(CASES)} cases passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
