/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Read-copy-update with a unified force-quiescent-state machine.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 *
 * A grace period waits for readers in one of two states (RcuWaitState,
 * docs/design.md), following QEMU commit 55d98e3ede "rcu: Unify force
 * quiescent state":
 *
 *  - normal: scan the readers, set the quiescent ones aside, sleep and
 *    scan again.  Readers are never asked for anything, so their
 *    rcu_read_unlock() never leaves its fast path.  Polls start a few
 *    microseconds apart and back off to poll_max_us (10 ms).
 *
 *  - forced: entered at most once per grace period, when enough
 *    callbacks are pending (30), when polling has lasted force_after_us
 *    (50 ms, five 10 ms polls), while drain_call_rcu() or an expedited
 *    grace period is waiting, or after force_rcu().  The waiting flags of
 *    the remaining readers are set, the force_rcu notifiers of those a
 *    scan finds inside fire, and the writer sleeps until the last of them
 *    leaves.
 *
 * The same file builds standalone (QEMU_RCU_STANDALONE, defined by the
 * library's qemu/osdep.h) and inside a QEMU tree, where QEMU's own
 * headers and BQL are used.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/atomic.h"
#include "qemu/thread.h"
#include "qemu/main-loop.h"
#include "qemu/error-report.h"
#include "qemu/cutils.h"
#include "qemu/stats64.h"
#if defined(CONFIG_MALLOC_TRIM)
#include <malloc.h>
#endif
#ifndef QEMU_RCU_STANDALONE
#include "exec/replay-core.h"
#endif
#include <sched.h>
#if defined(CONFIG_LINUX)
#include <sys/syscall.h>
#endif

/*
 * Bit 0 of a reader's ctr is always set while it is inside a critical
 * section; the grace-period count starts at bit 1.
 */
#define RCU_GP_LOCKED (1UL << 0)
#define RCU_GP_CTR    (1UL << 1)

/* Shortest normal-state poll interval; it doubles up to poll_max_us. */
#define RCU_FIRST_POLL_NS 2000
/* Below this a poll spins with sched_yield() instead of sleeping. */
#define RCU_SPIN_POLL_NS  50000
/*
 * With fences, how long a forced pass looks again for a reader that left
 * without waking it, and its first timed sleep, which doubles up to
 * poll_max_us (rcu_wait_recheck()).
 */
#define RCU_RECHECK_NS       2000
#define RCU_FIRST_RECHECK_NS 1000000
#define RCU_TRIM_PAD      (4 * 1024 * 1024)
/* How long a forced pass watches the readers it kicked before it arms. */
#define RCU_KICK_WATCH_NS 20000
/* How long the call_rcu thread looks for more work before sleeping. */
#define RCU_IDLE_SPIN_NS  20000
/*
 * How long, and up to how many callbacks, a batch may grow in a stream,
 * and how long the queue may stand still before the stream counts as
 * over.
 */
#define RCU_GROW_NS       100000
#define RCU_GROW_BATCH    8192
#define RCU_GROW_GAP_NS   4000
/* The call_rcu thread's scheduler slice: the shortest Linux grants. */
#define RCU_THREAD_SLICE_NS 100000

/*
 * Hosts whose memory model is TSO: stores become visible in program order
 * and never ahead of earlier loads, and loads are not reordered with
 * loads.  There the writer's update reaches memory before its new
 * rcu_gp_ctr without a fence (B1), and once the first scan of a grace
 * period is ordered by a global barrier, later normal-state polls and
 * the end of the grace period (B4) need only compiler barriers.
 * tests/model/model-tso-grace-period.cpp checks this under x86-TSO.
 */
#if defined(__i386__) || defined(__x86_64__) || defined(__s390x__)
#define RCU_HOST_TSO 1
#else
#define RCU_HOST_TSO 0
#endif

unsigned long rcu_gp_ctr = RCU_GP_LOCKED;

/* Kept for QEMU's API; the grace period sleeps on rcu_gp_sleeper. */
QemuEvent rcu_gp_event;

QEMU_DEFINE_CO_TLS(struct rcu_reader_data, rcu_reader)

typedef QLIST_HEAD(, rcu_reader_data) ThreadList;

/* rcu_sync_lock serialises grace periods and nests outside the registry. */
static QemuMutex rcu_sync_lock;
static QemuMutex rcu_registry_lock;
static ThreadList registry = QLIST_HEAD_INITIALIZER(registry);

/*
 * A drain_call_rcu() waiting for rcu_consumer.ran to reach its target.
 * The call_rcu thread sets done and unlinks it after the batch that
 * does.
 */
typedef struct RcuDrainer {
    unsigned long target;
    QemuEvent done;
    QSLIST_ENTRY(RcuDrainer) next;
} RcuDrainer;

/* Nests inside no other lock. */
static QemuMutex rcu_drain_lock;
static QSLIST_HEAD(, RcuDrainer) rcu_drainers;

static RcuTunables tunables = {
    .force_callbacks = 30,
    .poll_max_us = 10000,
    .force_after_us = 50000,
    .stall_timeout_ms = 10000,
    .trim_min_interval_ms = 1000,
    .trim_idle_us = 50000,
};

/* Why the current grace period should enter the forced state. */
static int in_drain_call_rcu;
static int rcu_expedite_count;
/*
 * Every sequence counter starts just short of its wrap-around, as Linux's
 * gp_seq does, so that a comparison that is not wrap-safe fails within
 * the first thousand grace periods or callbacks rather than after 2^31
 * of them on a 32-bit host.  A target that can fall behind its counter
 * (rcu_force_until, rcu_force_cb_until) is dragged along, so that it
 * never ends up 2^(BITS-1) behind and reads as the future.
 */
#define RCU_SEQ_START ((unsigned long)-1000)

/*
 * Grace-period sequence for the polled API: odd while a grace period
 * runs, incremented at its start and at its end.  Written under
 * rcu_sync_lock.
 */
static unsigned long rcu_gp_seq = RCU_SEQ_START;
/* force_rcu(): every grace period ending at or before this seq forces. */
static unsigned long rcu_force_until = RCU_SEQ_START;
/*
 * force_rcu() also forces every grace period until the call_rcu thread
 * has finished one for each callback queued before the call, because
 * that grace period may have to wait behind other writers' ones.  Both
 * count callbacks in the numbering of rcu_calls_announced().
 */
static unsigned long rcu_force_cb_until = RCU_SEQ_START;
static unsigned long rcu_cb_gp_done = RCU_SEQ_START;

/*
 * Registered threads that are online, i.e. may enter a critical section.
 * Variables written often live in cache lines of their own, away from
 * rcu_gp_ctr, which every rcu_read_lock() loads.
 */
static struct {
    int count;
} QEMU_ALIGNED(64) rcu_online;

/*
 * The callback queue, a wait-free multi-producer stack that the consumer
 * reverses (docs/design.md, "The callback queue"): a producer announces
 * itself (in its producer slot, or in enq), swaps its node into newest
 * and then points the node's next at the node it displaced.  The
 * call_rcu thread takes the whole stack as its next batch, oldest first,
 * so the callbacks it runs after a grace period are exactly those queued
 * before the grace period started, in the order of the swaps.  Producers
 * write only this cache line, their slot and their own node.
 */
static struct {
    /* The last node swapped in; its next leads to older ones. */
    struct rcu_head *newest;
    /* call_rcu1() calls announced outside producer slots. */
    unsigned long enq;
    /*
     * rcu_calls_announced() at start-up or at the last fork, for the
     * statistics.
     */
    unsigned long enq_base;
} QEMU_ALIGNED(64) cbq = {
    .enq = RCU_SEQ_START, .enq_base = RCU_SEQ_START,
};

/*
 * A registered thread announces its call_rcu1() calls with a plain store
 * to a slot of its own instead of a read-modify-write of cbq.enq, the
 * second atomic instruction of every call (docs/design.md, "The callback
 * queue").  A thread takes a slot when it registers and gives it back
 * when it unregisters; the count stays with the slot, so that the sum
 * over all slots and cbq.enq only grows.  Threads beyond the slots, and
 * calls nested in a signal handler, announce in cbq.enq, as every call
 * does without membarrier.
 */
#define RCU_PRODUCER_SLOTS 64

typedef struct RcuProducerSlot {
    /* Calls announced in this slot by all its owners. */
    unsigned long calls;
    bool owned;
    /*
     * The owner's view for the force_callbacks trigger: calls since it
     * last saw rcu_consumer.done move.
     */
    unsigned long done_seen;
    unsigned long calls_at_done;
} QEMU_ALIGNED(64) RcuProducerSlot;

static RcuProducerSlot rcu_producer_slots[RCU_PRODUCER_SLOTS];
/* Slots ever owned: the sums read no further. */
static unsigned long rcu_producer_slots_used;
static __thread RcuProducerSlot *rcu_producer_slot;

/*
 * The next of a node swapped in whose link to the older nodes is not
 * stored yet.  Never run.
 */
static struct rcu_head rcu_link_pending;

/*
 * The call_rcu thread's side, written once per batch.  QEMU's
 * rcu_call_count is enq - done: queued and still waiting for a grace
 * period.
 */
static struct {
    /* Nodes taken from the queue into batches. */
    unsigned long taken;
    /* Callbacks whose grace period is over. */
    unsigned long done;
    /* Callbacks that have run: drain_call_rcu() has nothing to wait for. */
    unsigned long ran;
    /* Inside rcu_take_batch(); fork() waits until it is over. */
    bool taking;
} QEMU_ALIGNED(64) rcu_consumer = {
    .taken = RCU_SEQ_START, .done = RCU_SEQ_START, .ran = RCU_SEQ_START,
};

/*
 * The unrun rest of the batch, written once per callback; a fork child
 * queues it again.
 */
static struct {
    struct rcu_head *head;
} QEMU_ALIGNED(64) rcu_batch;

/*
 * fork() closes the gate while its prepare handler waits for the
 * enqueues in flight, so that the child inherits a complete queue
 * (docs/design.md, "fork()").  Read by every call_rcu1(), written only
 * around fork().
 */
static struct {
    /* Prepare handlers in progress. */
    unsigned long closed;
    /* Producers waiting for the gate to open again. */
    unsigned long parked;
} QEMU_ALIGNED(64) rcu_fork_gate;

/* call_rcu1() calls in progress in this thread (signal handlers nest). */
static __thread unsigned rcu_enqueue_depth;

static QemuEvent rcu_call_ready_event;

static __thread bool rcu_in_grace_period;
/*
 * A fork child starts its call_rcu thread with its first callback, so
 * that a child that only execs starts no thread.
 */
static bool rcu_call_rcu_thread_missing;
static void rcu_start_call_rcu_thread(void);
static __thread bool rcu_is_call_rcu_thread;
/* Set while this thread runs a batch of callbacks. */
static __thread bool rcu_running_callbacks;

static struct {
    Stat64 grace_periods;
    Stat64 forced_grace_periods;
    Stat64 expedited_grace_periods;
    Stat64 force_rcu_notifier_calls;
    Stat64 callbacks_run;
    Stat64 malloc_trims;
    Stat64 membarriers_skipped;
    Stat64 stall_warnings;
    Stat64 max_grace_period_ns;
} QEMU_ALIGNED(64) stats;

/*
 * For statistics only the grace period in progress writes, under
 * rcu_sync_lock: a plain read-modify-write spares an atomic one.
 */
static void rcu_stat_inc_locked(Stat64 *s)
{
    stat64_set(s, stat64_get(s) + 1);
}

#ifdef QEMU_RCU_STANDALONE
/* Membarrier calls made before the last fork, in a fork child. */
static uint64_t rcu_membarrier_calls_base;
#endif

static G_NORETURN G_GNUC_PRINTF(1, 2) void rcu_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
    abort();
}

