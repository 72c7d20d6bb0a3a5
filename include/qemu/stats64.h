/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stat64: a 64-bit statistics counter that any thread may update and read
 * without tearing, with QEMU's names (qemu/stats64.h).  Where the compiler
 * has lock-free 64-bit atomics (x86-64, and i686 through cmpxchg8b) every
 * operation is one atomic instruction or a compare-and-swap loop; elsewhere
 * the counter is two 32-bit halves behind a small spinlock, and the
 * operations live out of line in util/stats64.c.
 *
 * All operations are relaxed: a counter orders no other memory access.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#ifndef QEMU_STATS64_H
#define QEMU_STATS64_H

#include <stdbool.h>
#include <stdint.h>

/* QEMU_STATS64_LOCKED forces the lock-based variant (the tests use it). */
#if !defined(QEMU_STATS64_LOCKED) && \
    (!defined(__GCC_ATOMIC_LLONG_LOCK_FREE) || __GCC_ATOMIC_LLONG_LOCK_FREE < 2)
#define QEMU_STATS64_LOCKED 1
#endif

typedef struct Stat64 {
#ifndef QEMU_STATS64_LOCKED
    /* 8-byte alignment: i386 would otherwise allow a split access. */
    uint64_t value __attribute__((aligned(8)));
#else
    uint32_t low, high;
    uint32_t lock;
#endif
} Stat64;

#ifndef QEMU_STATS64_LOCKED
static inline void stat64_init(Stat64 *s, uint64_t value)
{
    __atomic_store_n(&s->value, value, __ATOMIC_RELAXED);
}

static inline uint64_t stat64_get(const Stat64 *s)
{
    return __atomic_load_n(&s->value, __ATOMIC_RELAXED);
}

static inline void stat64_set(Stat64 *s, uint64_t value)
{
    __atomic_store_n(&s->value, value, __ATOMIC_RELAXED);
}

static inline void stat64_add(Stat64 *s, uint64_t value)
{
    __atomic_fetch_add(&s->value, value, __ATOMIC_RELAXED);
}

static inline void stat64_min(Stat64 *s, uint64_t value)
{
    uint64_t old = __atomic_load_n(&s->value, __ATOMIC_RELAXED);

    while (value < old &&
           !__atomic_compare_exchange_n(&s->value, &old, value, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        /* old now holds the current value; retry while still larger. */
    }
}

static inline void stat64_max(Stat64 *s, uint64_t value)
{
    uint64_t old = __atomic_load_n(&s->value, __ATOMIC_RELAXED);

    while (value > old &&
           !__atomic_compare_exchange_n(&s->value, &old, value, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        /* old now holds the current value; retry while still smaller. */
    }
}
#else
uint64_t stat64_get(const Stat64 *s);
void stat64_set(Stat64 *s, uint64_t value);
void stat64_add(Stat64 *s, uint64_t value);
void stat64_min(Stat64 *s, uint64_t value);
void stat64_max(Stat64 *s, uint64_t value);

static inline void stat64_init(Stat64 *s, uint64_t value)
{
    s->lock = 0;
    stat64_set(s, value);
}
#endif

#endif /* QEMU_STATS64_H */
