/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Read-copy-update, QEMU-compatible API.
 *
 * Readers bracket their accesses to RCU-protected data with
 * rcu_read_lock()/rcu_read_unlock() (nestable, inline, no atomic
 * read-modify-write, no shared-cache-line store).  Writers publish new
 * versions with qatomic_rcu_set() and reclaim old ones after a grace
 * period: synchronously with synchronize_rcu() or asynchronously with
 * call_rcu()/g_free_rcu(), whose callbacks run in the call_rcu thread
 * with the BQL held, in the order they were queued.
 *
 * Every thread that uses rcu_read_lock() must call rcu_register_thread()
 * first and rcu_unregister_thread() before it exits.  The thread that
 * runs the library's constructor (normally the main thread) is
 * registered automatically.
 *
 * Extensions beyond QEMU's API live in "qemu/rcu-ext.h".
 */
#ifndef QEMU_RCU_H
#define QEMU_RCU_H

#include "qemu/thread.h"
#include "qemu/queue.h"
#include "qemu/atomic.h"
#include "qemu/notify.h"
#include "qemu/sys_membarrier.h"
#include "qemu/coroutine-tls.h"

#ifdef DEBUG_RCU
#define rcu_assert(args...)    assert(args)
#else
#define rcu_assert(args...)
#endif

/*
 * Grace-period counter.  Bit 0 is always set so that a reader's snapshot
 * is never zero; on hosts with 32-bit longs the next bit is the phase
 * flipped twice per grace period, otherwise the counter just grows.
 */
extern unsigned long rcu_gp_ctr;

/*
 * Only rcu_read_lock() may need a fence.  Standalone, whether it does is
 * chosen at start-up (QEMU_MEMBARRIER_RUN_TIME), and rcu_read_lock()
 * learns the choice from the top bit of the rcu_gp_ctr value it loads
 * anyway, set before the first reader runs and never cleared
 * (docs/design.md, "The read side's barrier mode").  Inside QEMU
 * smp_mb_placeholder() makes the choice at build time and the bit is 0.
 */
#ifdef QEMU_MEMBARRIER_RUN_TIME
#define RCU_GP_FENCES        (1UL << (sizeof(unsigned long) * 8 - 1))
#define rcu_read_barrier()   barrier()
#else
#define RCU_GP_FENCES        0UL
#define rcu_read_barrier()   smp_mb_placeholder()
#endif

/* In waiting: a grace period sleeps until this reader leaves. */
#define RCU_READER_WAITING   1

/*
 * Part of QEMU's API; qemu-rcu initialises it but never waits on it (its
 * grace period sleeps on a private sleeper that rcu_read_unlock_wake()
 * wakes).
 */
extern QemuEvent rcu_gp_event;

struct rcu_reader_data {
    /* Written by the reader, read by synchronize_rcu(). */
    unsigned long ctr;
    /* RCU_READER_WAITING or 0. */
    uint8_t waiting;

    /* Private to the reader. */
    unsigned depth;

    /* The registry, protected by the registry lock. */
    QLIST_ENTRY(rcu_reader_data) node;

    /*
     * Called, in the thread that runs the grace period and with the
     * registry lock held, to ask this reader to leave its read-side
     * critical section.  They must only request the exit (set a flag,
     * kick the thread) and never block.  See docs/rcu.md.
     */
    NotifierList force_rcu;

    /* qemu-rcu extensions; nothing in QEMU looks at these. */
    bool registered;
    bool offline;
    int tid;
};

QEMU_DECLARE_CO_TLS(struct rcu_reader_data, rcu_reader)

/* Reports an rcu_read_unlock() without a matching lock and aborts. */
G_NORETURN void rcu_read_unlock_unbalanced(void) __attribute__((cold));

/*
 * Clears waiting and wakes the grace period that set it: the slow path
 * of rcu_read_unlock(), taken only in the forced quiescent state.  Not
 * declared cold: GCC would move its call out of the caller's loop, whose
 * tail then ran at 0.66 or 1.02 ns per section depending on the loop's
 * address on an AMD EPYC (docs/benchmarks.md).
 */
void rcu_read_unlock_wake(void);

/*
 * The outermost rcu_read_lock() and rcu_read_unlock() are written for a
 * signal handler that runs its own section in the middle of them
 * (docs/design.md, "Signal handlers"): depth changes before ctr on entry
 * and before ctr on exit, with compiler barriers that keep it so, and a
 * nested lock that finds no snapshot yet takes one itself.
 */
static inline void rcu_read_lock_snapshot(struct rcu_reader_data *p_rcu_reader)
{
    unsigned long ctr = qatomic_read(&rcu_gp_ctr);

    qatomic_set(&p_rcu_reader->ctr, ctr);

    /*
     * Order the store to ctr before the loads of RCU-protected pointers;
     * pairs with smp_mb_global() in synchronize_rcu().
     */
    if (unlikely(ctr & RCU_GP_FENCES)) {
        /* Without membarrier() the writer cannot order this CPU. */
        smp_mb();
    } else {
        rcu_read_barrier();
    }
}