void rcu_read_unlock_unbalanced(void)
{
    rcu_fatal("rcu_read_unlock() without a matching rcu_read_lock()");
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * A wake-up flag with a timed wait.  Standalone it is a QemuEvent, which
 * the support layer can wait on with a timeout; QEMU's QemuEvent has no
 * timed wait, so inside QEMU it is a condition variable.  The unit tests
 * also build the standalone library with QEMU_RCU_CONDVAR_SLEEPER to run
 * QEMU's variant.
 */
#if defined(QEMU_RCU_STANDALONE) && !defined(QEMU_RCU_CONDVAR_SLEEPER)
typedef QemuEvent RcuSleeper;

static void rcu_sleeper_init(RcuSleeper *s)
{
    qemu_event_init(s, false);
}

static void rcu_sleeper_reset(RcuSleeper *s)
{
    qemu_event_reset(s);
}

static void rcu_sleeper_wake(RcuSleeper *s)
{
    qemu_event_set(s);
}

/* Sleeps until woken, or for @ns nanoseconds if @ns >= 0. */
static void rcu_sleeper_wait(RcuSleeper *s, int64_t ns)
{
    if (ns < 0) {
        qemu_event_wait(s);
    } else {
        qemu_event_timedwait_ns(s, ns);
    }
}
#else
typedef struct RcuSleeper {
    QemuMutex lock;
    QemuCond cond;
    bool woken;
} RcuSleeper;

static void rcu_sleeper_init(RcuSleeper *s)
{
    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->cond);
    s->woken = false;
}

/*
 * A wake before the reset is lost, but its waker stored what the sleeper
 * waits for (ctr = 0, a force request) before taking the lock, and the
 * sleeper checks again after the reset's lock acquisition.
 */
static void rcu_sleeper_reset(RcuSleeper *s)
{
    qemu_mutex_lock(&s->lock);
    s->woken = false;
    qemu_mutex_unlock(&s->lock);
}

/*
 * Broadcasts after unlocking: a sleeper woken while the waker still holds
 * the lock tends to preempt it on its CPU only to block on that lock, two
 * more context switches on the reader's rcu_read_unlock() path.  A sleeper
 * that checked woken under the lock before the store is already on the
 * condition variable when the broadcast comes.
 */
static void rcu_sleeper_wake(RcuSleeper *s)
{
    qemu_mutex_lock(&s->lock);
    s->woken = true;
    qemu_mutex_unlock(&s->lock);
    qemu_cond_broadcast(&s->cond);
}

static void rcu_sleeper_wait(RcuSleeper *s, int64_t ns)
{
    qemu_mutex_lock(&s->lock);
    if (s->woken) {
        /* Nothing to wait for. */
    } else if (ns < 0) {
        qemu_cond_wait(&s->cond, &s->lock);
    } else {
        qemu_cond_timedwait(&s->cond, &s->lock,
                            MIN(DIV_ROUND_UP(ns, 1000000), INT_MAX));
    }
    qemu_mutex_unlock(&s->lock);
}
#endif

/* Woken by a reader that leaves its section and finds waiting set. */
static RcuSleeper rcu_gp_sleeper;
/* Cuts a normal-state poll short when the grace period must force. */
static RcuSleeper rcu_poll_sleeper;

/*
 * The one way to ask a grace period in progress to re-evaluate
 * rcu_should_force() now rather than at the end of its current poll.
 */
static void rcu_request_force(void)
{
    rcu_sleeper_wake(&rcu_poll_sleeper);
}

void rcu_read_unlock_wake(void)
{
    qatomic_set(&get_ptr_rcu_reader()->waiting, 0);
    rcu_sleeper_wake(&rcu_gp_sleeper);
    /*
     * The woken grace period is often queued behind this thread on this
     * CPU, where it would wait for the rest of our slice, up to a tick
     * (docs/vgpu-unmap.md); give it the CPU now.
     */
    sched_yield();
}

/*
 * Sequentially consistent load: the second half of a store-buffering
 * handshake whose first half is a seq_cst read-modify-write or store
 * (the fork gate).  A plain load on x86, a load-acquire on Arm.
 */
#define rcu_load_seqcst(ptr) __atomic_load_n(ptr, __ATOMIC_SEQ_CST)

/*
 * Waits for another thread to finish a few instructions of work (a link
 * in flight, a batch being taken, a fork): spins briefly, then yields,
 * then sleeps, so that a real-time thread never livelocks against a
 * preempted thread on its own CPU, which sched_yield() would not let run.
 */
static void rcu_backoff(unsigned *round)
{
    unsigned r = (*round)++;

    if (r < 64) {
        cpu_relax();
    } else if (r < 72) {
        sched_yield();
    } else {
        g_usleep(50);
    }
}

/*
 * A producer that finds the fork gate closed waits outside the queue
 * until the fork is over.  It looks at the gate again after leaving the
 * parked count, in the same store-buffering handshake as its
 * announcement, so that a forker that closed the gate meanwhile either
 * sees it unparked (and waits for its link) or is seen by it.
 */
static void rcu_fork_gate_park(void)
{
    unsigned round = 0;

    do {
        qatomic_inc(&rcu_fork_gate.parked);
        while (rcu_load_seqcst(&rcu_fork_gate.closed)) {
            rcu_backoff(&round);
        }
        qatomic_dec(&rcu_fork_gate.parked);
    } while (rcu_load_seqcst(&rcu_fork_gate.closed));
}

/* Calls announced in producer slots, counted from 0. */
static unsigned long rcu_slot_calls(void)
{
    /* Acquire pairs with the increase in rcu_producer_slot_claim(). */
    unsigned long used = qatomic_load_acquire(&rcu_producer_slots_used);
    unsigned long sum = 0;

    for (unsigned i = 0; i < used; i++) {
        sum += qatomic_read(&rcu_producer_slots[i].calls);
    }
    return sum;
}

/*
 * call_rcu1() calls announced so far, counted from RCU_SEQ_START: the
 * numbering of rcu_consumer.taken, because every announced call swaps
 * exactly one node into the queue.  Relaxed loads: see the callers.
 */
static unsigned long rcu_calls_announced(void)
{
    return qatomic_read(&cbq.enq) + rcu_slot_calls();
}

/*
 * Nodes reachable from cbq.newest through links already stored; the walk
 * stops at a link in flight, whose node and every older one it misses.
 */
static unsigned long rcu_queue_length(void)
{
    struct rcu_head *node, *next;
    unsigned long n = 0;

    /* Acquire pairs with the exchanges in call_rcu1(). */
    for (node = qatomic_load_acquire(&cbq.newest); node; node = next) {
        /* Relaxed: only the value matters here. */
        next = qatomic_read(&node->next);
        if (next == &rcu_link_pending) {
            break;
        }
        n++;
    }
    return n;
}

/*
 * fork()'s prepare handler: waits until every announced call_rcu1() is
 * either linked or parked and the call_rcu thread is not taking a batch,
 * so that the child inherits a complete queue.  Blocks on no lock: it
 * only waits for work of a few instructions in other threads.
 */
static void rcu_fork_gate_close(void)
{
    unsigned round = 0;

    if (unlikely(rcu_enqueue_depth)) {
        rcu_fatal("fork() called from a signal handler that interrupted "
                  "call_rcu1()");
    }
    /*
     * seq_cst, like the loads below: pairs with the announcement in
     * cbq.enq and the gate load in call_rcu1(), and with
     * rcu_take_begin().
     */
    qatomic_inc(&rcu_fork_gate.closed);
    /*
     * Pairs with the smp_mb_placeholder() between a slot's announcement
     * and the gate load in call_rcu1().
     */
    smp_mb_global();
    for (;; rcu_backoff(&round)) {
        unsigned long parked, taken, linked;

        if (rcu_load_seqcst(&rcu_consumer.taking)) {
            continue;
        }
        parked = rcu_load_seqcst(&rcu_fork_gate.parked);
        taken = rcu_load_seqcst(&rcu_consumer.taken);
        linked = rcu_queue_length();
        /*
         * The announcements last, after a full barrier, as the loads
         * above are seq_cst: a producer counted in none of the others was
         * announced before these loads, so the sum falls short while any
         * producer is between its announcement and its link.
         */
        smp_mb();
        if (parked + taken + linked == rcu_calls_announced()) {
            return;
        }
    }
}

/* The call_rcu thread enters rcu_take_batch() only with the gate open. */
static void rcu_take_begin(void)
{
    unsigned round = 0;

    for (;;) {
        /* A seq_cst store; pairs with rcu_fork_gate_close(). */
        qatomic_set_mb(&rcu_consumer.taking, true);
        if (!rcu_load_seqcst(&rcu_fork_gate.closed)) {
            return;
        }
        qatomic_set(&rcu_consumer.taking, false);
        while (rcu_load_seqcst(&rcu_fork_gate.closed)) {
            rcu_backoff(&round);
        }
    }
}

/* True when readers use fences: no membarrier(), or QEMU built without. */
static bool rcu_mb_global_is_local(void)
{
#if defined(QEMU_RCU_STANDALONE)
    return !qemu_membarrier_active;
#elif defined(CONFIG_MEMBARRIER)
    return false;
#else
    return true;
#endif
}

