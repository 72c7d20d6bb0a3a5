/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * liburcu's memb flavour: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
 * when the kernel has it (read side compiler barriers), fences otherwise.
 */
#include <urcu/urcu-memb.h>

#define U(name)         urcu_memb_##name
#define BENCH_URCU_VAR  bench_urcu_memb
#define BENCH_URCU_NAME "urcu-memb"

static const char *bu_describe(void)
{
    return urcu_memb_has_sys_membarrier ?
           "membarrier, read side compiler barriers only" :
           "no membarrier: read side smp_mb()";
}

#include "bench-urcu-flavour.c.inc"
