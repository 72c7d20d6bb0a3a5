/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small io_uring worker pool whose workers go offline for RCU while
 * they block in io_uring_submit_and_wait() (docs/blocking-threads.md).
 *
 * Each worker owns a ring and a pipe.  A read of the pipe is always
 * outstanding, so a worker with nothing to do is parked in the kernel;
 * every message (a 32-bit key) that a feeder writes to the pipe wakes it
 * and makes it read a burst of blocks from a temporary file.  Every
 * completion, pipe or file, looks up an RCU-protected table.
 */
#ifndef URING_POOL_H
#define URING_POOL_H

#include "qemu/osdep.h"
#include "qemu/thread.h"

/*
 * The RCU-protected table.  An update replaces one entry, waits for a
 * grace period and poisons the old one; poisoned entries stay allocated
 * (in a graveyard freed long after) so that a reader which still held
 * one reads poison rather than freed memory, and says so.
 */
typedef struct UringEntry {
    uint64_t magic;
    uint64_t generation;
    uint64_t value;         /* uring_entry_value(key, generation) */
    uint32_t key;
} UringEntry;

typedef struct UringTable {
    UringEntry **slots;     /* RCU-protected pointers */
    unsigned nslots;
    QemuMutex lock;         /* serialises updates and the graveyard */
    GPtrArray *graveyard;   /* poisoned entries */
    uint64_t updates;
} UringTable;

UringTable *uring_table_new(unsigned nslots);
void uring_table_free(UringTable *t);

/* Replaces the entry for slot, then synchronize_rcu() and poison. */
void uring_table_update(UringTable *t, unsigned slot);

/*
 * Looks up key inside a read-side critical section (taken by the
 * caller).  Returns false if the entry was already reclaimed: that is
 * an RCU bug, never a normal outcome.  spin_ns keeps the section open
 * that long after the first check, then checks again, to widen the
 * window in which a premature reclaim would be seen.
 */
bool uring_table_lookup(UringTable *t, uint32_t key, unsigned spin_ns,
                        uint64_t *value);

typedef struct UringPoolConfig {
    unsigned workers;
    bool quiesce;           /* offline around io_uring_submit_and_wait() */
    unsigned burst;         /* file reads per pipe message */
    unsigned spin_ns;       /* see uring_table_lookup() */
    const char *file_dir;   /* where the temporary file goes, NULL: $TMPDIR */
} UringPoolConfig;

typedef struct UringPoolStats {
    uint64_t requests;      /* completions reaped, pipe and file */
    uint64_t messages;      /* keys received through the pipes */
    uint64_t file_reads;
    uint64_t bytes;
    uint64_t lookups;
    uint64_t reclaimed_seen;/* lookups that found poison: must stay 0 */
    uint64_t waits;         /* io_uring_submit_and_wait() calls */
    uint64_t parked_ns;     /* waiting with no file read in flight */
    uint64_t io_errors;     /* short reads or wrong data */
    uint64_t kicks;         /* force_rcu notifier calls */
} UringPoolStats;

typedef struct UringPool UringPool;

/*
 * Creates the rings, the pipes and the temporary file, then starts the
 * workers.  Returns 0, or a negative errno (from io_uring_queue_init()
 * when the kernel has no io_uring or forbids it: -ENOSYS, -EPERM).
 */
int uring_pool_start(UringPool **pool, const UringPoolConfig *cfg,
                     UringTable *table);

/*
 * Drains outstanding I/O, joins the workers and frees everything.  Stop
 * any feeder first.
 */
void uring_pool_stop(UringPool *pool);

/* Sends one key to the next worker, round robin; any thread. */
void uring_pool_feed(UringPool *pool, uint32_t key);

/*
 * Workers currently inside io_uring_submit_and_wait() with no file read
 * in flight, i.e. waiting for their pipe only.
 */
unsigned uring_pool_parked(UringPool *pool);

void uring_pool_get_stats(UringPool *pool, UringPoolStats *stats);

/*
 * A thread that feeds keys at rate per second in total (0: none), pacing
 * itself with absolute sleeps and catching up in batches.
 */
typedef struct UringFeeder UringFeeder;

UringFeeder *uring_feeder_start(UringPool *pool, unsigned rate);
/* Returns the number of keys sent. */
uint64_t uring_feeder_stop(UringFeeder *feeder);

int64_t uring_clock_ns(void);

#endif /* URING_POOL_H */
