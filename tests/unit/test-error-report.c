/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * error_report(), warn_report(), info_report(): one line on stderr in
 * QEMU's format, "<prgname>: [warning: |info: ]<message>", no prefix
 * without a program name, and the _once variants print once.  Also
 * qemu_get_thread_id(), the other osdep helper the RCU core reports with.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/thread.h"

static void test_levels(void)
{
    if (g_test_subprocess()) {
        error_init("/usr/bin/some-prog");
        error_report("e %d", 1);
        warn_report("w %s", "two");
        info_report("i %u", 3u);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("");
    g_test_trap_assert_stderr("some-prog: e 1\n"
                              "some-prog: warning: w two\n"
                              "some-prog: info: i 3\n");
}

static void test_no_prgname(void)
{
    if (g_test_subprocess()) {
        g_set_prgname(NULL);
        warn_report("bare");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("warning: bare\n");
}

static void report_twice(void)
{
    for (int i = 0; i < 2; i++) {
        warn_report_once("once %d", i);
    }
}

static void test_once(void)
{
    if (g_test_subprocess()) {
        error_init("p");
        report_twice();
        g_assert_true(error_report_once("e"));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("p: warning: once 0\np: e\n");
}

static void *thread_id_of(void *arg)
{
    *(int *)arg = qemu_get_thread_id();
    return NULL;
}

static void test_thread_id(void)
{
    QemuThread t;
    int other = 0;

    g_assert_cmpint(qemu_get_thread_id(), ==, getpid());
    qemu_thread_create(&t, "tid", thread_id_of, &other, QEMU_THREAD_JOINABLE);
    qemu_thread_join(&t);
    g_assert_cmpint(other, >, 0);
    g_assert_cmpint(other, !=, getpid());
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error-report/levels", test_levels);
    g_test_add_func("/error-report/no-prgname", test_no_prgname);
    g_test_add_func("/error-report/once", test_once);
    g_test_add_func("/osdep/thread-id", test_thread_id);
    return g_test_run();
}
