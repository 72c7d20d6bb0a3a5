/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * liburcu's QSBR flavour: free read side, threads report quiescent
 * states (here every 256 reads or after each section) and go offline
 * when idle.
 */
#include <urcu/urcu-qsbr.h>

#define U(name)         urcu_qsbr_##name
#define BENCH_URCU_VAR  bench_urcu_qsbr
#define BENCH_URCU_NAME "urcu-qsbr"

static const char *bu_describe(void)
{
    return "quiescent-state based: read side free, explicit quiescent "
           "states";
}

#include "bench-urcu-flavour.c.inc"