/* Tells the read side the mode; before the first reader runs. */
static void rcu_set_read_barrier_mode(void)
{
    if (rcu_mb_global_is_local()) {
        rcu_gp_ctr |= RCU_GP_FENCES;
    }
}

/* Registered threads other than the caller that are online. */
static int rcu_others_online(void)
{
    struct rcu_reader_data *self = get_ptr_rcu_reader();

    /*
     * Acquire pairs with the decrement in rcu_set_online(): a reader seen
     * offline is seen with the ctr and waiting values it left behind, so
     * the scan that follows cannot find a stale "still inside" ctr, nor
     * miss the wake-up of a reader that found waiting set.
     */
    return qatomic_load_acquire(&rcu_online.count) -
           (self->registered && !self->offline);
}

/*
 * The process-wide barrier that pairs with the read-side barrier of every
 * online reader (rcu_read_barrier(), or smp_mb() in a fences reader).
 * When no other registered thread is online, a local fence is enough: a
 * thread coming online executes smp_mb() after raising
 * rcu_online.count, and one of the two sides sees the other.
 */
static void rcu_mb_global(void)
{
    /*
     * Order the caller's earlier stores (rcu_gp_ctr, waiting) before the
     * read of the count; pairs with the smp_mb() in rcu_set_online().
     */
    smp_mb();
    if (rcu_others_online() <= 0) {
        rcu_stat_inc_locked(&stats.membarriers_skipped);
        return;
    }
    /*
     * Where smp_mb_global() is a local smp_mb(), readers execute smp_mb()
     * too, and the smp_mb() above already pairs with theirs.
     */
    if (!rcu_mb_global_is_local()) {
        smp_mb_global();
    }
}

/* Is the reader inside a critical section that began before this period? */
static bool rcu_gp_ongoing(struct rcu_reader_data *reader)
{
    /*
     * Acquire: the reader's critical section happens before its store
     * of 0; pairs with the store-release in rcu_read_unlock().
     */
    unsigned long v = qatomic_load_acquire(&reader->ctr);

    return v && (v != qatomic_read(&rcu_gp_ctr));
}

/* QEMU's rcu_call_count: callbacks queued and still waiting for a GP. */
static unsigned long rcu_call_count(void)
{
    return rcu_calls_announced() - qatomic_read(&rcu_consumer.done);
}

/*
 * Every callback whose call_rcu1() returned before @target was loaded
 * from cbq.enq has run (docs/design.md, "What drain_call_rcu() waits
 * for").  Acquire pairs with the store-release in rcu_run_batch().
 */
static bool rcu_callbacks_ran_up_to(unsigned long target)
{
    return (long)(qatomic_load_acquire(&rcu_consumer.ran) - target) >= 0;
}

/* Somebody waits: a drain, an expedited grace period, force_rcu(). */
static bool rcu_force_requested(void)
{
    return qatomic_read(&in_drain_call_rcu) ||
           qatomic_read(&rcu_expedite_count) ||
           /* rcu_gp_seq is odd while a grace period runs: +1 is its end. */
           (long)(qatomic_read(&rcu_force_until) -
                  (qatomic_read(&rcu_gp_seq) + 1)) >= 0 ||
           (long)(qatomic_read(&rcu_force_cb_until) -
                  qatomic_read(&rcu_cb_gp_done)) > 0;
}

static bool rcu_should_force(int64_t polled_ns)
{
    int64_t force_ns = (int64_t)qatomic_read(&tunables.force_after_us) * 1000;

    return rcu_call_count() >= qatomic_read(&tunables.force_callbacks) ||
           polled_ns >= force_ns || rcu_force_requested();
}

/*
 * Set while this thread fires force_rcu notifiers with the registry lock
 * held: a notifier may then add or remove notifiers (itself included)
 * without taking the lock again, and rcu_fire_next follows a removal.
 */
static __thread bool rcu_firing_notifiers;
static Notifier *rcu_fire_next;

static void rcu_fire_force_notifiers(struct rcu_reader_data *reader)
{
    Notifier *n = QLIST_FIRST(&reader->force_rcu.notifiers);

    rcu_firing_notifiers = true;
    while (n) {
        rcu_fire_next = QLIST_NEXT(n, node);
        stat64_add(&stats.force_rcu_notifier_calls, 1);
        n->notify(n, NULL);
        n = rcu_fire_next;
    }
    rcu_firing_notifiers = false;
}

/* How wait_for_readers() waits for the readers of one grace period. */
typedef enum RcuWaitState {
    /* Poll; readers are never asked for anything. */
    RCU_WAIT_NORMAL,
    /* Readers have waiting set; sleep until the last of them leaves. */
    RCU_WAIT_FORCED,
} RcuWaitState;

/* A reader a stall warning names, copied under the registry lock. */
typedef struct RcuStalledReader {
    int tid;
    bool has_notifier;
} RcuStalledReader;

typedef struct RcuWait {
    RcuWaitState state;
    bool kick;              /* fire notifiers after the next scan */
    bool scanned;           /* a scan of this wait already ran */
    /*
     * When a scan first found a reader inside, 0 before: only grace
     * periods that have to wait read the clock.
     */
    int64_t start_ns;
    int64_t poll_ns;        /* next normal-state sleep */
    int64_t recheck_ns;     /* with fences, the next forced sleep */
    int64_t warned_ns;      /* start, or the last stall warning */
    GArray *stalled;        /* RcuStalledReader: a warning to print */
} RcuWait;

static void rcu_wait_init(RcuWait *w)
{
    memset(w, 0, sizeof(*w));
    w->state = RCU_WAIT_NORMAL;
    w->poll_ns = RCU_FIRST_POLL_NS;
    w->recheck_ns = RCU_FIRST_RECHECK_NS;
}

static int64_t rcu_wait_elapsed_ns(RcuWait *w)
{
    return w->start_ns ? now_ns() - w->start_ns : 0;
}

/* Read at every pass, so that rcu_set_tunables() applies at once. */
static int64_t rcu_stall_timeout_ns(void)
{
    return (int64_t)qatomic_read(&tunables.stall_timeout_ms) * 1000000;
}

/* The longest sleep of a wait that must look again; read at every pass. */
static int64_t rcu_poll_max_ns(void)
{
    return (int64_t)qatomic_read(&tunables.poll_max_us) * 1000;
}

/* Normal -> forced, at most once per wait. */
static void rcu_wait_update_state(RcuWait *w)
{
    if (w->state == RCU_WAIT_NORMAL &&
        rcu_should_force(rcu_wait_elapsed_ns(w))) {
        w->state = RCU_WAIT_FORCED;
        w->kick = true;
        rcu_stat_inc_locked(&stats.forced_grace_periods);
    }
}

/*
 * Arms the forced state's wake-up and orders the scan.  Re-arming waiting
 * on every pass keeps a reader that re-entered with a stale counter from
 * being missed.
 */
static void rcu_wait_prepare_scan(RcuWait *w)
{
    struct rcu_reader_data *index;

    if (w->state == RCU_WAIT_FORCED) {
        /* Before the scan: a reader leaving after it wakes us again. */
        rcu_sleeper_reset(&rcu_gp_sleeper);
        QLIST_FOREACH(index, &registry, node) {
            qatomic_set(&index->waiting, RCU_READER_WAITING);
        }
    }
    /*
     * Order the stores to waiting (and the caller's rcu_gp_ctr update)
     * before the loads of ctr; pairs with the read-side barrier in
     * rcu_read_lock(), and with membarrier also orders a leaving reader's
     * ctr = 0 before its load of waiting (rcu_wait_recheck() otherwise).
     */
    if (w->state == RCU_WAIT_FORCED || !w->scanned || !RCU_HOST_TSO) {
        rcu_mb_global();
    } else {
        /* TSO: see RCU_HOST_TSO; the reader's stores arrive in order. */
        barrier();
    }
    w->scanned = true;
}

/*
 * A look for a reader still inside, moving nobody: the first scan of a
 * wait that armed nothing usually finds every reader out, and then the
 * moves of rcu_scan() and their undoing would be all its work.  Nothing
 * needs clearing either: waiting is 0 for every reader between waits.
 */
static bool rcu_nobody_inside(void)
{
    struct rcu_reader_data *index;

    QLIST_FOREACH(index, &registry, node) {
        if (rcu_gp_ongoing(index)) {
            return false;
        }
    }
    return true;
}

/* Moves the readers that are not holding the grace period to @qs. */
static bool rcu_scan(ThreadList *qs)
{
    struct rcu_reader_data *index, *tmp;

    QLIST_FOREACH_SAFE(index, &registry, node, tmp) {
        if (!rcu_gp_ongoing(index)) {
            QLIST_REMOVE(index, node);
            QLIST_INSERT_HEAD(qs, index, node);
            /* Spares the reader a pointless wake-up. */
            qatomic_set(&index->waiting, 0);
        }
    }
    return QLIST_EMPTY(&registry);
}

/*
 * Under QEMU's record/replay, a forced grace period fires force_rcu
 * notifiers only while drain_call_rcu() waits, as QEMU 10.0 did.  TCG's
 * notifier asks the vCPU to leave its execution loop, from this thread,
 * at a moment set by host timing that the log does not record, so a
 * replay cannot make the same exit.  That is only harmless if where the
 * vCPU exits changes nothing it counts, and QEMU's Alpha clipper breaks
 * it: its CPU is never reset, so the first translation block runs with
 * cflags_next_tb 0, without instruction counting.  An exit request while
 * that block is translated abandons it; it runs again counted, and the
 * recording is ahead of every replay by the block's instructions.  The
 * replay then halts at the PALcode's WAIT with budget left and never
 * wakes: the timeout for which QEMU commit ddb4d9d174 reverted
 * 55d98e3ede.  With icount the vCPU leaves its critical section anyway
 * when its instruction budget, bounded by the next timer, runs out.
 */
static bool rcu_may_kick(void)
{
#ifndef QEMU_RCU_STANDALONE
    if (replay_mode != REPLAY_MODE_NONE) {
        return qatomic_read(&in_drain_call_rcu);
    }
#endif
    return true;
}

/*
 * On TSO hosts a forced pass after the grace period's first scan looks
 * before it arms: the global barrier before that scan orders this one
 * too, as it orders the normal state's later polls (case 2 of the grace
 * period argument in docs/design.md).  After a reader's wake-up the look
 * usually finds everybody out, and the grace period ends without
 * re-arming waiting and without the rcu_mb_global() that arming needs
 * before a sleep, a membarrier() that interrupts every CPU running the
 * process.
 */
