/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Hooks that only the QEMU_RCU_TEST_HOOKS build of util/rcu.c has, for
 * tests/unit/test-rcu-sequences.c; never installed or exported.
 */
#ifndef QEMU_RCU_TEST_HOOKS_H
#define QEMU_RCU_TEST_HOOKS_H

/*
 * Moves every sequence counter on by an even @n, as if n callbacks had
 * been queued and run and n / 2 grace periods had passed, but leaves the
 * force_rcu() targets where they are.  Call with no callback queued or
 * running.
 */
void rcu_test_skip_sequences(unsigned long n);

#endif /* QEMU_RCU_TEST_HOOKS_H */
