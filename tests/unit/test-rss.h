/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Resident set size, for the malloc-trim tests and benchmarks; needs only
 * GLib, so QEMU's own rcu.c can be measured with it too.
 */
#ifndef QEMU_RCU_TEST_RSS_H
#define QEMU_RCU_TEST_RSS_H

#include <glib.h>
#include <stdio.h>
#include <unistd.h>

/* Resident set size in bytes, from /proc/self/statm; -1 on error. */
static inline long test_rss_bytes(void)
{
    g_autofree char *statm = NULL;
    long size, resident;

    if (!g_file_get_contents("/proc/self/statm", &statm, NULL, NULL) ||
        sscanf(statm, "%ld %ld", &size, &resident) != 2) {
        return -1;
    }
    return resident * sysconf(_SC_PAGESIZE);
}

#endif /* QEMU_RCU_TEST_RSS_H */