static bool rcu_wait_may_prescan(RcuWait *w)
{
    return RCU_HOST_TSO && w->state == RCU_WAIT_FORCED && w->scanned;
}

static bool rcu_wait_prescan(RcuWait *w, ThreadList *qs)
{
    if (!rcu_wait_may_prescan(w)) {
        return false;
    }
    /* TSO: see RCU_HOST_TSO; the reader's stores arrive in order. */
    barrier();
    return rcu_scan(qs);
}

/*
 * With fences on TSO hosts the first pass of a wait scans before it
 * asks whether to force.  Most grace periods find every reader out and
 * never need the answer, which reads ten shared variables
 * (rcu_should_force()).  One that must force goes on to the next pass,
 * which kicks and watches (rcu_wait_kick_and_watch()) and arms only if
 * the readers stay inside, at the price of one more smp_mb().  With
 * membarrier() that barrier is a system call while another thread is
 * online, and on other hosts the watch is not allowed; there the first
 * pass decides first.  The count read here only chooses the order: a
 * thread that comes online after it costs a forced grace period one
 * more membarrier().
 */
static bool rcu_wait_decides_after_scan(RcuWait *w)
{
    return RCU_HOST_TSO && !w->scanned && w->state == RCU_WAIT_NORMAL &&
           (rcu_mb_global_is_local() || rcu_others_online() <= 0);
}

/*
 * Kicks once per wait, after a scan, so that only the readers still
 * inside a critical section hear about it.
 */
static void rcu_wait_kick(RcuWait *w)
{
    struct rcu_reader_data *index;

    if (w->kick && rcu_may_kick()) {
        w->kick = false;
        QLIST_FOREACH(index, &registry, node) {
            rcu_fire_force_notifiers(index);
        }
    }
}

/*
 * Kicks (the readers find waiting set), then notes the readers that hold
 * the grace period too long; rcu_wait_sleep() names them once the
 * registry lock is dropped, because reading their names and writing to
 * stderr may block.
 */
static void rcu_wait_kick_and_report(RcuWait *w)
{
    struct rcu_reader_data *index;
    int64_t stall_ns = rcu_stall_timeout_ns();
    int64_t now;

    rcu_wait_kick(w);
    now = now_ns();
    if (!w->start_ns) {
        w->start_ns = w->warned_ns = now;
    }
    if (stall_ns > 0 && now - w->warned_ns >= stall_ns) {
        w->stalled = g_array_new(false, false, sizeof(RcuStalledReader));
        QLIST_FOREACH(index, &registry, node) {
            RcuStalledReader r = {
                .tid = index->tid,
                .has_notifier = !notifier_list_empty(&index->force_rcu),
            };

            g_array_append_val(w->stalled, r);
        }
        w->warned_ns = now;
    }
}

/*
 * On TSO hosts, once the grace period's first scan has had its global
 * barrier, a forced pass whose look found readers inside kicks them
 * before it arms and watches them for up to RCU_KICK_WATCH_NS: a reader
 * that leaves when kicked usually does so within microseconds, and the
 * pass then ends without arming waiting and without the rcu_mb_global()
 * that arming needs before a sleep.  Each look is a rcu_wait_prescan()
 * (case 2 of the grace period argument in docs/design.md).
 */
static bool rcu_wait_kick_and_watch(RcuWait *w, ThreadList *qs)
{
    int64_t deadline;

    if (!rcu_wait_may_prescan(w) || !w->kick || !rcu_may_kick()) {
        return false;
    }
    /* No stall report here: the pass that sleeps prints it. */
    rcu_wait_kick(w);
    deadline = now_ns() + RCU_KICK_WATCH_NS;
    do {
        for (int i = 0; i < 8; i++) {
            cpu_relax();
        }
        if (rcu_wait_prescan(w, qs)) {
            return true;
        }
    } while (now_ns() < deadline);
    return false;
}

/* The kernel's name for a thread of this process, or "?". */
static char *rcu_thread_name(int tid)
{
    g_autofree char *path = g_strdup_printf("/proc/self/task/%d/comm", tid);
    char *comm = NULL;

    if (!g_file_get_contents(path, &comm, NULL, NULL)) {
        return g_strdup("?");
    }
    return g_strchomp(comm);
}

static void rcu_report_stall(RcuWait *w)
{
    g_autoptr(GString) msg = g_string_new(NULL);

    for (guint i = 0; i < w->stalled->len; i++) {
        RcuStalledReader *r = &g_array_index(w->stalled, RcuStalledReader, i);
        g_autofree char *comm = rcu_thread_name(r->tid);

        g_string_append_printf(msg, "\n  thread %d (%s): %s", r->tid, comm,
                               !r->has_notifier ? "no force_rcu notifier" :
                               w->state == RCU_WAIT_FORCED && !w->kick ?
                               "force_rcu notifiers fired" :
                               "force_rcu notifiers not fired yet");
    }
    warn_report("grace period stalled for %.3f s by %u reader(s) still in "
                "a read-side critical section:%s",
                (w->warned_ns - w->start_ns) / 1e9, w->stalled->len,
                msg->str);
    stat64_add(&stats.stall_warnings, 1);
    g_array_free(w->stalled, true);
    w->stalled = NULL;
}

/* The length of this normal-state poll; the next one is twice as long. */
static int64_t rcu_next_poll_ns(RcuWait *w, int64_t polled_ns)
{
    int64_t force_ns = (int64_t)qatomic_read(&tunables.force_after_us) * 1000;
    /* Wake up when forcing is due, not at the end of a 10 ms poll. */
    int64_t ns = MAX(MIN(w->poll_ns, force_ns - polled_ns), 1000);

    w->poll_ns = MIN(w->poll_ns * 2, rcu_poll_max_ns());
    return ns;
}

/* Sleeps between normal-state polls; returns early if forcing is due. */
static void rcu_poll_sleep(RcuWait *w)
{
    int64_t polled_ns = rcu_wait_elapsed_ns(w);
    int64_t ns = rcu_next_poll_ns(w, polled_ns);
    int64_t deadline = now_ns() + ns;

    if (ns <= RCU_SPIN_POLL_NS) {
        while (now_ns() < deadline && !rcu_should_force(polled_ns)) {
            sched_yield();
        }
        return;
    }
    rcu_sleeper_reset(&rcu_poll_sleeper);
    if (!rcu_should_force(polled_ns)) {
        rcu_sleeper_wait(&rcu_poll_sleeper, ns);
    }
}

/*
 * On TSO hosts the first polls of the normal state spin with the registry
 * lock held and watch the readers still inside, so that a grace period
 * behind a short critical section ends when the section does rather than
 * at the end of the poll.  A look that finds them all out is only a
 * hint: the caller's next pass scans properly, after the compiler
 * barrier that is all a TSO host needs there (case 2 of the grace period
 * argument in docs/design.md).  Weakly ordered hosts would need a global
 * barrier per look, so they sleep instead.
 */
static bool rcu_wait_spin(RcuWait *w)
{
    int64_t polled_ns, deadline;
    struct rcu_reader_data *index;

    if (!RCU_HOST_TSO || w->state != RCU_WAIT_NORMAL ||
        w->poll_ns > RCU_SPIN_POLL_NS || w->stalled) {
        return false;
    }
    if (rcu_is_call_rcu_thread) {
        /*
         * The producer that woke this thread may have lost its CPU to it
         * on the way to drain_call_rcu(), which would make this grace
         * period force; spinning would keep it off that CPU.
         */
        sched_yield();
    }
    polled_ns = rcu_wait_elapsed_ns(w);
    deadline = now_ns() + rcu_next_poll_ns(w, polled_ns);
    for (unsigned i = 1;; i++) {
        QLIST_FOREACH(index, &registry, node) {
            if (rcu_gp_ongoing(index)) {
                break;
            }
        }
        if (!index) {
            return true;
        }
        cpu_relax();
        if (i % 8 == 0 &&
            (now_ns() >= deadline || rcu_should_force(polled_ns))) {
            return true;
        }
    }
}

/*
 * Sleeps with the registry lock dropped, so that threads can register
 * and unregister meanwhile.  That is safe: a new reader goes on
 * registry with no snapshot older than this grace period, so the next
 * scan finds it quiescent; an unregistering reader removes its node from
 * whichever list holds it, registry or the caller's quiescent list,
 * which are both only changed under the registry lock.
 */
static void rcu_wait_sleep(RcuWait *w)
{
    int64_t stall_ns;

    qemu_mutex_unlock(&rcu_registry_lock);
    if (w->stalled) {
        rcu_report_stall(w);
    }
    stall_ns = rcu_stall_timeout_ns();
    if (w->state == RCU_WAIT_NORMAL) {
        rcu_poll_sleep(w);
    } else if (w->kick) {
        /* A kick rcu_may_kick() held back: notice a drain within a poll. */
        rcu_sleeper_wait(&rcu_gp_sleeper, rcu_poll_max_ns());
    } else {
        int64_t ns = stall_ns > 0 ?
                     MAX(w->warned_ns + stall_ns - now_ns(), 1000) : -1;

        if (rcu_mb_global_is_local()) {
            /* A reader may have left without waking us: rcu_wait_recheck(). */
            ns = ns < 0 ? w->recheck_ns : MIN(ns, w->recheck_ns);
            w->recheck_ns = MIN(w->recheck_ns * 2, rcu_poll_max_ns());
        }
        rcu_sleeper_wait(&rcu_gp_sleeper, ns);
    }
    qemu_mutex_lock(&rcu_registry_lock);
}

/*
 * With fences, a reader leaves its critical section without a fence
 * (rcu.h): its unlock may load waiting before our store reaches it while
 * its store of ctr = 0 has not reached our scan yet, and then neither
 * side sees the other and nobody wakes us.  That store arrives within
 * nanoseconds; look again for RCU_RECHECK_NS before sleeping, and since
 * the architecture bounds no store's delay, rcu_wait_sleep() never
 * sleeps without a timeout here either.  With membarrier()
 * smp_mb_global() closes the handshake.
 */
static bool rcu_wait_recheck(RcuWait *w, ThreadList *qs)
{
    int64_t deadline;

    if (w->state != RCU_WAIT_FORCED || !rcu_mb_global_is_local() ||
        w->stalled) {
        return false;
    }
    deadline = now_ns() + RCU_RECHECK_NS;
    for (unsigned i = 1;; i++) {
        /*
         * A scan of its own, ordered like the pass's first one after our
         * stores; pairs with the smp_mb() in a fences reader's
         * rcu_read_lock().
         */
        smp_mb();
        if (rcu_scan(qs)) {
            return true;
        }
        cpu_relax();
        if (i % 8 == 0 && now_ns() >= deadline) {
            return false;
        }
    }
}

