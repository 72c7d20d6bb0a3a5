/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io_uring workers that go offline for RCU while they block in
 * io_uring_submit_and_wait() (docs/blocking-threads.md): the
 * quiesce-before-blocking pattern of OpenVMM's pal_uring quiesce PR.
 *
 * Each worker owns a ring with a read of its pipe always outstanding,
 * so an idle worker sleeps in the kernel.  Every 32-bit key written to
 * the pipe wakes it; it looks the key up in an RCU-protected table.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#ifndef URING_POOL_H
#define URING_POOL_H

#include "qemu/osdep.h"
#include "qemu/thread.h"

/*
 * The RCU-protected table.  An update replaces an entry, waits for a
 * grace period and poisons the old one, which stays allocated until the
 * table is freed: a reader that wrongly still holds it reads poison
 * rather than freed memory, and counts it in reclaimed_seen.
 */
typedef struct UringTable UringTable;

UringTable *uring_table_new(unsigned nslots);
void uring_table_free(UringTable *t);
/* Replaces the entry of @slot, synchronize_rcu(), poisons the old one. */
void uring_table_update(UringTable *t, unsigned slot);

typedef struct UringPoolStats {
    uint64_t messages;          /* keys received */
    uint64_t lookups;
    uint64_t reclaimed_seen;    /* lookups that found poison: must stay 0 */
    uint64_t waits;             /* io_uring_submit_and_wait() calls */
    uint64_t kicks;             /* force_rcu notifier calls */
} UringPoolStats;

typedef struct UringPool UringPool;

/*
 * Starts @workers threads; with @quiesce they go offline around
 * io_uring_submit_and_wait().  A lookup keeps its read-side critical
 * section open @spin_ns longer and checks again, to widen the window in
 * which a premature reclaim would show.  Returns 0 or a negative errno
 * (-ENOSYS, -EPERM: the kernel has no io_uring or forbids it).
 */
int uring_pool_start(UringPool **pool, unsigned workers, bool quiesce,
                     unsigned spin_ns, UringTable *table);
void uring_pool_stop(UringPool *pool);

/* Sends @key to the next worker, round robin; any thread. */
void uring_pool_feed(UringPool *pool, uint32_t key);

/* Workers inside io_uring_submit_and_wait() right now. */
unsigned uring_pool_parked(UringPool *pool);

void uring_pool_get_stats(UringPool *pool, UringPoolStats *stats);

int64_t uring_clock_ns(void);

#endif /* URING_POOL_H */