static inline void rcu_read_lock(void)
{
    struct rcu_reader_data *p_rcu_reader = get_ptr_rcu_reader();
    unsigned depth = p_rcu_reader->depth;

    /*
     * depth is stored as a constant on the outermost lock and unlock, so
     * that back-to-back sections carry no load-add-store dependency from
     * one to the next through memory.
     */
    if (unlikely(depth > 0)) {
        p_rcu_reader->depth = depth + 1;
        /* In a signal handler that interrupted the outermost lock. */
        if (unlikely(!qatomic_read(&p_rcu_reader->ctr))) {
            rcu_read_lock_snapshot(p_rcu_reader);
        }
        return;
    }
    /* An offline or unregistered thread would miss the writer's barrier. */
    rcu_assert(p_rcu_reader->registered && !p_rcu_reader->offline);
    p_rcu_reader->depth = 1;
    signal_barrier();
    rcu_read_lock_snapshot(p_rcu_reader);
}

static inline void rcu_read_unlock(void)
{
    struct rcu_reader_data *p_rcu_reader = get_ptr_rcu_reader();
    unsigned depth = p_rcu_reader->depth;

    /* One branch leaves both nesting and the unbalanced case off the path. */
    if (unlikely(depth != 1)) {
        if (unlikely(depth == 0)) {
            rcu_read_unlock_unbalanced();
        }
        p_rcu_reader->depth = depth - 1;
        return;
    }
    /* The section's accesses stay before depth reads zero. */
    signal_barrier();
    p_rcu_reader->depth = 0;

    /*
     * The section's accesses happen before ctr reads zero; pairs with
     * the load-acquire of ctr in wait_for_readers().  The release also
     * keeps the store to depth before it.
     */
    qatomic_store_release(&p_rcu_reader->ctr, 0);

    /*
     * No fence orders the store to ctr before the load of waiting: with
     * membarrier() smp_mb_global() after the writer sets waiting does it;
     * with fences the writer looks at ctr again and never sleeps without
     * a timeout (docs/design.md, "Why the forced state never sleeps
     * through a wake-up").
     */
    barrier();
    if (unlikely(qatomic_read(&p_rcu_reader->waiting))) {
        rcu_read_unlock_wake();
    }
}

void synchronize_rcu(void);

void rcu_register_thread(void);
void rcu_unregister_thread(void);

/* fork() support is enabled at start-up; calls nest. */
void rcu_enable_atfork(void);
void rcu_disable_atfork(void);

struct rcu_head;
typedef void RCUCBFunc(struct rcu_head *head);

struct rcu_head {
    struct rcu_head *next;
    RCUCBFunc *func;
};

void call_rcu1(struct rcu_head *head, RCUCBFunc *func);

/*
 * Waits until every callback queued before the call has run; returns at
 * once if they all have, and never waits for a grace period of its own,
 * only for theirs.  Drops the BQL while waiting if the caller holds it,
 * and takes it again.
 */
void drain_call_rcu(void);

/*
 * call_rcu(obj, fn, field): run fn(obj) after a grace period.  The
 * rcu_head must be the first member of *obj, and fn must take a pointer
 * to obj's type; both are checked at compile time.
 */
#define call_rcu(head, func, field)                                       \
    call_rcu1(({                                                          \
        char __attribute__((unused))                                      \
            rcu_head_must_be_first[-offsetof(__typeof__(*(head)),         \
                                             field)],                     \
            rcu_func_type_mismatch =                                      \
                (func) - (void (*)(__typeof__(head)))(func);              \
        &(head)->field;                                                   \
    }), (RCUCBFunc *)(func))

/* g_free(obj) after a grace period; same rule for the rcu_head. */
#define g_free_rcu(obj, field)                                            \
    call_rcu1(({                                                          \
        char __attribute__((unused))                                      \
            rcu_head_must_be_first[-offsetof(__typeof__(*(obj)),          \
                                             field)];                     \
        &(obj)->field;                                                    \
    }), (RCUCBFunc *)g_free)

typedef void RCUReadAuto;

static inline RCUReadAuto *rcu_read_auto_lock(void)
{
    rcu_read_lock();
    /* Any non-NULL value makes g_autoptr call the cleanup. */
    return (RCUReadAuto *)(uintptr_t)1;
}

static inline void rcu_read_auto_unlock(RCUReadAuto *r)
{
    (void)r;
    rcu_read_unlock();
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RCUReadAuto, rcu_read_auto_unlock)

#define WITH_RCU_READ_LOCK_GUARD() \
    WITH_RCU_READ_LOCK_GUARD_(glue(_rcu_read_auto, __COUNTER__))

#define WITH_RCU_READ_LOCK_GUARD_(var)                                    \
    for (g_autoptr(RCUReadAuto) var = rcu_read_auto_lock();               \
         (var); rcu_read_auto_unlock(var), (var) = NULL)

#define RCU_READ_LOCK_GUARD()                                             \
    g_autoptr(RCUReadAuto) _rcu_read_auto __attribute__((unused))         \
        = rcu_read_auto_lock()

/*
 * Force-RCU notifiers of the calling thread: see the force_rcu field of
 * struct rcu_reader_data.
 */
void rcu_add_force_rcu_notifier(Notifier *n);
void rcu_remove_force_rcu_notifier(Notifier *n);

#endif /* QEMU_RCU_H */