/*
 * Waits for every reader that is inside a critical section begun before
 * the last update of rcu_gp_ctr.  Called with rcu_registry_lock held,
 * once per grace period, or once per phase on 32-bit hosts, where a
 * grace period that forced stays forced and kicks the second phase's
 * readers too.
 */
static void wait_for_readers(RcuWait *w)
{
    ThreadList qsreaders = QLIST_HEAD_INITIALIZER(qsreaders);

    w->scanned = false;
    w->kick = w->state == RCU_WAIT_FORCED;
    for (;;) {
        bool decide_after_scan = rcu_wait_decides_after_scan(w);
        bool first_unarmed;

        if (!decide_after_scan) {
            rcu_wait_update_state(w);
        }
        if (rcu_wait_prescan(w, &qsreaders) ||
            rcu_wait_kick_and_watch(w, &qsreaders)) {
            break;
        }
        first_unarmed = !w->scanned && w->state == RCU_WAIT_NORMAL;
        rcu_wait_prepare_scan(w);
        if (first_unarmed && rcu_nobody_inside()) {
            /* qsreaders is empty and the registry unchanged. */
            return;
        }
        if (rcu_scan(&qsreaders)) {
            break;
        }
        if (decide_after_scan) {
            rcu_wait_update_state(w);
            if (w->state == RCU_WAIT_FORCED) {
                /* Nothing is armed yet: kick and watch, or arm. */
                continue;
            }
        }
        rcu_wait_kick_and_report(w);
        if (rcu_wait_recheck(w, &qsreaders)) {
            break;
        }
        if (!rcu_wait_spin(w)) {
            rcu_wait_sleep(w);
        }
    }
    QLIST_SWAP(&registry, &qsreaders, node);
}

/*
 * A force_rcu() target in the past stays there; drag it along so that it
 * never falls 2^(BITS-1) behind its counter and reads as the future.
 */
static void rcu_drag_target(unsigned long *target, unsigned long now)
{
    unsigned long t = qatomic_read(target);

    /*
     * Only once it is a quarter of the range behind, so that the
     * compare-and-swap does not weigh on every idle grace period.
     */
    if ((long)(now - t) > LONG_MAX / 2) {
        /* A concurrent force_rcu() that moved it forward wins. */
        qatomic_cmpxchg(target, t, now);
    }
}

/* Moves rcu_gp_ctr on and waits for the readers of the old value(s). */
static void rcu_advance_and_wait(RcuWait *w)
{
#if HOST_LONG_BITS < 64
    /*
     * A 32-bit counter could wrap while a reader is preempted between
     * reading rcu_gp_ctr and storing its snapshot; flip a phase bit
     * twice instead, waiting for the readers of each phase.
     */
    qatomic_set(&rcu_gp_ctr, rcu_gp_ctr ^ RCU_GP_CTR);
    wait_for_readers(w);
    qatomic_set(&rcu_gp_ctr, rcu_gp_ctr ^ RCU_GP_CTR);
    wait_for_readers(w);
#else
    qatomic_set(&rcu_gp_ctr, rcu_gp_ctr + RCU_GP_CTR);
    wait_for_readers(w);
#endif
}

/* rcu_check_may_block() failed: says why @what would deadlock, and aborts. */
static G_NORETURN void rcu_may_not_block(const char *what)
{
    if (rcu_running_callbacks) {
        rcu_fatal("%s() called from an RCU callback: callbacks run in the "
                  "call_rcu thread with the BQL held, and %s", what,
                  rcu_is_call_rcu_thread && !strcmp(what, "drain_call_rcu") ?
                  "the call_rcu thread would wait for itself forever" :
                  "a reader that needs the BQL to leave its critical "
                  "section would wait for them forever");
    }
    if (get_ptr_rcu_reader()->depth) {
        rcu_fatal("%s() called inside an RCU read-side critical section: "
                  "it would wait for itself forever", what);
    }
    rcu_fatal("%s() called from a force_rcu notifier", what);
}

/* Inline, the messages out of line: every synchronize_rcu() runs it. */
static inline void rcu_check_may_block(const char *what)
{
    if (unlikely(rcu_running_callbacks || get_ptr_rcu_reader()->depth ||
                 rcu_in_grace_period)) {
        rcu_may_not_block(what);
    }
}

void synchronize_rcu(void)
{
    RcuWait w;

    rcu_check_may_block("synchronize_rcu");
    qemu_mutex_lock(&rcu_sync_lock);
    rcu_in_grace_period = true;
    rcu_wait_init(&w);

    /* Odd while running: cookies taken from now on need the next one. */
    qatomic_set(&rcu_gp_seq, rcu_gp_seq + 1);

    qemu_mutex_lock(&rcu_registry_lock);
    /*
     * B1: make the caller's updates visible to every reader before readers
     * can observe the new counter; pairs with the read-side barrier in
     * rcu_read_lock().  On TSO hosts the order of stores does it: a reader
     * that loads the new counter then loads the updated pointers in order,
     * and one that stored an old snapshot is caught by the global barrier
     * before the first scan in wait_for_readers().
     */
    if (RCU_HOST_TSO) {
        barrier();
    } else {
        rcu_mb_global();
    }
    if (!QLIST_EMPTY(&registry)) {
        rcu_advance_and_wait(&w);
    }
    /* A stall noted by a pass is printed by that pass's sleep. */
    assert(!w.stalled);
    qemu_mutex_unlock(&rcu_registry_lock);

    /*
     * B4: the readers' critical sections happen before the caller frees
     * anything; the load-acquire of each ctr already ordered them, this
     * orders the sequence update for pollers and pairs with the smp_mb()
     * in poll_state_synchronize_rcu().  TSO keeps the loads of ctr before
     * this store by itself.
     */
    if (RCU_HOST_TSO) {
        barrier();
    } else {
        /* B4; pairs with the smp_mb() in poll_state_synchronize_rcu(). */
        smp_mb();
    }
    /* Release (besides the fence) so that TSan sees the pairing too. */
    qatomic_store_release(&rcu_gp_seq, rcu_gp_seq + 1);
    rcu_drag_target(&rcu_force_until, rcu_gp_seq);

    if (w.start_ns) {
        stat64_max(&stats.max_grace_period_ns, now_ns() - w.start_ns);
    }
    rcu_stat_inc_locked(&stats.grace_periods);
    rcu_in_grace_period = false;
    qemu_mutex_unlock(&rcu_sync_lock);
}

void synchronize_rcu_expedited(void)
{
    qatomic_inc(&rcu_expedite_count);
    rcu_request_force();
    stat64_add(&stats.expedited_grace_periods, 1);
    synchronize_rcu();
    qatomic_dec(&rcu_expedite_count);
}

static void rcu_advance_to(unsigned long *p, unsigned long target)
{
    unsigned long cur = qatomic_read(p);

    while ((long)(target - cur) > 0) {
        unsigned long seen = qatomic_cmpxchg(p, cur, target);

        if (seen == cur) {
            break;
        }
        cur = seen;
    }
}

void force_rcu(void)
{
    rcu_advance_to(&rcu_force_until, get_state_synchronize_rcu());
    /* The caller's own call_rcu1() is ordered before this load. */
    rcu_advance_to(&rcu_force_cb_until, rcu_calls_announced());
    rcu_request_force();
}

unsigned long get_state_synchronize_rcu(void)
{
    /*
     * Order the caller's updates before reading the sequence; pairs with
     * B1, which orders synchronize_rcu()'s store making rcu_gp_seq odd
     * before its new rcu_gp_ctr (a barrier, or on TSO hosts the order of
     * stores).
     */
    smp_mb();

    /* The end of the next grace period to start after this point. */
    return (qatomic_read(&rcu_gp_seq) + 3) & ~1UL;
}

bool poll_state_synchronize_rcu(unsigned long cookie)
{
    /* Acquire pairs with the store-release at the end of synchronize_rcu. */
    bool done = (long)(qatomic_load_acquire(&rcu_gp_seq) - cookie) >= 0;

    /*
     * Order the check before the caller's reclamation; pairs with the
     * smp_mb() at the end of synchronize_rcu().
     */
    smp_mb();
    return done;
}

unsigned long start_poll_synchronize_rcu(void)
{
    unsigned long cookie = get_state_synchronize_rcu();

    /* The call_rcu thread runs a grace period for any queued callback. */
    call_rcu1(g_new0(struct rcu_head, 1), (RCUCBFunc *)g_free);
    return cookie;
}

void cond_synchronize_rcu(unsigned long cookie)
{
    if (!poll_state_synchronize_rcu(cookie)) {
        synchronize_rcu();
    }
}

/*
 * Announces a call in the caller's slot and returns how many calls it
 * made since it last saw a grace period end for callbacks.  Only the
 * owner writes the slot, and never from a nested call, so plain
 * read-modify-write sequences are enough.
 */
static unsigned long rcu_announce_in_slot(RcuProducerSlot *slot)
{
    unsigned long calls = slot->calls + 1;
    unsigned long done = qatomic_read(&rcu_consumer.done);

    qatomic_set(&slot->calls, calls);
    if (done != slot->done_seen) {
        slot->done_seen = done;
        slot->calls_at_done = calls - 1;
    }
    return calls - slot->calls_at_done;
}

