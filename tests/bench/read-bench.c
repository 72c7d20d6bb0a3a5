/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The read side alone, in a harness independent of qemu-rcu-bench: one
 * ordinary executable per implementation (built from this file with
 * READ_BENCH_QEMU_RCU, READ_BENCH_URCU_MEMB or READ_BENCH_URCU_MB), so
 * that every read side is inlined into the same loop with the same code
 * model, and wall-clock time over a fixed number of iterations rather
 * than qemu-rcu-bench's thread CPU time over a fixed duration.
 *
 *   read-bench-FLAVOUR [THREADS [MILLIONS [REPEAT]]]
 *
 * prints, for 1..THREADS threads, the median over REPEAT runs of the
 * wall-clock ns per lock + rcu_dereference + load + unlock, each thread
 * doing MILLIONS million iterations.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench-util.h"

#if defined(READ_BENCH_QEMU_RCU)
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/sys_membarrier.h"
#define RB_NAME "qemu-rcu"
#define RB_REGISTER() rcu_register_thread()
#define RB_UNREGISTER() rcu_unregister_thread()
#define RB_LOCK() rcu_read_lock()
#define RB_UNLOCK() rcu_read_unlock()
#define RB_DEREF(p) qatomic_rcu_read(&(p))
#if defined(BENCH_ANCHOR) && defined(CONFIG_MEMBARRIER)
/* QEMU's own rcu.c, whose mode is chosen when it is built. */
#define RB_MODE() "membarrier"
#elif defined(BENCH_ANCHOR)
#define RB_MODE() "fences"
#else
#define RB_MODE() (qemu_membarrier_enabled() ? "membarrier" : "fences")
#endif
#elif defined(READ_BENCH_URCU_MEMB)
#include <urcu/urcu-memb.h>
#define RB_NAME "urcu-memb"
#define RB_REGISTER() urcu_memb_register_thread()
#define RB_UNREGISTER() urcu_memb_unregister_thread()
#define RB_LOCK() urcu_memb_read_lock()
#define RB_UNLOCK() urcu_memb_read_unlock()
#define RB_DEREF(p) rcu_dereference(p)
#define RB_MODE() (urcu_memb_has_sys_membarrier ? "membarrier" : "fences")
#elif defined(READ_BENCH_URCU_MB)
#include <urcu/urcu-mb.h>
#define RB_NAME "urcu-mb"
#define RB_REGISTER() urcu_mb_register_thread()
#define RB_UNREGISTER() urcu_mb_unregister_thread()
#define RB_LOCK() urcu_mb_read_lock()
#define RB_UNLOCK() urcu_mb_read_unlock()
#define RB_DEREF(p) rcu_dereference(p)
#define RB_MODE() "fences"
#else
#error "define READ_BENCH_QEMU_RCU, READ_BENCH_URCU_MEMB or READ_BENCH_URCU_MB"
#endif

typedef struct RbData {
    long value;
} RbData;

static RbData rb_data = { .value = 1 };
static RbData *rb_ptr = &rb_data;
static long rb_sink;

static long rb_iterations;
static pthread_barrier_t rb_start;

typedef struct RbThread {
    pthread_t thread;
    double ns;
} RbThread;

static void *rb_thread(void *opaque)
{
    RbThread *t = opaque;
    long sum = 0;
    int64_t t0;

    RB_REGISTER();
    pthread_barrier_wait(&rb_start);
    t0 = bench_clock_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < rb_iterations; i++) {
        RbData *d;

        RB_LOCK();
        d = RB_DEREF(rb_ptr);
        sum += d->value;
        RB_UNLOCK();
    }
    t->ns = (double)(bench_clock_ns(CLOCK_MONOTONIC) - t0) / rb_iterations;
    __atomic_store_n(&rb_sink, sum, __ATOMIC_RELAXED);
    RB_UNREGISTER();
    return NULL;
}

/* Average over the threads of one run's ns per iteration. */
static double rb_run(int nthreads)
{
    RbThread *t = calloc(nthreads, sizeof(*t));
    double sum = 0;

    pthread_barrier_init(&rb_start, NULL, nthreads);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&t[i].thread, NULL, rb_thread, &t[i])) {
            perror("pthread_create");
            exit(1);
        }
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i].thread, NULL);
        sum += t[i].ns;
    }
    pthread_barrier_destroy(&rb_start);
    free(t);
    return sum / nthreads;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    double millions = argc > 2 ? atof(argv[2]) : 50;
    int repeat = argc > 3 ? atoi(argv[3]) : 5;
    double *v, median;

    if (threads < 1 || millions * 1e6 < 1 || repeat < 1) {
        fprintf(stderr, "usage: %s [THREADS [MILLIONS [REPEAT]]]\n",
                argv[0]);
        return 2;
    }
    rb_iterations = millions * 1e6;
    v = calloc(repeat, sizeof(*v));
    for (int n = 1; n <= threads; n++) {
        for (int r = 0; r < repeat; r++) {
            v[r] = rb_run(n);
        }
        median = bench_percentile_double(v, repeat, 50);
        printf("%-10s %-10s threads=%d ns=%.2f min=%.2f max=%.2f\n",
               RB_NAME, RB_MODE(), n, median, v[0], v[repeat - 1]);
    }
    free(v);
    return 0;
}
