/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Process-wide memory barrier: MEMBARRIER_CMD_PRIVATE_EXPEDITED when the
 * kernel has it, a local full fence otherwise.  See sys_membarrier.h.
 */
#include "qemu/osdep.h"
#include "qemu/sys_membarrier.h"
#include "qemu/rcu-ext.h"

#ifdef CONFIG_MEMBARRIER
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

bool qemu_membarrier_active;

/* A cache line of its own: readers load qemu_membarrier_active. */
static struct {
    uint64_t calls;
} QEMU_ALIGNED(64) membarrier_stats;

static bool env_disables_membarrier(void)
{
    const char *v = getenv("QEMU_RCU_MEMBARRIER");

    return v && (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no"));
}

void smp_mb_global_init(void)
{
#ifdef CONFIG_MEMBARRIER
    long cmds;

    if (env_disables_membarrier()) {
        return;
    }
    cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
        syscall(SYS_membarrier,
                MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) < 0) {
        return;
    }
    /*
     * Published before any thread other than the constructor's exists,
     * so readers never see it change under them.
     */
    qemu_membarrier_active = true;
#else
    (void)env_disables_membarrier;
#endif
}

void smp_mb_global(void)
{
#ifdef CONFIG_MEMBARRIER
    if (likely(qemu_membarrier_active)) {
        /*
         * Every running thread of this process executes a full barrier;
         * pairs with the barrier()-only smp_mb_placeholder() in readers.
         */
        __atomic_fetch_add(&membarrier_stats.calls, 1, __ATOMIC_RELAXED);
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) < 0) {
            fprintf(stderr, "qemu-rcu: membarrier failed: %s\n",
                    strerror(errno));
            abort();
        }
        return;
    }
#endif
    /* Pairs with the smp_mb() that smp_mb_placeholder() is in readers. */
    smp_mb();
}

bool qemu_membarrier_enabled(void)
{
#ifdef CONFIG_MEMBARRIER
    return qemu_membarrier_active;
#else
    return false;
#endif
}

uint64_t qemu_membarrier_call_count(void)
{
    return __atomic_load_n(&membarrier_stats.calls, __ATOMIC_RELAXED);
}