void call_rcu1(struct rcu_head *node, RCUCBFunc *func)
{
    RcuProducerSlot *slot = rcu_enqueue_depth ? NULL : rcu_producer_slot;
    struct rcu_head *prev;
    unsigned long pending;
    bool gate_closed;

    node->func = func;
    node->next = &rcu_link_pending;
    rcu_enqueue_depth++;
    /*
     * A signal handler that interrupts the slot's update below sees the
     * depth and announces in cbq.enq; the exchange, a compiler barrier
     * too, keeps the decrement after the update.
     */
    signal_barrier();
    /*
     * Announce, then look at the fork gate, so that either this call sees
     * the gate closed or the forker counts it and waits for its link.  In
     * a slot: a plain store, then the gate load after
     * smp_mb_placeholder(), which pairs with the smp_mb_global() in
     * rcu_fork_gate_close().  In cbq.enq: a seq_cst read-modify-write and
     * a seq_cst load, pairing with the increment and the loads there.
     * A call nested in a signal handler must not wait for a forker that
     * waits for the call it interrupted.
     */
    if (likely(slot)) {
        pending = rcu_announce_in_slot(slot);
        smp_mb_placeholder();
        gate_closed = qatomic_read(&rcu_fork_gate.closed);
    } else {
        pending = qatomic_fetch_inc(&cbq.enq) + 1 + rcu_slot_calls() -
                  qatomic_read(&rcu_consumer.done);
        gate_closed = rcu_load_seqcst(&rcu_fork_gate.closed);
    }
    if (unlikely(gate_closed) && rcu_enqueue_depth == 1) {
        rcu_fork_gate_park();
    }
    /*
     * seq_cst, hence a release: the node is complete before it can be
     * reached; pairs with the exchange in rcu_take_batch() and the
     * load-acquire in rcu_queue_length().  Every later exchange extends
     * its release sequence, so whoever reads cbq.newest after it sees
     * this node's fields, however many nodes lie in between.
     */
    prev = qatomic_xchg(&cbq.newest, node);
    /*
     * Release: pairs with the load-acquire in rcu_take_batch(), whose
     * plain store then rewrites this link.
     */
    qatomic_store_release(&node->next, prev);
    rcu_enqueue_depth--;

    if (unlikely(qatomic_read(&rcu_call_rcu_thread_missing)) &&
        qatomic_xchg(&rcu_call_rcu_thread_missing, false)) {
        rcu_start_call_rcu_thread();
    }
    /* The call_rcu thread only sleeps after finding the queue empty. */
    if (!prev) {
        qemu_event_set(&rcu_call_ready_event);
    }
    if (pending == qatomic_read(&tunables.force_callbacks)) {
        rcu_request_force();
    }
}

/*
 * Set while callbacks come in a stream: this thread's last sleep was
 * shorter than RCU_IDLE_SPIN_NS, or its last spin found work.
 */
static bool rcu_callbacks_streaming;

/*
 * Right after a batch of a stream, more callbacks are often on their
 * way; waiting for them briefly here spares each producer a futex wake
 * of this thread per batch.  Otherwise the spin is skipped: it would
 * keep this CPU busy while the thread that the last callback woke (a
 * drain, a device waiting for its memory) needs a CPU, and would make
 * the scheduler wake it on the other one, an interrupt away.
 */
static bool rcu_spin_for_callbacks(void)
{
    int64_t deadline;

    if (!rcu_callbacks_streaming) {
        return false;
    }
    deadline = now_ns() + RCU_IDLE_SPIN_NS;
    do {
        for (int i = 0; i < 64; i++) {
            if (qatomic_read(&cbq.newest)) {
                return true;
            }
            cpu_relax();
        }
    } while (now_ns() < deadline);
    rcu_callbacks_streaming = false;
    return false;
}

/*
 * Under a stream of call_rcu() the queue is non-empty again as soon as a
 * batch has run.  Taken at once, it makes small batches, each paying a
 * grace period (with membarrier, an interrupt on every CPU running the
 * process, producers included) and the queue's cache lines moving
 * between the producer and this thread; let it grow while callbacks keep
 * coming, unless somebody waits for it (a drain, an expedited grace
 * period, force_rcu()).  An idle queue is not delayed (the first
 * callback after a pause is taken as soon as this thread wakes), and a
 * trickle ends the wait after RCU_GROW_GAP_NS without a new callback.
 */
static void rcu_let_batch_grow(void)
{
    int64_t start, last_growth, now;
    unsigned long seen, count;

    if (!qatomic_read(&cbq.newest)) {
        return;
    }
    start = last_growth = now_ns();
    seen = rcu_call_count();
    while (seen < RCU_GROW_BATCH && !rcu_force_requested()) {
        for (int i = 0; i < 64; i++) {
            cpu_relax();
        }
        now = now_ns();
        count = rcu_call_count();
        if (count != seen) {
            seen = count;
            last_growth = now;
        } else if (now - last_growth >= RCU_GROW_GAP_NS) {
            break;
        }
        if (now - start >= RCU_GROW_NS) {
            break;
        }
    }
}

/*
 * Offline threads are skipped by grace periods and need no membarrier;
 * the library itself takes its threads offline while they block.
 */
static void rcu_set_online(struct rcu_reader_data *self, bool online)
{
    if (!self->registered || self->offline == !online) {
        return;
    }
    if (online) {
        qatomic_inc(&rcu_online.count);
        qatomic_set(&self->offline, false);
        /*
         * Publish the transition before any later critical section;
         * pairs with the smp_mb() in rcu_mb_global().
         */
        smp_mb();
    } else {
        qatomic_set(&self->offline, true);
        /* A release: pairs with the load-acquire in rcu_mb_global(). */
        qatomic_dec(&rcu_online.count);
    }
}

#if defined(CONFIG_MALLOC_TRIM) && defined(QEMU_RCU_STANDALONE)
#define RCU_TRIM_POLICY 1
static int64_t rcu_last_trim_ns;
static bool rcu_heap_dirty;
#endif

/*
 * Waits for the first callback of the next batch.  Trims the heap once
 * the thread has been idle for trim_idle_us, at most once every
 * trim_min_interval_ms and only after callbacks ran since the last trim,
 * so a steady trickle of callbacks never pays for malloc_trim().
 */
static void rcu_wait_for_callbacks(void)
{
#if defined(RCU_TRIM_POLICY)
    while (rcu_heap_dirty) {
        int64_t idle_ns = (int64_t)qatomic_read(&tunables.trim_idle_us) * 1000;
        int64_t gap_ns =
            (int64_t)qatomic_read(&tunables.trim_min_interval_ms) * 1000000;
        int64_t wait_ns = MAX(idle_ns, rcu_last_trim_ns + gap_ns - now_ns());

        if (qemu_event_timedwait_ns(&rcu_call_ready_event, wait_ns)) {
            return;
        }
        if (now_ns() - rcu_last_trim_ns >= gap_ns) {
            malloc_trim(RCU_TRIM_PAD);
            stat64_add(&stats.malloc_trims, 1);
            rcu_last_trim_ns = now_ns();
            rcu_heap_dirty = false;
        }
    }
#elif defined(CONFIG_MALLOC_TRIM)
    /* Inside QEMU: its own policy, a trim on every idle transition. */
    malloc_trim(RCU_TRIM_PAD);
    stat64_add(&stats.malloc_trims, 1);
#endif
    qemu_event_wait(&rcu_call_ready_event);
}

/*
 * Takes the whole queue as the next batch and returns its oldest node
 * and (in @n) its length, or NULL when the queue is empty.  Reverses the
 * stack into queueing order, waiting for links in flight: a producer has
 * swapped its node in but not yet linked it to the older ones.
 */
static struct rcu_head *rcu_take_batch(unsigned long *n)
{
    struct rcu_head *node, *next, *first = NULL;
    unsigned round = 0;

    if (!qatomic_read(&cbq.newest)) {
        return NULL;
    }
    rcu_take_begin();
    /*
     * seq_cst, hence an acquire: pairs with the producers' exchanges, and
     * their release sequence makes every node's func visible.
     */
    node = qatomic_xchg(&cbq.newest, NULL);
    for (*n = 0; node; node = next, (*n)++) {
        /* Acquire pairs with the store-release of the link in call_rcu1(). */
        while ((next = qatomic_load_acquire(&node->next)) ==
               &rcu_link_pending) {
            rcu_backoff(&round);
        }
        node->next = first;
        first = node;
    }
    qatomic_set(&rcu_batch.head, first);
    qatomic_set(&rcu_consumer.taken, rcu_consumer.taken + *n);
    /* Release: fork() waits for this store to read taken. */
    qatomic_store_release(&rcu_consumer.taking, false);
    return first;
}

/* Returns the next batch, sleeping (offline) while there is none. */
static struct rcu_head *rcu_next_batch(unsigned long *n)
{
    struct rcu_head *node = rcu_take_batch(n);
    int64_t slept;

    while (!node) {
        if (!rcu_spin_for_callbacks()) {
            /*
             * Reset, then look again: a producer that finds the queue
             * empty from now on sets the event after this reset.
             */
            qemu_event_reset(&rcu_call_ready_event);
            node = rcu_take_batch(n);
            if (node) {
                break;
            }
            slept = now_ns();
            rcu_wait_for_callbacks();
            rcu_callbacks_streaming = now_ns() - slept < RCU_IDLE_SPIN_NS;
        }
        node = rcu_take_batch(n);
    }
    return node;
}

/*
 * After a batch: wakes the drainers whose target ran has reached.  A
 * drainer checks ran and queues itself in one critical section, so one
 * that is not on the list yet will see the new ran.
 */
static void rcu_wake_drainers(void)
{
    RcuDrainer *d, *d_next;

    qemu_mutex_lock(&rcu_drain_lock);
    QSLIST_FOREACH_SAFE(d, &rcu_drainers, next, d_next) {
        if (rcu_callbacks_ran_up_to(d->target)) {
            QSLIST_REMOVE(&rcu_drainers, d, RcuDrainer, next);
            qemu_event_set(&d->done);
        }
    }
    qemu_mutex_unlock(&rcu_drain_lock);
}

/* Runs a batch in queueing order with the BQL held. */
static void rcu_run_batch(struct rcu_reader_data *self, struct rcu_head *node)
{
    bql_lock();
    rcu_set_online(self, true);
    rcu_running_callbacks = true;
    while (node) {
        struct rcu_head *next = node->next;

        /*
         * From here on the callback counts as running: a fork child
         * re-queues only what comes after it.
         */
        qatomic_set(&rcu_batch.head, next);
        /* Counted first: whoever sees the effect sees the count. */
        stat64_set(&stats.callbacks_run, stat64_get(&stats.callbacks_run) + 1);
        node->func(node);
        node = next;
    }
    rcu_running_callbacks = false;
    /*
     * Release: the callbacks' effects come first; pairs with the
     * load-acquire in rcu_callbacks_ran_up_to().  taken is read again
     * because a fork child resets it under a callback that forked.
     */
    qatomic_store_release(&rcu_consumer.ran, rcu_consumer.taken);
    rcu_set_online(self, false);
    bql_unlock();
    rcu_wake_drainers();
}

#if defined(CONFIG_LINUX) && defined(SYS_sched_getattr) && \
    defined(SYS_sched_setattr)
/*
 * The argument of sched_getattr() and sched_setattr(): the kernel's
 * struct sched_attr up to its first extension (SCHED_ATTR_SIZE_VER0),
 * under a name of our own because only recent C libraries declare it.
 */
typedef struct RcuSchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
} RcuSchedAttr;
QEMU_BUILD_BUG_ON(sizeof(RcuSchedAttr) != 48);

