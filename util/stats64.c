/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lock-based Stat64 for hosts without lock-free 64-bit atomics (see
 * qemu/stats64.h).  Each counter has its own one-word spinlock: counters
 * are updated from a handful of threads at most, the critical sections
 * are a few instructions, and the lock needs no initialisation beyond
 * zero, so a Stat64 in static storage works before any constructor.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include "qemu/stats64.h"

#ifdef QEMU_STATS64_LOCKED

/*
 * Acquire pairs with the release in stat64_unlock() of the previous
 * holder, so the halves it wrote are visible to this one.
 */
static void stat64_lock(const Stat64 *s)
{
    uint32_t *lock = (uint32_t *)&s->lock;

    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(lock, __ATOMIC_RELAXED)) {
            /* spin on a plain load so that waiters share the line */
        }
    }
}

static void stat64_unlock(const Stat64 *s)
{
    __atomic_store_n((uint32_t *)&s->lock, 0, __ATOMIC_RELEASE);
}

static uint64_t stat64_value(const Stat64 *s)
{
    return ((uint64_t)s->high << 32) | s->low;
}

static void stat64_store(Stat64 *s, uint64_t value)
{
    s->low = (uint32_t)value;
    s->high = (uint32_t)(value >> 32);
}

uint64_t stat64_get(const Stat64 *s)
{
    uint64_t value;

    stat64_lock(s);
    value = stat64_value(s);
    stat64_unlock(s);
    return value;
}

void stat64_set(Stat64 *s, uint64_t value)
{
    stat64_lock(s);
    stat64_store(s, value);
    stat64_unlock(s);
}

void stat64_add(Stat64 *s, uint64_t value)
{
    stat64_lock(s);
    stat64_store(s, stat64_value(s) + value);
    stat64_unlock(s);
}

void stat64_min(Stat64 *s, uint64_t value)
{
    stat64_lock(s);
    if (value < stat64_value(s)) {
        stat64_store(s, value);
    }
    stat64_unlock(s);
}

void stat64_max(Stat64 *s, uint64_t value)
{
    stat64_lock(s);
    if (value > stat64_value(s)) {
        stat64_store(s, value);
    }
    stat64_unlock(s);
}

#endif /* QEMU_STATS64_LOCKED */
