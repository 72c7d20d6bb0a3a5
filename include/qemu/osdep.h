/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Minimal stand-in for QEMU's osdep.h: the C library, GLib and the
 * compiler helpers.  Include it first, as in QEMU.
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

/*
 * The library's own build (sources, tests, examples) has a generated
 * qemu-rcu-config.h with its CONFIG_* choices and compiles with
 * -D_GNU_SOURCE, as QEMU does.  Neither is installed: a program built
 * against the installed headers sees no build configuration.
 */
#if defined(__has_include)
#if __has_include("qemu-rcu-config.h")
#include "qemu-rcu-config.h"
#endif
#endif

/* Lets shared sources tell the standalone library from a QEMU tree. */
#define QEMU_RCU_STANDALONE 1

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "qemu/compiler.h"

#if LONG_MAX == INT32_MAX
#define HOST_LONG_BITS 32
#else
#define HOST_LONG_BITS 64
#endif

#ifndef MIN
#define MIN(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) (((a) > (b)) ? (a) : (b))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#endif

#define QEMU_IS_ALIGNED(n, m) (((n) % (m)) == 0)
#define ROUND_UP(n, d) (((n) + (d) - 1) / (d) * (d))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

/* The kernel's id for the calling thread (gettid() on Linux). */
int qemu_get_thread_id(void);

#endif /* QEMU_OSDEP_H */