/*
 * The call_rcu thread runs for microseconds at a time, and when it wakes
 * somebody is often waiting for it: a device for its memory, a drain, a
 * reader that was kicked.  Linux 6.12's EEVDF scheduler lets a thread
 * ask for a slice shorter than the default (1.4 ms with two CPUs); the
 * shorter one can then take the CPU from a thread that computes, a vCPU
 * for instance, as soon as it wakes, instead of waiting for that
 * thread's slice to end.  Its share of the CPU does not change.  Older
 * kernels ignore the request, a thread that was given another policy
 * keeps it, its nice value is kept, and a sandbox that refuses the call
 * costs nothing.
 */
static void rcu_request_short_slice(void)
{
    RcuSchedAttr attr;

    if (syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) ||
        attr.sched_policy != SCHED_OTHER) {
        return;
    }
    attr.size = sizeof(attr);
    attr.sched_runtime = RCU_THREAD_SLICE_NS;
    syscall(SYS_sched_setattr, 0, &attr, 0);
}
#else
static void rcu_request_short_slice(void)
{
}
#endif

static void *call_rcu_thread(void *opaque)
{
    struct rcu_reader_data *self;

    rcu_register_thread();
    rcu_is_call_rcu_thread = true;
    rcu_request_short_slice();
    self = get_ptr_rcu_reader();
    rcu_set_online(self, false);

    for (;;) {
        unsigned long n;
        struct rcu_head *node = rcu_next_batch(&n);
        unsigned long taken = rcu_consumer.taken;

        synchronize_rcu();
        qatomic_set(&rcu_consumer.done, rcu_consumer.done + n);
        qatomic_set(&rcu_cb_gp_done, taken);
        rcu_drag_target(&rcu_force_cb_until, taken);
        rcu_run_batch(self, node);
#if defined(RCU_TRIM_POLICY)
        rcu_heap_dirty = true;
#endif
        rcu_let_batch_grow();
    }
    return NULL;
}

void drain_call_rcu(void)
{
    struct rcu_reader_data *self = get_ptr_rcu_reader();
    bool was_online = self->registered && !self->offline;
    RcuDrainer drainer;
    bool locked, queued;

    rcu_check_may_block("drain_call_rcu");

    /*
     * Relaxed: coherence alone makes it count every call_rcu1() that
     * returned before this call.
     */
    drainer.target = rcu_calls_announced();
    /* As Linux's rcu_barrier(): no grace period, no kick. */
    if (rcu_callbacks_ran_up_to(drainer.target)) {
        return;
    }

    locked = bql_locked();
    if (locked) {
        bql_unlock();
    }
    qatomic_inc(&in_drain_call_rcu);
    rcu_request_force();
    /* A blocked thread costs the grace period no membarrier. */
    rcu_set_online(self, false);
    qemu_event_init(&drainer.done, false);
    qemu_mutex_lock(&rcu_drain_lock);
    queued = !rcu_callbacks_ran_up_to(drainer.target);
    if (queued) {
        QSLIST_INSERT_HEAD(&rcu_drainers, &drainer, next);
    }
    qemu_mutex_unlock(&rcu_drain_lock);
    if (queued) {
        qemu_event_wait(&drainer.done);
    }
    qemu_event_destroy(&drainer.done);
    if (was_online) {
        rcu_set_online(self, true);
    }
    qatomic_dec(&in_drain_call_rcu);

    if (locked) {
        bql_lock();
    }
}

static struct rcu_reader_data *rcu_registered_self(const char *what)
{
    struct rcu_reader_data *self = get_ptr_rcu_reader();

    if (unlikely(!self->registered)) {
        rcu_fatal("%s() called by a thread that is not registered with "
                  "rcu_register_thread()", what);
    }
    if (unlikely(self->depth)) {
        rcu_fatal("%s() called inside an RCU read-side critical section",
                  what);
    }
    return self;
}

void rcu_thread_offline(void)
{
    rcu_set_online(rcu_registered_self("rcu_thread_offline"), false);
}

void rcu_thread_online(void)
{
    rcu_set_online(rcu_registered_self("rcu_thread_online"), true);
}

void rcu_quiesce(void)
{
    rcu_registered_self("rcu_quiesce");
    /*
     * The reader's ctr is already 0 outside critical sections; order the
     * caller's earlier accesses like a section's end would, pairing with
     * the writer's barrier before its scan.
     */
    smp_mb();
}

/*
 * A thread that exits still registered is unregistered by its exit
 * notifier; one that exits inside a critical section is a bug we name.
 */
static __thread Notifier rcu_exit_notifier;
static __thread bool rcu_exit_hooked;

static void rcu_thread_exit_notify(Notifier *n, void *unused)
{
    struct rcu_reader_data *self = get_ptr_rcu_reader();

    if (unlikely(self->depth)) {
        g_autofree char *name = rcu_thread_name(self->tid);

        rcu_fatal("thread %d (%s) exited inside an RCU read-side critical "
                  "section", self->tid, name);
    }
    if (self->registered) {
        rcu_unregister_thread();
    }
}

/*
 * Lock-free, so that registration never waits for a thread that holds
 * a slot; a thread that finds none announces in cbq.enq.  Without
 * membarrier no thread takes one: the announcement would need an
 * smp_mb() before the gate load, which costs what the locked increment
 * of cbq.enq does, and the shared count keeps the exact trigger.
 */
static void rcu_producer_slot_claim(void)
{
    if (rcu_mb_global_is_local()) {
        return;
    }
    for (unsigned i = 0; i < RCU_PRODUCER_SLOTS; i++) {
        RcuProducerSlot *slot = &rcu_producer_slots[i];

        /*
         * seq_cst, hence an acquire: pairs with the store-release in
         * rcu_producer_slot_release(), so the count goes on from the
         * last owner's.
         */
        if (qatomic_read(&slot->owned) ||
            qatomic_cmpxchg(&slot->owned, false, true)) {
            continue;
        }
        /*
         * Its compare-and-swap is seq_cst, hence a release: pairs with
         * rcu_slot_calls().
         */
        rcu_advance_to(&rcu_producer_slots_used, i + 1);
        slot->done_seen = qatomic_read(&rcu_consumer.done);
        slot->calls_at_done = slot->calls;
        /* A signal handler's call_rcu1() uses the slot from here on. */
        signal_barrier();
        rcu_producer_slot = slot;
        return;
    }
}

static void rcu_producer_slot_release(void)
{
    RcuProducerSlot *slot = rcu_producer_slot;

    if (!slot) {
        return;
    }
    rcu_producer_slot = NULL;
    /* A signal handler's call_rcu1() no longer touches the slot. */
    signal_barrier();
    /* Release: pairs with the cmpxchg in rcu_producer_slot_claim(). */
    qatomic_store_release(&slot->owned, false);
}

bool rcu_thread_is_online(void)
{
    struct rcu_reader_data *self = get_ptr_rcu_reader();

    return self->registered && !self->offline;
}

void rcu_register_thread(void)
{
    struct rcu_reader_data *self = get_ptr_rcu_reader();

    if (unlikely(self->registered)) {
        rcu_fatal("rcu_register_thread() called twice by thread %d",
                  qemu_get_thread_id());
    }
    assert(self->ctr == 0 && self->depth == 0);
    self->tid = qemu_get_thread_id();
    self->waiting = 0;
    self->offline = true;
    if (!rcu_exit_hooked) {
        rcu_exit_notifier.notify = rcu_thread_exit_notify;
        qemu_thread_atexit_add(&rcu_exit_notifier);
        rcu_exit_hooked = true;
    }
    qemu_mutex_lock(&rcu_registry_lock);
    QLIST_INSERT_HEAD(&registry, self, node);
    self->registered = true;
    qemu_mutex_unlock(&rcu_registry_lock);
    rcu_producer_slot_claim();
    rcu_set_online(self, true);
}

void rcu_unregister_thread(void)
{
    struct rcu_reader_data *self =
        rcu_registered_self("rcu_unregister_thread");

    rcu_set_online(self, false);
    rcu_producer_slot_release();
    qemu_mutex_lock(&rcu_registry_lock);
    QLIST_REMOVE(self, node);
    self->registered = false;
    qemu_mutex_unlock(&rcu_registry_lock);
    if (rcu_exit_hooked) {
        qemu_thread_atexit_remove(&rcu_exit_notifier);
        rcu_exit_hooked = false;
    }
}

/* A notifier that (un)registers notifiers already holds the lock. */
static void rcu_notifiers_lock(void)
{
    if (!rcu_firing_notifiers) {
        qemu_mutex_lock(&rcu_registry_lock);
    }
}

static void rcu_notifiers_unlock(void)
{
    if (!rcu_firing_notifiers) {
        qemu_mutex_unlock(&rcu_registry_lock);
    }
}

void rcu_add_force_rcu_notifier(Notifier *n)
{
    rcu_notifiers_lock();
    notifier_list_add(&get_ptr_rcu_reader()->force_rcu, n);
    rcu_notifiers_unlock();
}

void rcu_remove_force_rcu_notifier(Notifier *n)
{
    rcu_notifiers_lock();
    /* NULL unless notifiers are firing, under the lock we now hold. */
    if (n == rcu_fire_next) {
        rcu_fire_next = QLIST_NEXT(n, node);
    }
    notifier_remove(n);
    rcu_notifiers_unlock();
}

/*
 * A caller built against an older, shorter struct gets its part; one
 * built against a newer, longer struct gets zeros in the fields this
 * library does not know.
 */
static void rcu_copy_sized(void *dst, size_t dst_size, const void *src,
                           size_t src_size)
{
    memcpy(dst, src, MIN(dst_size, src_size));
    if (dst_size > src_size) {
        memset((char *)dst + src_size, 0, dst_size - src_size);
    }
}

void rcu_get_stats_sized(RcuStats *s, size_t size)
{
    RcuStats all = {
        .grace_periods = stat64_get(&stats.grace_periods),
        .forced_grace_periods = stat64_get(&stats.forced_grace_periods),
        .expedited_grace_periods = stat64_get(&stats.expedited_grace_periods),
        .force_rcu_notifier_calls =
            stat64_get(&stats.force_rcu_notifier_calls),
        .callbacks_queued = rcu_calls_announced() - cbq.enq_base,
        .callbacks_run = stat64_get(&stats.callbacks_run),
        .malloc_trims = stat64_get(&stats.malloc_trims),
        .membarriers_skipped = stat64_get(&stats.membarriers_skipped),
        .stall_warnings = stat64_get(&stats.stall_warnings),
        .max_grace_period_ns = stat64_get(&stats.max_grace_period_ns),
    };

#ifdef QEMU_RCU_STANDALONE
    all.membarrier_calls = qemu_membarrier_call_count() -
                           rcu_membarrier_calls_base;
#endif
    rcu_copy_sized(s, size, &all, sizeof(all));
}

