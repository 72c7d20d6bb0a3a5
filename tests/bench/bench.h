/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The interface between the benchmark harness (rcu-bench.c) and one RCU
 * implementation ("flavour").  Each flavour lives in its own translation
 * unit because qemu-rcu and liburcu both define struct rcu_head and
 * rcu_* names (liburcu through macros): no file may include both.
 * This header therefore depends on the C library only.
 *
 * Everything that is on a measured fast path (the read-side loops, the
 * call_rcu loop) is implemented inside the flavour, so that each
 * library's inline read side is inlined into the loop exactly as an
 * application would see it; the harness only times and orchestrates.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

/*
 * Counts callbacks; the one that reaches the target wakes the waiter.
 * The count itself is a relaxed atomic so that a stream of callbacks
 * never touches the mutex.
 */
typedef struct BenchCounter {
    uint64_t count;
    uint64_t target;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} BenchCounter;

void bench_counter_init(BenchCounter *c);
void bench_counter_destroy(BenchCounter *c);
/* Arms the counter for @target more callbacks. */
void bench_counter_reset(BenchCounter *c, uint64_t target);
/* Called from RCU callbacks. */
void bench_counter_add(BenchCounter *c);
void bench_counter_wait(BenchCounter *c);

/*
 * Writes to every page of a fresh allocation, so that page faults are
 * not charged to the timed loop that first stores to it.
 */
void bench_prefault(void *p, size_t size);

/*
 * The size of every flavour's callback object: its struct rcu_head (two
 * pointers in qemu-rcu, QEMU and liburcu alike) and one pointer, so that
 * the memory rows compare the libraries and not the objects.  Each
 * flavour checks it at build time.
 */
#define BENCH_NODE_SIZE (3 * sizeof(void *))

int64_t bench_now_ns(void);
/* Busy-waits for @ns nanoseconds (the body of a read-side section). */
void bench_spin_ns(int64_t ns);

/*
 * Each flavour's read loop is built BENCH_READ_LAYOUTS times
 * (BENCH_READ_LOOPS()): every copy starts a 64-byte line and enters its
 * loop 0, 16, 32 or 48 bytes further in.  A loop of about a nanosecond
 * an iteration runs up to 30% faster or slower with where it lies in
 * those lines, which the link decides differently in every executable;
 * the harness times each copy and keeps their median.
 */
#define BENCH_READ_LAYOUTS 4

#if defined(__x86_64__) || defined(__i386__)
#define BENCH_READ_PAD(bytes) ".skip " #bytes ", 0x90"
#else
#define BENCH_READ_PAD(bytes) ""
#endif

#define BENCH_READ_COPY(loop, k, pad)                                   \
    static uint64_t __attribute__((aligned(64)))                        \
    loop##_##k(const bool *stop)                                        \
    {                                                                   \
        asm volatile(pad);                                              \
        return loop(stop);                                              \
    }

/* @loop is an always_inline function; its copies go in .read_loop. */
#define BENCH_READ_LOOPS(loop)                                          \
    BENCH_READ_COPY(loop, 0, "")                                        \
    BENCH_READ_COPY(loop, 1, BENCH_READ_PAD(16))                        \
    BENCH_READ_COPY(loop, 2, BENCH_READ_PAD(32))                        \
    BENCH_READ_COPY(loop, 3, BENCH_READ_PAD(48))
#define BENCH_READ_LOOP_COPIES(loop) \
    { loop##_0, loop##_1, loop##_2, loop##_3 }

static inline bool bench_stopped(const bool *stop)
{
    return __atomic_load_n(stop, __ATOMIC_RELAXED);
}

/*
 * The operations of one flavour.  "Worker" threads are created by the
 * harness and call thread_init()/thread_exit() around the other
 * operations; the main thread calls main_init() once.  After either
 * init the thread is registered and quiescent (for QSBR: offline), and
 * every operation returns it to that state.
 */
typedef struct BenchFlavour {
    const char *name;
    /* One line on the configuration in use (membarrier or fences ...). */
    const char *(*describe)(void);

    void (*main_init)(void);
    void (*thread_init)(void);
    void (*thread_exit)(void);

    /*
     * rcu_read_lock(); load an RCU-protected pointer and the value it
     * points to; rcu_read_unlock(); until *stop.  Returns iterations.
     * The same loop at each of BENCH_READ_LAYOUTS places.
     */
    uint64_t (*read_loop[BENCH_READ_LAYOUTS])(const bool *stop);

    /*
     * Back-to-back read-side critical sections of @section_ns each,
     * until *stop; sets *running after the first one.  Returns sections.
     */
    uint64_t (*section_loop)(const bool *stop, bool *running,
                             int64_t section_ns);

    void (*synchronize)(void);
    /* NULL when the library has no expedited grace period. */
    void (*synchronize_expedited)(void);

    /* Callback nodes, allocated outside the timed regions. */
    void *(*alloc_callbacks)(size_t n);
    void (*free_callbacks)(void *cbs);
    /* Queues nodes [first, first + n); each adds 1 to @done when run. */
    void (*enqueue)(void *cbs, size_t first, size_t n, BenchCounter *done);
    /* drain_call_rcu() or rcu_barrier(): waits for queued callbacks. */
    void (*barrier)(void);

    /*
     * The stall scenario: a reader that stays in its critical section
     * until its force_rcu notifier kicks it, leaves it briefly and goes
     * back in, until *stop; *inside tells whether it is in a section.
     * Returns the number of kicks.  NULL when the library has no
     * notifiers.
     */
    uint64_t (*kickable_reader_loop)(const bool *stop, bool *inside);
    /*
     * Whether synchronize_rcu() itself fires the notifiers of a stuck
     * reader.  QEMU 10.0 fires them only inside drain_call_rcu(): there
     * a grace period with the stuck reader never ends.
     */
    bool kick_in_grace_period;

    /*
     * A reader that holds back every grace period: enters a critical
     * section (QSBR: goes online and reports no quiescent state), then
     * sets *inside with a release store and sleeps, inside, until *stop.
     * It has no force_rcu notifier, so nothing makes it leave earlier.
     */
    void (*stuck_reader)(const bool *stop, bool *inside);

    /* Optional: appends library statistics to the report (JSON object). */
    char *(*stats_json)(void);
} BenchFlavour;

extern const BenchFlavour bench_qemu_rcu;
/* Whether qemu-rcu's smp_mb_global() uses membarrier (bench-qemu-rcu.c). */
bool qemu_rcu_bench_membarrier(void);

extern const BenchFlavour bench_urcu_memb;
extern const BenchFlavour bench_urcu_mb;
extern const BenchFlavour bench_urcu_qsbr;

#endif /* BENCH_H */
