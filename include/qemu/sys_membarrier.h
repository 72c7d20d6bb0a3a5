/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Process-wide memory barriers for RCU, QEMU-compatible names.
 *
 * smp_mb_placeholder() stands on the read side where a full barrier is
 * needed only if the writer cannot force one on the reader's CPU;
 * smp_mb_global() is the writer's side of that pairing.  When the kernel
 * offers MEMBARRIER_CMD_PRIVATE_EXPEDITED (checked at run time by
 * smp_mb_global_init()), smp_mb_global() interrupts every CPU running a
 * thread of this process and the placeholder is a compiler barrier;
 * otherwise both sides execute smp_mb().
 */
#ifndef QEMU_SYS_MEMBARRIER_H
#define QEMU_SYS_MEMBARRIER_H

#include <stdbool.h>

#include "qemu/atomic.h"

/*
 * Written once by smp_mb_global_init(), before any reader can run;
 * always false in a build without membarrier support.  Tested at run
 * time even then, so that programs built against the installed header
 * need not know how the library was configured.
 */
extern bool qemu_membarrier_active;

#define smp_mb_placeholder() do {                                   \
        if (likely(qemu_membarrier_active)) {                       \
            barrier();                                              \
        } else {                                                    \
            smp_mb();                                               \
        }                                                           \
    } while (0)

/*
 * The choice is made at run time; qemu/rcu.h's read side then reads it
 * from values it loads anyway instead of testing the flag.  QEMU's own
 * header, which chooses at build time, does not define this.
 */
#define QEMU_MEMBARRIER_RUN_TIME 1

void smp_mb_global_init(void);
void smp_mb_global(void);

/*
 * True when smp_mb_global() uses the membarrier system call.  Also lets
 * tests force the fence fallback (QEMU_RCU_MEMBARRIER=0 in the
 * environment has the same effect at start-up).
 */
bool qemu_membarrier_enabled(void);

#endif /* QEMU_SYS_MEMBARRIER_H */