void rcu_get_tunables_sized(RcuTunables *t, size_t size)
{
    RcuTunables all = {
        .force_callbacks = qatomic_read(&tunables.force_callbacks),
        .poll_max_us = qatomic_read(&tunables.poll_max_us),
        .force_after_us = qatomic_read(&tunables.force_after_us),
        .stall_timeout_ms = qatomic_read(&tunables.stall_timeout_ms),
        .trim_min_interval_ms = qatomic_read(&tunables.trim_min_interval_ms),
        .trim_idle_us = qatomic_read(&tunables.trim_idle_us),
    };

    rcu_copy_sized(t, size, &all, sizeof(all));
}

void rcu_set_tunables_sized(const RcuTunables *t, size_t size)
{
    RcuTunables all;

    /*
     * Fields an older, shorter RcuTunables lacks keep their values; those
     * of a newer, longer one that this library does not know are ignored.
     */
    rcu_get_tunables_sized(&all, sizeof(all));
    memcpy(&all, t, MIN(size, sizeof(all)));
    qatomic_set(&tunables.force_callbacks, MAX(all.force_callbacks, 1));
    qatomic_set(&tunables.poll_max_us, MAX(all.poll_max_us, 1));
    qatomic_set(&tunables.force_after_us, all.force_after_us);
    qatomic_set(&tunables.stall_timeout_ms, all.stall_timeout_ms);
    qatomic_set(&tunables.trim_min_interval_ms, all.trim_min_interval_ms);
    qatomic_set(&tunables.trim_idle_us, all.trim_idle_us);
    /*
     * Wake every sleeper so that new values apply at once, also to a
     * grace period in progress (a spurious wake-up only costs a scan).
     */
    rcu_request_force();
    rcu_sleeper_wake(&rcu_gp_sleeper);
    qemu_event_set(&rcu_call_ready_event);
}

#ifdef QEMU_RCU_TEST_HOOKS
#include "util/rcu-test-hooks.h"

/* Leaves the force_rcu() targets alone: dragging them is what is tested. */
void rcu_test_skip_sequences(unsigned long n)
{
    assert(n % 2 == 0);
    /* The caller has drained: every counter has caught up with the calls. */
    qemu_mutex_lock(&rcu_sync_lock);
    assert(rcu_calls_announced() == rcu_consumer.taken &&
           rcu_calls_announced() == rcu_consumer.done &&
           rcu_calls_announced() == rcu_consumer.ran);
    qatomic_set(&cbq.enq, cbq.enq + n);
    cbq.enq_base += n;
    qatomic_set(&rcu_consumer.taken, rcu_consumer.taken + n);
    qatomic_set(&rcu_consumer.done, rcu_consumer.done + n);
    qatomic_set(&rcu_consumer.ran, rcu_consumer.ran + n);
    qatomic_set(&rcu_cb_gp_done, rcu_cb_gp_done + n);
    qatomic_set(&rcu_gp_seq, rcu_gp_seq + n);
    qemu_mutex_unlock(&rcu_sync_lock);
}
#endif

static void rcu_tunable_from_env(const char *name, unsigned *value)
{
    const char *s = getenv(name);
    unsigned int v;

    if (!s || !*s) {
        return;
    }
    if (qemu_strtoui(s, NULL, 10, &v) < 0) {
        warn_report("ignoring %s=%s: not a number", name, s);
        return;
    }
    *value = v;
}

static void rcu_tunables_init(void)
{
    rcu_tunable_from_env("QEMU_RCU_FORCE_CALLBACKS",
                         &tunables.force_callbacks);
    rcu_tunable_from_env("QEMU_RCU_POLL_MAX_US", &tunables.poll_max_us);
    rcu_tunable_from_env("QEMU_RCU_FORCE_AFTER_US", &tunables.force_after_us);
    rcu_tunable_from_env("QEMU_RCU_STALL_TIMEOUT_MS",
                         &tunables.stall_timeout_ms);
    rcu_tunable_from_env("QEMU_RCU_TRIM_MIN_INTERVAL_MS",
                         &tunables.trim_min_interval_ms);
    rcu_tunable_from_env("QEMU_RCU_TRIM_IDLE_US", &tunables.trim_idle_us);
    tunables.force_callbacks = MAX(tunables.force_callbacks, 1);
    tunables.poll_max_us = MAX(tunables.poll_max_us, 1);
}

static void rcu_init_complete(void)
{
    qemu_mutex_init(&rcu_registry_lock);
    qemu_mutex_init(&rcu_sync_lock);
    qemu_mutex_init(&rcu_drain_lock);
    qemu_event_init(&rcu_gp_event, true);
    qemu_event_init(&rcu_call_ready_event, false);
    rcu_sleeper_init(&rcu_gp_sleeper);
    rcu_sleeper_init(&rcu_poll_sleeper);
}

static void rcu_start_call_rcu_thread(void)
{
    QemuThread thread;

    qemu_thread_create(&thread, "call_rcu", call_rcu_thread,
                       NULL, QEMU_THREAD_DETACHED);
}

static int atfork_depth = 1;
/* Whether this thread's prepare handler acted, for its parent/child one. */
static __thread bool rcu_atfork_armed;

void rcu_enable_atfork(void)
{
    qatomic_inc(&atfork_depth);
}

void rcu_disable_atfork(void)
{
    qatomic_dec(&atfork_depth);
}

/*
 * fork() may come from any thread, at any moment: while others queue
 * callbacks, wait for a grace period or run a batch, from inside a
 * callback, and from several threads at once.  The prepare handler
 * takes no lock and never waits for the BQL, a grace period or a
 * callback, so it cannot close a cycle with an application's own atfork
 * handlers or with a reader that needs the BQL (docs/design.md,
 * "fork()").  It only closes the fork gate and waits for the enqueues
 * in flight, a few instructions each.  The child re-initialises every
 * lock and does not need the grace period in flight: its only thread is
 * the forker, outside any critical section.
 */
static void rcu_atfork_prepare(void)
{
    rcu_atfork_armed = qatomic_read(&atfork_depth) > 0;
    if (!rcu_atfork_armed) {
        return;
    }
    if (unlikely(get_ptr_rcu_reader()->depth)) {
        rcu_fatal("fork() called inside an RCU read-side critical section");
    }
    if (unlikely(rcu_in_grace_period)) {
        rcu_fatal("fork() called from a force_rcu notifier");
    }
    rcu_fork_gate_close();
}

static void rcu_atfork_parent(void)
{
    if (rcu_atfork_armed) {
        qatomic_dec(&rcu_fork_gate.closed);
    }
}

/*
 * In the child, callbacks the parent's call_rcu thread had taken but not
 * started go back to the front of the queue, unless the forker is the
 * call_rcu thread itself (fork() from a callback): it goes on running its
 * batch in the child and stays the child's call_rcu thread, so no
 * callback runs twice.  A callback that another thread was running at
 * the fork is neither finished nor run again.  Returns the number of
 * callbacks queued in the child.
 */
static unsigned long rcu_child_requeue_batch(bool forker_runs_batch)
{
    unsigned long count, announced = rcu_calls_announced();

    if (!forker_runs_batch && rcu_batch.head) {
        struct rcu_head **oldest = &cbq.newest;
        struct rcu_head *node, *next;

        while (*oldest) {
            oldest = &(*oldest)->next;
        }
        /* Below the oldest node, newest first: the batch runs first. */
        for (node = rcu_batch.head; node; node = next) {
            next = node->next;
            node->next = *oldest;
            *oldest = node;
        }
        rcu_batch.head = NULL;
    }
    /* The gate left no link in flight, so this counts the whole queue. */
    count = rcu_queue_length();
    /*
     * Producers parked at the gate exist only in the parent: their
     * announcements are dropped here.
     */
    rcu_consumer.taken = announced - count;
    rcu_consumer.done = announced - count;
    rcu_consumer.ran = announced - count;
    rcu_consumer.taking = false;
    rcu_fork_gate.closed = 0;
    rcu_fork_gate.parked = 0;
    cbq.enq_base = announced - count;
    return count;
}

/*
 * Only the forking thread exists in the child.  The locks and events are
 * re-initialised by rcu_init_complete() (an error-checking mutex would
 * refuse an unlock from the child, whose thread id differs), statistics
 * restart, and the forker ends up registered, as in QEMU.  A new
 * call_rcu thread starts at once if callbacks are pending, else with the
 * child's first callback, so that a child that only execs starts none.
 */
static void rcu_atfork_child(void)
{
    struct rcu_reader_data *self = get_ptr_rcu_reader();
    bool forker_runs_batch = rcu_is_call_rcu_thread;
    unsigned long pending;

    if (!rcu_atfork_armed) {
        return;
    }
#ifdef QEMU_RCU_STANDALONE
    rcu_membarrier_calls_base = qemu_membarrier_call_count();
#endif

    pending = rcu_child_requeue_batch(forker_runs_batch);
    memset(&stats, 0, sizeof(stats));
    in_drain_call_rcu = 0;
    QSLIST_INIT(&rcu_drainers);
    rcu_expedite_count = 0;
    rcu_online.count = 0;
    if (rcu_gp_seq & 1) {
        rcu_gp_seq++;
    }

    QLIST_INIT(&registry);
    /* Their owners exist only in the parent; the counts stay. */
    for (unsigned i = 0; i < rcu_producer_slots_used; i++) {
        rcu_producer_slots[i].owned = false;
    }
    rcu_producer_slot = NULL;
    self->registered = false;
    self->offline = true;
    self->waiting = 0;
    rcu_init_complete();
    if (forker_runs_batch) {
        rcu_call_rcu_thread_missing = false;
    } else if (pending) {
        rcu_start_call_rcu_thread();
    } else {
        rcu_call_rcu_thread_missing = true;
    }
    rcu_register_thread();
}

static void __attribute__((__constructor__)) rcu_init(void)
{
    rcu_tunables_init();
    smp_mb_global_init();
    rcu_set_read_barrier_mode();
    pthread_atfork(rcu_atfork_prepare, rcu_atfork_parent, rcu_atfork_child);
    rcu_init_complete();
    rcu_start_call_rcu_thread();
    rcu_register_thread();
}
