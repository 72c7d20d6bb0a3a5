/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * qemu-rcu extensions beyond QEMU's RCU API: statistics, tunables,
 * forcing and polling grace periods, quiescing blocked threads, and the
 * BQL hook.  Nothing here changes the behaviour of "qemu/rcu.h" unless
 * it is called.
 */
#ifndef QEMU_RCU_EXT_H
#define QEMU_RCU_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counters since start-up (or since the last fork, in a child). */
typedef struct RcuStats {
    uint64_t grace_periods;           /* completed synchronize_rcu() */
    uint64_t forced_grace_periods;    /* of those, entered forced state */
    uint64_t expedited_grace_periods; /* of those, forced from the start */
    uint64_t force_rcu_notifier_calls;/* notifiers fired */
    uint64_t callbacks_queued;
    uint64_t callbacks_run;
    uint64_t malloc_trims;
    uint64_t membarrier_calls;        /* MEMBARRIER_CMD_PRIVATE_EXPEDITED */
    uint64_t membarriers_skipped;     /* no online reader needed one */
    uint64_t stall_warnings;
    uint64_t max_grace_period_ns;     /* longest wait for readers */
} RcuStats;

/*
 * The size argument lets RcuStats grow at its end without breaking
 * programs built against an older, shorter one (docs/abi.md).
 */
void rcu_get_stats_sized(RcuStats *stats, size_t size);
#define rcu_get_stats(stats) rcu_get_stats_sized((stats), sizeof(*(stats)))

/*
 * d = after - before, counter by counter; max_grace_period_ns is the
 * process-wide maximum and is copied from @after.  Inline, so that it
 * only ever touches the caller's own RcuStats layout.
 */
static inline void rcu_stats_diff(RcuStats *d, const RcuStats *after,
                                  const RcuStats *before)
{
    d->grace_periods = after->grace_periods - before->grace_periods;
    d->forced_grace_periods =
        after->forced_grace_periods - before->forced_grace_periods;
    d->expedited_grace_periods =
        after->expedited_grace_periods - before->expedited_grace_periods;
    d->force_rcu_notifier_calls =
        after->force_rcu_notifier_calls - before->force_rcu_notifier_calls;
    d->callbacks_queued = after->callbacks_queued - before->callbacks_queued;
    d->callbacks_run = after->callbacks_run - before->callbacks_run;
    d->malloc_trims = after->malloc_trims - before->malloc_trims;
    d->membarrier_calls = after->membarrier_calls - before->membarrier_calls;
    d->membarriers_skipped =
        after->membarriers_skipped - before->membarriers_skipped;
    d->stall_warnings = after->stall_warnings - before->stall_warnings;
    d->max_grace_period_ns = after->max_grace_period_ns;
}

/*
 * Tunables.  Defaults are the values of QEMU's unified force-quiescent-
 * state design: force after 30 pending callbacks or after 50 ms of
 * polling, polls at most 10 ms apart.  Environment variables of the
 * same name in upper case with a QEMU_RCU_ prefix (for example
 * QEMU_RCU_FORCE_AFTER_US=5000) override the defaults at start-up.
 */
typedef struct RcuTunables {
    unsigned force_callbacks;       /* pending callbacks that force */
    unsigned poll_max_us;           /* longest sleep between polls */
    unsigned force_after_us;        /* polling time before forcing */
    unsigned stall_timeout_ms;      /* stall warning threshold, 0 = off */
    unsigned trim_min_interval_ms;  /* least time between malloc_trim() */
    unsigned trim_idle_us;          /* idle time before trimming */
} RcuTunables;

/* Sized like rcu_get_stats(); fields a shorter struct lacks are kept. */
void rcu_get_tunables_sized(RcuTunables *t, size_t size);
void rcu_set_tunables_sized(const RcuTunables *t, size_t size);
#define rcu_get_tunables(t) rcu_get_tunables_sized((t), sizeof(*(t)))
#define rcu_set_tunables(t) rcu_set_tunables_sized((t), sizeof(*(t)))

/*
 * Makes the grace period in progress and the next one to start enter
 * the forced quiescent state at once (fire force_rcu notifiers, wake
 * readers), and every grace period after them until the callbacks
 * queued before the call have had theirs, so that such a callback is
 * never left to normal polling, even behind other writers.
 */
void force_rcu(void);

/* synchronize_rcu() that forces from the start. */
void synchronize_rcu_expedited(void);

/*
 * Polled grace periods.  A cookie from get_state_synchronize_rcu()
 * completes once a full grace period has elapsed after the call;
 * poll_state_synchronize_rcu() never reports completion early.
 * start_poll_synchronize_rcu() also makes sure such a grace period
 * will start without anybody blocking on it.
 */
unsigned long get_state_synchronize_rcu(void);
unsigned long start_poll_synchronize_rcu(void);
bool poll_state_synchronize_rcu(unsigned long cookie);
void cond_synchronize_rcu(unsigned long cookie);

/*
 * A registered thread that is about to block outside read-side critical
 * sections (in io_uring_enter(), poll(), a condition variable ...) can
 * go offline: grace periods then skip it and need no barrier from it.
 * rcu_thread_online() must be called before its next rcu_read_lock().
 * Neither may be called inside a read-side critical section.
 * rcu_quiesce() reports a quiescent state without going offline.
 */
void rcu_thread_offline(void);
void rcu_thread_online(void);
void rcu_quiesce(void);
bool rcu_thread_is_online(void);

/*
 * Replaces the standalone BQL with the application's own big lock.  Pass
 * NULL to go back to the built-in mutex.  Call it before any thread
 * holds the BQL.  Only in the standalone library (QEMU has its own).
 */
typedef struct BQLFunctions {
    void (*lock)(void);
    void (*unlock)(void);
    bool (*locked)(void);
} BQLFunctions;

void bql_set_lock_functions(const BQLFunctions *funcs);

/* Membarrier state; see "qemu/sys_membarrier.h". */
uint64_t qemu_membarrier_call_count(void);

#endif /* QEMU_RCU_EXT_H */
