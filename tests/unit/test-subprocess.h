/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Running a test case in a subprocess with a time limit, for faults that
 * would hang or crash the test program, and checking fork() children.
 */
#ifndef QEMU_RCU_TEST_SUBPROCESS_H
#define QEMU_RCU_TEST_SUBPROCESS_H

#include <sys/wait.h>

#define SUBPROCESS_TIMEOUT_US (30 * G_USEC_PER_SEC)

/*
 * Runs the current test case again in a subprocess (where
 * g_test_subprocess() is true).  With @stderr_pattern it must fail with
 * a matching message, otherwise pass, within SUBPROCESS_TIMEOUT_US.
 */
static inline void run_in_subprocess(const char *stderr_pattern)
{
    g_test_trap_subprocess(NULL, SUBPROCESS_TIMEOUT_US, 0);
    if (stderr_pattern) {
        g_test_trap_assert_failed();
        g_test_trap_assert_stderr(stderr_pattern);
    } else {
        g_test_trap_assert_passed();
    }
}

/* Waits for @pid and returns its wait status. */
static inline int wait_status(pid_t pid)
{
    int status;

    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    return status;
}

/* Waits for a fork() child that must exit 0. */
static inline void wait_child(pid_t pid)
{
    int status = wait_status(pid);

    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

#endif /* QEMU_RCU_TEST_SUBPROCESS_H */
