/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/* liburcu's mb flavour: full fences on the read side, no system call. */
#include <urcu/urcu-mb.h>

#define U(name)         urcu_mb_##name
#define BENCH_URCU_VAR  bench_urcu_mb
#define BENCH_URCU_NAME "urcu-mb"

static const char *bu_describe(void)
{
    return "read side smp_mb()";
}

#include "bench-urcu-flavour.c.inc"
